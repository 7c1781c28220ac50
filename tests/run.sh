#!/usr/bin/env bash
# run.sh: `mockapi run` (README "Running tests against N instances: mockapi
# run"): two instances driven by a script (each counts only its own
# requests; one CA file verifies both over TLS; the environment and the
# ready file name them), --assert per instance, the exit statuses (a
# passing and a failing command, a failing assertion, an instance that
# cannot bind: 125, one that refuses a flag: 2, the readiness timeout: 125,
# a command not found: 127 or not executable: 126, usage errors: 2), the
# reuse of instances a ready file names (after --keep-on-failure), a stale
# ready file, and SIGTERM to run (CMD's group killed, the instances torn
# down), each run leaving no instance, temporary folder or ready file.
#
# Every wait has a deadline: a bounded read on a FIFO, a pidfd poll, `mockapi
# wait`; nothing sleeps to synchronise. Ports are 0, listeners loopback.
#
# Usage: tests/run.sh path/to/mockapi   (mockassert is taken from the same
# folder; needs bash, curl, jq, python3)
# Prints one line per check, then "N passed, M failed" and the time taken.
# Exit status: 0 every check passed, 1 a check failed, 2 usage.
set -euo pipefail
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: tests/run.sh path/to/mockapi   (an executable mockapi binary, mockassert beside it)" >&2
    exit 2
fi
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -x "$(dirname "$bin")/mockassert" ] || { echo "tests/run.sh: no mockassert beside $bin (bash ci/build.sh release)" >&2; exit 2; }
for t in curl jq python3; do
    command -v "$t" >/dev/null || { echo "tests/run.sh: $t not found (bash ci/setup.sh)" >&2; exit 2; }
done
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib.sh"
started=$SECONDS
export TMPDIR=$work # run's temporary folders land here, so leftovers are seen
unset MOCKAPI_LISTEN_ADDR MOCKAPI_TLS_LISTEN_ADDR MOCKAPI_TLS_CA_DIR MOCKAPI_READY_FILE MOCKAPI_ADMIN_TOKEN

# expect NAME CMD...: one check, passed when CMD exits 0
expect() {
    local name=$1
    shift
    if "$@"; then check "$name" 0; else check "$name" 1; fi
}

# status WANT NAME [MESSAGE] -- ARGS...: `mockapi run ARGS` (20 s bound)
# must exit WANT, with MESSAGE (fixed string) on stderr (or, for
# mockassert's report, stdout) when given
status() {
    local want=$1 name=$2 msg="" rc=0
    shift 2
    [ "$1" != -- ] && { msg=$1; shift; }
    shift
    timeout 20 "$bin" run "$@" >"$work/s.out" 2>"$work/s.err" || rc=$?
    if [ "$rc" -eq "$want" ] && { [ -z "$msg" ] || grep -qF -- "$msg" "$work/s.err" "$work/s.out"; }; then
        check "$name (exit $want)" 0
    else
        check "$name (exit $want): got exit $rc, stderr [$(head -n 3 "$work/s.err" | tr '\n' '|')]" 1
    fi
}

# gone PID...: every process has exited within 10 s (a pidfd each; they
# need not be our children)
gone() {
    python3 - "$@" <<'EOF'
import os, select, sys, time
deadline = time.monotonic() + 10
for p in map(int, sys.argv[1:]):
    try:
        fd = os.pidfd_open(p)
    except ProcessLookupError:
        continue
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([fd], [], [], left)[0]:
        sys.exit("pid %d still running" % p)
EOF
}
alive() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null || return 1; done; }
no_leftovers() { [ -z "$(find "$work" -maxdepth 1 -name 'mockapi-run.*' -print -quit)" ]; }

# ---- two instances driven by a script ------------------------------------------
cat >"$work/hb2.yaml" <<'EOF'
expectations:
  - counter: heartbeat_count
    equals: 2
EOF
cat >"$work/hb3.yaml" <<'EOF'
expectations:
  - counter: heartbeat_count
    equals: 3
