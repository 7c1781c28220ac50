#!/usr/bin/env bash
# ready.sh: the mockapi binary's readiness (README "Readiness"): -ready-file
# (the line's members and types, written only once the server answers, and
# atomically: a reader looping through restarts never sees a partial file),
# -ready-fd through a pipe, READY=1 to NOTIFY_SOCKET (abstract and path
# sockets), GET /test/health, `mockapi wait` (a server that starts later, a
# stale file, a timeout, usage errors), the refusals (exit 2, nothing on
# stdout, no file left behind), and how long after the listeners are bound
# readiness goes out (printed; the median must be under 2 ms unless
# MOCKAPI_IT_NO_TIMING is set, as for the integration tests).
#
# Every wait has a deadline: the helpers block on inotify, a pipe or a
# socket with a timeout; nothing sleeps to synchronise. Ports are 0,
# listeners loopback.
#
# Usage: tests/ready.sh path/to/mockapi        (needs bash, python3, curl)
# Prints one line per check, then "N passed, M failed" and the latency
# figures. Exit status: 0 every check passed, 1 a check failed, 2 usage.
set -euo pipefail
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: tests/ready.sh path/to/mockapi   (an executable mockapi binary)" >&2
    exit 2
fi
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib.sh"
started=$SECONDS

# expect NAME CMD...: one check, passed when CMD exits 0
expect() {
    local name=$1
    shift
    if "$@"; then check "$name" 0; else check "$name" 1; fi
}

# refused_ WANT MESSAGE NAME -- ARGS...: $bin ARGS (10 s bound) must exit
# WANT with nothing on stdout and MESSAGE (fixed string) on stderr
refused_() {
    local want=$1 msg=$2 name=$3 rc=0
    shift 4
    timeout 10 "$bin" "$@" >"$work/r.out" 2>"$work/r.err" || rc=$?
    if [ "$rc" -eq "$want" ] && [ ! -s "$work/r.out" ] && grep -qF -- "$msg" "$work/r.err"; then
        check "$name (exit $want)" 0
    else
        check "$name (exit $want): got exit $rc, stdout [$(head -c 100 "$work/r.out")], stderr [$(head -n 1 "$work/r.err")]" 1
    fi
}

# The version every line and /test/health must carry: include/mockapi.h's
# one string when it has it, else any x.y.z
version=$(sed -n 's/^#define MOCKAPI_VERSION "\(.*\)"$/\1/p' "$top/include/mockapi.h")

# The helper: every wait in it blocks with a deadline (inotify, select, recv).
cat >"$work/h.py" <<'EOF'
import ctypes, json, os, re, select, socket, struct, subprocess, sys, time, urllib.request

libc = ctypes.CDLL(None, use_errno=True)
IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE = 0x8, 0x80, 0x100
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

