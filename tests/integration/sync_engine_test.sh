#!/usr/bin/env bash
# sync_engine_test.sh -- the agent's sync engine against kubesim, with kubectl as the adversary:
# phases, waves and hooks; a failing wave stopping the sync; drift detected and healed from
# watches; drift reported without selfHeal; prune of a renamed object; Prune=false; the
# safety valve and --allow-prune; a namespace deleted behind the agent's back.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
command -v kubectl >/dev/null || { echo "SKIP: kubectl is not installed"; exit 77; }
export AGENT_FLAGS="--wave-delay 100ms --wave-timeout 20s --resync-interval 30s"

app() { # app NAME SELFHEAL PRUNE
  cat > "$T/repo/argocd/$1.yaml" <<Y
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: $1}
spec:
  source: {repoURL: '.', path: apps/$1}
  destination: {name: c1, namespace: $1}
  syncPolicy: {automated: {selfHeal: $2, prune: $3}, syncOptions: [CreateNamespace=true]}
Y
  mkdir -p "$T/repo/apps/$1"
}
cm() { # cm APP NAME [ANNOTATIONS-FLOW-MAP]
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, annotations: %s}\ndata: {k: v}\n' \
    "$2" "${3:-{\}}" > "$T/repo/apps/$1/$2.yaml"
}
deploy() { # deploy APP NAME IMAGE WAVE
  cat > "$T/repo/apps/$1/$2.yaml" <<Y
apiVersion: apps/v1
kind: Deployment
metadata: {name: $2, annotations: {argocd.argoproj.io/sync-wave: "$4"}}
spec:
  replicas: 1
  selector: {matchLabels: {app: $2}}
  template:
    metadata: {labels: {app: $2}}
    spec: {containers: [{name: main, image: "$3"}]}
Y
}
rv() { obj_field c1 "$1" "$2" "$3" '{.metadata.resourceVersion}'; }

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: c1}\n' > "$T/repo/clusters/c1.yaml"
app waves true true
cm waves pre '{argocd.argoproj.io/hook: PreSync}'
cm waves early '{argocd.argoproj.io/sync-wave: "-1"}'
deploy waves web nginx:1.25 0
cm waves late '{argocd.argoproj.io/sync-wave: "1"}'
cm waves keep-me '{argocd.argoproj.io/sync-options: Prune=false}'
app blocked false false
cm blocked first
deploy blocked broken example/broken:fail 0
cm blocked after '{argocd.argoproj.io/sync-wave: "1"}'
cm blocked on-fail '{argocd.argoproj.io/hook: SyncFail}'
app manual false false
cm manual settings
app many false true
for i in 1 2 3 4; do cm many "m$i"; done
commit "four apps"

start_kubesim c1
start_hub
join_agent c1

# 1. Phases and waves, in the order the cluster saw them.
wait_for 30 app_is c1 waves sync Synced || fail "waves never Synced: $(app_field c1 waves message)"
[ "$(rv cm waves pre)" -lt "$(rv cm waves early)" ] || fail "PreSync hook did not come first"
[ "$(rv cm waves early)" -lt "$(rv cm waves late)" ] || fail "wave -1 not before wave 1"
[ "$(obj_field c1 deploy waves web '{.status.availableReplicas}')" = 1 ] || fail "wave 0 not available"
python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); assert h and any(a["name"]=="waves" for a in h[-1]["apps"])' \
  "$T/agent-c1/history.json" || fail "no local sync history"
pass "PreSync hook, then waves -1, 0, 1 in order; the agent keeps a local history"

# 2. A wave that fails stops the sync and runs the SyncFail hook.
wait_for 30 sh -c "'$GF_BIN_DIR/gitfleet' status c1 | grep -q 'blocked .*Sync wave 0'" ||
  fail "failed wave not reported: $(app_field c1 blocked message)"
exists c1 cm blocked first || fail "wave 0 object missing"
absent c1 cm blocked after || fail "wave 1 ran after a failed wave"
exists c1 cm blocked on-fail || fail "SyncFail hook did not run"
pass "a Degraded wave stops the sync; SyncFail hook runs; it is reported"

# 3. Drift with selfHeal is undone within a second or two.
k c1 scale deploy web -n waves --replicas=5 >/dev/null
t0=$(( $(date +%s%N) / 1000000 ))
replicas_back() { [ "$(obj_field c1 deploy waves web '{.spec.replicas}')" = 1 ]; }
sleep 0.05; wait_for 5 replicas_back || fail "kubectl scale was not undone"
echo "     scale undone in $(( $(date +%s%N) / 1000000 - t0 )) ms"
k c1 delete cm early -n waves >/dev/null
wait_for 5 exists c1 cm waves early || fail "a deleted object was not recreated"
k c1 patch cm late -n waves --type merge -p '{"data":{"k":"tampered"}}' >/dev/null
wait_for 5 test "$(obj_field c1 cm waves late '{.data.k}')" = v || fail "kubectl patch was not undone"
grep -q AGENT-SELF-HEAL "$T/agent-c1.log" || fail "no self-heal logged"
pass "scale, delete and patch behind the agent's back are undone (selfHeal)"

