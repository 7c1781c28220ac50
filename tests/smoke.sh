#!/usr/bin/env bash
# smoke.sh: the mockapi binary as a user runs it. Each check prints one line;
# the last line is "N passed, M failed". Usage: tests/smoke.sh path/to/mockapi
set -uo pipefail
bin=${1:?usage: smoke.sh path/to/mockapi}
. "$(dirname "$0")/lib.sh"

# wait_for_number FILE: waits (deadline 10 s) for a line holding a number
wait_for_number() {
    local deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ]; do
        grep -qE '^[0-9]+$' "$1" 2>/dev/null && { head -n1 "$1"; return 0; }
        read -r -t 0.02 <> <(:) || true
    done
    return 1
}

# 1. start on port 0 with TLS on port 0; both addresses printed on stdout
"$bin" -addr 127.0.0.1:0 -tls-addr 127.0.0.1:0 >"$work/out" 2>"$work/err" &
pid=$!
addr=$(wait_line "$work/out" MOCKAPI_ADDR=)
check "prints MOCKAPI_ADDR" $?
tls=$(wait_line "$work/out" MOCKAPI_TLS_ADDR=)
check "prints MOCKAPI_TLS_ADDR" $?
[ "$(sed -n 1p "$work/out" | cut -d= -f1)" = MOCKAPI_ADDR ]
check "MOCKAPI_ADDR is the first stdout line" $?

body=$(curl_ "http://$addr/v1/ping")
[ "$body" = "{}" ]
check "GET /v1/ping answers {}" $?

code=$(curl_ -k -o /dev/null -w '%{http_code}' -X POST "https://$tls/local/metrics" \
       -H 'Authorization: Bearer e2e-local-bearer-token' -d '{}')
[ "$code" = 204 ]
check "TLS POST /local/metrics with the bearer token gives 204" $?

"$bin" -check "http://$addr/v1/ping"
check "-check on a healthy URL exits 0" $?
"$bin" -check "http://$addr/nope"
[ $? -eq 1 ]
check "-check on a 404 exits 1" $?
"$bin" -check "https://$tls/test/assertions"
check "-check over https (the TLS listener) exits 0" $?
"$bin" -check "https://$addr/v1/ping" 2>/dev/null
[ $? -eq 1 ]
check "-check https:// against the plain port exits 1" $?

kill -TERM "$pid"
wait "$pid"
check "SIGTERM stops with exit status 0" $?

"$bin" -check "http://$addr/v1/ping" 2>/dev/null
[ $? -eq 1 ]
check "-check on a closed port exits 1" $?

# -check gives up after -check-timeout on a server that never answers: a
# listener that takes the connection (backlog) but never reads or replies,
# alive at most 10 s
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(10)' >"$work/mute" &
mute=$!
mport=$(wait_for_number "$work/mute")
t0=${EPOCHREALTIME/./}
"$bin" -check "http://127.0.0.1:$mport/v1/ping" -check-timeout 300 2>/dev/null
rc=$?
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
kill "$mute" 2>/dev/null
[ $rc -eq 1 ] && [ $ms -ge 250 ] && [ $ms -lt 3000 ]
check "-check-timeout 300 ends a check against a mute server with exit 1 ($ms ms)" $?

# 2. flags, environment, help and errors
help=$("$bin" --help) # whole: grep -q stops early (SIGPIPE under pipefail)
grep -q -- "-tls-addr" <<<"$help"
check "--help documents the flags" $?
"$bin" -no-such-flag >/dev/null 2>&1
[ $? -eq 2 ]
check "an unknown flag exits 2" $?
"$bin" -addr nonsense >/dev/null 2>"$work/err2"
[ $? -eq 2 ] && grep -q "addr" "$work/err2"
check "a bad -addr exits 2 with a reason" $?
MOCKAPI_LISTEN_ADDR=127.0.0.1:0 MOCKAPI_TLS_LISTEN_ADDR=off "$bin" >"$work/out3" 2>/dev/null &
pid=$!
addr=$(wait_line "$work/out3" MOCKAPI_ADDR=)
check "environment variables configure the listeners" $?
kill -INT "$pid"
wait "$pid"
check "SIGINT stops with exit status 0" $?
# stdout is complete only now: the TLS line would come after MOCKAPI_ADDR
! grep -q MOCKAPI_TLS_ADDR "$work/out3"
check "MOCKAPI_TLS_LISTEN_ADDR=off disables TLS" $?

# flag forms, precedence over the environment, and number checks
MOCKAPI_LISTEN_ADDR=nonsense "$bin" --addr=127.0.0.1:0 --tls-addr=off -journal-entries 0 \
    >"$work/out3b" 2>/dev/null &
