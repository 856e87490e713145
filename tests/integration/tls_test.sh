#!/usr/bin/env bash
# tls_test.sh -- agents reach the hub over mutual TLS (tls+tcp://): a bundle goes out and a
# report comes back; an agent without a client certificate, with one from a rogue CA, that
# does not trust the hub's CA, or that finds another name in the hub's certificate cannot join.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
command -v openssl >/dev/null || { echo "SKIP: openssl is not installed"; exit 77; }

# ca NAME: a self-signed ECDSA P-256 CA (mbedTLS in nng 1.5 refuses Ed25519 certificates).
ca() {
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$T/$1.key" \
    -out "$T/$1.crt" -days 30 -subj "/CN=$1" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
# cert CA NAME USAGE [SAN]: a P-256 leaf certificate signed by CA.
cert() {
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$T/$2.key" \
    -out "$T/$2.csr" -subj "/CN=$2" 2>/dev/null
  printf 'extendedKeyUsage=%s\n%s' "$3" "${4:+subjectAltName=$4
}" >"$T/$2.ext"
  openssl x509 -req -in "$T/$2.csr" -CA "$T/$1.crt" -CAkey "$T/$1.key" -CAcreateserial \
    -out "$T/$2.crt" -days 30 -extfile "$T/$2.ext" 2>/dev/null
}
ca fleet-ca; ca rogue-ca
cert fleet-ca hub serverAuth "DNS:hub.gitfleet.test,IP:127.0.0.1"
cert fleet-ca agent-1 clientAuth
cert rogue-ca rogue-agent clientAuth
[ -s "$T/hub.crt" ] && [ -s "$T/agent-1.crt" ] && [ -s "$T/rogue-agent.crt" ] ||
  fail "openssl could not make the certificates"

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd" "$T/repo/apps/web"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: edge-1}\n' >"$T/repo/clusters/edge-1.yaml"
cat >"$T/repo/argocd/web.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  project: default
  source: {repoURL: '.', path: apps/web}
  destination: {name: edge-1, namespace: web}
  syncPolicy: {automated: {}, syncOptions: [CreateNamespace=true]}
Y
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {color: blue}\n' \
  >"$T/repo/apps/web/config.yaml"
commit "web on edge-1"

TLS_PORT=$(free_port)
HUB_TLS="tls+tcp://127.0.0.1:$TLS_PORT"
start_kubesim edge-1
start_hub --listen "$HUB_TLS" --tls-cert "$T/hub.crt" --tls-key "$T/hub.key" \
  --tls-client-ca "$T/fleet-ca.crt"

# try_join NAME FLAGS...: a join with a fresh token; its stderr lands in $T/NAME.err.
try_join() {
  local name=$1 token; shift
  token=$(gitfleet cluster add edge-1 | tail -n 1)
  timeout 30 "$GF_BIN_DIR/gitfleet-agent" join --hub "$HUB_TLS" --token "$token" \
    --state-dir "$T/state-$name" "$@" >"$T/$name.out" 2>"$T/$name.err"
}

# 1. Refusals first (each burns a token; the last good join below wins the cluster).
rc=0; try_join nocert --hub-ca "$T/fleet-ca.crt" --tls-server-name hub.gitfleet.test || rc=$?
[ $rc -eq 1 ] || fail "an agent without a client certificate: exit $rc, want 1: $(cat "$T/nocert.err")"
grep -qi "tls\|certificate\|connect" "$T/nocert.err" || fail "no clear error: $(cat "$T/nocert.err")"
pass "an agent without a client certificate cannot join: $(head -n 1 "$T/nocert.err")"

rc=0; try_join rogue --hub-ca "$T/fleet-ca.crt" --client-cert "$T/rogue-agent.crt" \
  --client-key "$T/rogue-agent.key" --tls-server-name hub.gitfleet.test || rc=$?
[ $rc -eq 1 ] || fail "an agent with a rogue CA's certificate: exit $rc, want 1: $(cat "$T/rogue.err")"
grep -qi "tls\|certificate\|connect" "$T/rogue.err" || fail "no clear error: $(cat "$T/rogue.err")"
pass "an agent with a certificate from a rogue CA cannot join: $(head -n 1 "$T/rogue.err")"

