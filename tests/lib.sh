# lib.sh: what the binary's shell tests share (sourced by tests/smoke.sh and
# tests/startup.sh): a scratch folder removed at exit with every background
# job, the pass/fail tally, curl without proxies, and waiting for a line.
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
pass=0
fail=0
check() { # check NAME CONDITION-EXIT-STATUS
    if [ "$2" -eq 0 ]; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1"; fi
}
curl_() { curl --noproxy '*' -sS --max-time 5 "$@"; }

# wait_line FILE PREFIX: waits (deadline 10 s) for a line starting with PREFIX
# and prints what follows its '='
wait_line() {
    local deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ]; do
        grep -q "^$2" "$1" 2>/dev/null && { grep "^$2" "$1" | head -n1 | cut -d= -f2; return 0; }
        read -r -t 0.02 <> <(:) || true
    done
    return 1
}

# refused WANT_RC MESSAGE NAME -- ARGS...: runs $bin (environment as
# set by the caller) with a 10 s bound; it must exit WANT_RC, print nothing
# on stdout and MESSAGE (a fixed string) on stderr
refused() {
    local want=$1 msg=$2 name=$3
    shift 4
    timeout 10 "$bin" "$@" >"$work/r.out" 2>"$work/r.err"
    local rc=$?
    if [ $rc -eq "$want" ] && [ ! -s "$work/r.out" ] && grep -qF -- "$msg" "$work/r.err"; then
        check "$name (exit $want)" 0
    else
        check "$name (exit $want): got exit $rc, stdout [$(head -c 100 "$work/r.out")], stderr [$(head -n 1 "$work/r.err")]" 1
    fi
}
