#!/usr/bin/env bash
# Installs the Debian packages mockapi needs and puts civetweb's source into
# build/third_party/civetweb: by default from Debian's own `civetweb` source
# package, or from a tree the user gives (--civetweb-src).
#
# Two package sets (--print-packages lists them):
#   serve (--serve; what ci/serve.sh uses): building and running the release
#        mockapi and mockassert: the compiler, premake4, pkg-config, dpkg-dev
#        (apt-get source unpacks civetweb with it), the libraries' -dev
#        packages (mbedTLS, libsodium, jansson, libfyaml, zlib, libcurl) and
#        ca-certificates.
#   test (the default, or --test; what ci/test.sh and ci/build.sh use): the
#        serve set plus the test toolchain: cmocka (unit and integration
#        tests), valgrind, curl, python3 and openssl (the shell suites'
#        clients), clang (ci/fuzz.sh's libFuzzer targets; fuzz.sh adds the
#        sanitizer runtime package itself) and man-db (tests/install.sh
#        renders the man pages). The browser test's packages are
#        ci/setup-browser.sh's, podman is ci/image.sh's: both install their
#        own, only when their suites run.
#
# Why the source and not libcivetweb-dev: the request parser mockapi uses is
# internal to civetweb.c (static functions), so civetweb.c is compiled into
# the project (src/transport/civet/civetweb_build.c).
#
# The deb-src list is derived from the machine's own apt configuration (both
# the one-line sources.list format and deb822 .sources files) and used through
# private Dir::Etc / Dir::State paths, so the system's apt setup is untouched
# and no package-server host name is ever written into this repository.
#
# The package names are the same on Debian 12 and 13 (checked with apt-cache
# in a trixie root) and on Ubuntu 24.04, where some, premake4 among them, are
# in "universe". civetweb 1.15 (Debian 12) and 1.16 (Debian 13, Ubuntu 24.04)
# are supported; src/transport/civet/civet_version.h refuses others at compile
# time too.
#
# Usage: ci/setup.sh [--serve|--test] [--bench] [--civetweb-src DIR]
#                                   (run as root or with sudo; idempotent)
#        ci/setup.sh --print-sources  (print the derived deb-src list; no changes)
#        ci/setup.sh [--serve|--test] [--bench] --print-packages
#                                   (print the package set, one a line; no changes)
#   --serve / --test: the package set (above); the last one given wins.
#   --bench: also wrk and nginx (bench/run.sh).
#   --civetweb-src DIR (or MOCKAPI_CIVETWEB_SRC=DIR): copy this civetweb tree
#        (an unpacked upstream release or Debian source package) instead of
#        fetching one: for machines whose apt has no source packages.
#        Copied again whenever it differs from what build/third_party holds.
# Test hooks: MOCKAPI_APT_ETC (apt directory to derive deb-src from),
# MOCKAPI_THIRD_PARTY_DIR (instead of build/third_party), MOCKAPI_SETUP_PACKAGES=0
# (check and install no packages).
# Exit status: 0 done, 1 a package or the civetweb source could not be had,
# 2 a usage error.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: ci/setup.sh [--serve|--test] [--bench] [--civetweb-src DIR] | --print-sources | [--serve|--test] [--bench] --print-packages"
want_bench=0
print_sources=0
print_packages=0
set_name="test"
civet_src=${MOCKAPI_CIVETWEB_SRC:-}
while [ $# -gt 0 ]; do
    case "$1" in
        --serve) set_name=serve ;;
        --test) set_name="test" ;;
        --bench) want_bench=1 ;;
        --print-sources) print_sources=1 ;;
        --print-packages) print_packages=1 ;;
        -h|--help) echo "$usage"; exit 0 ;;
        --civetweb-src) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; civet_src=$2; shift ;;
        --civetweb-src=*) civet_src=${1#*=} ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
    shift
done

# serve: build and run the release mockapi and mockassert (ci/serve.sh)
serve_pkgs=(build-essential pkg-config premake4 dpkg-dev
            libmbedtls-dev libsodium-dev libjansson-dev libfyaml-dev zlib1g-dev
            libcurl4-openssl-dev ca-certificates)
# test: what the suites of ci/test.sh use beyond that
test_pkgs=(libcmocka-dev valgrind curl python3 openssl clang man-db)
pkgs=("${serve_pkgs[@]}")
[ "$set_name" = test ] && pkgs+=("${test_pkgs[@]}")
[ "$want_bench" = 1 ] && pkgs+=(wrk nginx)
if [ "$print_packages" = 1 ]; then
    printf '%s\n' "${pkgs[@]}"
    exit 0
fi
if [ "$print_sources" = 1 ] || [ "${MOCKAPI_SETUP_PACKAGES:-1}" = 0 ]; then pkgs=(); fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing (the $set_name set) ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# civet_version DIR: prints the CIVETWEB_VERSION ("1.16") that DIR's
# include/civetweb.h defines; fails if DIR is no civetweb source tree.
civet_version() {
    local v
    [ -f "$1/include/civetweb.h" ] && [ -f "$1/src/civetweb.c" ] || return 1
    v=$(sed -n 's/^#define[ \t]*CIVETWEB_VERSION[ \t]*"\([^"]*\)".*/\1/p' "$1/include/civetweb.h" | head -n 1)
    [ -n "$v" ] && echo "$v"
}
# check_civet DIR WHAT: says which version DIR holds; exits if none or unsupported
check_civet() {
    local v
    v=$(civet_version "$1") || {
        echo "setup: $2 is not a civetweb source tree (want include/civetweb.h defining CIVETWEB_VERSION, and src/civetweb.c)" >&2
        exit 1
    }
    case "$v" in
        1.15|1.15.*|1.16|1.16.*) echo "setup: civetweb $v in $2 (supported)" >&2 ;;
        *) echo "setup: civetweb $v in $2 is not supported: mockapi builds with civetweb 1.15 or 1.16 (ci/setup.sh --civetweb-src DIR takes another tree)" >&2
           exit 1 ;;
    esac
}

