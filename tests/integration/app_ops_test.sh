#!/usr/bin/env bash
# app_ops_test.sh -- operations on one app from the hub (issue 10, hub and CLI side), end to end
# with the real hub, agents and kubesim: a manual app stays OutOfSync until `gitfleet sync APP`;
# --dry-run prints the plan and changes nothing; rollback re-applies an old state on one cluster
# and suspends auto-sync until the app's next commit; the exit codes of wait, diff and
# status --exit-code; revisions of unchanged clusters follow the hub's commit.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
command -v kubectl >/dev/null || { echo "SKIP: kubectl is not installed"; exit 77; }

cm() { # cm APP NAME VALUE
  mkdir -p "$T/repo/apps/$1"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {k: "%s"}\n' "$2" "$3" \
    > "$T/repo/apps/$1/$2.yaml"
}
code() { "$@" >"$T/out" 2>&1; echo $?; }
head_rev() { git -C "$T/repo" rev-parse HEAD; }

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd"
for c in c1 c2; do
  printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: %s, labels: {env: %s}}\n' \
    "$c" "$([ $c = c1 ] && echo dev || echo prod)" > "$T/repo/clusters/$c.yaml"
done
cat > "$T/repo/argocd/web.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: web}
spec:
  generators: [{clusters: {}}]
  template:
    metadata: {name: web}
    spec:
      source: {repoURL: '.', path: apps/web}
      destination: {name: '{{name}}', namespace: web}
      syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}
Y
for a in manual broken; do
  printf 'apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: %s}\nspec:\n  source: {repoURL: ".", path: apps/%s}\n  destination: {name: c1, namespace: %s}\n  syncPolicy: {syncOptions: [CreateNamespace=true]}\n' \
    "$a" "$a" "$a" > "$T/repo/argocd/$a.yaml"
done
cm web config v1; cm manual m1 v1
mkdir -p "$T/repo/apps/broken"
printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 1}\n' > "$T/repo/apps/broken/w.yaml"
echo "# fleet" > "$T/repo/README.md"
commit "web, manual, broken"

start_kubesim c1; start_kubesim c2
start_hub
join_agent c1; join_agent c2

# 1. Manual apps stay OutOfSync; the gates say so.
wait_for 30 app_is c1 web sync Synced || fail "web never Synced on c1: $(app_field c1 web message)"
wait_for 30 app_is c2 web sync Synced || fail "web never Synced on c2"
wait_for 10 app_is c1 manual sync OutOfSync || fail "manual is $(app_field c1 manual sync)"
sleep 2
absent c1 cm manual m1 || fail "a manual app was applied by itself"
[ "$(code gitfleet status --exit-code)" = 1 ] || fail "status --exit-code with a manual app OutOfSync: $(cat "$T/out")"
[ "$(code gitfleet status c2 --exit-code)" = 0 ] || fail "status c2 --exit-code (all Synced): $(cat "$T/out")"
[ "$(code gitfleet diff c1 manual)" = 1 ] || fail "diff with a missing object exits $(cat "$T/out")"
grep -q "missing from the cluster" "$T/out" || fail "diff does not show the missing object"
[ "$(code gitfleet diff c1 web)" = 0 ] || fail "diff without drift: $(cat "$T/out")"
[ "$(code gitfleet wait manual --sync --timeout 3s)" = 124 ] || fail "wait on an OutOfSync app did not time out: $(cat "$T/out")"
[ "$(code gitfleet wait web --timeout 20s)" = 0 ] || fail "wait web: $(cat "$T/out")"
[ "$(code gitfleet wait --all --cluster c2 --timeout 20s)" = 0 ] || fail "wait --all c2: $(cat "$T/out")"
pass "manual apps stay OutOfSync; status --exit-code, diff and wait gate on it (1, 1, 124; 0 when reached)"

# 2. --dry-run prints what would be applied and changes nothing.
out=$(gitfleet sync manual --dry-run --timeout 30s) || fail "dry run failed: $out"
echo "$out" | grep -q "apply.*ConfigMap/manual/m1" || fail "the plan does not list the apply: $out"
sleep 1
absent c1 cm manual m1 || fail "--dry-run applied the object"
app_is c1 manual sync OutOfSync || fail "--dry-run changed the app's sync"
pass "sync --dry-run prints the plan (apply ConfigMap/manual/m1) and changes nothing"

