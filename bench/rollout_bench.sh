#!/usr/bin/env bash
# rollout_bench.sh -- a progressive rollout's own cost: commit -> last cluster applied for a good
# change over N clusters, AllAtOnce against a 4-step RollingSync (no bake time), and the gap
# between steps (last cluster of step k applied -> first of step k+1 applied). Not a test.
# Usage: bench/rollout_bench.sh [--build DIR (default build)] [--clusters 100] [--rounds 3]
# Build first without sanitizers: ./scripts/build.sh build
#
# N clusters c001..cN in 4 rings (labels ring=r1..r4, N/4 each), one shared kubesim (each
# cluster's app in its own namespace), one hub (--poll-interval 1h: the webhook triggers), N
# agents. Each round edits a ConfigMap, commits and POSTs a signed webhook; "applied" for a
# cluster = the first poll (every 20 ms) of the kubesim's ConfigMap list that shows the new
# value in its namespace. The same fleet is measured AllAtOnce, then switched to RollingSync
# (a commit that changes no app) and measured again. Results: docs/benchmarks.md.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
n=100
rounds=3
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift ;;
    --clusters) n=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    *) echo "usage: $0 [--build DIR] [--clusters N] [--rounds R]" >&2; exit 2 ;;
    esac
    shift
done
[ "$n" -ge 4 ] || { echo "--clusters: at least 4 (one per ring)" >&2; exit 2; }
bin=$build/bin
export GF_BIN_DIR=$bin
# checks the programs are built; $T, start, start_hub, join_cluster; stops all and cleans up on exit
source "$here/tests/integration/lib/fleet.sh"
trap 'exit 130' INT TERM

make_repo
repo=$T/repo
mkdir -p "$repo/clusters" "$repo/argocd" "$repo/apps/bench"
for i in $(seq -f %03g 1 "$n"); do
    printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: c%s, labels: {ring: r%d}}\n' \
        "$i" $(( (10#$i - 1) * 4 / n + 1 )) >"$repo/clusters/c$i.yaml"
done
appset() { # appset AllAtOnce|RollingSync
    cat >"$repo/argocd/bench.yaml" <<Y
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: bench}
spec:
  generators:
  - clusters: {}
  template:
    metadata: {name: 'bench-{{name}}', labels: {ring: '{{metadata.labels.ring}}'}}
    spec:
      source: {repoURL: '.', path: apps/bench}
      destination: {name: '{{name}}', namespace: '{{name}}'}
      syncPolicy: {automated: {}, syncOptions: [CreateNamespace=true]}
  strategy:
    type: $1
    rollingSync:
      steps:
      - matchExpressions: [{key: ring, operator: In, values: [r1]}]
      - matchExpressions: [{key: ring, operator: In, values: [r2]}]
      - matchExpressions: [{key: ring, operator: In, values: [r3]}]
      - matchExpressions: [{key: ring, operator: In, values: [r4]}]
Y
}
appset AllAtOnce
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bench-config}\ndata: {round: "0"}\n' \
    >"$repo/apps/bench/cm.yaml"
commit "bench fleet"

start_kubesim kubesim --token bench --controller-delay 1000 # one for all, kubesim's default delay
start_hub --webhook-secret bench-secret --log-level "${HUB_LOG_LEVEL:-warn}"
for i in $(seq -f %03g 1 "$n"); do
    join_cluster "c$i"
    start "agent-c$i" "$bin/gitfleet-agent" run --state-dir "$T/agent-c$i" \
        --kubeconfig "$T/kubesim.kubeconfig" --log-level warn
done

PYTHONPATH="$here/bench${PYTHONPATH:+:$PYTHONPATH}" python3 - "$T" "$n" "$rounds" "$API_PORT" <<'PY'
import http.client, json, subprocess, sys, time
from benchlib import kube_connection, webhook
tmp, n, rounds, api = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
repo = tmp + "/repo"
hub = http.client.HTTPConnection("127.0.0.1", api, timeout=10)
kube, KAUTH = kube_connection(tmp + "/kubesim.kubeconfig")
ring = lambda i: (i - 1) * 4 // n  # 0..3, as the Cluster labels say

def values():  # namespace -> round, for every cluster's ConfigMap
    kube.request("GET", "/api/v1/configmaps?fieldSelector=metadata.name%3Dbench-config", headers=KAUTH)
    r = kube.getresponse(); body = json.loads(r.read())
    return {i["metadata"]["namespace"]: i.get("data", {}).get("round") for i in body.get("items", [])}

def push(message):
    subprocess.run(["git", "-C", repo, "commit", "-qam", message], check=True)
    rev = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], check=True,
                         capture_output=True, text=True).stdout.strip()
    webhook(hub, rev)

def arrivals(value, t0, timeout=180):
    seen = {}
    while time.monotonic() - t0 < timeout:
        now = time.monotonic() - t0
        for ns, v in values().items():
            if v == value and ns not in seen:
                seen[ns] = now
        if len(seen) == n:
            return seen
        time.sleep(0.02)
    raise SystemExit(f"only {len(seen)}/{n} clusters got round {value} in {timeout}s")

t0 = time.monotonic()
arrivals("0", t0)
print(f"{n} clusters: first sync done {time.monotonic() - t0:.1f} s after the last agent started",
      file=sys.stderr)
results, rnd = {}, 0
for mode in ("AllAtOnce", "RollingSync"):
    if mode == "RollingSync":
        subprocess.run(["sed", "-i", "s/type: AllAtOnce/type: RollingSync/", repo + "/argocd/bench.yaml"], check=True)
        push("switch to RollingSync (no app changes)")
        time.sleep(2)
    totals, gaps = [], []
    for _ in range(rounds):
        rnd += 1
        open(repo + "/apps/bench/cm.yaml", "w").write(
            f'apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: bench-config}}\ndata: {{round: "{rnd}"}}\n')
        t0 = time.monotonic()
        push(f"round {rnd}")
        seen = arrivals(str(rnd), t0)
        totals.append(max(seen.values()))
        by_ring = [[t for ns, t in seen.items() if ring(int(ns[1:])) == k] for k in range(4)]
        gaps += [min(by_ring[k + 1]) - max(by_ring[k]) for k in range(3)]
        time.sleep(1)
    results[mode] = (sorted(totals)[len(totals) // 2], max(gaps) if mode == "RollingSync" else None,
                     sum(gaps) / len(gaps) if mode == "RollingSync" else None)
a, r = results["AllAtOnce"], results["RollingSync"]
print(f"AllAtOnce:   commit -> last of {n} clusters applied, median of {rounds}: {a[0] * 1000:.0f} ms")
print(f"RollingSync: commit -> last of {n} clusters applied, 4 steps, median of {rounds}: "
      f"{r[0] * 1000:.0f} ms ({r[0] / a[0]:.1f}x AllAtOnce)")
print(f"RollingSync: gap between steps (last applied of step k -> first of k+1): "
      f"mean {r[2] * 1000:.0f} ms, max {r[1] * 1000:.0f} ms")
print(f"clusters={n} rounds={rounds} all_at_once_ms={a[0] * 1000:.0f} rolling_ms={r[0] * 1000:.0f} "
      f"step_gap_mean_ms={r[2] * 1000:.0f} step_gap_max_ms={r[1] * 1000:.0f}")
PY