# 4. Without selfHeal, drift is reported with its fields, and left alone.
wait_for 10 app_is c1 manual sync Synced || fail "manual never Synced"
k c1 patch cm settings -n manual --type merge -p '{"data":{"k":"local"}}' >/dev/null
wait_for 5 app_is c1 manual sync OutOfSync || fail "drift not reported"
rc=0; out=$(gitfleet diff c1 manual) || rc=$?
[ "$rc" = 1 ] || fail "gitfleet diff with drift exits $rc, not 1"
echo "$out" | grep -q '.data.k: Git "v", live "local"' ||
  fail "diff does not show the drifted field: $out"
sleep 1; [ "$(obj_field c1 cm manual settings '{.data.k}')" = local ] || fail "drift undone without selfHeal"
gitfleet diff c1 waves | grep -q "no drift" || fail "defaults or status show up as drift in waves"
pass "drift without selfHeal is reported (gitfleet diff) and left alone; defaults are no drift"

# 5. A renamed object: the old one is pruned, the new one created; Prune=false is kept.
git -C "$T/repo" mv apps/waves/late.yaml apps/waves/later.yaml
sed -i 's/name: late/name: later/' "$T/repo/apps/waves/later.yaml"
git -C "$T/repo" rm -q apps/waves/keep-me.yaml
commit "rename late, drop keep-me"; gitfleet sync >/dev/null
wait_for 15 exists c1 cm waves later || fail "renamed object not created"
wait_for 15 absent c1 cm waves late || fail "old name not pruned"
exists c1 cm waves keep-me || fail "Prune=false object was deleted"
pass "renamed object: old pruned, new created; Prune=false kept"

# 6. The safety valve holds a mass delete until allowed.
git -C "$T/repo" rm -q apps/many/m2.yaml apps/many/m3.yaml apps/many/m4.yaml
commit "drop three of four"; gitfleet sync >/dev/null
held() { app_field c1 many message | grep -q "prune held"; }
wait_for 15 held || fail "mass delete not held: $(app_field c1 many message)"
exists c1 cm many m3 || fail "held prune deleted anyway"
gitfleet sync --allow-prune many >/dev/null || fail "gitfleet sync --allow-prune failed"
wait_for 15 absent c1 cm many m3 || fail "allowed prune did not happen"
exists c1 cm many m1 || fail "the object still in Git was deleted"
pass "the safety valve holds a mass delete until --allow-prune"

# 7. A namespace deleted behind the agent's back comes back with its objects.
k c1 delete ns waves --wait=false >/dev/null
sleep 0.5
wait_for 15 exists c1 cm waves early || fail "objects of a deleted namespace not recreated"
wait_for 15 exists c1 deploy waves web || fail "deployment not recreated"
pass "a deleted namespace is recreated with its objects"
# 8. syncPolicy.retry: a failing sync is retried as Argo CD's fields say, then given up.
cat > "$T/repo/argocd/flaky.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: flaky}
spec:
  source: {repoURL: '.', path: apps/flaky}
  destination: {name: c1, namespace: flaky}
  syncPolicy:
    automated: {}
    syncOptions: [CreateNamespace=true]
    retry: {limit: 2, backoff: {duration: 1s, factor: 2, maxDuration: 10s}}
Y
mkdir -p "$T/repo/apps/flaky"
printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 1}\n' > "$T/repo/apps/flaky/w.yaml"
commit "an app whose kind the cluster lacks"; gitfleet sync >/dev/null
retries() { [ "$(grep -c 'AGENT-SYNC-RETRY' "$T/agent-c1.log")" -ge "$1" ]; }
wait_for 20 retries 1 || fail "retries not scheduled: $(grep -c AGENT-SYNC-RETRY "$T/agent-c1.log")"
grep -q "AGENT-SYNC-RETRY .*app=flaky .*attempt=1 in_ms=1000" "$T/agent-c1.log" || fail "first retry not after 1 s"
# A restart in the middle does not forget the retries (apps.json keeps them).
stop agent-c1; start_agent c1
wait_for 20 grep -q "AGENT-SYNC-RETRY .*attempt=2 in_ms=2000" "$T/agent-c1.log" ||
  fail "second retry not after 2 s, or forgotten across a restart"
sleep 5
[ "$(grep -c 'AGENT-SYNC-RETRY' "$T/agent-c1.log")" -eq 1 ] || fail "retried past the limit"
app_is c1 flaky operation Failed || fail "flaky not reported Failed"
pass "a failed sync is retried per syncPolicy.retry (limit 2, 1s then 2s, across a restart), then given up"
echo "8 passed, 0 failed"
