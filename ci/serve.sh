#!/usr/bin/env bash
# The README's first command: installs what building and serving need (and
# only that: ci/setup.sh --serve, no test toolchain), puts civetweb's source
# in place, builds the release mockapi AND mockassert (a pipeline gets both
# from this one command: build/release/mockapi, build/release/mockassert),
# then runs mockapi on its embedded fixtures in the foreground. Arguments go
# to mockapi, e.g.
#   bash ci/serve.sh -addr 127.0.0.1:8080
#   bash ci/serve.sh -addr 127.0.0.1:0 -tls-addr off -ready-file /tmp/ready.json
#
# Usage: ci/serve.sh [MOCKAPI_FLAGS...]        (root or sudo for apt; -h is
#        mockapi's own help, after the build)
#        ci/serve.sh -version    (set up and build both, print the version, exit:
#                                 how a CI job builds without serving)
# MOCKAPI_SETUP_ARGS (e.g. "--civetweb-src DIR") is passed on to ci/setup.sh.
# Set-up and build messages go to stderr, so stdout is mockapi's alone
# (MOCKAPI_ADDR=... first).
# Exit status: mockapi's; 1 when set-up or the build failed (the messages
# above say which), 2 when set-up was given a bad argument.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
MOCKAPI_SETUP_ARGS="--serve ${MOCKAPI_SETUP_ARGS:-}" \
    bash "$top/ci/build.sh" release -- civetweb libmockapi mockapi mockassert >&2
exec "$top/build/release/mockapi" "$@"
