#!/usr/bin/env bash
# run.sh: mockassert's corpus. Each directory under tests/assert/cases/ is one
# case, run against a fresh mockapi:
#   server   (optional) extra mockapi flags, one line; "none": no server is
#            started and ADDR is a port nothing listens on
#   replay   (optional) requests sent before mockassert runs, one a line:
#              METHOD PATH [BODY]            plain listener
#              tls METHOD PATH [BODY]        TLS listener, with the bearer token
#              gzip METHOD PATH [BODY]       body sent gzip-compressed
#              repeat N METHOD PATH [BODY]   N times
#              pause MS                      wait MS milliseconds
#              paced MS N METHOD PATH [BODY] N requests MS ms apart, paced by
#                                            one curl (--rate), for timing cases
#              after MS METHOD PATH [BODY]   sent by a background job MS ms
#                                            after mockassert starts
#              header NAME: VALUE            sent with the next request line
#                                            only (several lines add up)
#   cmd      mockassert's arguments, one line (default: expect.yaml)
#   no-url   (optional, empty) do not export MOCKAPI_URL
#   stdout   expected stdout;   stderr (optional) expected stderr
#   exit     expected exit status
#   check    (optional) bash run afterwards in the work directory; must exit 0
#            (.stdout, .stderr and .elapsed, mockassert's wall time in ms, are there;
#            $MA, $URL, $ADDR, $TLS and mockassert's environment are set). A
#            check of more than one command must `set -e`
#   normalize (optional) sed script applied to stdout and stderr before comparing
#   no-tls   (optional) why the case is skipped with MA_TRANSPORT=tls (one line)
# Case files are copied to a work directory where @ADDR@ (host:port), @URL@,
# @TLSURL@ and @CA@ are replaced; mockassert runs there with NO_COLOR=1 and,
# unless no-url, MOCKAPI_URL=@URL@. In stdout/stderr the address is
# normalised to ADDR (and the TLS one to TLSADDR) before comparing.
#
# MA_TRANSPORT=tls runs the same cases with mockassert talking to the TLS
# listener of the same mockapi (the same expected stdout, stderr and exit):
# the server gets -tls-addr 127.0.0.1:0 -tls-ca-out FILE unless its flags
# already have a TLS listener; @URL@ and MOCKAPI_URL become https://TLSADDR;
# mockassert gets --cacert FILE (after its command word), and so does $MA in
# check scripts (a wrapper), whose $URL is the https one too. @ADDR@ and
# $ADDR stay the plain host:port (that form means http://, by definition).
# Replay lines keep their listener (plain unless "tls"). In the output,
# https://TLSADDR is normalised to http://ADDR first, so the plain run's
# expected files serve both. Skipped over TLS, each with its reason printed:
# cases with "server: none" (no mockapi to reach) and cases with a no-tls file.
#
# Usage: tests/assert/run.sh path/to/mockapi path/to/mockassert [CASE...]
# Prints one line per case and "N passed, M failed"; exits 1 if any failed.
# MA_BLESS=1 records the actual stdout (stderr if the case has one) and exit
# status as the expectation: a development aid, review what it writes.
# MA_WRAP="valgrind -q --error-exitcode=99 --leak-check=full" runs mockassert
# under a wrapper. MA_KEEP=1 keeps the scratch folder (its path on stderr).
# tests/assert/mutate.sh sources this file for its functions (ma_* below);
# nothing runs unless it is executed.

