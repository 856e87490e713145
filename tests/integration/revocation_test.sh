#!/usr/bin/env bash
# revocation_test.sh -- revocation gaps outside the agent endpoint (issue 13): a revoked agent's
# reports back off instead of retrying every 200 ms; a newer join token makes the older one stop
# working.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd" "$T/repo/apps/web"
for c in dev-1 edge-1; do
  printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: %s}\n' "$c" >"$T/repo/clusters/$c.yaml"
done
cat >"$T/repo/argocd/web.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  source: {repoURL: '.', path: apps/web}
  destination: {name: dev-1, namespace: web}
  syncPolicy: {automated: {}, syncOptions: [CreateNamespace=true]}
Y
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {color: blue}\n' \
  >"$T/repo/apps/web/config.yaml"
commit "web on dev-1"
start_kubesim dev-1
start_hub --anonymous-read

# 1. An older join token stops working once a newer one is issued.
old=$(gitfleet cluster add edge-1 | tail -n 1)
new=$(gitfleet cluster add edge-1 | tail -n 1)
[ "$old" != "$new" ] || fail "cluster add gave the same token twice"
if "$GF_BIN_DIR/gitfleet-agent" join --hub "tcp://127.0.0.1:$HUB_PORT" --token "$old" \
  --state-dir "$T/agent-edge-old" >"$T/join-old.log" 2>&1; then
  fail "the older join token still works"
fi
grep -q "not valid" "$T/join-old.log" || fail "older token refused for another reason: $(cat "$T/join-old.log")"
"$GF_BIN_DIR/gitfleet-agent" join --hub "tcp://127.0.0.1:$HUB_PORT" --token "$new" \
  --state-dir "$T/agent-edge-new" >"$T/join-new.log" 2>&1 || fail "the newer token does not work: $(cat "$T/join-new.log")"
pass "the older join token is refused, the newer one joins"

# 2. A revoked agent backs off its reports.
AGENT_FLAGS="--report-interval 30s" join_agent dev-1
wait_for 30 app_is dev-1 web sync Synced || fail "dev-1 never Synced"
gitfleet cluster remove dev-1 >/dev/null || fail "cluster remove"
# Something to report: drift the ConfigMap (selfHeal is off, so the report stays dirty).
k dev-1 -n web patch cm web-config --type merge -p '{"data":{"color":"red"}}' >/dev/null
sleep 10
n=$(grep -c "AGENT-REPORT-FAIL" "$T/agent-dev-1.log" || true)
echo "report attempts in the 10 s after revocation: $n"
grep "AGENT-REPORT-FAIL" "$T/agent-dev-1.log" | tail -n 2
[ "$n" -ge 1 ] || fail "the revoked agent's reports were not refused at all"
[ "$n" -le 6 ] || fail "a revoked agent retried its report $n times in 10 s (no backoff)"
grep "AGENT-REPORT-FAIL" "$T/agent-dev-1.log" | tail -n 1 | grep -q "retry_in_ms=" \
  || fail "the refusal does not say when it retries"
pass "a revoked agent backs off ($n attempts in 10 s)"
echo "PASS"