EOF
cat >"$work/drive.sh" <<'EOF'
# runs under `mockapi run -n 2`: prints "ok NAME" or "FAIL NAME" per check
t() { if eval "$2"; then echo "ok $1"; else echo "FAIL $1"; fi >>"$OUT/checks"; }
c() { curl --noproxy '*' -sS --max-time 5 "$@"; }
hb() { c -o /dev/null -w '%{http_code}' -X POST "$1/v1/nodes/n1/heartbeat" -H 'Content-Type: application/json' -d '{"node_id":"n1"}'; }
t "env: MOCKAPI_INSTANCES is 2" '[ "$MOCKAPI_INSTANCES" = 2 ]'
t "env: MOCKAPI_URL is instance 0's" '[ -n "$MOCKAPI_URL_0" ] && [ "$MOCKAPI_URL" = "$MOCKAPI_URL_0" ]'
t "env: two different URLs, loopback" 'case "$MOCKAPI_URL_0 $MOCKAPI_URL_1" in "http://127.0.0.1:"*" http://127.0.0.1:"*) [ "$MOCKAPI_URL_0" != "$MOCKAPI_URL_1" ];; *) false;; esac'
t "env: no third instance" '[ -z "${MOCKAPI_URL_2+x}" ]'
t "env: MOCKAPI_READY_FILE" '[ "$MOCKAPI_READY_FILE" = "$READY" ]'
t "env: MOCKAPI_CA is a PEM certificate" 'grep -q "BEGIN CERTIFICATE" "$MOCKAPI_CA"'
for i in 1 2; do hb "$MOCKAPI_URL_0" >/dev/null; done
for i in 1 2 3; do hb "$MOCKAPI_URL_1" >/dev/null; done
t "isolation: instance 0 counted its 2 heartbeats" '[ "$(c "$MOCKAPI_URL_0/test/assertions" | jq .heartbeat_count)" = 2 ]'
t "isolation: instance 1 counted its 3 heartbeats" '[ "$(c "$MOCKAPI_URL_1/test/assertions" | jq .heartbeat_count)" = 3 ]'
t "isolation: instance 1's journal holds its own only" '[ "$(c "$MOCKAPI_URL_1/test/requests" | jq "[.. | objects | select(.path? == \"/v1/nodes/n1/heartbeat\")] | length")" = 3 ]'
for k in 0 1; do
    eval "u=\$MOCKAPI_TLS_URL_$k"
    t "TLS: instance $k verified with the one CA file" '[ "$(c --cacert "$MOCKAPI_CA" "$u/test/health" | jq -r .ready)" = true ]'
    t "TLS: instance $k's local endpoint over verified TLS" '[ "$(c --cacert "$MOCKAPI_CA" -o /dev/null -w "%{http_code}" -X POST "$u/local/metrics" -H "Authorization: Bearer e2e-local-bearer-token" -d "{}")" = 204 ]'
done
t "TLS: without the CA, verification fails" '! c -o /dev/null "$MOCKAPI_TLS_URL_0/test/health" 2>/dev/null'
t "ready file: two instances, as the environment says" '[ "$(jq -r "[.instances[].url] | join(\" \")" "$READY")" = "$MOCKAPI_URL_0 $MOCKAPI_URL_1" ]'
t "ready file: TLS URLs and the shared CA" '[ "$(jq -r "[.instances[] | .tls_url, .ca] | join(\" \")" "$READY")" = "$MOCKAPI_TLS_URL_0 $MOCKAPI_CA $MOCKAPI_TLS_URL_1 $MOCKAPI_CA" ]'
t "ready file: pages, pids, versions; url on top" '[ "$(jq -r "(.url == .instances[0].url) and ([.instances[] | (.page == .url + \"/test/\") and (.pid > 0) and (.version | length > 0)] | all)" "$READY")" = true ]'
t "ready file: one line" '[ "$(wc -l <"$READY")" = 1 ]'
t "mockapi wait reads the ready file" '[ "$("$BIN" wait --ready-file "$READY" --timeout 5s)" = "$MOCKAPI_URL_0" ]'
jq -r '.instances[].pid' "$READY" >"$OUT/pids"
echo "$MOCKAPI_CA" >"$OUT/ca"
EOF
mkdir -p "$work/o"
rc=0
READY=$work/ready.json BIN=$bin OUT=$work/o timeout 30 "$bin" run -n 2 --ready-file "$work/ready.json" \
    --assert "$work/hb2.yaml" --assert "1:$work/hb3.yaml" -- sh "$work/drive.sh" >"$work/drive.out" 2>"$work/drive.err" || rc=$?
