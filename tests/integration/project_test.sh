#!/usr/bin/env bash
# project_test.sh -- AppProjects read from argocd/projects/ bind their apps: a forbidden
# destination, a forbidden kind and an unknown project are refused by the hub with the rule in
# the status; the permitted app deploys. Then a bundle re-signed with the hub's own key (a hub
# bug or a tampered render) adds a resource the project forbids: the agent refuses the app.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
command -v kubectl >/dev/null || { echo "SKIP: kubectl is not installed"; exit 77; }
python3 -c 'import cryptography' 2>/dev/null || { echo "SKIP: python3-cryptography missing"; exit 77; }

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd/projects" "$T/repo/argocd/apps" "$T/repo/apps/shop" \
  "$T/repo/apps/rbac"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: c1}\n' > "$T/repo/clusters/c1.yaml"
cat > "$T/repo/argocd/projects/commerce.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: commerce, namespace: argocd}
spec:
  sourceRepos: ['*']
  destinations:
  - {name: c1, namespace: 'shop*'}
  namespaceResourceBlacklist:
  - {group: '', kind: Secret}
Y
app() { # NAME PROJECT NAMESPACE PATH
  cat > "$T/repo/argocd/apps/$1.yaml" <<Y
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: $1}
spec:
  project: $2
  source: {repoURL: '.', path: $4}
  destination: {name: c1, namespace: $3}
  syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}
Y
}
app shop commerce shop apps/shop
app escape commerce kube-system apps/shop
app rbac commerce shop-admin apps/rbac
app ghost nosuch shop-ghost apps/shop
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {v: "1"}\n' > "$T/repo/apps/shop/cm.yaml"
cat > "$T/repo/apps/rbac/role.yaml" <<'Y'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: shop-admin}
rules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: rbac-cm}
data: {v: "1"}
Y
commit "v1"

out=$(gitfleet apps --repo "$T/repo" 2>&1) && fail "apps with refused apps exited 0"
grep -Eq '^c1 +shop +commerce +shop ' <<<"$out" || fail "apps: the project column: $out"
grep -q "ghost: spec.project: project 'nosuch' does not exist" <<<"$out" || fail "apps: unknown project: $out"
pass "gitfleet apps shows each app's project and the refusals"

start_kubesim c1
start_hub
join_agent c1
wait_for 20 cm_is c1 shop cm v 1 || fail "the permitted app did not deploy"
st=$(gitfleet status c1 -o json)
grep -q "destination cluster 'c1' (server gitfleet://c1) namespace 'kube-system' does not match any of the allowed destinations in project 'commerce' (spec.destinations)" <<<"$st" ||
  fail "forbidden destination not in the status: $st"
grep -q "resource rbac.authorization.k8s.io:ClusterRole shop-admin is not permitted in project 'commerce' (cluster-scoped: spec.clusterResourceWhitelist does not list it)" <<<"$st" ||
  fail "forbidden kind not in the status: $st"
grep -q "project 'nosuch' does not exist" <<<"$st" || fail "unknown project not in the status: $st"
absent c1 cm kube-system cm || fail "the refused destination got objects"
absent c1 cm shop-admin rbac-cm || fail "the app with a forbidden kind got its other objects"
k c1 get clusterrole shop-admin >/dev/null 2>&1 && fail "a forbidden ClusterRole was applied"
pass "the hub refuses a forbidden destination, a forbidden kind and an unknown project, naming the rule"

# The agent's own check: a validly signed bundle that widens the project.
gen=$(python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT max(generation) FROM bundles WHERE cluster = ?",
                                           ("c1",)).fetchone()[0])' "$T/hub/hub.db")
python3 "$here/lib/resign_bundle.py" "$T/hub/hub.db" "$T/hub/hub.key" c1 shop $((gen + 10)) \
  '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"planted","namespace":"kube-system"},"data":{"v":"x"}}' ||
  fail "could not re-sign the bundle"
wait_for 20 grep -q "AGENT-PROJECT-REFUSED.*app=shop" "$T/agent-c1.log" || fail "the agent applied a widened app"
absent c1 cm kube-system planted || fail "the planted object was applied"
grep -q "namespace kube-system of ConfigMap planted is not permitted in project 'commerce'" "$T/agent-c1.log" ||
  fail "the agent's refusal does not name the rule: $(grep AGENT-PROJECT "$T/agent-c1.log")"
# (grep -q on a pipe would end gitfleet with SIGPIPE once the JSON outgrows the pipe buffer)
reported() { [[ "$(gitfleet status c1 -o json)" == *"refused by the agent: namespace kube-system"* ]]; }
wait_for 10 reported || fail "the refusal is not reported: $(gitfleet status c1 -o json)"
cm_is c1 shop cm v 1 || fail "the refused app's objects were touched"
pass "the agent refuses a signed bundle that widens the project, and reports it"
