#!/usr/bin/env bash
# render_cli_test.sh -- `gitfleet render` and `gitfleet apps` (the real binary) on the example
# fleet committed to a real Git repository, read as a path, a file:// URL and through git daemon.
set -euo pipefail
bin="${GF_BIN_DIR:?}/gitfleet"
src="${GF_SOURCE_DIR:?}"
tmp=$(mktemp -d)
daemon_pid=
http_pid=
cleanup() {
    if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; fi
    if [ -n "$http_pid" ]; then kill "$http_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
g() { git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main "$@"; }
export GITFLEET_CACHE_DIR=$tmp/cache

# Every kustomization of the example is valid for the referee, kubectl kustomize.
if command -v kubectl >/dev/null; then
    while IFS= read -r k; do
        kubectl kustomize "$(dirname "$k")" >/dev/null 2>"$tmp/kerr" ||
            fail "kubectl kustomize $(dirname "$k"): $(cat "$tmp/kerr")"
    done < <(find "$src/deploy/examples/fleet" -name kustomization.yaml)
else
    echo "render_cli_test: kubectl not installed, example kustomizations not checked"
fi

# The example fleet as a repository whose origin is the URL its Applications name.
repo=$tmp/fleet
cp -r "$src/deploy/examples/fleet" "$repo"
(cd "$repo" && g init -q . && g add -A && g commit -qm one && g tag v1 &&
    g remote add origin https://github.com/example/fleet.git)

# A branch with one bad Application (missing path), one with unparseable YAML.
(cd "$repo" && g checkout -qb bad-path &&
    sed 's/name: payment-service$/name: lost/; s|path: apps/payment-service|path: apps/lost|' \
        argocd/applications/payment-service.yaml >argocd/applications/lost.yaml &&
    g add -A && g commit -qm lost && g checkout -q main)
(cd "$repo" && g checkout -qb bad-yaml && printf 'kind: [\n' >argocd/broken.yaml &&
    g add -A && g commit -qm broken && g checkout -q main)

# run EXPECTED_RC ARGS...: run gitfleet, keep stdout/stderr, check the exit code.
run() {
    local want=$1
    shift
    local rc=0
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" = "$want" ] || { cat "$tmp/err" >&2; fail "gitfleet $* exited $rc, expected $want"; }
}

# --- apps: who gets what and why
run 0 apps --repo "$repo"
grep -Eq '^prod-eu-1 +payment-service +default +payments +apps/payment-service +Application' "$tmp/out" ||
    fail "apps: payment-service on prod-eu-1"
grep -Eq '^prod-eu-1 +monitoring-prod-eu-1 +infrastructure +monitoring ' "$tmp/out" ||
    fail "apps: the project of monitoring-prod-eu-1"
grep -Eq '^dev-1 +order-service-dev-1 +default +orders +apps/order-service/overlays/development +ApplicationSet order-service: clusters generator, selector env In .*cluster labels env=development' "$tmp/out" ||
    fail "apps: order-service on dev-1 with its generator and labels"
[ "$(grep -c . "$tmp/out")" = 11 ] || fail "apps: expected 10 apps and a header"
run 0 apps --repo "$repo" --cluster staging-1 -o json
python3 - "$tmp/out" <<'EOF' || fail "apps -o json"
import json, sys
apps = json.load(open(sys.argv[1]))
assert sorted(a["name"] for a in apps) == ["ingress-staging-1", "monitoring-staging-1", "order-service-staging-1"], apps
assert all(a["cluster"] == "staging-1" and "error" not in a for a in apps)
assert any("matrix of clusters generator" in a["origin"] for a in apps)
EOF

# --- render one plain app as YAML: tracking, namespace, kind order
run 0 render --repo "$repo" --cluster prod-eu-1 --app payment-service
out=$tmp/out
grep -q '^    gitfleet.io/tracking-id: payment-service:apps/Deployment:payments/payment-service$' "$out" ||
    fail "render: tracking annotation"
grep -q '^    gitfleet.io/app: payment-service$' "$out" || fail "render: app label"
[ "$(grep -c '^  namespace: payments$' "$out")" = 4 ] || fail "render: destination namespace on 4 objects"
kinds=$(grep '^kind: ' "$out" | tr '\n' ' ')
[ "$kinds" = "kind: ServiceAccount kind: ConfigMap kind: Service kind: Deployment " ] ||
    fail "render: apply order, got $kinds"
cp "$out" "$tmp/payment.yaml"

# the same through JSON, with the app's sync policy
run 0 render --repo "$repo" --cluster prod-eu-1 --app payment-service -o json
python3 - "$tmp/out" <<'EOF' || fail "render -o json"
import json, sys
b = json.load(open(sys.argv[1]))
assert b["cluster"] == "prod-eu-1" and len(b["revision"]) == 40
(app,) = b["apps"]
p = app["syncPolicy"]
assert p["automated"] and p["prune"] and p["selfHeal"] and p["syncOptions"] == ["CreateNamespace=true"]
assert p["retry"] == {"limit": 5, "backoffDurationMs": 5000, "backoffFactor": 2, "backoffMaxDurationMs": 180000}
assert [r["id"]["kind"] for r in app["resources"]] == ["ServiceAccount", "ConfigMap", "Service", "Deployment"]
assert app["resources"][3]["id"] == {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "payments", "name": "payment-service"}
EOF

# --- the whole cluster: infrastructure waves first, kustomize overlays natively
run 0 render --repo "$repo" --cluster prod-eu-1
head -n 12 "$tmp/out" | grep -q '^kind: Namespace$' || fail "render: wave -1 Namespaces first"
grep -q 'gitfleet.io/app: monitoring-prod-eu-1' "$tmp/out" || fail "render: monitoring app"
grep -q 'name: order-service-config-' "$tmp/out" || fail "render: order-service overlay"

# An overlay renders as kubectl kustomize prints it, plus gitfleet's tracking.
if command -v kubectl >/dev/null; then
    for pair in production:prod-eu-1 staging:staging-1 development:dev-1; do
        env=${pair%%:*} cluster=${pair#*:}
        run 0 render --repo "$repo" --cluster "$cluster" --app "order-service-$cluster"
        grep -q "gitfleet.io/tracking-id: order-service-$cluster:apps/Deployment:orders/order-service" \
            "$tmp/out" || fail "render: tracking on the $env overlay"
        grep -v -e 'gitfleet.io/tracking-id' -e 'gitfleet.io/app' -e '^  annotations:$' "$tmp/out" \
            >"$tmp/ours.yaml"
        kubectl kustomize "$repo/apps/order-service/overlays/$env" >"$tmp/kubectl.yaml"
        cmp -s "$tmp/ours.yaml" "$tmp/kubectl.yaml" ||
            fail "render of the $env overlay differs from kubectl kustomize: $(diff "$tmp/ours.yaml" "$tmp/kubectl.yaml" | head)"
    done
fi

# --- every cluster, with the render cache shared between them
run 0 render --repo "$repo" --all -o json
python3 - "$tmp/out" <<'EOF' || fail "render --all"
import json, sys
r = json.load(open(sys.argv[1]))
assert [c["cluster"] for c in r["clusters"]] == ["dev-1", "prod-eu-1", "staging-1"]
# monitoring and ingress are the same input on three clusters: rendered once each;
# the three order-service overlays and payment-service once each
assert r["renderCache"] == {"hits": 4, "misses": 6}, r["renderCache"]
assert all("error" not in a for c in r["clusters"] for a in c["apps"])
EOF

# --- errors: one line, exit 1 (usage: exit 2)
run 1 render --repo "$repo" --cluster mars
grep -qx "gitfleet: no cluster named 'mars' in $repo (clusters: dev-1, prod-eu-1, staging-1)" "$tmp/err" ||
    fail "unknown cluster message: $(cat "$tmp/err")"
run 1 render --repo "$repo" --cluster prod-eu-1 --revision bad-path --app lost
grep -q "app lost: spec.source.path: 'apps/lost' does not exist" "$tmp/err" || fail "missing path"
[ "$(wc -l <"$tmp/err")" = 1 ] || fail "missing path: one line"
run 1 render --repo "$repo" --cluster dev-1 --revision bad-yaml
grep -q '^gitfleet: argocd/broken.yaml:' "$tmp/err" || fail "invalid YAML: $(cat "$tmp/err")"
run 1 render --repo "$repo" --cluster dev-1 --revision no-such-branch
grep -q "revision 'no-such-branch' not found" "$tmp/err" || fail "unknown revision"
run 1 render --repo "$tmp/nowhere" --cluster dev-1
run 1 apps --repo "$repo" --cluster mars
run 2 render --repo "$repo"
run 2 render --repo "$repo" --all
run 2 render --repo "$repo" --cluster dev-1 -o xml
run 0 render --repo "$repo" --cluster dev-1 --revision v1 --app monitoring-dev-1

# --- the same repository as a file:// URL (a bare clone in the cache) ...
run 0 render --repo "file://$repo" --repo-url https://github.com/example/fleet.git \
    --cluster prod-eu-1 --app payment-service
cmp -s "$tmp/out" "$tmp/payment.yaml" || fail "file:// render differs from the local one"
[ "$(ls "$GITFLEET_CACHE_DIR")" != "" ] || fail "file:// clone is not in the cache"

# ... and through git daemon on loopback
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
git daemon --reuseaddr --base-path="$tmp" --export-all --listen=127.0.0.1 --port="$port" "$tmp" \
    >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 50); do
    git ls-remote "git://127.0.0.1:$port/fleet" >/dev/null 2>&1 && break
    sleep 0.1
done
run 0 render --repo "git://127.0.0.1:$port/fleet" --repo-url https://github.com/example/fleet.git \
    --cluster prod-eu-1 --app payment-service
cmp -s "$tmp/out" "$tmp/payment.yaml" || fail "git:// render differs from the local one"

# ... and over smart HTTP (git http-backend as a CGI under Python's server)
http_test() {
    chmod 755 "$tmp" # the CGI may run as nobody
    mkdir -p "$tmp/http/cgi-bin"
    cat >"$tmp/http/cgi-bin/git" <<EOF
#!/bin/sh
export GIT_PROJECT_ROOT=$tmp GIT_HTTP_EXPORT_ALL=1
# run as root, Python's CGI handler drops to nobody: the repository is then "dubious"
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0="*"
exec /usr/lib/git-core/git-http-backend
EOF
    chmod +x "$tmp/http/cgi-bin/git"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    (cd "$tmp/http" && exec python3 -m http.server --cgi --bind 127.0.0.1 "$port" >"$tmp/http.log" 2>&1) &
    http_pid=$!
    for _ in $(seq 50); do
        git ls-remote "http://127.0.0.1:$port/cgi-bin/git/fleet" >/dev/null 2>&1 && break
        sleep 0.1
    done
    run 0 render --repo "http://127.0.0.1:$port/cgi-bin/git/fleet" \
        --repo-url https://github.com/example/fleet.git --cluster prod-eu-1 --app payment-service
    cmp -s "$tmp/out" "$tmp/payment.yaml" || fail "http:// render differs from the local one"
}
if python3 -c 'import http.server; http.server.CGIHTTPRequestHandler' 2>/dev/null; then
    http_test
else
    echo "render_cli_test: http:// part skipped: this Python has no CGI handler"
fi
echo "render_cli_test: ok"
