#!/usr/bin/env bash
# agent_kubeconfig_test.sh -- the agent talks to an API server over HTTPS with a bearer token,
# as a kubeconfig describes it (CA data, token), and is refused with a clear error when the
# token is wrong or the CA is not the server's.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
command -v openssl >/dev/null || { echo "SKIP: openssl is not installed"; exit 77; }

openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 2 \
  -keyout "$T/ks.key" -out "$T/ks.crt" -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
port=$(free_port)
start c1 "$GF_BIN_DIR/kubesim" --listen "127.0.0.1:$port" --tls-cert "$T/ks.crt" \
  --tls-key "$T/ks.key" --token s3cret --kubeconfig-out "$T/c1.kubeconfig" --controller-delay 100
wait_for 10 test -s "$T/c1.kubeconfig" || fail "kubesim did not start"
grep -q "https://127.0.0.1:$port" "$T/c1.kubeconfig" || fail "kubeconfig does not name HTTPS"

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd" "$T/repo/apps/a"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: c1}\n' > "$T/repo/clusters/c1.yaml"
printf 'apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\nspec: {source: {repoURL: ".", path: apps/a}, destination: {name: c1, namespace: a}, syncPolicy: {automated: {}, syncOptions: [CreateNamespace=true]}}\n' > "$T/repo/argocd/a.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: over-tls}\ndata: {k: v}\n' > "$T/repo/apps/a/cm.yaml"
commit "one app"
start_hub
join_agent c1
wait_for 20 app_is c1 a sync Synced || fail "no sync over HTTPS with a token: $(tail -3 "$T/agent-c1.log")"
[ "$(k c1 get cm -n a over-tls -o jsonpath='{.data.k}')" = v ] || fail "object not in the cluster"
pass "the agent applies over HTTPS with the kubeconfig's CA data and token"

# A wrong token: the API server's 401 reaches the report.
sed 's/s3cret/wrong/' "$T/c1.kubeconfig" > "$T/bad-token.kubeconfig"
grep -q wrong "$T/bad-token.kubeconfig" || fail "could not make a kubeconfig with a wrong token"
stop agent-c1
start agent-bad "$GF_BIN_DIR/gitfleet-agent" run --state-dir "$T/agent-c1" \
  --kubeconfig "$T/bad-token.kubeconfig" --poll-wait 2s --report-interval 2s
wait_for 20 grep -q "401" "$T/agent-bad.log" || fail "a wrong token was not reported: $(tail -3 "$T/agent-bad.log")"
stop agent-bad
pass "a wrong token fails with the server's 401"

# A CA that is not the server's: the TLS check fails, nothing is applied.
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 2 \
  -keyout "$T/rogue.key" -out "$T/rogue.crt" -subj "/CN=rogue" 2>/dev/null
python3 - "$T/c1.kubeconfig" "$T/rogue.crt" "$T/bad-ca.kubeconfig" <<'PY'
import base64, sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
cfg["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
yaml.safe_dump(cfg, open(sys.argv[3], "w"))
PY
start agent-ca "$GF_BIN_DIR/gitfleet-agent" run --state-dir "$T/agent-c1" \
  --kubeconfig "$T/bad-ca.kubeconfig" --poll-wait 2s --report-interval 2s
wait_for 20 grep -qi "certificate" "$T/agent-ca.log" || fail "an untrusted server was not refused: $(tail -3 "$T/agent-ca.log")"
pass "a server whose certificate the kubeconfig's CA did not sign is refused"
echo "3 passed, 0 failed"
