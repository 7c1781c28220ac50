#!/usr/bin/env bash
# startup.sh: the mockapi binary's start-up guards. Every bad flag and every
# start-up error gives its message on stderr, prints no MOCKAPI_ADDR line and
# exits non-zero (2: usage or configuration, 1: the environment refused);
# the default listeners are on loopback; -admin-token guards /test/ on both
# listeners; -check speaks https to the binary's own TLS listener.
# Each check prints one line; the last is "N passed, M failed".
# Usage: tests/startup.sh path/to/mockapi      (needs bash, python3, curl)
set -uo pipefail
bin=${1:?usage: startup.sh path/to/mockapi}
. "$(dirname "$0")/lib.sh"

# 1. flags
refused 2 'flag provided but not defined: -adr (did you mean -addr?)' "a misspelt flag gets a did-you-mean" -- -adr 127.0.0.1:0
refused 2 'flag provided but not defined: -tls_addr (did you mean -tls-addr?)' "Go-style underscores are suggested as dashes" -- --tls_addr off
refused 2 'flag provided but not defined: -frobnicate' "an unknown flag far from every name" -- -frobnicate 1
refused 2 'flag needs an argument: -threads' "a flag without its value" -- -threads
refused 2 'bad flag syntax: ---addr' "three dashes" -- ---addr 127.0.0.1:0
refused 2 'bad flag syntax: -' "a lone dash" -- -
refused 2 'unexpected argument "serve2"' "a stray word" -- serve2
refused 2 '-addr: empty value; give host:port' "an empty -addr" -- -addr ''
refused 2 '-fixtures: empty value' "an empty -fixtures" -- -addr 127.0.0.1:0 -tls-addr off -fixtures=
refused 2 '-admin-token: empty value' "an empty -admin-token" -- -addr 127.0.0.1:0 -tls-addr off -admin-token ''
refused 2 '-tls-ca-out: empty value' "an empty -tls-ca-out" -- -addr 127.0.0.1:0 -tls-ca-out ''
refused 2 '-threads: "-1" is negative; give a whole number from 1 to 10000' "a negative number" -- -tls-addr off -threads -1
refused 2 '-max-body-bytes: "99999999999999999999999" is too large; give a whole number from 1 to' "an overflowing number" -- -tls-addr off -max-body-bytes 99999999999999999999999
refused 2 '-sse-queue: "1x" is not a whole number' "a number with a tail" -- -tls-addr off -sse-queue 1x
refused 2 '-sse-queue: " 1" is not a whole number' "a number with a blank" -- -tls-addr off -sse-queue ' 1'
refused 2 '-threads: "0" is too small; give a whole number from 1 to 10000' "zero threads" -- -tls-addr off -threads 0
refused 2 '-max-header-bytes: "100" is too small; give a whole number from 1024' "a head limit under 1024" -- -tls-addr off -max-header-bytes 100
refused 2 '-max-buffered-bytes: "10" is too small; give a whole number from 65536' "an output bound under 64 KiB" -- -tls-addr off -max-buffered-bytes 10
refused 2 '(did you mean -max-buffered-bytes?)' "a misspelt -max-buffered-bytes" -- -tls-addr off -max-bufered-bytes 100000
refused 2 '-threads: empty value; give a whole number' "an empty number" -- -tls-addr off -threads ''
MOCKAPI_THREADS=abc refused 2 'MOCKAPI_THREADS (-threads): "abc" is not a whole number' \
    "a bad environment value is named by its variable" -- -tls-addr off
refused 2 'addr "1.2.3:80": host must be an IP address or localhost' "a malformed -addr" -- -addr 1.2.3:80
refused 2 'tls_addr "127.0.0.1:70000": port must be a number from 0 to 65535' "a port over 65535" -- -tls-addr 127.0.0.1:70000
refused 2 'mockapi: -admin-token: must be 1 to 1024 visible ASCII characters' "an admin token with a space" -- -tls-addr off -admin-token 'a b'
MOCKAPI_ADMIN_TOKEN='a b' refused 2 'mockapi: MOCKAPI_ADMIN_TOKEN (-admin-token): must be 1 to 1024 visible ASCII' \
    "a bad admin token from the environment is named by its variable" -- -tls-addr off