while read -r verdict name; do
    [ "$verdict" = ok ] && check "$name" 0 || check "$name" 1
done <"$work/o/checks"
[ -s "$work/o/checks" ] || check "the script ran (stderr: $(head -n 3 "$work/drive.err" | tr '\n' '|'))" 1
[ "$rc" -eq 0 ] && ! grep -q '^FAIL' "$work/o/checks" && [ "$(grep -c "^1 passed, 0 failed" "$work/drive.out")" = 2 ] && check "run -n 2: the script and both --assert files passed (exit 0)" 0 ||
    check "run -n 2: exit 0 (got $rc; stderr: $(head -n 5 "$work/drive.err" | tr '\n' '|'))" 1
expect "teardown: both instances stopped" gone $(cat "$work/o/pids" 2>/dev/null || echo 999999999)
expect "teardown: the ready file removed" test ! -e "$work/ready.json"
expect "teardown: the temporary CA folder removed" test ! -e "$(cat "$work/o/ca" 2>/dev/null)"
expect "teardown: no temporary folder left" no_leftovers

# ---- exit statuses ---------------------------------------------------------------
status 0 "a passing command" -- -- true
status 7 "a failing command's status" -- -- sh -c 'exit 7'
status 1 "a failing --assert file: mockassert's 1" "heartbeat_count equals 2" -- --assert "$work/hb2.yaml" -- true
status 7 "a failing command wins over a failing --assert" -- --assert "$work/hb2.yaml" -- sh -c 'exit 7'
status 0 "--assert K: the file checked on instance 1" -- -n 2 --assert "1:$work/hb3.yaml" \
    -- sh -c 'for i in 1 2 3; do curl -s -o /dev/null -X POST "$MOCKAPI_URL_1/v1/nodes/n/heartbeat" -d "{}"; done'
status 127 "a command not found" "mockapi run: no-such-command-xyz: No such file or directory" -- -- no-such-command-xyz
printf 'echo hi\n' >"$work/noexec.sh"
status 126 "a command not executable" "Permission denied" -- -- "$work/noexec.sh"
status 0 "TLS off: no CA, no TLS URL" -- -tls-addr off -- sh -c '[ -z "${MOCKAPI_CA+x}${MOCKAPI_TLS_URL_0+x}" ] && [ -n "$MOCKAPI_URL" ]'
# a port that is taken: an instance exits 1 at start, run says so with 125
"$bin" -addr 127.0.0.1:0 -tls-addr off -ready-file "$work/taken.json" 2>/dev/null >/dev/null &
taken_url=$("$bin" wait --ready-file "$work/taken.json" --timeout 10s)
status 125 "an instance that cannot bind: 125, its stderr shown" "cannot listen on ${taken_url#http://}" -- \
    -n 2 -addr "${taken_url#http://}" -- true
grep -qF "before it was ready" "$work/s.err" && check "  ...naming the instance and its exit status" 0 || check "  ...naming the instance and its exit status" 1
status 2 "an instance that refuses a flag: 2, with its message" 'mockapi: -threads: "x" is not a whole number' -- -threads x -- true
status 125 "not ready within --timeout: 125" "not ready within 1 ms (--timeout)" -- --timeout 1ms -- true
expect "failed starts leave no temporary folder" no_leftovers
status 2 "usage: no --" "no command: give it after --" -- -n 2
status 2 "usage: nothing after --" "no command after --" -- --
status 2 "usage: -n 0" '"0" is too small; give a whole number from 1 to 32' -- -n 0 -- true
status 2 "usage: -n 33" '"33" is too large; give a whole number from 1 to 32' -- -n 33 -- true
status 2 "usage: an unknown flag, with did-you-mean" "flag provided but not defined: --keep-on-falure (did you mean --keep-on-failure?)" -- --keep-on-falure -- true
status 2 "usage: a misspelt serve flag" "(did you mean -tls-addr?)" -- -tls-adr off -- true
status 2 "usage: -ready-fd is run's" "run gives every instance a -ready-fd of its own" -- -ready-fd 3 -- true
status 2 "usage: --assert K past -n" "there is only 1 instance" -- --assert "1:$work/hb2.yaml" -- true
status 2 "usage: a --ready-file folder that does not exist" "--ready-file: cannot write $work/no/such" -- --ready-file "$work/no/such/r.json" -- true
status 2 "usage: a bad --timeout" '"soon" is not a duration' -- --timeout soon -- true

