#!/usr/bin/env bash
# fmt_test.sh -- gitfleet fmt on stdin and files; -w rewrites atomically, keeps the mode, touches
# nothing unchanged; bad input and usage exit codes; kubectl's own outputs come back unchanged.
set -euo pipefail
gitfleet="${GF_BIN_DIR:?}/gitfleet"
src="${GF_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { echo "FAIL $*" >&2; exit 1; }
inode() { stat -c %i "$1"; }

# --- stdin, "-", and several files as one stream
printf 'b: 1\na: {y: yes, x: "1", list: [on, 1.0, ~]}\n' >"$tmp/in.yaml"
want=$'a:\n  list:\n  - "on"\n  - 1\n  - null\n  x: "1"\n  "y": "yes"\nb: 1\n'
[ "$("$gitfleet" fmt <"$tmp/in.yaml")"$'\n' = "$want" ] || fail "stdin"
[ "$("$gitfleet" fmt - <"$tmp/in.yaml")"$'\n' = "$want" ] || fail "'-' as stdin"
ok "stdin is reformatted (key order, quoting, numbers, null)"
printf 'z: 2\n' >"$tmp/two.yaml"
got=$("$gitfleet" fmt "$tmp/in.yaml" "$tmp/two.yaml")
[ "$got"$'\n' = "$want"$'---\nz: 2\n' ] || fail "two files: $got"
ok "several files print as one stream joined by ---"
[ -z "$(printf '' | "$gitfleet" fmt)" ] || fail "empty input"
ok "empty input prints nothing"

# --- against kubectl itself, when it is installed
if command -v kubectl >/dev/null; then
  mkdir "$tmp/k"
  cp "$src/deploy/examples/config.yaml" "$tmp/k/r.yaml"
  echo 'resources: [r.yaml]' >"$tmp/k/kustomization.yaml"
  kubectl kustomize "$tmp/k" >"$tmp/k.out"
  "$gitfleet" fmt "$tmp/k/r.yaml" | cmp - "$tmp/k.out" || fail "differs from kubectl kustomize"
  ok "fmt of deploy/examples/config.yaml equals kubectl kustomize's output"
fi

# --- -w: atomic replace, mode kept, unchanged files untouched, idempotent
cp "$tmp/in.yaml" "$tmp/w.yaml"
chmod 640 "$tmp/w.yaml"
before=$(inode "$tmp/w.yaml")
out=$("$gitfleet" fmt -w "$tmp/w.yaml")
[ -z "$out" ] || fail "-w printed: $out"
[ "$(cat "$tmp/w.yaml")"$'\n' = "$want" ] || fail "-w content"
[ "$(stat -c %a "$tmp/w.yaml")" = 640 ] || fail "-w lost the mode"
[ "$(inode "$tmp/w.yaml")" != "$before" ] || fail "-w wrote in place instead of renaming"
ok "-w rewrites through a rename and keeps mode 640"
before=$(inode "$tmp/w.yaml")
mtime=$(stat -c %Y.%y "$tmp/w.yaml")
"$gitfleet" fmt -w "$tmp/w.yaml"
if [ "$(inode "$tmp/w.yaml")" != "$before" ] || [ "$(stat -c %Y.%y "$tmp/w.yaml")" != "$mtime" ]; then
  fail "-w rewrote a file that was already formatted"
fi
ok "-w leaves an already formatted file untouched (idempotent)"
ln -s w.yaml "$tmp/link.yaml"
cp "$tmp/in.yaml" "$tmp/w.yaml"
"$gitfleet" fmt -w "$tmp/link.yaml"
[ -L "$tmp/link.yaml" ] || fail "-w replaced the symlink"
[ "$(cat "$tmp/w.yaml")"$'\n' = "$want" ] || fail "-w through a symlink left the target as it was"
ok "-w through a symlink rewrites the target and keeps the link"

# --- bad input: file:line:col, exit 1, the others still done, nothing half-written
printf 'a: 1\nb: [1, 2\n' >"$tmp/bad.yaml"
cp "$tmp/bad.yaml" "$tmp/bad.orig"
cp "$tmp/in.yaml" "$tmp/good.yaml"
set +e
"$gitfleet" fmt -w "$tmp/bad.yaml" "$tmp/good.yaml" "$tmp/missing.yaml" 2>"$tmp/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "bad input exit code $rc"
grep -q "bad.yaml:[0-9]*:[0-9]*: " "$tmp/err" || fail "no file:line:col in: $(cat "$tmp/err")"
grep -q "missing.yaml" "$tmp/err" || fail "missing file not reported: $(cat "$tmp/err")"
cmp -s "$tmp/bad.yaml" "$tmp/bad.orig" || fail "bad file was modified"
[ "$(cat "$tmp/good.yaml")"$'\n' = "$want" ] || fail "good file after a bad one not rewritten"
for f in "$tmp"/*.tmp.*; do
  if [ -e "$f" ]; then fail "temporary file left behind: $f"; fi
done
ok "a bad file is reported as file:line:col, left intact, the others still rewritten, exit 1"
set +e
printf 'a: [\n' | "$gitfleet" fmt >/dev/null 2>"$tmp/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "bad stdin exit code $rc"
grep -q '^gitfleet: <stdin>:[0-9]*:[0-9]*: ' "$tmp/err" || fail "stdin parse error: $(cat "$tmp/err")"
ok "bad stdin exits 1 naming <stdin>:line:col"

# --- usage errors exit 2
for args in "-x" "--frob f.yaml" "-w" "-w -"; do
  set +e
  # shellcheck disable=SC2086
  "$gitfleet" fmt $args </dev/null >/dev/null 2>"$tmp/err"
  rc=$?
  set -e
  [ "$rc" = 2 ] || fail "'fmt $args' exit $rc, expected 2"
  grep -q "usage: gitfleet fmt" "$tmp/err" || fail "'fmt $args' printed no usage"
done
ok "unknown flags and -w without files exit 2 with the usage line"

# --- kubectl's outputs are fixed points: the project's fixtures, then the shared corpus
n=0
for f in "$src"/tests/fixtures/yaml/*.yaml; do
  "$gitfleet" fmt "$f" | cmp -s - "$f" || fail "fmt changed $f"
  n=$((n + 1))
done
ok "fmt leaves all $n kubectl-printed fixtures unchanged"
corpus="${GF_SHARED_DIR:-$src/../shared}/corpus/kustomize"
if [ -d "$corpus" ]; then
  n=0
  mkdir "$tmp/c"
  for f in "$corpus"/*/reference*.yaml; do
    "$gitfleet" fmt "$f" | cmp -s - "$f" || fail "fmt changed $f"
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || fail "no kubectl outputs found in $corpus"
  for f in "$corpus"/*/reference.yaml; do cp "$f" "$tmp/c/$(basename "$(dirname "$f")").yaml"; done
  sums=$(cd "$tmp/c" && md5sum ./*.yaml)
  "$gitfleet" fmt -w "$tmp"/c/*.yaml
  [ "$(cd "$tmp/c" && md5sum ./*.yaml)" = "$sums" ] || fail "fmt -w changed a kubectl output"
  ok "fmt is a no-op on all $n kubectl outputs of the shared corpus (and -w leaves them as they are)"
else
  echo "skip the shared corpus: $corpus is absent"
fi
echo "$passed passed, 0 failed"