refused 2 '-sessions "requird": must be on, off or required (did you mean "required"?)' "a misspelt -sessions mode" -- -tls-addr off -sessions requird
MOCKAPI_SESSIONS=maybe refused 2 'MOCKAPI_SESSIONS (-sessions) "maybe": must be on, off or required' \
    "a bad -sessions mode from the environment is named by its variable" -- -tls-addr off
refused 2 '-max-sessions: "0" is too small; give a whole number from 1 to 100000' "no sessions allowed at all" -- -tls-addr off -max-sessions 0
refused 2 '-session-journal-bytes: "x" is not a whole number' "a bad -session-journal-bytes" -- -tls-addr off -session-journal-bytes x
refused 2 '-check: empty value; give a URL' "an empty -check" -- -check ''
refused 2 'URL must start with http:// or https://' "a -check URL of another scheme" -- -check ftp://127.0.0.1/
refused 2 '-check-timeout: "-5" is negative' "a negative -check-timeout" -- -check http://127.0.0.1:1/ -check-timeout -5

# 2. start-up errors, all before MOCKAPI_ADDR
# a port taken by a plain socket that is listening (port 0 first, then that port)
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(30)' >"$work/busy" &
holder=$!
deadline=$((SECONDS + 10))
until grep -qE '^[0-9]+$' "$work/busy" 2>/dev/null || [ $SECONDS -ge $deadline ]; do read -r -t 0.02 <> <(:) || true; done
busy=$(head -n1 "$work/busy")
refused 1 "mockapi: cannot listen on 127.0.0.1:$busy (the plain listener): Address already in use" \
    "a taken plain port" -- -addr "127.0.0.1:$busy" -tls-addr off
refused 1 "mockapi: cannot listen on 127.0.0.1:$busy (the TLS listener): Address already in use" \
    "a taken TLS port" -- -addr 127.0.0.1:0 -tls-addr "127.0.0.1:$busy" -tls-ca-out "$work/ca-never.pem"
[ ! -e "$work/ca-never.pem" ]
check "no CA file is left by a start that failed" $?
refused 2 'mockapi: fixtures folder /nonexistent/fx: No such file or directory' "a missing fixtures folder" -- \
    -addr 127.0.0.1:0 -tls-addr off -fixtures /nonexistent/fx
: >"$work/plainfile"
refused 2 "mockapi: fixtures folder $work/plainfile: Not a directory" "a fixtures 'folder' that is a file" -- \
    -addr 127.0.0.1:0 -tls-addr off -fixtures "$work/plainfile"
mkdir -p "$work/fx"
printf '{}' >"$work/fx/hearbeat.json"
refused 2 "mockapi: fixtures folder $work/fx: unknown file \"hearbeat.json\" (did you mean heartbeat.json?); the known names are register.json, heartbeat.json, state.json, metadata.json, key_rotate.json, endpoint.json and artifact.bin" \
    "a misnamed fixture file" -- -addr 127.0.0.1:0 -tls-addr off -fixtures "$work/fx"
