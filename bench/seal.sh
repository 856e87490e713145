#!/usr/bin/env bash
# seal.sh -- how long `gitfleet seal` takes for a Secret of 10 values sealed to N clusters
# (offline, from a recipients file), against the same work done with the age CLI (one `age`
# run per value, the way a SOPS-less script would do it), and the size of the result.
# usage: bench/seal.sh [BUILD_DIR]   (default: build)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/build}/bin
command -v age-keygen >/dev/null || { echo "age is not installed (scripts/deps.sh)"; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

{
  printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: bench, namespace: bench}\nstringData:\n'
  for i in $(seq 1 10); do printf '  key%s: %s\n' "$i" "$(head -c 48 /dev/urandom | base64 -w0)"; done
} > "$T/secret.yaml"

ms() { echo $(( $(date +%s%N) / 1000000 )); }
printf '| recipients | gitfleet seal (10 values) | age CLI, 10 runs | sealed file |\n|---|---|---|---|\n'
for n in 1 10 100; do
  : > "$T/recipients.txt"; args=()
  for i in $(seq 1 "$n"); do
    r=$(age-keygen 2>&1 | grep -o 'age1[a-z0-9]*' | head -1)
    echo "c$i $r env=bench" >> "$T/recipients.txt"; args+=(-r "$r")
  done
  best_seal=999999; best_age=999999
  for run in 1 2 3; do
    t0=$(ms)
    "$bin/gitfleet" seal -f "$T/secret.yaml" --selector env=bench \
      --recipients-file "$T/recipients.txt" > "$T/sealed.yaml"
    t1=$(ms)
    for i in $(seq 1 10); do printf 'value%s' "$i" | age "${args[@]}" > /dev/null; done
    t2=$(ms)
    if (( t1 - t0 < best_seal )); then best_seal=$(( t1 - t0 )); fi
    if (( t2 - t1 < best_age )); then best_age=$(( t2 - t1 )); fi
  done
  printf '| %s | %s ms | %s ms | %s KB |\n' "$n" "$best_seal" "$best_age" \
    $(( $(stat -c %s "$T/sealed.yaml") / 1024 ))
done
