#!/usr/bin/env bash
# dashboard_soak.sh -- a dashboard page left open (issue 14): the example fleet (three kubesims,
# hub, agents) changing all the time (a commit and a webhook every 20 s, an agent restarted
# every 2 minutes) while headless chromium keeps the fleet view, then a cluster view, open for
# MINUTES. Every minute: the page's JS heap and DOM size, its requests to the hub so far, the
# hub's RSS. A page that leaks grows; one that hammers the hub shows many requests a minute.
# Usage: bench/dashboard_soak.sh [MINUTES=10] [BUILD=build]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
minutes=${1:-10}; build=${2:-$here/build}
export GF_BIN_DIR="$build/bin" GF_SOURCE_DIR="$here"
source "$here/tests/integration/lib/fleet.sh"
PY=""
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import websocket' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] && command -v chromium >/dev/null || { echo "needs chromium and python3-websocket"; exit 77; }
make_repo
cp -r "$here/deploy/examples/fleet/." "$T/repo/"
commit "fleet"
clusters=(dev-1 staging-1 prod-eu-1)
for c in "${clusters[@]}"; do start_kubesim "$c"; done
start_hub --repo-url https://github.com/example/fleet.git --anonymous-read
for c in "${clusters[@]}"; do join_agent "$c"; done
wait_for 60 cluster_is prod-eu-1 health Healthy || fail "the fleet did not converge"
(
  i=0
  while sleep 20; do
    i=$((i + 1))
    sed -i "s/replicas: [0-9]*/replicas: $(( i % 3 + 1 ))/" "$T/repo/infrastructure/monitoring/prometheus.yaml"
    git -C "$T/repo" commit -qam "soak $i" || true
    curl -sf -XPOST "$GITFLEET_HUB/api/v1/webhook/git" -d '{"ref":"refs/heads/main"}' >/dev/null || true
    if [ $((i % 6)) = 0 ]; then stop agent-dev-1; start_agent dev-1; fi
  done
) &
churn=$!
GF_HUB="$GITFLEET_HUB" GF_MINUTES="$minutes" GF_HUB_PID="$PID_hub" "$PY" - <<'P'
import os, sys, time
sys.path.insert(0, os.path.join(os.environ["GF_SOURCE_DIR"], "tests", "integration", "lib"))
from cdp import Browser
hub, minutes, pid = os.environ["GF_HUB"], int(os.environ["GF_MINUTES"]), os.environ["GF_HUB_PID"]
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
b = Browser()
try:
    b.open(hub + "/ui/fleet")
    b.eval("performance.setResourceTimingBufferSize(1000000)")
    b.wait("document.querySelector('#live').textContent === 'live'")
    start = time.time()
    print("minute  view     heap MiB  DOM nodes  requests (total)  events  hub RSS MiB")
    for m in range(1, minutes + 1):
        if m == minutes // 2 + 1:
            b.eval("document.querySelector('#grid a.cell').click()")  # the same page, a cluster view
        time.sleep(max(0, start + 60 * m - time.time()))
        b.send("HeapProfiler.collectGarbage")
        s = b.eval("""({view: location.pathname.split('/')[2], heap: performance.memory.usedJSHeapSize,
                       nodes: document.getElementsByTagName('*').length,
                       reqs: performance.getEntriesByType('resource').filter(e => e.name.includes('/api/')).length,
                       events: window.gitfleetEvents || 0})""")
        print(f"{m:6d}  {s['view']:7s}  {s['heap'] / 1048576:8.1f}  {s['nodes']:9d}  {s['reqs']:16d}  {s['events']:6d}  {rss():11d}", flush=True)
finally:
    b.close()
P
kill $churn 2>/dev/null || true
