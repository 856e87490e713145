#!/usr/bin/env bash
# publish_failure_test.sh -- a bundle that cannot be stored is never hidden (issue 13): with the
# hub's data directory on a full filesystem (a real 16 MiB tmpfs, filled up), `gitfleet sync`
# fails, status says why, gitfleet_publish_errors_total counts it, `cluster add` leaves no half
# row; once space returns the hub publishes again by itself (no forced sync).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: mounting a tmpfs needs root"; exit 77; }
mkdir -p "$T/hub"
mount -t tmpfs -o size=16m gftest "$T/hub" 2>/dev/null || { echo "SKIP: cannot mount a tmpfs"; exit 77; }
trap 'rc=$?; stop hub; umount -l "$T/hub" 2>/dev/null; (exit $rc); cleanup' EXIT

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd" "$T/repo/apps/web"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: dev-1}\n' >"$T/repo/clusters/dev-1.yaml"
cat >"$T/repo/argocd/web.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  source: {repoURL: '.', path: apps/web}
  destination: {name: dev-1, namespace: web}
  syncPolicy: {automated: {}}
Y
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: small}\ndata: {color: blue}\n' \
  >"$T/repo/apps/web/small.yaml"
commit "web on dev-1"
start_hub --anonymous-read

desired() { gitfleet status -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clusters"][0]["generation"]["desired"])'; }
status_error() { gitfleet status -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["error"])'; }
desired_is() { [ "$(desired)" = "$1" ]; }
no_error() { [ -z "$(status_error)" ]; }
metric() { curl -sf "$GITFLEET_HUB/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
wait_for 20 desired_is 1 || fail "generation 1 was never published"

# Fill the filesystem, then commit something that needs room in the store.
dd if=/dev/zero of="$T/hub/filler" bs=64k 2>/dev/null || true
python3 - "$T/repo/apps/web/big.yaml" <<'PY'
import sys
lines = "\n".join("  k%04d: %s" % (i, "x" * 500) for i in range(1200))
open(sys.argv[1], "w").write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n" + lines + "\n")
PY
commit "a big ConfigMap"
if gitfleet sync >"$T/sync.out" 2>&1; then
  fail "gitfleet sync exited 0 although the bundle was not stored: $(cat "$T/sync.out")"
fi
grep -q "not published" "$T/sync.out" || fail "gitfleet sync does not say why: $(cat "$T/sync.out")"
pass "gitfleet sync fails: $(tail -n 1 "$T/sync.out")"
status_error | grep -q "not published" || fail "status has no error: '$(status_error)'"
[ "$(desired)" = 1 ] || fail "desired generation moved to $(desired) without being stored"
pass "status says so: $(status_error | cut -c1-120)"
n=$(metric gitfleet_publish_errors_total)
[ -n "$n" ] && [ "$n" -gt 0 ] || fail "gitfleet_publish_errors_total is '$n'"
pass "gitfleet_publish_errors_total $n"

# cluster add on the full disk: a whole row with its token, or nothing.
if gitfleet cluster add new-1 >"$T/add.out" 2>&1; then
  pass "cluster add fit in the store's free pages: $(tail -n 1 "$T/add.out" | cut -c1-12)..."
else
  [[ "$(gitfleet status -o json)" == *'"new-1"'* ]] && fail "cluster add failed but left a row for new-1"
  pass "cluster add on a full disk fails and leaves no row: $(tail -n 1 "$T/add.out")"
fi

# Space returns: the hub retries on its own (poll interval is 1h here; the retry may already
# have fit in the space the failed transaction gave back).
rm -f "$T/hub/filler"
wait_for 40 desired_is 2 || fail "the bundle was not republished (desired $(desired))"
wait_for 10 no_error || fail "status still has an error: $(status_error)"
pass "republished by itself, without a forced sync (generation 2), error cleared"
gitfleet sync >/dev/null || fail "gitfleet sync fails after recovery"
echo "PASS"
