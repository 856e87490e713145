#!/usr/bin/env bash
# demo.sh -- the main job: install what is missing, build, and run a whole fleet on this machine:
# three kubesim clusters, a hub on a scratch copy of deploy/examples/fleet, three joined agents;
# then a commit travels to every cluster. Everything started here stops on exit or Ctrl-C.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh"
"$here/scripts/build.sh" "$here/build"
export GF_BIN_DIR="$here/build/bin"
source "$here/tests/integration/lib/fleet.sh"
command -v kubectl >/dev/null || fail "the demo shows the clusters with kubectl, which is not installed"
clusters=(dev-1 staging-1 prod-eu-1)
say() { printf '\n== %s\n' "$*"; }

say "a fleet repository: a scratch Git copy of deploy/examples/fleet"
make_repo
cp -r "$here/deploy/examples/fleet/." "$T/repo/"
# order-service rolls out ring by ring (deploy/examples/rollouts, docs/rollouts.md)
cp "$here/deploy/examples/rollouts/order-service.yaml" "$T/repo/argocd/applications/"
commit "fleet: order-service, payment-service, infrastructure on three clusters"
git -C "$T/repo" log --oneline

say "three Kubernetes API servers (kubesim): ${clusters[*]}"
for c in "${clusters[@]}"; do start_kubesim "$c"; done

say "the hub, following branch main (agents on tcp://127.0.0.1, API on http://127.0.0.1)"
# --anonymous-read: reads (status, the dashboard) answer without a token, on loopback only;
# changes still need a token (the CLI uses <data-dir>/admin.token, docs/security.md).
start_hub --repo-url https://github.com/example/fleet.git --anonymous-read

say "each cluster joins with a one-time token and runs its agent"
for c in "${clusters[@]}"; do join_agent "$c"; echo "joined $c"; done

all_synced() {
  gitfleet status -o json | python3 -c '
import json, sys
cs = json.load(sys.stdin)["clusters"]
ok = all(c["joined"] and c["apps"] and all(a["sync"] == "Synced" for a in c["apps"]) for c in cs)
sys.exit(0 if ok else 1)'
}
say "waiting until every app on every cluster is Synced"
echo "(order-service, new everywhere, rolls out ring by ring first: docs/rollouts.md)"
wait_for 60 all_synced || { gitfleet status; fail "the fleet did not converge"; }
rollout_done() { [ "$(gitfleet rollout list | awk '$1 == "order-service" {print $4; exit}')" = Completed ]; }
wait_for 30 rollout_done || { gitfleet rollout status order-service; fail "order-service did not roll out"; }
gitfleet status
for c in "${clusters[@]}"; do echo; gitfleet status "$c"; done
echo
echo "the dashboard: $GITFLEET_HUB/  (open it now to watch the next commit arrive live)"

say "a commit: Prometheus moves to v2.55.0 on every cluster"
sed -i 's|prometheus/prometheus:v2.54.1|prometheus/prometheus:v2.55.0|' \
  "$T/repo/infrastructure/monitoring/prometheus.yaml"
commit "monitoring: prometheus v2.55.0"
git -C "$T/repo" log --oneline -1
rev=$(git -C "$T/repo" rev-parse HEAD)
start_ms=$(( $(date +%s%N) / 1000000 ))
curl -sf -XPOST "$GITFLEET_HUB/api/v1/webhook/git" -H 'X-GitHub-Event: push' \
  -d "{\"ref\":\"refs/heads/main\",\"after\":\"$rev\"}" >/dev/null
applied_everywhere() {
  for c in "${clusters[@]}"; do
    [ "$(cluster_field "$c" revision)" = "$rev" ] || return 1
  done
}
wait_for 30 applied_everywhere || fail "the commit did not reach every cluster"
took=$(( $(date +%s%N) / 1000000 - start_ms ))
say "commit ${rev:0:12} applied on all ${#clusters[@]} clusters ${took} ms after the push webhook"
echo "(apps with sync waves pause 2 s between waves, as Argo CD does; see docs/agent.md)"
for c in "${clusters[@]}"; do
  echo "-- kubectl --kubeconfig $c get deploy -A"
  k "$c" get deploy -A -o custom-columns='NAMESPACE:.metadata.namespace,NAME:.metadata.name,IMAGE:.spec.template.spec.containers[0].image,READY:.status.readyReplicas'
done
gitfleet status

say "a progressive rollout: order-service turns CHECKOUT_V2 on, development -> staging -> production"
echo "(order-service is a RollingSync ApplicationSet: each ring bakes 5 s healthy before the next)"
sed -i 's|      - LOG_LEVEL=info|      - LOG_LEVEL=info\n      - CHECKOUT_V2=on|' \
  "$T/repo/apps/order-service/base/kustomization.yaml"
commit "order-service: CHECKOUT_V2=on"
gitfleet sync >/dev/null
checkout_v2() {
  k "$1" get cm -n orders -l app.kubernetes.io/name=order-service \
    -o jsonpath='{.items[*].data.CHECKOUT_V2}' 2>/dev/null || true
}
start_ms=$(( $(date +%s%N) / 1000000 ))
declare -A arrived=()
while [ ${#arrived[@]} -lt ${#clusters[@]} ]; do
  for c in "${clusters[@]}"; do
    if [ -z "${arrived[$c]:-}" ] && [[ " $(checkout_v2 "$c") " == *" on "* ]]; then
      arrived[$c]=$(( $(date +%s%N) / 1000000 - start_ms ))
      echo "  +${arrived[$c]} ms: $c runs order-service with CHECKOUT_V2=on"
      [ ${#arrived[@]} -eq 1 ] && gitfleet rollout status order-service | sed 's/^/    /'
    fi
  done
  [ $(( $(date +%s%N) / 1000000 - start_ms )) -lt 60000 ] || fail "the rollout did not finish"
  sleep 0.2
done
wait_for 20 rollout_done || fail "the rollout did not complete"
gitfleet rollout list
say "done: stopping the hub, the agents and the kubesims"
