#!/usr/bin/env bash
# install.sh (test): mockapi installed the way a user installs it, and used
# with nothing but what was installed.
#
#  1. `DESTDIR=TMP PREFIX=/usr bash ci/install.sh` puts exactly the seven
#     files in place with their modes; the archive holds civetweb's objects
#     and every one of libmockapi's; mockapi.pc names the header's version.
#  2. A C program in a folder outside the repository, compiled with only
#     `pkg-config --cflags --libs --static mockapi` (PKG_CONFIG_SYSROOT_DIR=
#     TMP: the staged /usr stands for the real one), creates an instance,
#     starts it on 127.0.0.1:0, GETs /v1/ping over a raw socket and checks
#     the answer is 200 with "{}\n", stops and frees it, and checks
#     mockapi_version() against MOCKAPI_VERSION.
#  3. The installed `mockapi -version`, `--version` and `mockassert
#     --version` print that version.
#  4. The man pages render without a warning (man -l; else groff; else the
#     .TH line is checked), and document every flag of the binaries' --help.
#  5. `bash ci/deb.sh` builds build/mockapi_<version>_<arch>.deb whose
#     `dpkg-deb -c` lists the same files (owned by root) and whose fields
#     name the package, version and architecture and a package for every
#     shared library the binaries need; its contents equal the install's.
#
# Usage: bash tests/install.sh      (builds release first when missing)
# Prints one line per check and "N passed, M failed"; exit status 0 when
# every check passed, 1 otherwise, 2 on a usage error.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ $# -gt 0 ]; then
    sed -n '/^# Usage:/,/^# every check/s/^# \{0,1\}//p' "$0" >&2
    exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
check() { # check NAME CONDITION-EXIT-STATUS [DETAIL]
    if [ "$2" -eq 0 ]; then
        pass=$((pass + 1)); echo "ok   $1"
    else
        fail=$((fail + 1)); echo "FAIL $1${3:+: $3}"
    fi
}
ok() { check "$1" 0; }
bad() { check "$1" 1 "${2:-}"; }

version=$(sed -n 's/^#define MOCKAPI_VERSION "\([^"]*\)"$/\1/p' include/mockapi.h)
[ -n "$version" ] || { echo "FAIL no MOCKAPI_VERSION in include/mockapi.h"; exit 1; }
[ -x build/release/mockapi ] && [ -x build/release/mockassert ] && [ -f build/release/libmockapi.a ] ||
    bash ci/build.sh release >/dev/null

# ---- 1. the install ------------------------------------------------------
root=$work/root
if DESTDIR=$root PREFIX=/usr bash ci/install.sh >"$work/install.log" 2>&1; then
    ok "ci/install.sh into DESTDIR with PREFIX=/usr"
else
    bad "ci/install.sh into DESTDIR with PREFIX=/usr" "$(tail -n 3 "$work/install.log")"
    echo "$pass passed, $fail failed"
    exit 1
fi
want_files="644 usr/include/mockapi.h
644 usr/lib/libmockapi.a
644 usr/lib/pkgconfig/mockapi.pc
644 usr/share/man/man1/mockapi.1
644 usr/share/man/man1/mockassert.1
755 usr/bin/mockapi
755 usr/bin/mockassert"
got_files=$(cd "$root" && find . -type f -printf '%m %P\n' | sort)
[ "$got_files" = "$want_files" ] && r=0 || r=1
check "exactly the seven files, with modes 0644/0755" $r "$(echo "$got_files" | tr '\n' ';')"
odd_dirs=$(cd "$root" && find usr -type d ! -perm 755 -printf '%m %P ')
[ -z "$odd_dirs" ] && r=0 || r=1
check "every folder is 0755" $r "$odd_dirs"
cmp -s include/mockapi.h "$root/usr/include/mockapi.h" && r=0 || r=1
check "the installed header is include/mockapi.h" $r
members=$(ar t "$root/usr/lib/libmockapi.a" | sort)
missing=$(ar t build/release/libmockapi.a build/release/libcivetweb.a 2>/dev/null | sort | comm -23 - <(echo "$members"))
[ -n "$members" ] && [ -z "$missing" ] && grep -qx civetweb_build.o <<<"$members" && r=0 || r=1
check "libmockapi.a is one archive with civetweb's objects and libmockapi's" $r "missing: $missing"
grep -qx "Version: $version" "$root/usr/lib/pkgconfig/mockapi.pc" &&
    grep -qx "prefix=/usr" "$root/usr/lib/pkgconfig/mockapi.pc" && r=0 || r=1
check "mockapi.pc: prefix=/usr, Version: $version" $r

