#!/usr/bin/env bash
# image.sh: the OCI image (README "Container image"). Builds it with
# ci/image.sh under a tag of its own, checks its configuration (user
# 65534:65534, ports 8080 and 8443, entrypoint /mockapi, the default command
# -addr :8080 -tls-addr :8443, the version label, one layer, its size),
# exports its root file system (podman create + podman export: running a
# container may be refused on CI machines, exporting is not) and runs the
# entrypoint from that root as uid 65534 with chroot --userspec:
#   1. on 127.0.0.1:0 (plain and TLS): the process's uid and gid are 65534,
#      GET /v1/ping answers {}, the TLS listener's POST /local/metrics
#      answers 204 to a client verifying it with the CA the server wrote
#      into the root's /tmp (-tls-ca-out: certificates made and a file
#      written in the empty root), `/mockapi -check URL` from the root (the
#      health check the README gives) exits 0, SIGTERM stops it with 0;
#   2. with the image's own entrypoint and command, read from its config, in
#      a network namespace of its own (unshare -n: the fixed ports 8080 and
#      8443 cannot clash with anything on the machine): it binds [::]:8080
#      and [::]:8443.
# The image, the container and the scratch folder are removed on every exit
# path. Each check prints one line; the last is "N passed, M failed".
#
# Usage: tests/image.sh [BINARY]   (default build/release/mockapi; as root,
#        or with sudo, which it then uses: chroot and podman's root storage)
# Needs podman (ci/image.sh installs it when missing), curl, chroot, unshare.
# Exit status: 0 every check passed; 1 a check failed or the image could not
# be built; 2 usage.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: tests/image.sh [BINARY]"
case "${1:-}" in -h|--help) echo "$usage"; exit 0 ;; -*) echo "$usage" >&2; exit 2 ;; esac
[ $# -le 1 ] || { echo "$usage" >&2; exit 2; }
bin=${1:-$top/build/release/mockapi}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
if [ "$(id -u)" != 0 ]; then
    if sudo -n true 2>/dev/null; then exec sudo -n -- bash "$0" "$bin"; fi
    echo "image: needs root (chroot, podman's root storage): run it as root or with sudo" >&2
    exit 1
fi
for c in curl chroot unshare; do
    command -v "$c" >/dev/null 2>&1 || { echo "image: $c is missing" >&2; exit 1; }
done

start=$SECONDS
version=$(sed -n 's/^#define[ \t]*MOCKAPI_VERSION[ \t]*"\([^"]*\)".*/\1/p' "$top/include/mockapi.h" | head -n 1)
[ -n "$version" ] || version=dev
# a tag of its own: a user's mockapi:<version> is left alone, and two runs
# at once do not remove each other's image
tag="localhost/mockapi-imagetest-$$:$version"
work=$(mktemp -d)
root="$work/root"
cid=""
pids=()
built=0
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    [ -z "$cid" ] || podman rm -f "$cid" >/dev/null 2>&1 || true
    [ "$built" = 0 ] || podman rmi -f "$tag" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

pass=0
fail=0
check() { # check NAME CONDITION-EXIT-STATUS
    if [ "$2" -eq 0 ]; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1"; fi
}
# same NAME GOT WANT: a check that GOT is WANT, saying both when not
same() {
    if [ "$2" = "$3" ]; then check "$1" 0; else check "$1: got [$2], want [$3]" 1; fi
}
finish() {
    echo "image test: $((SECONDS - start)) s"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
}
curl_() { curl --noproxy '*' -sS --max-time 5 "$@"; }

# 0. the build
t0=$SECONDS
built=1 # from here the tag may exist: cleanup removes it
if ! bash "$top/ci/image.sh" --tag "$tag" "$bin" >"$work/build.out" 2>"$work/build.err"; then
    cat "$work/build.err" "$work/build.out" >&2
    check "ci/image.sh builds the image" 1
    finish
fi
check "ci/image.sh builds the image ($((SECONDS - t0)) s)" 0
same "ci/image.sh names the tag last" "$(tail -n 1 "$work/build.out")" "MOCKAPI_IMAGE=$tag"
grep '^image: ' "$work/build.out" || true

# 1. the configuration
insp() { podman image inspect --format "$1" "$tag"; }
same "user" "$(insp '{{.Config.User}}')" "65534:65534"
same "exposed ports" "$(insp '{{range $p, $_ := .Config.ExposedPorts}}{{$p}} {{end}}')" "8080/tcp 8443/tcp "
same "entrypoint" "$(insp '{{json .Config.Entrypoint}}')" '["/mockapi"]'
same "default command (the reference's -addr :8080, TLS on :8443)" \
    "$(insp '{{json .Config.Cmd}}')" '["-addr",":8080","-tls-addr",":8443"]'
same "version label" "$(insp '{{index .Config.Labels "org.opencontainers.image.version"}}')" "$version"
same "one layer" "$(insp '{{len .RootFS.Layers}}')" 1
size=$(insp '{{.Size}}')
rc=0
[ "$size" -gt 0 ] && [ "$size" -lt 10000000 ] || rc=1
check "small: $size bytes (under 10 MB)" $rc

# 2. the root file system, as a runtime would unpack it
cid=$(podman create "$tag")
mkdir -m 0755 "$root"
podman export "$cid" | tar -C "$root" -xf -
podman rm "$cid" >/dev/null
cid=""
same "/mockapi is root's, 0755 (65534 runs it, cannot change it)" "$(stat -c '%u:%g %a' "$root/mockapi")" "0:0 755"
rc=0
[ ! -e "$root/bin/sh" ] && [ ! -e "$root/usr/bin/env" ] || rc=1
check "no shell in the image" $rc
same "/etc/passwd names 65534" "$(grep ':65534:' "$root/etc/passwd" | cut -d: -f1,3,4)" "nobody:65534:65534"
same "/etc/group names 65534" "$(grep ':65534:' "$root/etc/group" | cut -d: -f1,3)" "nogroup:65534"
same "/tmp is writable by all, sticky" "$(stat -c '%a' "$root/tmp")" 1777

# serve NAME CMD...: starts CMD with its stdout on a pipe (fd $out_fd) and
# its stderr in $work/NAME.err; pid in $srv
serve() {
    local name=$1
    shift
    rm -f "$work/out.fifo"
    mkfifo "$work/out.fifo"
    "$@" >"$work/out.fifo" 2>"$work/$name.err" &
    srv=$!
    pids+=("$srv")
    exec {out_fd}<"$work/out.fifo"
}
# wait_addrs: reads the server's stdout until MOCKAPI_ADDR= and
# MOCKAPI_TLS_ADDR= (deadline 10 s; an exit ends the wait at once: EOF);
# sets $addr and $tls_addr
wait_addrs() {
    local deadline=$((SECONDS + 10)) line left
    addr=""
    tls_addr=""
    while [ -z "$addr" ] || [ -z "$tls_addr" ]; do
        left=$((deadline - SECONDS))
        [ "$left" -gt 0 ] || return 1
        IFS= read -r -t "$left" -u "$out_fd" line || return 1
        case $line in
            MOCKAPI_ADDR=*) addr=${line#*=} ;;
            MOCKAPI_TLS_ADDR=*) tls_addr=${line#*=} ;;
        esac
    done
}
# why_not NAME: sets $why: why wait_addrs failed (the server exited, or
# is still running) and the start of its stderr (not in a subshell: wait
# needs the server to be this shell's child)
why_not() {
    local rc=0
    if kill -0 "$srv" 2>/dev/null; then
        why="no MOCKAPI_ADDR= and MOCKAPI_TLS_ADDR= in 10 s"
    else
        wait "$srv" || rc=$?
        why="it exited with status $rc first"
    fi
    why="$why; stderr: $(head -c 300 "$work/$1.err")"
}
# stop NAME: SIGTERM, then the exit status must be 0 (deadline 10 s)
stop() {
    local rc=0
    kill -TERM "$srv" 2>/dev/null || true
    timeout 10 tail --pid="$srv" -f /dev/null || true
    wait "$srv" || rc=$?
    exec {out_fd}<&-
    same "$1: SIGTERM stops it with status 0" "$rc" 0
}

# 3. the entrypoint from the exported root, as 65534, loopback ports
serve run chroot --userspec=65534:65534 "$root" /mockapi -addr 127.0.0.1:0 -tls-addr 127.0.0.1:0 \
    -tls-ca-out /tmp/ca.pem
if wait_addrs; then
    check "the entrypoint serves from the exported root as 65534 ($addr, TLS $tls_addr)" 0
    same "it runs as uid 65534" "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$srv/status")" "65534 65534 65534 65534"
    same "it runs as gid 65534" "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$srv/status")" "65534 65534 65534 65534"
    code=$(curl_ -o "$work/ping" -w '%{http_code}' "http://$addr/v1/ping" 2>&1) || true
    same "GET /v1/ping: 200" "$code" 200
    same "GET /v1/ping: {} and a newline" "$(od -An -c "$work/ping" | tr -s ' ')" "$(printf '{}\n' | od -An -c | tr -s ' ')"
    same "the CA file it wrote in the root's /tmp is 65534's" "$(stat -c %u "$root/tmp/ca.pem" 2>&1)" 65534
    same "TLS POST /local/metrics, verified with that CA: 204" \
        "$(curl_ --cacert "$root/tmp/ca.pem" -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer e2e-local-bearer-token' \
            --data-binary 'm 1' "https://$tls_addr/local/metrics" 2>&1)" 204
    rc=0
    chroot --userspec=65534:65534 "$root" /mockapi -check "http://$addr/v1/ping" >/dev/null 2>"$work/check.err" || rc=$?
    same "/mockapi -check (the image's health check: no shell, no curl in it) exits 0" "$rc" 0
    stop "run"
else
    why_not run
    check "the entrypoint serves from the exported root as 65534: $why" 1
fi

# 4. the image's own entrypoint and command, in a network namespace of its own
# (one argument a line; sed drops the empty line inspect ends its output with)
mapfile -t argv < <(insp '{{range .Config.Entrypoint}}{{println .}}{{end}}{{range .Config.Cmd}}{{println .}}{{end}}' | sed '$d')
serve default unshare -n chroot --userspec=65534:65534 "$root" "${argv[@]}"
if wait_addrs; then
    same "the default command's plain listener" "$addr" "[::]:8080"
    same "the default command's TLS listener" "$tls_addr" "[::]:8443"
    stop "default"
else
    why_not default
    check "the default command (${argv[*]}) binds: $why" 1
fi
finish
