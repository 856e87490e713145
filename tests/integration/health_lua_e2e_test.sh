#!/usr/bin/env bash
# health_lua_e2e_test.sh -- Argo CD Lua health scripts through hub and agent: an argocd-cm in the
# fleet repository and a customizations directory given to the hub give custom resources a
# health the agent computes and `gitfleet status` shows; a script change travels in a new bundle.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
command -v kubectl >/dev/null || { echo "SKIP: kubectl is not installed"; exit 77; }

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd" "$T/repo/apps/widgets" "$T/custom/example.com/Gadget"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: dev-1}\n' >"$T/repo/clusters/dev-1.yaml"
cat >"$T/repo/argocd/widgets.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: widgets}
spec:
  project: default
  source: {repoURL: '.', path: apps/widgets}
  destination: {name: dev-1, namespace: shop}
  syncPolicy: {automated: {selfHeal: true}, syncOptions: [CreateNamespace=true]}
Y
# Our own script in Argo CD's API: Ready condition -> Healthy, else Progressing.
cat >"$T/repo/argocd/argocd-cm.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cm, namespace: argocd}
data:
  resource.customizations.health.example.com_Widget: |
    hs = {}
    if obj.status ~= nil and obj.status.conditions ~= nil then
      for _, c in ipairs(obj.status.conditions) do
        if c.type == "Ready" and c.status == "True" then
          hs.status = "Healthy"
          hs.message = c.message
          return hs
        end
      end
    end
    hs.status = "Progressing"
    hs.message = "Waiting for widget " .. obj.metadata.name
    return hs
Y
cat >"$T/repo/apps/widgets/widgets.yaml" <<'Y'
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {size: 3}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g1}
spec: {size: 1}
Y
commit "widgets with a health script"
# The directory given to the hub: Argo CD's resource_customizations layout.
cat >"$T/custom/example.com/Gadget/health.lua" <<'Y'
if obj.spec.size < 2 then
  return {status = "Degraded", message = "gadget too small: " .. obj.spec.size}
end
return {status = "Healthy"}
Y

start_kubesim dev-1
for kind in Widget Gadget; do
  plural=$(echo "${kind}s" | tr A-Z a-z)
  cat >"$T/crd-$kind.yaml" <<Y
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: $plural.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: $plural, singular: $(echo "$kind" | tr A-Z a-z), kind: $kind}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
Y
  k dev-1 apply --server-side -f "$T/crd-$kind.yaml" >/dev/null || fail "CRD $kind"
done
start_hub --health-customizations "$T/custom"
join_agent dev-1

# 1. The scripts run in the agent: Widget waits, Gadget is degraded; the app is Degraded.
wait_for 20 app_is dev-1 widgets sync Synced || fail "widgets never Synced"
wait_for 10 app_is dev-1 widgets health Degraded || fail "app health is not the worst of the scripts'"
gitfleet status dev-1 >"$T/status.txt"
grep -Eq 'widgets +Widget/w1 +shop +Synced +Progressing +Waiting for widget w1' "$T/status.txt" ||
  fail "status does not show the Widget's script health: $(cat "$T/status.txt")"
grep -Eq 'widgets +Gadget/g1 +shop +Synced +Degraded +gadget too small: 1' "$T/status.txt" ||
  fail "status does not show the Gadget's (customizations dir) health: $(cat "$T/status.txt")"
pass "argocd-cm and directory scripts give custom resources their health in gitfleet status"

# 2. The live object changes: the agent re-evaluates the script on it.
k dev-1 patch widget w1 -n shop --type merge \
  -p '{"status":{"conditions":[{"type":"Ready","status":"True","message":"widget is ready"}]}}' >/dev/null ||
  fail "patching the widget's status"
widget_healthy() { [[ "$(gitfleet status dev-1 -o json)" == *'"message": "widget is ready"'* ]]; }
wait_for 15 widget_healthy || fail "the Widget never turned Healthy: $(gitfleet status dev-1)"
pass "a status change on the live object is seen through the script"

# 3. A script change in Git reaches the agent in a new bundle; a broken script is Unknown, not a crash.
gen=$(cluster_field dev-1 generation.desired)
sed -i 's/hs.status = "Healthy"/error("widget script broke")/' "$T/repo/argocd/argocd-cm.yaml"
commit "break the widget script"; gitfleet sync >/dev/null
wait_for 10 sh -c "[ \$('$GF_BIN_DIR/gitfleet' status dev-1 -o json | grep -c 'widget script broke') -ge 1 ]" ||
  fail "the changed script did not reach the agent: $(gitfleet status dev-1)"
[ "$(cluster_field dev-1 generation.desired)" -gt "$gen" ] || fail "a script change made no new generation"
wait_for 10 app_is dev-1 widgets health Unknown || fail "a failing script should make the app Unknown"
gitfleet status dev-1 | grep -Eq 'Widget/w1 .*Unknown +<string>:[0-9]+: widget script broke' ||
  fail "Unknown without the script's error: $(gitfleet status dev-1)"
pass "a script change travels in a new generation; a failing script gives Unknown with its error"

# 4. An argocd-cm Argo CD would refuse is a fleet problem, and none of its scripts ship.
printf '  resource.customizations.colour.example.com_Widget: blue\n' >>"$T/repo/argocd/argocd-cm.yaml"
commit "an unknown customization type"; gitfleet sync >/dev/null
problem_shown() { gitfleet status | grep -q "problem in the fleet repository: .*resource customization type colour not supported"; }
wait_for 10 problem_shown || fail "the broken argocd-cm is not reported: $(gitfleet status)"
widget_unscripted() { [[ "$(gitfleet status dev-1 -o json)" != *'widget script broke'* ]]; }
wait_for 10 widget_unscripted || fail "scripts of a refused argocd-cm still ran"
gitfleet status dev-1 | grep -Eq 'Gadget/g1 .*Degraded +gadget too small' ||
  fail "the directory's scripts should still run: $(gitfleet status dev-1)"
pass "a refused argocd-cm is reported and ships nothing; the directory's scripts still run"
