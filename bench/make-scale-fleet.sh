#!/usr/bin/env bash
# make-scale-fleet.sh -- a fleet repository as issue 12 measures it: N Cluster files, one
# kustomize overlay per cluster over a shared base, one ApplicationSet with a clusters
# generator (one app per cluster). Committed on branch main.
# Usage: bench/make-scale-fleet.sh OUTDIR N
set -euo pipefail
out=${1:?OUTDIR}; n=${2:?N}
rm -rf "$out"; mkdir -p "$out/clusters" "$out/argocd" "$out/apps/web/base"
cat >"$out/apps/web/base/deploy.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-cfg}
data: {mode: base}
Y
printf 'resources: [deploy.yaml]\n' >"$out/apps/web/base/kustomization.yaml"
python3 - "$out" "$n" <<'P'
import os, sys
out, n = sys.argv[1], int(sys.argv[2])
for i in range(1, n + 1):
    env = "prod" if i % 3 == 0 else "dev"
    with open(f"{out}/clusters/c{i}.yaml", "w") as f:
        f.write(f"apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata:\n  name: c{i}\n"
                f"  labels: {{env: {env}, shard: s{i % 10}}}\n")
    d = f"{out}/apps/web/overlays/c{i}"
    os.makedirs(d)
    with open(f"{d}/kustomization.yaml", "w") as f:
        f.write(f"resources: [../../base]\nnamespace: web\nlabels: [{{pairs: {{cluster: c{i}}}}}]\n"
                f"configMapGenerator: [{{name: web-env, literals: [CLUSTER=c{i}]}}]\n")
P
cat >"$out/argocd/web.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: web}
spec:
  generators: [{clusters: {}}]
  template:
    metadata: {name: 'web'}
    spec:
      project: default
      source: {repoURL: '', targetRevision: main, path: 'apps/web/overlays/{{name}}'}
      destination: {name: '{{name}}', namespace: web}
      syncPolicy: {automated: {prune: true, selfHeal: true}}
Y
(cd "$out" && git -c init.defaultBranch=main init -q . && git add -A &&
    git -c user.name=bench -c user.email=bench@localhost commit -qm fleet)