# ---- 2. a program built outside the repository with pkg-config only --------
prog=$work/prog
mkdir -p "$prog"
cat >"$prog/ping.c" <<'EOF'
/* Starts a mockapi, GETs /v1/ping with a raw socket, stops it. */
#include <arpa/inet.h>
#include <mockapi.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "ping: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

int main(void)
{
    if (strcmp(mockapi_version(), MOCKAPI_VERSION) != 0)
        return fail("mockapi_version() differs from MOCKAPI_VERSION", mockapi_version());
    mockapi_config cfg;
    mockapi_config_init(&cfg); /* 127.0.0.1:0, no TLS */
    cfg.addr = "127.0.0.1:0";
    mockapi *m = NULL;
    char err[256] = "";
    if (mockapi_create(&cfg, &m, err, sizeof err) != MOCKAPI_OK || mockapi_start(m, err, sizeof err) != MOCKAPI_OK) {
        mockapi_free(m);
        return fail("start", err);
    }
    int port = mockapi_port(m, MOCKAPI_LISTENER_HTTP);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 5}; /* a bound, not a pause: recv returns as data comes */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    static const char req[] = "GET /v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    char resp[4096];
    size_t n = 0;
    if (port <= 0 || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        send(fd, req, sizeof req - 1, 0) != (ssize_t)(sizeof req - 1))
        return fail("connect or send", NULL);
    for (ssize_t r; n < sizeof resp - 1 && (r = recv(fd, resp + n, sizeof resp - 1 - n, 0)) > 0;)
        n += (size_t)r;
    resp[n] = '\0';
    close(fd);
    mockapi_stop(m);
    mockapi_free(m);
    const char *body = strstr(resp, "\r\n\r\n");
    if (strncmp(resp, "HTTP/1.1 200 ", 13) != 0 || !body || strcmp(body + 4, "{}\n") != 0)
        return fail("GET /v1/ping did not answer 200 {}", resp);
    printf("ping ok, version %s, port %d\n", mockapi_version(), port);
    return 0;
}
EOF
pc() { # pkg-config as a user of the staged /usr runs it
    env -u PKG_CONFIG_LIBDIR PKG_CONFIG_PATH="$root/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root" \
        pkg-config "$@"
}
if flags=$(pc --cflags --libs --static mockapi 2>"$work/pc.err"); then
    ok "pkg-config --cflags --libs --static mockapi: $flags"
else
    bad "pkg-config --cflags --libs --static mockapi" "$(cat "$work/pc.err")"
fi
[ "$(pc --modversion mockapi 2>/dev/null)" = "$version" ] && r=0 || r=1
check "pkg-config --modversion mockapi is $version" $r
# shellcheck disable=SC2086 # the flags are words
if (cd "$prog" && env -u CPATH -u C_INCLUDE_PATH -u LIBRARY_PATH \
        cc -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -o ping ping.c $flags) >"$work/cc.log" 2>&1; then
    ok "a program outside the repository compiles and links with those flags only"
    if out=$(cd "$prog" && timeout 20 ./ping 2>&1); then
        ok "it starts a mockapi on 127.0.0.1:0, GETs /v1/ping ({}), stops, frees ($out)"
    else
        bad "the program runs" "$out"
    fi
else
    bad "a program outside the repository compiles and links with those flags only" "$(head -n 5 "$work/cc.log")"
fi

# ---- 3. the installed binaries' version -----------------------------------
for cmd in "mockapi -version" "mockapi --version" "mockassert --version"; do
    set -- $cmd
    got=$("$root/usr/bin/$1" "$2" 2>&1) || true
    [ "$got" = "$1 $version" ] && r=0 || r=1
    check "$cmd prints \"$1 $version\"" $r "got \"$got\""
done

# ---- 4. the man pages --------------------------------------------------------
for page in mockapi mockassert; do
    f=$root/usr/share/man/man1/$page.1
    if command -v man >/dev/null 2>&1; then
        how="man -l"
        MANWIDTH=80 man --warnings -l "$f" >"$work/page.txt" 2>"$work/page.err" && [ ! -s "$work/page.err" ] &&
            grep -q '^NAME' "$work/page.txt"
    elif command -v groff >/dev/null 2>&1; then
        how="groff -ww"
        groff -man -ww -z "$f" 2>"$work/page.err" && [ ! -s "$work/page.err" ]
    else
        how="its .TH line (no man, no groff)"
        grep -q "^\.TH ${page^^} 1 " "$f"
    fi && r=0 || r=1
    check "$page.1 renders without warnings ($how)" $r "$(head -n 3 "$work/page.err" 2>/dev/null)"
    grep -q "^\.TH ${page^^} 1 \"[^\"]*\" \"$page $version\"" "$f" && r=0 || r=1
    check "$page.1 names version $version" $r
