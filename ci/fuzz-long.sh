#!/usr/bin/env bash
# Fuzzes longer than ci/test.sh does, with a corpus that grows from run to
# run in build/fuzz-corpus/<target>/ (outside the repository; seeds still
# come from tests/fuzz/corpus/). Worth an hour before a release, or after a
# change to a parser.
#
# Usage: ci/fuzz-long.sh [SECONDS] [TARGET...]   (default 1800 s per target)
# Same failure reports as ci/fuzz.sh (reproducers in build/fuzz/crashes/).
set -euo pipefail
seconds=${1:-1800}
[ $# -gt 0 ] && shift
exec bash "$(dirname "$0")/fuzz.sh" --long "$seconds" "$@"
