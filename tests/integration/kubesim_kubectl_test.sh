#!/usr/bin/env bash
# kubesim_kubectl_test.sh -- drives the real kubectl against kubesim (TLS + token): server-side
# apply, get/list/selectors, scale, the four patch types, rollouts, wait, delete, watch, CRDs,
# namespace deletion, error statuses, faults, controllers and state across a restart.
set -uo pipefail

if ! command -v kubectl >/dev/null 2>&1; then
    echo "SKIP: kubectl is not installed"
    exit 77
fi
bin=${GF_BIN_DIR:?GF_BIN_DIR not set}/kubesim
[ -x "$bin" ] || { echo "FAIL: $bin missing"; exit 1; }

tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "${KUBESIM_TEST_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
# expect_has WHAT OUTPUT SUBSTRING
expect_has() {
    if [[ "$2" == *"$3"* ]]; then pass "$1"; else fail "$1: expected '$3' in: $2"; fi
}

tls=()
if command -v openssl >/dev/null 2>&1; then
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -keyout "$tmp/tls.key" -out "$tmp/tls.crt" -days 2 -subj "/CN=kubesim" \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >/dev/null 2>&1 &&
        tls=(--tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key")
fi

start_kubesim() {
    rm -f "$tmp/kubeconfig"
    "$bin" --listen 127.0.0.1:0 "${tls[@]}" --token t0ken --kubeconfig-out "$tmp/kubeconfig" \
        --state "$tmp/state.json" --controller-delay 300 >"$tmp/kubesim.out" 2>>"$tmp/kubesim.err" &
    pid=$!
    for _ in $(seq 50); do
        [ -s "$tmp/kubeconfig" ] && return 0
        sleep 0.1
    done
    echo "FAIL: kubesim did not start"; cat "$tmp/kubesim.err"; exit 1
}

stop_kubesim() {
    kill -TERM "$pid"
    wait "$pid"
    local rc=$?
    pid=
    [ $rc -eq 0 ] && pass "SIGTERM stops kubesim cleanly" || fail "kubesim exited $rc on SIGTERM"
}

start_kubesim
export KUBECONFIG=$tmp/kubeconfig
k() { kubectl --cache-dir "$tmp/cache" --request-timeout=20s "$@"; }

# ---- apply --server-side of a multi-document file ------------------------------------------
cat >"$tmp/app.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  namespace: demo
  labels: {app: web, tier: front}
data:
  a: "1"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: lb
  namespace: demo
spec:
  type: LoadBalancer
  selector: {app: web}
  ports:
  - port: 80
EOF
out=$(k apply --server-side -f "$tmp/app.yaml" 2>&1)
expect_has "apply --server-side of 4 documents" "$out" "service/lb serverside-applied"
expect_has "apply creates the deployment" "$out" "deployment.apps/web serverside-applied"

out=$(k get deploy web -n demo -o json --show-managed-fields 2>&1)
expect_has "get -o json has managedFields of the applier" "$out" '"manager": "kubectl"'
expect_has "get -o json has the generation" "$out" '"generation": 1'
out=$(k get cm -n demo -l 'app=web,tier in (front,back)' -o name 2>&1)
expect_has "get -l with = and in" "$out" "configmap/cfg"
out=$(k get cm -n demo -l 'tier notin (front),!missing' -o name 2>&1)
[ -z "$out" ] && pass "get -l with notin selects nothing" || fail "notin selector: $out"
out=$(k get cm -A 2>&1)
expect_has "get -A prints the namespace column" "$out" "NAMESPACE"
expect_has "get -A lists demo/cfg" "$out" "demo        cfg"
out=$(k get deploy -n demo 2>&1)
expect_has "table columns for deployments" "$out" "UP-TO-DATE"

cat >"$tmp/list.yaml" <<'EOF'
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: l1, namespace: demo}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: l2, namespace: demo}}
EOF
out=$(k apply --server-side -f "$tmp/list.yaml" 2>&1)
expect_has "apply --server-side of a kind: List file" "$out" "configmap/l2 serverside-applied"

