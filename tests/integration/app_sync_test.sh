#!/usr/bin/env bash
# app_sync_test.sh -- the app is the unit of sync (issue 10, agent side), against kubesim: a
# commit to one app does not touch another (no apply, no hook re-created, no history row); an app
# without `automated` is compared, never applied; RespectIgnoreDifferences keeps a scaled replica
# count across a re-apply; generateName hooks run; prune:false with an object that left Git is
# OutOfSync "requires pruning"; Progressing shows while a sync runs; a restart re-applies nothing.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
command -v kubectl >/dev/null || { echo "SKIP: kubectl is not installed"; exit 77; }
export AGENT_FLAGS="--wave-delay 1s --wave-timeout 20s --resync-interval 30s"

app() { # app NAME SYNCPOLICY-FLOW-MAP
  printf 'apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: %s}\nspec:\n  source: {repoURL: ".", path: apps/%s}\n  destination: {name: c1, namespace: %s}\n  syncPolicy: %s\n' \
    "$1" "$1" "$1" "$2" > "$T/repo/argocd/$1.yaml"
  mkdir -p "$T/repo/apps/$1"
}
cm() { # cm APP NAME VALUE [ANNOTATIONS-FLOW-MAP]
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, annotations: %s}\ndata: {k: "%s"}\n' \
    "$2" "${4:-{\}}" "$3" > "$T/repo/apps/$1/$2.yaml"
}
uid() { obj_field c1 cm "$1" "$2" '{.metadata.uid}'; }
rv() { obj_field c1 cm "$1" "$2" '{.metadata.resourceVersion}'; }
starts() { grep -c "AGENT-SYNC-START app=$1 " "$T/agent-c1.log" || true; }

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: c1}\n' > "$T/repo/clusters/c1.yaml"
auto='{automated: {prune: true}, syncOptions: [CreateNamespace=true]}'
app alpha "$auto"; cm alpha a1 v1; cm alpha alpha-pre x '{argocd.argoproj.io/hook: PreSync}'
app beta "$auto"; cm beta b1 v1
cat > "$T/repo/apps/beta/migrate.yaml" <<'Y'
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, annotations: {argocd.argoproj.io/hook: PreSync}}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: m, image: "busybox:1.36"}]}
Y
app manual '{syncOptions: [CreateNamespace=true]}'; cm manual m1 v1
app gen "$auto"; cm gen g1 v1
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: gen-pre-, annotations: {argocd.argoproj.io/hook: PreSync}}\ndata: {k: v}\n' \
  > "$T/repo/apps/gen/hook.yaml"
app keep '{automated: {prune: false}, syncOptions: [CreateNamespace=true]}'; cm keep k1 v1; cm keep k2 v1
app hpa '{automated: {}, syncOptions: [CreateNamespace=true, RespectIgnoreDifferences=true]}'
cat >> "$T/repo/argocd/hpa.yaml" <<'Y'
  ignoreDifferences: [{group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}]
Y
deploy() { # deploy IMAGE
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: "%s"}]}\n' \
    "$1" > "$T/repo/apps/hpa/web.yaml"
}
deploy nginx:1.25
app slow "$auto"
for w in 0 1 2 3; do cm slow "s$w" v1 "{argocd.argoproj.io/sync-wave: \"$w\"}"; done
commit "six apps"

start_kubesim c1
start_hub
join_agent c1

# 1. First sync: automated apps are applied, the manual one is only compared.
for a in alpha beta gen keep hpa slow; do
  wait_for 30 app_is c1 $a sync Synced || fail "$a never Synced: $(app_field c1 $a message)"
done
wait_for 10 app_is c1 manual sync OutOfSync || fail "manual app not OutOfSync: $(app_field c1 manual sync)"
absent c1 cm manual m1 || fail "an app without automated was applied"
# agent_app APP FIELD: a member of the app in the agent's own last report (report.json).
agent_app() {
  python3 -c '
import json, sys
for a in json.load(open(sys.argv[1]))["apps"]:
    if a["name"] == sys.argv[2]: print(a.get(sys.argv[3], ""))' "$T/agent-c1/report.json" "$1" "$2"
}
[ "$(agent_app manual desiredHash | wc -c)" -eq 65 ] || fail "no desiredHash reported"
[ -z "$(agent_app manual syncedHash)" ] || fail "a manual app never synced has a syncedHash"
[ "$(agent_app alpha syncedHash)" = "$(agent_app alpha desiredHash)" ] || fail "alpha's syncedHash is not its desiredHash"
pass "automated apps synced; an app without automated is OutOfSync and not applied"