# ---- reuse ----------------------------------------------------------------------
status 3 "--keep-on-failure: the command's 3" "leaving 2 instances up" -- -n 2 --ready-file "$work/keep.json" \
    --keep-on-failure -- sh -c 'curl -s -o /dev/null -X POST "$MOCKAPI_URL_1/v1/nodes/n/heartbeat" -d "{}"; exit 3'
kept=$(jq -r '.instances[].pid' "$work/keep.json" 2>/dev/null | tr '\n' ' ')
expect "--keep-on-failure: the ready file kept, the instances alive" alive $kept
expect "--keep-on-failure: their pids and pages printed" grep -qE "instance 1: pid [0-9]+, page http://127.0.0.1:[0-9]+/test/" "$work/s.err"
status 0 "reuse: a second run uses them" "mockapi run: reusing 2 instances from $work/keep.json" -- -n 2 \
    --ready-file "$work/keep.json" --assert "1:$work/hb3.yaml" -- sh -c \
    'curl -s -o /dev/null -X POST "$MOCKAPI_URL_1/v1/nodes/n/heartbeat" -d "{}"; curl -s -o /dev/null -X POST "$MOCKAPI_URL_1/v1/nodes/n/heartbeat" -d "{}"; [ "$(jq -r .instances[1].url "$MOCKAPI_READY_FILE")" = "$MOCKAPI_URL_1" ]'
expect "reuse: nothing torn down, the file still there" alive $kept
expect "reuse: the ready file left in place" test -e "$work/keep.json"
status 2 "reuse: another -n is refused" "names 2 running instances but -n 1 was asked" -- --ready-file "$work/keep.json" -- true
kill $kept
expect "reuse: the kept instances stop by their pids" gone $kept
status 0 "a stale ready file: new instances" "is stale" -- --ready-file "$work/keep.json" -- sh -c \
    '[ "$(curl -s "$MOCKAPI_URL/test/assertions" | jq .heartbeat_count)" = 0 ]'
expect "a stale ready file: replaced, then removed" test ! -e "$work/keep.json"
find "$work" -maxdepth 1 -name 'mockapi-run.*' -exec rm -rf {} + # the kept run's folder

# ---- SIGTERM to run ---------------------------------------------------------------
mkfifo "$work/fifo"
"$bin" run -n 2 -- sh -c 'echo "$$ $(curl -s "$MOCKAPI_URL_0/test/health" | jq .pid) $(curl -s "$MOCKAPI_URL_1/test/health" | jq .pid)" >"$0"; sleep 60' \
    "$work/fifo" >/dev/null 2>"$work/term.err" &
run_pid=$!
pids=""
read -r -t 10 pids <"$work/fifo" || true
expect "SIGTERM: CMD and both instances were up" alive $pids
t0=$SECONDS
kill -TERM "$run_pid"
rc=0
wait "$run_pid" || rc=$?
[ "$rc" -eq 143 ] && check "SIGTERM: run exits 143 (CMD killed by the forwarded SIGTERM)" 0 ||
    check "SIGTERM: run exits 143 (got $rc; $(head -n 2 "$work/term.err" | tr '\n' '|'))" 1
expect "SIGTERM: CMD's group and the instances are gone" gone ${pids:-999999999}
expect "SIGTERM: within 5 s" test $((SECONDS - t0)) -le 5
expect "SIGTERM: no temporary folder left" no_leftovers

echo "$pass passed, $fail failed ($((SECONDS - started)) s)"
[ "$fail" -eq 0 ]
