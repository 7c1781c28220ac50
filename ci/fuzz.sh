#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined) and runs each for a bounded time,
# two at a time (FUZZ_PARALLEL), each in bounded memory.
#
# Usage: ci/fuzz.sh [SECONDS] [TARGET...]          (default 30 s, every target)
#        ci/fuzz.sh --long SECONDS [TARGET...]     (see below)
#        ci/fuzz.sh --build [TARGET...]            (build only)
#        ci/fuzz.sh --list
# Targets: http1 gojson router glob gunzip assert_yaml jpath json_body
#   (tests/fuzz/fuzz_<target>.c; seeds in tests/fuzz/corpus/<target>/,
#   a dictionary in tests/fuzz/<target>.dict where there is one).
#
# A normal run starts from the committed seeds only (new inputs go to
# build/fuzz/run/<target>/, emptied first), so every run explores the same
# way. --long keeps a growing corpus outside the repository, in
# build/fuzz-corpus/<target>/ (ci/fuzz-long.sh).
#
# Fails when a target crashes, leaks, times out (-timeout), runs out of
# memory (-rss_limit_mb), or reports no runs at all; the reproducer is in
# build/fuzz/crashes/<target>-crash-<sha1> (or leak-, timeout-, oom-), and
# `build/fuzz/fuzz_<target> THAT_FILE` replays it. Logs: build/fuzz/logs/.
# Installs clang and its runtime (sanitizers, libFuzzer) with apt if missing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

all_targets=(http1 gojson router glob gunzip assert_yaml jpath json_body fault session_body fault_body strict_body)
usage="usage: ci/fuzz.sh [SECONDS | --long SECONDS | --build | --list] [TARGET...]"
mode=short
seconds=30
case "${1:-}" in
    --long) mode=long; seconds=${2:-}; shift 2 || { echo "$usage" >&2; exit 2; } ;;
    --build) mode=build; shift ;;
    --list) printf '%s\n' "${all_targets[@]}"; exit 0 ;;
    ''|*[!0-9]*) ;;
    *) seconds=$1; shift ;;
esac
case "$seconds" in ''|*[!0-9]*|0) echo "$usage" >&2; exit 2 ;; esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    case " ${all_targets[*]} " in *" $t "*) ;; *) echo "fuzz: no target '$t' (--list)" >&2; exit 2 ;; esac
done

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# civetweb's source (build/third_party), and the libraries the targets link
bash ci/setup.sh

command -v clang >/dev/null 2>&1 || apt_install clang
# libFuzzer and the sanitizer runtimes come in a package of their own
# (libclang-rt-N-dev on Debian 12, N = clang's major version)
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' > "$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>/dev/null; then
    major=$(clang -dumpversion | cut -d. -f1)
    if apt-cache show "libclang-rt-$major-dev" >/dev/null 2>&1; then
        apt_install "libclang-rt-$major-dev"
    else
        apt_install libclang-rt-dev
    fi
    clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p"
fi

# ---- build ----------------------------------------------------------------
out=build/fuzz
obj=$out/obj
mkdir -p "$obj"
civet=build/third_party/civetweb
san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
common=(-std=c11 -g -O1 -D_GNU_SOURCE "${san[@]}")
# our code gets the project's warnings; civetweb's own is fenced by pragmas
# inside civetweb_build.c (as in the premake build)
strict=(-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla)
incs=(-Iinclude -Isrc/common -Isrc/core -Isrc/transport -Isrc/transport/civet -Iassert
      $(pkg-config --cflags jansson libfyaml zlib))

# compile SRC: an instrumented object under build/fuzz/obj (rebuilt when
# the source or any header is newer); prints the object's path
compile() {
    local src=$1 o=$obj/$(echo "$1" | tr / _).o
    shift
    if [ ! -f "$o" ] || [ -n "$(find "$(dirname "$src")" include src/common src/core src/transport assert \
            tests/fuzz -newer "$o" -name '*.[ch]' -print -quit 2>/dev/null)" ]; then
        clang "${common[@]}" "${strict[@]}" -fsanitize=fuzzer-no-link "${incs[@]}" "$@" -c "$src" -o "$o"
    fi
    echo "$o"
}

