#!/usr/bin/env bash
# gitops_latency.sh -- commit -> applied-in-cluster latency (p50/p99) and peak RSS of the hub and
# an agent, with 1, 10 and 100 agents on this machine. Not a test: prints a table.
# Usage: bench/gitops_latency.sh [--build DIR (default build)] [--agents "1 10 100"] [--rounds 10]
#                                [--kubesim shared|own]
# Build first without sanitizers: ./scripts/build.sh build
#
# Per agent count N: clusters c001..cN, each with its own kubesim (--kubesim shared: one kubesim
# for all, each cluster's app in its own namespace named after the cluster; cheaper, but every
# agent then also sees every other cluster's objects through its cluster-wide watches), one hub
# (--poll-interval 1h: only the webhook triggers), N agents with default flags. Each round
# edits a ConfigMap, commits, and POSTs a signed GitHub-style webhook at once; rounds are
# 0.3 s apart. "applied" for a cluster = the first poll (every 10 ms, or 2x the call time)
# of /api/v1/status that shows the new commit as its reported revision; "in cluster" = the
# first GET of cluster c001's ConfigMap from its kubesim that shows the new value.
# Results and method: docs/benchmarks.md.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
counts="1 10 100"
rounds=10
kubesim=own
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift ;;
    --agents) counts=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --kubesim) kubesim=$2; shift ;;
    *) echo "usage: $0 [--build DIR] [--agents \"1 10 100\"] [--rounds N] [--kubesim shared|own]" >&2; exit 2 ;;
    esac
    shift
done
case $kubesim in own | shared) ;; *) echo "--kubesim is own or shared, not '$kubesim'" >&2; exit 2 ;; esac
bin=$build/bin
export GF_BIN_DIR=$bin
# checks the programs are built; $T, start, start_hub, join_cluster; stops all and cleans up on exit
source "$here/tests/integration/lib/fleet.sh"
trap 'exit 130' INT TERM

hwm_kib() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

# bench_kubesim CLUSTER: a kubesim at $T/CLUSTER.kubeconfig, with kubesim's default delay.
bench_kubesim() { start_kubesim "$1" --token bench --controller-delay 1000; }

# make_fleet N: a fleet repo in $T/repo with N clusters and one ApplicationSet over all of them.
make_fleet() {
    local n=$1 i
    make_repo
    mkdir -p "$T/repo/clusters" "$T/repo/argocd" "$T/repo/apps/bench"
    for i in $(seq -f %03g 1 "$n"); do
        printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: c%s, labels: {bench: "yes"}}\n' \
            "$i" >"$T/repo/clusters/c$i.yaml"
    done
    cat >"$T/repo/argocd/bench.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: bench}
spec:
  generators:
  - clusters: {selector: {matchLabels: {bench: "yes"}}}
  template:
    metadata: {name: bench}
    spec:
      project: default
      source: {repoURL: '.', path: apps/bench}
      destination: {name: '{{name}}', namespace: '{{name}}'}
      syncPolicy: {automated: {}, syncOptions: [CreateNamespace=true]}
Y
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bench-config}\ndata: {round: "0"}\n' \
        >"$T/repo/apps/bench/cm.yaml"
    commit "bench fleet"
}

