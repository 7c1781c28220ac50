#!/usr/bin/env bash
# ca_dir.sh: one CA for many instances (README "TLS and the credential
# chain"): -tls-ca-dir DIR and -tls-san NAME, checked with real TLS clients
# (curl --cacert, openssl s_client). Four servers started at the same moment
# on a fresh DIR make one CA and all verify with DIR/ca.pem; a restart reuses
# it (same bytes); -tls-ca-out writes it; a CA made by openssl is used as
# given; -tls-san names reach the leaf (curl --resolve); every refusal exits 2
# with its message and prints nothing on stdout.
# Each check prints one line; the last is "N passed, M failed".
# Usage: tests/ca_dir.sh path/to/mockapi    (needs bash, curl, openssl, setpriv)
# Exit status: 0 when every check passed, 1 otherwise, 2 on usage.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: tests/ca_dir.sh path/to/mockapi" >&2; exit 2; }
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -x "$bin" ] || { echo "ca_dir.sh: $1 is not an executable" >&2; exit 2; }
set +e # every check counts; lib.sh's helpers look at exit statuses themselves
. "$(dirname "$0")/lib.sh"

# serve NAME ARGS...: starts the binary in the background (its pid in
# pid_NAME, its output in $work/NAME.out and .err)
serve() {
    local name=$1
    shift
    "$bin" -addr 127.0.0.1:0 -tls-addr 127.0.0.1:0 "$@" >"$work/$name.out" 2>"$work/$name.err" &
    printf -v "pid_$name" %s $!
}
# tls_of NAME: waits for NAME's TLS line and prints host:port
tls_of() { wait_line "$work/$1.out" MOCKAPI_TLS_ADDR=; }
# stop NAME: SIGTERM; a server must exit 0 with no sanitizer report (the
# debug build's leak check runs at exit)
unclean=''
stop() {
    local p="pid_$1" rc=0
    kill "${!p}" 2>/dev/null
    wait "${!p}" 2>/dev/null || rc=$?
    if [ $rc -ne 0 ] || grep -qE 'Sanitizer|runtime error' "$work/$1.err"; then
        unclean+=" $1 (exit $rc: $(grep -m1 -E 'Sanitizer|runtime error' "$work/$1.err"))"
    fi
}
# leaf ADDR: the server certificate, as text
leaf() { openssl s_client -connect "$1" </dev/null 2>/dev/null | openssl x509 -noout -text -fingerprint 2>/dev/null; }
# sans ADDR: the leaf's subjectAltName line
sans() { local t; t=$(leaf "$1"); t=${t#*Subject Alternative Name:}; t=${t#*$'\n'}; t=${t%%$'\n'*}; echo "${t#"${t%%[! ]*}"}"; }

# 1. four servers start together on a fresh folder (its parent missing too)
dir=$work/new/ca
for i in 1 2 3 4; do serve "s$i" -tls-ca-dir "$dir"; done
addr_1='' addr_2=''
ok=0
for i in 1 2 3 4; do
    a=$(tls_of "s$i") || { ok=1; echo "s$i: no MOCKAPI_TLS_ADDR: $(head -n 3 "$work/s$i.err")"; continue; }
    printf -v "addr_$i" %s "$a"
    # the TLS listener serves the CA it uses; curl verifies it with the file
    curl_ --cacert "$dir/ca.pem" "https://$a/test/ca.pem" -o "$work/served$i.pem" &&
        cmp -s "$work/served$i.pem" "$dir/ca.pem" || ok=1
done
check "four servers started together all verify with one DIR/ca.pem and serve it" $ok
[ "$(cd "$dir" && ls -A | tr '\n' ' ')" = ".lock ca-key.pem ca.pem " ]
check "the folder holds exactly one CA (.lock ca-key.pem ca.pem, nothing else)" $?
[ "$(grep -c 'BEGIN CERTIFICATE' "$dir/ca.pem")" = 1 ] && [[ $(openssl x509 -in "$dir/ca.pem" -noout -text) == *CA:TRUE* ]]
check "ca.pem is one CA certificate" $?
[ "$(stat -c %a "$dir" "$work/new" "$dir/ca-key.pem" | tr '\n' ' ')" = "700 700 600 " ]
check "the folders were made 0700, the key 0600" $?
f1=$(leaf "$addr_1") && f2=$(leaf "$addr_2") && [ -n "$f1" ] && [ "${f1##*Fingerprint}" != "${f2##*Fingerprint}" ]
check "each server signed its own leaf" $?
days=$(( ($(date -d "$(openssl x509 -in "$dir/ca.pem" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s)) / 86400 ))
[ "$days" -ge 3648 ] && [ "$days" -le 3650 ]
check "the folder's CA is valid ten years ($days days left)" $?
[ "$(sans "$addr_1")" = 'DNS:mock-api, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1' ]
check "the leaf's names are the default ones" $?

# 2. a restart reuses the CA: the same bytes, verified again
cp "$dir/ca.pem" "$work/before.pem"
for i in 1 2 3 4; do stop "s$i"; done
serve r -tls-ca-dir "$dir" -tls-ca-out "$work/out.pem"
a=$(tls_of r) && curl_ --cacert "$work/before.pem" "https://$a/test/ca.pem" -o /dev/null &&
    cmp -s "$work/before.pem" "$dir/ca.pem"
check "a restart keeps the CA (ca.pem unchanged, verifies with the old copy)" $?
cmp -s "$work/out.pem" "$dir/ca.pem"
check "-tls-ca-out writes the folder's CA" $?
stop r
MOCKAPI_TLS_CA_DIR=$dir serve e
a=$(tls_of e) && curl_ --cacert "$dir/ca.pem" "https://$a/test/ca.pem" -o /dev/null
check "MOCKAPI_TLS_CA_DIR names the folder too" $?
stop e

# 3. extra names: by flag (repeated, or ',' separated) and by variable
serve n -tls-ca-dir "$dir" -tls-san test.internal -tls-san '10.9.8.7,[fd00::1]' -tls-san '*.svc.test'
a=$(tls_of n)
port=${a##*:}
curl_ --resolve "test.internal:$port:127.0.0.1" --cacert "$dir/ca.pem" "https://test.internal:$port/test/ca.pem" -o /dev/null
check "curl reaches the leaf as test.internal and verifies it" $?
curl_ --resolve "api.svc.test:$port:127.0.0.1" --cacert "$dir/ca.pem" "https://api.svc.test:$port/test/ca.pem" -o /dev/null
check "the wildcard *.svc.test verifies as api.svc.test" $?
curl --noproxy '*' -s --max-time 5 --resolve "other.internal:$port:127.0.0.1" --cacert "$dir/ca.pem" \
    "https://other.internal:$port/test/ca.pem" -o /dev/null
[ $? -eq 60 ]
check "a name not given is refused by curl (exit 60)" $?
[ "$(sans "$a")" = 'DNS:mock-api, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:test.internal, IP Address:10.9.8.7, IP Address:FD00:0:0:0:0:0:0:1, DNS:*.svc.test' ]
check "the leaf lists the defaults, then the names given (openssl x509 -text)" $?
stop n
MOCKAPI_TLS_SAN='gw.test,localhost,127.0.0.1' serve v -tls-ca-dir "$dir"
a=$(tls_of v)
[ "$(sans "$a")" = 'DNS:mock-api, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:gw.test' ]
check "MOCKAPI_TLS_SAN adds its names, a default one only once" $?
stop v
serve t -tls-san test.internal # a throwaway CA with the name
a=$(tls_of t) && curl_ "http://$(wait_line "$work/t.out" MOCKAPI_ADDR=)/test/ca.pem" -o "$work/t.pem" &&
    curl_ --resolve "test.internal:${a##*:}:127.0.0.1" --cacert "$work/t.pem" "https://test.internal:${a##*:}/test/ca.pem" -o /dev/null
check "-tls-san works without -tls-ca-dir (a throwaway CA)" $?
stop t

# 4. a CA made elsewhere (openssl, a PKCS#8 key) is used as given
ext=$work/ext
mkdir -p "$ext"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/O=Example/CN=ext CA' \
    -keyout "$ext/ca-key.pem" -out "$ext/ca.pem" -days 30 2>/dev/null
chmod 600 "$ext/ca-key.pem"
serve x -tls-ca-dir "$ext"
a=$(tls_of x) && curl_ --cacert "$ext/ca.pem" "https://$a/test/ca.pem" -o /dev/null &&
    t=$(leaf "$a") && [[ ${t// /} == *'Issuer:O=Example,CN=extCA'* ]] # openssl 3.0 and 3.5 space it apart differently
check "a CA made by openssl signs the leaf and verifies" $?
stop x

# 5. refusals: exit 2, the message, nothing on stdout, nothing made
touch "$work/file"
refused 2 "mockapi: CA folder $work/file: not a folder (a file of that name is there)" "a DIR that is a file" -- \
    -tls-addr 127.0.0.1:0 -tls-ca-dir "$work/file"
refused 2 "mockapi: CA folder $work/file/sub: a part of the path is a file, not a folder" "a DIR under a file" -- \
    -tls-addr 127.0.0.1:0 -tls-ca-dir "$work/file/sub"
refused 2 "mockapi: -tls-ca-dir needs a TLS listener (-tls-addr is off)" "-tls-ca-dir without TLS" -- \
    -tls-addr off -tls-ca-dir "$dir"
refused 2 "mockapi: -tls-san needs a TLS listener (-tls-addr is off)" "-tls-san without TLS" -- \
    -tls-addr off -tls-san a.test
refused 2 "mockapi: -tls-ca-dir: empty value; give a folder for the CA" "an empty -tls-ca-dir" -- \
    -tls-addr 127.0.0.1:0 -tls-ca-dir ''
# not writable: as root a mode does not stop us, so the server runs as nobody
ro=$work/ro
mkdir -m 755 "$ro"
chmod 711 "$work"
if [ "$(id -u)" = 0 ]; then
    as=(setpriv --reuid 65534 --regid 65534 --clear-groups)
else
    as=()
    chmod 555 "$ro"
fi
"${as[@]}" "$bin" -addr 127.0.0.1:0 -tls-addr 127.0.0.1:0 -tls-ca-dir "$ro" >"$work/ro.out" 2>"$work/ro.err"
rc=$?
[ $rc -eq 2 ] && [ ! -s "$work/ro.out" ] && grep -qF "mockapi: CA folder $ro: not writable: Permission denied" "$work/ro.err" &&
    [ -z "$(ls -A "$ro")" ]
check "an unwritable DIR (exit 2): got $rc, [$(head -n1 "$work/ro.err")]" $?

# the two files, one without the other; a key that does not match; too open
mk() { rm -rf "$work/$1"; mkdir -p "$work/$1"; cp -p "$dir/ca.pem" "$dir/ca-key.pem" "$work/$1/"; }
mk nokey
rm "$work/nokey/ca-key.pem"
refused 2 "mockapi: CA folder $work/nokey: ca.pem is there but its key ca-key.pem is not: put the CA's key in $work/nokey/ca-key.pem, or remove $work/nokey/ca.pem to make a new CA" \
    "ca.pem without its key" -- -tls-addr 127.0.0.1:0 -tls-ca-dir "$work/nokey"
[ ! -e "$work/nokey/ca-key.pem" ]
check "...and no key was made for it" $?
mk nocert
rm "$work/nocert/ca.pem"
refused 2 "mockapi: CA folder $work/nocert: ca-key.pem is there but ca.pem is not" "a key without ca.pem" -- \
    -tls-addr 127.0.0.1:0 -tls-ca-dir "$work/nocert"
mk other
cp -p "$ext/ca-key.pem" "$work/other/ca-key.pem"
refused 2 "mockapi: $work/other/ca-key.pem does not match $work/other/ca.pem: it is another certificate's key" \
    "a key that does not match" -- -tls-addr 127.0.0.1:0 -tls-ca-dir "$work/other"
mk open
chmod 644 "$work/open/ca-key.pem"
refused 2 "mockapi: $work/open/ca-key.pem: permissions 0644 are too open: a CA key must not be accessible by group or others (chmod 600 $work/open/ca-key.pem)" \
    "a key readable by others" -- -tls-addr 127.0.0.1:0 -tls-ca-dir "$work/open"
chmod 640 "$work/open/ca-key.pem"
refused 2 "permissions 0640 are too open" "a key readable by its group" -- -tls-addr 127.0.0.1:0 -tls-ca-dir "$work/open"
mk junk
echo 'not a certificate' >"$work/junk/ca.pem"
refused 2 "mockapi: $work/junk/ca.pem: not a PEM certificate" "a ca.pem that is no certificate" -- \
    -tls-addr 127.0.0.1:0 -tls-ca-dir "$work/junk"
mk junkkey
echo 'not a key' >"$work/junkkey/ca-key.pem"
refused 2 "mockapi: $work/junkkey/ca-key.pem: not a PEM private key without a passphrase" "a ca-key.pem that is no key" -- \
    -tls-addr 127.0.0.1:0 -tls-ca-dir "$work/junkkey"
# a leaf certificate (CA:FALSE) with its own key
mkdir "$work/leafca"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=leaf' -days 30 \
    -addext 'basicConstraints=critical,CA:FALSE' -keyout "$work/leafca/ca-key.pem" -out "$work/leafca/ca.pem" 2>/dev/null
chmod 600 "$work/leafca/ca-key.pem"
refused 2 "mockapi: $work/leafca/ca.pem: not a CA certificate (its basicConstraints do not say CA:TRUE)" \
    "a certificate that is not a CA's" -- -tls-addr 127.0.0.1:0 -tls-ca-dir "$work/leafca"
# openssl_ca DIR SUBJECT START END: a CA with those dates (openssl ca sets them)
printf '[ca]\ndefault_ca=d\n[d]\ndatabase=%s/index\nnew_certs_dir=%s\nserial=%s/serial\ndefault_md=sha256\npolicy=p\nunique_subject=no\nx509_extensions=e\n[p]\ncommonName=supplied\n[e]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign\n' \
    "$work" "$work" "$work" >"$work/ca.cnf"
: >"$work/index"
echo 01 >"$work/serial"
openssl_ca() {
    mkdir -p "$1"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" -keyout "$1/ca-key.pem" \
        -out "$work/ca.csr" 2>/dev/null &&
        openssl ca -batch -notext -config "$work/ca.cnf" -selfsign -keyfile "$1/ca-key.pem" -in "$work/ca.csr" \
            -startdate "$3" -enddate "$4" -out "$1/ca.pem" 2>/dev/null
    chmod 600 "$1/ca-key.pem"
}
old=$work/old
openssl_ca "$old" 'old CA' 20200101000000Z 20200102000000Z
refused 2 "mockapi: $old/ca.pem: the CA expired on 2020-01-02 00:00:00 UTC: remove $old/ca.pem and $old/ca-key.pem to make a new one (clients then need the new ca.pem)" \
    "an expired CA" -- -tls-addr 127.0.0.1:0 -tls-ca-dir "$old"
# a CA that ends within a day serves, with a warning, and the leaf ends with it
soon=$work/soon
openssl_ca "$soon" 'soon CA' "$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)" "$(date -u -d '+2 hours' +%Y%m%d%H%M%SZ)"
serve w -tls-ca-dir "$soon"
a=$(tls_of w) && curl_ --cacert "$soon/ca.pem" "https://$a/test/ca.pem" -o /dev/null &&
    grep -qF "level=WARN msg=\"the CA of $soon/ca.pem expires on $(date -u -d "$(openssl x509 -in "$soon/ca.pem" -noout -enddate | cut -d= -f2)" '+%Y-%m-%d %H:%M:%S UTC') and the server certificate with it" "$work/w.err" &&
    [ "$(leaf "$a" | grep 'Not After')" = "$(openssl x509 -in "$soon/ca.pem" -noout -text | grep 'Not After')" ]
check "a CA ending within a day: served, a warning, the leaf ends with it" $?
stop w

# malformed names
refused 2 "mockapi: -tls-san \"bad_name.test\": '_' is not allowed in a DNS name (letters, digits, '-' and '.') and it is not an IP address" \
    "a name with '_'" -- -tls-addr 127.0.0.1:0 -tls-san bad_name.test
refused 2 "mockapi: -tls-san \"10.0.0.999\": ends in a number, as an IPv4 address, but is not one" \
    "an IPv4 address out of range" -- -tls-addr 127.0.0.1:0 -tls-san 10.0.0.999
refused 2 "mockapi: -tls-san \"a..test\": has an empty label (a dot at an end, or two in a row)" \
    "two dots" -- -tls-addr 127.0.0.1:0 -tls-san a..test
refused 2 "mockapi: -tls-san \"-x.test\": has a label that starts or ends with '-'" \
    "a label starting with '-'" -- -tls-addr 127.0.0.1:0 -tls-san=-x.test
refused 2 "mockapi: -tls-san \"gw:8443\": has ':' but is not an IPv6 address (give a DNS name or an IP address, no port)" \
    "a name with a port" -- -tls-addr 127.0.0.1:0 -tls-san gw:8443
refused 2 "mockapi: -tls-san \"[10.0.0.1]\": not an IPv6 address inside [ ]" \
    "IPv4 in brackets" -- -tls-addr 127.0.0.1:0 -tls-san '[10.0.0.1]'
refused 2 "mockapi: -tls-san \"a.*.test\": '*' only as the whole leftmost label of a longer name (*.example.test)" \
    "a wildcard in the middle" -- -tls-addr 127.0.0.1:0 -tls-san 'a.*.test'
refused 2 "mockapi: -tls-san \"\": empty; give a DNS name or an IP address" \
    "an empty name in a list" -- -tls-addr 127.0.0.1:0 -tls-san 'a.test,'
long=$(printf 'a%.0s' $(seq 64))
refused 2 "mockapi: -tls-san \"$long.test\": has a label of 64 bytes; at most 63" \
    "a label of 64 bytes" -- -tls-addr 127.0.0.1:0 -tls-san "$long.test"
MOCKAPI_TLS_SAN='ok.test,no_pe' refused 2 "mockapi: MOCKAPI_TLS_SAN (-tls-san) \"no_pe\": '_' is not allowed" \
    "a bad name from the variable is named by it" -- -tls-addr 127.0.0.1:0
refused 2 "mockapi: -tls-san: more than 16 names" "17 names" -- -tls-addr 127.0.0.1:0 \
    -tls-san "$(seq -f 'n%g.test' 17 | paste -sd,)"

[ -z "$unclean" ]
check "every server stopped cleanly (exit 0, no sanitizer report)${unclean:+:$unclean}" $?

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