# ma_init MOCKAPI MOCKASSERT: the binaries, the transport and a scratch folder
# (removed at exit with every server and job still running)
ma_init() {
    unset MOCKAPI_URL MOCKAPI_ADDR MOCKAPI_ADMIN_TOKEN # cases choose their own server
    mockapi=$(realpath "${1:?usage: run.sh MOCKAPI MOCKASSERT [CASE...]}") || exit 2
    mockassert=$(realpath "${2:?usage: run.sh MOCKAPI MOCKASSERT [CASE...]}") || exit 2
    transport=${MA_TRANSPORT:-plain}
    case "$transport" in plain | tls) ;; *) echo "MA_TRANSPORT is plain or tls, not $transport" >&2; exit 2 ;; esac
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    work=$(mktemp -d)
    server_pid=
    bg_pid=
    trap ma_cleanup EXIT
    # $MA in check scripts over TLS: mockassert with --cacert after its command word
    cat >"$work/ma-tls" <<'EOF'
#!/usr/bin/env bash
case "${1:-}" in
run | lint | snapshot | wait | reset) c=$1; shift; exec "$MA_REAL" "$c" --cacert "$MA_TLS_CACERT" "$@" ;;
esac
exec "$MA_REAL" --cacert "$MA_TLS_CACERT" "$@"
EOF
    chmod +x "$work/ma-tls"
}

ma_cleanup() {
    [ -n "${bg_pid:-}" ] && kill "$bg_pid" 2>/dev/null
    [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    if [ -n "${MA_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}

# wait_line FILE PREFIX: the value of the first PREFIX=... line (deadline 10 s)
wait_line() {
    local deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ]; do
        if grep -q "^$2=" "$1" 2>/dev/null; then
            grep "^$2=" "$1" | head -n1 | cut -d= -f2-
            return 0
        fi
        read -r -t 0.01 <> <(:) || true
    done
    return 1
}

# send [tls|gzip] METHOD PATH [BODY]; with PACE_MS and PACE_N set, sends it
# PACE_N times, PACE_MS apart, from one curl process
send() {
    local mode=plain
    case "$1" in tls | gzip) mode=$1; shift ;; esac
    local method=$1 path=$2
    shift 2
    local body="$*"
    local args=(--noproxy '*' -sS -o /dev/null --max-time 10 -X "$method")
    local h
    for h in "${HEADERS[@]}"; do args+=(-H "$h"); done
    local url="http://$addr$path"
    if [ "$mode" = tls ]; then
        url="https://$tls$path"
        args+=(--cacert "$ca" -H 'Authorization: Bearer e2e-local-bearer-token')
    fi
    if [ -n "$body" ]; then
        args+=(-H 'Content-Type: application/json')
        if [ "$mode" = gzip ]; then
            printf '%s' "$body" | gzip -c >"$cdir/.gz"
            args+=(-H 'Content-Encoding: gzip' --data-binary "@$cdir/.gz")
        else
            args+=(--data-binary "$body")
        fi
    fi
    if [ -n "${PACE_N:-}" ]; then
        local urls=() i
        for ((i = 0; i < PACE_N; i++)); do urls+=("$url"); args+=(-o /dev/null); done
        curl --rate "$((3600000 / PACE_MS))/h" "${args[@]}" "${urls[@]}"
        return
    fi
    curl "${args[@]}" "$url"
}

HEADERS=() # from "header" lines, for the next request line
replay_line() { # one replay line (not "after")
    case "$1" in header\ *) HEADERS+=("${1#header }"); return ;; esac
    set -f
    # shellcheck disable=SC2086
    set -- $1
    set +f
    case "$1" in
    pause) read -r -t "$(awk "BEGIN{print $2/1000}")" <> <(:) || true ;;
    paced)
        local ms=$2 n=$3
        shift 3
        PACE_MS=$ms PACE_N=$n send "$@"
        ;;
    repeat)
        local n=$2 i
        shift 2
        for ((i = 0; i < n; i++)); do send "$@"; done
        ;;
    *) send "$@" ;;
    esac
    HEADERS=()
}

