#!/usr/bin/env bash
# repo_https_test.sh -- a fleet repository behind HTTP authentication (git http-backend behind
# a small authenticating server): basic auth from a password file, an environment variable or
# a credentials file, a bearer token, wrong and missing credentials; then every log line, API
# answer and file of a hub whose --repo URL carries a password is searched for the secrets.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"

PW='pw-S3cr3t-basic-91'
BEARER='tok-S3cr3t-bearer-37'
WRONG='wr0ng-S3cr3t-pw-55'
make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd" "$T/repo/apps/a"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: c1}\n' > "$T/repo/clusters/c1.yaml"
cat > "$T/repo/argocd/a.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: a}
spec:
  source: {repoURL: 'http://example.invalid/other.git', path: apps/a}
  destination: {name: c1, namespace: a}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: b}
spec:
  source: {repoURL: '.', path: apps/a}
  destination: {name: c1, namespace: b}
Y
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {v: "one"}\n' > "$T/repo/apps/a/cm.yaml"
commit "v1"
mkdir -p "$T/srv" && git clone -q --bare "$T/repo" "$T/srv/fleet.git"

start gitauth python3 "$here/lib/gitauth_server.py" "$T/gitauth.port" "$T/srv" alice "$PW" "$BEARER"
wait_for 10 test -s "$T/gitauth.port" || fail "auth server did not start"
base="http://127.0.0.1:$(cat "$T/gitauth.port")"
url="$base/fleet.git"
printf '%s\n' "$PW" > "$T/pw"; printf '%s\n' "$BEARER" > "$T/bearer"; printf '%s\n' "$WRONG" > "$T/wrong"
chmod 600 "$T/pw" "$T/bearer" "$T/wrong"

n=0
render() { n=$((n + 1)); gitfleet render --repo "$1" --cluster c1 --app b --cache-dir "$T/cache$n" "${@:2}"; }
out=$(render "$url" 2>&1) && fail "no credentials worked"
grep -q "none are configured" <<<"$out" || fail "missing credentials message: $out"
out=$(render "$url" --username alice --password-file "$T/pw" 2>&1) || fail "basic auth: $out"
grep -q 'v: one' <<<"$out" || fail "basic render: $out"
out=$(GITFLEET_REPO_PASSWORD="$PW" render "$url" --username alice 2>&1) || fail "password from env: $out"
out=$(render "$url" --username alice --password-file "$T/wrong" 2>&1) && fail "wrong password worked"
grep -q "authentication failed" <<<"$out" || fail "wrong password message: $out"
grep -q -- "$WRONG" <<<"$out" && fail "the wrong password was printed: $out"
pass "basic auth: password file, environment, wrong and missing credentials"

out=$(render "$url" --bearer-token-file "$T/bearer" 2>&1) || fail "bearer: $out"
grep -q "auth=bearer" "$T/gitauth.log" || fail "the server saw no bearer token"
cat > "$T/creds.yaml" <<Y
repositories:
- url: $base/
  username: alice
  passwordEnv: TEST_GIT_PASSWORD
- url: $base/elsewhere/
  bearerToken: not-this-one
Y
chmod 600 "$T/creds.yaml"
out=$(TEST_GIT_PASSWORD="$PW" render "$url" --credentials "$T/creds.yaml" 2>&1) || fail "creds file: $out"
out=$(GITFLEET_CREDENTIALS="$T/creds.yaml" TEST_GIT_PASSWORD="$PW" render "$url" 2>&1) ||
  fail "GITFLEET_CREDENTIALS: $out"
out=$(render "$url" --credentials "$T/creds.yaml" 2>&1) && fail "unset env accepted"
grep -q "repositories\[0\]: passwordEnv: environment variable TEST_GIT_PASSWORD is not set" <<<"$out" ||
  fail "unset env message: $out"
pass "bearer token; a credentials file matched by URL prefix"

# Credentials in the URL still work, and are shown nowhere.
userurl="http://alice:$PW@${url#http://}"
out=$(render "$userurl" 2>&1) || fail "password in the URL: $out"
out=$(render "http://alice:$WRONG@${url#http://}" 2>&1) && fail "wrong URL password worked"
grep -q "http://alice:\*\*\*@127.0.0.1" <<<"$out" || fail "URL not redacted in the error: $out"
grep -q -- "$WRONG" <<<"$out" && fail "URL password printed: $out"
ls "$T"/cache*/ | grep -q -- "$PW\|$WRONG\|alice" && fail "a cache directory is named with credentials"
pass "a password in the URL: works, redacted in errors, not in cache directory names"

