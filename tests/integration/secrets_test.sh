#!/usr/bin/env bash
# secrets_test.sh -- sealed secrets end to end: a Secret sealed for dev-1 only reaches dev-1 as an
# ordinary Secret (kubectl checks the data) while staging-1 reports it failed; a value copied into
# another Secret does not open; the hub's database, logs and API and the agents' state hold no
# plaintext; drift is healed and prune removes it; plain Secrets in Git are refused; key rotation,
# reseal, revocation, and Debian's age opening a sealed value with the agent's key file.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
command -v kubectl >/dev/null || { echo "SKIP: kubectl is not installed"; exit 77; }
command -v age >/dev/null || fail "age is not installed (scripts/deps.sh)"

PLAIN='s3cr3t-Zq9x-never-in-git'
PLAIN_B64=$(printf %s "$PLAIN" | base64)

api() { curl -sf -H "Authorization: Bearer $(cat "$T/hub/admin.token")" "$GITFLEET_HUB$1"; }

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd" "$T/repo/apps/db" "$T/plain"
for c in dev-1 staging-1; do
  cat > "$T/repo/clusters/$c.yaml" <<Y
apiVersion: gitfleet.io/v1
kind: Cluster
metadata: {name: $c, labels: {env: ${c%-1}}}
Y
done
cat > "$T/repo/argocd/db.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: db}
spec:
  generators:
  - clusters: {}
  template:
    metadata: {name: 'db'}
    spec:
      project: default
      source: {repoURL: '.', path: apps/db, targetRevision: HEAD}
      destination: {name: '{{name}}', namespace: db}
      syncPolicy: {automated: {prune: true, selfHeal: true}, syncOptions: [CreateNamespace=true]}
Y
cat > "$T/repo/apps/db/config.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: db-config}
data: {port: "5432"}
Y
commit "db app"
cat > "$T/plain/secret.yaml" <<Y
apiVersion: v1
kind: Secret
metadata:
  name: db-credentials
  namespace: db
  labels: {team: data}
type: Opaque
stringData:
  password: $PLAIN
data:
  user: $(printf admin | base64)
Y

start_kubesim dev-1
start_kubesim staging-1
start_hub
join_agent dev-1
join_agent staging-1
wait_for 20 app_is dev-1 db sync Synced || fail "dev-1 never synced db"
wait_for 20 app_is staging-1 db sync Synced || fail "staging-1 never synced db"

# 1. Recipients: made at join, printed by `cluster key`, the same one age-keygen derives from the
#    agent's key file (0600, in the state directory).
key_dev=$(gitfleet cluster key dev-1)
case "$key_dev" in age1*) ;; *) fail "cluster key dev-1 printed '$key_dev'";; esac
[ "$(age-keygen -y "$T/agent-dev-1/secret.key")" = "$key_dev" ] ||
  fail "the hub's recipient is not the agent's key"
[ "$(stat -c %a "$T/agent-dev-1/secret.key")" = 600 ] || fail "secret.key is not 0600"
[ "$(gitfleet cluster key staging-1)" != "$key_dev" ] || fail "two clusters share a key"
api /api/v1/recipients | grep -q '"labels":{"env":"dev"}' || fail "recipients lack labels"
pass "each agent made its key pair at join; cluster key and the API give its age recipient"

# 2. Seal for dev-1 only, by selector, and offline from a recipients file: same recipients.
gitfleet seal -f "$T/plain/secret.yaml" --cluster dev-1 > "$T/repo/apps/db/credentials.yaml" ||
  fail "seal failed"
api "/api/v1/recipients" > "$T/recipients.json"
GITFLEET_HUB=http://127.0.0.1:1 gitfleet seal -f "$T/plain/secret.yaml" --selector env=dev \
  --recipients-file "$T/recipients.json" > "$T/offline.yaml" || fail "offline seal failed"
grep -q "cluster: dev-1" "$T/offline.yaml" && ! grep -q staging-1 "$T/offline.yaml" ||
  fail "the selector picked the wrong clusters"