normalise() { # normalise FILE
    local f=$1
    # over TLS the server mockassert names is the TLS listener: write it as
    # the plain run does, so one expected file serves both
    [ "$transport" = tls ] && [ -n "${tls:-}" ] && sed -i "s#https://$tls#http://ADDR#g" "$f"
    [ -n "${addr:-}" ] && sed -i "s#$addr#ADDR#g" "$f"
    [ -n "${tls:-}" ] && sed -i "s#$tls#TLSADDR#g" "$f"
    [ -f "$cdir/normalize" ] && sed -i -f "$cdir/normalize" "$f"
    return 0
}

# ma_tls_skip SRC: prints why SRC is not run over TLS (status 1 if it is)
ma_tls_skip() {
    if [ -f "$1/server" ] && [ "$(cat "$1/server")" = none ]; then
        echo "server: none (no mockapi to reach)"
    elif [ -f "$1/no-tls" ]; then
        head -n 1 "$1/no-tls"
    else
        return 1
    fi
}

# ma_setup SRC CDIR [EXTRA-SERVER-FLAGS]: copies the case SRC to CDIR, starts
# its mockapi (sets addr, tls, ca, url, ma_url, server_pid) and replaces the
# placeholders in CDIR's files. The replay is ma_replay's job.
ma_setup() {
    local src=$1 extra=${3:-}
    cdir=$2
    rm -rf "$cdir"
    cp -r "$src" "$cdir"
    addr='' tls='' ca=$cdir/ca.pem server_pid='' bg_pid=
    local sflags=""
    [ -f "$src/server" ] && sflags=$(cat "$src/server")
    if [ "$sflags" = none ]; then
        # a port nothing listens on: one a mockapi had, after it stopped
        "$mockapi" -addr 127.0.0.1:0 -tls-addr off >"$cdir/.server.out" 2>/dev/null &
        local p=$!
        addr=$(wait_line "$cdir/.server.out" MOCKAPI_ADDR) || { echo "server did not start"; return 1; }
        kill "$p"
        wait "$p" 2>/dev/null
    else
        sflags=${sflags//@CA@/$cdir/ca.pem}
        sflags="$sflags $extra"
        if [ "$transport" = tls ] || [[ "$extra" == *-tls-addr* ]]; then
            if [[ "$sflags" != *-tls-addr* ]]; then
                sflags="$sflags -tls-addr 127.0.0.1:0"
            fi
            local re='-tls-ca-out[= ]+([^ ]+)'
            if [[ "$sflags" =~ $re ]]; then
                ca=${BASH_REMATCH[1]}
            else
                ca=$cdir/.tls-ca.pem
                sflags="$sflags -tls-ca-out $ca"
            fi
        fi
        # shellcheck disable=SC2086
        "$mockapi" -addr 127.0.0.1:0 -tls-addr off $sflags >"$cdir/.server.out" 2>"$cdir/.server.err" &
        server_pid=$!
        addr=$(wait_line "$cdir/.server.out" MOCKAPI_ADDR) || { echo "server did not start: $(cat "$cdir/.server.err")"; return 1; }
        if [[ "$sflags" == *-tls-addr* ]]; then
            tls=$(wait_line "$cdir/.server.out" MOCKAPI_TLS_ADDR) || { echo "no TLS address"; return 1; }
        fi
    fi
    url=http://$addr
    ma_url=$url
    [ "$transport" = tls ] && [ -n "$tls" ] && ma_url=https://$tls
    local f
    while IFS= read -r -d '' f; do
        ma_subst "$f"
    done < <(find "$cdir" -type f ! -name '.*' -print0)
}

# ma_subst FILE: replaces the placeholders in FILE (after ma_setup)
ma_subst() {
    sed -i "s#@ADDR@#$addr#g; s#@URL@#$ma_url#g; s#@TLSURL@#https://$tls#g; s#@CA@#$cdir/ca.pem#g" "$1"
}

# ma_replay [FILE]: sends the replay (default CDIR/replay); "after" lines go to
# a background job (bg_pid) that starts now
ma_replay() {
    local file=${1:-$cdir/replay} line
    [ -f "$file" ] || return 0
    local afters=()
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in '' | '#'*) continue ;; after\ *) afters+=("$line"); continue ;; esac
        replay_line "$line" || { echo "replay failed: $line"; return 1; }
    done <"$file"
    if [ ${#afters[@]} -gt 0 ]; then
        (
            for line in "${afters[@]}"; do
                set -f
                # shellcheck disable=SC2086
                set -- $line
                set +f
                read -r -t "$(awk "BEGIN{print $2/1000}")" <> <(:) || true
                shift 2
                replay_line "$*"
            done
        ) &
        bg_pid=$!
    fi
}

# ma_run [ARGS...]: runs mockassert in CDIR (default arguments: CDIR/cmd, else
# expect.yaml) into .stdout/.stderr/.elapsed, normalised; sets rc. Over TLS,
# --cacert goes after the command word.
ma_run() {
    local args=()
    if [ $# -gt 0 ]; then
        args=("$@")
    else
        local cmd="expect.yaml"
        [ -f "$cdir/cmd" ] && cmd=$(cat "$cdir/cmd")
        set -f
        # shellcheck disable=SC2206
        args=($cmd)
        set +f
    fi
    if [ "$transport" = tls ] && [ -n "$tls" ]; then
        case "${args[0]:-}" in
        run | lint | snapshot | wait | reset) args=("${args[0]}" --cacert "$ca" "${args[@]:1}") ;;
        *) args=(--cacert "$ca" "${args[@]}") ;;
        esac
    fi
    local envs=(NO_COLOR=1)
    [ -f "$cdir/no-url" ] || envs+=("MOCKAPI_URL=$ma_url")
    local t0=${EPOCHREALTIME/./}
    (
        cd "$cdir" || exit 99
        # shellcheck disable=SC2086
        env -u MOCKAPI_URL -u MOCKAPI_ADDR -u MOCKAPI_ADMIN_TOKEN "${envs[@]}" MA="$mockassert" ${MA_WRAP:-} "$mockassert" "${args[@]}" >"$cdir/.stdout" 2>"$cdir/.stderr"
    )
    rc=$?
    echo $(((${EPOCHREALTIME/./} - t0) / 1000)) >"$cdir/.elapsed" # ms, for check scripts
    [ -n "$bg_pid" ] && { wait "$bg_pid" 2>/dev/null; bg_pid=; }
    normalise "$cdir/.stdout"
    normalise "$cdir/.stderr"
}

