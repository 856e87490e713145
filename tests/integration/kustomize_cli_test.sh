#!/usr/bin/env bash
# kustomize_cli_test.sh -- `gitfleet kustomize`: no boundary by default (as kubectl, in a git
# work tree or not), --root as a boundary, output formats, --all-under, exit codes.
set -euo pipefail
bin=${GF_BIN_DIR:?}/gitfleet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$tmp/repo/apps/base" "$tmp/repo/apps/a" "$tmp/repo/apps/b" "$tmp/outside"
git -C "$tmp/repo" init -q .
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  k: v\n' >"$tmp/repo/apps/base/cm.yaml"
printf 'resources: [cm.yaml]\n' >"$tmp/repo/apps/base/kustomization.yaml"
printf 'resources: [../base]\nnamePrefix: a-\n' >"$tmp/repo/apps/a/kustomization.yaml"
printf 'resources: [../base]\nnamePrefix: b-\n' >"$tmp/repo/apps/b/kustomization.yaml"

# Inside a git work tree ../base is readable.
out=$("$bin" kustomize "$tmp/repo/apps/a")
[ "$out" = "$(printf 'apiVersion: v1\ndata:\n  k: v\nkind: ConfigMap\nmetadata:\n  name: a-x')" ] ||
    fail "git root build printed: $out"
# With --root DIR itself, ../base leaves the root and is refused (exit 1, a message).
if "$bin" kustomize "$tmp/repo/apps/a" --root "$tmp/repo/apps/a" 2>"$tmp/err"; then
    fail "a path leaving --root was accepted"
fi
grep -q "leaves the repository root" "$tmp/err" || fail "message: $(cat "$tmp/err")"
# Outside any git work tree too, as `kubectl kustomize DIR` (issue 16), and with the same output.
cp -r "$tmp/repo/apps" "$tmp/outside/"
out=$("$bin" kustomize "$tmp/outside/apps/a") || fail "outside git, ../base was refused"
[ "$out" = "$(printf 'apiVersion: v1\ndata:\n  k: v\nkind: ConfigMap\nmetadata:\n  name: a-x')" ] ||
    fail "outside git build printed: $out"
if command -v kubectl >/dev/null; then
    [ "$out" = "$(kubectl kustomize "$tmp/outside/apps/a" 2>/dev/null)" ] || fail "kubectl differs outside git"
fi
(cd "$tmp/outside/apps/a" && "$bin" kustomize . >/dev/null) || fail "outside git, DIR given as ."
# --root keeps a boundary outside git as well.
if "$bin" kustomize "$tmp/outside/apps/a" --root "$tmp/outside/apps/a" 2>/dev/null; then
    fail "outside git, --root DIR should refuse ../base"
fi
"$bin" kustomize "$tmp/outside/apps/base" >/dev/null || fail "outside git, a self-contained dir"
# JSON output is a list of the documents.
"$bin" kustomize "$tmp/repo/apps/b" -o json | grep -q '"name": "b-x"' || fail "-o json"
# --all-under builds every kustomization below, each after a '# dir' line.
all=$("$bin" kustomize "$tmp/repo/apps" --all-under)
[ "$(grep -c '^# ' <<<"$all")" = 3 ] || fail "--all-under built: $all"
grep -q '^  name: b-x$' <<<"$all" || fail "--all-under output"
# Usage errors exit 2.
set +e
"$bin" kustomize >/dev/null 2>&1; [ $? = 2 ] || fail "no DIR should exit 2"
"$bin" kustomize "$tmp/repo/apps/a" -o xml >/dev/null 2>&1; [ $? = 2 ] || fail "-o xml should exit 2"
echo "kustomize_cli_test: ok"
