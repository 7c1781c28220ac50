#!/usr/bin/env bash
# mutate.sh: a seeded mutation run over mockassert's corpus (tests/assert/cases).
#
# 1. No false pass. Every case that runs expectations against a mockapi and
#    exits 0 or 1 is run once unchanged but settled: the requests its replay
#    sends while mockassert runs ("after MS") are sent before it (MS apart),
#    and `within:` is capped at 100 ms. So every run judges the final state,
#    and a mutant cannot pass early on a state the unchanged run never
#    judged, nor wait long; the settled run must still give the case's exit
#    status. For every expectation that PASSes there, each expected
#    value is changed, one at a time, so that the expectation must fail:
#    build/<config>/ma_mutants (tests/assert/mutants.c, libfyaml) walks the
#    YAML, makes the changes and says why each must fail, or why an
#    operator is left alone (negative operators, anything under not/none/or,
#    filters, ...: see the head of mutants.c). A mutant is killed when
#    mockassert exits 1, reports that expectation as FAIL, and names the
#    mutated place: the file:line:col of the mutated operator and, where the
#    check has a JSON path or a subject (header, query, response), that
#    path (a wildcard as a concrete index); for a counter also the
#    counter's name. Anything else is a failure of this run, printed with
#    the mutant's diff and mockassert's output, except the known findings
#    listed below (`known=`), printed "known" as long as they reproduce.
#    Mutants of a case share one server (mockassert only reads) unless the
#    reads could show: a bounded journal, a filter that asks for /test/
#    entries, a key the walker does not know; each shared server then runs
#    the unchanged files again, which must give the unchanged output.
#    The mutations that need a value no request has use the marker U+00A7
#    "zz"; the run first checks that no replay in the corpus holds it.
#    Cases whose expected exit is 3 are left out: with an untrusted result
#    in the run, a mutant may rightly become untrusted instead of failed.
#
# 2. Seeded. When there are more mutants than MA_MUTATE_MAX (default 250),
#    MA_MUTATE_SEED (default 13) chooses which run (ordered by the CRC of
#    "seed:case/file/mutant"), and places the extra requests of part 3; the
#    seed is printed, and the same seed gives the same run.
#
# 3. No false fail, for cases that exit 0. Their server state is changed in
#    ways no expectation of the case can see, and the output must stay
#    exactly that of the unchanged run (exit 0):
#    - extra requests: a fixed list (a ping, reads of /test/assertions,
#      /test/requests, /test/last-request/heartbeat and /test/stats on both
#      listeners, local logs over TLS, a node's logs, an unrouted path),
#      each sent first to a probe mockapi to learn its route, counter and
#      status. One is irrelevant to a case when it moves no counter the case
#      reads, is captured under no key the case reads (capture key = route),
#      and matches none of the case's filters (requests, order steps,
#      interval; the method, route and status compared as mockassert does,
#      the path glob over-approximated with bash's pattern match, where '*'
#      also crosses '/'; /test/ entries only for filters that ask for /test/
#      routes or paths, as mockassert filters). Irrelevant ones are inserted
#      at seeded places in the replay, between requests ("header" lines stay
#      with theirs; with an interval expectation only before or after them
#      all: between two requests an extra would stretch a gap; a TLS
#      listener is added when the case has none). None are sent to a case
#      with a bounded journal (-journal-entries/-journal-bytes: a new entry
#      may evict one) or with an expectation the rule does not know.
#      Afterwards the journal must show each extra answered as on the probe
#      (else: inconclusive).
#    - another interleaving: when no expectation reads the journal's order
#      (order, interval) and the replay has no pause/paced/after lines, the
#      requests are sent in a seeded order that keeps each route's requests
#      in their order (so every capture's last body stays the last).
#      Afterwards every request must have been answered as in the unchanged
#      run (same method, path, status, route and counter; else:
#      inconclusive, the server's answers depend on the order).
#    And one relevant change, to show the harness can fail: the last
#    request the rule finds relevant is dropped. It is reported either way
#    (a case still passing then does not pin that request); the run fails
#    only if no such drop changed any verdict.
#
# Usage: tests/assert/mutate.sh path/to/mockapi path/to/mockassert [CASE...]
#   MA_MUTANTS (default: ma_mutants next to mockassert), MA_MUTATE_SEED,
#   MA_MUTATE_MAX, MA_MUTATE_JOBS (runs at a time, default 3: many wait out a within).
# Prints what it did, every failure, the counts and the time; exits 1 on a
# failure. Needs the corpus runner's functions (run.sh, sourced).
set -uo pipefail
self=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/assert/run.sh
source "$self/run.sh"
ma_init "${1:?usage: mutate.sh MOCKAPI MOCKASSERT [CASE...]}" "${2:?usage: mutate.sh MOCKAPI MOCKASSERT [CASE...]}"
shift 2
tool=$(realpath "${MA_MUTANTS:-$(dirname "$mockassert")/ma_mutants}") || exit 2
[ -x "$tool" ] || { echo "mutate.sh: $tool is not built (bash ci/build.sh release)" >&2; exit 2; }
seed=${MA_MUTATE_SEED:-13}
max=${MA_MUTATE_MAX:-250}
njobs=${MA_MUTATE_JOBS:-3}
cap=100ms
t0=${EPOCHREALTIME/./}
failures=0
mkdir -p "$work/c" "$work/j" "$work/run" "$work/s"