# ma_tls_guard: over TLS, fails if mockassert sent any request to the plain
# listener (its User-Agent is "mockassert"), as a case naming its server in
# the host:port form would; prints how many. A journal it cannot read (an
# admin token, the journal off) proves nothing either way: passes.
ma_tls_guard() {
    [ "$transport" = tls ] && [ -n "$server_pid" ] || return 0
    local j n
    j=$(curl --noproxy '*' -s --max-time 10 -f "$url/test/requests?include_test=1&limit=100000") || return 0
    n=$(printf '%s' "$j" | sed 's/{"seq":/\n&/g' | grep '"listener_kind":"http"' | grep -c '\["User-Agent","mockassert"\]')
    [ "$n" -eq 0 ] || { echo "over TLS, mockassert sent $n requests to the plain listener"; return 1; }
}

# ma_check: runs CDIR/check, if any, with MA, URL, ADDR, TLS and the
# environment mockassert had (NO_COLOR=1, MOCKAPI_URL unless no-url); a
# check of several commands must say `set -e`, else only its last command's
# status would count (status of it; the reason in .check)
ma_check() {
    [ -f "$cdir/check" ] || return 0
    local n
    n=$(grep -cvE '^[[:space:]]*(#|$)' "$cdir/check")
    if [ "$n" -gt 1 ] && ! grep -qE '^[[:space:]]*set -[a-z]*e' "$cdir/check"; then
        echo "the check has $n commands but no 'set -e': only the last one's status would count" >"$cdir/.check"
        return 1
    fi
    local ma=$mockassert check_url=$url
    if [ "$transport" = tls ] && [ -n "$tls" ]; then
        ma=$work/ma-tls
        check_url=https://$tls
    fi
    local envs=(NO_COLOR=1)
    [ -f "$cdir/no-url" ] || envs+=("MOCKAPI_URL=$ma_url")
    (cd "$cdir" && env "${envs[@]}" MA="$ma" MA_REAL="$mockassert" MA_TLS_CACERT="$ca" URL="$check_url" ADDR="$addr" \
        TLS="$tls" bash ./check >"$cdir/.check" 2>&1)
}