# 3. gitfleet sync APP --wait: the manual app is synced, then the gates pass.
out=$(gitfleet sync manual --wait --timeout 30s) || fail "sync manual --wait: $out"
cm_is c1 manual m1 k v1 || fail "manual's object not applied"
app_is c1 manual sync Synced || fail "manual not Synced after its sync"
[ "$(code gitfleet wait manual --operation --timeout 10s)" = 0 ] || fail "wait --operation: $(cat "$T/out")"
pass "sync APP --wait: the manual app is applied and Synced"

# 4. A failing sync: sync --wait and wait --operation exit 1.
[ "$(code gitfleet sync broken --wait --timeout 30s)" = 1 ] || fail "a failing sync --wait: $(cat "$T/out")"
grep -q "Failed\|Error" "$T/out" || fail "the failure is not said: $(cat "$T/out")"
[ "$(code gitfleet wait broken --operation --timeout 10s)" = 1 ] || fail "wait --operation on a failed operation: $(cat "$T/out")"
git -C "$T/repo" rm -rq apps/broken argocd/broken.yaml; commit "drop broken"; gitfleet sync >/dev/null
pass "a failed operation: sync --wait and wait --operation exit 1"

# 5. Revisions: a docs-only commit makes no generation, yet every revision shows the new commit;
#    a commit to manual (c1 only) leaves c2's generation alone and c2 shows the new commit.
wait_for 20 app_is c1 manual sync Synced || fail "manual not Synced before the revision checks"
gen_c2=$(cluster_field c2 generation.desired)
echo more >> "$T/repo/README.md"; commit "docs only"; gitfleet sync >/dev/null
[ "$(cluster_field c2 generation.desired)" = "$gen_c2" ] || fail "a docs-only commit made a generation"
wait_for 10 cluster_is c2 revision "$(head_rev)" || fail "c2 revision $(cluster_field c2 revision) after a docs commit"
app_is c2 web revision "$(head_rev)" || fail "web on c2 shows $(app_field c2 web revision)"
cm manual m1 v2; commit "manual v2"; gitfleet sync >/dev/null
[ "$(cluster_field c2 generation.desired)" = "$gen_c2" ] || fail "c2 got a generation for c1's app"
wait_for 10 app_is c2 web revision "$(head_rev)" || fail "unchanged c2 shows an old revision"
app_is c1 manual revision "$(head_rev)" || true
pass "a docs-only commit makes no generation; unchanged clusters and apps show the hub's new commit"

# 6. Rollback: web v1 -> v2, roll c1 back; c2 stays; auto-sync is suspended until web changes.
cm web config v2; commit "web v2"; gitfleet sync >/dev/null
wait_for 20 cm_is c1 web config k v2 || fail "web v2 not applied on c1"
wait_for 20 cm_is c2 web config k v2 || fail "web v2 not applied on c2"
wait_for 20 app_is c1 web sync Synced || fail "web not Synced at v2"
hist=$(gitfleet history web --cluster c1) || fail "history web: $hist"
echo "$hist" | grep -q "one may roll back to" || fail "history lists no states: $hist"
[ "$(echo "$hist" | grep -c '^c1 ')" -ge 2 ] || fail "history has fewer than two states of web on c1: $hist"
out=$(gitfleet rollback web --cluster c1 --wait --timeout 30s) || fail "rollback: $out"
cm_is c1 web config k v1 || fail "rollback did not re-apply v1 on c1"
cm_is c2 web config k v2 || fail "rollback of c1 touched c2"
wait_for 10 app_is c1 web autoSyncSuspended True || fail "auto-sync not suspended after a rollback"
said_rolled_back() { app_field c1 web message | grep -q "rolled back to generation"; }
wait_for 10 said_rolled_back || fail "status does not say it is rolled back: $(app_field c1 web message)"
app_is c1 web sync OutOfSync || fail "a rolled-back app is $(app_field c1 web sync), not OutOfSync against Git"
[ "$(code gitfleet status --exit-code)" = 1 ] || fail "status --exit-code with a rolled-back app"
gitfleet app get web --cluster c1 | grep -q "rolled back to generation" || fail "app get does not show the rollback"
# another app's commit does not resume web's auto-sync
cm manual m1 v3; commit "manual v3"; gitfleet sync >/dev/null
sleep 4
cm_is c1 web config k v1 || fail "web was auto-synced while rolled back"
pass "rollback re-applies v1 on c1 only, suspends auto-sync, and status says it differs from Git"