# ---- rollouts and conditions -----------------------------------------------------------------
out=$(k rollout status deploy/web -n demo --timeout=20s 2>&1)
expect_has "rollout status" "$out" 'successfully rolled out'
out=$(k wait --for=condition=Available deploy/web -n demo --timeout=20s 2>&1)
expect_has "wait --for=condition=Available" "$out" "condition met"
out=$(k scale deploy web -n demo --replicas=3 2>&1)
expect_has "scale" "$out" "scaled"
out=$(k get deploy web -n demo -o jsonpath='{.spec.replicas}/{.metadata.generation}' 2>&1)
expect_has "scale sets replicas and bumps generation" "$out" "3/2"
k rollout status deploy/web -n demo --timeout=20s >/dev/null 2>&1 &&
    pass "rollout after scale" || fail "rollout after scale"
out=$(k wait --for=jsonpath='{.status.loadBalancer.ingress[0].ip}' svc/lb -n demo --timeout=20s 2>&1)
expect_has "LoadBalancer gets an ingress address" "$out" "condition met"

# ---- patches -----------------------------------------------------------------------------------
out=$(k patch cm cfg -n demo --type=merge -p '{"data":{"b":"2"}}' 2>&1)
expect_has "merge patch" "$out" "patched"
out=$(k patch cm cfg -n demo --type=json -p '[{"op":"add","path":"/data/c","value":"3"},{"op":"remove","path":"/data/a"}]' 2>&1)
expect_has "JSON patch" "$out" "patched"
out=$(k get cm cfg -n demo -o jsonpath='{.data}' 2>&1)
expect_has "patches applied" "$out" '{"b":"2","c":"3"}'
out=$(k patch deploy web -n demo -p '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox:1"}]}}}}' 2>&1)
expect_has "strategic merge patch" "$out" "patched"
out=$(k get deploy web -n demo -o jsonpath='{.spec.template.spec.containers[*].name}' 2>&1)
expect_has "strategic merge adds a container by name (patch items first)" "$out" "side nginx"
k rollout status deploy/web -n demo --timeout=20s >/dev/null 2>&1 &&
    pass "new rollout when the template changes" || fail "rollout after template change"

for _ in $(seq 50); do # the old ReplicaSet scales down a tick after the rollout
    out=$(k get pods -n demo -l app=web -o name 2>&1 | wc -l)
    [ "$out" -eq 3 ] && break
    sleep 0.1
done
[ "$out" -eq 3 ] && pass "the Deployment's ReplicaSet runs 3 pods" || fail "pods: $out"
out=$(k rollout undo deploy/web -n demo 2>&1)
expect_has "rollout undo" "$out" "rolled back"
k rollout status deploy/web -n demo --timeout=20s >/dev/null 2>&1 || fail "rollout after undo"
out=$(k get deploy web -n demo -o jsonpath='{.spec.template.spec.containers[*].name}' 2>&1)
[ "$out" = "nginx" ] && pass "undo restored the previous template" || fail "after undo: $out"
out=$(k rollout history deploy/web -n demo 2>&1)
expect_has "rollout history" "$out" "3         <none>"

# ---- field ownership --------------------------------------------------------------------------
cat >"$tmp/cfg-other.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  namespace: demo
data:
  b: "other"
EOF
out=$(k apply --server-side --field-manager=other -f "$tmp/cfg-other.yaml" 2>&1)
expect_has "apply conflict with the patcher" "$out" 'Apply failed with 1 conflict: conflict with "kubectl-patch" using v1: .data.b'
out=$(k apply --server-side --field-manager=other --force-conflicts -f "$tmp/cfg-other.yaml" 2>&1)
expect_has "apply --force-conflicts" "$out" "serverside-applied"
cat >"$tmp/cfg-other2.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  namespace: demo
data:
  d: "4"
EOF
k apply --server-side --field-manager=other -f "$tmp/cfg-other2.yaml" >/dev/null 2>&1
out=$(k get cm cfg -n demo -o jsonpath='{.data}' 2>&1)
expect_has "a field the manager stops applying is removed" "$out" '{"c":"3","d":"4"}'

# ---- a failing rollout ------------------------------------------------------------------------
cat >"$tmp/bad.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
  namespace: demo
spec:
  selector:
    matchLabels: {app: broken}
  template:
    metadata:
      labels: {app: broken}
    spec:
      containers:
      - name: app
        image: example/app:fail
EOF
k apply --server-side -f "$tmp/bad.yaml" >/dev/null 2>&1
out=$(k rollout status deploy/broken -n demo --timeout=20s 2>&1)
expect_has "image tag fail ends with ProgressDeadlineExceeded" "$out" "exceeded its progress deadline"