rc=0; try_join distrust --hub-ca "$T/rogue-ca.crt" --client-cert "$T/agent-1.crt" \
  --client-key "$T/agent-1.key" --tls-server-name hub.gitfleet.test || rc=$?
[ $rc -eq 1 ] || fail "an agent that does not trust the hub's CA: exit $rc, want 1: $(cat "$T/distrust.err")"
grep -qi "tls\|certificate\|connect" "$T/distrust.err" || fail "no clear error: $(cat "$T/distrust.err")"
pass "an agent that does not trust the hub's CA cannot join: $(head -n 1 "$T/distrust.err")"

rc=0; try_join wrongname --hub-ca "$T/fleet-ca.crt" --client-cert "$T/agent-1.crt" \
  --client-key "$T/agent-1.key" --tls-server-name other.example || rc=$?
[ $rc -eq 1 ] || fail "a hub certificate for another name was accepted: exit $rc"
pass "a hub certificate that does not name --tls-server-name is refused"

rc=0; try_join noname --hub-ca "$T/fleet-ca.crt" --client-cert "$T/agent-1.crt" \
  --client-key "$T/agent-1.key" || rc=$?
[ $rc -eq 1 ] && grep -q -- "--tls-server-name" "$T/noname.err" ||
  fail "a hub URL with an IP and no --tls-server-name: exit $rc: $(cat "$T/noname.err")"
HUB_TLS="tls+tcp://localhost:$TLS_PORT"
rc=0; try_join localhost --hub-ca "$T/fleet-ca.crt" --client-cert "$T/agent-1.crt" \
  --client-key "$T/agent-1.key" || rc=$?
HUB_TLS="tls+tcp://127.0.0.1:$TLS_PORT"
[ $rc -eq 1 ] || fail "the URL's host (localhost, not in the hub's certificate) was not verified: exit $rc"
pass "without --tls-server-name the URL's host is verified; an IP address needs the flag"
[ "$(cluster_field edge-1 joined)" = False ] || fail "a refused agent joined edge-1"

# 2. A good agent joins over mTLS, gets the bundle, and its report reaches the hub.
try_join good --hub-ca "$T/fleet-ca.crt" --client-cert "$T/agent-1.crt" \
  --client-key "$T/agent-1.key" --tls-server-name hub.gitfleet.test ||
  fail "join over mTLS failed: $(cat "$T/good.err")"
cp -r "$T/state-good" "$T/state-rogue-run"
# No TLS flags here: `run` uses the CA, certificate, key and name the join used.
start agent-edge-1 "$GF_BIN_DIR/gitfleet-agent" run --state-dir "$T/state-good" \
  --kubeconfig "$T/edge-1.kubeconfig" --poll-wait 2s --resync-interval 1s --report-interval 2s
wait_for 20 cm_is edge-1 web web-config color blue || fail "the bundle did not arrive over TLS"
wait_for 20 app_is edge-1 web sync Synced || fail "the report did not come back over TLS"
[ "$(cluster_field edge-1 revision)" = "$(git -C "$T/repo" rev-parse HEAD)" ] ||
  fail "the hub does not show the applied revision"
pass "bundle arrives and the report comes back over mutual TLS"

# 3. A change travels the same way.
sed -i 's/blue/green/' "$T/repo/apps/web/config.yaml"; commit "green"
gitfleet sync >/dev/null || fail "gitfleet sync failed"
wait_for 20 cm_is edge-1 web web-config color green || fail "a change did not arrive over TLS"
pass "a change arrives over mutual TLS"

# 4. A joined agent whose run gets a certificate from another CA says why it cannot reach the hub.
start agent-rogue "$GF_BIN_DIR/gitfleet-agent" run --state-dir "$T/state-rogue-run" \
  --kubeconfig "$T/edge-1.kubeconfig" --hub-ca "$T/fleet-ca.crt" \
  --client-cert "$T/rogue-agent.crt" --client-key "$T/rogue-agent.key" \
  --tls-server-name hub.gitfleet.test --poll-wait 1s
wait_for 30 grep -q "AGENT-HUB-UNREACHABLE.*failed the TLS handshake" "$T/agent-rogue.log" ||
  fail "the run loop does not say the TLS handshake fails: $(tail -n 3 "$T/agent-rogue.log")"
pass "an agent run with a rogue certificate logs that its TLS handshakes fail"

echo "8 passed, 0 failed"
