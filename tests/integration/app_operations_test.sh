#!/usr/bin/env bash
# app_operations_test.sh -- operator requests carried in the signed bundle, as the agent runs them
# (issue 10, agent side): a dry run changes nothing and says what it would do; a sync of a manual
# app applies it, once per request id; --resource limits it; prune only when asked; an expired
# request is answered, not run; a rollback applies the pinned state and suspends auto-sync until
# the next state of the app. The requests are planted in the hub's store and signed with its key
# (tests/integration/lib/bundle_operation.py), so this runs without the hub's API for them.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
command -v kubectl >/dev/null || { echo "SKIP: kubectl is not installed"; exit 77; }
python3 -c 'import cryptography' 2>/dev/null || { echo "SKIP: python3-cryptography is missing"; exit 77; }
export AGENT_FLAGS="--wave-delay 100ms --wave-timeout 20s --resync-interval 30s"

app() { # app NAME SYNCPOLICY-FLOW-MAP
  printf 'apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: %s}\nspec:\n  source: {repoURL: ".", path: apps/%s}\n  destination: {name: c1, namespace: %s}\n  syncPolicy: %s\n' \
    "$1" "$1" "$1" "$2" > "$T/repo/argocd/$1.yaml"
  mkdir -p "$T/repo/apps/$1"
}
cm() { printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {k: "%s"}\n' "$2" "$3" > "$T/repo/apps/$1/$2.yaml"; }
maxgen() { python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT max(generation) FROM bundles WHERE cluster = ?", ("c1",)).fetchone()[0])' "$T/hub/hub.db"; }
plant() { # plant OPERATION_JSON [ROLLBACK_FROM_GEN]: a new generation with that request
  python3 "$here/lib/bundle_operation.py" "$T/hub/hub.db" "$T/hub/hub.key" c1 $(( $(maxgen) + 1 )) "$@" ||
    fail "could not plant the request"
}
# op APP FIELD: a member of the app's operationState in the agent's report.json
op() {
  python3 -c '
import json, sys
for a in json.load(open(sys.argv[1]))["apps"]:
    if a["name"] == sys.argv[2]: print(json.dumps(a.get("operationState", {}).get(sys.argv[3], "")).strip("\""))' \
    "$T/agent-c1/report.json" "$1" "$2"
}
agent_app() {
  python3 -c '
import json, sys
for a in json.load(open(sys.argv[1]))["apps"]:
    if a["name"] == sys.argv[2]: print(json.dumps(a.get(sys.argv[3], "")).strip("\""))' "$T/agent-c1/report.json" "$1" "$2"
}
op_is() { [ "$(op "$1" "$2")" = "$3" ]; }

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: c1}\n' > "$T/repo/clusters/c1.yaml"
app man '{syncOptions: [CreateNamespace=true]}'; cm man m1 v1; cm man m2 v1
app auto '{automated: {prune: true}, syncOptions: [CreateNamespace=true]}'; cm auto a1 v1
commit "a manual and an automated app"

start_kubesim c1
start_hub
join_agent c1
wait_for 30 app_is c1 auto sync Synced || fail "auto never Synced"
wait_for 10 app_is c1 man sync OutOfSync || fail "man is not OutOfSync"
absent c1 cm man m1 || fail "manual app applied by itself"

# 1. A dry run: nothing changes, the operation says what would happen.
plant '{"id": "op-dry", "app": "man", "dryRun": true}'
wait_for 20 op_is man id op-dry || fail "the dry run was not reported"
op_is man phase Succeeded || fail "dry run phase $(op man phase)"
op_is man dryRun true || fail "dry run not marked dryRun"
op man message | grep -q "would apply 2" || fail "dry run does not say what it would apply: $(op man message)"
absent c1 cm man m1 || fail "a dry run applied an object"
k c1 get ns man >/dev/null 2>&1 && fail "a dry run created the namespace"
pass "a dry run changes nothing and reports what it would apply"

# 2. A sync request applies the manual app, once.
plant '{"id": "op-1", "app": "man"}'
wait_for 20 cm_is c1 man m1 k v1 || fail "the requested sync did not apply"
wait_for 10 op_is man phase Succeeded || fail "sync request not Succeeded"
op_is man initiatedBy operator || fail "initiatedBy $(op man initiatedBy)"
wait_for 10 app_is c1 man sync Synced || fail "man not Synced after its sync"
plant '{"id": "op-1", "app": "man"}'   # the same id again in a newer bundle
sleep 2
[ "$(grep -c 'AGENT-SYNC-START app=man .*id=op-1 ' "$T/agent-c1.log")" = 1 ] || fail "a request id ran twice"
pass "a sync request applies a manual app, Synced, initiatedBy operator; an id runs once"

# 3. Only the resources asked for.
cm man m1 v2; cm man m2 v2; commit "man: v2"; gitfleet sync >/dev/null
wait_for 10 app_is c1 man sync OutOfSync || fail "man's new state not OutOfSync"
sleep 1; cm_is c1 man m1 k v1 || fail "a manual app applied its new state by itself"
plant '{"id": "op-2", "app": "man", "resources": [{"kind": "ConfigMap", "namespace": "man", "name": "m2"}]}'
wait_for 20 cm_is c1 man m2 k v2 || fail "the selected resource was not applied"
wait_for 10 op_is man id op-2 || fail "op-2 not reported"
cm_is c1 man m1 k v1 || fail "a resource that was not selected was applied"
pass "--resource: only the selected object is applied"

# 4. Prune only when asked.
git -C "$T/repo" rm -q apps/man/m2.yaml; commit "man: drop m2"; gitfleet sync >/dev/null
plant '{"id": "op-3", "app": "man"}'
wait_for 20 op_is man id op-3 || fail "op-3 not reported"
wait_for 10 op_is man phase Succeeded || fail "op-3 $(op man phase)"
exists c1 cm man m2 || fail "pruned without --prune"
agent_app man message | grep -q "requires pruning" || fail "extra object not reported: $(agent_app man message)"
plant '{"id": "op-4", "app": "man", "prune": true}'
wait_for 20 absent c1 cm man m2 || fail "--prune did not delete the object that left Git"
wait_for 10 app_is c1 man sync Synced || fail "man not Synced after the prune"
pass "objects that left Git are pruned only with --prune; until then the app requires pruning"

# 5. An expired request is answered and not run.
plant '{"id": "op-old", "app": "man", "force": true, "expiresMs": 1000}'
wait_for 20 op_is man id op-old || fail "the expired request was not answered"
op_is man phase Error || fail "expired request phase $(op man phase)"
grep -q 'AGENT-SYNC-START app=man .*id=op-old' "$T/agent-c1.log" && fail "an expired request ran"
pass "an expired request is answered with Error and not run"

# 6. Rollback: the pinned state is applied, auto-sync suspended until the next state.
gen_v1=$(maxgen)
cm auto a1 v2; commit "auto: v2"; gitfleet sync >/dev/null
wait_for 20 cm_is c1 auto a1 k v2 || fail "auto: v2 not applied"
plant '{"id": "op-rb", "app": "auto", "kind": "rollback"}' "$gen_v1"
wait_for 20 cm_is c1 auto a1 k v1 || fail "rollback did not apply the pinned state"
wait_for 10 op_is auto kind rollback || fail "rollback not reported as such"
[ "$(agent_app auto autoSyncSuspended)" = true ] || fail "autoSyncSuspended not reported"
agent_app auto message | grep -q "rolled back to generation $gen_v1" ||
  fail "the rolled-back state is not said plainly: $(agent_app auto message)"
sleep 1; cm_is c1 auto a1 k v1 || fail "auto-sync undid the rollback"
cm auto a1 v3; commit "auto: v3"; gitfleet sync >/dev/null
wait_for 20 cm_is c1 auto a1 k v3 || fail "the next state did not resume auto-sync"
pass "rollback applies the pinned state and holds it; the next state of the app resumes auto-sync"
echo "6 passed, 0 failed"
