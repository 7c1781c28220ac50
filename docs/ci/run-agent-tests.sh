#!/usr/bin/env bash
# A stand-in for an agent's end-to-end tests, as the workflow in
# docs/ci/github-actions.yml runs them: put your agent's own test command in
# its place. It plays a node agent against every mockapi instance it is given
# and checks what an agent's test would:
#   - each instance answers GET /v1/ping;
#   - it registers, then sends two heartbeats, to each instance;
#   - the instances are isolated: each counted exactly its own calls
#     (GET /test/assertions: registration_count 1, heartbeat_count 2);
#   - with MOCKAPI_CA, each TLS listener's certificate verifies with that one
#     CA file (the TLS handshake; the status of the answer does not matter).
#
# Usage: run-agent-tests.sh        (no arguments; the instances from the environment)
#   MOCKAPI_URL_<k>, MOCKAPI_TLS_URL_<k>  instance k's URLs (as `mockapi run` sets
#                                         them); without any MOCKAPI_URL_<k>,
#                                         MOCKAPI_URL is the only instance
#   MOCKAPI_CA                           the CA file for the TLS listeners
# Needs bash and curl. Exit status: 0 every check passed, 1 a check failed
# (the line saying which starts with FAIL), 2 a usage error or no instance.
set -euo pipefail
usage="usage: run-agent-tests.sh   (instances from MOCKAPI_URL_<k> or MOCKAPI_URL; MOCKAPI_CA optional)"
case "${1:-}" in -h|--help) echo "$usage"; exit 0 ;; esac
[ $# -eq 0 ] || { echo "$usage" >&2; exit 2; }
command -v curl >/dev/null 2>&1 || { echo "run-agent-tests: curl is missing" >&2; exit 2; }

# the instances, by k
keys=()
for v in $(compgen -v MOCKAPI_URL_ || true); do
    k=${v#MOCKAPI_URL_}
    case "$k" in ''|*[!0-9]*) continue ;; esac
    keys+=("$k")
done
if [ "${#keys[@]}" -gt 0 ]; then
    mapfile -t keys < <(printf '%s\n' "${keys[@]}" | sort -n)
elif [ -n "${MOCKAPI_URL:-}" ]; then
    keys=(only)
    # shellcheck disable=SC2034 # read by url_of, through ${!v}
    MOCKAPI_URL_only=$MOCKAPI_URL
else
    echo "run-agent-tests: no instance: set MOCKAPI_URL_<k> or MOCKAPI_URL (mockapi run does)" >&2
    exit 2
fi
url_of() { local v="MOCKAPI_URL_$1"; echo "${!v}"; }
tls_of() { local v="MOCKAPI_TLS_URL_$1"; echo "${!v:-}"; }

failed=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failed=1; }
# req METHOD URL [BODY]: prints the HTTP status (000 when no answer)
req() {
    local args=(-s -o /dev/null -w '%{http_code}' --max-time 10 -X "$1")
    [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    curl "${args[@]}" "$2" || true
}
node="node-mock-001"
register='{"token":"bootstrap-token","public_key":"pk-node-1","hostname":"edge-1","metadata":{},"capabilities":{"builtin_actions":[],"hooks":[]}}'
heartbeat='{"node_id":"node-mock-001","timestamp":"2026-01-02T03:04:05Z","status":"healthy","binary_checksum":"abc","mesh":{"interface":"wg0","peer_count":2,"listen_port":51820}}'

for k in "${keys[@]}"; do
    u=$(url_of "$k")
    s=$(req GET "$u/v1/ping"); [ "$s" = 200 ] && ok "instance $k ($u): GET /v1/ping 200" || fail "instance $k ($u): GET /v1/ping answered $s"
    s=$(req POST "$u/v1/register" "$register")
    case "$s" in 2??) ok "instance $k: registered ($s)" ;; *) fail "instance $k: POST /v1/register answered $s" ;; esac
    for i in 1 2; do
        s=$(req POST "$u/v1/nodes/$node/heartbeat" "$heartbeat")
        case "$s" in 2??) ;; *) fail "instance $k: heartbeat $i answered $s" ;; esac
    done
done

# isolation: each instance saw its own calls only
for k in "${keys[@]}"; do
    u=$(url_of "$k")
    counters=$(curl -s --max-time 10 "$u/test/assertions" || true)
    reg=$(grep -o '"registration_count":[0-9]*' <<<"$counters" | cut -d: -f2 || true)
    hb=$(grep -o '"heartbeat_count":[0-9]*' <<<"$counters" | cut -d: -f2 || true)
    if [ "$reg" = 1 ] && [ "$hb" = 2 ]; then
        ok "instance $k counted its own calls only (registration_count 1, heartbeat_count 2)"
    else
        fail "instance $k: registration_count ${reg:-?}, heartbeat_count ${hb:-?} (want 1 and 2: instances not isolated?)"
    fi
done

# one CA for every TLS listener
if [ -n "${MOCKAPI_CA:-}" ]; then
    for k in "${keys[@]}"; do
        t=$(tls_of "$k")
        [ -n "$t" ] || continue
        # /test/health: the TLS listener's /v1/ routes are 404, and a test
        # route stays out of what the agent's expectations look at
        if err=$(curl -sS -o /dev/null --max-time 10 --cacert "$MOCKAPI_CA" "$t/test/health" 2>&1); then
            ok "instance $k: $t verified with MOCKAPI_CA"
        else
            fail "instance $k: $t does not verify with MOCKAPI_CA ($MOCKAPI_CA): ${err%%$'\n'*}"
        fi
    done
fi

[ "$failed" = 0 ]