fail() { failures=$((failures + 1)); echo "FAIL  $*"; }
rank() { printf '%s:%s' "$seed" "$1" | cksum | cut -d' ' -f1; }

echo "mutate.sh: seed $seed (MA_MUTATE_SEED), at most $max mutants (MA_MUTATE_MAX), $njobs at a time"

# ---- the marker no request may hold ----
marker_hits=$(grep -rlF -e $'\xc2\xa7' -e 'u00a7' -e 'u00A7' "$here"/cases/*/replay 2>/dev/null)
if [ -n "$marker_hits" ]; then
    echo "mutate.sh: the marker U+00A7 appears in $marker_hits: the mutations relying on it could pass" >&2
    exit 2
fi

# BIG, the bound no number in a request reaches: 1e<1 + the largest decimal
# exponent of any number a replay holds (digits before the point count), at
# least 1e300
big_exp=$(cat "$here"/cases/*/replay 2>/dev/null | grep -oE '[0-9]+(\.[0-9]*)?([eE][+]?[0-9]+)?' |
    awk '{ x = tolower($0); e = 0; if (index(x, "e")) { e = substr(x, index(x, "e") + 1) + 0; x = substr(x, 1, index(x, "e") - 1) }
           sub(/\..*/, "", x); sub(/^0+/, "", x); e += length(x); if (e > m) m = e } END { print (m + 1 > 300 ? m + 1 : 300) }')

# ---- running one case directory ----

