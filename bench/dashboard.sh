#!/usr/bin/env bash
# dashboard.sh -- the dashboard at fleet scale (issue 14): N clusters (bench/make-scale-fleet.sh),
# the hub's store seeded with a joined agent and a report per cluster (2% Degraded, 1%
# Progressing, 5% OutOfSync), then headless chromium on /ui/fleet: time to the first frame
# with every cluster drawn, and to redraw after filtering (name, health, label selector,
# keyboard). Both programs share this machine's cores.
# Usage: bench/dashboard.sh [N=10000] [BUILD=build]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000}; build=${2:-$here/build}
command -v chromium >/dev/null || { echo "chromium is not installed (scripts/deps.sh)"; exit 77; }
PY=""
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import websocket, sqlite3' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "python3-websocket is not installed"; exit 77; }
dir=$(mktemp -d /tmp/gfdash.XXXXXX)
hub_pid=""
trap '[ -n "$hub_pid" ] && kill $hub_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
agents=$(port); api=$(port)
hub() {
  "$build/bin/gitfleet-hub" --repo "$dir/repo" --data-dir "$dir/hub" --listen "tcp://127.0.0.1:$agents" \
    --api-listen "http://127.0.0.1:$api" --poll-interval 1h --anonymous-read --log-level warn \
    >>"$dir/hub.log" 2>&1 &
  hub_pid=$!
}
synced() { curl -sf "http://127.0.0.1:$api/api/v1/clusters" | grep -q "\"revision\"" &&
  curl -sf "http://127.0.0.1:$api/api/v1/ui/fleet" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["revision"] and len(d["clusters"]) >= int(sys.argv[1]) else 1)' "$n"; }
wait_synced() { for _ in $(seq 1 600); do synced && return 0; sleep 0.5; done; echo "the hub did not render"; exit 1; }

echo "== a fleet of $n clusters"
"$here/bench/make-scale-fleet.sh" "$dir/repo" "$n" >/dev/null
t0=$(date +%s%N); hub; wait_synced
echo "first render by the hub: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
kill $hub_pid; wait $hub_pid 2>/dev/null || true; hub_pid=""
rev=$(git -C "$dir/repo" rev-parse HEAD)
"$PY" - "$dir/hub/hub.db" "$n" "$rev" <<'P'
import json, random, sqlite3, sys, time
db, n, rev = sys.argv[1], int(sys.argv[2]), sys.argv[3]
random.seed(14)
now = int(time.time() * 1000)
con = sqlite3.connect(db)
for i in range(1, n + 1):
    name = f"c{i}"
    r = random.random()
    health, sync, msg = "Healthy", "Synced", ""
    if r < 0.02: health, msg = "Degraded", 'Deployment "web" exceeded its progress deadline'
    elif r < 0.03: health = "Progressing"
    elif r < 0.08: sync = "OutOfSync"
    res = [{"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "web", "name": "web",
            "sync": sync, "health": health, "message": msg, "drift": []}]
    report = {"cluster": name, "generation": 1, "revision": rev, "time": now, "error": "",
              "apps": [{"name": "web", "sync": sync, "health": health, "revision": rev,
                        "generation": 1, "message": msg, "operation": "Succeeded", "resources": res}]}
    con.execute("INSERT OR REPLACE INTO clusters (name, joined_ms, last_seen_ms, applied_generation,"
                " applied_revision) VALUES (?, ?, ?, 1, ?)", (name, now, now, rev))
    con.execute("INSERT OR REPLACE INTO reports VALUES (?, ?, 1, ?, ?)", (name, now, rev, json.dumps(report)))
con.commit()
P
hub; wait_synced
H="http://127.0.0.1:$api"
echo "== the hub's side"
for i in 1 2 3; do
  curl -s -o /dev/null -w "GET /api/v1/ui/fleet: %{time_total} s, %{size_download} bytes\n" "$H/api/v1/ui/fleet"
done
curl -s -o /dev/null -w "GET /api/v1/status (every app): %{time_total} s, %{size_download} bytes\n" "$H/api/v1/status"
echo "== the browser (headless chromium, 1280x900)"
mkdir -p "$build/dashboard-screenshots"
GF_HUB="$H" GF_N="$n" GF_SHOT="$build/dashboard-screenshots/fleet-$n.png" "$PY" "$here/bench/dashboard_bench.py"
