#!/usr/bin/env bash
# assert_bench.sh: how long mockassert takes to evaluate 1,000 expectations,
# and how much memory it needs, in two settings.
# Usage: bench/assert_bench.sh MOCKAPI MOCKASSERT
#
# 1. (issue 4) A small session: one server seeded with an agent-like session
#    (register, 200 heartbeats, 100 metrics batches), 1,000 mixed
#    expectations (counters, captured bodies at JSON paths, journal filters
#    with each/any, order); 7 runs; target: median under 200 ms.
# 2. (issue 13) A fleet: a server whose journal holds 100,000 entries
#    (-journal-entries / -journal-bytes large enough), filled by
#    journal_fill.c with 100 nodes (each: register, state GET, then 698
#    heartbeats with the realistic heartbeat body, varying, and 300 metrics
#    batches, interleaved across nodes), and 1,000 distinct expectations over
#    them: counters, lastRequest with JSON paths, requests with per-node path
#    globs and routes with count, each, any and none over bodies, a few over
#    every heartbeat, order, interval. Every expectation holds (mockassert
#    must exit 0). BENCH_ASSERT_RUNS (5) runs, each under peak_rss.c (wall
#    time from fork to reaped exit, and the child's peak RSS) and timeout(1)
#    (120 s); target: median
#    under 1 s and peak RSS under 64 MB (64,000,000 bytes, the stricter
#    reading), the server already filled.
# BENCH_ASSERT_PARTS ("small fleet") picks the parts.
set -euo pipefail
mk=${1:?usage: assert_bench.sh MOCKAPI MOCKASSERT}
ma=${2:?usage: assert_bench.sh MOCKAPI MOCKASSERT}
parts=${BENCH_ASSERT_PARTS:-small fleet}
runs=${BENCH_ASSERT_RUNS:-5}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# start_server NAME ARGS...: starts mockapi, sets addr (host:port)
start_server() {
    local name=$1 line
    shift
    mkfifo "$work/$name.out"
    "$mk" -addr 127.0.0.1:0 -tls-addr off "$@" >"$work/$name.out" 2>/dev/null &
    pids+=($!)
    exec {fd}<"$work/$name.out"
    IFS= read -r -t 10 line <&"$fd" || { echo "assert_bench: mockapi did not start" >&2; exit 1; }
    addr=${line#MOCKAPI_ADDR=}
}

median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

# ---- 1: 1,000 expectations, 301-entry journal --------------------------------
small() {
    start_server small
    local url="http://$addr"
    c() { curl --noproxy '*' -sS -o /dev/null "$@"; }
    c -X POST "$url/v1/register" -d '{"hostname":"node-a","public_key":"pk"}'
    local hb='{"node_id":"node-a","status":"healthy","uptime":"1h","mesh":{"interface":"wg0","peer_count":2,"listen_port":51820}}'
    local metrics='[{"timestamp":"2025-01-01T00:00:00Z","group":"cpu","data":{"load":0.5}}]'
    # one curl process per kind, many requests each (curl reuses the connection)
    local args=() i
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

    local times=() rss=() run
    for run in 1 2 3 4 5 6 7; do
        if ! NO_COLOR=1 "$work/peak_rss" "$work/stat" "$ma" --server "$addr" "$work/e.yaml" >"$work/result" 2>&1; then
            echo "assert_bench: mockassert failed:" >&2
            tail -n 5 "$work/result" >&2
            exit 1
        fi
        read -r us kb <"$work/stat"
        times+=($((us / 1000)))
        rss+=("$kb")
    done
    local med
    med=$(median "${times[@]}")
    echo "  mockassert, 1,000 expectations, 301-request journal: runs ${times[*]} ms; median ${med} ms; peak RSS $(median "${rss[@]}") KiB (median)"
    echo "  last line of its report: $(tail -n 1 "$work/result")"
    if [ "$med" -lt 200 ]; then v="target met"; else v="target MISSED"; fi
    echo "1,000 expectations evaluated in ${med} ms (target < 200 ms): $v"
}

# ---- 2: 1,000 expectations, 100,000-entry journal -------------------------------
# The expectations: ten kinds, each node gets one of each (i % 10), all distinct.
fleet_expectations() {
    local nodes=$1 hb=$2 mt=$3 i n node peer
    echo "expectations:"
    for i in $(seq 0 999); do
        n=$(((i / 10) % nodes))
        printf -v node 'node-%03d' "$n"
        printf -v peer 'peer-%03d' $(((n + 1) % 100))
        case $((i % 10)) in
        0)
            if ((n % 2)); then
                printf '  - {counter: heartbeat_count, atLeast: %d}\n' $((hb * nodes - n))
            else
                printf '  - {counter: metrics_count, between: [%d, %d]}\n' $((mt * nodes - n)) $((mt * nodes + n))
            fi
            ;;
        1) printf '  - lastRequest: heartbeat\n    json:\n      - {path: $.mesh.peer_count, between: [1, 5]}\n      - {path: $.status, in: [healthy, degraded]}\n      - {path: $.nat.public_endpoint, endsWith: ":51820"}\n      - {path: $.bridge.active_routes, atMost: %d}\n' $((2 + n)) ;;
        2) printf '  - requests: {method: POST, path: /v1/nodes/%s/heartbeat}\n    count: %d\n    each: {path: $.node_id, equals: %s}\n' "$node" "$hb" "$node" ;;
        3) printf '  - requests: {route: metrics, path: "/v1/nodes/%s/*"}\n    count: {atLeast: %d}\n    any: {path: "$[2].peer_id", equals: %s}\n' "$node" "$mt" "$peer" ;;
        4) printf '  - requests: {path: /v1/nodes/%s/heartbeat}\n    none: {path: $.mesh.peer_count, greaterThan: 5}\n' "$node" ;;
        5) printf '  - requests: {path: "/v1/nodes/%s/**"}\n    count: %d\n' "$node" $((hb + mt + 1)) ;;
        6) printf '  - order: [register, {method: GET, path: /v1/nodes/%s/state}, {path: /v1/nodes/%s/heartbeat}, {path: /v1/nodes/%s/metrics}]\n' "$node" "$node" "$node" ;;
        7) printf '  - interval: {path: /v1/nodes/%s/heartbeat, count: {atLeast: %d}, every: 1s, tolerance: 1s}\n' "$node" $((hb - n)) ;;
        8) printf '  - requests: {route: heartbeat, status: 200, path: /v1/nodes/%s/heartbeat}\n    any: {path: $.status, equals: degraded}\n' "$node" ;;
        9)
            if ((n % 10 == 9)); then # one in ten nodes: a check over every heartbeat
                printf '  - requests: heartbeat\n    count: {atLeast: %d}\n    none: {path: $.node_id, equals: %s-gone}\n' $((hb * nodes)) "$node"
            else
                printf '  - requests: {method: GET, path: /v1/nodes/%s/state}\n    count: 1\n' "$node"
            fi
            ;;
        esac
    done
}