# journal_lines URL: the journal, one entry a line: BY TEST LISTENER METHOD
# PATH STATUS ROUTE COUNTER (tab-separated; BY is "ma" for mockassert's own
# requests). The body is a JSON string (its quotes escaped), so the
# top-level ,"key": patterns cannot match inside it.
journal_lines() {
    curl --noproxy '*' -s --max-time 10 -f "$1/test/requests?include_test=1&limit=100000" |
        sed 's/{"seq":/\n&/g' | grep '^{"seq":' | awk '
        function f(re,  s) {
            if (!match($0, re)) return "-"
            s = substr($0, RSTART, RLENGTH); sub(/^,"[a-z_]*":/, "", s); gsub(/"/, "", s); return s
        }
        { print (index($0, "[\"User-Agent\",\"mockassert\"]") ? "ma" : "-") "\t" f(",\"test\":(true|false)") "\t" \
                f(",\"listener_kind\":\"[a-z]*\"") "\t" f(",\"method\":\"[^\"]*\"") "\t" f(",\"path\":\"[^\"]*\"") "\t" \
                f(",\"status\":[0-9]+") "\t" f(",\"route\":(null|\"[^\"]*\")") "\t" f(",\"counter\":(null|\"[^\"]*\")") }'
}

# job ID SRC [EXTRA-FLAGS] [JOURNAL] [LIST]: runs the case directory SRC (its
# cmd, replay, files) against a fresh mockapi; leaves j/ID.rc, .out, .err,
# .ms (wall time of the whole job) and, with JOURNAL=1, .journal. With LIST
# (lines "MID FILE MUTANT"), first runs mockassert once per line with FILE
# replaced by MUTANT, against the same server (j/MID.rc, .out, .err), then
# the unchanged files as above.
job() {
    local id=$1 src=$2 extra=${3:-} want_j=${4:-0} list=${5:-} o=$work/j/$1 t=${EPOCHREALTIME/./}
    (
        trap - EXIT
        if ! ma_setup "$src" "$work/run/$id" "$extra" >"$o.log" 2>&1; then
            echo setup >"$o.rc"; ma_stop; exit 0
        fi
        if ! ma_replay >>"$o.log" 2>&1; then
            echo replay >"$o.rc"; ma_stop; exit 0
        fi
        if [ -n "$list" ]; then
            local mid mf mpath
            while IFS=$'\t' read -r mid mf mpath; do
                cp "$mpath" "$cdir/$mf" && ma_subst "$cdir/$mf"
                ma_run
                cp "$cdir/.stdout" "$work/j/$mid.out"
                cp "$cdir/.stderr" "$work/j/$mid.err"
                echo "$rc" >"$work/j/$mid.rc"
                cp "$src/$mf" "$cdir/$mf" && ma_subst "$cdir/$mf"
            done <"$list"
        fi
        ma_run
        cp "$cdir/.stdout" "$o.out"
        cp "$cdir/.stderr" "$o.err"
        [ "$want_j" = 1 ] && journal_lines "$url" >"$o.journal"
        echo "$rc" >"$o.rc"
        ma_stop
        rm -rf "$cdir"
    )
    echo $(((${EPOCHREALTIME/./} - t) / 1000)) >"$o.ms"
}

queue=()
# run_queue: runs every queued "ID|SRC|EXTRA|JOURNAL|LIST", njobs at a time
run_queue() {
    local e id src extra j list
    for e in "${queue[@]}"; do
        IFS='|' read -r id src extra j list <<<"$e"
        while [ "$(jobs -rp | wc -l)" -ge "$njobs" ]; do wait -n 2>/dev/null || true; done
        job "$id" "$src" "$extra" "$j" "$list" &
    done
    wait
    queue=()
}

# ---- the cases ----

# analyse CASE: c/CASE/out says "ok" or why the case is left out; for "ok":
# c/CASE/src (the case, cmd rewritten, files capped), want, files, man
# (FILEINDEX FILE then ma_mutants' lines)
analyse() {
    local c=$1 s=$here/cases/$1 d=$work/c/$1
    mkdir -p "$d"
    if [ -f "$s/server" ] && [ "$(cat "$s/server")" = none ]; then echo "server: none" >"$d/out"; return; fi
    local want=0
    [ -f "$s/exit" ] && want=$(cat "$s/exit")
    case "$want" in 0 | 1) ;; *) echo "exit $want" >"$d/out"; return ;; esac
    local cmd=expect.yaml
    [ -f "$s/cmd" ] && cmd=$(cat "$s/cmd")
    local toks i=0 t args=() files=()
    set -f
    # shellcheck disable=SC2206
    toks=($cmd)
    set +f
    case "${toks[0]:-}" in
    run) i=1 ;;
    lint | snapshot | wait | reset) echo "command ${toks[0]}" >"$d/out"; return ;;
    esac
    # the output format is ours: text, every result shown, one nearest entry
    while [ $i -lt ${#toks[@]} ]; do
        t=${toks[$i]}
        case "$t" in
        --) echo "-- in its arguments" >"$d/out"; return ;;
        -q | --quiet | --no-color | --format=* | --junit=* | --nearest=* | --color=*) ;;
        --format | --junit | --nearest) i=$((i + 1)) ;;
        --color) case "${toks[$((i + 1))]:-}" in auto | always | never) i=$((i + 1)) ;; esac ;;
        --server | --cacert | --admin-token | --timeout | --session) args+=("$t" "${toks[$((i + 1))]:-}"); i=$((i + 1)) ;;
        -) echo "reads stdin" >"$d/out"; return ;;
        -*) args+=("$t") ;;
        *) files+=("$t"); args+=("$t") ;;
        esac
        i=$((i + 1))
    done
    [ ${#files[@]} -gt 0 ] || { echo "no expectation file" >"$d/out"; return; }
    rm -rf "$d/src"
    cp -r "$s" "$d/src"
    rm -f "$d/src/check" "$d/src/stdout" "$d/src/stderr"
    # settled: what the replay sends while mockassert runs ("after MS ...")
    # is sent before it, MS apart, so every run sees the final state the
    # unchanged run passed in (a within: would otherwise let a mutant pass
    # early, on a state the unchanged run never judged)
    if [ -f "$s/replay" ]; then
        sed -E 's/^after[[:space:]]+([0-9]+)[[:space:]]+/pause \1\n/' "$s/replay" >"$d/src/replay"
    fi
    echo "${args[*]} --nearest 1" >"$d/src/cmd"
    local k=0 f
    : >"$d/man"
    for f in "${files[@]}"; do
        [ -f "$s/$f" ] || { echo "$f is not in the case" >"$d/out"; return; }
        k=$((k + 1))
        mkdir -p "$d/m$k"
        # the placeholders (server: @ADDR@ is no YAML) as tokens of the same length, and back
        sed 's/@ADDR@/_ADDR_/g; s/@URL@/_URL_/g; s/@TLSURL@/_TLSURL_/g; s/@CA@/_CA_/g' "$s/$f" >"$d/m$k.in"
        if ! "$tool" --cap-within "$cap" --big-exp "$big_exp" "$d/m$k.in" "$d/m$k" >"$d/m$k/man" 2>"$d/m$k/err"; then
            echo "ma_mutants failed on $f: $(head -n 3 "$d/m$k/err")" >"$d/out"; return
        fi
        sed -i 's/_ADDR_/@ADDR@/g; s/_URL_/@URL@/g; s/_TLSURL_/@TLSURL@/g; s/_CA_/@CA@/g' "$d/m$k"/*.yaml
        cp "$d/m$k/base.yaml" "$d/src/$f"
        awk -v k="$k" -v f="$f" '{ print k "\t" f "\t" $0 }' "$d/m$k/man" >>"$d/man"
    done
    echo "$want" >"$d/want"
    printf '%s\n' "${files[@]}" >"$d/files"
    echo ok >"$d/out"
}

cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
    for d in "$here"/cases/*/; do cases+=("$(basename "$d")"); done
fi
ta=${EPOCHREALTIME/./}
ok_cases=()
for c in "${cases[@]}"; do
    analyse "$c"
    if [ "$(cat "$work/c/$c/out")" = ok ]; then
        ok_cases+=("$c")
        queue+=("$c.base|$work/c/$c/src||1|")
    fi
done

# the probe: what each extra request does to a fresh mockapi
extras=(
    "GET /v1/ping"
    "GET /test/assertions"
    "GET /test/requests"
    "GET /test/last-request/heartbeat"
    "GET /test/stats"
    "tls GET /test/assertions"
    "tls GET /test/stats"
    'tls POST /local/logs [{"message":"mutate.sh"}]'
    'POST /v1/nodes/node-zz/logs [{"message":"mutate.sh"}]'
    "GET /mutate-sh/unrouted"
)
mkdir -p "$work/probe"
printf '%s\n' "${extras[@]}" >"$work/probe/replay"
printf 'expectations:\n  - {counter: registration_count, atLeast: 0}\n' >"$work/probe/expect.yaml"
queue+=("probe|$work/probe|-tls-addr 127.0.0.1:0|1|")
tb=${EPOCHREALTIME/./}
run_queue
tc=${EPOCHREALTIME/./}

if [ "$(cat "$work/j/probe.rc")" != 0 ] || [ "$(grep -vc '^ma' "$work/j/probe.journal")" != ${#extras[@]} ]; then
    echo "mutate.sh: the probe mockapi did not journal the ${#extras[@]} extra requests:" >&2
    cat "$work/j/probe.log" "$work/j/probe.journal" >&2
    exit 2
fi
grep -v '^ma' "$work/j/probe.journal" | cut -f2- >"$work/probe/entries" # TEST LISTENER METHOD PATH STATUS ROUTE COUNTER

echo
echo "cases:"
for c in "${cases[@]}"; do
    d=$work/c/$c
    if [[ "$(cat "$d/out")" == "ma_mutants failed"* ]]; then
        fail "$c: $(cat "$d/out")"
        continue
    elif [ "$(cat "$d/out")" != ok ]; then
        printf '  %-28s left out: %s\n' "$c" "$(cat "$d/out")"
        continue
    fi
    rc=$(cat "$work/j/$c.base.rc")
    if [ "$rc" != "$(cat "$d/want")" ]; then
        fail "$c: unchanged but settled (after lines sent first, within capped at $cap) it exits $rc, not $(cat "$d/want")"
        head -n 20 "$work/j/$c.base.out" "$work/j/$c.base.log" | sed 's/^/      /'
        echo bad >"$d/out"
        continue
    fi
    # the expectations that pass, as FILE:LINE:COL
    sed -n 's/^PASS  \([^ ]*:[0-9]*:[0-9]*\): .*/\1/p' "$work/j/$c.base.out" >"$d/passing"
    printf '  %-28s exit %s, %d of %d expectations pass\n' "$c" "$rc" "$(wc -l <"$d/passing")" \
        "$(grep -c '^\(PASS\|FAIL\|ERROR\)  ' "$work/j/$c.base.out")"
done

# ---- 1. no false pass ----
us=$'\x1f' # records' field separator: a path's regular expression holds '|'
all=() # RANK CASE K FILE N OP EXP OPNAME PATHRE NEED DESC, separated by $us
nskip=0
not_passing=0
: >"$work/skips"
for c in "${ok_cases[@]}"; do
    d=$work/c/$c
    [ "$(cat "$d/out")" = ok ] || continue
    while IFS=$'\t' read -r k f what a b cc dd ee ff gg; do
        case "$what" in
        mutant)
            # a=id b=op cc=exp dd=opname ee=pathre ff=need gg=desc
            if ! grep -qxF "$f:$cc" "$d/passing"; then
                not_passing=$((not_passing + 1))
                continue
            fi
            all+=("$(rank "$c/$k/$a")$us$c$us$k$us$f$us$a$us$b$us$cc$us$dd$us$ee$us$ff$us$gg")
            ;;
        skip)
            grep -qxF "$f:$b" "$d/passing" || continue
            nskip=$((nskip + 1))
            printf '%s\t%s\n' "$cc" "$dd" >>"$work/skips"
            ;;
        esac
    done <"$d/man"
done
generated=${#all[@]}
chosen=()
if [ "$generated" -gt "$max" ]; then
    mapfile -t chosen < <(printf '%s\n' "${all[@]}" | sort -t"$us" -k1,1n | head -n "$max")
else
    chosen=("${all[@]}")
fi
# One server serves several mutants of a case (mockassert only reads) unless
# the reads could show: a bounded journal (its own requests are journaled),
# a filter that asks for /test/ entries, an expectation the rule does not
# know, or requests sent while mockassert runs (after). Each such server
# then runs the unchanged files once more, which must give the unchanged
# output: the reads changed no verdict.
shared() { # CASE: status 0 if its mutants may share a server
    local d=$work/c/$1 sflags=""
    [ -f "$d/src/server" ] && sflags=$(cat "$d/src/server")
    [[ "$sflags" != *-journal-entries* && "$sflags" != *-journal-bytes* ]] || return 1
    ! grep -qE '^[[:space:]]*after ' "$d/src/replay" 2>/dev/null || return 1
    ! awk -F'\t' -v t="$test_routes" '$3 == "read" && ($5 == "unknown" ||
        ($5 == "filter" && ($8 ~ /^\/test\// || index(t, " " $9 " ")))) { bad = 1 } END { exit !bad }' "$d/man"
}
test_routes=" configure_state configure_heartbeat inject_event assertions last_request sse sse_wait requests reset wait stats "
chunk=8
declare -A chunk_of=()
nchunks=0
for m in "${chosen[@]}"; do
    IFS=$us read -r _ c k f n _ <<<"$m"
    id=$c.m$k.$n
    mutfile=$work/c/$c/m$k/m$(printf '%03d' "$n").yaml
    if shared "$c"; then
        cur=${chunk_of[$c]:-}
        if [ -z "$cur" ] || [ "$(wc -l <"$work/s/$cur.list")" -ge "$chunk" ]; then
            nchunks=$((nchunks + 1))
            cur=$c.chunk$nchunks
            chunk_of[$c]=$cur
            : >"$work/s/$cur.list"
            queue+=("$cur|$work/c/$c/src||0|$work/s/$cur.list")
        fi
        printf '%s\t%s\t%s\n' "$id" "$f" "$mutfile" >>"$work/s/$cur.list"
    else
        ms=$work/s/$id
        cp -r "$work/c/$c/src" "$ms"
        cp "$mutfile" "$ms/$f"
        queue+=("$id|$ms||0|")
    fi
done
# ---- 3. no false fail ----

# relevant READS TEST LISTENER METHOD PATH STATUS ROUTE COUNTER: prints why
# an entry so answered could change a verdict of the case whose reads are
# in READS (status 0), or nothing (status 1)
relevant() {
    local reads=$1 test=$2 method=$4 path=$5 status=$6 route=$7 counter=$8
    local _k _f _r _e what a b cc dd
    while IFS=$'\t' read -r _k _f _r _e what a b cc dd; do
        case "$what" in
        counter) [ "$a" = "$counter" ] && { echo "moves $a, which the case reads"; return 0; } ;;
        capture) [ "$a" = "$route" ] && { echo "is captured under $a, which the case reads"; return 0; } ;;
        filter)
            # a=method b=path cc=route dd=status
            if [ "$test" = true ] && [[ "$test_routes" != *" $cc "* ]] && [[ "$b" != /test/* ]]; then continue; fi
            [ "$a" = - ] || [ "${a^^}" = "${method^^}" ] || continue
            [ "$cc" = - ] || [ "$cc" = "$route" ] || continue
            [ "$dd" = - ] || [ "$dd" = "$status" ] || continue
            # shellcheck disable=SC2053
            [ "$b" = - ] || [[ "$path" == $b ]] || continue
            echo "matches the filter method=$a path=$b route=$cc status=$dd"
            return 0
            ;;
        unknown) echo "the case has $a, which this rule does not know"; return 0 ;;
        esac
    done < <(awk -F'\t' '$3 == "read"' "$reads")
    return 1
}

# the replay as units (a request line with the "header" lines before it),
# each with the number of journal entries it made, in the order they were
# sent: s/CASE.units: KIND ENTRIES UNIT (KIND: now | after; the unit's lines
# joined by \x1e)
rs=$'\x1e'
map_replay() {
    local c=$1 src=$work/c/$1/src out=$work/s/$1.units line n kind pending
    : >"$out"
    [ -f "$src/replay" ] || return 0
    for kind in now after; do
        pending=""
        while IFS= read -r line || [ -n "$line" ]; do
            case "$line" in '' | '#'*) continue ;; esac
            [[ "$line" == after\ * ]] && [ $kind = now ] && continue
            [[ "$line" != after\ * ]] && [ $kind = after ] && continue
            # a header goes with the next request line the replay sends at once
            if [[ "$line" == header\ * ]]; then pending+="$line$rs"; continue; fi
            set -f
            # shellcheck disable=SC2086
            set -- $line
            set +f
            [ "$1" = after ] && shift 2
            case "$1" in pause) n=0 ;; repeat) n=$2 ;; paced) n=$3 ;; *) n=1 ;; esac
            if [ $kind = now ]; then
                printf '%s\t%s\t%s\n' "$kind" "$n" "$pending$line" >>"$out"
                pending=""
            else
                printf '%s\t%s\t%s\n' "$kind" "$n" "$line" >>"$out"
            fi
        done <"$src/replay"
        [ -z "$pending" ] || printf '%s\t0\t%s\n' "$kind" "${pending%"$rs"}" >>"$out"
    done
}
unit_text() { printf '%s\n' "${1//$rs/$'\n'}"; } # the unit's lines
unit_show() { printf '%s' "${1//$rs/ | }"; }      # one line, for messages

# entries_of CASE: the baseline journal's entries not made by mockassert
entries_of() { grep -v '^ma' "$work/j/$1.base.journal" | cut -f2-; }
# maps_onto_journal CASE: status 0 if the replay's units made as many
# entries as the journal holds (s/CASE.units, s/CASE.entries)
maps_onto_journal() {
    [ "$(awk -F'\t' '{ s += $2 } END { print s + 0 }' "$work/s/$1.units")" = "$(wc -l <"$work/s/$1.entries")" ]
}

nf_runs=0
nf_kept=0
nf_inconclusive=0
nf_skipped=()
drop_runs=0
drop_changed=0
drop_notes=()
declare -A nf_kind
for c in "${ok_cases[@]}"; do
    d=$work/c/$c
    if [ "$(cat "$d/out")" != ok ] || [ "$(cat "$d/want")" != 0 ]; then continue; fi
    map_replay "$c"
    entries_of "$c" >"$work/s/$c.entries"
    sflags=""
    [ -f "$d/src/server" ] && sflags=$(cat "$d/src/server")
    tlsflag=""
    [[ "$sflags" == *-tls-addr* ]] || tlsflag="-tls-addr 127.0.0.1:0"
    # (a) the extra requests the rule finds irrelevant, at seeded places
    if [[ "$sflags" == *-journal-entries* || "$sflags" == *-journal-bytes* ]]; then
        nf_skipped+=("$c: extra requests (a bounded journal: one more entry may evict another)")
    else
        picked=()
        for ((i = 1; i <= ${#extras[@]}; i++)); do
            IFS=$'\t' read -r -a e < <(sed -n "${i}p" "$work/probe/entries")
            if why=$(relevant "$d/man" "${e[@]}"); then
                [[ "$why" == *"does not know"* ]] && { picked=(); nf_skipped+=("$c: extra requests ($why)"); break; }
                continue
            fi
            picked+=("$i")
        done
        if [ ${#picked[@]} -gt 0 ]; then
            ms=$work/s/$c.extra
            cp -r "$d/src" "$ms"
            mapfile -t units < <(cut -f3- "$work/s/$c.units")
            : >"$ms/replay"
            : >"$ms/expected-extras"
            # each extra before unit (rank mod (units+1)); equal places keep the
            # list's order. With an interval, only before the first or after
            # the last: an extra between two units would stretch a gap.
            timed=0
            awk -F'\t' '$3 == "read" && $5 == "timed" { f = 1 } END { exit !f }' "$d/man" && timed=1
            for i in "${picked[@]}"; do
                place=$(($(rank "$c/extra/$i") % (${#units[@]} + 1)))
                [ $timed = 1 ] && place=$(($(rank "$c/extra/$i") % 2 * ${#units[@]}))
                printf '%s\t%s\n' "$place" "$i"
            done | sort -k1,1n -k2,2n -s >"$ms/places"
            for ((li = 0; li <= ${#units[@]}; li++)); do
                while IFS=$'\t' read -r p i; do
                    [ "$p" = "$li" ] || continue
                    echo "${extras[$((i - 1))]}" >>"$ms/replay"
                    sed -n "${i}p" "$work/probe/entries" >>"$ms/expected-extras"
                done <"$ms/places"
                [ "$li" -lt ${#units[@]} ] && unit_text "${units[$li]}" >>"$ms/replay"
            done
            nf_kind[$c.extra]="extra requests: $(for i in "${picked[@]}"; do printf '[%s] ' "${extras[$((i - 1))]}"; done)"
            queue+=("$c.extra|$ms|$tlsflag|1|")
        else
            [ ${#nf_skipped[@]} -gt 0 ] && [[ "${nf_skipped[-1]}" == "$c:"* ]] || nf_skipped+=("$c: extra requests (every one is relevant)")
        fi
    fi
    # (b) another interleaving, each route's lines in their order
    if awk -F'\t' '$3 == "read" && ($5 == "ordered" || $5 == "unknown") { found = 1 } END { exit !found }' "$d/man"; then
        nf_skipped+=("$c: another order (an expectation reads the journal's order)")
    elif grep -qE '^[[:space:]]*(pause|paced|after) ' "$d/src/replay" 2>/dev/null; then
        nf_skipped+=("$c: another order (its replay is timed: pause, paced or after)")
    elif ! maps_onto_journal "$c"; then
        nf_skipped+=("$c: another order (its replay does not map onto its journal)")
    else
        # the route of each line: its first entry's
        routes=()
        at=1
        while IFS=$'\t' read -r _ n _; do
            routes+=("$(sed -n "${at}p" "$work/s/$c.entries" | cut -f6)")
            at=$((at + n))
        done <"$work/s/$c.units"
        mapfile -t lines < <(cut -f3- "$work/s/$c.units")
        order=""
        state=$(rank "$c/order")
        for _ in 1 2 3 4 5 6 7 8; do
            # a seeded merge of the per-route queues
            declare -A nextof=()
            groups=()
            for ((li = 0; li < ${#lines[@]}; li++)); do
                r=${routes[$li]}
                [[ " ${groups[*]} " == *" $r "* ]] || groups+=("$r")
            done
            out=()
            while [ ${#out[@]} -lt ${#lines[@]} ]; do
                state=$(((state * 1103515245 + 12345) % 2147483648))
                live=()
                for r in "${groups[@]}"; do
                    for ((li = ${nextof[$r]:-0}; li < ${#lines[@]}; li++)); do
                        [ "${routes[$li]}" = "$r" ] && { live+=("$r"); break; }
                    done
                done
                r=${live[$((state % ${#live[@]}))]}
                for ((li = ${nextof[$r]:-0}; li < ${#lines[@]}; li++)); do
                    if [ "${routes[$li]}" = "$r" ]; then out+=("$li"); nextof[$r]=$((li + 1)); break; fi
                done
            done
            unset nextof
            if [ "${out[*]}" != "$(seq -s ' ' 0 $((${#lines[@]} - 1)))" ]; then order="${out[*]}"; break; fi
        done
        if [ -z "$order" ]; then
            nf_skipped+=("$c: another order (one order only: a single route, or one line)")
        else
            ms=$work/s/$c.order
            cp -r "$d/src" "$ms"
            for li in $order; do unit_text "${lines[$li]}"; done >"$ms/replay"
            nf_kind[$c.order]="another order: units $(for li in $order; do printf '%d ' $((li + 1)); done)"
            queue+=("$c.order|$ms||1|")
        fi
    fi
    # (c) relevant: the last relevant replay unit dropped; which one needs
    # the replay's entries (not so when it sends to sessions: their entries
    # are in their own journals, not in the default one read here)
    if ! maps_onto_journal "$c"; then
        drop_notes+=("$c: nothing dropped (its replay does not map onto its journal)")
        continue
    fi
    last=-1
    at=1
    li=0
    mapfile -t units < <(cut -f3- "$work/s/$c.units")
    while IFS=$'\t' read -r _ n _; do
        for ((q = at; q < at + n; q++)); do
            IFS=$'\t' read -r -a e < <(sed -n "${q}p" "$work/s/$c.entries")
            if why=$(relevant "$d/man" "${e[@]}"); then last=$li; lastwhy=$why; fi
        done
        at=$((at + n))
        li=$((li + 1))
    done <"$work/s/$c.units"
    if [ "$last" -ge 0 ]; then
        ms=$work/s/$c.drop
        cp -r "$d/src" "$ms"
        for ((li = 0; li < ${#units[@]}; li++)); do
            [ "$li" = "$last" ] || unit_text "${units[$li]}"
        done >"$ms/replay"
        nf_kind[$c.drop]="dropped [$(unit_show "${units[$last]}")] ($lastwhy)"
        queue+=("$c.drop|$ms||0|")
    else
        drop_notes+=("$c: no replay line is relevant to it (nothing to drop)")
    fi
done
# every run at once, the longest first (by the unchanged run's time): a
# mutant that waits out its within costs no processor, so more than the
# machine's cores may run
t1=${EPOCHREALTIME/./}
mapfile -t queue < <(for e in "${queue[@]}"; do
    id=${e%%|*}
    c=${id%%.*}
    n=1
    [[ "$id" == *.chunk* ]] && n=$(wc -l <"$work/s/$id.list")
    [[ "$id" == *.drop ]] && n=3 # a drop often waits out a within
    echo "$(($(cat "$work/j/$c.base.ms") * n)) $e"
done | sort -rn -k1,1 | cut -d' ' -f2-)
run_queue
t2=${EPOCHREALTIME/./}

for q in "$work"/s/*.chunk*.list; do
    [ -f "$q" ] || continue
    cur=$(basename "$q" .list)
    c=${cur%.chunk*}
    if [ "$(cat "$work/j/$cur.rc")" != "$(cat "$work/j/$c.base.rc")" ] || ! cmp -s "$work/j/$cur.out" "$work/j/$c.base.out"; then
        fail "$c: after $(wc -l <"$q") mockassert runs against one server, the unchanged files give another result (exit $(cat "$work/j/$cur.rc")): its reads changed a verdict"
        diff -u --label fresh --label after "$work/j/$c.base.out" "$work/j/$cur.out" | head -n 30 | sed 's/^/      /'
    fi
done

echo
echo "no false pass: $generated mutants of passing expectations ($not_passing more of expectations that already fail, not run), $nskip operators not mutated"
if [ "$nskip" -gt 0 ]; then
    sort "$work/skips" | uniq -c | sort -rn | sed 's/^ */      /'
fi
[ "$generated" -gt "$max" ] && echo "  $max of them chosen by seed $seed"
# Known findings: mutants that fail as they must but whose output misses
# the mutated operator's place because of how mockassert reports it
# (assert/*.c is not this script's to change). "CASE-GLOB OPERATOR why":
# such a mutant is counted "known" instead of failing the run, as long as
# the place is the only thing missing; one that now names its place too is
# a failure (the entry is stale: remove it).
known=()
known_of() { # CASE OPERATOR: prints the known finding's why, if any
    local k g o w
    for k in "${known[@]}"; do
        IFS=$'\t' read -r g o w <<<"$k"
        # shellcheck disable=SC2053
        [[ "$1" == $g ]] && [ "$2" = "$o" ] && { echo "$w"; return 0; }
    done
    return 1
}
killed=0
survived=0
nknown=0
for m in "${chosen[@]}"; do
    IFS=$us read -r _ c k f n op exp opname pathre need desc <<<"$m"
    id=$c.m$k.$n
    o=$work/j/$id
    rc=$(cat "$o.rc")
    why=()
    [ "$rc" = 1 ] || why+=("exit $rc, not 1")
    grep -qF "FAIL  $f:$exp:" "$o.out" || why+=("the expectation at $f:$exp is not reported FAIL")
    named=0
    for at in ${op//,/ }; do grep -qF "$f:$at:" "$o.out" && named=1; done
    [ $named = 1 ] || why+=("the output does not name $f:${op//,/ or $f:} ($opname)")
    if [ "$pathre" != - ] && ! grep -qE -- "$pathre" "$o.out"; then why+=("the output does not name the path (/$pathre/)"); fi
    if [ "$need" != - ] && ! grep -qF -- "$need" "$o.out"; then why+=("the output does not name $need"); fi
    if kw=$(known_of "$c" "$opname"); then
        if [ ${#why[@]} -eq 0 ]; then
            fail "$c: mutant $f:$op $desc: killed and named, but listed as a known finding ($kw): remove it from known"
        elif [ ${#why[@]} -eq 1 ] && [[ "${why[0]}" == "the output does not name $f:"* ]]; then
            nknown=$((nknown + 1))
            echo "known $c: mutant $f:$op $desc: fails, but the output does not name $f:$op: $kw"
        else
            survived=$((survived + 1))
            fail "$c: mutant $f:$op $desc: $(printf '%s; ' "${why[@]}" | sed 's/; $//')"
        fi
        continue
    fi
    if [ ${#why[@]} -eq 0 ]; then
        killed=$((killed + 1))
        continue
    fi
    survived=$((survived + 1))
    fail "$c: mutant $f:$op $desc: $(printf '%s; ' "${why[@]}" | sed 's/; $//')"
    diff -u --label "$f" --label "$f (mutant)" "$work/c/$c/m$k/base.yaml" "$work/c/$c/m$k/m$(printf '%03d' "$n").yaml" |
        sed 's/^/      /'
    echo "      --- mockassert $(cat "$work/c/$c/src/cmd") (exit $rc):"
    head -n 30 "$o.out" "$o.err" | sed 's/^/      /'
done
echo "  ran ${#chosen[@]}: $killed killed, $nknown known findings (failed, place not named), $survived not killed"


echo
echo "no false fail (cases that exit 0):"
for key in $(printf '%s\n' "${!nf_kind[@]}" | sort); do
    c=${key%.*}
    kind=${key##*.}
    o=$work/j/$key
    rc=$(cat "$o.rc")
    if [ "$kind" = drop ]; then
        drop_runs=$((drop_runs + 1))
        if [ "$rc" != 0 ] || ! cmp -s "$o.out" "$work/j/$c.base.out"; then
            drop_changed=$((drop_changed + 1))
            echo "  ok    $c: ${nf_kind[$key]}: exit $rc, the verdict changed"
        else
            echo "  note  $c: ${nf_kind[$key]}: still exit 0 with the same output (the case does not pin that request)"
        fi
        continue
    fi
    nf_runs=$((nf_runs + 1))
    # did the server answer as predicted?
    inconclusive=""
    if [ "$kind" = extra ]; then
        sort <(cat "$work/s/$c.entries" "$work/s/$key/expected-extras") >"$o.want"
    else
        sort "$work/s/$c.entries" >"$o.want"
    fi
    grep -v '^ma' "$o.journal" | cut -f2- | sort >"$o.got"
    # a /test/ read answers what the state is (200 or 404 for a capture): its status is not compared
    for g in want got; do awk -F'\t' 'BEGIN { OFS = "\t" } $1 == "true" { $5 = "*" } { print }' "$o.$g" | sort >"$o.$g.cmp"; done
    cmp -s "$o.want.cmp" "$o.got.cmp" || inconclusive="the server's answers differ from the prediction: $(diff "$o.want.cmp" "$o.got.cmp" | grep '^[<>]' | head -n 3 | tr '\t\n' ' ')"
    if [ "$rc" = 0 ] && cmp -s "$o.out" "$work/j/$c.base.out"; then
        if [ -n "$inconclusive" ]; then
            nf_inconclusive=$((nf_inconclusive + 1))
            echo "  ?     $c: ${nf_kind[$key]}: still PASS, but inconclusive: $inconclusive"
        else
            nf_kept=$((nf_kept + 1))
            echo "  ok    $c: ${nf_kind[$key]}: still PASS, same output"
        fi
    elif [ -n "$inconclusive" ]; then
        nf_inconclusive=$((nf_inconclusive + 1))
        echo "  ?     $c: ${nf_kind[$key]}: exit $rc, inconclusive: $inconclusive"
    else
        fail "$c: ${nf_kind[$key]}: a false FAIL? exit $rc (expected 0 and the unchanged output):"
        diff -u --label unchanged --label changed "$work/j/$c.base.out" "$o.out" | head -n 30 | sed 's/^/      /'
        echo "      --- replay:"
        sed 's/^/      /' "$work/s/$key/replay"
    fi
done
for s in "${nf_skipped[@]}"; do echo "  skip  $s"; done
for s in "${drop_notes[@]}"; do echo "  note  $s"; done
echo "  $nf_runs irrelevant changes: $nf_kept kept PASS, $nf_inconclusive inconclusive; $drop_runs relevant drops, $drop_changed changed the verdict"
if [ "$drop_runs" -gt 0 ] && [ "$drop_changed" -eq 0 ]; then
    fail "no relevant change made any case fail: the harness cannot be shown to fail"
fi

t5=${EPOCHREALTIME/./}
echo
echo "time: reading the cases $(((tb - ta) / 1000)) ms, unchanged runs $(((tc - tb) / 1000)) ms, mutants and server changes $(((t2 - t1) / 1000)) ms"
echo "mutants: $generated generated, ${#chosen[@]} run, $killed killed, $nknown known findings, $survived not killed; seed $seed; $(((t5 - t0) / 1000)) ms in all"
echo "$failures failures"
[ "$failures" -eq 0 ]
