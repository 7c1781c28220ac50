#!/usr/bin/env bash
# Installs what the browser test of the live page (tests/browser) needs:
# Debian's `chromium`, `nodejs` and `npm` (apt, only the missing ones), then
# `playwright-core` from npm into build/browser/node_modules, exactly as
# tests/browser/package-lock.json pins it (`npm ci`).
#
# Why Debian's chromium and playwright-core, not `playwright install`: that
# step downloads a browser build from a host of its own, which is neither
# reproducible nor reachable from every CI; playwright-core only drives the
# browser it is given (executablePath).
#
# The pinned playwright-core (1.61.x) still supports Node 18, which is
# Debian 12's nodejs; Debian 13 ships Node 20. npm is looked for as a command,
# not as a package: a nodejs from elsewhere that bundles npm is kept as it is
# (Debian's npm package would conflict with it).
#
# The lock file names no registry (written with omit-lockfile-registry-resolved,
# tests/browser/.npmrc): npm fetches from whichever registry the machine's npm
# is configured for, and checks each tarball against the lock's integrity hash.
#
# Usage: ci/setup-browser.sh   (run as root or with sudo; idempotent)
# Prints the chromium to use as the last line: BROWSER_CHROMIUM=/path.
# Exits non-zero if anything could not be installed: the browser test is then
# a failure, never a skip.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
src="$top/tests/browser"
dest="$top/build/browser"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# fonts-dejavu-core: a minimal system has no font at all, and the
# screenshots kept as test artefacts would show boxes
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
dpkg-query -W -f='${Status}' fonts-dejavu-core 2>/dev/null | grep -q 'install ok installed' ||
    missing+=(fonts-dejavu-core)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup-browser: installing ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for c in chromium node npm; do
    command -v "$c" >/dev/null 2>&1 || { echo "setup-browser: $c is still missing after apt-get install" >&2; exit 1; }
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || { echo "setup-browser: node $(node --version) is too old: playwright-core needs 18 or later" >&2; exit 1; }

# The lock must stay free of registry addresses (see above)
if grep -q -E '"resolved"|https?://' "$src/package-lock.json"; then
    echo "setup-browser: tests/browser/package-lock.json names a registry or URL; regenerate it in tests/browser with its .npmrc (npm install --package-lock-only)" >&2
    exit 1
fi

want=$(node -p 'require(process.argv[1]).packages["node_modules/playwright-core"].version' "$src/package-lock.json")
have=$(node -p 'try { require(process.argv[1]).version } catch (e) { "" }' "$dest/node_modules/playwright-core/package.json")
if [ "$have" != "$want" ] || ! cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
    echo "setup-browser: npm ci (playwright-core $want) into build/browser" >&2
    rm -rf "$dest"
    mkdir -p "$dest"
    cp "$src/package.json" "$src/package-lock.json" "$src/.npmrc" "$dest/"
    # --ignore-scripts: nothing of the package's runs at install time
    # npm trusts its own copy of the public roots, not the system's store;
    # a machine whose store holds more (a proxy's, a company's root) has
    # them honoured too, unless npm was given a CA file already
    ca=()
    cur=$(npm config get cafile 2>/dev/null || true)
    if { [ -z "$cur" ] || [ "$cur" = null ] || [ "$cur" = undefined ]; } && [ -r /etc/ssl/certs/ca-certificates.crt ]; then
        ca=(--cafile=/etc/ssl/certs/ca-certificates.crt)
    fi
    ( cd "$dest" && npm ci "${ca[@]}" --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null )
    have=$(node -p 'require(process.argv[1]).version' "$dest/node_modules/playwright-core/package.json")
    [ "$have" = "$want" ] || { echo "setup-browser: npm ci gave playwright-core $have, the lock pins $want" >&2; exit 1; }
fi

chromium=$(command -v chromium)
# Debian's /usr/bin/chromium is a shell wrapper that runs the real binary
# with Debian's flags; playwright drives the wrapper as well.
"$chromium" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1 ||
    { echo "setup-browser: $chromium --version fails" >&2; exit 1; }
echo "setup-browser: $("$chromium" --version 2>/dev/null | head -n 1), node $(node --version), playwright-core $have" >&2
echo "BROWSER_CHROMIUM=$chromium"
