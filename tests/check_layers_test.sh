#!/usr/bin/env bash
# check_layers_test.sh: ci/check_layers.sh on small made-up trees in a
# temporary folder: a clean tree passes with its one summary line; an upward
# include, an include cycle and a file outside every layer each fail with
# the file, line and layers (or the cycle) named; a tree without src/ is a
# usage error. Prints one line per tree and "N passed, M failed"; exits 1
# when any failed.
# Usage: tests/check_layers_test.sh
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
check="$top/ci/check_layers.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# put ROOT FILE LINE...: writes FILE (relative to ROOT) with one LINE each
put() {
    local root=$1 f=$2
    shift 2
    mkdir -p "$(dirname "$root/$f")"
    printf '%s\n' "$@" >"$root/$f"
}

# clean ROOT: a tree that keeps the rules, using every kind of include the
# check resolves: bare names found by the include path, the public header,
# a relative path, a subfolder of transport, system and unknown headers.
clean() {
    local r=$1
    put "$r" include/pub.h '#include <stddef.h>'
    put "$r" src/common/a.h '#include "pub.h"' '#include <stdio.h>' '#include "not_ours.h"'
    put "$r" src/common/a.c '#include "a.h"'
    put "$r" src/core/b.h '#include "a.h"' '#include "pub.h"'
    put "$r" src/core/b.c '#include "b.h"' '#include "../common/a.h"'
    put "$r" src/transport/civet/detach.h '#include "b.h"'
    put "$r" src/transport/t.h '#include "detach.h"'
    put "$r" src/api/api.c '#include "t.h"' '#include "b.h"'
    put "$r" src/cli/main.c '#include "pub.h"'
}

# verdict NAME WANT_RC [GREP_PATTERN...]: runs the check on $tmp/NAME and
# wants that exit status and a line matching each pattern (fixed strings)
verdict() {
    local name=$1 want=$2 out rc p ok=1
    shift 2
    out=$(bash "$check" "$tmp/$name" 2>&1)
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        ok=0
        echo "  exit status $rc, want $want"
    fi
    for p in "$@"; do
        if ! grep -qxF -- "$p" <<<"$out"; then
            ok=0
            echo "  no line: $p"
        fi
    done
    if [ "$ok" -eq 1 ]; then
        passed=$((passed + 1))
        echo "ok    $name"
    else
        failed=$((failed + 1))
        echo "FAIL  $name; the check printed:"
        sed 's/^/      /' <<<"$out"
    fi
    last_out=$out
}

# 1. clean: exit 0 and exactly the summary line
clean "$tmp/clean"
verdict clean 0 "check_layers: 9 files, 11 includes of our own headers: each within its layer or below, no cycles"
if [ "$(wc -l <<<"$last_out")" -ne 1 ]; then
    failed=$((failed + 1))
    passed=$((passed - 1))
    echo "FAIL  clean: more than the summary line"
fi

# 2. upward includes: common -> transport, and a public header -> transport/civet
clean "$tmp/upward"
put "$tmp/upward" src/common/u.c '#include "a.h"' '#include "t.h"'
put "$tmp/upward" include/pub2.h '#include <stddef.h>' '#include "detach.h"'
verdict upward 1 \
    'src/common/u.c:2: includes "t.h" (src/transport/t.h): layer common may not include from transport, a higher layer' \
    'include/pub2.h:2: includes "detach.h" (src/transport/civet/detach.h): layer include may not include from transport, a higher layer'
if grep -q '^cycle' <<<"$last_out"; then
    failed=$((failed + 1))
    echo "FAIL  upward: a cycle reported where there is none"
fi

# 3. a cycle within one layer, and a header that includes itself
clean "$tmp/cycle"
put "$tmp/cycle" src/core/x.h '#include "y.h"'
put "$tmp/cycle" src/core/y.h '#include "b.h"' '#include "z.h"'
put "$tmp/cycle" src/core/z.h '#include "x.h"'
put "$tmp/cycle" src/api/self.h '#include "self.h"'
verdict cycle 1 \
    'cycle: src/core/x.h -> src/core/y.h -> src/core/z.h -> src/core/x.h' \
    'cycle: src/api/self.h -> src/api/self.h'
if grep -q 'higher layer' <<<"$last_out"; then
    failed=$((failed + 1))
    echo "FAIL  cycle: a layer violation reported where there is none"
fi

# 4. a file outside every layer
clean "$tmp/stray"
put "$tmp/stray" src/misc/m.h '#include "a.h"'
verdict stray 1 "src/misc/m.h: in no layer (folders: include:include src/common:common src/core:core src/transport:transport src/api:api src/cli:cli)"

# 5. no src/: a usage error
mkdir -p "$tmp/empty"
verdict empty 2 "check_layers: no src/ in $tmp/empty"

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
