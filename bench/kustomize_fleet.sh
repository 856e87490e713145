#!/usr/bin/env bash
# kustomize_fleet.sh -- time gitfleet's native kustomize against `kubectl kustomize` on a
# generated fleet (one base, N overlays). Not a test: run it by hand on a quiet machine.
#
# Usage: bench/kustomize_fleet.sh [N] [SAMPLE]
#   N       overlays to generate (default 1000)
#   SAMPLE  overlays built with kubectl, one process each (default 50); kubectl's time for
#           all N is extrapolated from the sample, and the sample's outputs are compared
#           byte for byte with gitfleet's.
# Env: GITFLEET (default build/bin/gitfleet, a build without sanitizers), KEEP=1 keeps the fleet.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n=${1:-1000}
sample=${2:-50}
gitfleet=${GITFLEET:-$here/../build/bin/gitfleet}
work=$(mktemp -d)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

bash "$here/make-fleet-repo.sh" "$work/fleet" "$n" >/dev/null
overlays=$work/fleet/apps/web/overlays

# gitfleet: every overlay in one process, one shared build session.
/usr/bin/time -v "$gitfleet" kustomize "$overlays" --root "$work/fleet" --all-under \
    >"$work/gitfleet.out" 2>"$work/gitfleet.time"
gf_secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$work/gitfleet.time")
gf_rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/gitfleet.time")
built=$(grep -c '^# ' "$work/gitfleet.out")

# Split gitfleet's output per overlay to compare with kubectl.
mkdir -p "$work/gf"
awk -v dir="$work/gf" '/^# / {f = dir "/" substr($2, length($2) - index(reverse($2), "/") + 2);
    next} {print > f}
    function reverse(s,  r, i) {r = ""; for (i = length(s); i > 0; i--) r = r substr(s, i, 1); return r}' \
    "$work/gitfleet.out"

# kubectl: one process per overlay, on a sample spread over the fleet.
step=$(( n / sample )); [ "$step" -ge 1 ] || step=1
start=$(date +%s.%N)
count=0 same=0
for i in $(seq 1 "$step" "$n"); do
    [ "$count" -lt "$sample" ] || break
    kubectl kustomize "$overlays/c$i" >"$work/k.out"
    count=$((count + 1))
    cmp -s "$work/k.out" "$work/gf/c$i" && same=$((same + 1))
done
end=$(date +%s.%N)
k_secs=$(echo "$end - $start" | bc -l)
k_all=$(echo "$k_secs * $n / $count" | bc -l)
ratio=$(echo "$k_all / $gf_secs" | bc -l)

printf 'overlays: %d (gitfleet built %d)\n' "$n" "$built"
printf 'gitfleet --all-under: %.2f s wall, peak RSS %d KiB\n' "$gf_secs" "$gf_rss"
printf 'kubectl kustomize: %d runs in %.2f s -> %.1f s for %d (extrapolated)\n' \
    "$count" "$k_secs" "$k_all" "$n"
printf 'speedup: %.0fx\n' "$ratio"
printf 'identical outputs: %d/%d sampled\n' "$same" "$count"
[ "$same" = "$count" ] && [ "$built" = "$n" ]
