#!/usr/bin/env bash
# bundle_trust_test.sh -- what the agent does with bundles it must not trust, served by a real
# hub whose database was tampered with: changed bytes, another cluster's bundle, an older
# generation replayed under a new number. Each is refused, reported to the hub, and nothing
# in the cluster changes.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
command -v kubectl >/dev/null || { echo "SKIP: kubectl is not installed"; exit 77; }

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd" "$T/repo/apps/a"
for c in c1 c2; do
  printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: %s}\n' $c > "$T/repo/clusters/$c.yaml"
done
cat > "$T/repo/argocd/a.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: a}
spec:
  generators: [{clusters: {}}]
  template:
    metadata: {name: a}
    spec:
      source: {repoURL: '.', path: apps/a}
      destination: {name: '{{name}}', namespace: a}
      syncPolicy: {automated: {}, syncOptions: [CreateNamespace=true]}
Y
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {v: "1"}\n' > "$T/repo/apps/a/cm.yaml"
commit "v1"
start_kubesim c1
start_hub
join_agent c1
wait_for 20 cm_is c1 a cm v 1 || fail "first sync"
sed -i 's/"1"/"2"/' "$T/repo/apps/a/cm.yaml"; commit "v2"; gitfleet sync >/dev/null
wait_for 20 cm_is c1 a cm v 2 || fail "second sync"
db="$T/hub/hub.db"

# plant GEN HOW: store a bundle row for c1 at generation GEN made from the stored ones.
plant() {
  python3 - "$db" "$1" "$2" <<'PY'
import sqlite3, sys
db, gen, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
con = sqlite3.connect(db)
rows = {(c, g): bytes(b) for c, g, b in con.execute("SELECT cluster, generation, signed FROM bundles")}
if how == "tampered":
    blob = bytearray(rows[("c1", max(g for c, g in rows if c == "c1"))])
    i = blob.find(b'"2"')          # the ConfigMap's value, inside the signed bytes
    blob[i + 1] = ord("9")
elif how == "foreign":
    blob = rows[("c2", max(g for c, g in rows if c == "c2"))]
elif how == "old":
    blob = rows[("c1", 1)]
con.execute("INSERT INTO bundles (cluster, generation, content_hash, revision, created_ms, signed) "
            "VALUES ('c1', ?, ?, 'x', 0, ?)", (gen, how, bytes(blob)))
con.commit()
PY
}
refused() { grep -c "AGENT-BUNDLE-REFUSED" "$T/agent-c1.log" || true; }
more_refusals() { [ "$(refused)" -gt "$1" ]; }
reported() { [[ "$(gitfleet status c1 -o json)" == *"bundle refused: $1"* ]]; }

n=$(refused)
plant 10 tampered
wait_for 20 more_refusals "$n" || fail "a tampered bundle was not refused"
wait_for 10 reported "bundle signature does not verify" || fail "tampering not reported"
cm_is c1 a cm v 2 || fail "a tampered bundle changed the cluster"
pass "a bundle whose bytes changed after signing is refused and reported"

n=$(refused)
plant 11 foreign
wait_for 20 more_refusals "$n" || fail "another cluster's bundle was not refused"
wait_for 10 reported "it is for cluster 'c2', not 'c1'" || fail "wrong cluster not reported"
pass "another cluster's (validly signed) bundle is refused and reported"

n=$(refused)
plant 12 old
wait_for 20 more_refusals "$n" || fail "an older generation was not refused"
wait_for 10 reported "generation 1 is not newer than 2" || fail "replay not reported"
cm_is c1 a cm v 2 || fail "a replayed old bundle rolled the cluster back"
pass "an old bundle replayed under a new number is refused and reported"
echo "3 passed, 0 failed"
