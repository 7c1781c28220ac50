#!/usr/bin/env bash
# Installs every Debian package mockapi needs and fetches civetweb's source
# from Debian's own `civetweb` source package into build/third_party/.
#
# Why the source and not libcivetweb-dev: Debian's binary library is built
# against the OpenSSL 1.1 API, crashes on the first HTTPS connection under
# OpenSSL 3 and has IPv6 off. We compile civetweb.c ourselves with mbedTLS.
#
# The deb-src list is derived from the machine's own apt configuration (both
# the one-line sources.list format and deb822 .sources files) and used through
# private Dir::Etc / Dir::State paths, so the system's apt setup is untouched
# and no package-server host name is ever written into this repository.
#
# Usage: ci/setup.sh [--bench]       (run as root; idempotent)
#        ci/setup.sh --print-sources  (print the derived deb-src list; no changes)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
want_bench=0
print_sources=0
case "${1:-}" in
    --bench) want_bench=1 ;;
    --print-sources) print_sources=1 ;;
    "") ;;
    *) echo "usage: ci/setup.sh [--bench | --print-sources]" >&2; exit 2 ;;
esac

pkgs=(build-essential pkg-config premake4 dpkg-dev
      libmbedtls-dev libsodium-dev libjansson-dev libfyaml-dev zlib1g-dev
      libcmocka-dev libcurl4-openssl-dev curl ca-certificates valgrind python3)
[ "$want_bench" = 1 ] && pkgs+=(wrk nginx)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
[ "$print_sources" = 1 ] && pkgs=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

dest="$top/build/third_party"
if [ "$print_sources" = 0 ] && [ -f "$dest/civetweb/src/civetweb.c" ] && [ -f "$dest/civetweb/include/civetweb.h" ]; then
    exit 0
fi

work="$top/build/apt-src"
rm -rf "$work"
mkdir -p "$work/lists/partial" "$work/parts" "$work/dl"
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || { echo "setup: cannot tell the Debian codename from /etc/os-release" >&2; exit 1; }

# Keep only suites of this Debian release (codename, codename-updates,
# codename-security, ...); third-party repositories publish no sources.
suite_ok() { case "$1" in "$codename"|"$codename"-*) return 0;; *) return 1;; esac; }

# MOCKAPI_APT_ETC lets tests point the derivation at another apt directory.
etc=${MOCKAPI_APT_ETC:-/etc/apt}
list="$work/sources.list"
: > "$list"
# One-line format: "deb [opts] URI suite comp..."
for f in "$etc/sources.list" "$etc"/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    while read -r type rest; do
        [ "$type" = deb ] || continue
        opts=""
        if [ "${rest:0:1}" = "[" ]; then opts="${rest%%]*}]"; rest="${rest#*]}"; fi
        read -r uri suite comps <<<"$rest"
        suite_ok "$suite" && echo "deb-src $opts $uri $suite $comps" >> "$list"
    done < <(sed -e 's/#.*//' "$f")
done
# deb822 format: stanzas separated by blank lines.
for f in "$etc"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v RS= '{print; print "\x1e"}' "$f" | awk -v RS='\x1e' '
        {
            types=""; uris=""; suites=""; comps=""; signed="";
            n = split($0, L, "\n")
            for (i = 1; i <= n; i++) {
                line = L[i]; sub(/#.*/, "", line)
                if (match(line, /^[A-Za-z-]+:/)) {
                    k = tolower(substr(line, 1, RLENGTH - 1)); v = substr(line, RLENGTH + 1)
                    gsub(/^[ \t]+|[ \t]+$/, "", v)
                    if (k == "types") types = v; else if (k == "uris") uris = v;
                    else if (k == "suites") suites = v; else if (k == "components") comps = v;
                    else if (k == "signed-by") signed = v;
                    else if (k == "enabled" && tolower(v) == "no") types = "";
                }
            }
            if (types !~ /(^| )deb( |$)/) next
            nu = split(uris, U, " "); ns = split(suites, S, " ")
            for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++)
                printf "%s\t%s\t%s\t%s\n", U[a], S[b], comps, signed
        }'
done | while IFS=$'\t' read -r uri suite comps signed; do
    suite_ok "$suite" || continue
    opts=""
    [ -n "$signed" ] && [ -f "$signed" ] && opts="[signed-by=$signed]"
    echo "deb-src $opts $uri $suite $comps" >> "$list"
done

[ -s "$list" ] || { echo "setup: found no Debian '$codename' apt source to derive deb-src from" >&2; exit 1; }
if [ "$print_sources" = 1 ]; then
    cat "$list"
    rm -rf "$work"
    exit 0
fi

aptopts=(-o "Dir::Etc::SourceList=$list" -o "Dir::Etc::SourceParts=$work/parts"
         -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::archives=$work/dl" -q)
echo "setup: fetching the civetweb source package" >&2
apt-get "${aptopts[@]}" update >/dev/null
( cd "$work" && apt-get "${aptopts[@]}" source civetweb >/dev/null 2>"$work/source.log" ) || {
    cat "$work/source.log" >&2; exit 1; }

srcdir=$(find "$work" -maxdepth 1 -type d -name 'civetweb-*' | head -n 1)
[ -n "$srcdir" ] && [ -f "$srcdir/src/civetweb.c" ] || { echo "setup: civetweb source not found after apt-get source" >&2; exit 1; }
mkdir -p "$dest"
rm -rf "$dest/civetweb"
mv "$srcdir" "$dest/civetweb"
rm -rf "$work"
echo "setup: civetweb source ready in build/third_party/civetweb" >&2