# ma_stop: stops the case's background job and server
ma_stop() {
    [ -n "$bg_pid" ] && kill "$bg_pid" 2>/dev/null
    bg_pid=
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    server_pid=
}

run_case_inner() {
    local name=$1 src=$here/cases/$1
    ma_setup "$src" "$work/$name" || return 1
    ma_replay || return 1
    ma_run
    if [ -n "${MA_BLESS:-}" ]; then
        # development aid: record what happened as the expectation (review it!)
        cp "$cdir/.stdout" "$src/stdout"
        echo "$rc" >"$src/exit"
        [ -f "$src/stderr" ] && cp "$cdir/.stderr" "$src/stderr"
    fi
    local ok=1 why=""
    local want_rc=0
    [ -f "$src/exit" ] && want_rc=$(cat "$src/exit")
    if [ "$rc" != "$want_rc" ]; then ok=0; why="exit $rc, expected $want_rc"; fi
    if [ -f "$src/stdout" ] && ! diff -u "$src/stdout" "$cdir/.stdout" >"$cdir/.diff"; then
        ok=0; why="${why:+$why; }stdout differs"
    fi
    if [ -f "$src/stderr" ] && ! diff -u "$src/stderr" "$cdir/.stderr" >>"$cdir/.diff"; then
        ok=0; why="${why:+$why; }stderr differs"
    fi
    if [ $ok = 1 ] && ! why=$(ma_tls_guard); then
        ok=0
    fi
    if [ $ok = 1 ] && ! ma_check; then
        ok=0; why="check failed: $(tail -n 5 "$cdir/.check")"
    fi
    if [ $ok = 1 ]; then
        return 0
    fi
    echo "$why"
    [ -s "$cdir/.diff" ] && head -n 60 "$cdir/.diff"
    [ -s "$cdir/.stderr" ] && { echo "--- stderr:"; head -n 20 "$cdir/.stderr"; }
    return 1
}

# run_case NAME: runs one case; always stops its server
run_case() {
    run_case_inner "$1"
    local r=$?
    ma_stop
    return $r
}

ma_main() {
    set -uo pipefail
    ma_init "$@"
    shift 2
    local pass=0 fail=0 skip=0 c start us out why
    local cases=("$@")
    if [ ${#cases[@]} -eq 0 ]; then
        for d in "$here"/cases/*/; do cases+=("$(basename "$d")"); done
    fi
    for c in "${cases[@]}"; do
        if [ "$transport" = tls ] && why=$(ma_tls_skip "$here/cases/$c"); then
            skip=$((skip + 1))
            printf 'skip  %-32s over TLS: %s\n' "$c" "$why"
            continue
        fi
        start=${EPOCHREALTIME/./}
        if out=$(run_case "$c"); then
            pass=$((pass + 1))
            us=$((${EPOCHREALTIME/./} - start))
            printf 'ok    %-32s %4d ms\n' "$c" $((us / 1000))
        else
            fail=$((fail + 1))
            printf 'FAIL  %s\n' "$c"
            printf '%s\n' "$out" | sed 's/^/      /'
        fi
    done
    [ "$transport" = tls ] && echo "($skip skipped over TLS)"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    ma_main "$@"
fi
