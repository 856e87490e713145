#!/usr/bin/env bash
# dashboard_rollout_test.sh -- the dashboard's rollouts view in a real browser (issues 11 and 14):
# three kubesims (c1 canary, c2 and c3 late), an ApplicationSet rolling out in two steps (the
# canary baked an hour, then the rest one at a time), and Debian's headless chromium driven over
# the DevTools protocol (tests/integration/dashboard_rollout_browser.py): the list and one
# rollout's steps with their clusters and timers, pause and resume from the page (refused with a
# viewer token, done with the admin token, checked against the hub's API), the step advancing
# without reload, and promote and abort from the page on a second rollout. Screenshots:
# $GF_BUILD_DIR/dashboard-screenshots/rollout*.png.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
need_browser

CLUSTERS="c1 c2 c3"
ring() { case $1 in c1) echo canary ;; *) echo late ;; esac; }

# appset BAKE: the ApplicationSet, step 1 the canary, step 2 the rest one at a time.
appset() {
  cat > "$T/repo/argocd/web.yaml" <<Y
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: web
  annotations:
    gitfleet.io/rollout-bake-time: "$1"
    gitfleet.io/rollout-progress-deadline: "3m"
spec:
  generators:
    - clusters: {}
  template:
    metadata:
      name: 'web-{{name}}'
      labels: {ring: '{{metadata.labels.ring}}'}
    spec:
      source: {repoURL: '.', path: apps/web}
      destination: {name: '{{name}}', namespace: web}
      syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}
  strategy:
    type: RollingSync
    rollingSync:
      steps:
        - matchExpressions: [{key: ring, operator: In, values: [canary]}]
        - matchExpressions: [{key: ring, operator: In, values: [late]}]
          maxUpdate: 1
Y
}
image() { # image TAG: the app's Deployment runs example/web:TAG
  mkdir -p "$T/repo/apps/web"
  cat > "$T/repo/apps/web/deploy.yaml" <<Y
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: main, image: "example/web:$1"}]}
Y
}
rollout_field() { # rollout_field FIELD: of GET /api/v1/rollouts/web
  curl -sf "$GITFLEET_HUB/api/v1/rollouts/web" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"
}
phase_is() { [ "$(rollout_field phase)" = "$1" ]; }

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd"
for c in $CLUSTERS; do
  printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata:\n  name: %s\n  labels: {ring: %s}\n' \
    "$c" "$(ring "$c")" > "$T/repo/clusters/$c.yaml"
done
# The first rollout: the canary bakes an hour (the page pauses, resumes and sees it promoted).
appset "1h,0s"
image 1.0
commit "web 1.0, the canary baked an hour"
for c in $CLUSTERS; do start_kubesim "$c"; done
start_hub --anonymous-read
for c in $CLUSTERS; do join_agent "$c"; done
viewer=$(gitfleet token create rollout-viewer --role viewer | tail -n 1)

wait_for 60 phase_is Progressing || fail "no rollout of web: $(curl -s "$GITFLEET_HUB/api/v1/rollouts")"
# The UI's own routes: the list without targets, one rollout with them, the hub's clock.
curl -sf "$GITFLEET_HUB/api/v1/ui/rollouts" | python3 -c '
import json, sys
d = json.load(sys.stdin); r = d["rollouts"][0]
assert d["nowMs"] > 0 and r["appset"] == "web" and "targets" not in r, d
assert r["targetCount"] == 3 and sum(r["targetStates"].values()) == 3, r
assert r["steps"] == 2 and sum(r["stepStates"].values()) == 1, r' || fail "GET /api/v1/ui/rollouts"
curl -sf "$GITFLEET_HUB/api/v1/ui/rollouts/web" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["nowMs"] > 0 and d["rollout"]["appset"] == "web" and len(d["rollout"]["targets"]) == 3, d' ||
  fail "GET /api/v1/ui/rollouts/web"
code=$(curl -s -o /dev/null -w '%{http_code}' "$GITFLEET_HUB/api/v1/ui/rollouts/nope")
[ "$code" = 404 ] || fail "GET /api/v1/ui/rollouts/nope answered $code, not 404"
echo "fleet ready after ${SECONDS}s"

shots="${GF_BUILD_DIR:-$T}/dashboard-screenshots"
mkdir -p "$shots" && rm -f "$shots"/rollout*.png
GF_HUB="$GITFLEET_HUB" GF_ADMIN_TOKEN=$(cat "$T/hub/admin.token") GF_VIEWER_TOKEN="$viewer" \
  GF_REPO="$T/repo" GF_SHOTS="$shots" GF_CLI="$GF_BIN_DIR/gitfleet" \
  "$PY" "$here/dashboard_rollout_browser.py" || fail "the browser test failed"
echo "browser done after ${SECONDS}s"

# The hub saw the viewer's refused pause, and the admin's commands (audit log).
audit=$(curl -sf -H "Authorization: Bearer $(cat "$T/hub/admin.token")" "$GITFLEET_HUB/api/v1/audit")
echo "$audit" | python3 -c '
import json, sys
rows = json.load(sys.stdin)["audit"]
def seen(who, verb, status):
    return any(r["who"] == who and r["path"] == "/api/v1/rollouts/web/" + verb and r["status"] == status for r in rows)
assert seen("rollout-viewer", "pause", 403), "the refused pause of the viewer is not audited"
for verb in ("pause", "resume", "promote", "abort"):
    assert seen("admin", verb, 200), f"the {verb} of the admin is not audited"' || fail "audit log"
pass "screenshots in $shots"