fleet() {
    local nodes=100 posts=998 hb=698 mt=300
    # ~1.3 KB of journal per entry (the heartbeat body is 0.7 KB): room for
    # the 100,000 and for mockassert's own requests, which are journaled too
    start_server fleet -journal-entries 150000 -journal-bytes 1000000000
    local fill
    fill=$("$work/journal_fill" "${addr##*:}" "$nodes" "$posts") || { echo "assert_bench: journal_fill failed" >&2; exit 1; }
    local total=$((nodes * (posts + 2)))
    echo "  journal: $total entries from $nodes nodes (journal_fill: $fill)"
    fleet_expectations "$nodes" "$hb" "$mt" >"$work/f.yaml"
    local times=() rss=() run us kb
    for run in $(seq "$runs"); do
        # bounded: a run that takes more than two minutes is ended (and fails)
        if ! NO_COLOR=1 "$work/peak_rss" "$work/stat" timeout 120 "$ma" --server "$addr" "$work/f.yaml" >"$work/fresult" 2>&1; then
            echo "assert_bench: mockassert failed on the fleet journal:" >&2
            grep -v '^PASS' "$work/fresult" | head -n 20 >&2
            exit 1
        fi
        read -r us kb <"$work/stat"
        times+=($((us / 1000)))
        rss+=("$kb")
    done
    local med_ms med_kb
    med_ms=$(median "${times[@]}")
    med_kb=$(median "${rss[@]}")
    echo "  mockassert, 1,000 expectations, $total-entry journal: runs ${times[*]} ms; median ${med_ms} ms"
    echo "  peak RSS per run: ${rss[*]} KiB; median ${med_kb} KiB"
    echo "  last line of its report: $(tail -n 1 "$work/fresult")"
    local vt vm
    if [ "$med_ms" -lt 1000 ]; then vt="target met"; else vt="target MISSED"; fi
    if [ "$med_kb" -lt 62500 ]; then vm="target met"; else vm="target MISSED"; fi
    echo "1,000 expectations against 100,000 entries in ${med_ms} ms (target < 1000 ms): $vt"
    echo "1,000 expectations against 100,000 entries: peak RSS ${med_kb} KiB (target < 62500 KiB, 64 MB): $vm"
}

for p in peak_rss journal_fill; do
    gcc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -I"$here" -o "$work/$p" "$here/$p.c" ||
        { echo "assert_bench: cannot compile bench/$p.c" >&2; exit 1; }
done
for part in $parts; do
    case $part in
    small) small ;;
    fleet) fleet ;;
    *) echo "assert_bench: unknown part '$part' in BENCH_ASSERT_PARTS (small fleet)" >&2; exit 1 ;;
    esac
done