def get(url, timeout=5):
    try:
        with opener.open(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

def watch(folder):
    fd = libc.inotify_init1(os.O_CLOEXEC)
    if fd < 0 or libc.inotify_add_watch(fd, folder.encode(), IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE) < 0:
        sys.exit("inotify: %s" % os.strerror(ctypes.get_errno()))
    return fd

def wait_name(fd, name, deadline):
    """Blocks until an event names `name` (True) or the deadline (False)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return False
        buf = os.read(fd, 65536)
        i = 0
        while i < len(buf):
            _, _, _, ln = struct.unpack_from("iIII", buf, i)
            n = buf[i + 16:i + 16 + ln].rstrip(b"\0").decode()
            i += 16 + ln
            if n == name:
                return True

def check_line(text, pid, version, out):
    """The readiness line's members, their order and types; against the
    server's stdout lines (out). Returns a list of problems."""
    bad = []
    if not text.endswith("\n") or text.count("\n") != 1:
        bad.append("not one line ending in a newline: %r" % text)
    try:
        j = json.loads(text)
    except ValueError as e:
        return bad + ["not JSON: %s" % e]
    keys = ["pid", "version", "url", "addr", "regions", "tls_url", "tls_addr", "ca", "page"]
    if list(j) != keys:
        bad.append("members %s, want %s" % (list(j), keys))
        return bad
    lines = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
    if type(j["pid"]) is not int or (pid and j["pid"] != pid):
        bad.append("pid %r, want %r" % (j["pid"], pid))
    if type(j["version"]) is not str or not (j["version"] == version if version else re.fullmatch(r"\d+\.\d+\.\d+", j["version"])):
        bad.append("version %r" % j["version"])
    if j["addr"] != lines.get("MOCKAPI_ADDR") or j["url"] != "http://" + j["addr"]:
        bad.append("url %r / addr %r, stdout says %r" % (j["url"], j["addr"], lines.get("MOCKAPI_ADDR")))
    regions = ["http://" + lines[k] for k in sorted((k for k in lines if k.startswith("MOCKAPI_REGION_")), key=lambda k: int(k[15:]))]
    if j["regions"] != regions:
        bad.append("regions %r, want %r" % (j["regions"], regions))
    if j["page"] != j["url"] + "/test/":
        bad.append("page %r" % j["page"])
    # with TLS the line comes once MOCKAPI_TLS_ADDR is out, and names it
    tls = lines.get("MOCKAPI_TLS_ADDR")
    if j["tls_addr"] != tls or j["tls_url"] != (tls and "https://" + tls):
        bad.append("tls_url %r / tls_addr %r, stdout says %r" % (j["tls_url"], j["tls_addr"], tls))
    if j["ca"] is not None and (type(j["ca"]) is not str or not os.path.isabs(j["ca"])):
        bad.append("ca %r" % j["ca"])
    return bad

def cmd_appear(folder, name, logf, *args):
    """Starts the server with -ready-file folder/name; the moment the file
    is there, /v1/ping must answer; then the line is checked."""
    fd = watch(folder)
    path = os.path.join(folder, name)
    with open(logf + ".out", "w") as o, open(logf, "w") as e:
        p = subprocess.Popen([os.environ["BIN"], "-ready-file", path] + list(args), stdout=o, stderr=e)
    ok = wait_name(fd, name, time.monotonic() + 10)
    text = open(path).read() if ok else ""
    status = None
    if ok:
        try:
            status = get(json.loads(text)["url"] + "/v1/ping")[0]
        except Exception as ex:
            status = repr(ex)
    bad = [] if ok else ["no file within 10 s"]
    if ok and status != 200:
        bad.append("/v1/ping answered %r when the file appeared" % status)
    if ok:
        bad += check_line(text, p.pid, os.environ.get("VERSION"), open(logf + ".out").read())
    j = json.loads(text) if ok and not bad else {}
    if j.get("tls_url"):  # a TLS client right after readiness is served
        import ssl
        ctx = ssl.create_default_context(cafile=j["ca"]) if j["ca"] else ssl._create_unverified_context()
        if not j["ca"]:
            ctx.check_hostname = False
        try:
            with urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx)).open(j["tls_url"] + "/test/health", timeout=10) as r:
                if r.status != 200:
                    bad.append("TLS /test/health %d" % r.status)
        except Exception as ex:
            bad.append("TLS: %r" % ex)
        if j["ca"] and not open(j["ca"]).read().startswith("-----BEGIN CERTIFICATE-----"):
            bad.append("ca %s is not a PEM certificate" % j["ca"])
    p.terminate()
    rc = p.wait(10)
    if rc != 0:
        bad.append("exit %d after SIGTERM" % rc)
    if os.path.exists(path):
        bad.append("the file is still there after a clean stop")
    leftovers = [f for f in os.listdir(folder) if f.endswith(".tmp")]
    if leftovers:
        bad.append("temporary files left: %s" % leftovers)
    print("; ".join(bad) if bad else "ok")

def cmd_atomic(path, rounds, logf):
    """Restarts a server on one ready file `rounds` times while a reader
    opens and reads it as fast as it can: every read it completes must be a
    whole line (valid JSON, newline-terminated)."""
    import threading
    stop = threading.Event()
    stats = {"reads": 0, "bad": [], "pids": set()}
    def reader():
        while not stop.is_set():
            try:
                with open(path) as f:
                    t = f.read()
            except FileNotFoundError:
                continue
            stats["reads"] += 1
            try:
                if not t.endswith("\n"):
                    raise ValueError("no newline")
                stats["pids"].add(json.loads(t)["pid"])
            except (ValueError, KeyError) as e:
                stats["bad"].append("%r: %s" % (t[:60], e))
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    folder, name = os.path.split(path)
    fd = watch(folder)
    fails = []
    with open(logf, "w") as e:
        for i in range(int(rounds)):
            p = subprocess.Popen([os.environ["BIN"], "-tls-addr", "off", "-ready-file", path],
                                 stdout=subprocess.DEVNULL, stderr=e)
            if not wait_name(fd, name, time.monotonic() + 10):
                fails.append("round %d: no file" % i)
            p.terminate()
            p.wait(10)
    stop.set()
    th.join()
    if stats["bad"]:
        fails.append("%d partial or invalid reads, e.g. %s" % (len(stats["bad"]), stats["bad"][0]))
    if stats["reads"] == 0 or len(stats["pids"]) < 2:
        fails.append("the reader saw %d reads of %d servers" % (stats["reads"], len(stats["pids"])))
    print("; ".join(fails) if fails else "ok %d reads of %d servers" % (stats["reads"], len(stats["pids"])))

