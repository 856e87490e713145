#!/usr/bin/env bash
# agent_high_water_test.sh -- the agent refuses an older generation from its own cache (issue 13):
# with the hub away, an older signed bundle of its own put back into the state directory is not
# applied on restart, because the highest generation accepted is kept apart from the cache.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd" "$T/repo/apps/web"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: dev-1}\n' >"$T/repo/clusters/dev-1.yaml"
cat >"$T/repo/argocd/web.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  source: {repoURL: '.', path: apps/web}
  destination: {name: dev-1, namespace: web}
  syncPolicy: {automated: {selfHeal: true}, syncOptions: [CreateNamespace=true]}
Y
cm() { printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {color: %s}\n' "$1" \
  >"$T/repo/apps/web/config.yaml"; }
cm blue
commit "blue"
start_kubesim dev-1
start_hub --anonymous-read
join_agent dev-1
wait_for 30 cm_is dev-1 web web-config color blue || fail "blue never applied"
cp "$T/agent-dev-1/bundle.signed" "$T/old-bundle.signed"
cm green
commit "green"
gitfleet sync >/dev/null
wait_for 30 cm_is dev-1 web web-config color green || fail "green never applied"
[ "$(cat "$T/agent-dev-1/generation")" = 2 ] || fail "high-water mark is '$(cat "$T/agent-dev-1/generation")', want 2"
pass "the agent records generation 2 as its high-water mark"

# The hub goes away; someone puts the older bundle back into the agent's cache.
stop agent-dev-1
stop hub
cp "$T/old-bundle.signed" "$T/agent-dev-1/bundle.signed"
start_agent dev-1
wait_for 15 grep -q "AGENT-CACHE-REFUSED" "$T/agent-dev-1.log" || fail "the older cached bundle was not refused"
grep "AGENT-CACHE-REFUSED" "$T/agent-dev-1.log" | tail -n 1 | grep -q "not newer than 1" \
  || fail "refused for another reason: $(grep AGENT-CACHE-REFUSED "$T/agent-dev-1.log")"
sleep 3
cm_is dev-1 web web-config color green || fail "the older generation was applied: color is $(obj_field dev-1 cm web web-config '{.data.color}')"
pass "an older cached generation is refused and nothing goes back (still green)"
echo PASS
