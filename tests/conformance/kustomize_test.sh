#!/usr/bin/env bash
# kustomize_test.sh -- conformance of `gitfleet kustomize` with `kubectl kustomize` (kustomize v5.5).
#
# Cases: the project's fixtures (tests/conformance/cases/<name>/) and, when
# present, the upstream corpus ($GF_SHARED_DIR/corpus/kustomize/<case>/).
# A case passes when gitfleet's output is byte for byte the expected output
# (kubectl's, committed as expected.yaml / reference.yaml), or, for a case
# kubectl refuses (no expected output), when gitfleet refuses it too. Where
# kubectl is installed it is run as well and must agree with the committed
# output, so stale fixtures are caught.
#
# Fixture layout: cases/<name>/FEATURES (comma-separated), optional ROOT
# (directory to build, default "."), expected.yaml or ERROR (a substring of
# the message gitfleet must fail with). The file-source root is the case dir.
#
# Every fixture must pass. Corpus cases listed in known-failures.txt are
# expected to fail; the test fails when one of them passes (remove it from
# the list) or when an unlisted one fails (a regression).
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${GF_BIN_DIR:?GF_BIN_DIR not set}/gitfleet
known="$here/known-failures.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
have_kubectl=0
command -v kubectl >/dev/null 2>&1 && have_kubectl=1

declare -A feat_pass feat_total
passed=0 failed=0 fixture_failed=0 unexpected=0

record() { # record NAME FEATURES OK(0/1) KIND(fixture|corpus)
    local name=$1 features=$2 ok=$3 kind=$4 f
    IFS=',' read -r -a fs <<<"${features:-none}"
    for f in "${fs[@]}"; do
        [ -n "$f" ] || continue
        feat_total[$f]=$((${feat_total[$f]:-0} + 1))
        [ "$ok" = 1 ] && feat_pass[$f]=$((${feat_pass[$f]:-0} + 1))
    done
    local listed=0
    [ "$kind" = corpus ] && grep -qx "$name" "$known" 2>/dev/null && listed=1
    if [ "$ok" = 1 ]; then
        passed=$((passed + 1))
        if [ $listed = 1 ]; then
            echo "UNEXPECTED PASS: $name (remove it from known-failures.txt)"
            unexpected=$((unexpected + 1))
        fi
    else
        failed=$((failed + 1))
        if [ "$kind" = fixture ]; then
            echo "FAIL: fixture $name"
            fixture_failed=$((fixture_failed + 1))
        elif [ $listed = 0 ]; then
            echo "REGRESSION: corpus $name"
            unexpected=$((unexpected + 1))
        fi
    fi
}

# run_case NAME ROOTDIR BUILDDIR EXPECTED_FILE|"" ERROR_SUBSTRING|"" FEATURES KIND
run_case() {
    local name=$1 root=$2 dir=$3 expected=$4 err=$5 features=$6 kind=$7 ok=0
    "$bin" kustomize "$dir" --root "$root" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ -n "$expected" ]; then
        [ $rc = 0 ] && cmp -s "$tmp/out" "$expected" && ok=1
        if [ $have_kubectl = 1 ] && [ "$kind" = fixture ]; then
            if ! kubectl kustomize "$dir" >"$tmp/kout" 2>/dev/null || ! cmp -s "$tmp/kout" "$expected"; then
                echo "STALE: fixture $name: expected.yaml is not what kubectl prints"
                ok=0
            fi
        fi
    else
        [ $rc = 1 ] && ok=1
        if [ -n "$err" ] && ! grep -qF -- "$err" "$tmp/err"; then
            echo "fixture $name: error message lacks '$err': $(cat "$tmp/err")"
            ok=0
        fi
        if [ $have_kubectl = 1 ] && [ "$kind" = fixture ] && kubectl kustomize "$dir" >/dev/null 2>&1; then
            echo "STALE: fixture $name: kubectl accepts it"
            ok=0
        fi
    fi
    if [ $ok = 0 ] && [ "${GF_VERBOSE:-0}" = 1 ]; then
        echo "--- $name"; head -c 2000 "$tmp/err"
        [ -n "$expected" ] && diff "$tmp/out" "$expected" | head -20
    fi
    record "$name" "$features" $ok "$kind"
}

for c in "$here"/cases/*/; do
    c=${c%/}
    name=$(basename "$c")
    root=.
    [ -f "$c/ROOT" ] && root=$(cat "$c/ROOT")
    features=$(cat "$c/FEATURES" 2>/dev/null)
    if [ -f "$c/expected.yaml" ]; then
        run_case "$name" "$c" "$c/$root" "$c/expected.yaml" "" "$features" fixture
    else
        run_case "$name" "$c" "$c/$root" "" "$(cat "$c/ERROR" 2>/dev/null)" "$features" fixture
    fi
done

corpus=${GF_SHARED_DIR:-}/corpus/kustomize
if [ -n "${GF_SHARED_DIR:-}" ] && [ -f "$corpus/INDEX.tsv" ]; then
    # '|' instead of tabs: read collapses runs of whitespace separators (empty features)
    while IFS='|' read -r name _set _ok features _err; do
        [ "$name" = name ] && continue
        c="$corpus/$name"
        [ -f "$c/case.json" ] || continue
        root=$(sed -n 's/^ *"root": "\(.*\)",\{0,1\}$/\1/p' "$c/case.json" | head -1)
        exp=""
        [ -f "$c/reference.yaml" ] && exp="$c/reference.yaml"
        run_case "$name" "$c" "$c/${root:-.}" "$exp" "" "$features" corpus
    done < <(tr '\t' '|' <"$corpus/INDEX.tsv")
else
    echo "corpus: ${GF_SHARED_DIR:-<unset>}/corpus/kustomize absent; fixtures only"
fi

for f in $(printf '%s\n' "${!feat_total[@]}" | sort); do
    echo "$f: ${feat_pass[$f]:-0}/${feat_total[$f]}"
done
echo "$passed passed, $failed failed"
[ $fixture_failed = 0 ] && [ $unexpected = 0 ]
