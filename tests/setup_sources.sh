#!/usr/bin/env bash
# setup_sources.sh: ci/setup.sh derives its deb-src list correctly from both
# apt formats (deb822 .sources, as containers have; one-line sources.list, as
# installed systems have), keeps only this Debian release's suites, honours
# Enabled: no and drops third-party repositories. Fake apt directories are
# built here; the URIs are placeholders and nothing is fetched.
# Then --civetweb-src: a fake civetweb tree is copied and its version named,
# a folder that is no civetweb and an unsupported version are refused
# clearly and change nothing. Those runs install no package
# (MOCKAPI_SETUP_PACKAGES=0) and write only under a temporary
# MOCKAPI_THIRD_PARTY_DIR, never the real build/third_party.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
check() {
    if [ "$2" -eq 0 ]; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1"; fi
}
derive() { MOCKAPI_APT_ETC="$1" bash "$top/ci/setup.sh" --print-sources 2>&1; }

# deb822
mkdir -p "$work/a/sources.list.d"
cat >"$work/a/sources.list.d/debian.sources" <<EOT
Types: deb
URIs: http://mirror.test/debian
Suites: $codename $codename-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# a comment inside a stanza
URIs: http://mirror.test/debian-security
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.test/disabled
Suites: $codename
Components: main
Enabled: no
EOT
cat >"$work/a/sources.list.d/vendor.sources" <<EOT
Types: deb
URIs: https://vendor.test/apt
Suites: nodistro
Components: main
EOT
out=$(derive "$work/a")
echo "$out" | grep -qx "deb-src \[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg\] http://mirror.test/debian $codename main contrib"
check "deb822: the release suite becomes deb-src with its key and components" $?
echo "$out" | grep -q "http://mirror.test/debian $codename-updates main contrib"
check "deb822: every suite of a stanza is kept" $?
echo "$out" | grep -q "debian-security $codename-security main"
check "deb822: comments inside a stanza are ignored" $?
! echo "$out" | grep -q "disabled"
check "deb822: Enabled: no is honoured" $?
! echo "$out" | grep -q "vendor.test"
check "deb822: third-party suites are dropped" $?

# one-line
mkdir -p "$work/b/sources.list.d"
cat >"$work/b/sources.list" <<EOT
# the installer's file
deb http://mirror.test/debian $codename main
deb-src http://mirror.test/debian $codename main
deb [arch=amd64 signed-by=/k.gpg] http://mirror.test/security $codename-security main non-free-firmware
deb https://vendor.test/apt cloud-sdk-$codename main
EOT
out=$(derive "$work/b")
echo "$out" | grep -q "^deb-src  *http://mirror.test/debian $codename main$"
check "one-line: a plain deb line becomes deb-src" $?
echo "$out" | grep -q "^deb-src \[arch=amd64 signed-by=/k.gpg\] http://mirror.test/security $codename-security main non-free-firmware$"
check "one-line: options and components are kept" $?
! echo "$out" | grep -q "vendor.test"
check "one-line: a suite merely containing the codename is dropped" $?
[ "$(echo "$out" | grep -c '^deb-src')" -eq 2 ]
check "one-line: existing deb-src lines are not duplicated" $?

# nothing usable: a clear error
mkdir -p "$work/c/sources.list.d"
out=$(derive "$work/c")
rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "found no Debian"
check "no Debian source: a clear error" $?

# --civetweb-src (the option is under test here, not the caller's choice)
unset MOCKAPI_CIVETWEB_SRC
# fake_civet DIR VERSION: the two files setup checks, nothing else
fake_civet() {
    mkdir -p "$1/include" "$1/src"
    printf '#define CIVETWEB_VERSION "%s"\n#define CIVETWEB_VERSION_MAJOR (1)\n' "$2" >"$1/include/civetweb.h"
    echo "/* $2 */" >"$1/src/civetweb.c"
}
civet() { MOCKAPI_SETUP_PACKAGES=0 MOCKAPI_THIRD_PARTY_DIR="$work/tp" bash "$top/ci/setup.sh" "$@" 2>&1; }
fake_civet "$work/civet116" 1.16
mkdir -p "$work/civet116/.git" && echo x >"$work/civet116/.git/HEAD"
out=$(civet --civetweb-src "$work/civet116")
rc=$?
[ $rc -eq 0 ] && cmp -s "$work/civet116/src/civetweb.c" "$work/tp/civetweb/src/civetweb.c" &&
    cmp -s "$work/civet116/include/civetweb.h" "$work/tp/civetweb/include/civetweb.h"
check "--civetweb-src: the tree is copied into third_party/civetweb" $?
echo "$out" | grep -q "civetweb 1.16 .*(supported)"
check "--civetweb-src: the version found is named as supported" $?
[ ! -e "$work/tp/civetweb/.git" ]
check "--civetweb-src: a .git folder is not copied" $?
out=$(civet --civetweb-src "$work/civet116")
[ $? -eq 0 ] && ! echo "$out" | grep -q copied
check "--civetweb-src: the same tree again is not copied again" $?
fake_civet "$work/civet115" 1.15
out=$(MOCKAPI_CIVETWEB_SRC="$work/civet115" civet)
[ $? -eq 0 ] && grep -q '"1.15"' "$work/tp/civetweb/include/civetweb.h" && echo "$out" | grep -q "civetweb 1.15 "
check "MOCKAPI_CIVETWEB_SRC: another tree replaces the one there" $?
out=$(civet)
[ $? -eq 0 ] && echo "$out" | grep -qF "civetweb 1.15 in $work/tp/civetweb (supported)"
check "without the option: the tree there is kept and its version named" $?

mkdir -p "$work/notcivet/src" && echo "int x;" >"$work/notcivet/src/main.c"
out=$(civet --civetweb-src "$work/notcivet")
rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "is not a civetweb source tree" && grep -q '"1.15"' "$work/tp/civetweb/include/civetweb.h"
check "--civetweb-src: a folder that is no civetweb is refused clearly, nothing replaced" $?
out=$(civet --civetweb-src "$work/does-not-exist")
[ $? -ne 0 ] && echo "$out" | grep -q "no such directory"
check "--civetweb-src: a missing folder is refused clearly" $?
fake_civet "$work/civet114" 1.14
out=$(civet --civetweb-src "$work/civet114")
rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "civetweb 1.14 .* not supported.*1.15 or 1.16" && grep -q '"1.15"' "$work/tp/civetweb/include/civetweb.h"
check "--civetweb-src: an unsupported version is refused, naming the supported ones" $?
out=$(civet --civetweb-src)
[ $? -eq 2 ] && echo "$out" | grep -q usage
check "--civetweb-src without a folder: a usage error" $?

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