# 2. generateName hooks run (Argo CD names them) and do not fail the app.
k c1 get cm -n gen -o name | grep -q '^configmap/gen-pre-' || fail "generateName hook not created"
app_field c1 gen message | grep -q "no id" && fail "generateName hook still fails: no id"
pass "a generateName hook is created under a generated name; the app is Synced"

# 3. A commit to alpha touches nothing of beta: no apply, no hook re-created, no history row.
job_uid() { obj_field c1 job beta migrate '{.metadata.uid}'; }
[ -n "$(job_uid)" ] || fail "beta's PreSync Job did not run"
beta_hook=$(job_uid); beta_rv=$(rv beta b1); alpha_hook=$(uid alpha alpha-pre)
beta_starts=$(starts beta); beta_rows=$(python3 -c 'import json,sys; print(sum(a["name"]=="beta" for e in json.load(open(sys.argv[1])) for a in e["apps"]))' "$T/agent-c1/history.json")
cm alpha a1 v2; commit "alpha only"; gitfleet sync >/dev/null
head=$(git -C "$T/repo" rev-parse HEAD)
wait_for 15 cm_is c1 alpha a1 k v2 || fail "alpha's change not applied"
wait_for 10 app_is c1 beta revision "$head" || fail "beta does not report the new revision"
app_is c1 beta sync Synced || fail "beta not Synced at the new revision"
sleep 1
[ "$(job_uid)" = "$beta_hook" ] || fail "beta's PreSync hook Job was re-created"
[ "$(rv beta b1)" = "$beta_rv" ] || fail "beta's object was written ($beta_rv -> $(rv beta b1))"
[ "$(starts beta)" = "$beta_starts" ] || fail "beta was synced on alpha's commit"
[ "$(uid alpha alpha-pre)" != "$alpha_hook" ] || fail "alpha's own PreSync hook did not run again"
rows=$(python3 -c 'import json,sys; print(sum(a["name"]=="beta" for e in json.load(open(sys.argv[1])) for a in e["apps"]))' "$T/agent-c1/history.json")
[ "$rows" = "$beta_rows" ] || fail "beta got a history row for alpha's commit"
pass "a commit to one app: only it is applied and hooked; the other (its PreSync Job untouched) reports Synced at the new revision"

# 4. The manual app is still never applied; drift is shown as missing objects.
absent c1 cm manual m1 || fail "manual app applied by itself"
python3 -c '
import json, sys
a = [a for a in json.load(open(sys.argv[1]))["apps"] if a["name"] == "manual"][0]
r = [r for r in a["resources"] if r["name"] == "m1"][0]
assert r["sync"] == "OutOfSync" and r["health"] == "Missing", r' "$T/agent-c1/report.json" ||
  fail "manual app's missing object not reported"
pass "the manual app stays OutOfSync with its diff and is never applied by itself"

# 5. RespectIgnoreDifferences: an HPA-style scale survives a re-apply of the Deployment.
k c1 scale deploy web -n hpa --replicas=5 >/dev/null
deploy nginx:1.26; commit "hpa: new image"; gitfleet sync >/dev/null
image() { obj_field c1 deploy hpa web '{.spec.template.spec.containers[0].image}'; }
wait_for 15 test "$(image)" = nginx:1.26 || fail "the new image was not applied"
[ "$(obj_field c1 deploy hpa web '{.spec.replicas}')" = 5 ] ||
  fail "replicas reset to $(obj_field c1 deploy hpa web '{.spec.replicas}') by the re-apply"
wait_for 10 app_is c1 hpa sync Synced || fail "ignored replicas count as drift"
pass "RespectIgnoreDifferences: the re-apply leaves out spec.replicas; the scaled count stays"

