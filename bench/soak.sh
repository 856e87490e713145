#!/usr/bin/env bash
# soak.sh -- an hour (or --minutes N) of commits, webhooks, agent restarts and kubesim faults
# against a fleet of 10 clusters (--clusters N), sampling the hub's and the agents' RSS, heap in
# use, open files and threads every minute (--sample-seconds S); it ends with a last commit that
# every cluster must converge to. Not a test: prints a table and a verdict (exit 1 when a commit
# was lost or the fleet did not converge). Results and method: docs/benchmarks.md.
# Usage: bench/soak.sh [--build DIR (default build)] [--minutes 60] [--clusters 10]
#                      [--sample-seconds 60] [--csv FILE]
# Build first without sanitizers: ./scripts/build.sh build
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
minutes=60
clusters=10
sample=60
csv=""
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift ;;
    --minutes) minutes=$2; shift ;;
    --clusters) clusters=$2; shift ;;
    --sample-seconds) sample=$2; shift ;;
    --csv) csv=$2; shift ;;
    *) echo "usage: $0 [--build DIR] [--minutes N] [--clusters N] [--sample-seconds S] [--csv FILE]" >&2
       exit 2 ;;
    esac
    shift
done
bin=$build/bin
for p in gitfleet-hub gitfleet-agent kubesim; do
    [ -x "$bin/$p" ] || { echo "build first: ./scripts/build.sh $build" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/gfsoak.XXXXXX)
cleanup() {
    # every process of this run: the hub, agents and kubesims write their pid files here
    for f in "$tmp"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
    sleep 1
    if [ -n "${GF_KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 - "$bin" "$tmp" "$minutes" "$clusters" "$sample" "$csv" <<'PY'
import hashlib, hmac, json, os, random, signal, socket, subprocess, sys, time, urllib.request

bin_dir, tmp, minutes, n, sample_s, csv_path = sys.argv[1], sys.argv[2], float(sys.argv[3]), \
    int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
random.seed(13)
SECRET = b"soak-secret"
names = ["c%02d" % i for i in range(1, n + 1)]

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def spawn(name, argv):
    log = open(f"{tmp}/{name}.log", "a")
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    open(f"{tmp}/{name}.pid", "w").write(str(p.pid))
    return p

def git(*args):
    return subprocess.run(["git", "-C", f"{tmp}/repo", *args], check=True, capture_output=True,
                          text=True).stdout.strip()

# The fleet repository: one ApplicationSet over every cluster; a ConfigMap carries the round.
repo = f"{tmp}/repo"
os.makedirs(f"{repo}/clusters"); os.makedirs(f"{repo}/argocd"); os.makedirs(f"{repo}/apps/soak")
subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
git("config", "user.email", "soak@example.com"); git("config", "user.name", "soak")
for c in names:
    open(f"{repo}/clusters/{c}.yaml", "w").write(
        f"apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {{name: {c}, labels: {{soak: \"yes\"}}}}\n")
open(f"{repo}/argocd/soak.yaml", "w").write("""apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: soak}
spec:
  generators:
  - clusters: {selector: {matchLabels: {soak: "yes"}}}
  template:
    metadata: {name: soak}
    spec:
      source: {repoURL: '.', path: apps/soak}
      destination: {name: '{{name}}', namespace: soak}
      syncPolicy:
        automated: {prune: true, selfHeal: true}
        syncOptions: [CreateNamespace=true]
        retry: {limit: -1, backoff: {duration: 1s, factor: 2, maxDuration: 20s}}
""")

def write_round(r):
    # a ConfigMap that changes every round, and one object that comes and goes (prune)
    open(f"{repo}/apps/soak/cm.yaml", "w").write(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: soak-config}}\ndata: {{round: \"{r}\", "
        f"payload: \"{'x' * (r % 50 * 100)}\"}}\n")
    extra = f"{repo}/apps/soak/extra.yaml"
    if r % 3 == 0:
        open(extra, "w").write(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: extra-{r % 2}}}\n"
                               f"data: {{k: v}}\n")
    elif os.path.exists(extra):
        os.remove(extra)

write_round(0)
git("add", "-A"); git("commit", "-qm", "round 0")

hub_port, api_port = free_port(), free_port()
hub = spawn("hub", [f"{bin_dir}/gitfleet-hub", "--repo", repo, "--data-dir", f"{tmp}/hub",
                    "--listen", f"tcp://127.0.0.1:{hub_port}", "--api-listen",
                    f"http://127.0.0.1:{api_port}", "--poll-interval", "1m", "--webhook-secret",
                    SECRET.decode(), "--anonymous-read", "--log-level", "warn"])
