#!/usr/bin/env bash
# Does all set-up (packages, civetweb source, release build), then runs the
# mockapi binary on its embedded fixtures. Arguments go to mockapi, e.g.
#   bash ci/serve.sh -addr 127.0.0.1:8080
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/ci/build.sh" release -- civetweb libmockapi mockapi >&2
exec "$top/build/release/mockapi" "$@"