# run_count N: one full measurement; appends two result lines to $T/results.N.
run_count() {
    local n=$1 i kc
    rm -rf "$T/repo" "$T/hub" "$T"/c[0-9]* "$T"/agent-c* "$T"/join-c* # the last count's
    HUB_PORT=""
    make_fleet "$n"
    bench_kubesim c001 # c001's, and with --kubesim shared everyone's
    start_hub --webhook-secret bench-secret --log-level warn
    local t_join=$(date +%s%N)
    for i in $(seq -f %03g 1 "$n"); do
        join_cluster "c$i"
        kc=$T/c001.kubeconfig
        if [ "$kubesim" = own ] && [ "$i" != 001 ]; then kc=$T/c$i.kubeconfig; bench_kubesim "c$i"; fi
        start "agent-c$i" "$bin/gitfleet-agent" run --state-dir "$T/agent-c$i" --kubeconfig "$kc" \
            --log-level warn
    done
    echo "N=$n: $n agents joined and started in $(( ($(date +%s%N) - t_join) / 1000000 )) ms" >&2
    PYTHONPATH="$here/bench${PYTHONPATH:+:$PYTHONPATH}" python3 - "$T" "$n" "$rounds" "$API_PORT" <<'PY' >>"$T/results.$n"
import http.client, json, subprocess, sys, time
from benchlib import kube_connection, webhook
d, n, rounds, api = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
hub = http.client.HTTPConnection("127.0.0.1", api, timeout=10)
kube, KAUTH = kube_connection(d + "/c001.kubeconfig")  # c001's kubesim
HAUTH = {"Authorization": "Bearer " + open(d + "/hub/admin.token").read().strip()}  # reads need a token
POLL = 0.01  # seconds between polls, or twice the last status call if longer: the poller
             # must not eat the hub's CPU (a status of 100 clusters takes ~40 ms here)

def get(conn, path, headers={}):
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()

calls = []  # seconds each status poll took: the resolution of the measurement

def revisions():
    t = time.monotonic()
    status, body = get(hub, "/api/v1/status", HAUTH)
    calls.append(time.monotonic() - t)
    return {c["name"]: c["revision"] for c in json.loads(body)["clusters"]}

def sample_value():
    status, body = get(kube, "/api/v1/namespaces/c001/configmaps/bench-config", KAUTH)
    return json.loads(body).get("data", {}).get("round") if status == 200 else None

def head():
    return subprocess.run(["git", "-C", d + "/repo", "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()

def wait_all(rev, t0, timeout, want_round=None):
    seen, sample = {}, None
    while time.monotonic() - t0 < timeout:
        now = time.monotonic()
        for name, r in revisions().items():
            if r == rev and name not in seen:
                seen[name] = now - t0
        if want_round is not None and sample is None and sample_value() == want_round:
            sample = time.monotonic() - t0
        if len(seen) == n and (want_round is None or sample is not None):
            return seen, sample
        time.sleep(max(POLL, 2 * calls[-1]))
    raise SystemExit(f"N={n}: only {len(seen)}/{n} clusters reported {rev[:12]} in {timeout}s")

t0 = time.monotonic()
wait_all(head(), t0, 120)  # the first sync, not measured
print(f"N={n}: every cluster reports the first commit {time.monotonic() - t0:.1f} s after the "
      "last agent started", file=sys.stderr)
lat, last, samples = [], [], []
for r in range(1, rounds + 1):
    path = d + "/repo/apps/bench/cm.yaml"
    open(path, "w").write(f'apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: bench-config}}\ndata: {{round: "{r}"}}\n')
    subprocess.run(["git", "-C", d + "/repo", "commit", "-qam", f"round {r}"], check=True)
    t0 = time.monotonic()
    rev = head()
    webhook(hub, rev)
    seen, sample = wait_all(rev, t0, 30, str(r))
    lat += seen.values(); last.append(max(seen.values())); samples.append(sample)
    time.sleep(0.3)  # let report traffic settle before the next commit

def pct(xs, p):
    xs = sorted(xs)
    return xs[max(0, min(len(xs) - 1, int(round(p / 100 * len(xs) + 0.5)) - 1))] * 1000
print(f"{n} {len(lat)} {pct(lat, 50):.0f} {pct(lat, 99):.0f} {pct(last, 50):.0f} {pct(last, 99):.0f} "
      f"{pct(samples, 50):.0f} {pct(samples, 99):.0f} {sum(calls) / len(calls) * 1000:.0f}")
PY
    local agent_max=0 p h
    for p in "${PIDS[@]}"; do
        [ "$(cat /proc/$p/comm 2>/dev/null)" = gitfleet-agent ] || continue
        h=$(hwm_kib "$p"); [ "$h" -gt "$agent_max" ] && agent_max=$h
    done
    echo "$(hwm_kib "$PID_hub") $(hwm_kib "$PID_agent_c001") $agent_max" >>"$T/results.$n"
    stop_all
}

echo "gitops latency: $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, $rounds rounds, kubesim $kubesim, $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $counts; do run_count "$n"; done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: a high load inflates the tail)"
printf '\n| agents | samples | applied p50 | applied p99 | all clusters p50 | all clusters p99 | in kubesim (c001) p50 | p99 | status call | hub VmHWM | agent c001 VmHWM | largest agent VmHWM |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for n in $counts; do
    read -r a s p50 p99 l50 l99 k50 k99 call <<<"$(sed -n 1p "$T/results.$n")"
    read -r hub agent amax <<<"$(sed -n 2p "$T/results.$n")"
    printf '| %s | %s | %s ms | %s ms | %s ms | %s ms | %s ms | %s ms | %s ms | %.1f MiB | %.1f MiB | %.1f MiB |\n' \
        "$a" "$s" "$p50" "$p99" "$l50" "$l99" "$k50" "$k99" "$call" \
        "$(echo "$hub/1024" | bc -l)" "$(echo "$agent/1024" | bc -l)" "$(echo "$amax/1024" | bc -l)"
done
