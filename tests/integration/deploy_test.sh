#!/usr/bin/env bash
# deploy_test.sh -- what deploy/ ships stays valid: the agent manifests apply to a kubesim with
# kubectl (server-side, with kubectl's own validation), and the example hub.yaml and agent.yaml
# are accepted by the programs' settings loaders.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
src=${GF_SOURCE_DIR:?}

# The settings files: a bad setting exits 2, a good one gets as far as the missing state (1).
rc=0; "$GF_BIN_DIR/gitfleet-agent" probe --config "$src/deploy/agent/agent.yaml" \
  --state-dir "$T/none" >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "agent.yaml not accepted (exit $rc)"
rc=0; "$GF_BIN_DIR/gitfleet-hub" keys show --config "$src/deploy/hub/hub.yaml" \
  --data-dir "$T/none" >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "hub.yaml not accepted (exit $rc)"
printf 'state-dirr: /x\n' > "$T/bad.yaml"
rc=0; "$GF_BIN_DIR/gitfleet-agent" probe --config "$T/bad.yaml" >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "a misspelt setting was not refused (exit $rc)"
pass "example settings files load; a misspelt key is refused"

command -v kubectl >/dev/null || { echo "SKIP: kubectl is not installed"; exit 77; }
start_kubesim c1
k c1 apply --server-side -f "$src/deploy/agent/gitfleet-agent.yaml" > "$T/apply.out" ||
  fail "kubectl could not apply the agent manifests: $(cat "$T/apply.out")"
for obj in namespace/gitfleet serviceaccount/gitfleet-agent \
           clusterrole.rbac.authorization.k8s.io/gitfleet-agent \
           clusterrolebinding.rbac.authorization.k8s.io/gitfleet-agent secret/gitfleet-join \
           deployment.apps/gitfleet-agent persistentvolumeclaim/gitfleet-agent-state; do
  grep -q "$obj serverside-applied" "$T/apply.out" || fail "$obj was not applied"
done
[ "$(k c1 -n gitfleet get deploy gitfleet-agent -o jsonpath='{.spec.template.spec.serviceAccountName}')" = gitfleet-agent ] ||
  fail "deployment lost its service account"
pass "agent manifests apply to kubesim with kubectl"
echo "2 passed, 0 failed"
