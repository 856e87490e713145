#!/usr/bin/env bash
# app_sync.sh -- 20 apps on one cluster, a commit that touches one of them: how long until the
# change is in the cluster and the app's sync is done, and how many API writes the agent made.
# Not a test: prints a table.
# Usage: bench/app_sync.sh [--build DIR (default build)] [--apps 20] [--rounds 5]
#                          [--compare-build DIR]   (a build of another agent, e.g. the one before
#                                                   issue 10, run the same way for comparison)
# Build first without sanitizers: ./scripts/build.sh build
#
# One kubesim, one hub (--poll-interval 1h; each round commits and runs `gitfleet sync`), one
# agent with default flags (--wave-delay 2s, as Argo CD). Each app a01..aNN: a PreSync hook
# ConfigMap and four ConfigMaps in sync waves 0..3 (so a whole sync of one app takes three wave
# delays, ~6 s). Each round changes a01's wave-0 ConfigMap only.
# "applied" = the first GET of that ConfigMap (every 10 ms) showing the new value; "done" = the
# first status poll where every app reports the new commit and none is Running. "writes" = the
# API writes (PATCH, POST, PUT, DELETE) the kubesim saw during the round, counted by kubesim
# itself (a 1 ms delay rule per verb whose remaining count goes down at each match), so the
# number does not depend on the agent telling the truth. Results: docs/benchmarks.md.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
compare=""
apps=20
rounds=5
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift ;;
    --compare-build) compare=$2; shift ;;
    --apps) apps=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    *) echo "usage: $0 [--build DIR] [--compare-build DIR] [--apps N] [--rounds N]" >&2; exit 2 ;;
    esac
    shift
done
for p in gitfleet-hub gitfleet-agent gitfleet kubesim; do
    [ -x "$build/bin/$p" ] || { echo "build first: ./scripts/build.sh $build" >&2; exit 1; }
done
[ -z "$compare" ] || [ -x "$compare/bin/gitfleet-agent" ] || { echo "no agent in $compare/bin" >&2; exit 1; }

tmp=$(mktemp -d /tmp/gfapps.XXXXXX)
pids=()
stop_all() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
}
trap 'stop_all; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

make_repo() { # make_repo DIR
    local d=$1 a w
    mkdir -p "$d/clusters" "$d/argocd"
    git -C "$d" init -q -b main
    git -C "$d" config user.email bench@example.com
    git -C "$d" config user.name bench
    printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: c1}\n' >"$d/clusters/c1.yaml"
    for a in $(seq -f a%02g 1 "$apps"); do
        mkdir -p "$d/apps/$a"
        printf 'apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: %s}\nspec:\n  source: {repoURL: ".", path: apps/%s}\n  destination: {name: c1, namespace: %s}\n  syncPolicy: {automated: {prune: true, selfHeal: true}, syncOptions: [CreateNamespace=true]}\n' \
            "$a" "$a" "$a" >"$d/argocd/$a.yaml"
        printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: pre, annotations: {argocd.argoproj.io/hook: PreSync}}\ndata: {k: v}\n' \
            >"$d/apps/$a/pre.yaml"
        for w in 0 1 2 3; do
            printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: w%s, annotations: {argocd.argoproj.io/sync-wave: "%s"}}\ndata: {round: "0"}\n' \
                "$w" "$w" >"$d/apps/$a/w$w.yaml"
        done
    done
    git -C "$d" add -A && git -C "$d" commit -qm "bench fleet"
}

run_agent() { # run_agent LABEL BINDIR
    local label=$1 agent_bin=$2 d=$tmp/$1 port api token
    mkdir -p "$d"
    make_repo "$d/repo"
    "$build/bin/kubesim" --listen 127.0.0.1:0 --token bench --kubeconfig-out "$d/kubeconfig" \
        >"$d/kubesim.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$d/kubeconfig" ] && break; sleep 0.1; done
    port=$(free_port); api=$(free_port)
    "$build/bin/gitfleet-hub" --repo "$d/repo" --data-dir "$d/hub" --listen "tcp://127.0.0.1:$port" \
        --api-listen "http://127.0.0.1:$api" --poll-interval 1h --log-level warn >"$d/hub.log" 2>&1 &
    pids+=($!)
    export GITFLEET_HUB="http://127.0.0.1:$api" GITFLEET_TOKEN_FILE="$d/hub/admin.token"
    for _ in $(seq 100); do curl -sf "$GITFLEET_HUB/healthz" >/dev/null && break; sleep 0.1; done
    token=$("$build/bin/gitfleet" cluster add c1 | tail -n 1)
    "$agent_bin/gitfleet-agent" join --hub "tcp://127.0.0.1:$port" --token "$token" \
        --state-dir "$d/agent" >"$d/join.log" 2>&1
    "$agent_bin/gitfleet-agent" run --state-dir "$d/agent" --kubeconfig "$d/kubeconfig" \
        >"$d/agent.log" 2>&1 &
    pids+=($!)
    python3 - "$d" "$apps" "$rounds" "$label" "$build/bin/gitfleet" <<'PY' >>"$tmp/results"
