#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds release, debug
# (ASan+UBSan) and tsan, then runs every suite. Prints one line per suite
# and a closing "N passed, M failed"; exits non-zero if any suite failed.
# Usage: ci/test.sh            (from anywhere; needs root or sudo for apt)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# The build's packages and the test toolchain first (ci/setup.sh --test: the
# full set; ci/serve.sh installs only its --serve part); then the browser test's (chromium, node,
# playwright-core: a download of minutes on a fresh machine) install in the
# background while the builds compile: apt is free once setup.sh is done,
# and the browser suite runs set-up again (at once when this finished; with
# its message when it failed).
bash ci/setup.sh --test || { echo "set-up failed"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p build
bash ci/setup-browser.sh >build/setup-browser.log 2>&1 &
browser_setup=$!

# tsan builds only what runs under it (integration_tests and what it links)
{ bash ci/build.sh release debug && bash ci/build.sh tsan -- integration_tests; } ||
    { wait "$browser_setup"; echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

logs="$top/build/test-logs"
rm -rf "$logs"
mkdir -p "$logs"
passed=0
failed=0
failed_names=()

# failure_lines LOG: the lines that say what failed (a test's name and
# assertion, a sanitizer's first words), which a leak report printed
# after them would push out of the tail
failure_lines() {
    grep -a -E '^\[  (FAILED|ERROR)  *\]|error: |Failure!|runtime error|ERROR: (Address|Thread|Leak)Sanitizer|WARNING: ThreadSanitizer|^FAIL' "$1" |
        head -n 20 | sed 's/^/    ! /'
}

# verdict NAME RC US: counts and prints one suite's result (US: its time)
verdict() {
    local name=$1 rc=$2 us=$3
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        printf 'ok    %-28s %4d.%01ds\n' "$name" $((us / 1000000)) $((us / 100000 % 10))
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        printf 'FAIL  %-28s (log: build/test-logs/%s.log)\n' "$name" "$name"
        failure_lines "$logs/$name.log"
        tail -n 30 "$logs/$name.log" | sed 's/^/      /'
    fi
}

# run NAME CMD...: runs one suite with its output in build/test-logs/NAME.log
run() {
    local name=$1
    shift
    local start=${EPOCHREALTIME/./} rc=0
    mkdir -p "$(dirname "$logs/$name.log")"
    "$@" >"$logs/$name.log" 2>&1 || rc=$?
    verdict "$name" "$rc" $((${EPOCHREALTIME/./} - start))
}

# together NAME CMD... [--- NAME CMD...]...: runs the suites at the same
# time (each valgrind process runs on one CPU: three of them share two
# CPUs better than one after the other), then reports each as run does
together() {
    local names=() pids=() name cmd=() i
    local start=${EPOCHREALTIME/./}
    while [ $# -gt 0 ]; do
        name=$1
        shift
        cmd=()
        while [ $# -gt 0 ] && [ "$1" != --- ]; do
            cmd+=("$1")
            shift
        done
        [ $# -gt 0 ] && shift
        mkdir -p "$(dirname "$logs/$name.log")"
        ( s=${EPOCHREALTIME/./}; "${cmd[@]}" >"$logs/$name.log" 2>&1; rc=$?
          echo "$(( ${EPOCHREALTIME/./} - s ))" >"$logs/$name.us"; exit $rc ) &
        names+=("$name")
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        name=${names[$i]}
        local rc=0
        wait "${pids[$i]}" || rc=$?
        verdict "$name" "$rc" "$(cat "$logs/$name.us" 2>/dev/null || echo 0)"
        rm -f "$logs/$name.us"
    done
    local us=$((${EPOCHREALTIME/./} - start))
    printf '      (together: %d.%01ds)\n' $((us / 1000000)) $((us / 100000 % 10))
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$top/ci/tsan.supp"

run unit/release            build/release/unit_tests
run unit/asan               build/debug/unit_tests
run integration/release     build/release/integration_tests
run integration/asan        build/debug/integration_tests
run integration/tsan        build/tsan/integration_tests 'conc_*'
run integration/tsan-sse    build/tsan/integration_tests 'sse_*'
run integration/tsan-sf     build/tsan/integration_tests 'sf_*'
run integration/tsan-wait   build/tsan/integration_tests 'api_journal'
run integration/tsan-ka     build/tsan/integration_tests 'ka_*'
run integration/tsan-start  build/tsan/integration_tests 'api_start_async'
run integration/tsan-tls    build/tsan/integration_tests 'tls_*'
run integration/tsan-chain  build/tsan/integration_tests 'chain_*'
run integration/tsan-avail  build/tsan/integration_tests 'avail_*'
run integration/tsan-tr     build/tsan/integration_tests 'tr_*'
run integration/tsan-mem    build/tsan/integration_tests 'mem_*'
run integration/tsan-jr     build/tsan/integration_tests 'jr_*'
run integration/tsan-flt    build/tsan/integration_tests 'flt_*'
run integration/tsan-rg     build/tsan/integration_tests 'rg_*'
run integration/tsan-rul    build/tsan/integration_tests 'rul_*'
run integration/tsan-ses    build/tsan/integration_tests 'ses_*'
run integration/tsan-sat    build/tsan/integration_tests 'sat_*'
run integration/tsan-sp     build/tsan/integration_tests 'sp*'
run integration/tsan-cad    build/tsan/integration_tests 'cad_*'
run integration/tsan-pg     build/tsan/integration_tests 'pg_*'
run smoke/binary            bash tests/smoke.sh build/release/mockapi
run smoke/startup           bash tests/startup.sh build/release/mockapi
run smoke/startup-asan      bash tests/startup.sh build/debug/mockapi
run smoke/regions           bash tests/regions.sh build/release/mockapi
run smoke/ca-dir            bash tests/ca_dir.sh build/debug/mockapi
run smoke/ready             bash tests/ready.sh build/release/mockapi
run smoke/run               bash tests/run.sh build/release/mockapi
run smoke/fd-limit          bash tests/availability.sh build/release/mockapi
run image/oci               bash tests/image.sh build/release/mockapi
run assert/release          bash tests/assert/run.sh build/release/mockapi build/release/mockassert
run assert/asan             bash tests/assert/run.sh build/release/mockapi build/debug/mockassert
run assert/tls              env MA_TRANSPORT=tls bash tests/assert/run.sh build/release/mockapi build/release/mockassert
vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect)
together integration/valgrind-1 env MOCKAPI_IT_SHARD=1/2 MOCKAPI_IT_ROUNDS=1 MOCKAPI_IT_NO_TIMING=1 \
                                "${vg[@]}" build/release/integration_tests --- \
         integration/valgrind-2 env MOCKAPI_IT_SHARD=2/2 MOCKAPI_IT_ROUNDS=1 MOCKAPI_IT_NO_TIMING=1 \
                                "${vg[@]}" build/release/integration_tests --- \
         assert/valgrind        env MA_WRAP="${vg[*]}" \
                                bash tests/assert/run.sh build/release/mockapi build/release/mockassert
run assert/mutate           bash tests/assert/mutate.sh build/release/mockapi build/release/mockassert
wait "$browser_setup" || true # its outcome is the suite's: run.sh runs it again
run browser/page            bash tests/browser/run.sh build/release/mockapi build/release/mockassert
run setup/apt-sources       bash tests/setup_sources.sh
run setup/install           bash tests/install.sh
run setup/ci-example        bash tests/ci_example.sh
run layers/check            bash ci/check_layers.sh
run layers/self-test        bash tests/check_layers_test.sh
run fuzz/all                bash ci/fuzz.sh 10

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
