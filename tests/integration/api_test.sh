#!/usr/bin/env bash
# api_test.sh -- every route docs/api.md documents, once, against a real hub: status codes, the
# JSON shapes, auth refusal without the admin token, and webhook signature checks.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
command -v openssl >/dev/null || { echo "SKIP: openssl is not installed"; exit 77; }

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd" "$T/repo/apps/web"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: dev-1, labels: {env: dev}}\n' \
  >"$T/repo/clusters/dev-1.yaml"
cat >"$T/repo/argocd/web.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  project: default
  source: {repoURL: '.', path: apps/web}
  destination: {name: dev-1, namespace: web}
  syncPolicy: {automated: {}, syncOptions: [CreateNamespace=true]}
Y
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {color: blue}\n' \
  >"$T/repo/apps/web/config.yaml"
commit "web on dev-1"

SECRET=s3cret-for-hooks
start_kubesim dev-1
start_hub --webhook-secret "$SECRET" --anonymous-read
join_agent dev-1
wait_for 20 app_is dev-1 web sync Synced || fail "dev-1 never Synced"
H=$GITFLEET_HUB
ADMIN="Authorization: Bearer $(cat "$T/hub/admin.token")"

# call EXPECTED_STATUS METHOD PATH [curl args...]: the body lands in $T/body.
call() {
  local want=$1 method=$2 path=$3 got; shift 3
  got=$(curl -s -o "$T/body" -w '%{http_code}' -X "$method" "$@" "$H$path") || fail "curl $method $path"
  [ "$got" = "$want" ] || fail "$method $path: HTTP $got, want $want: $(cat "$T/body")"
}
# json PYTHON_EXPR: evaluate EXPR with `d` = the last body parsed; fail when it is false.
json() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
    "$T/body" "$1" || fail "body does not satisfy $1: $(head -c 600 "$T/body")"
}

# 1. Read routes: no token needed with --anonymous-read (access_test.sh covers tokens).
call 200 GET /healthz; [ "$(cat "$T/body")" = ok ] || fail "healthz body: $(cat "$T/body")"
call 200 GET /metrics
for m in gitfleet_report_age_seconds gitfleet_clusters gitfleet_clusters_connected gitfleet_apps \
  gitfleet_syncs_total gitfleet_renders_total gitfleet_render_errors_total gitfleet_fetch_errors_total \
  gitfleet_bundles_published_total gitfleet_bundles_served_total gitfleet_agent_requests_total \
  gitfleet_agent_refused_total gitfleet_reports_total gitfleet_long_polls_waiting; do
  grep -q "^# TYPE $m " "$T/body" || fail "metric $m is missing"
done
call 200 GET /api/v1/status
json 'set(d) == {"revision", "clusters", "problems", "error"} and len(d["revision"]) == 40'
json 'd["problems"] == [] and d["error"] == ""'
json 'set(d["clusters"][0]) == {"name","inGit","joined","connected","lastSeen","revision","generation","health","sync","message","apps"}'
json 'set(d["clusters"][0]["generation"]) == {"desired","applied"} and d["clusters"][0]["joined"] is True'
json 'set(d["clusters"][0]["apps"][0]) >= {"name","sync","health","revision","message"} and "resources" not in d["clusters"][0]["apps"][0]'
call 200 GET "/api/v1/status?cluster=dev-1"; json 'len(d["clusters"]) == 1'
call 200 GET /api/v1/status/dev-1; json '"resources" in d["clusters"][0]["apps"][0]'
call 404 GET /api/v1/status/nope; json 'd == {"error": "cluster '"'nope'"' is not known to the hub", "code": "ENOTFOUND"}'
call 200 GET /api/v1/clusters; json '"apps" not in d["clusters"][0] and d["clusters"][0]["name"] == "dev-1"'
call 200 GET "/api/v1/apps?cluster=dev-1"; json 'd["apps"][0]["name"] == "web" and d["apps"][0]["cluster"] == "dev-1"'
call 200 GET "/api/v1/history?cluster=dev-1&app=web&limit=1"
json 'len(d["history"]) == 1 and set(d["history"][0]) == {"time","cluster","app","generation","revision","result","message"}'
call 404 GET /api/v1/nothing-here; json 'd["code"] == "ENOTFOUND"'
call 404 GET "/api/v1/status?cluster=nope"
call 200 GET "/api/v1/apps?cluster=nope"; json 'd == {"apps": []}'
pass "read routes answer with the documented shapes"

