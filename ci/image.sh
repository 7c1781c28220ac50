#!/usr/bin/env bash
# Builds mockapi's OCI image (ci/Containerfile) with podman: the release
# binary on an empty base (FROM scratch), user 65534, ports 8080 and 8443.
#
# Why FROM scratch and not a distroless or Debian base: every base image
# comes from a registry, and the build must need no network at all. The
# release binary links its libraries statically except the C library, so
# this script stages exactly the shared objects `ldd` names (the loader and
# libc, copied from the build host) next to a stripped copy of the binary,
# plus /etc/passwd and /etc/group entries for 65534 (nobody/nogroup), an
# nsswitch.conf (host names from /etc/hosts first, as a container runtime
# writes it) and a world-writable /tmp (for -ready-file, -tls-ca-dir and
# the like). The staged context is build/image/ (rebuilt every run).
#
# The version (the image's tag and its org.opencontainers.image.version
# label) is MOCKAPI_VERSION from include/mockapi.h, or "dev" without one.
#
# Usage: ci/image.sh [--tag NAME:TAG] [--setup] [BINARY]
#   BINARY      the mockapi to put in the image (default build/release/mockapi,
#               built with `ci/build.sh release` when missing)
#   --tag T     the image's name (default mockapi:<version>)
#   --setup     only install podman when it is missing (apt; as root or
#               with sudo), build nothing
# Prints the image's size, then MOCKAPI_IMAGE=<tag> as its last line.
# Exit status: 0 built; 1 a failure (said on stderr); 2 usage.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: ci/image.sh [--tag NAME:TAG] [--setup] [BINARY]"
tag=""
setup_only=0
bin=""
while [ $# -gt 0 ]; do
    case "$1" in
        --tag) [ $# -ge 2 ] && [ -n "$2" ] || { echo "$usage" >&2; exit 2; }; tag=$2; shift ;;
        --tag=?*) tag=${1#*=} ;;
        --setup) setup_only=1 ;;
        -h|--help) echo "$usage"; exit 0 ;;
        -*) echo "image: unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
        *) [ -z "$bin" ] || { echo "$usage" >&2; exit 2; }; bin=$1 ;;
    esac
    shift
done

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# apt_install PKG...: installs the packages dpkg does not list as installed.
# The lock timeout lets this run while another set-up (ci/test.sh starts the
# browser's in the background) holds apt: it waits instead of failing.
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ "${#missing[@]}" -gt 0 ] || return 0
    echo "image: installing ${missing[*]}" >&2
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
}

if ! command -v podman >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 ||
        { echo "image: podman is not installed and this machine has no apt-get to install it" >&2; exit 1; }
    apt_install podman
    command -v podman >/dev/null 2>&1 || { echo "image: podman is still missing after apt-get install" >&2; exit 1; }
fi
[ "$setup_only" = 0 ] || exit 0

version=$(sed -n 's/^#define[ \t]*MOCKAPI_VERSION[ \t]*"\([^"]*\)".*/\1/p' "$top/include/mockapi.h" | head -n 1)
[ -n "$version" ] || version=dev
[ -n "$tag" ] || tag="mockapi:$version"

if [ -z "$bin" ]; then
    bin="$top/build/release/mockapi"
    [ -x "$bin" ] || bash "$top/ci/build.sh" release >&2
fi
[ -f "$bin" ] && [ -x "$bin" ] || { echo "image: $bin: no such executable (build it: bash ci/build.sh release)" >&2; exit 1; }

ctx="$top/build/image"
rm -rf "$ctx"
mkdir -p "$ctx/rootfs/etc" "$ctx/rootfs/tmp"
chmod 1777 "$ctx/rootfs/tmp"
cp "$top/ci/Containerfile" "$ctx/Containerfile"
# stripped: the symbols are for debugging the build tree's binary, not the
# image's (the reference strips its Go binary too)
strip -o "$ctx/rootfs/mockapi" "$bin"
chmod 0755 "$ctx/rootfs/mockapi"

# The shared objects the binary loads, at the paths the loader looks for
# them (ldd's "name => /path (addr)" and the loader's own "/path (addr)"),
# dereferenced: the image has no usrmerge links. The vDSO has no file.
libs=$(ldd "$bin" 2>&1) || {
    if printf '%s' "$libs" | grep -q 'not a dynamic executable'; then libs=""
    else echo "image: ldd $bin failed: $libs" >&2; exit 1; fi
}
if printf '%s\n' "$libs" | grep -q 'not found'; then
    echo "image: $bin needs libraries this machine lacks:" >&2
    printf '%s\n' "$libs" | grep 'not found' >&2
    exit 1
fi
printf '%s\n' "$libs" | sed -n -e 's/^.*=> \(\/[^ ]*\) (0x.*$/\1/p' -e 's/^[ \t]*\(\/[^ ]*\) (0x.*$/\1/p' |
    while read -r so; do
        mkdir -p "$ctx/rootfs$(dirname "$so")"
        cp -L "$so" "$ctx/rootfs$so"
        chmod 0755 "$ctx/rootfs$so"
    done

cat >"$ctx/rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
EOF
cat >"$ctx/rootfs/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo 'hosts: files dns' >"$ctx/rootfs/etc/nsswitch.conf"
chmod 0644 "$ctx/rootfs/etc/passwd" "$ctx/rootfs/etc/group" "$ctx/rootfs/etc/nsswitch.conf"

# --pull=never: FROM scratch needs no registry, and none may be asked;
# --layers=false: no intermediate images kept as a cache (nothing to reuse
# in a one-COPY build, and nothing left behind when the image is removed)
podman build --pull=never --layers=false --quiet --build-arg "MOCKAPI_VERSION=$version" \
    -t "$tag" -f "$ctx/Containerfile" "$ctx" >/dev/null
size=$(podman image inspect --format '{{.Size}}' "$tag")
awk -v t="$tag" -v s="$size" 'BEGIN { printf "image: %s, %.1f MB (%d bytes)\n", t, s / 1e6, s }'
echo "MOCKAPI_IMAGE=$tag"