api = f"http://127.0.0.1:{api_port}"

def http(method, path, body=None, headers={}):
    req = urllib.request.Request(api + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

for _ in range(100):
    try:
        if http("GET", "/healthz")[0] == 200: break
    except OSError: pass
    time.sleep(0.1)
admin = {"Authorization": "Bearer " + open(f"{tmp}/hub/admin.token").read().strip()}

kube, agents, kubeconfigs = {}, {}, {}
def start_agent(c):
    agents[c] = spawn(f"agent-{c}", [f"{bin_dir}/gitfleet-agent", "run", "--state-dir",
                                     f"{tmp}/agent-{c}", "--kubeconfig", kubeconfigs[c],
                                     "--log-level", "warn"])
for c in names:
    kubeconfigs[c] = f"{tmp}/{c}.kubeconfig"
    kube[c] = spawn(f"kubesim-{c}", [f"{bin_dir}/kubesim", "--listen", "127.0.0.1:0",
                                     "--kubeconfig-out", kubeconfigs[c], "--controller-delay", "200"])
    for _ in range(100):
        if os.path.exists(kubeconfigs[c]) and os.path.getsize(kubeconfigs[c]): break
        time.sleep(0.1)
    status, body = http("POST", "/api/v1/clusters", json.dumps({"name": c}).encode(), admin)
    token = json.loads(body)["token"]
    subprocess.run([f"{bin_dir}/gitfleet-agent", "join", "--hub", f"tcp://127.0.0.1:{hub_port}",
                    "--token", token, "--state-dir", f"{tmp}/agent-{c}"], check=True,
                   capture_output=True)
    start_agent(c)

def kube_server(c):
    import yaml
    k = yaml.safe_load(open(kubeconfigs[c]))
    return k["clusters"][0]["cluster"]["server"], k["users"][0]["user"].get("token")

def kube_call(c, method, path, body=None):
    server, token = kube_server(c)
    headers = {"Content-Type": "application/json"}
    if token: headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(server + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r: return r.status, r.read()
    except urllib.error.HTTPError as e: return e.code, e.read()
    except OSError: return 0, b""

def proc_stats(pid):
    try:
        st = {l.split(":")[0]: l.split(":")[1].strip() for l in open(f"/proc/{pid}/status")}
        return (int(st["VmRSS"].split()[0]), len(os.listdir(f"/proc/{pid}/fd")), int(st["Threads"]))
    except (OSError, KeyError):
        return (0, 0, 0)

def metric(name):
    status, body = http("GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "): return int(line.split()[1])
    return 0

rows = []
def take_sample(t):
    h = proc_stats(hub.pid)
    a = [proc_stats(p.pid) for p in agents.values()]
    row = {"minute": round(t / 60, 1), "hub_rss_kb": h[0], "hub_heap_kb": metric("gitfleet_heap_in_use_bytes") // 1024,
           "hub_fds": h[1], "hub_threads": h[2],
           "agent_rss_kb_max": max(x[0] for x in a), "agent_rss_kb_sum": sum(x[0] for x in a),
           "agent_fds_max": max(x[1] for x in a), "agent_threads_max": max(x[2] for x in a)}
    rows.append(row)
    print(" ".join(f"{k}={v}" for k, v in row.items()), file=sys.stderr, flush=True)

def revisions():
    status, body = http("GET", "/api/v1/status")
    return {c["name"]: c for c in json.loads(body)["clusters"]} if status == 200 else {}

def wait_converged(rev, r, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        st = revisions()
        ok = [c for c in names if st.get(c, {}).get("revision") == rev]
        values = {}
        if len(ok) == n:
            for c in names:
                s, b = kube_call(c, "GET", "/api/v1/namespaces/soak/configmaps/soak-config")
                values[c] = json.loads(b).get("data", {}).get("round") if s == 200 else None
            if all(v == str(r) for v in values.values()):
                return time.monotonic() - t0
        time.sleep(1)
    return None

t_start = time.monotonic()
first = git("rev-parse", "HEAD")
if wait_converged(first, 0, 180) is None:
    raise SystemExit("the fleet never converged to the first commit")
print(f"fleet of {n} converged on the first commit; soaking {minutes:g} min", file=sys.stderr)

counts = {"commits": 0, "webhooks": 0, "agent_restarts": 0, "faults": 0, "hub_restarts": 0}
t0 = time.monotonic(); next_sample = sample_s; next_restart = 45.0; next_fault = 20.0
r = 0
take_sample(0)
while time.monotonic() - t0 < minutes * 60:
    el = time.monotonic() - t0
    r += 1
    write_round(r)
    git("add", "-A"); git("commit", "-qm", f"round {r}")
    counts["commits"] += 1
    if r % 4 != 0:  # most commits come with a webhook; the rest wait for the 1 min poll
        rev = git("rev-parse", "HEAD")
        body = json.dumps({"ref": "refs/heads/main", "after": rev}).encode()
        sig = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        status, _ = http("POST", "/api/v1/webhook/git", body, {
            "Content-Type": "application/json", "X-GitHub-Event": "push", "X-Hub-Signature-256": sig})
        counts["webhooks"] += status == 202
    if el >= next_restart:  # an agent restarts (SIGTERM, or SIGKILL every other time)
        c = random.choice(names)
        agents[c].send_signal(signal.SIGKILL if counts["agent_restarts"] % 2 else signal.SIGTERM)
        agents[c].wait()
        start_agent(c)
        counts["agent_restarts"] += 1
        next_restart += 60
    if el >= next_fault:  # a kubesim misbehaves for a while
        c = random.choice(names)
        rule = random.choice([
            {"verb": "patch", "resource": "configmaps", "count": 5, "status": 500},
            {"verb": "*", "resource": "*", "count": 20, "status": 429, "retryAfterSeconds": 1},
            {"verb": "get", "resource": "*", "count": 10, "delayMs": 1500},
            {"verb": "patch", "resource": "*", "count": 3, "drop": True}])
        kube_call(c, "POST", "/kubesim/faults", json.dumps(rule).encode())
        counts["faults"] += 1
        next_fault += 90
    if el >= next_sample:
        take_sample(el)
        next_sample += sample_s
    # drift: someone edits a managed ConfigMap by hand (selfHeal puts it back)
    if r % 10 == 0:
        c = random.choice(names)
        kube_call(c, "PATCH", "/api/v1/namespaces/soak/configmaps/soak-config",
                  json.dumps({"data": {"round": "hand-edit"}}).encode())
    time.sleep(5)
take_sample(time.monotonic() - t0)

# The end: clear the faults, one last commit with its webhook; every cluster converges to it.
for c in names: kube_call(c, "DELETE", "/kubesim/faults")
r += 1; write_round(r); git("add", "-A"); git("commit", "-qm", f"round {r} (last)")
last = git("rev-parse", "HEAD"); counts["commits"] += 1
body = json.dumps({"ref": "refs/heads/main", "after": last}).encode()
http("POST", "/api/v1/webhook/git", body, {"X-Hub-Signature-256": "sha256=" +
     hmac.new(SECRET, body, hashlib.sha256).hexdigest(), "Content-Type": "application/json"})
took = wait_converged(last, r, 300)
take_sample(time.monotonic() - t0)

if csv_path:
    with open(csv_path, "w") as f:
        f.write(",".join(rows[0]) + "\n")
        for row in rows: f.write(",".join(str(v) for v in row.values()) + "\n")
warm = rows[min(2, len(rows) - 1)]
end = rows[-1]
print(f"\nsoak: {minutes:g} min, {n} clusters, {counts['commits']} commits "
      f"({counts['webhooks']} with a webhook), {counts['agent_restarts']} agent restarts, "
      f"{counts['faults']} kubesim fault rules")
print("| when | hub RSS MiB | hub heap MiB | hub fds | hub threads | agent RSS MiB (max) | agent fds (max) | agent threads (max) |")
print("|---|---|---|---|---|---|---|---|")
for label, row in (("first sample", rows[0]), ("after warm-up", warm), ("end", end)):
    print(f"| {label} (min {row['minute']}) | {row['hub_rss_kb'] / 1024:.1f} | {row['hub_heap_kb'] / 1024:.1f} | "
          f"{row['hub_fds']} | {row['hub_threads']} | {row['agent_rss_kb_max'] / 1024:.1f} | "
          f"{row['agent_fds_max']} | {row['agent_threads_max']} |")
print(f"publish errors {metric('gitfleet_publish_errors_total')}, fetch errors "
      f"{metric('gitfleet_fetch_errors_total')}")
if took is None:
    st = revisions()
    behind = [c for c in names if st.get(c, {}).get("revision") != last]
    print(f"FAIL: the fleet did not converge to the last commit {last[:12]} in 300 s (behind: {behind})")
    sys.exit(1)
print(f"converged: every cluster applied the last commit {last[:12]} (round {r}) {took:.1f} s after it")
PY