pid=$!
addr=$(wait_line "$work/out3b" MOCKAPI_ADDR=)
check "--addr=X and --tls-addr=off work, and a flag wins over its environment variable" $?
[ "$(curl_ "http://$addr/test/requests" | head -c 12)" = '{"entries":[' ]
check "-journal-entries 0 is accepted (journal off)" $?
kill -INT "$pid"; wait "$pid"
# the output bound reaches the transport, by flag and by variable (the 503
# past it is tested in the integration suite, mem_)
MOCKAPI_MAX_BUFFERED_BYTES=200000 "$bin" -addr 127.0.0.1:0 -tls-addr off >"$work/out3e" 2>/dev/null &
pide=$!
"$bin" -addr 127.0.0.1:0 -tls-addr off -max-buffered-bytes 100000 >"$work/out3f" 2>/dev/null &
pidf=$!
ae=$(wait_line "$work/out3e" MOCKAPI_ADDR=) && af=$(wait_line "$work/out3f" MOCKAPI_ADDR=) &&
    curl_ "http://$ae/test/stats" | grep -q '"out_bound_bytes":200000[,}]' &&
    curl_ "http://$af/test/stats" | grep -q '"out_bound_bytes":100000[,}]'
check "-max-buffered-bytes and MOCKAPI_MAX_BUFFERED_BYTES set the transport's output bound" $?
kill "$pide" "$pidf"; wait "$pide" "$pidf" 2>/dev/null
"$bin" -addr 127.0.0.1:0 -tls-addr off -max-body-bytes x >/dev/null 2>"$work/err3c"
[ $? -eq 2 ] && grep -q -- "-max-body-bytes" "$work/err3c"
check "a bad number exits 2 naming the flag" $?
"$bin" -addr 127.0.0.1:0 -tls-addr off -tls-ca-out "$work/none.pem" >"$work/out3d" 2>"$work/err3d"
[ $? -eq 2 ] && [ ! -s "$work/out3d" ] && grep -q -- "-tls-ca-out" "$work/err3d"
check "-tls-ca-out without a TLS listener exits 2 before serving" $?
# -fault: repeatable, checked before serving (exit 2 naming the flag), and
# its rules apply: first=1 per rule, the second answer is the route's own
"$bin" -addr 127.0.0.1:0 -tls-addr off -fault 'ping: status=503' -fault 'heartbeat: stauts=503' \
    >"$work/outf1" 2>"$work/errf1"
[ $? -eq 2 ] && [ ! -s "$work/outf1" ] && grep -q -- '-fault "heartbeat: stauts=503": spec: unknown key "stauts" (did you mean "status"?)' "$work/errf1"
check "a bad -fault exits 2 naming the flag and the item" $?
MOCKAPI_FAULT='state: status=502; first=1' "$bin" -addr 127.0.0.1:0 -tls-addr off >"$work/outf2" 2>/dev/null &
pidf2=$!
"$bin" -addr 127.0.0.1:0 -tls-addr off -fault 'ping: status=503; retry-after=2; first=1' \
    -fault 'POST /v1/nodes/*/heartbeat: status=429; first=1' >"$work/outf3" 2>/dev/null &
pidf3=$!
a2=$(wait_line "$work/outf2" MOCKAPI_ADDR=) && a3=$(wait_line "$work/outf3" MOCKAPI_ADDR=) &&
    [ "$(curl_ -o /dev/null -w '%{http_code}' "http://$a2/v1/nodes/n/state")" = 502 ] &&
    [ "$(curl_ -o /dev/null -w '%{http_code}' "http://$a2/v1/nodes/n/state")" = 200 ] &&
    [ "$(curl_ -o /dev/null -w '%{http_code}' "http://$a3/v1/ping")" = 503 ] &&
    [ "$(curl_ "http://$a3/v1/ping")" = "{}" ] &&
    [ "$(curl_ -o /dev/null -w '%{http_code}' -X POST -d '{}' "http://$a3/v1/nodes/n/heartbeat")" = 429 ] &&
    [ "$(curl_ -o /dev/null -w '%{http_code}' -X POST -d '{}' "http://$a3/v1/nodes/n/heartbeat")" = 200 ] &&
    [ "$(curl_ "http://$a3/test/faults" | grep -o '"source":"flag"' | wc -l)" = 2 ]
check "-fault (twice) and MOCKAPI_FAULT install flag rules that apply" $?
kill "$pidf2" "$pidf3"; wait "$pidf2" "$pidf3" 2>/dev/null

# sub-commands: a known first word runs it; an unknown one is still an
# unexpected argument of the default command, as before sub-commands existed
"$bin" help >"$work/help" 2>/dev/null && grep -q '^  serve ' "$work/help" && grep -q -- "-tls-addr" "$work/help"
check "help exits 0 and lists the sub-commands and the flags" $?
# the text into a file first: grep -q leaves a pipe early, and the writer's
# SIGPIPE would fail the pipeline under pipefail
"$bin" -h >"$work/usage" 2>&1 && grep -q '^  help ' "$work/usage"
check "-h lists the sub-commands" $?
"$bin" help nope >/dev/null 2>"$work/errh"
[ $? -eq 2 ] && grep -q 'unknown command "nope"' "$work/errh"
check "help on an unknown command exits 2 naming it" $?
"$bin" nope -addr 127.0.0.1:0 >"$work/outu" 2>"$work/erru"
[ $? -eq 2 ] && [ ! -s "$work/outu" ] && grep -q 'unexpected argument "nope"' "$work/erru"
check "an unknown first word is an unexpected argument (exit 2), not a sub-command" $?
"$bin" serve -addr 127.0.0.1:0 -tls-addr off >"$work/outs" 2>/dev/null &
pid=$!
addr=$(wait_line "$work/outs" MOCKAPI_ADDR=) && [ "$(curl_ "http://$addr/v1/ping")" = "{}" ]
check "serve FLAGS serves like the bare flags" $?
kill -TERM "$pid"; wait "$pid"
check "serve stops on SIGTERM with exit status 0" $?

# 3. fixtures override from a directory, and a broken fixture is refused
mkdir -p "$work/fx"
printf '{ "reconcile": false, "rotate_keys": true, "extra": 1 }' >"$work/fx/heartbeat.json"
"$bin" -addr 127.0.0.1:0 -tls-addr off -fixtures "$work/fx" >"$work/out4" 2>/dev/null &
pid=$!
addr=$(wait_line "$work/out4" MOCKAPI_ADDR=)
body=$(curl_ -X POST "http://$addr/v1/nodes/n/heartbeat" -d '{}')
[ "$body" = '{"reconcile":false,"rotate_keys":true}' ]
check "a fixtures directory overrides the embedded heartbeat" $?
kill "$pid"; wait "$pid"
printf '{ "reconcile": "nope" }' >"$work/fx/heartbeat.json"
"$bin" -addr 127.0.0.1:0 -tls-addr off -fixtures "$work/fx" >/dev/null 2>"$work/err5"
rc=$?
[ $rc -eq 2 ] && grep -q "heartbeat.json" "$work/err5"
check "an invalid fixture stops start-up (exit 2) and names the file" $?

# 4. the signing key survives a restart with -signing-key-file
key1=$("$bin" -addr 127.0.0.1:0 -tls-addr off -signing-key-file "$work/key" >"$work/o6" 2>/dev/null & p=$!;
       a=$(wait_line "$work/o6" MOCKAPI_ADDR=); curl_ -X POST "http://$a/v1/register" -d '{}'; kill $p; wait $p)
key2=$("$bin" -addr 127.0.0.1:0 -tls-addr off -signing-key-file "$work/key" >"$work/o7" 2>/dev/null & p=$!;
       a=$(wait_line "$work/o7" MOCKAPI_ADDR=); curl_ -X POST "http://$a/v1/register" -d '{}'; kill $p; wait $p)
[ -n "$key1" ] && [ "$key1" = "$key2" ]
check "-signing-key-file keeps the key across restarts" $?
[ "$(stat -c %a "$work/key")" = 600 ]
check "the key file is private (0600)" $?

# 5. every listener is bound before MOCKAPI_ADDR is printed: a taken TLS
#    port is reported with nothing on stdout, exit 1, and no CA file written
"$bin" -addr 127.0.0.1:0 -tls-addr 127.0.0.1:0 >"$work/o8" 2>/dev/null &
p=$!
busy=$(wait_line "$work/o8" MOCKAPI_TLS_ADDR=)
"$bin" -addr 127.0.0.1:0 -tls-addr "$busy" -tls-ca-out "$work/ca.pem" >"$work/o9" 2>"$work/e9"
rc=$?
kill "$p"; wait "$p"
[ $rc -eq 1 ] && [ ! -s "$work/o9" ] &&
    grep -q "^mockapi: cannot listen on $busy (the TLS listener): Address already in use" "$work/e9" &&
    [ ! -e "$work/ca.pem" ]
check "a taken TLS port: exit 1 with the reason, before MOCKAPI_ADDR" $?
"$bin" -addr 127.0.0.1:0 -tls-addr 127.0.0.1:0 -tls-ca-out "$work/ca2.pem" >"$work/o10" 2>/dev/null &
p=$!
tls=$(wait_line "$work/o10" MOCKAPI_TLS_ADDR=)
code=$(curl_ --cacert "$work/ca2.pem" -o /dev/null -w '%{http_code}' -X POST "https://$tls/local/metrics" \
       -H 'Authorization: Bearer e2e-local-bearer-token' -d '{}')
[ "$code" = 204 ]
check "-tls-ca-out is written by the time MOCKAPI_TLS_ADDR is printed (curl verifies with it)" $?
kill "$p"; wait "$p"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
