#!/usr/bin/env bash
# fleet_render.sh -- time `gitfleet render --all` on a generated fleet: N clusters, A
# ApplicationSets over all clusters, each app 5 files of a Deployment and a ConfigMap.
# Usage: bench/fleet_render.sh [N=200] [A=10] [GITFLEET=build/bin/gitfleet]
set -euo pipefail
n=${1:-200}; apps=${2:-10}; bin=${3:-build/bin/gitfleet}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/clusters" "$dir/argocd" "$dir/apps"
for i in $(seq 1 "$n"); do
    env=$([ $((i % 3)) = 0 ] && echo prod || echo dev)
    printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata:\n  name: c%d\n  labels: {env: %s}\n' \
        "$i" "$env" >"$dir/clusters/c$i.yaml"
done
for a in $(seq 1 "$apps"); do
    mkdir -p "$dir/apps/app$a"
    for f in $(seq 1 5); do
        printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app%d-d%d}\nspec:\n  replicas: 2\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: app%d-cm%d}\ndata: {a: b}\n' \
            "$a" "$f" "$a" "$f" >"$dir/apps/app$a/f$f.yaml"
    done
    printf 'apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: app%d}\nspec:\n  generators: [{clusters: {}}]\n  template:\n    metadata: {name: "app%d-{{name}}"}\n    spec:\n      source: {repoURL: "", path: apps/app%d}\n      destination: {name: "{{name}}", namespace: "{{metadata.labels.env}}"}\n' \
        "$a" "$a" "$a" >"$dir/argocd/app$a.yaml"
done
(cd "$dir" && git -c init.defaultBranch=main init -q . && git add -A &&
    git -c user.name=b -c user.email=b@b commit -qm fleet)
/usr/bin/time -f "render --all: %e s, %M KB peak" "$bin" render --repo "$dir" --all -o json >"$dir/out.json"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(len(r['clusters']), 'clusters,', sum(len(a['resources']) for c in r['clusters'] for a in c['apps']), 'resources, cache', r['renderCache'])" "$dir/out.json"
