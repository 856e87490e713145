#!/usr/bin/env bash
# fetch_errors_test.sh -- a repository that is gone is a failure a user sees (issue 13):
# gitfleet_fetch_errors_total counts it, status carries the error, `gitfleet sync` exits 1; the
# hub keeps serving the last commit and recovers when the repository is back.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"

make_repo
mkdir -p "$T/repo/clusters"
printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata: {name: dev-1}\n' >"$T/repo/clusters/dev-1.yaml"
commit "one cluster"
start_hub --anonymous-read
metric() { curl -sf "$GITFLEET_HUB/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
status_error() { gitfleet status -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["error"])'; }
gitfleet sync >/dev/null || fail "first sync"
[ "$(metric gitfleet_fetch_errors_total)" = 0 ] || fail "fetch errors before any failure"

mv "$T/repo" "$T/repo-away"
if gitfleet sync >"$T/sync.out" 2>&1; then fail "gitfleet sync exited 0 with the repository gone"; fi
grep -q "fetch failed" "$T/sync.out" || fail "sync does not say the fetch failed: $(cat "$T/sync.out")"
n=$(metric gitfleet_fetch_errors_total)
[ "$n" -ge 1 ] || fail "gitfleet_fetch_errors_total is $n with the repository gone"
status_error | grep -q "fetch failed" || fail "status has no error: $(status_error)"
pass "repository gone: sync exits 1, status says '$(status_error | cut -c1-90)', fetch errors $n"

mv "$T/repo-away" "$T/repo"
gitfleet sync >/dev/null || fail "sync after the repository came back: $(gitfleet sync 2>&1)"
[ -z "$(status_error)" ] || fail "status error stays: $(status_error)"
pass "repository back: sync succeeds, error cleared"
echo PASS
