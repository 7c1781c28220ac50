#!/usr/bin/env bash
# Builds the libFuzzer target for the request framing (tests/fuzz/fuzz_http1.c:
# src/transport/http1.c with civetweb's own head parser) with clang and runs
# it for a bounded time. Not part of ci/test.sh.
#
# Usage: ci/fuzz.sh [SECONDS]      (default 30; FUZZ_JOBS, default 1)
# Output: build/fuzz/fuzz_http1, its corpus in build/fuzz/corpus (kept
# between runs), crash inputs in build/fuzz/ (crash-*, leak-*, timeout-*).
# Installs clang and its runtime (sanitizers, libFuzzer) with apt if missing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
seconds=${1:-30}
case "$seconds" in ''|*[!0-9]*) echo "usage: ci/fuzz.sh [SECONDS]" >&2; exit 2 ;; esac

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# civetweb's source (build/third_party), mbedTLS headers and libraries
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

out=build/fuzz
mkdir -p "$out/obj" "$out/corpus"
civet=build/third_party/civetweb
san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
common=(-std=c11 -g -O1 -D_GNU_SOURCE "${san[@]}")
# the framing and the glue get the project's warnings; civetweb's own code
# is fenced by pragmas inside civetweb_build.c (as in the premake build)
strict=(-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla)
clang "${common[@]}" "${strict[@]}" -fsanitize=fuzzer-no-link \
    -Isrc/transport -Isrc/transport/civet -Isrc/common -c src/transport/http1.c -o "$out/obj/http1.o"
# all of civetweb.c, through the glue: its parser is what the fuzzer
# explores (it links mbedTLS, as in the real build)
clang "${common[@]}" "${strict[@]}" -fsanitize=fuzzer-no-link \
    -DNO_SSL -DUSE_IPV6 -DNO_CGI -DNO_FILES -DNO_CACHING -DNO_NONCE_CHECK \
    -I"$civet/include" -I"$civet/src" -Isrc/transport/civet -Isrc/common \
    -c src/transport/civet/civetweb_build.c -o "$out/obj/civetweb_build.o"
clang "${common[@]}" "${strict[@]}" -fsanitize=fuzzer -Isrc/transport -Isrc/transport/civet \
    tests/fuzz/fuzz_http1.c "$out/obj/http1.o" "$out/obj/civetweb_build.o" \
    -lmbedtls -lmbedx509 -lmbedcrypto -lpthread -o "$out/fuzz_http1"

# Seeds: 4 parameter bytes (see fuzz_http1.c), then a request.
seed() { printf "$2" > "$out/corpus/seed-$1"; }
seed get '\xff\x03\x40\x55GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n'
seed cl '\xff\x03\x40\x13POST /v1/nodes/n1/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'
seed chunked '\xff\x03\x40\x99POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n10\r\n0123456789abcdef\n0\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n'
seed body '\x20\x00\x10\x37a\r\n0123456789\r\n0\r\n\r\n'
seed lf '\xff\x03\x40\x01GET / HTTP/1.1\nHost: x\n\nGET / HTTP/1.1\r\n\r\n'
seed tecl '\xff\x03\x40\xf0POST / HTTP/1.0\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\nConnection: keep-alive\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
# and the seed files in tests/fuzz/corpus/http1 (same format: the strict
# framing's lax and lawful forms, each named for what it tries)
cp tests/fuzz/corpus/http1/* "$out/corpus/"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "fuzz: running fuzz_http1 for ${seconds}s" >&2
cd "$out"
jobs=()
[ "${FUZZ_JOBS:-1}" -gt 1 ] && jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS") # logs in fuzz-N.log
./fuzz_http1 -max_total_time="$seconds" -max_len=8192 -timeout=10 -print_final_stats=1 \
    "${jobs[@]}" corpus
