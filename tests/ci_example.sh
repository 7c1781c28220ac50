#!/usr/bin/env bash
# ci_example.sh: runs the steps of the `mockapi-run` job of
# docs/ci/github-actions.yml, as they are written there, on this machine, so
# .ci/run proves the example works. The steps are read out of the workflow
# (not copied here): each `run:` block runs as GitHub runs it
# (`bash --noprofile --norc -eo pipefail`), in its `working-directory:` under
# the clone, with GITHUB_WORKSPACE (the clone), GITHUB_PATH (whose lines are
# put on PATH for the next steps, as on GitHub) and RUNNER_TEMP set. A
# `uses:` step (the checkout) is skipped: the clone is already here. A step
# key this script does not know is an error, so the example cannot grow a
# step that is not checked.
#
# The job's container is Debian 12, as is the machine .ci/run runs on.
# Before the step that calls `mockapi run`, `mockapi run --help` must work;
# while mockapi has no run command the rest is skipped (exit 0, "skipped:
# mockapi has no run command").
#
# Usage: tests/ci_example.sh [WORKFLOW]     (default docs/ci/github-actions.yml;
#                                            root or sudo: the first step may apt-get)
# Exit status: 0 every step passed (or the run steps were skipped, as said),
# 1 a step failed or timed out (its output is printed), 2 a usage error or a
# workflow this script cannot read (no such job, no step, an unknown key).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: tests/ci_example.sh [WORKFLOW]"
case "${1:-}" in
    -h|--help) echo "$usage"; exit 0 ;;
    -*) echo "$usage" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "$usage" >&2; exit 2; }
wf=${1:-$top/docs/ci/github-actions.yml}
[ -f "$wf" ] || { echo "ci_example: $wf: no such file" >&2; exit 2; }
job=mockapi-run
step_timeout=${CI_EXAMPLE_STEP_TIMEOUT:-900}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The job's steps, one folder each (work/steps/N/{name,run,dir,uses}). The
# workflow keeps to plain block YAML (two-space indents, `run: |` blocks),
# which this reads; anything else is refused rather than guessed at.
python3 - "$wf" "$job" "$work/steps" <<'PY' || exit 2
import os, re, sys
wf, job, out = sys.argv[1:4]
lines = open(wf).read().split("\n")
def indent(l): return len(l) - len(l.lstrip(" "))
def die(msg):
    sys.stderr.write("ci_example: %s: %s\n" % (wf, msg)); sys.exit(2)
try:
    j = lines.index("jobs:")
except ValueError:
    die("no top-level jobs:")
start = None
for i in range(j + 1, len(lines)):
    if lines[i].rstrip() == "  %s:" % job:
        start = i; break
if start is None: die("no job %s" % job)
end = len(lines)
for i in range(start + 1, len(lines)):
    l = lines[i]
    if l.strip() and not l.lstrip().startswith("#") and indent(l) <= 2:
        end = i; break
body = lines[start + 1:end]
try:
    s = next(k for k, l in enumerate(body) if l.rstrip() == "    steps:")
except StopIteration:
    die("job %s has no steps:" % job)
steps = []
i = s + 1
while i < len(body):
    l = body[i]
    if not l.strip() or l.lstrip().startswith("#"): i += 1; continue
    if indent(l) <= 4: break
    if not l.startswith("      - "): die("line %d: a step must start with '      - '" % (start + 2 + i))
    steps.append({}); cur = steps[-1]
    l = "        " + l[8:]
    while True:
        m = re.match(r"^        ([A-Za-z-]+):(.*)$", l)
        if not m: die("line %d: cannot read %r" % (start + 2 + i, l.strip()))
        key, val = m.group(1), m.group(2).strip()
        if key not in ("name", "uses", "run", "working-directory", "with"):
            die("line %d: step key %s: tests/ci_example.sh does not know it" % (start + 2 + i, key))
        i += 1
        if val in ("|", "|-"):
            block = []
            while i < len(body) and (not body[i].strip() or indent(body[i]) > 8):
                block.append(body[i][10:] if body[i].strip() else ""); i += 1
            val = "\n".join(block).rstrip("\n") + "\n"
        elif key == "with":
            while i < len(body) and body[i].strip() and indent(body[i]) > 8: i += 1
            val = ""
        cur[key] = val
        while i < len(body) and (not body[i].strip() or body[i].lstrip().startswith("#")): i += 1
        if i >= len(body) or indent(body[i]) != 8: break
        l = body[i]
if not steps: die("job %s has no steps" % job)
for n, st in enumerate(steps):
    d = os.path.join(out, "%02d" % n); os.makedirs(d)
    if "run" in st and "uses" in st: die("step %d has both run and uses" % (n + 1))
    if "run" not in st and "uses" not in st: die("step %d has neither run nor uses" % (n + 1))
    for k in ("name", "run", "uses", "working-directory"):
        if k in st:
            open(os.path.join(d, k), "w").write(st[k])
PY

export GITHUB_WORKSPACE=$top
export GITHUB_PATH=$work/github_path
export RUNNER_TEMP=$work/runner_temp
export CI=true
mkdir -p "$RUNNER_TEMP"
: >"$GITHUB_PATH"

n=0
for d in "$work"/steps/*; do
    n=$((n + 1))
    name=$(cat "$d/name" 2>/dev/null || true)
    if [ -f "$d/uses" ]; then
        echo "skip step $n: uses $(cat "$d/uses") (the clone is already here)"
        continue
    fi
    [ -n "$name" ] || name=$(head -n 1 "$d/run")
    # the PATH additions of earlier steps, last added first, as on GitHub
    path=$PATH
    while IFS= read -r p; do [ -n "$p" ] && path=$p:$path; done <"$GITHUB_PATH"
    dir=$top
    [ -f "$d/working-directory" ] && dir=$top/$(cat "$d/working-directory")
    [ -d "$dir" ] || { echo "FAIL step $n ($name): working-directory $dir does not exist"; exit 1; }
    if grep -q 'mockapi run' "$d/run"; then
        if ! (cd "$dir" && PATH=$path mockapi run --help) >/dev/null 2>&1; then
            echo "skipped: mockapi has no run command (step $n: $name, and the steps after it)"
            exit 0
        fi
    fi
    start=${EPOCHREALTIME/./}
    rc=0
    (cd "$dir" && PATH=$path timeout "$step_timeout" bash --noprofile --norc -eo pipefail "$d/run") \
        >"$work/step.log" 2>&1 </dev/null || rc=$?
    us=$((${EPOCHREALTIME/./} - start))
    if [ "$rc" = 0 ]; then
        printf 'ok   step %d: %s (%d.%01d s)\n' "$n" "$name" $((us / 1000000)) $((us / 100000 % 10))
        sed 's/^/    /' "$work/step.log"
    else
        [ "$rc" = 124 ] && why="timed out after $step_timeout s" || why="exit $rc"
        echo "FAIL step $n: $name: $why; its output:"
        sed 's/^/    /' "$work/step.log"
        exit 1
    fi
done
echo "every step of $job passed"
