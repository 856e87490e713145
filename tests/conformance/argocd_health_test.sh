#!/usr/bin/env bash
# argocd_health_test.sh -- Argo CD's own Lua health scripts, unchanged, on their own test data:
# every resource_customizations/<group>/<kind>/health_test.yaml case through `gitfleet health
# --customizations DIR`. Needs a checkout of Argo CD's resource_customizations directory in
# $GF_ARGOCD_CUSTOMIZATIONS (nothing of Argo CD is copied into this repository); skips without.
# Argo CD's tests call the script directly; its controller first answers "Pending deletion"
# for an object being deleted, and so does gitfleet: such cases must give that instead.
set -euo pipefail
gf=${GF_BIN_DIR:?}/gitfleet
dir=${GF_ARGOCD_CUSTOMIZATIONS:-}
[ -n "$dir" ] && [ -d "$dir" ] || { echo "SKIP: set GF_ARGOCD_CUSTOMIZATIONS to Argo CD's resource_customizations"; exit 77; }
python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml is needed"; exit 77; }
python3 - "$dir" "$gf" <<'EOF'
import json, os, subprocess, sys, yaml
root, gf = sys.argv[1], sys.argv[2]
cases = []
for dirpath, _, files in sorted(os.walk(root)):
    if "health_test.yaml" in files:
        for t in (yaml.safe_load(open(os.path.join(dirpath, "health_test.yaml"))) or {}).get("tests") or []:
            if "inputPath" in t:
                cases.append((os.path.join(dirpath, t["inputPath"]), t.get("healthStatus") or {}))
ok, fails, deleting = 0, [], 0
for path, want in cases:
    r = subprocess.run([gf, "health", "-f", path, "--customizations", root, "-o", "json"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fails.append("%s: exit %d: %s" % (path, r.returncode, r.stderr.strip()[:200]))
        continue
    got = (json.loads(r.stdout)["resources"] or [{}])[0]
    obj = next((d for d in yaml.safe_load_all(open(path)) if d), {})
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        deleting += 1
        want = {"status": "Progressing", "message": "Pending deletion"}
    if got.get("status") == want.get("status") and (not want.get("message") or got.get("message") == want.get("message")):
        ok += 1
    else:
        fails.append("%s: got %r %r, want %r %r" % (os.path.relpath(path, root), got.get("status"),
                     got.get("message"), want.get("status"), want.get("message")))
print("argocd health scripts: %d/%d cases as Argo CD's controller answers them (%d objects being deleted)" % (ok, len(cases), deleting))
for f in fails:
    print("FAIL", f)
sys.exit(1 if fails or not cases else 0)
EOF