# 7. The next commit of web resumes auto-sync; a rollback then `sync APP` returns to Git too.
cm web config v3; commit "web v3"; gitfleet sync >/dev/null
wait_for 20 cm_is c1 web config k v3 || fail "web's next commit did not resume auto-sync on c1"
wait_for 10 app_is c1 web autoSyncSuspended False || fail "still suspended after web changed in Git"
wait_for 10 app_is c1 web sync Synced || fail "web not Synced after resuming"
gitfleet rollback web --cluster c1 --to "$(gitfleet history web --cluster c1 -o json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print([s for s in d["states"][0]["states"] if not s["current"]][0]["syncedGeneration"])')" --wait --timeout 30s >/dev/null ||
  fail "rollback --to GENERATION"
wait_for 10 app_is c1 web autoSyncSuspended True || fail "not suspended after rollback --to"
cm_is c1 web config k v3 && fail "rollback --to left v3 in place"
out=$(gitfleet sync web --cluster c1 --wait --timeout 30s) || fail "sync after rollback: $out"
echo "$out" | grep -q "rollback of web ends" || fail "sync does not say the rollback ends: $out"
cm_is c1 web config k v3 || fail "sync APP did not return to Git's state"
app_is c1 web autoSyncSuspended False || fail "sync APP left auto-sync suspended"
pass "the app's next commit ends the rollback; so does gitfleet sync APP"

# 8. The JSON shape: the documented members are there, with the new ones.
gitfleet status c1 -o json | python3 -c '
import json, sys
a = [a for a in json.load(sys.stdin)["clusters"][0]["apps"] if a["name"] == "web"][0]
for k in ["name","sync","health","revision","message","operation","operationState",
          "pendingOperations","rolledBack","autoSyncSuspended","desiredHash","syncedHash"]:
    assert k in a, k
assert a["operationState"]["phase"] == "Succeeded", a["operationState"]
assert a["rolledBack"] is None and a["pendingOperations"] == []' || fail "status JSON members"
[ "$(code gitfleet wait nosuch --timeout 2s)" = 1 ] || fail "wait on an unknown app: $(cat "$T/out")"
[ "$(code gitfleet sync web --bogus)" = 2 ] || fail "a flag sync does not take is not a usage error"
[ "$(code gitfleet rollback web)" = 2 ] || fail "rollback without --cluster is not a usage error"
# The shared hub flags are taken only by the commands that declare them.
[ "$(code gitfleet clusters --limit 3)" = 2 ] || fail "clusters accepts --limit"
[ "$(code gitfleet diff c1 --cluster c2)" = 2 ] || fail "diff accepts --cluster"
[ "$(code gitfleet audit --cluster c1)" = 2 ] || fail "audit accepts --cluster"
[ "$(code gitfleet history --cluster c1 --limit 1)" = 0 ] || fail "history refuses its own flags: $(cat "$T/out")"
pass "status JSON has operationState, pendingOperations, rolledBack, ...; usage errors exit 2"

# 9. Who may operate: a viewer may not; a project token only for its projects' apps.
viewer=$(gitfleet token create ops-viewer --role viewer | tail -n 1)
other=$(gitfleet token create other-team --role project --project other | tail -n 1)
mine=$(gitfleet token create default-team --role project --project default | tail -n 1)
as() { local t=$1; shift; GITFLEET_TOKEN_FILE= GITFLEET_TOKEN=$t "$@"; }
[ "$(code as "$viewer" gitfleet sync web --cluster c1)" = 1 ] && grep -q "may not" "$T/out" ||
  fail "a viewer token synced an app: $(cat "$T/out")"
[ "$(code as "$other" gitfleet rollback web --cluster c1)" = 1 ] && grep -q "project 'default'" "$T/out" ||
  fail "another project's token rolled back web: $(cat "$T/out")"
[ "$(code as "$mine" gitfleet sync web --cluster c2 --dry-run --timeout 30s)" = 0 ] ||
  fail "the app's project token may not sync it: $(cat "$T/out")"
pass "a viewer may not operate apps; a project token only those of its projects"
echo "9 passed, 0 failed"