sed 's/broken/upd/g; s/example\/app:fail/example\/app:1/' "$tmp/bad.yaml" >"$tmp/upd.yaml"
k apply --server-side -f "$tmp/upd.yaml" >/dev/null 2>&1
k rollout status deploy/upd -n demo --timeout=20s >/dev/null 2>&1 || fail "rollout of upd"
out=$(k set image deploy/upd -n demo app=example/app:fail 2>&1)
expect_has "set image" "$out" "image updated"
out=$(k rollout status deploy/upd -n demo --timeout=20s 2>&1)
expect_has "a failing update exceeds its deadline" "$out" "exceeded its progress deadline"
out=$(k get deploy upd -n demo -o jsonpath='{.status.conditions[?(@.type=="Available")].status}' 2>&1)
expect_has "the old pods keep it Available" "$out" "True"

# ---- Jobs and PVCs ------------------------------------------------------------------------------
cat >"$tmp/job.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: demo}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox:1}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: demo}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
EOF
k apply --server-side -f "$tmp/job.yaml" >/dev/null 2>&1
out=$(k wait --for=condition=Complete job/once -n demo --timeout=20s 2>&1)
expect_has "Job completes" "$out" "condition met"
out=$(k wait --for=jsonpath='{.status.phase}'=Bound pvc/data -n demo --timeout=20s 2>&1)
expect_has "PVC becomes Bound" "$out" "condition met"

# ---- watch -----------------------------------------------------------------------------------
k get cm -n demo -w >"$tmp/watch.out" 2>&1 &
wpid=$!
sleep 1
k create cm watched -n demo >/dev/null 2>&1
sleep 1
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
expect_has "get -w streams a new object" "$(cat "$tmp/watch.out")" "watched"

k get cm -n demo -l sel=yes -w --output-watch-events >"$tmp/watch-sel.out" 2>&1 &
wpid=$!
sleep 1
k label cm watched -n demo sel=yes >/dev/null 2>&1
sleep 0.3
k label cm watched -n demo sel- >/dev/null 2>&1
sleep 1
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
out=$(tr -s ' ' <"$tmp/watch-sel.out")
expect_has "a label selector watch sees an object enter" "$out" "ADDED watched"
expect_has "a label selector watch sees it leave as DELETED" "$out" "DELETED watched"

# ---- delete -----------------------------------------------------------------------------------
out=$(k delete cm watched -n demo --wait --timeout=20s 2>&1)
expect_has "delete with --wait" "$out" 'configmap "watched" deleted'
out=$(k get cm watched -n demo 2>&1)
expect_has "NotFound after delete" "$out" 'Error from server (NotFound): configmaps "watched" not found'

# ---- typed commands (protobuf bodies) ------------------------------------------------------------
out=$(k create namespace typed 2>&1)
expect_has "kubectl create namespace" "$out" "namespace/typed created"
out=$(k create configmap lit -n typed --from-literal=k=v 2>&1)
expect_has "kubectl create configmap" "$out" "configmap/lit created"
out=$(k create deployment tdep -n typed --image=nginx:1 --replicas=2 --port=8080 2>&1)
expect_has "kubectl create deployment" "$out" "deployment.apps/tdep created"
out=$(k get deploy tdep -n typed -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[0].ports[0].containerPort}' 2>&1)
expect_has "the protobuf body decoded" "$out" "2 8080"
k rollout status deploy/tdep -n typed --timeout=20s >/dev/null 2>&1 &&
    pass "rollout of a typed deployment" || fail "rollout of tdep"

# ---- finalizers and owner references -----------------------------------------------------------
cat >"$tmp/fin.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: held, namespace: demo, finalizers: [example.com/hold]}
EOF
k apply --server-side -f "$tmp/fin.yaml" >/dev/null 2>&1
k delete cm held -n demo --wait=false >/dev/null 2>&1
out=$(k get cm held -n demo -o jsonpath='{.metadata.deletionTimestamp}' 2>&1)
[[ "$out" == 20* ]] && pass "a finalizer holds deletion with deletionTimestamp set" ||
    fail "deletionTimestamp: $out"
