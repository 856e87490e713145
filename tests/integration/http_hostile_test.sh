#!/usr/bin/env bash
# http_hostile_test.sh -- the HTTP API under a hostile client, with raw sockets (issue 13): no
# request smuggling through chunked bodies, long URLs and big bodies refused in the API's JSON
# error shape, 1,000 idle connections that announce big bodies cost almost no memory, idle
# connections time out.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
raw() { python3 "$here/lib/http_raw.py" "$@"; }

make_repo
mkdir -p "$T/repo/clusters"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: dev-1}\n' >"$T/repo/clusters/dev-1.yaml"
commit "one cluster"
# ASan's quarantine would hold freed bodies for it: measure the hub's own memory.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:quarantine_size_mb=16"
start_hub --anonymous-read --api-max-connections 2000 --api-max-connections-per-ip 1500 --api-idle-timeout 3s
port=${API_PORT}

raw smuggle "$port" || fail "request smuggling"
pass "chunked bodies are bodies; ambiguous framing is refused"
raw big-bodies "$port" || fail "big bodies"
pass "bodies over 1 MiB: 413 JSON"
raw long-urls "$port" || fail "long URLs"
pass "long URLs: 414 JSON"
raw errors "$port" "$T/hub/admin.token" || fail "error shapes"
pass "404/401/405/400 in the JSON error shape"
raw idle-bodies "$port" "$PID_hub" 1000 || fail "idle connections with big bodies"
pass "1,000 idle connections announcing big bodies"
raw idle-timeout "$port" 3 || fail "idle timeout"
pass "idle connections time out"
curl -sf "$GITFLEET_HUB/healthz" >/dev/null || fail "the hub stopped answering"
echo "PASS"