def cmd_fd(path, logf):
    """-ready-fd through a pipe (with -ready-file too): the same line, then
    EOF while the server goes on serving."""
    r, w = os.pipe()
    with open(logf + ".out", "w") as o, open(logf, "w") as e:
        p = subprocess.Popen([os.environ["BIN"], "-tls-addr", "off", "-ready-fd", str(w), "-ready-file", path],
                             stdout=o, stderr=e, pass_fds=[w])
    os.close(w)
    data, deadline, bad = b"", time.monotonic() + 10, []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([r], [], [], left)[0]:
            bad.append("no EOF on the pipe within 10 s (got %r)" % data)
            break
        chunk = os.read(r, 4096)
        if not chunk:
            break
        data += chunk
    if not bad:
        text = data.decode()
        bad += check_line(text, p.pid, os.environ.get("VERSION"), open(logf + ".out").read())
        if not os.path.exists(path) or open(path).read() != text:
            bad.append("the fd's line differs from the file's")
        if p.poll() is not None:
            bad.append("the server exited after closing the fd")
        elif not bad and get(json.loads(text)["url"] + "/v1/ping")[0] != 200:
            bad.append("/v1/ping did not answer")
    p.terminate()
    if p.wait(10) != 0:
        bad.append("exit %d after SIGTERM" % p.returncode)
    print("; ".join(bad) if bad else "ok")