# 6. prune: false: an object that left Git stays, and the app says it requires pruning.
git -C "$T/repo" rm -q apps/keep/k2.yaml; commit "keep: drop k2"; gitfleet sync >/dev/null
wait_for 15 app_is c1 keep sync OutOfSync || fail "prune:false app with an extra object is $(app_field c1 keep sync)"
# The sync state and its message may arrive in two reports: wait for the message too.
prune_named() { app_field c1 keep message | grep -q "requires pruning: ConfigMap keep/k2"; }
wait_for 10 prune_named ||
  fail "the object to prune is not named: $(app_field c1 keep message)"
exists c1 cm keep k2 || fail "prune:false deleted the object"
rc=0; gitfleet diff c1 keep > "$T/keep.diff" || rc=$?
[ $rc -eq 1 ] && grep -q "ConfigMap/keep/k2" "$T/keep.diff" && grep -q "requires pruning" "$T/keep.diff" ||
  fail "gitfleet diff does not show the object to prune (exit $rc): $(cat "$T/keep.diff")"
pass "prune:false: OutOfSync, 'requires pruning' with the object listed; nothing deleted"

# 7. Progressing (and operation Running) while a four-wave sync runs.
for w in 0 1 2 3; do cm slow "s$w" v2 "{argocd.argoproj.io/sync-wave: \"$w\"}"; done
commit "slow: all waves"; gitfleet sync >/dev/null
progressing() { [ "$(app_field c1 slow health)" = Progressing ] && [ "$(app_field c1 slow operation)" = Running ]; }
wait_for 10 progressing || fail "Progressing/Running never seen during the sync"
wait_for 20 app_is c1 slow operation Succeeded || fail "slow sync did not finish"
app_is c1 slow health Healthy || fail "slow not Healthy after its sync"
pass "an app syncing shows health Progressing and operation Running, then Healthy/Succeeded"

# 7b. Apps sync concurrently: a one-wave app's change is done while a four-wave app still syncs.
for w in 0 1 2 3; do cm slow "s$w" v3 "{argocd.argoproj.io/sync-wave: \"$w\"}"; done
cm alpha a1 v3; commit "slow and alpha together"; gitfleet sync >/dev/null
head=$(git -C "$T/repo" rev-parse HEAD)
alpha_done() { app_is c1 alpha revision "$head" && app_is c1 alpha operation Succeeded && cm_is c1 alpha a1 k v3; }
wait_for 10 alpha_done || fail "alpha's change not done"
app_is c1 slow operation Running || fail "alpha waited for slow's waves (slow is $(app_field c1 slow operation))"
wait_for 20 app_is c1 slow operation Succeeded || fail "slow sync did not finish"
pass "one app's sync does not wait for another's waves"

# 8. A restart re-applies nothing that did not change.
writes_before=$(rv alpha a1)
stop agent-c1; start_agent c1
wait_for 10 grep -q AGENT-BUNDLE "$T/agent-c1.log" || fail "restarted agent did not adopt its bundle"
sleep 2
[ "$(rv alpha a1)" = "$writes_before" ] || fail "a restart re-applied an unchanged app"
grep -q "AGENT-SYNC-START" "$T/agent-c1.log" && fail "a restart started syncs: $(grep AGENT-SYNC-START "$T/agent-c1.log")"
pass "a restart re-applies nothing: the synced state is remembered per app"

# 9. RespectIgnoreDifferences with a rule the agent cannot honour: the sync is refused, said why.
app badjq '{automated: {}, syncOptions: [CreateNamespace=true, RespectIgnoreDifferences=true]}'
cat >> "$T/repo/argocd/badjq.yaml" <<'Y'
  ignoreDifferences: [{kind: ConfigMap, jqPathExpressions: ['.data | to_entries']}]
Y
cm badjq j1 v1; commit "badjq"; gitfleet sync >/dev/null
wait_for 15 sh -c "'$GF_BIN_DIR/gitfleet' status c1 -o json | grep -q 'ignoreDifferences'" ||
  fail "an unsupported jq expression is not reported: $(app_field c1 badjq message)"
absent c1 cm badjq j1 || fail "applied although its ignoreDifferences could not be honoured"
pass "an ignoreDifferences rule beyond the supported jq subset refuses the sync, with the reason"
echo "9 passed, 0 failed"
