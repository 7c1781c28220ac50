#!/usr/bin/env bash
# install.sh: installs mockapi the way a C tool is installed, from the
# release build (built first when missing or older than the sources):
#
#   PREFIX/bin/mockapi, PREFIX/bin/mockassert            (0755, stripped)
#   PREFIX/lib/libmockapi.a      one archive, civetweb's objects inside, so a
#                                program links one library of ours
#   PREFIX/include/mockapi.h
#   PREFIX/lib/pkgconfig/mockapi.pc   `pkg-config --cflags --libs --static
#                                mockapi` is the whole link line
#   PREFIX/share/man/man1/mockapi.1, mockassert.1     (from docs/man/)
#
# Usage: [PREFIX=/usr/local] [DESTDIR=DIR] [STRIP=0] bash ci/install.sh
#   PREFIX   where the files belong (absolute; default /usr/local); it is
#            also the prefix written into mockapi.pc
#   DESTDIR  a staging root the files are copied under (DESTDIR/PREFIX/...),
#            for packaging; default none
#   STRIP=0  keep the binaries' symbols (STRIP=1, the default: stripped)
# Exit status: 0 installed; 1 a build or copy failed; 2 usage error (an
# argument, a relative PREFIX or DESTDIR). Installing into /usr/local needs
# root; nothing here calls sudo.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

usage() {
    sed -n '/^# Usage:/,/^# root;/s/^# \{0,1\}//p' "$0"
}
case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    "") ;;
    *) echo "install.sh: unexpected argument \"$1\" (settings go in PREFIX, DESTDIR, STRIP)" >&2
       usage >&2; exit 2 ;;
esac

prefix=${PREFIX:-/usr/local}
destdir=${DESTDIR:-}
case "$prefix" in
    /*) ;;
    *) echo "install.sh: PREFIX must be an absolute path, not \"$prefix\"" >&2; exit 2 ;;
esac
case "$destdir" in
    ""|/*) ;;
    *) echo "install.sh: DESTDIR must be an absolute path, not \"$destdir\"" >&2; exit 2 ;;
esac
prefix=${prefix%/}
[ -n "$prefix" ] || prefix=/ # PREFIX=/ is allowed: /bin, /lib, ...

version=$(sed -n 's/^#define MOCKAPI_VERSION "\([^"]*\)"$/\1/p' include/mockapi.h)
if [ -z "$version" ]; then
    echo "install.sh: no '#define MOCKAPI_VERSION \"...\"' line in include/mockapi.h" >&2
    exit 1
fi

# The release build, when an output is missing or a source is newer than
# the oldest output (so a stale binary is never installed).
rel=build/release
outputs=("$rel/mockapi" "$rel/mockassert" "$rel/libmockapi.a" "$rel/libcivetweb.a")
need_build=0
for f in "${outputs[@]}"; do
    [ -e "$f" ] || need_build=1
done
if [ "$need_build" -eq 0 ]; then
    oldest=$(ls -tr "${outputs[@]}" | head -n 1)
    if [ -n "$(find src include assert fixtures premake5.lua -newer "$oldest" -type f -print -quit)" ]; then
        need_build=1
    fi
fi
if [ "$need_build" -eq 1 ]; then
    echo "install.sh: building release (bash ci/build.sh release)" >&2
    bash ci/build.sh release -- civetweb libmockapi mockapi mockassert >&2 ||
        { echo "install.sh: the release build failed" >&2; exit 1; }
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One archive: libmockapi.a's members and civetweb's, merged with an ar MRI
# script. MRI cannot quote a path, so it works on plain names in $tmp.
cp "$rel/libmockapi.a" "$tmp/core.a"
cp "$rel/libcivetweb.a" "$tmp/civet.a"
(cd "$tmp" && printf 'create libmockapi.a\naddlib core.a\naddlib civet.a\nsave\nend\n' | ar -M && ranlib libmockapi.a)
want=$(( $(ar t "$rel/libmockapi.a" | wc -l) + $(ar t "$rel/libcivetweb.a" | wc -l) ))
got=$(ar t "$tmp/libmockapi.a" | wc -l)
if [ "$got" -ne "$want" ]; then
    echo "install.sh: the merged libmockapi.a has $got members, expected $want" >&2
    exit 1
fi

# The link line the library needs, kept next to premake5.lua's (its
# `deps` with a .pc file, then mbedTLS, which has none on Debian 12).
cat >"$tmp/mockapi.pc" <<EOF
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: mockapi
Description: In-process test double of the node-agent control plane (static library)
Version: $version
Requires.private: libsodium jansson zlib
Libs: -L\${libdir} -lmockapi
Libs.private: -lmbedtls -lmbedx509 -lmbedcrypto -lpthread -lm
Cflags: -I\${includedir}
EOF

# The pages' .TH footer names the version: the header's, whatever the
# checked-in page says.
for page in mockapi mockassert; do
    sed "s/^\.TH \([A-Z]*\) 1 \"\([^\"]*\)\" \"$page [^\"]*\"/.TH \1 1 \"\2\" \"$page $version\"/" \
        "docs/man/$page.1" >"$tmp/$page.1"
    if ! grep -q "^\.TH .* \"$page $version\"" "$tmp/$page.1"; then
        echo "install.sh: docs/man/$page.1 has no '.TH NAME 1 \"DATE\" \"$page VERSION\" ...' line" >&2
        exit 1
    fi
done

root=$destdir${prefix%/}
case "${STRIP:-1}" in
    1) strip_flag=(-s) ;;
    0) strip_flag=() ;;
    *) echo "install.sh: STRIP must be 0 or 1, not \"$STRIP\"" >&2; exit 2 ;;
esac
install -d -m 0755 "$root/bin" "$root/lib/pkgconfig" "$root/include" "$root/share/man/man1"
install -m 0755 "${strip_flag[@]}" "$rel/mockapi" "$rel/mockassert" "$root/bin/"
install -m 0644 "$tmp/libmockapi.a" "$root/lib/libmockapi.a"
install -m 0644 "$tmp/mockapi.pc" "$root/lib/pkgconfig/mockapi.pc"
install -m 0644 include/mockapi.h "$root/include/mockapi.h"
install -m 0644 "$tmp/mockapi.1" "$tmp/mockassert.1" "$root/share/man/man1/"

echo "install.sh: mockapi $version installed under ${destdir:+$destdir }$prefix"