grep -q "$PLAIN" "$T/repo/apps/db/credentials.yaml" && fail "plaintext in the sealed file"
grep -q "$PLAIN_B64" "$T/repo/apps/db/credentials.yaml" && fail "base64 plaintext in the sealed file"
# The same value copied into another SealedSecret (strict scope) must not open there.
sed 's/name: db-credentials/name: db-copy/' "$T/repo/apps/db/credentials.yaml" > "$T/repo/apps/db/copy.yaml"
commit "sealed credentials"
gitfleet sync > /dev/null || fail "gitfleet sync failed"
pass "sealed for dev-1 (by name, by selector, offline) and committed"

# 3. dev-1 gets an ordinary Secret with the right data; the copy fails; staging-1 fails both.
secret_is() { [ "$(obj_field dev-1 secret db db-credentials '{.data.password}' | base64 -d)" = "$PLAIN" ]; }
wait_for 30 secret_is || fail "dev-1 has no Secret db-credentials with the password"
[ "$(obj_field dev-1 secret db db-credentials '{.data.user}' | base64 -d)" = admin ] || fail "user wrong"
[ "$(obj_field dev-1 secret db db-credentials '{.metadata.labels.team}')" = data ] || fail "labels lost"
[ "$(obj_field dev-1 secret db db-credentials '{.type}')" = Opaque ] || fail "type lost"
status_has() { [[ "$(gitfleet status "$1" -o json)" == *"$2"* ]]; }
wait_for 20 status_has dev-1 'was sealed for strict scope db/db-credentials, not for db/db-copy' ||
  fail "dev-1 does not report the copied value as refused"
absent dev-1 secret db db-copy || fail "the copy was applied"
wait_for 20 status_has staging-1 'no identity matches' || fail "staging-1 does not report it cannot open"
absent staging-1 secret db db-credentials || fail "staging-1 got a Secret"
[ "$(obj_field staging-1 cm db db-config '{.data.port}')" = 5432 ] || fail "staging-1 lost the rest of the app"
pass "dev-1 has the Secret (kubectl); the copied value and staging-1 fail with the reason"

# 4. Debian's age opens the committed value with the agent's key file.
python3 - "$T/repo/apps/db/credentials.yaml" > "$T/value.age.b64" <<'P'
import sys, yaml
print(yaml.safe_load(open(sys.argv[1]))["spec"]["encryptedData"]["password"])
P
base64 -d "$T/value.age.b64" | age -d -i "$T/agent-dev-1/secret.key" > "$T/opened" ||
  fail "age could not open the sealed value"
[ "$(cat "$T/opened")" = "$PLAIN" ] || fail "age opened something else"
base64 -d "$T/value.age.b64" | age -d -i "$T/agent-staging-1/secret.key" > /dev/null 2>&1 &&
  fail "age opened dev-1's value with staging-1's key"
pass "age -d opens the value with dev-1's secret.key, not with staging-1's"

# 5. No plaintext (nor its base64) in the hub's database, logs or API, nor the agents' state/logs.
api "/api/v1/status" > "$T/api-status.json"
for c in dev-1 staging-1; do api "/api/v1/status/$c" >> "$T/api-status.json"; done
api "/api/v1/apps" >> "$T/api-status.json"
api "/api/v1/history" >> "$T/api-status.json"
sleep 3 # a report or two after the sync
for f in "$T"/hub/* "$T"/hub.log "$T"/agent-*.log "$T"/agent-dev-1/* "$T"/agent-dev-1/*/* \
         "$T"/api-status.json; do
  [ -f "$f" ] || continue
  if grep -aq -e "$PLAIN" -e "$PLAIN_B64" "$f"; then fail "plaintext found in $f"; fi
done
pass "no plaintext in the hub's store, logs or API, nor in the agents' logs and state"

# 6. Drift on the Secret is healed (selfHeal); a tampered value in Git leaves the live Secret.
k dev-1 patch secret db-credentials -n db --type merge -p '{"data":{"password":"ZHJpZnQ="}}' >/dev/null
wait_for 20 secret_is || fail "drift on the Secret was not healed"
pass "drift on the Secret is healed"
python3 - "$T/repo/apps/db/credentials.yaml" <<'P'
import sys, yaml, base64
p = sys.argv[1]; d = yaml.safe_load(open(p))
v = bytearray(base64.b64decode(d["spec"]["encryptedData"]["password"])); v[-5] ^= 1
d["spec"]["encryptedData"]["password"] = base64.b64encode(bytes(v)).decode()
yaml.safe_dump(d, open(p, "w"))
P
commit "tampered"
gitfleet sync > /dev/null
wait_for 20 status_has dev-1 'does not authenticate' || fail "tampering not reported"
secret_is || fail "a value that does not open changed the live Secret"
pass "a tampered value fails that resource and leaves the live Secret as it was"