k patch cm held -n demo --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null 2>&1
out=$(k get cm held -n demo 2>&1)
expect_has "removing the last finalizer deletes" "$out" "NotFound"
uid=$(k get deploy web -n demo -o jsonpath='{.metadata.uid}')
for dep in dep1 dep2; do
    k apply --server-side -f - >/dev/null 2>&1 <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: $dep
  namespace: demo
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: "$uid"}]
EOF
done
k apply --server-side -f "$tmp/app.yaml" >/dev/null 2>&1
out=$(k delete deploy web -n demo --cascade=orphan 2>&1)
expect_has "delete --cascade=orphan" "$out" "deleted"
sleep 0.5
out=$(k get cm dep1 -n demo -o jsonpath='{.metadata.ownerReferences}' 2>&1)
[ -z "$out" ] && pass "orphaned dependents keep living without the owner reference" ||
    fail "orphan: $out"
k apply --server-side -f "$tmp/app.yaml" >/dev/null 2>&1
uid=$(k get deploy web -n demo -o jsonpath='{.metadata.uid}')
k patch cm dep2 -n demo --type=merge -p "{\"metadata\":{\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"web\",\"uid\":\"$uid\"}]}}" >/dev/null 2>&1
out=$(k delete deploy web -n demo --cascade=foreground --timeout=20s 2>&1)
expect_has "delete --cascade=foreground" "$out" "deleted"
out=$(k get cm dep2 -n demo 2>&1)
expect_has "ownerReferences cascade" "$out" "NotFound"
k apply --server-side -f "$tmp/app.yaml" >/dev/null 2>&1

# ---- CRD then one of its CRs -------------------------------------------------------------------
cat >"$tmp/crd.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
EOF
cat >"$tmp/cr.yaml" <<'EOF'
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: demo}
spec: {size: 3}
EOF
out=$(k apply --server-side -f "$tmp/crd.yaml" 2>&1)
expect_has "CRD applied" "$out" "serverside-applied"
out=$(k wait --for=condition=Established crd/widgets.example.com --timeout=20s 2>&1)
expect_has "CRD Established" "$out" "condition met"
out=$(k apply --server-side -f "$tmp/cr.yaml" 2>&1)
expect_has "CR applied at once" "$out" "widget.example.com/w1 serverside-applied"
out=$(k get wd w1 -n demo -o jsonpath="{.spec.size}" 2>&1)
expect_has "CR served by short name" "$out" "3"

# ---- error cases -------------------------------------------------------------------------------
cat >"$tmp/badname.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: Bad_Name, namespace: demo}
EOF
out=$(k create -f "$tmp/badname.yaml" 2>&1)
expect_has "Invalid name (422)" "$out" 'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"'
cat >"$tmp/nons.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: x, namespace: nowhere}
EOF
out=$(k create -f "$tmp/nons.yaml" 2>&1)
expect_has "namespace does not exist" "$out" 'namespaces "nowhere" not found'
out=$(k create -f "$tmp/cr.yaml" 2>&1)
expect_has "AlreadyExists" "$out" 'Error from server (AlreadyExists): error when creating'
cat >"$tmp/unknown.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: unk, namespace: demo}
spec: {x: 1}
EOF
out=$(k create -f "$tmp/unknown.yaml" 2>&1)
expect_has "unknown field under strict validation" "$out" 'unknown field "spec"'
rv=$(k get cm cfg -n demo -o jsonpath='{.metadata.resourceVersion}')
k patch cm cfg -n demo --type=merge -p '{"data":{"e":"5"}}' >/dev/null 2>&1
cat >"$tmp/stale.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: demo, resourceVersion: "$rv"}
data: {x: "1"}
EOF
out=$(k replace -f "$tmp/stale.yaml" 2>&1)
expect_has "stale resourceVersion gives Conflict" "$out" 'the object has been modified'
echo '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"m"}}' >"$tmp/m.json"
out=$(k create --raw /api/v1/namespaces/demo/configmaps/cfg -f "$tmp/m.json" 2>&1)
expect_has "POST to an object is MethodNotAllowed" "$out" "MethodNotAllowed"
out=$(k --token wrong get ns 2>&1)
expect_has "wrong token gives Unauthorized" "$out" "Unauthorized"

# ---- fault injection ---------------------------------------------------------------------------
echo '{"verb":"get","resource":"configmaps","count":1,"status":500}' >"$tmp/fault.json"
k create --raw /kubesim/faults -f "$tmp/fault.json" >/dev/null 2>&1
out=$(k get cm cfg -n demo 2>&1)
expect_has "injected 500" "$out" "injected fault"
out=$(k get cm cfg -n demo -o name 2>&1)
expect_has "fault used up after count" "$out" "configmap/cfg"

