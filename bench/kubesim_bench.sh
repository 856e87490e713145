#!/usr/bin/env bash
# kubesim_bench.sh -- GETs/s and server-side applies/s against kubesim, 1 and 100 clients.
# Usage: bench/kubesim_bench.sh [BUILD_DIR (default build)] [--tls] [--seconds N]
# Build first without sanitizers: ./scripts/build.sh build
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
tls=0
seconds=5
while [ $# -gt 0 ]; do
    case $1 in
    --tls) tls=1 ;;
    --seconds) seconds=$2; shift ;;
    *) build=$1 ;;
    esac
    shift
done
bin=$build/bin
[ -x "$bin/kubesim" ] && [ -x "$bin/kubesim-bench" ] || {
    echo "build first: ./scripts/build.sh $build" >&2
    exit 1
}

tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
args=(--listen 127.0.0.1:0 --token bench --kubeconfig-out "$tmp/kc" --controller-delay 1000)
curl_tls=()
if [ $tls = 1 ]; then
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$tmp/k" \
        -out "$tmp/c" -days 1 -subj /CN=kubesim -addext subjectAltName=IP:127.0.0.1 2>/dev/null
    args+=(--tls-cert "$tmp/c" --tls-key "$tmp/k")
    curl_tls=(-k)
fi
"$bin/kubesim" "${args[@]}" >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 50); do [ -s "$tmp/out" ] && break; sleep 0.1; done
url=$(sed -n 's/^kubesim: listening on //p' "$tmp/out")
c() { curl -sf "${curl_tls[@]}" -H "Authorization: Bearer bench" -H "Content-Type: application/json" "$@" >/dev/null; }
c -X POST "$url/api/v1/namespaces" -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bench"}}'
for i in $(seq 0 99); do
    c -X POST "$url/api/v1/namespaces/bench/configmaps" \
        -d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"bench-$i\"},\"data\":{\"k\":\"$i\"}}"
done
echo "kubesim $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?') on $(nproc) cores, tls=$tls, ${seconds}s per run"
for mode in get apply; do
    for clients in 1 100; do
        "$bin/kubesim-bench" --server "$url" --token bench --mode $mode --clients $clients \
            --seconds "$seconds" --objects 100
    done
done