import http.client, json, subprocess, sys, time, yaml
d, n, rounds, label, cli = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
kc = yaml.safe_load(open(d + "/kubeconfig"))
host, port = kc["clusters"][0]["cluster"]["server"].split("//")[1].split(":")
auth = {"Authorization": "Bearer " + kc["users"][0]["user"]["token"]}
kube = http.client.HTTPConnection(host, int(port), timeout=10)

def kreq(method, path, body=None):
    kube.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers=dict(auth, **({"Content-Type": "application/json"} if body else {})))
    r = kube.getresponse()
    return r.status, r.read()

VERBS = ["patch", "create", "update", "delete"]
BIG = 10 ** 9
def arm():
    kreq("DELETE", "/kubesim/faults")
    for v in VERBS:
        s, b = kreq("POST", "/kubesim/faults", {"verb": v, "count": BIG, "delayMs": 1})
        if s >= 300:
            raise SystemExit(f"cannot arm the write counter: {s} {b[:200]}")
def writes():
    s, b = kreq("GET", "/kubesim/faults")
    return sum(BIG - r["remaining"] for r in json.loads(b)["faults"])

def value():
    s, b = kreq("GET", "/api/v1/namespaces/a01/configmaps/w0")
    return json.loads(b).get("data", {}).get("round") if s == 200 else None

def apps_state():
    out = subprocess.run([cli, "status", "c1", "-o", "json"], capture_output=True, text=True)
    if out.returncode != 0:
        return []
    return json.loads(out.stdout)["clusters"][0]["apps"]

def head():
    return subprocess.run(["git", "-C", d + "/repo", "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()

def settled(rev):
    a = apps_state()
    return len(a) == n and all(x.get("revision") == rev and x.get("operation") != "Running" and
                               x.get("sync") == "Synced" for x in a)

t0 = time.monotonic()
while not settled(head()):
    if time.monotonic() - t0 > 300:
        raise SystemExit(f"{label}: the first sync did not settle")
    time.sleep(0.5)
print(f"{label}: first sync of {n} apps settled in {time.monotonic() - t0:.1f} s", file=sys.stderr)
time.sleep(3)  # watches and heartbeats settle
for r in range(1, rounds + 1):
    arm()
    path = d + "/repo/apps/a01/w0.yaml"
    text = open(path).read()
    open(path, "w").write(text.replace(f'round: "{r - 1}"', f'round: "{r}"'))
    subprocess.run(["git", "-C", d + "/repo", "commit", "-qam", f"round {r}"], check=True)
    rev = head()
    t0 = time.monotonic()
    subprocess.run([cli, "sync"], check=True, capture_output=True)
    applied = done = None
    while done is None and time.monotonic() - t0 < 600:
        if applied is None and value() == str(r):
            applied = time.monotonic() - t0
        if applied is not None and settled(rev):
            done = time.monotonic() - t0
        time.sleep(0.01 if applied is None else 0.1)
    if done is None:
        raise SystemExit(f"{label}: round {r} did not settle")
    time.sleep(1)  # late writes (reports do not write; heals would)
    print(f"{label} {r} {applied * 1000:.0f} {done * 1000:.0f} {writes()}")
PY
    stop_all
}

: >"$tmp/results"
run_agent this "$build/bin"
[ -z "$compare" ] || run_agent compared "$compare/bin"
printf '%-9s %5s %11s %9s %7s\n' agent round applied_ms done_ms writes
while read -r label r a dn w; do printf '%-9s %5s %11s %9s %7s\n' "$label" "$r" "$a" "$dn" "$w"; done <"$tmp/results"
