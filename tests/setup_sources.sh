#!/usr/bin/env bash
# setup_sources.sh: ci/setup.sh derives its deb-src list correctly from both
# apt formats (deb822 .sources, as containers have; one-line sources.list, as
# installed systems have), keeps only this Debian release's suites, honours
# Enabled: no and drops third-party repositories. Fake apt directories are
# built here; the URIs are placeholders and nothing is fetched.
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

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
