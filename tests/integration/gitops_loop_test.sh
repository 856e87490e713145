#!/usr/bin/env bash
# gitops_loop_test.sh -- the product end to end: a hub on a real Git repository, two joined
# agents on two kubesims; first sync, a change, apps added and removed, a render error,
# hub restart, agent restart while the hub is down, a re-used join token, API faults.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
command -v kubectl >/dev/null || { echo "SKIP: kubectl is not installed"; exit 77; }

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd" "$T/repo/apps/web" "$T/repo/apps/api"
for c in dev-1 prod-1; do
  env=${c%-1}
  cat > "$T/repo/clusters/$c.yaml" <<Y
apiVersion: gitfleet.io/v1
kind: Cluster
metadata: {name: $c, labels: {env: $env}}
Y
done
cat > "$T/repo/argocd/web.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: web}
spec:
  generators:
  - clusters: {selector: {matchExpressions: [{key: env, operator: In, values: [dev, prod]}]}}
  template:
    metadata: {name: 'web'}
    spec:
      project: default
      source: {repoURL: '.', path: apps/web, targetRevision: HEAD}
      destination: {name: '{{name}}', namespace: web}
      syncPolicy: {automated: {selfHeal: true}, syncOptions: [CreateNamespace=true]}
Y
cat > "$T/repo/apps/web/config.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {color: blue}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.25"}]}
Y
commit "web on every cluster"

start_kubesim dev-1
start_kubesim prod-1
start_hub
join_agent dev-1
join_agent prod-1

# 1. First sync: both clusters get the app and report it Synced and Healthy.
wait_for 20 app_is dev-1 web sync Synced || fail "dev-1 never Synced"
wait_for 20 app_is prod-1 web health Healthy || fail "prod-1 web never Healthy"
[ "$(k dev-1 get cm -n web web-config -o jsonpath='{.data.color}')" = blue ] || fail "no config on dev-1"
[ "$(k prod-1 get deploy -n web web -o jsonpath='{.metadata.labels.gitfleet\.io/app}')" = web ] ||
  fail "deployment not labelled with its app"
gitfleet status | grep -q "dev-1 .*yes .*yes" || fail "status table does not show dev-1 joined and connected"
gitfleet apps --cluster prod-1 | grep -q "prod-1 .*web .*web .*apps/web" || fail "gitfleet apps (hub) misses web"
gitfleet clusters -o json | grep -q '"inGit": true' || fail "gitfleet clusters shows no cluster from Git"
wait_for 10 sh -c "'$GF_BIN_DIR/gitfleet' history web --cluster dev-1 | grep -q 'Succeeded/Synced'" ||
  fail "history has no successful sync of web on dev-1"
pass "first sync reaches both clusters; status, apps, clusters and history show it"

# 2. A change arrives everywhere, with a new generation only where content changed.
gen_before=$(cluster_field dev-1 generation.desired)
sed -i 's/blue/green/' "$T/repo/apps/web/config.yaml"; commit "green"
start_ms=$(( $(date +%s%N) / 1000000 ))
gitfleet sync >/dev/null || fail "gitfleet sync failed"
wait_for 10 cm_is prod-1 web web-config color green ||
  fail "change did not reach prod-1"
echo "     change applied in $(( $(date +%s%N) / 1000000 - start_ms )) ms after the sync call"
[ "$(cluster_field dev-1 generation.desired)" -eq $((gen_before + 1)) ] || fail "generation did not move by one"
echo "README" > "$T/repo/README.md"; commit "docs only"
gitfleet sync >/dev/null
[ "$(cluster_field dev-1 generation.desired)" -eq $((gen_before + 1)) ] ||
  fail "a commit that changes no manifest made a new generation"
pass "a change reaches both clusters; a docs-only commit makes no new generation"

# 3. An app added, then removed without prune: its objects stay and status says so.
cat > "$T/repo/argocd/api.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: api}
spec:
  project: default
  source: {repoURL: '.', path: apps/api}
  destination: {name: dev-1, namespace: api}
  syncPolicy: {automated: {}, syncOptions: [CreateNamespace=true]}
Y
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api-config}\ndata: {k: v}\n' > "$T/repo/apps/api/cm.yaml"
commit "api app"; gitfleet sync >/dev/null
wait_for 10 k dev-1 get cm -n api api-config || fail "added app not applied"
git -C "$T/repo" rm -q argocd/api.yaml; commit "remove api"; gitfleet sync >/dev/null
app_held() { app_field dev-1 api message | grep -q "removed from Git; its objects stay in the cluster (1 held"; }
wait_for 10 app_held || fail "status does not say the removed app's objects stay"
k dev-1 get cm -n api api-config >/dev/null || fail "object of a removed app was deleted without prune"
pass "added app applied; removed app's objects kept and reported"

# 4. A render error in one app: that app reports it, the others carry on.
cat > "$T/repo/argocd/broken.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: broken}
spec:
  project: default
  source: {repoURL: '.', path: apps/missing}
  destination: {name: dev-1, namespace: broken}
