#!/usr/bin/env bash
# dashboard_test.sh -- the dashboard in a real browser (issue 14): a demo-like fleet (the example
# repository: dev-1 and staging-1 joined with their kubesims, prod-eu-1 in Git but never
# joined, an app whose image is tagged `fail`), and Debian's headless chromium driven over the DevTools protocol
# (tests/integration/dashboard_browser.py): health in the fleet and cluster views, a commit
# shown without reload, actions refused without an admin token and done with it, keyboard,
# narrow window. Screenshots of every view: $GF_BUILD_DIR/dashboard-screenshots/.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
need_browser

make_repo
cp -r "$GF_SOURCE_DIR/deploy/examples/fleet/." "$T/repo/"
# prod-eu-1 never joins (Unknown); canary on staging-1 never gets ready (Degraded).
mkdir -p "$T/repo/apps/canary"
cat > "$T/repo/apps/canary/deploy.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: canary}
spec:
  replicas: 1
  selector: {matchLabels: {app: canary}}
  template:
    metadata: {labels: {app: canary}}
    spec: {containers: [{name: canary, image: "example/canary:fail"}]}
Y
cat > "$T/repo/argocd/applications/canary.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: canary, namespace: argocd}
spec:
  project: default
  source: {repoURL: https://github.com/example/fleet.git, targetRevision: HEAD, path: apps/canary}
  destination: {name: staging-1, namespace: canary}
  syncPolicy: {automated: {}, syncOptions: [CreateNamespace=true]}
Y
commit "fleet: the example and a failing canary"

clusters=(dev-1 staging-1)
for c in "${clusters[@]}"; do start_kubesim "$c"; done
start_hub --repo-url https://github.com/example/fleet.git --anonymous-read
for c in "${clusters[@]}"; do join_agent "$c"; done
viewer=$(gitfleet token create dashboard-viewer --role viewer | tail -n 1)

wait_for 60 app_is staging-1 canary health Degraded || fail "canary never Degraded"
wait_for 60 cluster_is dev-1 health Healthy || fail "dev-1 never Healthy"
echo "fleet ready after ${SECONDS}s"

shots="${GF_BUILD_DIR:-$T}/dashboard-screenshots"
mkdir -p "$shots" && find "$shots" -maxdepth 1 -name '*.png' ! -name 'rollout*' -delete  # rollout*: dashboard_rollout_test's
GF_HUB="$GITFLEET_HUB" GF_ADMIN_TOKEN=$(cat "$T/hub/admin.token") GF_VIEWER_TOKEN="$viewer" \
  GF_REPO="$T/repo" GF_SHOTS="$shots" GF_CLI="$GF_BIN_DIR/gitfleet" \
  "$PY" "$here/dashboard_browser.py" || fail "the browser test failed"
echo "browser done after ${SECONDS}s"

# The hub saw the refusals and the allowed call (audit log).
audit=$(gitfleet audit -o json 2>/dev/null || curl -sf -H "Authorization: Bearer $(cat "$T/hub/admin.token")" "$GITFLEET_HUB/api/v1/audit")
echo "$audit" | grep -q '"dashboard-viewer"' || fail "the viewer's refused action is not in the audit log"
pass "screenshots in $shots"
