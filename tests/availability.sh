#!/usr/bin/env bash
# availability.sh: the mockapi binary at its file-descriptor limit. Starts BIN
# under `ulimit -n 64`, opens 100 connections (more than it can accept: the
# rest are refused or wait in the backlog), measures the server's CPU time
# over 1 s from /proc/PID/stat (an accept loop that retries EMFILE without
# waiting burns a whole core), closes them, and checks that a fresh
# GET /v1/ping is answered. One "ok"/"FAIL" line per check, then
# "N passed, M failed"; exit status 1 if any check failed.
# Usage: tests/availability.sh path/to/mockapi      (needs bash, python3, curl)
set -uo pipefail
bin=${1:?usage: availability.sh path/to/mockapi}
. "$(dirname "$0")/lib.sh" # work (removed at exit with every job), check, wait_line

# The limit applies to the server only (a subshell that execs it).
(ulimit -n 64 && exec "$bin" -addr 127.0.0.1:0 -tls-addr off) >"$work/out" 2>"$work/err" &
pid=$!
addr=$(wait_line "$work/out" MOCKAPI_ADDR=)
check "starts under ulimit -n 64 and prints MOCKAPI_ADDR" $?
if [ -z "$addr" ]; then
    sed 's/^/      /' "$work/err" | tail -n 5
    echo "$pass passed, $fail failed"
    exit 1
fi

# 100 connections, then the server's CPU over 1 s while they stay open.
# Prints one line of figures; exits 0 when the CPU stayed under 20% of a core.
python3 - "$pid" "$addr" <<'EOF'
import errno, os, select, socket, sys, time

pid, addr = int(sys.argv[1]), sys.argv[2]
host, port = addr.rsplit(":", 1)
tick = os.sysconf("SC_CLK_TCK")

def cpu_s():
    # utime and stime: fields 14 and 15, counted after the ")" ending comm
    s = open(f"/proc/{pid}/stat").read()
    f = s[s.rindex(")") + 2:].split()
    return (int(f[11]) + int(f[12])) / tick

def nfds():
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1

socks, refused = [], 0
for _ in range(100):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    rc = s.connect_ex((host, int(port)))
    if rc in (0, errno.EINPROGRESS):
        socks.append(s)
    else:
        refused += 1
        s.close()

# Connects complete in the kernel (deadline 2 s); the server takes what it can.
deadline = time.monotonic() + 2
pending = list(socks)
while pending and time.monotonic() < deadline:
    _, w, _ = select.select([], pending, [], max(0, deadline - time.monotonic()))
    for s in w:
        pending.remove(s)
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
            refused += 1
            socks.remove(s)
            s.close()

# Wait (deadline 2 s) until the server holds about as many descriptors as it
# may: from then on, every connection left in the backlog is one it cannot take.
deadline = time.monotonic() + 2
while nfds() < 60 and time.monotonic() < deadline:
    select.select([], [], [], 0.01)

# The window is the measurement: 1 s of wall time with nothing asked.
c0, t0 = cpu_s(), time.monotonic()
time.sleep(1.0)
c1, t1 = cpu_s(), time.monotonic()
pct = 100 * (c1 - c0) / (t1 - t0)
print(f"      {len(socks) - len(pending)} connected, {len(pending)} pending, {refused} refused; "
      f"server holds {nfds()} descriptors; CPU {pct:.0f}% of one core over {t1 - t0:.2f} s")
for s in socks:
    s.close()
sys.exit(0 if pct < 20 else 1)
EOF
check "at the fd limit with 100 connections open the server stays under 20% of a core" $?

body=$(curl --noproxy '*' -sS --max-time 5 "http://$addr/v1/ping")
[ "$body" = "{}" ]
check "after they close, a new GET /v1/ping answers {}" $?

kill -TERM "$pid"
deadline=$((SECONDS + 5))
while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do read -r -t 0.02 <> <(:) || true; done
kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" # still running: wait would not return
wait "$pid"
rc=$?
pid=
[ "$rc" -eq 0 ]
check "SIGTERM stops it with exit code 0" $?

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
