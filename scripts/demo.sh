#!/usr/bin/env bash
# demo.sh -- the main job: install what is missing, build, and run gitfleet on the examples.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh"
"$here/scripts/build.sh" "$here/build"
bin="$here/build/bin"
echo "== gitfleet $("$bin/gitfleet" --version | cut -d' ' -f2): kubectl-style formatting of deploy/examples/*.yaml"
for f in "$here"/deploy/examples/*.yaml; do
  echo "--- ${f#$here/}"
  "$bin/gitfleet" fmt "$f"
done