rm "$work/fx/hearbeat.json"
printf '{ "reconcile": true }' >"$work/fx/heartbeat.json"
: >"$work/fx/.hidden"
"$bin" -addr 127.0.0.1:0 -tls-addr off -fixtures "$work/fx" >"$work/fxo" 2>/dev/null &
p=$!
addr=$(wait_line "$work/fxo" MOCKAPI_ADDR=) &&
    [ "$(curl_ -X POST "http://$addr/v1/nodes/n/heartbeat" -d '{}')" = '{"reconcile":true,"rotate_keys":false}' ]
check "a folder of known names (and a dot-file) serves its override" $?
kill "$p"; wait "$p" 2>/dev/null
refused 2 "mockapi: -tls-ca-out: cannot write $work/no/such/ca.pem: No such file or directory" \
    "-tls-ca-out into a missing folder" -- -addr 127.0.0.1:0 -tls-addr 127.0.0.1:0 -tls-ca-out "$work/no/such/ca.pem"
refused 2 "mockapi: -tls-ca-out: cannot write $work: Is a directory" \
    "-tls-ca-out onto a folder" -- -addr 127.0.0.1:0 -tls-addr 127.0.0.1:0 -tls-ca-out "$work"
refused 2 "mockapi: signing key file $work: Is a directory" "-signing-key-file naming a folder says so" -- \
    -addr 127.0.0.1:0 -tls-addr off -signing-key-file "$work"
# a CA path whose write fails late (a link to /dev/full): the error names
# errno, and only a regular file is removed afterwards (this unlinked
# /dev/full itself when the path named it and the binary ran as root)
if [ -c /dev/full ]; then
    ln -s /dev/full "$work/full.pem"
    timeout 10 "$bin" -addr 127.0.0.1:0 -tls-addr 127.0.0.1:0 -tls-ca-out "$work/full.pem" >"$work/f.out" 2>"$work/f.err"
    rc=$?
    [ $rc -eq 1 ] && grep -qF "mockapi: -tls-ca-out: cannot write $work/full.pem: No space left on device" "$work/f.err" &&
        [ -L "$work/full.pem" ] && [ -c /dev/full ]
    check "-tls-ca-out on a full device names errno and removes no device (exit 1; got $rc, $(head -n 1 "$work/f.err"))" $?
fi
MOCKAPI_TLS_CA_OUT="$work/no/ca.pem" refused 2 "mockapi: MOCKAPI_TLS_CA_OUT (-tls-ca-out): cannot write" \
    "-tls-ca-out from the environment is named by its variable" -- -addr 127.0.0.1:0 -tls-addr 127.0.0.1:0

# the warning for a listener off loopback without a token comes at once;
# the port is taken on 127.0.0.1, so binding every interface fails and
# nothing is ever exposed by this test
refused 1 'level=WARN msg="the plain listener [::]:'"$busy"' is not bound to loopback and no admin token is set' \
    "a plain listener on every interface without a token is warned about" -- -addr ":$busy" -tls-addr off
refused 1 'level=WARN msg="the TLS listener 0.0.0.0:'"$busy"' is not bound to loopback and no admin token is set: its /test/ routes are off (403)' \
    "a TLS listener on every interface without a token is warned about" -- -addr 127.0.0.1:0 -tls-addr "0.0.0.0:$busy"
timeout 10 "$bin" -addr ":$busy" -tls-addr off -admin-token T >/dev/null 2>"$work/warn"
! grep -q 'level=WARN' "$work/warn"
check "no warning when an admin token is set" $?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null

# 3. the default listeners are on loopback
# /proc/net/tcp{,6}: is hex port $1 listening (state 0A) on local address $2?
listening_on() {
    awk -v p=":$1" -v a="$2" '$4 == "0A" && $2 == a p { f = 1 } END { exit !f }' /proc/net/tcp /proc/net/tcp6
}
"$bin" -tls-addr off >"$work/d1" 2>/dev/null &
p=$!
addr=$(wait_line "$work/d1" MOCKAPI_ADDR=)
port=${addr##*:}
[[ "$addr" == 127.0.0.1:* ]] && listening_on "$(printf %04X "$port")" 0100007F
check "the default plain listener is 127.0.0.1:0 (printed $addr; /proc/net/tcp agrees)" $?
kill "$p"; wait "$p" 2>/dev/null
# the default TLS listener is 127.0.0.1:8443 (a fixed port, as the default
# is): either it starts there, or 8443 is taken and the error names it
"$bin" >"$work/d2" 2>"$work/d2e" &
p=$!
deadline=$((SECONDS + 10))
until grep -q MOCKAPI_TLS_ADDR "$work/d2" 2>/dev/null || ! kill -0 "$p" 2>/dev/null || [ $SECONDS -ge $deadline ]; do
    read -r -t 0.02 <> <(:) || true
done
if grep -q '^MOCKAPI_TLS_ADDR=127.0.0.1:8443$' "$work/d2"; then
    listening_on 20FB 0100007F
    check "the default TLS listener is 127.0.0.1:8443 (/proc/net/tcp agrees)" $?
else
    grep -q 'cannot listen on 127.0.0.1:8443 (the TLS listener)' "$work/d2e"
    check "the default TLS listener is 127.0.0.1:8443 (taken here: the error names it)" $?
fi
kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
# the text is read whole first: grep -q stops reading at its match, and the
# help (longer with every flag) would then die of SIGPIPE under pipefail
help=$("$bin" --help)
grep -q '(default 127.0.0.1:8443)' <<<"$help" && grep -q '(default 127.0.0.1:0)' <<<"$help"
check "--help states the loopback defaults" $?

# 4. the admin token, on both listeners (and from the environment)
MOCKAPI_ADMIN_TOKEN=tok-123 "$bin" -addr 127.0.0.1:0 -tls-addr 127.0.0.1:0 >"$work/a1" 2>"$work/a1e" &
p=$!
addr=$(wait_line "$work/a1" MOCKAPI_ADDR=)
tls=$(wait_line "$work/a1" MOCKAPI_TLS_ADDR=)
code() { curl_ -k -o "$work/body" -D "$work/head" -w '%{http_code}' "$@"; }
[ "$(code "http://$addr/test/assertions")" = 401 ] && grep -qi '^WWW-Authenticate: Bearer realm="mockapi-test"' "$work/head" &&
    grep -q '"error":' "$work/body"
check "plain /test/ without the token: 401, WWW-Authenticate, JSON error" $?
[ "$(code -H 'Authorization: Bearer nope' "http://$addr/test/assertions")" = 401 ]
check "plain /test/ with a wrong token: 401" $?
[ "$(code -H 'Authorization: Bearer tok-123' "http://$addr/test/assertions")" = 200 ]
check "plain /test/ with Authorization: Bearer: 200" $?
[ "$(code -H 'X-Mockapi-Admin-Token: tok-123' -X POST "http://$addr/test/reset")" = 204 ]
check "plain /test/reset with X-Mockapi-Admin-Token: 204" $?
[ "$(code "https://$tls/test/assertions")" = 401 ] && grep -qi '^WWW-Authenticate: Bearer' "$work/head"
check "TLS /test/ without the token: 401" $?
[ "$(code -H 'X-Mockapi-Admin-Token: tok-123' "https://$tls/test/last-request/metrics")" = 404 ] &&
    [ "$(code -H 'Authorization: Bearer tok-123' "https://$tls/test/assertions")" = 200 ]
check "TLS /test/ with the token: served" $?
[ "$(code "http://$addr/v1/ping")" = 200 ] &&
    [ "$(code -X POST -H 'Authorization: Bearer e2e-local-bearer-token' -d '{}' "https://$tls/local/metrics")" = 204 ]
check "the agent's routes need no admin token" $?
curl_ -H 'X-Mockapi-Admin-Token: tok-123' "http://$addr/test/requests?include_test=1" >"$work/journal"
grep -q 'redacted sha256:' "$work/journal" && ! grep -q 'tok-123' "$work/journal" && ! grep -q 'tok-123' "$work/a1e"
check "the token is in neither the journal nor the log" $?
"$bin" -check "https://$tls/test/assertions" 2>/dev/null
[ $? -eq 1 ]
check "-check https on a guarded route: 401, exit 1" $?
kill "$p"; wait "$p" 2>/dev/null

# without a token, a TLS listener on loopback serves /test/
"$bin" -addr 127.0.0.1:0 -tls-addr 127.0.0.1:0 >"$work/a2" 2>/dev/null &
p=$!
addr=$(wait_line "$work/a2" MOCKAPI_ADDR=)
tls=$(wait_line "$work/a2" MOCKAPI_TLS_ADDR=)
[ "$(code "https://$tls/test/assertions")" = 200 ] && [ "$(code "http://$addr/test/assertions")" = 200 ]
check "no token, loopback listeners: /test/ served on both" $?

# 5. -check over https against the binary's own TLS listener
"$bin" -check "https://$tls/test/assertions"
check "-check https://TLS/test/assertions exits 0" $?
"$bin" -check "https://localhost:${tls##*:}/test/assertions"
check "-check https by name (localhost) exits 0" $?
"$bin" -check "https://$tls/no-such" 2>/dev/null
[ $? -eq 1 ]
check "-check https on a 404 exits 1" $?
"$bin" -check "https://$addr/v1/ping" 2>"$work/c4"
[ $? -eq 1 ] && grep -q 'TLS handshake' "$work/c4"
check "-check https against the plain port exits 1 naming the handshake" $?
kill "$p"; wait "$p" 2>/dev/null

# 6. -allow-host: the names a browser may reach the mock by (the live page's
# DNS-rebinding guard); programs are never refused for their Host
refused 2 'mockapi: -allow-host "a b": a host name a browser reaches the mock by' "a bad -allow-host" -- -tls-addr off -allow-host 'a b'
refused 2 'mockapi: -allow-host "": a host name' "an empty -allow-host" -- -tls-addr off -allow-host ''
MOCKAPI_ALLOW_HOST='x_y' refused 2 'mockapi: MOCKAPI_ALLOW_HOST (-allow-host) "x_y": a host name' \
    "a bad -allow-host from the environment is named by its variable" -- -tls-addr off
refused 2 'mockapi: -allow-host given more than 16 times' "seventeen -allow-host" -- -tls-addr off \
    $(for i in $(seq 17); do printf -- '-allow-host h%d ' "$i"; done)
"$bin" -addr 127.0.0.1:0 -tls-addr off -allow-host mock.test -allow-host other.test >"$work/h1" 2>/dev/null &
p=$!
addr=$(wait_line "$work/h1" MOCKAPI_ADDR=)
[ "$(code -X POST -H 'Host: mock.test' -H 'Origin: http://mock.test' "http://$addr/test/reset")" = 204 ] &&
    [ "$(code -H 'Host: other.test:8080' -H 'Sec-Fetch-Site: same-origin' "http://$addr/test/assertions")" = 200 ]
check "-allow-host: a browser by an allowed name is served" $?
[ "$(code -X POST -H 'Host: evil.test' -H 'Origin: http://evil.test' "http://$addr/test/reset")" = 403 ] &&
    grep -q 'a browser reached the mock as \\"evil.test\\"' "$work/body"
check "-allow-host: a browser by another name is refused (403)" $?
[ "$(code -X POST -H 'Host: evil.test' "http://$addr/test/reset")" = 204 ]
check "-allow-host: a program is served by any name" $?
kill "$p"; wait "$p" 2>/dev/null
refused 2 'mockapi: -allow-host "a,,b": a host name' "an empty name in an -allow-host list" -- -tls-addr off -allow-host 'a,,b'
# the variable cannot repeat: several names in one value, separated by ','
MOCKAPI_ALLOW_HOST='mock.test,other.test' "$bin" -addr 127.0.0.1:0 -tls-addr off >"$work/h2" 2>/dev/null &
p=$!
addr=$(wait_line "$work/h2" MOCKAPI_ADDR=)
[ "$(code -H 'Host: other.test' -H 'Sec-Fetch-Site: same-origin' "http://$addr/test/assertions")" = 200 ] &&
    [ "$(code -H 'Host: third.test' -H 'Sec-Fetch-Site: same-origin' "http://$addr/test/assertions")" = 403 ]
check "MOCKAPI_ALLOW_HOST: a list of names separated by ','" $?
kill "$p"; wait "$p" 2>/dev/null

# 7. -profile and -bootstrap-token (the strict profile, issue 17)
refused 2 '-profile "strcit": must be reference or strict (did you mean "strict"?)' "a misspelt -profile" -- \
    -tls-addr off -profile strcit
MOCKAPI_PROFILE=refrence refused 2 'MOCKAPI_PROFILE (-profile) "refrence": must be reference or strict (did you mean "reference"?)' \
    "a bad -profile from the environment is named by its variable" -- -tls-addr off
refused 2 'mockapi: -profile "": must be reference or strict' "an empty -profile" -- -tls-addr off -profile ''
refused 2 'mockapi: -bootstrap-token: a token is 1 to 256 visible ASCII characters' "an empty -bootstrap-token" -- \
    -tls-addr off -bootstrap-token ''
refused 2 'mockapi: -bootstrap-token: a token is 1 to 256 visible ASCII characters' "an empty -bootstrap-token with =" -- \
    -tls-addr off -bootstrap-token=
refused 2 'mockapi: -bootstrap-token: a token is 1 to 256 visible ASCII characters' "an empty token in a -bootstrap-token list" -- \
    -tls-addr off -bootstrap-token 'a,,b'
refused 2 'mockapi: -bootstrap-token: a token is 1 to 256 visible ASCII characters' "a -bootstrap-token with a space" -- \
    -tls-addr off -bootstrap-token 'a b'
MOCKAPI_BOOTSTRAP_TOKEN='' refused 2 'mockapi: MOCKAPI_BOOTSTRAP_TOKEN (-bootstrap-token): a token is 1 to 256' "an empty MOCKAPI_BOOTSTRAP_TOKEN is named by its variable" -- -tls-addr off
refused 2 'mockapi: -bootstrap-token: more than 16 tokens' "seventeen bootstrap tokens" -- -tls-addr off -bootstrap-token "$(seq -s, 17)"
uuid=01890000-0000-7000-8000-000000000001
"$bin" -addr 127.0.0.1:0 -tls-addr off -profile strict -bootstrap-token bt-1 -bootstrap-token bt-2 >"$work/p1" 2>/dev/null &
p=$!
addr=$(wait_line "$work/p1" MOCKAPI_ADDR=)
[ "$(code "http://$addr/v1/nodes/$uuid/reachability")" = 401 ] &&
    grep -qi '^Content-Type: application/problem+json' "$work/head" && grep -q '"code":"unauthorized"' "$work/body"
check "-profile strict: a strict route without a token is a problem+json 401" $?
[ "$(code -X POST "http://$addr/v1/register" -d '{"token":"bt-3","public_key":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=","hostname":"h"}')" = 401 ] &&
    grep -q '"code":"bootstrap_token_invalid"' "$work/body"
check "-bootstrap-token: a token it does not name is refused (401 bootstrap_token_invalid)" $?
[ "$(code -X POST "http://$addr/v1/register" -d '{"token":"bt-2","public_key":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=","hostname":"h"}')" = 200 ] &&
    grep -q '"node_secret_key"' "$work/body"
check "-bootstrap-token: each token it names registers" $?
kill "$p"; wait "$p" 2>/dev/null
MOCKAPI_PROFILE=strict "$bin" -addr 127.0.0.1:0 -tls-addr off >"$work/p2" 2>/dev/null &
p=$!
addr=$(wait_line "$work/p2" MOCKAPI_ADDR=)
[ "$(code "http://$addr/v1/nodes/$uuid/reachability")" = 401 ] &&
    [ "$(code -X POST "http://$addr/v1/register" -d '{"token":"any","public_key":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=","hostname":"h"}')" = 200 ]
check "MOCKAPI_PROFILE=strict, no -bootstrap-token: strict, any bootstrap token registers" $?
kill "$p"; wait "$p" 2>/dev/null
"$bin" -addr 127.0.0.1:0 -tls-addr off -profile reference >"$work/p3" 2>/dev/null &
p=$!
addr=$(wait_line "$work/p3" MOCKAPI_ADDR=)
[ "$(code "http://$addr/v1/nodes/$uuid/reachability")" = 404 ] && [ "$(cat "$work/body")" = '404 page not found' ]
check "-profile reference: a strict route is the reference's 404" $?
kill "$p"; wait "$p" 2>/dev/null

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
