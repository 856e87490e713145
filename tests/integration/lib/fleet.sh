# fleet.sh -- helpers for integration tests that run the real hub, agents and kubesims.
# Source it; it sets up a scratch directory and stops every process it started on exit.

set -euo pipefail
: "${GF_BIN_DIR:?GF_BIN_DIR must point at the built programs}"
for p in gitfleet-hub gitfleet-agent gitfleet kubesim; do
  [ -x "$GF_BIN_DIR/$p" ] || { echo "no $p in $GF_BIN_DIR: build first (./scripts/build.sh DIR)" >&2; exit 1; }
done
T=$(mktemp -d /tmp/gfit.XXXXXX)
PIDS=()

# stop_all: stop every process started so far (SIGTERM, all at once) and forget them.
stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  # A process that does not stop within 20 s of SIGTERM is reported and killed, so that
  # a hang at shutdown shows in the output instead of eating ctest's whole timeout.
  local deadline=$(( $(date +%s) + 20 ))
  for p in "${PIDS[@]}"; do
    while kill -0 "$p" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
    if kill -0 "$p" 2>/dev/null; then
      echo "WARNING: $(cat "/proc/$p/comm" 2>/dev/null) (pid $p) did not stop on SIGTERM: killed" >&2
      kill -9 "$p" 2>/dev/null || true
    fi
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
}

cleanup() {
  local rc=$?
  if [ -n "${GF_KEEP:-}" ]; then echo "GF_KEEP: processes and $T left running"; return; fi
  stop_all
  if [ $rc -ne 0 ]; then
    echo "---- logs in $T (kept) ----"
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -25 "$f"; }; done
  else
    rm -rf "$T"
  fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok   $*"; }

# A free TCP port on loopback.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
  local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 )); shift
  until "$@" >/dev/null 2>&1; do
    [ $(( $(date +%s%N) / 1000000 )) -lt $deadline ] || return 1
    sleep 0.1
  done
}

# start NAME CMD...: run CMD in the background, logging to $T/NAME.log.
start() {
  local name=$1; shift
  "$@" >"$T/$name.log" 2>&1 &
  PIDS+=($!)
  eval "PID_${name//-/_}=$!"
}

stop() {
  local var="PID_${1//-/_}"
  kill "${!var}" 2>/dev/null || true
  wait "${!var}" 2>/dev/null || true
}

# start_kubesim NAME [FLAGS...]: a kubesim with a kubeconfig at $T/NAME.kubeconfig. FLAGS go
# after the defaults, so that they win (e.g. --controller-delay 1000, kubesim's own default).
start_kubesim() {
  local name=$1 port; shift
  port=$(free_port)
  start "$name" "$GF_BIN_DIR/kubesim" --listen "127.0.0.1:$port" \
    --kubeconfig-out "$T/$name.kubeconfig" --controller-delay 100 "$@"
  wait_for 10 test -s "$T/$name.kubeconfig" || fail "kubesim $name did not start"
}

k() { local c=$1; shift; kubectl --kubeconfig "$T/$c.kubeconfig" --cache-dir "$T/kcache-$c" "$@"; }

# A fleet repository in $T/repo with commits made by git.
make_repo() {
  mkdir -p "$T/repo" && git -C "$T/repo" init -q -b main
  git -C "$T/repo" config user.email test@example.com
  git -C "$T/repo" config user.name test
}
commit() { git -C "$T/repo" add -A && git -C "$T/repo" commit -qm "$1"; }

HUB_PORT=""; API_PORT=""
start_hub() {
  [ -n "$HUB_PORT" ] || { HUB_PORT=$(free_port); API_PORT=$(free_port); }
  start hub "$GF_BIN_DIR/gitfleet-hub" --repo "$T/repo" --data-dir "$T/hub" \
    --listen "tcp://127.0.0.1:$HUB_PORT" --api-listen "http://127.0.0.1:$API_PORT" \
    --poll-interval 1h "$@"
  export GITFLEET_HUB="http://127.0.0.1:$API_PORT" GITFLEET_TOKEN_FILE="$T/hub/admin.token"
  wait_for 10 curl -sf "$GITFLEET_HUB/healthz" || fail "hub did not start"
}

gitfleet() { "$GF_BIN_DIR/gitfleet" "$@"; }

# join_cluster CLUSTER: token from the hub, join (state in $T/agent-CLUSTER); no agent runs yet.
join_cluster() {
  local token
  token=$(gitfleet cluster add "$1" | tail -n 1)
  "$GF_BIN_DIR/gitfleet-agent" join --hub "tcp://127.0.0.1:$HUB_PORT" --token "$token" \
    --state-dir "$T/agent-$1" >"$T/join-$1.log" 2>&1 || fail "join of $1 failed"
}

# join_agent CLUSTER: token from the hub, join, run against kubesim CLUSTER.
join_agent() {
  join_cluster "$1"
  start_agent "$1"
}

start_agent() {
  start "agent-$1" "$GF_BIN_DIR/gitfleet-agent" run --state-dir "$T/agent-$1" \
    --kubeconfig "$T/$1.kubeconfig" --poll-wait 2s --resync-interval 1s --report-interval 2s \
    ${AGENT_FLAGS:-}
}

# app_field CLUSTER APP FIELD: a field of an app in `gitfleet status CLUSTER -o json`.
app_field() {
  gitfleet status "$1" -o json | python3 -c '
import json, sys
c = json.load(sys.stdin)["clusters"][0]
for a in c["apps"]:
    if a["name"] == sys.argv[1]:
        print(a.get(sys.argv[2], "")); break' "$2" "$3"
}
cluster_field() {
  gitfleet status "$1" -o json | python3 -c '
import json, sys
c = json.load(sys.stdin)["clusters"][0]
v = c
for part in sys.argv[1].split("."): v = v[part]
print(v)' "$2"
}

# Predicates for wait_for (they re-read each time they are called).
app_is() { [ "$(app_field "$1" "$2" "$3")" = "$4" ]; }
cluster_is() { [ "$(cluster_field "$1" "$2")" = "$3" ]; }
cm_is() { [ "$(k "$1" get cm -n "$2" "$3" -o jsonpath="{.data.$4}" 2>/dev/null)" = "$5" ]; }

# obj_field CLUSTER KIND NAMESPACE NAME JSONPATH: "" when absent.
obj_field() { k "$1" get "$2" -n "$3" "$4" -o jsonpath="$5" 2>/dev/null || true; }
exists() { k "$1" get "$2" -n "$3" "$4" >/dev/null 2>&1; }
absent() { ! exists "$@"; }

# need_browser: the dashboard's browser tests need kubectl, Debian's chromium and a python3
# with websocket (scripts/deps.sh); sets PY to that python, or skips the test (exit 77).
need_browser() {
  command -v kubectl >/dev/null || { echo "SKIP: kubectl is not installed"; exit 77; }
  command -v chromium >/dev/null || { echo "SKIP: chromium is not installed (scripts/deps.sh)"; exit 77; }
  PY=""
  for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import websocket' 2>/dev/null; then PY=$p; break; fi
  done
  [ -n "$PY" ] || { echo "SKIP: python3-websocket is not installed (scripts/deps.sh)"; exit 77; }
}
