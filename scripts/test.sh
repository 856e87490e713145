#!/usr/bin/env bash
# test.sh -- install what is missing, build with ASan+UBSan into build-test/, run every test.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh"
"$here/scripts/build.sh" "$here/build-test" -DGF_SANITIZE=ON
# The normal build too: the programs land in build/bin/ as the README says.
"$here/scripts/build.sh" "$here/build"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$here/build-test"
ctest --output-on-failure -j"$(nproc)" "$@"
