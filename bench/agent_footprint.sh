#!/usr/bin/env bash
# agent_footprint.sh -- the agent's footprint at rest: RSS and CPU while it manages N objects
# (default 1000: ConfigMaps, Services and Deployments in 10 apps) with its watches open and
# nothing changing. Uses the release build (build/bin). Not a test; prints a table.
# Usage: bench/agent_footprint.sh [OBJECTS] [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export GF_BIN_DIR=${GF_BIN_DIR:-$here/build/bin}
objects=${1:-1000}; seconds=${2:-60}
source "$here/tests/integration/lib/fleet.sh"

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: c1}\n' > "$T/repo/clusters/c1.yaml"
per_app=$(( objects / 10 ))
for a in $(seq 1 10); do
  mkdir -p "$T/repo/apps/a$a"
  printf 'apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a%d}\nspec: {source: {repoURL: ".", path: apps/a%d}, destination: {name: c1, namespace: ns%d}, syncPolicy: {automated: {selfHeal: true, prune: true}, syncOptions: [CreateNamespace=true]}}\n' $a $a $a > "$T/repo/argocd/a$a.yaml"
  for i in $(seq 1 "$per_app"); do
    case $(( i % 10 )) in
      0) printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d%d}\nspec: {replicas: 1, selector: {matchLabels: {app: d%d}}, template: {metadata: {labels: {app: d%d}}, spec: {containers: [{name: c, image: "nginx:1.25", resources: {limits: {cpu: 500m, memory: 128Mi}}}]}}}\n---\n' $i $i $i ;;
      1) printf 'apiVersion: v1\nkind: Service\nmetadata: {name: s%d}\nspec: {selector: {app: x}, ports: [{port: 80, targetPort: 8080}]}\n---\n' $i ;;
      *) printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\ndata: {key: value-%d}\n---\n' $i $i ;;
    esac
  done > "$T/repo/apps/a$a/objects.yaml"
done
commit "$objects objects"

start_kubesim c1
start_hub
AGENT_FLAGS="--resync-interval 10m --report-interval 30s --wave-delay 0" join_agent c1
synced_all() {
  gitfleet status c1 -o json | python3 -c '
import json, sys
apps = json.load(sys.stdin)["clusters"][0]["apps"]
sys.exit(0 if len(apps) == 10 and all(a["sync"] == "Synced" for a in apps) else 1)'
}
t0=$(date +%s)
wait_for 300 synced_all || fail "the agent did not sync $objects objects"
echo "first sync of $objects objects: $(( $(date +%s) - t0 )) s"
pid=$PID_agent_c1
sleep 5 # let the watches settle
ticks=$(getconf CLK_TCK)
cpu0=$(awk '{print $14 + $15}' /proc/$pid/stat)
sleep "$seconds"
cpu1=$(awk '{print $14 + $15}' /proc/$pid/stat)
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
threads=$(awk '/Threads/ {print $2}' /proc/$pid/status)
cpu_pct=$(python3 -c "print(f'{100.0 * ($cpu1 - $cpu0) / $ticks / $seconds:.2f}')")
printf '\n| objects | threads | RSS at rest | peak RSS | CPU at rest (%% of a core, %ss) |\n|---|---|---|---|---|\n' "$seconds"
printf '| %s | %s | %.1f MiB | %.1f MiB | %s %% |\n' "$objects" "$threads" \
  "$(echo "$rss / 1024" | bc -l)" "$(echo "$hwm / 1024" | bc -l)" "$cpu_pct"
