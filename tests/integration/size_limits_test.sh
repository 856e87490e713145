#!/usr/bin/env bash
# size_limits_test.sh -- an object larger than a Kubernetes API server stores (1.5 MiB) is refused at
# render with a per-app error (issue 13): status and GET /api/v1/apps say which object; the
# cluster's other apps sync; nothing of the refused app reaches the cluster.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd" "$T/repo/apps/web" "$T/repo/apps/huge"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: dev-1}\n' >"$T/repo/clusters/dev-1.yaml"
for app in web huge; do
  cat >"$T/repo/argocd/$app.yaml" <<Y
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: $app}
spec:
  source: {repoURL: '.', path: apps/$app}
  destination: {name: dev-1, namespace: $app}
  syncPolicy: {automated: {}, syncOptions: [CreateNamespace=true]}
Y
done
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {color: blue}\n' \
  >"$T/repo/apps/web/config.yaml"
python3 - "$T/repo/apps/huge/cm.yaml" <<'PY'
import sys
open(sys.argv[1], "w").write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: huge}\ndata:\n  blob: "
                             + "x" * (2 * 1024 * 1024) + "\n")
PY
commit "web and a 2 MiB ConfigMap"
start_kubesim dev-1
start_hub --anonymous-read
join_agent dev-1
wait_for 30 app_is dev-1 web sync Synced || fail "web never Synced next to the refused app"
msg=$(app_field dev-1 huge message)
echo "huge: $msg"
echo "$msg" | grep -q "ConfigMap huge/huge is 2.0 MiB, over the 1.5 MiB a Kubernetes object may be" \
  || fail "status does not say which object is too large: $msg"
curl -sf "$GITFLEET_HUB/api/v1/apps?cluster=dev-1" | python3 -c '
import json, sys
apps = {a["name"]: a for a in json.load(sys.stdin)["apps"]}
assert "1.5 MiB" in apps["huge"].get("error", ""), apps["huge"]
assert "error" not in apps["web"], apps["web"]
' || fail "GET /api/v1/apps has no error member for the refused app"
absent dev-1 cm huge huge || fail "the 2 MiB ConfigMap reached the cluster"
pass "a 2 MiB object is refused at render; its app says why; the other app syncs"
echo PASS