# What each target links besides its harness.
sources_of() {
    case "$1" in
        http1) echo src/transport/http1.c src/transport/civet/civetweb_build.c ;;
        gojson) echo src/common/gojson.c src/common/gotype.c src/common/buf.c ;;
        router) echo src/core/router.c src/common/gotype.c src/common/gojson.c src/common/buf.c src/common/suggest.c ;;
        glob) echo src/common/glob.c ;;
        fault) echo src/core/fault.c src/common/suggest.c ;;
        fault_body) echo src/core/faults_body.c src/core/members.c src/common/gojson.c src/common/buf.c src/common/suggest.c ;;
        session_body) echo src/core/session_body.c src/core/members.c src/common/gojson.c src/common/buf.c src/common/suggest.c ;;
        gunzip) echo src/common/gzip.c src/common/buf.c ;;
        strict_body) echo src/core/strict_body.c src/common/suggest.c src/common/gojson.c src/common/buf.c ;;
        assert_yaml) echo assert/spec.c assert/yaml.c assert/match.c assert/jpath.c assert/util.c \
                          assert/number.c assert/subject.c assert/group.c src/common/gojson.c src/common/buf.c \
                          src/common/glob.c src/core/fault.c src/common/suggest.c assert/session_id.c ;;
        jpath) echo assert/jpath.c assert/util.c assert/number.c src/common/gojson.c src/common/buf.c ;;
        json_body) echo assert/match.c assert/number.c assert/jpath.c assert/util.c assert/subject.c \
                        src/common/gojson.c src/common/buf.c src/core/fault.c src/common/suggest.c ;;
    esac
}
libs_of() {
    case "$1" in
        http1) echo -lpthread ;;
        gunzip) pkg-config --libs zlib ;;
        assert_yaml) pkg-config --libs jansson libfyaml libsodium libcurl ;; # subject.c: fingerprints, unescape
        jpath) pkg-config --libs jansson ;;
        json_body) pkg-config --libs jansson libsodium libcurl ;;
        strict_body) pkg-config --libs jansson libsodium ;;
    esac
}

build() {
    local t=$1 objs=() s
    for s in $(sources_of "$t"); do
        if [ "$s" = src/transport/civet/civetweb_build.c ]; then
            objs+=("$(compile "$s" -I"$civet/include" -I"$civet/src" \
                -DNO_SSL -DUSE_IPV6 -DNO_CGI -DNO_FILES -DNO_CACHING -DNO_NONCE_CHECK)")
        else
            objs+=("$(compile "$s")")
        fi
    done
    # shellcheck disable=SC2046
    clang "${common[@]}" "${strict[@]}" -fsanitize=fuzzer "${incs[@]}" "tests/fuzz/fuzz_$t.c" \
        "${objs[@]}" $(libs_of "$t") -o "$out/fuzz_$t"
}

for t in "${targets[@]}"; do
    build "$t"
done
echo "fuzz: built ${targets[*]} in $out/" >&2
[ "$mode" != build ] || exit 0

# ---- run ------------------------------------------------------------------
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS="suppressions=$top/tests/fuzz/lsan.supp:print_suppressions=0"
mkdir -p "$out/logs" "$out/crashes"

max_len_of() { case "$1" in http1) echo 8192 ;; *) echo 4096 ;; esac; }

# run_one TARGET: fuzzes it for $seconds; writes its verdict to logs/TARGET.rc
run_one() {
    local t=$1 log=$out/logs/$1.log work seeds=tests/fuzz/corpus/$1 extra=()
    if [ "$mode" = long ]; then
        work=build/fuzz-corpus/$t
        mkdir -p "$work"
    else
        work=$out/run/$t
        rm -rf "$work"
        mkdir -p "$work"
    fi
    [ -f "tests/fuzz/$t.dict" ] && extra+=(-dict="tests/fuzz/$t.dict")
    local rc=0
    "$out/fuzz_$t" -max_total_time="$seconds" -max_len="$(max_len_of "$t")" -timeout=10 \
        -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" \
        "${extra[@]}" "$work" "$seeds" >"$log" 2>&1 || rc=$?
    echo "$rc" > "$out/logs/$t.rc"
}

# report TARGET: one line per target; 0 only for a clean run that ran
report() {
    local t=$1 log=$out/logs/$1.log rc runs secs cov corp
    rc=$(cat "$out/logs/$t.rc" 2>/dev/null || echo 99)
    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    corp=$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    local artifact
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    if [ "$rc" = 0 ] && [ -n "$artifact" ]; then rc=98; fi
    if [ "$rc" = 0 ] && [ "${runs:-0}" -gt 0 ]; then
        printf 'fuzz: %-12s ok: %s runs in %s s (%s/s), coverage %s, corpus %s\n' "$t" "$runs" \
            "${secs:-?}" "$((runs / (${secs:-0} > 0 ? secs : 1)))" "${cov:-?}" "${corp:-?}"
        return 0
    fi
    echo "fuzz: $t FAILED (exit $rc, ${runs:-no} runs; log: $log)"
    if [ -n "$artifact" ]; then
        echo "fuzz: $t reproducer: $artifact"
        echo "fuzz: $t replay with: LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp $out/fuzz_$t $artifact"
    fi
    grep -E -m 12 'ERROR: |check failed|SUMMARY|runtime error|==[0-9]+==' "$log" | sed "s/^/fuzz: $t: /" || true
    [ "${runs:-0}" -gt 0 ] || echo "fuzz: $t: libFuzzer reported no runs"
    return 1
}

parallel=${FUZZ_PARALLEL:-2}
echo "fuzz: running ${targets[*]} for ${seconds}s each, $parallel at a time" >&2
pids=()
for t in "${targets[@]}"; do
    rm -f "$out/logs/$t.rc"
    while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
    run_one "$t" 2>/dev/null &  # the log has it all; not the shell's "Aborted"
    pids+=($!)
done
wait "${pids[@]}" || true

failed=0
for t in "${targets[@]}"; do
    report "$t" || failed=1
done
exit "$failed"
