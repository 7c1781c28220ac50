#!/usr/bin/env bash
# assert_bench.sh: how long mockassert takes to evaluate 1,000 expectations
# against a local server (target, issue 4: under 200 ms in total).
# Usage: bench/assert_bench.sh MOCKAPI MOCKASSERT
# Seeds a server with an agent-like session (register, 200 heartbeats, 100
# metrics batches), writes 1,000 mixed expectations (counters, captured
# bodies at JSON paths, journal filters with each/any, order), and times
# 7 runs of mockassert; prints the median and a verdict.
set -euo pipefail
mk=${1:?usage: assert_bench.sh MOCKAPI MOCKASSERT}
ma=${2:?usage: assert_bench.sh MOCKAPI MOCKASSERT}
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

mkfifo "$work/out"
"$mk" -addr 127.0.0.1:0 -tls-addr off >"$work/out" 2>/dev/null &
pid=$!
exec 3<"$work/out"
IFS= read -r -t 10 line <&3 || { echo "assert_bench: mockapi did not start" >&2; exit 1; }
addr=${line#MOCKAPI_ADDR=}
url="http://$addr"

c() { curl --noproxy '*' -sS -o /dev/null "$@"; }
c -X POST "$url/v1/register" -d '{"hostname":"node-a","public_key":"pk"}'
hb='{"node_id":"node-a","status":"healthy","uptime":"1h","mesh":{"interface":"wg0","peer_count":2,"listen_port":51820}}'
metrics='[{"timestamp":"2025-01-01T00:00:00Z","group":"cpu","data":{"load":0.5}}]'
# one curl process per kind, many requests each (curl reuses the connection)
args=()
for i in $(seq 200); do args+=(-X POST "$url/v1/nodes/node-a/heartbeat" -d "$hb" -o /dev/null --next); done
curl --noproxy '*' -sS "${args[@]}" "$url/v1/ping" -o /dev/null
args=()
for i in $(seq 100); do args+=(-X POST "$url/v1/nodes/node-a/metrics" -d "$metrics" -o /dev/null --next); done
curl --noproxy '*' -sS "${args[@]}" "$url/v1/ping" -o /dev/null

{
    echo "expectations:"
    for i in $(seq 0 999); do
        case $((i % 5)) in
        0) printf '  - {counter: heartbeat_count, atLeast: 200}\n' ;;
        1) printf '  - lastRequest: heartbeat\n    json:\n      - {path: $.mesh.peer_count, greaterThan: 0}\n      - {path: $.status, in: [healthy, degraded]}\n' ;;
        2) printf '  - requests: {method: POST, path: "/v1/nodes/*/metrics"}\n    count: {atLeast: 100}\n    each: {path: "$[0].group", equals: cpu}\n' ;;
        3) printf '  - requests: {route: heartbeat}\n    any: {path: $.uptime, startsWith: "1"}\n' ;;
        4) printf '  - order: [register, heartbeat, metrics]\n' ;;
        esac
    done
} >"$work/e.yaml"

times=()
for run in 1 2 3 4 5 6 7; do
    t0=${EPOCHREALTIME/./}
    if ! NO_COLOR=1 "$ma" --server "$addr" "$work/e.yaml" >"$work/result" 2>&1; then
        echo "assert_bench: mockassert failed:" >&2
        tail -n 5 "$work/result" >&2
        exit 1
    fi
    times+=($(((${EPOCHREALTIME/./} - t0) / 1000)))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 4p)
echo "  mockassert, 1,000 expectations, 301-request journal: runs ${times[*]} ms; median ${median} ms"
echo "  last line of its report: $(tail -n 1 "$work/result")"
if [ "$median" -lt 200 ]; then v="target met"; else v="target MISSED"; fi
echo "1,000 expectations evaluated in ${median} ms (target < 200 ms): $v"