dest=${MOCKAPI_THIRD_PARTY_DIR:-$top/build/third_party}
if [ "$print_sources" = 0 ] && [ -n "$civet_src" ]; then
    [ -d "$civet_src" ] || { echo "setup: --civetweb-src $civet_src: no such directory" >&2; exit 1; }
    civet_src=$(cd "$civet_src" && pwd)
    check_civet "$civet_src" "$civet_src"
    if [ -f "$dest/civetweb/src/civetweb.c" ] && cmp -s "$civet_src/src/civetweb.c" "$dest/civetweb/src/civetweb.c" &&
        cmp -s "$civet_src/include/civetweb.h" "$dest/civetweb/include/civetweb.h"; then
        exit 0  # already there: keep its files (and their times) so make rebuilds nothing
    fi
    mkdir -p "$dest"
    rm -rf "$dest/civetweb.new"
    mkdir "$dest/civetweb.new"
    # a copy, not a link: the build must not change when the user's tree does
    tar -C "$civet_src" --exclude=.git -cf - . | tar -C "$dest/civetweb.new" -xf -
    rm -rf "$dest/civetweb"
    mv "$dest/civetweb.new" "$dest/civetweb"
    echo "setup: civetweb source copied into ${dest#"$top"/}/civetweb" >&2
    exit 0
fi

if [ "$print_sources" = 0 ] && [ -f "$dest/civetweb/src/civetweb.c" ] && [ -f "$dest/civetweb/include/civetweb.h" ]; then
    check_civet "$dest/civetweb" "${dest#"$top"/}/civetweb"
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
if ! ( cd "$work" && apt-get "${aptopts[@]}" source civetweb >/dev/null 2>"$work/source.log" ); then
    # Some mirrors serve a source package's tarballs but not its .dsc (seen
    # for trixie's civetweb). apt has still fetched and hash-checked the
    # tarballs the signed index names: unpack them as dpkg-source would
    # (the upstream tree, debian/ over it, the series of patches).
    orig=$(find "$work" -maxdepth 1 -name 'civetweb_*.orig.tar.*' ! -name '*.asc' | head -n 1)
    deb=$(find "$work" -maxdepth 1 -name 'civetweb_*.debian.tar.*' ! -name '*.asc' | head -n 1)
    [ -n "$orig" ] && [ -n "$deb" ] || { cat "$work/source.log" >&2; exit 1; }
    echo "setup: apt-get source failed (no .dsc?); unpacking $(basename "$orig") and $(basename "$deb")" >&2
    mkdir "$work/unpack"
    tar -C "$work/unpack" -xf "$orig"
    up=$(find "$work/unpack" -mindepth 1 -maxdepth 1 -type d | head -n 1)
    [ -n "$up" ] || { echo "setup: $(basename "$orig") holds no folder" >&2; exit 1; }
    tar -C "$up" -xf "$deb"
    if [ -f "$up/debian/patches/series" ]; then
        sed -e 's/#.*//' "$up/debian/patches/series" | while read -r patch_name _; do
            [ -n "$patch_name" ] || continue
            patch -d "$up" -p1 -s -N <"$up/debian/patches/$patch_name" >/dev/null ||
                { echo "setup: Debian patch $patch_name does not apply" >&2; exit 1; }
        done
    fi
    mv "$up" "$work/civetweb-unpacked"
fi

srcdir=$(find "$work" -maxdepth 1 -type d -name 'civetweb-*' | head -n 1)
[ -n "$srcdir" ] && [ -f "$srcdir/src/civetweb.c" ] || { echo "setup: civetweb source not found after apt-get source" >&2; exit 1; }
check_civet "$srcdir" "Debian's civetweb source package"
mkdir -p "$dest"
rm -rf "$dest/civetweb"
mv "$srcdir" "$dest/civetweb"
rm -rf "$work"
echo "setup: civetweb source ready in ${dest#"$top"/}/civetweb" >&2