# 7. Plain Secrets in Git are refused with the file named; an annotated app may keep them.
gitfleet seal -f "$T/plain/secret.yaml" --cluster dev-1 > "$T/repo/apps/db/credentials.yaml"
cp "$T/plain/secret.yaml" "$T/repo/apps/db/plain.yaml"
sed -i 's/db-credentials/db-plain/' "$T/repo/apps/db/plain.yaml"
commit "a plain secret"
gitfleet sync > /dev/null
wait_for 20 status_has dev-1 'apps/db/plain.yaml: Secret db/db-plain holds plaintext values in Git' ||
  fail "the plain Secret was not refused with its file"
absent dev-1 secret db db-plain || fail "the plain Secret was applied"
sed -i 's/    metadata: {name: .db.}/    metadata: {name: db, annotations: {gitfleet.io\/allow-plain-secrets: "true"}}/' \
  "$T/repo/argocd/db.yaml"
commit "db may keep plain secrets"
gitfleet sync > /dev/null
wait_for 20 exists dev-1 secret db db-plain || fail "the annotated app's plain Secret was not applied"
git -C "$T/repo" rm -q apps/db/plain.yaml apps/db/copy.yaml; commit "no plain secret"
gitfleet sync > /dev/null
wait_for 20 absent dev-1 secret db db-plain || fail "plain Secret not pruned"
pass "a plain Secret is refused naming its file; the annotation lets it through"

# 8. Rotation: the agent makes a new pair on request; the old key opens during the grace;
#    reseal to the new key; the old recipient is listed as retiring.
gitfleet cluster rotate-key dev-1 --grace 1h > /dev/null || fail "rotate-key failed"
key_changed() { [ "$(gitfleet cluster key dev-1)" != "$key_dev" ]; }
wait_for 20 key_changed || fail "dev-1's key did not rotate"
gitfleet cluster key dev-1 -o json | grep -q "$key_dev" || fail "the old recipient is not listed in its grace"
[ "$(age-keygen -y "$T/agent-dev-1/secret.key" | head -n 1)" = "$(gitfleet cluster key dev-1)" ] ||
  fail "the new current key is not first in secret.key"
k dev-1 patch secret db-credentials -n db --type merge -p '{"data":{"password":"ZHJpZnQ="}}' >/dev/null
wait_for 20 secret_is || fail "the old key no longer opens during the grace"
gitfleet seal --reseal -f "$T/repo/apps/db/credentials.yaml" --identity "$T/agent-dev-1/secret.key" -w ||
  fail "reseal failed"
grep -q "$(gitfleet cluster key dev-1)" "$T/repo/apps/db/credentials.yaml" || fail "not resealed to the new key"
grep -q "$key_dev" "$T/repo/apps/db/credentials.yaml" && fail "still sealed to the old key"
commit "resealed"
gitfleet sync > /dev/null
k dev-1 patch secret db-credentials -n db --type merge -p '{"data":{"password":"ZHJpZnQ="}}' >/dev/null
wait_for 20 secret_is || fail "the resealed value does not open"
pass "rotate-key: new pair, old key opens in the grace period, reseal to the new key"

# 9. Prune: the sealed file leaves Git, the Secret leaves dev-1.
git -C "$T/repo" rm -q apps/db/credentials.yaml; commit "no credentials"
gitfleet sync > /dev/null
wait_for 20 absent dev-1 secret db db-credentials || fail "the Secret was not pruned"
pass "prune removes the Secret when its SealedSecret leaves Git"

# 10. Revocation: a removed cluster's recipient is no longer offered.
gitfleet cluster remove staging-1 > /dev/null
gitfleet cluster key staging-1 > /dev/null 2>&1 && fail "a revoked cluster still has a key"
gitfleet seal -f "$T/plain/secret.yaml" --cluster staging-1 > /dev/null 2>&1 &&
  fail "sealing for a revoked cluster worked"
api "/api/v1/recipients" | grep -q staging-1 && fail "recipients list a revoked cluster"
pass "a revoked cluster's recipient is no longer offered"
