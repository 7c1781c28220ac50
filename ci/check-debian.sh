#!/usr/bin/env bash
# check-debian.sh (for maintainers; not part of ci/test.sh): runs the README's
# two commands on a fresh minimal Debian, as a new user would, and prints a
# verdict. It makes a `debootstrap --variant=minbase` root, copies this clone
# into it, and inside (unshare -m, with proc and dev mounted, chroot, as root):
#   1. bash ci/serve.sh -addr 127.0.0.1:0 -tls-addr off   until MOCKAPI_ADDR=
#      appears; then `mockapi -check` of /v1/ping against it, and SIGTERM
#   2. bash ci/test.sh
# Both install what they need with apt inside the root, so the first run
# also checks ci/setup.sh's package list for that release.
#
# Usage: ci/check-debian.sh [SUITE] [options]      (as root)
#   SUITE                 trixie (default) or bookworm
#   --root DIR            where the root goes (default build/debian-SUITE).
#                         Made fresh when missing or empty; an existing root
#                         of SUITE is refused unless --reuse.
#   --reuse               use the existing root at DIR as it is (packages
#                         installed by a former run stay): for iterating
#   --worktree            copy the working tree (tracked and untracked files,
#                         less what .gitignore names) instead of HEAD
#   --civetweb-src DIR    passed to ci/setup.sh inside (the tree is copied in)
#   --mirror URI          the Debian mirror for debootstrap; by default the
#                         URI of this machine's own apt source for its release
#                         (as ci/setup.sh derives deb-src), so no host name is
#                         written anywhere in the repository
# The root is kept afterwards (logs: DIR/src/mockapi/build/test-logs). Exit 0
# only if both commands passed.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: ci/check-debian.sh [trixie|bookworm] [--root DIR] [--reuse] [--worktree] [--civetweb-src DIR] [--mirror URI]"
suite=trixie
root=""
reuse=0
worktree=0
civet_src=""
mirror=""
die() { echo "check-debian: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        trixie|bookworm) suite=$1 ;;
        --root) [ $# -ge 2 ] || die "$usage"; root=$2; shift ;;
        --reuse) reuse=1 ;;
        --worktree) worktree=1 ;;
        --civetweb-src) [ $# -ge 2 ] || die "$usage"; civet_src=$2; shift ;;
        --mirror) [ $# -ge 2 ] || die "$usage"; mirror=$2; shift ;;
        -h|--help) echo "$usage"; exit 0 ;;
        *) die "$usage" ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || die "run as root (debootstrap, unshare -m and chroot need it)"
[ -n "$root" ] || root="$top/build/debian-$suite"
mkdir -p "$root" || die "cannot create $root"
root=$(cd "$root" && pwd)
[ "$root" != / ] || die "--root / is not a root to make"
if [ -n "$civet_src" ]; then
    [ -d "$civet_src" ] || die "--civetweb-src $civet_src: no such directory"
    civet_src=$(cd "$civet_src" && pwd)
fi

t_all=$SECONDS
secs() { echo "$((SECONDS - $1)) s"; }

# The root: fresh, or the same suite again with --reuse.
if [ -n "$(ls -A "$root")" ]; then
    have=$( (. "$root/etc/os-release" 2>/dev/null && echo "${VERSION_CODENAME:-}") || true)
    [ -n "$have" ] || die "$root is not empty and holds no Debian root; give an empty or new folder"
    [ "$have" = "$suite" ] || die "$root holds a '$have' root, not $suite"
    [ "$reuse" = 1 ] || die "$root already holds a $suite root: pass --reuse to use it, or remove it for a fresh one"
    echo "check-debian: reusing the $suite root in $root" >&2
else
    command -v debootstrap >/dev/null 2>&1 || {
        echo "check-debian: installing debootstrap" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    } || die "cannot install debootstrap"
    if [ -z "$mirror" ]; then
        # The first deb source of this machine's own release (the line whose
        # suite is exactly its codename) is a Debian mirror that serves trixie
        # and bookworm too.
        host=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
        mirror=$(bash "$top/ci/setup.sh" --print-sources 2>/dev/null |
            sed -e 's/^deb-src *//' -e 's/^\[[^]]*\] *//' | awk -v s="$host" '$2 == s { print $1; exit }')
        [ -n "$mirror" ] || die "found no apt source for this machine's release '$host' to take a mirror from; pass --mirror URI"
    fi
    echo "check-debian: debootstrap --variant=minbase $suite into $root" >&2
    t=$SECONDS
    debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.debootstrap.log" 2>&1 || {
        tail -n 20 "$root.debootstrap.log" >&2; die "debootstrap failed (log: $root.debootstrap.log)"; }
    rm -f "$root.debootstrap.log"
    echo "check-debian: root made in $(secs $t)" >&2
fi
grep -q "^VERSION_CODENAME=$suite$" "$root/etc/os-release" || die "$root is not a $suite root after debootstrap"