HUB_PORT=$(free_port); API_PORT=$(free_port)
start hub "$GF_BIN_DIR/gitfleet-hub" --repo "$userurl" --data-dir "$T/hub" --log-level debug \
  --listen "tcp://127.0.0.1:$HUB_PORT" --api-listen "http://127.0.0.1:$API_PORT" --poll-interval 1h \
  --repo-url "$url"
export GITFLEET_HUB="http://127.0.0.1:$API_PORT" GITFLEET_TOKEN_FILE="$T/hub/admin.token"
wait_for 10 curl -sf "$GITFLEET_HUB/healthz" || fail "hub did not start"
wait_for 10 grep -q HUB-SYNC "$T/hub.log" || fail "hub did not sync"
grep -q "HUB-START repo=http://alice:\*\*\*@127.0.0.1" "$T/hub.log" || fail "start line: $(grep HUB-START "$T/hub.log")"
gitfleet sync >/dev/null || fail "sync"
# a hub whose URL password is wrong: its error goes to its log
start hub2 "$GF_BIN_DIR/gitfleet-hub" --repo "http://alice:$WRONG@${url#http://}" --data-dir "$T/hub2" \
  --listen "tcp://127.0.0.1:$(free_port)" --api-listen "http://127.0.0.1:$(free_port)"
wait_for 10 grep -q "authentication failed" "$T/hub2.log" || fail "hub2: $(cat "$T/hub2.log")"
# a hub with a bearer token and one with a password from the environment
start hub3 "$GF_BIN_DIR/gitfleet-hub" --repo "$url" --data-dir "$T/hub3" --log-level debug \
  --listen "tcp://127.0.0.1:$(free_port)" --api-listen "http://127.0.0.1:$(free_port)" \
  --repo-bearer-token-file "$T/bearer"
GITFLEET_REPO_PASSWORD="$PW" start hub4 "$GF_BIN_DIR/gitfleet-hub" --repo "$url" --data-dir "$T/hub4" \
  --listen "tcp://127.0.0.1:$(free_port)" --api-listen "http://127.0.0.1:$(free_port)" \
  --repo-username alice --log-level debug
wait_for 10 grep -q HUB-SYNC "$T/hub3.log" || fail "hub3 (bearer): $(cat "$T/hub3.log")"
wait_for 10 grep -q HUB-SYNC "$T/hub4.log" || fail "hub4 (password from the environment): $(cat "$T/hub4.log")"
viewer=$(gitfleet token create grep-viewer --role viewer | tail -n 1)
curl -sf -H "Authorization: Bearer $viewer" "$GITFLEET_HUB/api/v1/status" >/dev/null || fail "viewer token"
mkdir -p "$T/answers"
for path in /api/v1/status /api/v1/status/c1 /api/v1/apps /api/v1/clusters /api/v1/history /metrics; do
  curl -s -H "Authorization: Bearer $(cat "$T/hub/admin.token")" "$GITFLEET_HUB$path" \
    > "$T/answers/$(tr / _ <<<"$path")"
done
grep -q '"name":"a"' "$T/answers/_api_v1_apps" || fail "apps answer: $(cat "$T/answers/_api_v1_apps")"
for secret in "$PW" "$WRONG" "$BEARER" "$viewer" "$(cat "$T/hub/admin.token")"; do
  hits=$(grep -rla -- "$secret" "$T"/hub*.log "$T/answers" "$T/hub2" "$T/hub3" "$T/hub4" || true)
  [ -z "$hits" ] || fail "secret found in: $hits"
  find "$T"/hub* | grep -q -- "$secret" && fail "secret in a file name"
done
# the first hub's directory holds its own admin token (admin.token, mode 0600) and nothing else secret
hits=$(grep -rla -- "$PW\|$WRONG\|$BEARER\|$viewer" "$T/hub" || true)
[ -z "$hits" ] || fail "secret found in: $hits"
pass "no secret (URL password, bearer token, password from the environment, API tokens) in the hubs' logs, API answers, files or file names"
