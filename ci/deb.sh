#!/usr/bin/env bash
# deb.sh: builds build/mockapi_<version>_<arch>.deb with dpkg-deb alone (no
# debhelper): ci/install.sh stages the files under /usr into
# build/deb/root, then DEBIAN/control and DEBIAN/md5sums are written next to
# them. Version: MOCKAPI_VERSION in include/mockapi.h; Architecture: `dpkg
# --print-architecture`; Depends: the packages holding the shared libraries
# the two binaries name as NEEDED (as ldd resolves them; mockapi links
# its libraries statically, so only libc, while mockassert loads libcurl,
# libfyaml, jansson and libsodium), found with `dpkg -S`, each at least the
# version installed here. Recommends: what linking libmockapi.a needs.
#
# Usage: bash ci/deb.sh [-h]
# Prints the package's path on stdout. Builds release first when needed
# (ci/install.sh does).
# Exit status: 0 built; 1 staging, a dependency look-up or dpkg-deb failed;
# 2 usage error.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

case "${1:-}" in
    -h|--help) sed -n '/^# Usage:/,/^# 2 usage error/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    "") ;;
    *) echo "deb.sh: unexpected argument \"$1\"" >&2; exit 2 ;;
esac
for tool in dpkg dpkg-deb dpkg-query ldd readelf md5sum; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "deb.sh: $tool is missing (dpkg, libc-bin and binutils provide them)" >&2; exit 1; }
done

version=$(sed -n 's/^#define MOCKAPI_VERSION "\([^"]*\)"$/\1/p' include/mockapi.h)
[ -n "$version" ] || { echo "deb.sh: no MOCKAPI_VERSION in include/mockapi.h" >&2; exit 1; }
arch=$(dpkg --print-architecture)

stage=$top/build/deb/root
rm -rf "$top/build/deb"
mkdir -p "$stage"
DESTDIR=$stage PREFIX=/usr bash ci/install.sh >&2

# needed_paths BIN: the files of BIN's own NEEDED libraries (readelf), as
# ldd resolves them; their own dependencies are their packages' business.
needed_paths() {
    local so path
    for so in $(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
        path=$(ldd "$1" | awk -v so="$so" '$1 == so && $2 == "=>" { print $3 }')
        case "$path" in
            /*) echo "$path" ;;
            *) echo "deb.sh: ldd cannot resolve $so (needed by ${1##*/})" >&2; return 1 ;;
        esac
    done
}

# Depends: for every shared library a binary needs, the package that owns
# it (the path ldd resolves, or its real path: /lib may be a link to /usr/lib).
declare -A seen=()
depends=()
for bin in "$stage/usr/bin/mockapi" "$stage/usr/bin/mockassert"; do
    while read -r lib; do
        owner=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null || true)
        pkg=${owner%%: *}
        if [ -z "$owner" ] || [ -z "$pkg" ]; then
            echo "deb.sh: no installed package owns $lib (needed by ${bin##*/})" >&2
            exit 1
        fi
        pkg=${pkg%%, *}                   # "libc6:amd64, libc6:i386" -> the first
        [ -n "${seen[$pkg]:-}" ] && continue
        seen[$pkg]=1
        ver=$(dpkg-query -W -f='${Version}' "$pkg")
        depends+=("${pkg%%:*} (>= ${ver%%-*})")
    done < <(needed_paths "$bin")
done
[ "${#depends[@]}" -gt 0 ] || { echo "deb.sh: ldd found no shared library at all" >&2; exit 1; }
depends_line=$(printf '%s\n' "${depends[@]}" | sort -u | paste -sd, - | sed 's/,/, /g')

installed_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
mkdir -p "$stage/DEBIAN"
cat >"$stage/DEBIAN/control" <<EOF
Package: mockapi
Version: $version
Architecture: $arch
Maintainer: mockapi maintainers <mockapi@localhost>
Installed-Size: $installed_kb
Depends: $depends_line
Recommends: pkg-config, libmbedtls-dev, libsodium-dev, libjansson-dev, zlib1g-dev
Section: devel
Priority: optional
Description: test double of the node-agent control plane
 mockapi answers the node agent's HTTP API byte for byte as the reference
 mock does, records every call and lets a test assert on what the agent did.
 This package holds the mockapi server, the mockassert pipeline checker,
 the libmockapi.a static library (civetweb inside) with mockapi.h and
 mockapi.pc, and their manual pages. Linking the library needs the
 packages in Recommends.
EOF
(cd "$stage" && find usr -type f -print0 | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"

out=$top/build/mockapi_${version}_${arch}.deb
rm -f "$out"
dpkg-deb --root-owner-group --build "$stage" "$out" >&2
echo "$out"