echo '{"verb":"get","resource":"configmaps","count":2,"action":{"status":429,"retryAfterSeconds":1}}' >"$tmp/fault.json"
k create --raw /kubesim/faults -f "$tmp/fault.json" >/dev/null 2>&1
start_s=$(date +%s)
out=$(k get cm cfg -n demo -o name 2>&1)
expect_has "kubectl retries 429 with Retry-After" "$out" "configmap/cfg"
[ $(($(date +%s) - start_s)) -ge 2 ] && pass "Retry-After was honoured" || fail "no Retry-After wait"
echo '{"verb":"list","resource":"configmaps","drop":true}' >"$tmp/fault.json"
k create --raw /kubesim/faults -f "$tmp/fault.json" >/dev/null 2>&1
out=$(k get cm -n demo 2>&1)
echo "$out" | grep -qE 'EOF|connection reset' && pass "dropped connections" ||
    fail "dropped connection: $out"
k delete --raw /kubesim/faults >/dev/null 2>&1
echo '{"verb":"*","resource":"secrets","delayMs":1500}' >"$tmp/fault.json"
k create --raw /kubesim/faults -f "$tmp/fault.json" >/dev/null 2>&1
start_s=$(date +%s%N)
k get secrets -n demo >/dev/null 2>&1
[ $((($(date +%s%N) - start_s) / 1000000)) -ge 1400 ] && pass "an injected delay" || fail "no delay"
k delete --raw /kubesim/faults >/dev/null 2>&1
start_s=$(date +%s%N)
k get secrets -n demo >/dev/null 2>&1
[ $((($(date +%s%N) - start_s) / 1000000)) -lt 1400 ] && pass "DELETE /kubesim/faults clears" ||
    fail "faults not cleared"

# ---- state survives a restart; namespace deletion ----------------------------------------------
sleep 0.5
stop_kubesim
start_kubesim
out=$(k get wd,cm -n demo -o name 2>&1)
expect_has "objects survive a restart (CR)" "$out" "widget.example.com/w1"
expect_has "objects survive a restart (cm)" "$out" "configmap/cfg"
out=$(k get --raw '/api/v1/namespaces/demo/configmaps?watch=true&resourceVersion=2&timeoutSeconds=2' 2>&1)
expect_has "watch from a version older than the log: Expired" "$out" '"reason":"Expired","code":410'
rv=$(k get cm -n demo -o jsonpath='{.metadata.resourceVersion}')
out=$(k get --raw "/api/v1/namespaces/demo/configmaps?watch=true&resourceVersion=$rv&allowWatchBookmarks=true&timeoutSeconds=1" 2>&1)
expect_has "watch ends with a bookmark when asked" "$out" '"type":"BOOKMARK"'
out=$(k get --raw "/api/v1/namespaces/demo/configmaps?limit=1" 2>&1)
expect_has "list with limit gives a continue token" "$out" '"continue":"demo/'
out=$(k get cm -n demo --chunk-size=1 -o name 2>&1)
expect_has "kubectl follows continue tokens" "$out" "configmap/dep1"
out=$(k get cm -n demo --field-selector metadata.name=cfg -o name 2>&1)
[ "$out" = "configmap/cfg" ] && pass "fieldSelector metadata.name" || fail "fieldSelector: $out"
out=$(k delete crd widgets.example.com 2>&1)
out=$(kubectl --cache-dir "$tmp/cache-fresh" get widgets.example.com -A 2>&1)
expect_has "deleting the CRD removes its resource" "$out" "the server doesn't have a resource type"
out=$(k delete ns demo --timeout=20s 2>&1)
expect_has "namespace deleted" "$out" 'namespace "demo" deleted'
out=$(k get deploy,cm -A 2>&1)
[[ "$out" != *demo* ]] && pass "namespace deletion takes its objects" || fail "objects left: $out"
stop_kubesim

if [ $failures -gt 0 ]; then
    echo "--- kubesim stderr"; tail -20 "$tmp/kubesim.err"
    echo "$failures check(s) failed"
    exit 1
fi
echo "all kubesim kubectl checks passed"