Y
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {labels: {env: x}}\n' > "$T/repo/clusters/broken.yaml"
sed -i 's/green/red/' "$T/repo/apps/web/config.yaml"; commit "broken app, broken cluster and a change"
gitfleet sync >/dev/null || true
wait_for 10 cm_is dev-1 web web-config color red ||
  fail "a broken app stopped the others"
[ -n "$(app_field dev-1 broken message)" ] || fail "the broken app shows no error"
gitfleet status | grep -q "problem in the fleet repository: clusters/broken.yaml" ||
  fail "a broken Cluster file is not shown: $(gitfleet status)"
git -C "$T/repo" rm -q clusters/broken.yaml; commit "fix the cluster file"; gitfleet sync >/dev/null
pass "a render error stays with its app; a broken Cluster file is shown fleet-wide"

# 5. Hub restart: nothing lost, agents reconnect.
gen=$(cluster_field dev-1 generation.desired)
stop hub; start_hub
[ "$(cluster_field dev-1 generation.desired)" -eq "$gen" ] || fail "generation changed across a restart"
wait_for 15 cluster_is dev-1 connected True || fail "agent did not reconnect"
pass "hub restart loses nothing; agents reconnect"

# 6. Agent restart while the hub is down: the cached bundle is enforced (selfHeal; the
#    synced state is remembered, so nothing else is re-applied).
stop hub; stop agent-dev-1
k dev-1 delete ns web --wait=false >/dev/null
start_agent dev-1
wait_for 15 k dev-1 get cm -n web web-config || fail "cached bundle not enforced without the hub"
wait_for 20 grep -q -E "AGENT-(HUB-UNREACHABLE|REPORT-FAIL)" "$T/agent-dev-1.log" ||
  fail "agent did not notice the hub was away"
start_hub
pass "agent enforces its cached bundle while the hub is down"

# 7. A join token works once.
token=$(gitfleet cluster add extra-1 | tail -n 1)
"$GF_BIN_DIR/gitfleet-agent" join --hub "tcp://127.0.0.1:$HUB_PORT" --token "$token" --state-dir "$T/x1" >/dev/null ||
  fail "fresh token refused"
if "$GF_BIN_DIR/gitfleet-agent" join --hub "tcp://127.0.0.1:$HUB_PORT" --token "$token" --state-dir "$T/x2" 2>"$T/x2.err"; then
  fail "a join token worked twice"
fi
grep -q "already used" "$T/x2.err" || fail "second use not explained: $(cat "$T/x2.err")"
pass "a join token is refused the second time"

# 8. The API server fails for a while: the agent retries with backoff and converges.
ks_url=$(python3 -c 'import sys,yaml; print(yaml.safe_load(open(sys.argv[1]))["clusters"][0]["cluster"]["server"])' "$T/prod-1.kubeconfig")
curl -sf -XPOST "$ks_url/kubesim/faults" -d '{"verb":"patch","resource":"configmaps","count":3,"status":500}' >/dev/null ||
  fail "cannot inject faults"
curl -sf -XPOST "$ks_url/kubesim/faults" -d '{"verb":"patch","resource":"configmaps","count":2,"status":429,"retryAfterSeconds":1}' >/dev/null
sed -i 's/red/purple/' "$T/repo/apps/web/config.yaml"; commit "purple"; gitfleet sync >/dev/null
wait_for 30 cm_is prod-1 web web-config color purple ||
  fail "agent did not converge after API errors"
grep -q AGENT-APPLY-RETRY "$T/agent-prod-1.log" || fail "no retry was logged"
pass "agent retries through 500s and 429s and converges"

# 9. A hub that lost its key (restored without it) signs with a new one: agents refuse its
#    bundles, keep what they have, and say why.
wait_for 20 cm_is dev-1 web web-config color purple || fail "dev-1 never got purple"
stop hub; mv "$T/hub/hub.key" "$T/hub/hub.key.lost"; start_hub
sed -i 's/purple/orange/' "$T/repo/apps/web/config.yaml"; commit "orange"; gitfleet sync >/dev/null
wait_for 20 grep -q "AGENT-BUNDLE-REFUSED.*does not verify" "$T/agent-dev-1.log" ||
  fail "a bundle signed by another key was not refused"
cm_is dev-1 web web-config color purple || fail "a refused bundle was applied"
wait_for 10 sh -c "'$GF_BIN_DIR/gitfleet' status | grep -q 'dev-1 .*bundle refused'" ||
  fail "the refusal is not reported to the hub"
stop hub; mv "$T/hub/hub.key.lost" "$T/hub/hub.key"; start_hub
pass "bundles signed by another key are refused, reported, and nothing is applied"

# 10. Revocation: a removed cluster's agent is refused.
gitfleet cluster remove prod-1 >/dev/null
wait_for 10 grep -q "not joined" "$T/agent-prod-1.log" || fail "revoked agent was not refused"
pass "a removed cluster's agent is refused"

echo "10 passed, 0 failed"
