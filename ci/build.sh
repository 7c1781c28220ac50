#!/usr/bin/env bash
# Builds mockapi: installs dependencies (ci/setup.sh), generates makefiles
# with premake (premake5 if present, else Debian's premake4) and runs make.
# Usage: ci/build.sh [release|debug|tsan ...] [-- make-target ...]
# Default configuration: release. Outputs land in build/<config>/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

configs=()
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --) shift; targets=("$@"); break ;;
        release|debug|tsan) configs+=("$1") ;;
        *) echo "usage: ci/build.sh [release|debug|tsan ...] [-- target ...]" >&2; exit 2 ;;
    esac
    shift
done
[ "${#configs[@]}" -gt 0 ] || configs=(release)

bash ci/setup.sh ${MOCKAPI_SETUP_ARGS:-}

if command -v premake5 >/dev/null 2>&1; then
    premake5 --file=premake5.lua gmake >/dev/null
else
    premake4 --file=premake5.lua gmake >/dev/null
fi

# .incbin'd fixtures (and the page) are invisible to make's dependency tracking: rebuild the
# embedding object whenever a fixture is newer than it.
for c in "${configs[@]}"; do
    obj=$(find "build/obj/$c" -path '*libmockapi*' -name fixtures.o 2>/dev/null | head -n 1 || true)
    if [ -n "$obj" ] && [ -n "$(find fixtures -newer "$obj" -print -quit)" ]; then
        rm -f "$obj"
    fi
    obj=$(find "build/obj/$c" -path '*libmockapi*' -name page.o 2>/dev/null | head -n 1 || true)
    if [ -n "$obj" ] && [ -n "$(find src/page -newer "$obj" -print -quit)" ]; then
        rm -f "$obj"
    fi
    # premake's makefiles archive with "ar -rcs", which keeps the members of
    # source files that were removed since: start each archive afresh
    rm -f "build/$c"/lib*.a
    make -C build -j"$(nproc)" config="$c" "${targets[@]}" >/dev/null
done
