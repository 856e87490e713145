#!/usr/bin/env bash
# access_test.sh -- API tokens with roles and the audit log, against the real hub: reads need a
# viewer token (or --anonymous-read), a missing token says "token required" and a wrong one
# "invalid token"; a viewer cannot sync; project roles pass only to app operations; tokens are
# shown once, stored hashed, expire and are revoked; every mutating call and webhook is audited.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd" "$T/repo/apps/a"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: c1}\n' > "$T/repo/clusters/c1.yaml"
cat > "$T/repo/argocd/a.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: a}
spec:
  source: {repoURL: '.', path: apps/a}
  destination: {name: c1, namespace: a}
Y
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {v: "1"}\n' > "$T/repo/apps/a/cm.yaml"
commit "v1"
start_hub --webhook-secret s3cr3t-hook
H=$GITFLEET_HUB
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
bearer() { echo "Authorization: Bearer $1"; }

[ "$(code "$H/healthz")" = 200 ] || fail "healthz needs no token"
[ "$(code "$H/api/v1/status")" = 401 ] || fail "a read without a token: $(cat "$T/body")"
grep -q '"token required' "$T/body" || fail "no 'token required': $(cat "$T/body")"
[ "$(code "$H/metrics")" = 401 ] || fail "metrics without a token"
[ "$(code -H "$(bearer gft_0000)" "$H/api/v1/status")" = 401 ] || fail "a wrong token was accepted"
grep -q '"invalid token' "$T/body" || fail "no 'invalid token': $(cat "$T/body")"
out=$(GITFLEET_TOKEN_FILE= gitfleet status 2>&1) && fail "the CLI read without a token"
grep -q "no token given.*token required" <<<"$out" || fail "CLI message: $out"
pass "reads need a token: 'token required' (401) and 'invalid token' (401)"

viewer=$(gitfleet token create ci-viewer --role viewer | tail -n 1)
[[ $viewer == gft_* ]] || fail "token create printed no secret: $viewer"
proj=$(gitfleet token create shop-team --role project --project shop --project web | tail -n 1)
out=$(gitfleet token create ci-viewer --role viewer 2>&1) && fail "a duplicate name was accepted"
grep -q "exists" <<<"$out" || fail "duplicate message: $out"
out=$(gitfleet token create x --role project 2>&1) && fail "a project role without projects"
grep -q "needs its projects" <<<"$out" || fail "project role message: $out"
python3 - "$T/hub/hub.db" "$viewer" "$proj" <<'PY' || fail "secrets stored in clear"
import sqlite3, sys, hashlib
con = sqlite3.connect(sys.argv[1])
rows = con.execute("SELECT hash FROM api_tokens").fetchall()
for secret in sys.argv[2:]:
    assert (hashlib.sha256(secret.encode()).hexdigest(),) in rows
    assert not any(secret in r[0] for r in rows)
PY
grep -qa -- "$viewer" "$T/hub/hub.db" "$T/hub/hub.db-wal" 2>/dev/null && fail "a token secret is in the database"
gitfleet token list | grep -Eq '^shop-team +project +shop,web +never +never +active' ||
  fail "token list: $(gitfleet token list)"
pass "tokens: shown once, stored as SHA-256 only, names unique, project roles name projects"

[ "$(code -H "$(bearer "$viewer")" "$H/api/v1/status")" = 200 ] || fail "viewer read"
GITFLEET_TOKEN_FILE= GITFLEET_TOKEN=$viewer gitfleet status >/dev/null || fail "viewer CLI read"
[ "$(code -H "$(bearer "$viewer")" -X POST -d '{}' "$H/api/v1/sync")" = 403 ] || fail "viewer synced"
grep -q "token 'ci-viewer' (role viewer) may not POST /api/v1/sync" "$T/body" || fail "viewer 403: $(cat "$T/body")"
out=$(GITFLEET_TOKEN_FILE= GITFLEET_TOKEN=$viewer gitfleet sync 2>&1) && fail "viewer CLI sync"
[ "$(code -H "$(bearer "$viewer")" "$H/api/v1/tokens")" = 403 ] || fail "viewer listed tokens"
[ "$(code -H "$(bearer "$viewer")" "$H/api/v1/audit")" = 403 ] || fail "viewer read the audit log"
[ "$(code -H "$(bearer "$proj")" -X POST -d '{}' "$H/api/v1/sync")" = 403 ] || fail "project role synced the fleet"
[ "$(code -H "$(bearer "$proj")" -X POST -d '{"name":"c9"}' "$H/api/v1/clusters")" = 403 ] ||
  fail "project role added a cluster"
[ "$(code -H "$(bearer "$proj")" "$H/api/v1/apps")" = 200 ] || fail "project role read"
pass "a viewer reads but cannot sync, list tokens or read the audit log; a project role cannot sync the fleet or add clusters"

