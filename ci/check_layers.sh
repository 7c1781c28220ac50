#!/usr/bin/env bash
# check_layers.sh: the include rules of src/ (premake5.lua, README "Layout").
#
# Layers, lowest first: include/ (the public header), src/common, src/core,
# src/transport (with src/transport/civet), src/api, src/cli. A file may
# include headers of its own layer and of lower ones; include/ is the lowest,
# so anything may include the public header and it may include nothing of
# ours. Also refused: headers that include each other in a circle, within a
# layer too.
#
# Only `#include "..."` lines count. A name is looked up the way the
# compiler does: the including file's own folder first, then the include
# path in premake5.lua's order. Names found in neither src/ nor include/ are
# system or third-party headers and are ignored.
#
# Usage: ci/check_layers.sh [ROOT]   (ROOT: a tree with src/; default: this
# repository). Prints one summary line and exits 0 when the rules hold;
# else prints each violation (file:line, both layers) and each cycle, and
# exits 1. Exit 2: no src/ under ROOT.
set -euo pipefail

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
if [ ! -d "$root/src" ]; then
    echo "check_layers: no src/ in $root" >&2
    exit 2
fi
cd "$root"

# folder:layer, lowest layer first; a subfolder belongs to its folder's layer
layers="include:include src/common:common src/core:core src/transport:transport src/api:api src/cli:cli"
# the include path after the file's own folder (premake5.lua's src_dirs)
search="include src/common src/core src/transport src/transport/civet src/api src/cli"

dirs=()
for d in include src; do
    [ -d "$d" ] && dirs+=("$d")
done
mapfile -t files < <(find "${dirs[@]}" -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort)

# "file:line:text" for every quoted include; no match is fine (grep exits 1)
{ grep -n -H -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]+"' "${files[@]}" /dev/null || true; } |
    awk -v files="${files[*]}" -v layers="$layers" -v search="$search" '
function norm(p,    n, parts, out, k, i) {
    n = split(p, parts, "/")
    k = 0
    for (i = 1; i <= n; i++) {
        if (parts[i] == "" || parts[i] == ".")
            continue
        if (parts[i] == ".." && k > 0 && out[k] != "..") {
            k--
            continue
        }
        out[++k] = parts[i]
    }
    p = ""
    for (i = 1; i <= k; i++)
        p = p (i > 1 ? "/" : "") out[i]
    return p
}
function dirname(p) {
    return sub(/\/[^\/]*$/, "", p) ? p : "."
}
# rank of the layer p belongs to (0 = include/), or -1
function layer_of(p,    i, best, blen) {
    best = -1
    blen = 0
    for (i = 0; i < nlayers; i++)
        if (index(p, ldir[i] "/") == 1 && length(ldir[i]) > blen) {
            best = i
            blen = length(ldir[i])
        }
    return best
}
function resolve(from, name,    c, i) {
    c = norm(dirname(from) "/" name)
    if (c in known)
        return c
    for (i = 1; i <= nsearch; i++) {
        c = norm(sdir[i] "/" name)
        if (c in known)
            return c
    }
    return ""
}
# depth-first search; a grey node met again closes a cycle on the stack
function visit(u,    k, v, i, s) {
    color[u] = 1
    stack[++depth] = u
    for (k = 1; k <= nadj[u]; k++) {
        v = adj[u, k]
        if (color[v] == 1) {
            s = ""
            for (i = 1; i <= depth; i++)
                if (stack[i] == v || s != "")
                    s = s stack[i] " -> "
            printf "cycle: %s%s\n", s, v
            errors++
            cycles++
        } else if (color[v] == 0) {
            visit(v)
        }
    }
    depth--
    color[u] = 2
}
BEGIN {
    nfiles = split(files, flist, " ")
    for (i = 1; i <= nfiles; i++)
        known[flist[i]] = 1
    n = split(layers, lp, " ")
    nlayers = 0
    for (i = 1; i <= n; i++) {
        split(lp[i], kv, ":")
        ldir[nlayers] = kv[1]
        lname[nlayers] = kv[2]
        nlayers++
    }
    nsearch = split(search, sdir, " ")
    errors = 0
    ours = 0
    for (i = 1; i <= nfiles; i++)
        if (layer_of(flist[i]) < 0) {
            printf "%s: in no layer (folders: %s)\n", flist[i], layers
            errors++
        }
}
{
    # file:line:text (file names here have no colon)
    file = $0
    sub(/:.*/, "", file)
    rest = substr($0, length(file) + 2)
    line = rest
    sub(/:.*/, "", line)
    name = rest
    sub(/^[^"]*"/, "", name)
    sub(/".*/, "", name)
    target = resolve(file, name)
    if (target == "")
        next
    ours++
    if (!((file, target) in edge)) {
        edge[file, target] = 1
        adj[file, ++nadj[file]] = target
    }
    lf = layer_of(file)
    lt = layer_of(target)
    if (lf >= 0 && lt > lf) {
        printf "%s:%s: includes \"%s\" (%s): layer %s may not include from %s, a higher layer\n",
               file, line, name, target, lname[lf], lname[lt]
        errors++
    }
}
END {
    depth = 0
    cycles = 0
    for (i = 1; i <= nfiles; i++)
        if (color[flist[i]] == 0)
            visit(flist[i])
    if (errors) {
        printf "check_layers: %d problem(s)\n", errors
        exit 1
    }
    printf "check_layers: %d files, %d includes of our own headers: each within its layer or below, no cycles\n",
           nfiles, ours
}'
