#!/usr/bin/env bash
# status_filters_test.sh -- GET /api/v1/status filters and pages (?selector ?health ?sync
# ?limit&continue), GET /api/v1/summary, and `gitfleet status --selector` with its summary line.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd" "$T/repo/apps/web"
for i in $(seq 1 12); do
  env=$([ $((i % 3)) = 0 ] && echo prod || echo dev)
  printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata:\n  name: c%02d\n  labels: {env: %s, shard: s%d}\n' \
    "$i" "$env" $((i % 2)) >"$T/repo/clusters/c$i.yaml"
done
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: b}\n' >"$T/repo/apps/web/cm.yaml"
cat >"$T/repo/argocd/web.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: web}
spec:
  generators: [{clusters: {}}]
  template:
    metadata: {name: web}
    spec:
      source: {repoURL: '', path: apps/web}
      destination: {name: '{{name}}', namespace: web}
Y
commit fleet
start_hub
gitfleet sync >/dev/null || fail "sync"
gitfleet cluster add extra >/dev/null || fail "cluster add"   # known to the hub, not in Git

api() { curl -sf -H "Authorization: Bearer $(cat "$GITFLEET_TOKEN_FILE")" "$GITFLEET_HUB$1"; }
names() { api "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(c["name"] for c in d["clusters"]), d.get("continue", "-"))'; }

[ "$(names '/api/v1/status?selector=env%3Dprod')" = "c03 c06 c09 c12 -" ] || fail "selector env=prod: $(names '/api/v1/status?selector=env%3Dprod')"
[ "$(names '/api/v1/status?selector=env%3Dprod,shard%3Ds0')" = "c06 c12 -" ] || fail "selector with two requirements"
[ "$(names "/api/v1/status?selector=env+notin+(dev)")" = "c03 c06 c09 c12 extra -" ] || fail "selector notin (a cluster without the label too, as Kubernetes)"
[ "$(names '/api/v1/status?selector=!env')" = "extra -" ] || fail "selector !env: a cluster not in Git has no labels"
pass "?selector= on the Cluster's labels"

[ "$(names '/api/v1/status?health=Healthy')" = " -" ] || fail "health=Healthy before any report"
[ "$(api '/api/v1/status?health=Unknown&sync=Unknown' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["clusters"]))')" = 13 ] || fail "health/sync Unknown"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$GITFLEET_TOKEN_FILE")" "$GITFLEET_HUB/api/v1/status?sync=Bad")
[ "$code" = 400 ] || fail "an unknown sync value is refused (got $code)"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$GITFLEET_TOKEN_FILE")" "$GITFLEET_HUB/api/v1/status?selector=env%20in%20prod")
[ "$code" = 400 ] || fail "a malformed selector is refused (got $code)"
pass "?health= ?sync= and their errors"

[ "$(names '/api/v1/status?limit=5')" = "c01 c02 c03 c04 c05 c05" ] || fail "page 1: $(names '/api/v1/status?limit=5')"
[ "$(names '/api/v1/status?limit=5&continue=c05')" = "c06 c07 c08 c09 c10 c10" ] || fail "page 2"
[ "$(names '/api/v1/status?limit=5&continue=c10')" = "c11 c12 extra -" ] || fail "last page"
[ "$(names '/api/v1/status?limit=2&continue=c01&selector=env%3Dprod')" = "c03 c06 c06" ] || fail "pages of a selection"
pass "?limit=&continue= pages"

api /api/v1/summary | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["clusters"]["total"] == 13, s
assert s["clusters"]["sync"] == {"Synced": 0, "OutOfSync": 0, "Unknown": 13}, s
assert s["clusters"]["health"]["Unknown"] == 13, s
assert s["apps"]["total"] == 12, s
' || fail "summary"
[ "$(api '/api/v1/summary?selector=env%3Ddev' | python3 -c 'import json,sys; print(json.load(sys.stdin)["clusters"]["total"])')" = 8 ] || fail "summary with a selector"
pass "/api/v1/summary"

out=$(gitfleet status --selector env=prod) || fail "status --selector"
echo "$out" | grep -q '^c06 ' || fail "status --selector lists c06: $out"
echo "$out" | grep -q '^c01 ' && fail "status --selector lists c01"
echo "$out" | grep -q '^4 clusters: 4 Unknown, health 4 Unknown$' || fail "summary line: $out"
gitfleet status c01 --selector env=prod >/dev/null 2>&1 && fail "CLUSTER and --selector together"
pass "gitfleet status --selector and its summary line"