# App operations (POST /api/v1/apps/APP/sync): app a belongs to project default.
dflt=$(gitfleet token create default-team --role project --project default | tail -n 1)
[ "$(code -H "$(bearer "$viewer")" -X POST -d '{}' "$H/api/v1/apps/a/sync")" = 403 ] || fail "viewer synced an app"
[ "$(code -H "$(bearer "$proj")" -X POST -d '{}' "$H/api/v1/apps/a/sync")" = 403 ] ||
  fail "a project role synced another project's app: $(cat "$T/body")"
grep -q "token 'shop-team' (role project: shop,web) may not operate apps of project 'default'" "$T/body" ||
  fail "project refusal: $(cat "$T/body")"
st=$(code -H "$(bearer "$dflt")" -X POST -d '{}' "$H/api/v1/apps/a/sync")
[[ $st == 2* ]] || fail "the project role could not sync its own app: $st $(cat "$T/body")"
pass "app sync: a viewer cannot, a project role only for the apps of its projects"

gitfleet sync >/dev/null || fail "admin sync"
GITFLEET_TOKEN=$proj GITFLEET_TOKEN_FILE= gitfleet token revoke ci-viewer 2>/dev/null && fail "project role revoked"
gitfleet token revoke ci-viewer | grep -q "revoked" || fail "revoke"
[ "$(code -H "$(bearer "$viewer")" "$H/api/v1/status")" = 401 ] || fail "a revoked token still reads"
gitfleet token list | grep -Eq '^ci-viewer +viewer .* revoked' || fail "revoked not listed"
short=$(gitfleet token create short --role viewer --expires 1s | tail -n 1)
[ "$(code -H "$(bearer "$short")" "$H/api/v1/status")" = 200 ] || fail "a fresh token"
sleep 1.5
[ "$(code -H "$(bearer "$short")" "$H/api/v1/status")" = 401 ] || fail "an expired token still reads"
pass "revoked and expired tokens are invalid"

body='{"ref":"refs/heads/main"}'
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac s3cr3t-hook | sed 's/^.*= //')
[ "$(code -X POST -H "X-Hub-Signature-256: sha256=$sig" -d "$body" "$H/api/v1/webhook/git")" = 202 ] ||
  fail "webhook: $(cat "$T/body")"
[ "$(code -X POST -H "X-Hub-Signature-256: sha256=00" -d "$body" "$H/api/v1/webhook/git")" = 403 ] ||
  fail "a forged webhook"
gitfleet audit -o json > "$T/audit.json"
python3 - "$T/audit.json" "$viewer" "$proj" "$short" <<'PY' || fail "audit rows: $(cat "$T/audit.json")"
import json, sys
rows = json.load(open(sys.argv[1]))["audit"]
def has(who, method, path, status):
    return any(r["who"] == who and r["method"] == method and r["path"] == path and r["status"] == status
               for r in rows)
assert has("admin", "POST", "/api/v1/tokens", 201)
assert has("admin", "POST", "/api/v1/sync", 200)
assert has("ci-viewer", "POST", "/api/v1/sync", 403)
assert has("shop-team", "POST", "/api/v1/clusters", 403)
assert has("admin", "DELETE", "/api/v1/tokens/ci-viewer", 200)
assert has("webhook", "POST", "/api/v1/webhook/git", 202)
assert has("webhook", "POST", "/api/v1/webhook/git", 403)
assert not any(r["method"] == "GET" for r in rows), "reads are not audited"
text = json.dumps(rows)
for secret in sys.argv[2:]:
    assert secret not in text, "a token secret is in the audit log"
assert any("may not POST /api/v1/sync" in r["message"] for r in rows if r["who"] == "ci-viewer")
assert has("shop-team", "POST", "/api/v1/apps/a/sync", 403)
assert rows == sorted(rows, key=lambda r: -r["time"])
PY
gitfleet audit | grep -Eq 'shop-team +POST /api/v1/clusters +403' || fail "audit table: $(gitfleet audit)"
pass "the audit log records who, what, when and the result of every mutating call and webhook"

stop hub
start hub "$GF_BIN_DIR/gitfleet-hub" --repo "$T/repo" --data-dir "$T/hub" \
  --listen "tcp://127.0.0.1:$HUB_PORT" --api-listen "http://127.0.0.1:$API_PORT" --poll-interval 1h \
  --anonymous-read
wait_for 10 curl -sf "$H/healthz" || fail "hub restart"
[ "$(code "$H/api/v1/status")" = 200 ] || fail "anonymous-read: a read"
[ "$(code "$H/metrics")" = 200 ] || fail "anonymous-read: metrics"
[ "$(code -X POST -d '{}' "$H/api/v1/sync")" = 401 ] || fail "anonymous-read let a write through"
[ "$(code "$H/api/v1/tokens")" = 401 ] || fail "anonymous-read: tokens"
[ "$(code -H "$(bearer "$proj")" "$H/api/v1/status")" = 200 ] || fail "tokens survive a restart"
pass "--anonymous-read opens reads only; tokens survive a restart"
