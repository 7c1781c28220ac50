#!/usr/bin/env bash
# The live page in a real headless browser (Debian's chromium driven by
# playwright-core): installs what is missing (ci/setup-browser.sh), then runs
# page.test.mjs against the given binaries. Screenshots and the servers' logs
# land in build/test-logs/browser/. A browser that cannot be installed or
# started is a failure, never a skip.
# Usage: tests/browser/run.sh MOCKAPI MOCKASSERT
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: tests/browser/run.sh MOCKAPI MOCKASSERT" >&2; exit 2; }
top=$(cd "$(dirname "$0")/../.." && pwd)
mockapi=$(realpath "$1")
mockassert=$(realpath "$2")
for b in "$mockapi" "$mockassert"; do
    [ -x "$b" ] || { echo "FAIL  $b is not an executable"; echo "0 passed, 1 failed"; exit 1; }
done

start=${EPOCHREALTIME/./}
if ! out=$(bash "$top/ci/setup-browser.sh"); then
    echo "FAIL  ci/setup-browser.sh could not install the browser, node or playwright-core (see above)"
    echo "0 passed, 1 failed"
    exit 1
fi
chromium=$(sed -n 's/^BROWSER_CHROMIUM=//p' <<<"$out" | tail -n 1)
echo "      set-up: $(( (${EPOCHREALTIME/./} - start) / 1000 )) ms"

artefacts="$top/build/test-logs/browser"
mkdir -p "$artefacts"
rm -f "$artefacts"/check-*.png
# the test bounds itself (80 s); this is the backstop should node hang
timeout -k 5 90 node "$top/tests/browser/page.test.mjs" \
    --mockapi "$mockapi" --mockassert "$mockassert" --chromium "$chromium" \
    --modules "$top/build/browser/node_modules" --artefacts "$artefacts"
rc=$?
[ "$rc" -eq 124 ] && { echo "FAIL  page.test.mjs did not end within 90 s"; echo "0 passed, 1 failed"; }
exit "$rc"