# The clone, fresh on every run (build/ is ignored by git, so never copied).
rm -rf "$root/src/mockapi" "$root/src/civetweb"
mkdir -p "$root/src/mockapi"
if [ "$worktree" = 1 ]; then
    (cd "$top" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -C "$root/src/mockapi" -xf - ||
        die "cannot copy the working tree"
    what="working tree of $(git -C "$top" rev-parse --short HEAD)"
else
    git -C "$top" archive --format=tar HEAD | tar -C "$root/src/mockapi" -xf - || die "cannot copy HEAD"
    what="HEAD $(git -C "$top" rev-parse --short HEAD)"
fi
inner_env=()
if [ -n "$civet_src" ]; then
    mkdir -p "$root/src/civetweb"
    tar -C "$civet_src" --exclude=.git -cf - . | tar -C "$root/src/civetweb" -xf - || die "cannot copy $civet_src"
    inner_env=(MOCKAPI_CIVETWEB_SRC=/src/civetweb)
fi
# apt inside needs to resolve the mirror's name
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# What runs inside the root. Results go to /src/result so the verdict can be
# read from out here.
cat >"$root/src/check-inner.sh" <<'EOF'
#!/bin/bash
set -u
cd /src/mockapi
res=/src/result
: >"$res"
say() { echo "$*" >>"$res"; }

# 1. serve: wait for the address line (set-up and build come first: minutes
#    on a fresh root), ask the server for /v1/ping, stop it.
t=$SECONDS
out=/src/serve.out
bash ci/serve.sh -addr 127.0.0.1:0 -tls-addr off >"$out" 2>/src/serve.err &
pid=$!
deadline=$((SECONDS + 1800))
addr=""
while [ -z "$addr" ]; do
    addr=$(sed -n 's/^MOCKAPI_ADDR=//p' "$out" | head -n 1)
    [ -n "$addr" ] && break
    kill -0 "$pid" 2>/dev/null || break
    [ "$SECONDS" -lt "$deadline" ] || break
    sleep 0.2 # polling the file for the line, with the deadline above
done
if [ -z "$addr" ]; then
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    say "serve FAIL no MOCKAPI_ADDR line after $((SECONDS - t)) s"
    tail -n 30 /src/serve.err | sed 's/^/  serve: /' >>"$res"
else
    build/release/mockapi -check "http://$addr/v1/ping" >/dev/null 2>>/src/serve.err
    check=$?
    kill -TERM "$pid"
    wait "$pid"
    stop=$?
    if [ "$check" = 0 ] && [ "$stop" = 0 ]; then
        say "serve ok MOCKAPI_ADDR=$addr, -check /v1/ping healthy, SIGTERM exit 0, in $((SECONDS - t)) s"
    else
        say "serve FAIL MOCKAPI_ADDR=$addr but -check exit $check, exit after SIGTERM $stop"
    fi
fi

# 2. the whole suite
t=$SECONDS
bash ci/test.sh 2>&1 | tee /src/test.out
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' /src/test.out | tail -n 1)
failed=$(sed -n 's/^FAIL  \([^ ]*\).*/\1/p' /src/test.out | tr '\n' ' ')
if echo "$line" | grep -q ' 0 failed$'; then
    say "test ok $line, in $((SECONDS - t)) s"
else
    say "test FAIL ${line:-no summary line}, in $((SECONDS - t)) s${failed:+; failed: $failed}"
    grep -B2 -A12 -E 'error:|Error [0-9]' /src/test.out | head -n 40 | sed 's/^/  test: /' >>"$res"
fi
EOF

civet_from="Debian's source package"
[ -n "$civet_src" ] && civet_from=$civet_src
echo "check-debian: $suite: running the README's commands on $what (civetweb: $civet_from)" >&2
t=$SECONDS
unshare -m --propagation private -- bash -c '
    set -e
    r=$1; shift
    mount -t proc proc "$r/proc"
    mount --rbind /dev "$r/dev"
    mount -t tmpfs tmpfs "$r/tmp"
    exec chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 TERM=dumb "$@" bash /src/check-inner.sh
' check "$root" "${inner_env[@]}"
rc=$?

echo
echo "check-debian: $suite ($(. "$root/etc/os-release" && echo "$PRETTY_NAME")), $what, $(secs $t) inside, $(secs $t_all) in all"
if [ $rc -ne 0 ] || [ ! -s "$root/src/result" ]; then
    echo "check-debian: the run inside the root did not finish (exit $rc)"
    echo "check-debian: VERDICT $suite: FAIL"
    exit 1
fi
sed 's/^/check-debian: /' "$root/src/result"
echo "check-debian: logs in $root/src/mockapi/build/test-logs, $root/src/serve.err, $root/src/test.out"
if grep -q '^serve ok' "$root/src/result" && grep -q '^test ok' "$root/src/result"; then
    echo "check-debian: VERDICT $suite: PASS"
    exit 0
fi
echo "check-debian: VERDICT $suite: FAIL"
exit 1