def cmd_notify(kind, folder, logf):
    """NOTIFY_SOCKET: an abstract (@name) or a path socket; READY=1 must
    arrive, and the server answer then."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if kind == "abstract":
        name = "mockapi-ready-test-%d-%d" % (os.getpid(), time.monotonic_ns())
        s.bind("\0" + name)
        env_value = "@" + name
    else:
        env_value = os.path.join(folder, "notify.sock")
        s.bind(env_value)
    s.settimeout(10)
    env = dict(os.environ, NOTIFY_SOCKET=env_value)
    with open(logf + ".out", "w") as o, open(logf, "w") as e:
        p = subprocess.Popen([os.environ["BIN"], "-tls-addr", "off"], stdout=o, stderr=e, env=env)
    bad = []
    try:
        msg = s.recv(4096).decode()
        if "READY=1" not in msg.split("\n"):
            bad.append("datagram %r has no READY=1 line" % msg)
        addr = dict(l.split("=", 1) for l in open(logf + ".out").read().splitlines()).get("MOCKAPI_ADDR")
        if not addr or get("http://%s/v1/ping" % addr)[0] != 200:
            bad.append("/v1/ping did not answer after READY=1")
    except socket.timeout:
        bad.append("no datagram within 10 s")
    p.terminate()
    if p.wait(10) != 0:
        bad.append("exit %d after SIGTERM" % p.returncode)
    print("; ".join(bad) if bad else "ok")

def cmd_health(url, pid, profile, mode, max_entries, ca=None):
    """GET /test/health: members, order, types and values."""
    kw = {}
    if url.startswith("https"):
        import ssl
        ctx = ssl._create_unverified_context()
        op = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
        r = op.open(url + "/test/health", timeout=5)
        status, body = r.status, r.read()
    else:
        status, body = get(url + "/test/health")
    bad = []
    if status != 200:
        print("status %d" % status)
        return
    j = json.loads(body)
    want = ["ready", "version", "pid", "uptime_ms", "profile", "sessions", "journal"]
    if list(j) != want:
        print("members %s" % list(j))
        return
    v = os.environ.get("VERSION")
    checks = [
        (j["ready"] is True, "ready %r" % j["ready"]),
        (type(j["version"]) is str and (j["version"] == v if v else re.fullmatch(r"\d+\.\d+\.\d+", j["version"])), "version %r" % j["version"]),
        (j["pid"] == int(pid), "pid %r" % j["pid"]),
        (type(j["uptime_ms"]) is int and 0 <= j["uptime_ms"] < 600000, "uptime_ms %r" % j["uptime_ms"]),
        (j["profile"] == profile, "profile %r" % j["profile"]),
        (list(j["sessions"]) == ["mode", "live"] and j["sessions"]["mode"] == mode and type(j["sessions"]["live"]) is int, "sessions %r" % j["sessions"]),
        (list(j["journal"]) == ["entries", "max_entries"] and type(j["journal"]["entries"]) is int and j["journal"]["max_entries"] == int(max_entries), "journal %r" % j["journal"]),
    ]
    bad = [why for ok, why in checks if not ok]
    print("; ".join(bad) if bad else "ok %s" % json.dumps(j))

def cmd_field(path, *keys):
    j = json.load(open(path))
    for k in keys:
        j = j[k]
    print(j)

def cmd_latency(folder, n, logf, *args):
    """n starts; per start, the server's own figure (after_bind_us in its
    log), and when this watcher woke up to the file against the bind time
    the server logs (both CLOCK_REALTIME; the file's mtime would not do:
    it has the kernel's tick, 4 ms, for resolution)."""
    fd = watch(folder)
    path = os.path.join(folder, "lat.json")
    own, fs = [], []
    for i in range(int(n)):
        with open(logf, "w") as e:
            p = subprocess.Popen([os.environ["BIN"], "-ready-file", path] + list(args), stdout=subprocess.DEVNULL, stderr=e)
        if not wait_name(fd, "lat.json", time.monotonic() + 10):
            print("no file")
            return
        seen_us = time.time_ns() // 1000
        p.terminate()
        p.wait(10)
        m = re.search(r'msg="ready" after_bind_us=(\d+) bound_unix_us=(\d+)', open(logf).read())
        if not m:
            print("no ready log line")
            return
        own.append(int(m.group(1)))
        fs.append(seen_us - int(m.group(2)))
    own.sort(); fs.sort()
    print("%d %d %d %d" % (own[len(own) // 2], own[-1], fs[len(fs) // 2], fs[-1]))

globals()["cmd_" + sys.argv[1]](*sys.argv[2:])
EOF
export BIN="$bin" VERSION="$version"
py() { python3 "$work/h.py" "$@"; }

# 1. refusals: exit 2 before MOCKAPI_ADDR, nothing left behind
refused_ 2 'flag provided but not defined: -ready-fil (did you mean -ready-file?)' "a misspelt -ready-file" -- \
    -tls-addr off -ready-fil "$work/x.json"
refused_ 2 'flag provided but not defined: -redy-fd (did you mean -ready-fd?)' "a misspelt -ready-fd" -- -tls-addr off -redy-fd 3
refused_ 2 '-ready-file: empty value; give a file name for the readiness line' "an empty -ready-file" -- \
    -tls-addr off -ready-file ''
refused_ 2 "mockapi: -ready-file: cannot write $work/nodir/r.json." "a ready file in a missing folder" -- \
    -tls-addr off -ready-file "$work/nodir/r.json"
mkdir "$work/adir"
refused_ 2 "mockapi: -ready-file: $work/adir exists and is not a regular file" "a ready file that is a folder" -- \
    -tls-addr off -ready-file "$work/adir"
MOCKAPI_READY_FILE="$work/nodir/r.json" refused_ 2 "MOCKAPI_READY_FILE (-ready-file): cannot write" \
    "an unwritable ready file from the environment is named by its variable" -- -tls-addr off
refused_ 2 '-ready-fd: 1 is standard output; give a descriptor opened for the line (3 or more)' "-ready-fd 1" -- \
    -tls-addr off -ready-fd 1
refused_ 2 '-ready-fd: 0 is standard input' "-ready-fd 0" -- -tls-addr off -ready-fd 0
refused_ 2 '-ready-fd: 2 is standard error' "-ready-fd 2" -- -tls-addr off -ready-fd 2
refused_ 2 '-ready-fd: 57 is not an open file descriptor' "-ready-fd naming a closed descriptor" -- \
    -tls-addr off -ready-fd 57
refused_ 2 '-ready-fd: "x" is not a whole number' "-ready-fd x" -- -tls-addr off -ready-fd x
refused_ 2 '-ready-fd: "-3" is negative' "-ready-fd -3" -- -tls-addr off -ready-fd -3
: >"$work/ro"
rc=0
"$bin" -tls-addr off -ready-fd 8 8<"$work/ro" >"$work/r.out" 2>"$work/r.err" || rc=$?
expect "-ready-fd on a descriptor open for reading only (exit 2)" \
    test "$rc" -eq 2 -a ! -s "$work/r.out" -a "$(grep -c 'descriptor 8 is open for reading only' "$work/r.err")" -eq 1
NOTIFY_SOCKET=relative/sock refused_ 2 'NOTIFY_SOCKET "relative/sock": give an absolute path or an @abstract' \
    "a NOTIFY_SOCKET that is neither a path nor @name" -- -tls-addr off
# a port taken after the ready file's temporary was made: nothing left
python3 -c 'import socket,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$work/busy" &
busy=$(wait_line "$work/busy" '') || true # (the holder lives until the exit trap ends it)
refused_ 1 "cannot listen on 127.0.0.1:$busy" "a taken port with -ready-file" -- \
    -addr "127.0.0.1:$busy" -tls-addr off -ready-file "$work/taken.json"
expect "no ready file and no temporary file after refused starts" \
    test -z "$(find "$work" -maxdepth 2 \( -name '*.tmp' -o -name 'taken.json' -o -name 'r.json' -o -name 'x.json' \))"
# an old file at F is removed at start: no reader takes its line for the new server's
mkdir "$work/old"
echo '{"pid":1,"url":"http://127.0.0.1:1"}' >"$work/old/r.json"
refused_ 2 '-ready-fd: 57 is not' "(a refused start leaves an old file alone)" -- -tls-addr off -ready-fd 57 -ready-file "$work/old/r.json"

# 2. the file: appears once /v1/ping answers; members, types, values
expect "-ready-file: the line appears once /v1/ping answers; its members, order and types (plain only)" \
    test "$(py appear "$work/old" r.json "$work/a1.log" -tls-addr off)" = ok
expect "-ready-file with TLS and -regions 3: regions, tls_url and a TLS client served right after" \
    test "$(py appear "$work" r2.json "$work/a2.log" -tls-addr 127.0.0.1:0 -regions 3)" = ok
expect "-ready-file with -tls-ca-out: ca is the absolute path of the written PEM, which verifies the TLS listener" \
    test "$(cd "$work" && py appear "$work" r3.json "$work/a3.log" -tls-addr 127.0.0.1:0 -tls-ca-out ca.pem)" = ok

# 3. atomic: a reader looping over 8 restarts never sees a partial line
out=$(py atomic "$work/at.json" 8 "$work/at.log") || true
expect "-ready-file is atomic: $out" test "${out%% *}" = ok

# 4. -ready-fd through a pipe, with -ready-file: the same line, then EOF; the server serves on
expect "-ready-fd: one line through a pipe, then the descriptor is closed, the server serving" \
    test "$(py fd "$work/fd.json" "$work/fd.log")" = ok

# 5. NOTIFY_SOCKET
expect "NOTIFY_SOCKET=@abstract: READY=1 arrives and the server answers" \
    test "$(py notify abstract "$work" "$work/n1.log")" = ok
expect "NOTIFY_SOCKET=/path: READY=1 arrives and the server answers" \
    test "$(py notify path "$work" "$work/n2.log")" = ok

# 6. GET /test/health
"$bin" -tls-addr 127.0.0.1:0 -ready-file "$work/h.json" >"$work/h.out" 2>"$work/h.err" &
hp=$!
"$bin" -tls-addr off -profile strict -sessions off -journal-entries 7 -ready-file "$work/hs.json" \
    >"$work/hs.out" 2>"$work/hs.err" &
hsp=$!
"$bin" -tls-addr off -admin-token sekrit -sessions required -ready-file "$work/ha.json" >/dev/null 2>&1 &
hap=$!
timeout 10 "$bin" wait --ready-file "$work/h.json" >/dev/null || true
timeout 10 "$bin" wait --ready-file "$work/hs.json" >/dev/null || true
hurl=$(timeout 10 "$bin" wait --ready-file "$work/ha.json") || true
u=$(py field "$work/h.json" url) || true
tu=$(py field "$work/h.json" tls_url) || true
curl_ -o /dev/null "$u/v1/ping" || true
out=$(py health "$u" "$hp" reference on 10000) || true
expect "GET /test/health: ready, version, pid, uptime_ms, profile, sessions, journal ($out)" test "${out%% *}" = ok
expect "GET /test/health counts the journal's entries" \
    test "$(curl_ "$u/test/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["journal"]["entries"] >= 2)')" = True
curl_ -o /dev/null -X POST "$u/test/sessions" -d '{"id":"one"}' || true
expect "GET /test/health counts live sessions" \
    test "$(curl_ "$u/test/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions"]["live"])')" = 1
out=$(py health "$tu" "$hp" reference on 10000) || true
expect "GET /test/health on the TLS listener ($out)" test "${out%% *}" = ok
out=$(py health "$(py field "$work/hs.json" url)" "$hsp" strict off 7) || true
expect "GET /test/health of a strict server, sessions off, -journal-entries 7 ($out)" test "${out%% *}" = ok
expect "GET /test/health with -admin-token: 401 without it, 200 with it (and no session needed in required mode)" \
    test "$(curl_ -o /dev/null -w '%{http_code}' "$hurl/test/health")/$(curl_ -o /dev/null -w '%{http_code}' \
        -H 'Authorization: Bearer sekrit' "$hurl/test/health")" = 401/200
expect "GET /test/health?x=1: a query is refused (400)" \
    test "$(curl_ -o /dev/null -w '%{http_code}' "$u/test/health?x=1")" = 400
expect "POST /test/health: 405" test "$(curl_ -o /dev/null -w '%{http_code}' -X POST "$u/test/health")" = 405
expect "the journal names the route health" \
    test "$(curl_ "$u/test/requests?route=health&include_test=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][-1]["route"])')" = health
kill "$hp" "$hsp" "$hap"
wait "$hp" "$hsp" "$hap" || true

# 7. mockapi wait
mkdir "$work/w"
t0=${EPOCHREALTIME/./}
"$bin" wait --ready-file "$work/w/r.json" --timeout 20s >"$work/w.out" 2>"$work/w.err" &
wp=$!
"$bin" -tls-addr off -ready-file "$work/w/r.json" >/dev/null 2>&1 &
sp=$!
rc=0
wait "$wp" || rc=$?
expect "mockapi wait started first returns 0 once the server is ready, printing its URL" \
    test "$rc" -eq 0 -a "$(cat "$work/w.out")" = "$(py field "$work/w/r.json" url)"
echo "      (mockapi wait returned $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms after it started, the server started meanwhile)"
kill "$sp"
wait "$sp" || true
# a stale file: a line naming a server that is gone
echo '{"pid":1,"url":"http://127.0.0.1:1"}' >"$work/w/stale.json"
t0=${EPOCHREALTIME/./}
rc=0
"$bin" wait --ready-file "$work/w/stale.json" --timeout 300ms >"$work/w2.out" 2>"$work/w2.err" || rc=$?
ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
expect "mockapi wait on a stale line times out (exit 1) saying the server does not answer" \
    test "$rc" -eq 1 -a ! -s "$work/w2.out" -a \
        "$(grep -c 'not ready within 300 ms; last: .*stale.json names http://127.0.0.1:1, which does not answer' "$work/w2.err")" -eq 1
expect "... after its timeout, not long after ($ms ms)" test "$ms" -ge 300 -a "$ms" -lt 5000
# the stale file, then a server takes it over: wait sees the new line
"$bin" wait --ready-file "$work/w/stale.json" --timeout 20s >"$work/w3.out" 2>"$work/w3.err" &
wp=$!
"$bin" -tls-addr off -ready-file "$work/w/stale.json" >/dev/null 2>&1 &
sp=$!
rc=0
wait "$wp" || rc=$?
expect "mockapi wait on a stale file returns 0 when a server replaces it" \
    test "$rc" -eq 0 -a "$(cat "$work/w3.out")" = "$(py field "$work/w/stale.json" url)"
kill "$sp"
wait "$sp" || true
rc=0
"$bin" wait --ready-file "$work/w/never.json" --timeout 200ms >"$work/w4.out" 2>"$work/w4.err" || rc=$?
expect "mockapi wait on a file that never appears: exit 1, saying so" \
    test "$rc" -eq 1 -a "$(grep -c "not ready within 200 ms; last: $work/w/never.json does not exist" "$work/w4.err")" -eq 1
echo 'not json' >"$work/w/bad.json"
rc=0
"$bin" wait --ready-file "$work/w/bad.json" --timeout 100ms >/dev/null 2>"$work/w5.err" || rc=$?
expect "mockapi wait on a file that is not a readiness line: exit 1, saying so" \
    test "$rc" -eq 1 -a "$(grep -c 'bad.json is not a readiness line' "$work/w5.err")" -eq 1
MOCKAPI_READY_FILE="$work/w/never.json" refused_ 1 'not ready within 50 ms' \
    "mockapi wait reads MOCKAPI_READY_FILE" -- wait --timeout 50ms
refused_ 2 'mockapi: wait: --ready-file is required' "mockapi wait without --ready-file" -- wait
refused_ 2 'flag provided but not defined: -ready-fil (did you mean -ready-file?)' "mockapi wait --ready-fil" -- \
    wait --ready-fil x
refused_ 2 '-timeout: "30" has a number without a unit; give a number and a unit (ms, s, m, h)' \
    "mockapi wait --timeout 30" -- wait --ready-file x --timeout 30
refused_ 2 '-timeout: "5x" has an unknown unit' "mockapi wait --timeout 5x" -- wait --ready-file x --timeout 5x
refused_ 2 '-timeout: "0s" is zero' "mockapi wait --timeout 0s" -- wait --ready-file x --timeout 0s
refused_ 2 '-timeout: "25h" is too large' "mockapi wait --timeout 25h" -- wait --ready-file x --timeout 25h
refused_ 2 '-timeout: "" is empty' "mockapi wait --timeout ''" -- wait --ready-file x --timeout ''
refused_ 2 "mockapi: wait: cannot watch the folder $work/nodir of --ready-file: No such file or directory" \
    "mockapi wait on a missing folder" -- wait --ready-file "$work/nodir/r.json"
refused_ 2 'names a folder' "mockapi wait --ready-file DIR/" -- wait --ready-file "$work/w/"
refused_ 2 'unexpected argument "now"' "mockapi wait with a stray word" -- wait --ready-file x now
expect "mockapi wait --timeout 1m30s is accepted (help exits 0)" "$bin" wait --timeout 1m30s -h >/dev/null
expect "mockapi help wait prints its usage" sh -c "'$bin' help wait | grep -q 'usage: mockapi wait --ready-file F'"

# 8. latency: readiness after the listeners are bound
read -r p_med p_max pf_med pf_max <<<"$(py latency "$work" 15 "$work/l1.log" -tls-addr off)"
read -r t_med t_max tf_med tf_max <<<"$(py latency "$work" 15 "$work/l2.log" -tls-addr 127.0.0.1:0)"
read -r c_med c_max cf_med cf_max <<<"$(cd "$work" && py latency "$work" 15 "$work/l3.log" -tls-addr 127.0.0.1:0 -tls-ca-out ca2.pem)"
if [ -z "${MOCKAPI_IT_NO_TIMING:-}" ]; then
    expect "readiness within 2 ms of the listeners being bound, without TLS (median of 15 starts: $p_med us)" \
        test "$p_med" -lt 2000
    # with TLS "bound" is when the TLS socket starts listening, which it
    # does only once its keys exist (README "Readiness")
    expect "readiness within 2 ms of the listeners being bound, with TLS (median of 15 starts: $t_med us)" \
        test "$t_med" -lt 2000
    expect "readiness within 2 ms of the listeners being bound, with TLS and -tls-ca-out (median of 15 starts: $c_med us)" \
        test "$c_med" -lt 2000
fi

echo
echo "$pass passed, $fail failed ($((SECONDS - started)) s)"
echo "readiness after the listeners are bound, median / max of 15 starts, in us:"
echo "  the server sent it (after_bind_us):   plain $p_med / $p_max   TLS $t_med / $t_max   TLS + -tls-ca-out $c_med / $c_max"
echo "  a watcher (inotify) sees the file:    plain $pf_med / $pf_max   TLS $tf_med / $tf_max   TLS + -tls-ca-out $cf_med / $cf_max"
[ "$fail" -eq 0 ]