# The dashboard (issue 14): its files without a token, its data, its event feed.
call 200 GET /; grep -q '/ui/assets/app.js' "$T/body" || fail "/ is not the dashboard"
call 200 GET /ui/cluster/dev-1; grep -q '<title>gitfleet</title>' "$T/body" || fail "a view URL is not the page"
call 200 GET /ui/assets/app.js
etag=$(curl -sI "$H/ui/assets/app.js" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
[ -n "$etag" ] || fail "no ETag on /ui/assets/app.js"
call 304 GET /ui/assets/app.js -H "If-None-Match: $etag"
curl -sI "$H/" | grep -qi "^content-security-policy: default-src 'self'" || fail "no CSP on the page"
call 404 GET /ui/assets/nope.js; json 'd["code"] == "ENOTFOUND"'
call 200 GET /api/v1/ui/fleet
json 'set(d) == {"revision","error","problems","clusters"} and d["clusters"][0]["name"] == "dev-1"'
json 'set(d["clusters"][0]) == {"name","health","sync","connected","joined","lastSeen","revision","message","labels","apps","outOfSync","degraded"}'
json 'd["clusters"][0]["labels"] == {"env": "dev"} and d["clusters"][0]["sync"] == "Synced" and d["clusters"][0]["apps"] == 1'
call 200 GET "/api/v1/ui/fleet?names=dev-1,gone-1"
json 'len(d["clusters"]) == 1 and d["clusters"][0]["name"] == "dev-1" and d["removed"] == ["gone-1"]'
call 200 GET "/api/v1/ui/fleet?names=gone-1"; json 'd["clusters"] == [] and d["removed"] == ["gone-1"] and len(d["revision"]) == 40'
call 200 GET "/api/v1/ui/fleet?names=g1,g2,g3,g4,g5,g6,g7,g8,dev-1"
json '[c["name"] for c in d["clusters"]] == ["dev-1"] and len(d["removed"]) == 8 and "g8" in d["removed"]'
call 400 GET "/api/v1/ui/fleet?names=a,,b"; json 'd["code"] == "EINVAL"'
call 200 GET /api/v1/ui/apps/web; json 'd["app"] == "web" and d["clusters"][0]["cluster"] == "dev-1"'
call 404 GET /api/v1/ui/apps/nope; json 'd["code"] == "ENOTFOUND"'
curl -s -N --max-time 2 "$H/api/v1/events" >"$T/events" || true
grep -q '^event: hello' "$T/events" || fail "no hello on /api/v1/events: $(cat "$T/events")"
grep -q '^data: {"seq":[0-9]*,"clusters":\[\],"all":false,"revision":"[0-9a-f]\{40\}","error":""}' "$T/events" \
  || fail "hello data: $(cat "$T/events")"
pass "dashboard: /, /ui/... (ETag, 304, CSP), /api/v1/ui/fleet, /api/v1/ui/apps/APP, /api/v1/events"

# 2. Admin routes: refused without or with a wrong token, done with it.
call 401 POST /api/v1/clusters -d '{"name":"edge-1"}'; json 'd["code"] == "EPERM"'
call 401 POST /api/v1/clusters -H "Authorization: Bearer wrong" -d '{"name":"edge-1"}'
call 401 POST /api/v1/sync
call 401 DELETE /api/v1/clusters/edge-1
call 400 POST /api/v1/clusters -H "$ADMIN" -d '{"nom":"edge-1"}'; json 'd["code"] == "EINVAL"'
call 400 POST /api/v1/clusters -H "$ADMIN" -d '{"name":"Edge_1"}'
call 201 POST /api/v1/clusters -H "$ADMIN" -d '{"name":"edge-1"}'
json 'd["cluster"] == "edge-1" and d["token"].startswith("gfj_") and d["expiresUnixMs"] > 0'
call 200 DELETE /api/v1/clusters/edge-1 -H "$ADMIN"; json 'd == {"removed": "edge-1"}'
call 200 POST /api/v1/sync -H "$ADMIN"; json 'len(d["revision"]) == 40'
call 404 DELETE /api/v1/clusters/never-added -H "$ADMIN"; json 'd["code"] == "ENOTFOUND"'
call 401 POST /api/v1/nothing-here
call 404 POST /api/v1/nothing-here -H "$ADMIN"
pass "admin routes need the token and work with it"

# 3. Webhooks: a correct GitHub signature syncs, a wrong or missing one is refused, another
#    branch is ignored; Gitea signatures and GitLab tokens too.
hub_revision() { gitfleet status -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["revision"])'; }
sig() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.*= //'; }
sed -i 's/blue/green/' "$T/repo/apps/web/config.yaml"; commit "green"
head=$(git -C "$T/repo" rev-parse HEAD)
body='{"ref":"refs/heads/main","after":"'$head'"}'
call 403 POST /api/v1/webhook/git -H "X-Hub-Signature-256: sha256=$(sig "$body x")" -d "$body"
json 'd == {"error": "X-Hub-Signature-256 does not match the body", "code": "EPERM"}'
call 403 POST /api/v1/webhook/git -d "$body"; json 'd["code"] == "EPERM"'
sleep 0.5; [ "$(hub_revision)" != "$head" ] || fail "a refused webhook made the hub sync"
call 202 POST /api/v1/webhook/git -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: sha256=$(sig "$body")" -d "$body"
json 'd == {"syncing": True}'
wait_for 10 sh -c "[ \"\$('$GF_BIN_DIR/gitfleet' status -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"revision\"])')\" = $head ]" ||
  fail "a signed webhook did not make the hub sync"
pass "GitHub webhook: a correct signature syncs, a wrong or missing one is refused (403)"

sed -i 's/green/red/' "$T/repo/apps/web/config.yaml"; commit "red"
other='{"ref":"refs/heads/feature","after":"'$(git -C "$T/repo" rev-parse HEAD)'"}'
call 202 POST /api/v1/webhook/git -H "X-Hub-Signature-256: sha256=$(sig "$other")" -d "$other"
json 'd == {"ignored": "refs/heads/feature", "branch": "main"}'
sleep 1; [ "$(hub_revision)" = "$head" ] || fail "a webhook for another branch made the hub sync"
pass "a webhook for another branch is ignored"

call 202 POST /api/v1/webhook/git -H "X-Gitea-Signature: $(sig "$body")" -d "$body"
call 403 POST /api/v1/webhook/git -H "X-Gitea-Signature: $(sig "$other")" -d "$body"
call 202 POST /api/v1/webhook/git -H "X-Gitlab-Token: $SECRET" -d "$body"
call 403 POST /api/v1/webhook/git -H "X-Gitlab-Token: not-$SECRET" -d "$body"
json 'd == {"error": "X-Gitlab-Token is wrong", "code": "EPERM"}'
wait_for 10 sh -c "[ \"\$('$GF_BIN_DIR/gitfleet' status -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"revision\"])')\" = $(git -C "$T/repo" rev-parse HEAD) ]" ||
  fail "Gitea/GitLab webhooks did not make the hub sync"
pass "Gitea signatures and GitLab tokens are checked"

echo "5 passed, 0 failed"