done
# every command, flag and variable the binaries' help lists is in its page
# (a dash is written \- in roff)
in_page() { grep -qwF -- "$(echo "$2" | sed 's/-/\\-/g')" "docs/man/$1.1"; }
undocumented=""
usage=$(build/release/mockapi -h)
commands=$(sed -n '/^commands/,/^$/s/^  \([a-z]*\) .*/\1/p' <<<"$usage")
section=$(sed -n '/^\.SH COMMANDS/,/^\.SH OPTIONS/p' docs/man/mockapi.1)
for cmd in $commands; do
    grep -qE "^\.B[IR]? \"?$cmd\b" <<<"$section" || undocumented+=" $cmd"
    case "$cmd" in serve|help) ;; *) usage+=$'\n'$(build/release/mockapi help "$cmd") ;; esac
done
for word in $(grep -oE '^  --?[a-z-]+' <<<"$usage" | sed 's/^ *//') $(grep -oE '\[[A-Z_]+\]' <<<"$usage" | tr -d '[]'); do
    in_page mockapi "$word" || undocumented+=" $word"
done
[ -n "$commands" ] && [ -z "$undocumented" ] && r=0 || r=1
check "mockapi.1 documents every command, flag and variable of mockapi -h (and each command's help)" $r \
    "missing:$undocumented"
undocumented=""
for opt in $(build/release/mockassert --help | grep -oE '^  -[-a-z]+|, --[a-z-]+' | sed 's/^[ ,]*//') \
           $(build/release/mockassert --help | sed -n 's/^usage: mockassert \([a-z]*\).*/\1/p; s/^ *mockassert \([a-z]*\) .*/\1/p'); do
    in_page mockassert "$opt" || undocumented+=" $opt"
done
[ -z "$undocumented" ] && r=0 || r=1
check "mockassert.1 documents every option and command of mockassert --help" $r "missing:$undocumented"

# ---- 5. the .deb -------------------------------------------------------------
arch=$(dpkg --print-architecture)
deb=build/mockapi_${version}_${arch}.deb
rm -f "$deb"
if got=$(bash ci/deb.sh 2>"$work/deb.log") && [ "$got" = "$top/$deb" ] && [ -f "$deb" ]; then
    ok "ci/deb.sh builds $deb ($(stat -c %s "$deb") bytes)"
else
    bad "ci/deb.sh builds $deb" "printed \"${got:-}\"; $(tail -n 3 "$work/deb.log")"
fi
listed=$(dpkg-deb -c "$deb" 2>/dev/null | awk '$1 ~ /^-/ { sub(/^\.\//, "", $6); print $1, $2, $6 }' | sort -k3)
want_listed=$(echo "$want_files" | awk '{ print ($1 == 755 ? "-rwxr-xr-x" : "-rw-r--r--"), "root/root", $2 }' | sort -k3)
[ -n "$listed" ] && [ "$listed" = "$want_listed" ] && r=0 || r=1
check "dpkg-deb -c lists the seven files, root-owned, same modes" $r "$(echo "$listed" | tr '\n' ';')"
fields_ok=0
for kv in "Package=mockapi" "Version=$version" "Architecture=$arch"; do
    [ "$(dpkg-deb -f "$deb" "${kv%%=*}" 2>/dev/null)" = "${kv#*=}" ] || { fields_ok=1; echo "  ${kv%%=*}: $(dpkg-deb -f "$deb" "${kv%%=*}" 2>&1)"; }
done
check "dpkg-deb -f: Package mockapi, Version $version, Architecture $arch" $fields_ok
depends=$(dpkg-deb -f "$deb" Depends 2>/dev/null || true)
uncovered=""
for bin in mockapi mockassert; do
    for so in $(readelf -d "$root/usr/bin/$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
        path=$(ldd "$root/usr/bin/$bin" | awk -v so="$so" '$1 == so { print $3 }')
        owner=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null || true)
        owner=${owner%%:*}
        [ -n "$owner" ] && [[ ", $depends" == *", $owner ("* ]] || uncovered+=" $so($owner)"
    done
done
[ -n "$depends" ] && [ -z "$uncovered" ] && r=0 || r=1
check "Depends ($depends) names the package of every NEEDED library" $r "not covered:$uncovered"
mkdir -p "$work/x"
dpkg-deb -x "$deb" "$work/x" && diff -r "$root" "$work/x" >"$work/diff.txt" 2>&1 && r=0 || r=1
check "the .deb's contents equal the install's" $r "$(head -n 3 "$work/diff.txt")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
