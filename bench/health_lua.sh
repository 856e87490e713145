#!/usr/bin/env bash
# health_lua.sh -- cost per object of a Lua health script in the agent (issue 16): a typical
# cert-manager-style script on a live Certificate, the object conversion alone, and a built-in
# C check for comparison. Uses the release build (build/bin). Not a test; prints three runs.
# Usage: bench/health_lua.sh [ITERATIONS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${GF_BIN_DIR:-$here/build/bin}/health_lua_bench
[ -x "$bin" ] || { echo "build first: ./scripts/build.sh build" >&2; exit 1; }
for run in 1 2 3; do
  echo "run $run:"
  "$bin" "${1:-100000}" | sed 's/^/  /'
done
