#!/usr/bin/env bash
# repo_ssh_test.sh -- a fleet repository over SSH, from a real sshd on loopback: key and
# passphrase-protected key, known_hosts checked by default (unknown host and changed key
# refused), a key the server does not accept, scp-style URLs, and the hub following it.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
sshd=/usr/sbin/sshd
[ -x $sshd ] || { echo "SKIP: openssh-server is not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: sshd needs root to switch users"; exit 77; }
# libgit2 has no frame pointers: the slow unwinder lets the suppressions see its callers.
export LSAN_OPTIONS="suppressions=$here/lib/libgit2-ssh.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"

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
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {v: "one"}\n' > "$T/repo/apps/a/cm.yaml"
commit "v1"
git clone -q --bare "$T/repo" "$T/srv/fleet.git"

ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$T/otherhost"
ssh-keygen -q -t ed25519 -N '' -f "$T/userkey" -C user
ssh-keygen -q -t ed25519 -N 'pass phrase 1' -f "$T/userkey_pp" -C user-pp
ssh-keygen -q -t ed25519 -N '' -f "$T/stranger" -C stranger
cat "$T/userkey.pub" "$T/userkey_pp.pub" > "$T/authorized_keys"

# start_sshd NAME ADDRESS PORT: an sshd of our own (config, host key, authorized keys in $T).
start_sshd() {
  cat > "$T/$1.conf" <<C
Port $3
ListenAddress $2
HostKey $T/hostkey
PidFile $T/$1.pid
AuthorizedKeysFile $T/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers root
StrictModes no
UsePAM no
C
  mkdir -p /run/sshd
  start "$1" $sshd -D -e -f "$T/$1.conf"
  wait_for 10 python3 -c "import socket; socket.create_connection(('$2', $3), 1).recv(4)"
}
port=$(free_port)
start_sshd sshd 127.0.0.1 "$port" || { echo "SKIP: sshd did not start"; cat "$T/sshd.log"; exit 77; }
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$T/hostkey.pub")" > "$T/known_hosts"
url="ssh://root@127.0.0.1:$port$T/srv/fleet.git"

render() { gitfleet render --repo "$url" --cluster c1 --cache-dir "$T/cache" "$@"; }

out=$(render --ssh-key "$T/userkey" --known-hosts "$T/known_hosts" 2>&1) || fail "ssh render: $out"
grep -q 'v: one' <<<"$out" || fail "ssh render printed no ConfigMap: $out"
pass "render over ssh:// with a key, the host key in known_hosts"

cat > "$T/creds.yaml" <<Y
repositories:
- url: ssh://root@127.0.0.1:$port/
  sshPrivateKeyFile: userkey_pp
  sshPassphraseEnv: TEST_PASSPHRASE
  knownHostsFile: known_hosts
Y
out=$(TEST_PASSPHRASE='pass phrase 1' render --credentials "$T/creds.yaml" 2>&1) ||
  fail "passphrase key: $out"
grep -q 'v: one' <<<"$out" || fail "passphrase render: $out"
out=$(TEST_PASSPHRASE='wrong' render --credentials "$T/creds.yaml" 2>&1) && fail "wrong passphrase worked"
grep -q "passphrase\|authentication failed\|Unable to\|unable to" <<<"$out" || fail "wrong passphrase: $out"
pass "a passphrase-protected key from a credentials file (passphrase from the environment)"

: > "$T/empty_known_hosts"
out=$(render --ssh-key "$T/userkey" --known-hosts "$T/empty_known_hosts" 2>&1) && fail "unknown host accepted"
grep -q "\[127.0.0.1\]:$port is not in .*empty_known_hosts (add it: ssh-keyscan -p $port" <<<"$out" ||
  fail "unknown host message: $out"
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$T/otherhost.pub")" > "$T/wrong_known_hosts"
out=$(render --ssh-key "$T/userkey" --known-hosts "$T/wrong_known_hosts" 2>&1) && fail "changed key accepted"
grep -q "does not match .*refusing to connect" <<<"$out" || fail "changed key message: $out"
mkdir -p "$T/home/.ssh" && cp "$T/wrong_known_hosts" "$T/home/.ssh/known_hosts"
out=$(HOME="$T/home" render --ssh-key "$T/userkey" 2>&1) && fail "default known_hosts not checked"
grep -q "home/.ssh/known_hosts" <<<"$out" || fail "default known_hosts message: $out"
cp "$T/known_hosts" "$T/home/.ssh/known_hosts"
HOME="$T/home" render --ssh-key "$T/userkey" >/dev/null 2>&1 || fail "default known_hosts with the key"
pass "host keys: unknown refused, changed refused, ~/.ssh/known_hosts by default"

out=$(render --ssh-key "$T/stranger" --known-hosts "$T/known_hosts" 2>&1) && fail "stranger's key accepted"
grep -q "authentication failed\|Failed to authenticate\|failed to authenticate" <<<"$out" ||
  fail "refused key message: $out"
out=$(render --known-hosts "$T/known_hosts" 2>&1) && fail "no key worked"
grep -q "none are configured\|authentication" <<<"$out" || fail "no key message: $out"
pass "a key the server refuses, and no key at all: clear errors"

# scp-style needs port 22: an sshd on another loopback address, when that port is ours to take.
if start_sshd sshd22 127.0.0.2 22 2>/dev/null; then
  echo "127.0.0.2 $(cut -d' ' -f1,2 "$T/hostkey.pub")" >> "$T/known_hosts"
  out=$(gitfleet render --repo "root@127.0.0.2:$T/srv/fleet.git" --cluster c1 --cache-dir "$T/cache" \
        --ssh-key "$T/userkey" --known-hosts "$T/known_hosts" 2>&1) || fail "scp-style: $out"
  grep -q 'v: one' <<<"$out" || fail "scp-style render: $out"
  pass "scp-style root@127.0.0.2:/path"
else
  echo "note: 127.0.0.2:22 is not free; scp-style URLs are covered by the unit tests only"
fi

# The hub follows the repository over SSH.
HUB_PORT=$(free_port); API_PORT=$(free_port)
start hub "$GF_BIN_DIR/gitfleet-hub" --repo "$url" --data-dir "$T/hub" \
  --listen "tcp://127.0.0.1:$HUB_PORT" --api-listen "http://127.0.0.1:$API_PORT" --poll-interval 1h \
  --repo-ssh-key "$T/userkey" --repo-known-hosts "$T/known_hosts"
export GITFLEET_HUB="http://127.0.0.1:$API_PORT" GITFLEET_TOKEN_FILE="$T/hub/admin.token"
wait_for 10 curl -sf "$GITFLEET_HUB/healthz" || fail "hub did not start"
wait_for 10 grep -q HUB-SYNC "$T/hub.log" || fail "hub did not sync over ssh"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {v: "two"}\n' > "$T/repo/apps/a/cm.yaml"
commit "v2" && git -C "$T/repo" push -q "$T/srv/fleet.git" main
gitfleet sync >/dev/null || fail "hub sync over ssh"
[ "$(grep -c HUB-SYNC "$T/hub.log")" -ge 2 ] || fail "second sync not logged"
grep -q "HUB-BUNDLE cluster=c1 generation=2" "$T/hub.log" || fail "the new commit made no bundle"
pass "the hub clones and fetches over ssh://"
