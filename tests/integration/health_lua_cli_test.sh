#!/usr/bin/env bash
# health_lua_cli_test.sh -- `gitfleet health --customizations DIR`: our own scripts in Argo CD's
# resource_customizations layout, wildcard groups, a script overriding a built-in check, broken
# and runaway scripts as Unknown; and files with a repeated key read as Argo CD's tests read them.
set -euo pipefail
gf=${GF_BIN_DIR:?}/gitfleet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read JSON"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
c=$tmp/custom
mkdir -p "$c/cert-manager.io/Certificate" "$c/_.crossplane.io/_" "$c/apps/Deployment" \
  "$c/example.com/Broken" "$c/example.com/Spin"
cat >"$c/cert-manager.io/Certificate/health.lua" <<'L'
local hs = {status = "Progressing", message = "Waiting for certificate"}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, cond in ipairs(obj.status.conditions) do
    if cond.type == "Ready" then
      hs.message = cond.message
      if cond.status == "True" then hs.status = "Healthy" else hs.status = "Degraded" end
    end
  end
end
return hs
L
printf 'return {status = "Suspended", message = "crossplane " .. obj.kind}\n' >"$c/_.crossplane.io/_/health.lua"
printf 'return {status = "Healthy", message = "scripted " .. obj.metadata.name}\n' >"$c/apps/Deployment/health.lua"
printf 'return {status = \n' >"$c/example.com/Broken/health.lua"
printf 'while true do end\n' >"$c/example.com/Spin/health.lua"
cat >"$tmp/objs.yaml" <<'Y'
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: ready}
status: {conditions: [{type: Ready, status: "True", message: Certificate is up to date}]}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: failing}
status: {conditions: [{type: Ready, status: "False", message: issuer not found}]}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: new}
---
apiVersion: s3.aws.crossplane.io/v1beta1
kind: Bucket
metadata: {name: b}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {paused: true}
---
apiVersion: example.com/v1
kind: Broken
metadata: {name: x}
---
apiVersion: example.com/v1
kind: Spin
metadata: {name: y}
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {type: ClusterIP}
Y
"$gf" health -f "$tmp/objs.yaml" --customizations "$c" -o json >"$tmp/out.json"
python3 - "$tmp/out.json" <<'EOF'
import json, sys
got = {r["name"]: (r["status"], r["message"]) for r in json.load(open(sys.argv[1]))["resources"]}
want = {
    "ready": ("Healthy", "Certificate is up to date"),
    "failing": ("Degraded", "issuer not found"),
    "new": ("Progressing", "Waiting for certificate"),
    "b": ("Suspended", "crossplane Bucket"),
    "web": ("Healthy", "scripted web"),          # a script overrides the built-in check
    "svc": ("Healthy", ""),                      # no script: the built-in check
    "y": ("Unknown", "health script exceeded its time budget (1000 ms)"),
}
for name, w in want.items():
    if got[name] != w:
        sys.exit("%s: got %r, want %r" % (name, got[name], w))
if got["x"][0] != "Unknown" or not got["x"][1].startswith("<string>:"):
    sys.exit("broken script: %r" % (got["x"],))
print("ok   customizations: %d objects as expected" % len(got))
EOF
# Without the directory the custom kinds have no health, the Deployment its built-in one.
"$gf" health -f "$tmp/objs.yaml" -o json | python3 -c '
import json, sys
got = {r["name"]: r["status"] for r in json.load(sys.stdin)["resources"]}
assert got["ready"] is None and got["b"] is None, got
assert got["web"] == "Suspended", got'
set +e
"$gf" health -f "$tmp/objs.yaml" --customizations "$tmp/nope" 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "nope: not a directory" "$tmp/err" || fail "missing dir: exit $rc $(cat "$tmp/err")"
echo "ok   no directory: built-in checks only; a missing directory is an error"

# A repeated key: kubectl apply (v1.32, checked against kubesim) and Argo CD's tests
# (sigs.k8s.io/yaml) keep the last value; so does gitfleet health (not a failed file).
cat >"$tmp/dup.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: dup}
spec:
  type: LoadBalancer
  type: ClusterIP
Y
"$gf" health -f "$tmp/dup.yaml" -o json | python3 -c '
import json, sys
r = json.load(sys.stdin)["resources"]
assert [(x["name"], x["status"]) for x in r] == [("dup", "Healthy")], r'
if command -v kubectl >/dev/null; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "${GF_BIN_DIR}/kubesim" --listen "127.0.0.1:$port" --kubeconfig-out "$tmp/ks.kubeconfig" >/dev/null 2>&1 &
  ks=$!
  for _ in $(seq 50); do [ -s "$tmp/ks.kubeconfig" ] && break; sleep 0.1; done
  t=$(kubectl --kubeconfig "$tmp/ks.kubeconfig" --cache-dir "$tmp/kc" apply --dry-run=client \
      -f "$tmp/dup.yaml" -o jsonpath='{.spec.type}' 2>&1) || true
  kill "$ks"; wait "$ks" 2>/dev/null || true
  [ "$t" = ClusterIP ] || fail "kubectl read the repeated key as: $t"
fi
echo "ok   a repeated key keeps its last value (ClusterIP: Healthy), as kubectl apply does"
