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
