#!/usr/bin/env bash
# rollout_test.sh -- progressive rollouts against five kubesims: steps in order within maxUpdate
# (seen in the clusters), a broken image halted at step 1 and rolled back there while later
# steps never see it, pause/resume/promote/abort, a hub restart mid-rollout going on at the
# same step, and a newer commit superseding a rollout.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/fleet.sh"
command -v kubectl >/dev/null || { echo "SKIP: kubectl is not installed"; exit 77; }

CLUSTERS="c1 c2 c3 c4 c5"
ring() { case $1 in c1) echo canary ;; c2|c3) echo early ;; *) echo late ;; esac; }

# appset [ANNOTATIONS...]: the ApplicationSet, its gates given as annotation lines.
appset() {
  {
    printf 'apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: web\n'
    printf '  annotations:\n    gitfleet.io/rollout-progress-deadline: "40s"\n'
    for a in "$@"; do printf '    %s\n' "$a"; done
    cat <<'Y'
spec:
  generators:
    - clusters: {}
  template:
    metadata:
      name: 'web-{{name}}'
      labels: {ring: '{{metadata.labels.ring}}'}
    spec:
      source: {repoURL: '.', path: apps/web}
      destination: {name: '{{name}}', namespace: web}
      syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}
  strategy:
    type: RollingSync
    rollingSync:
      steps:
        - matchExpressions: [{key: ring, operator: In, values: [canary]}]
        - matchExpressions: [{key: ring, operator: In, values: [early]}]
          maxUpdate: 1
        - matchExpressions: [{key: ring, operator: In, values: [late]}]
Y
  } > "$T/repo/argocd/web.yaml"
}
image() { # image TAG: the app's Deployment runs example/web:TAG
  mkdir -p "$T/repo/apps/web"
  cat > "$T/repo/apps/web/deploy.yaml" <<Y
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: main, image: "example/web:$1"}]}
Y
}
image_of() { obj_field "$1" deploy web web '{.spec.template.spec.containers[0].image}'; }
runs() { [ "$(image_of "$1")" = "example/web:$2" ]; }
rollout_field() { # rollout_field FIELD: of `gitfleet rollout status web -o json`
  gitfleet rollout status web -o json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"
}
phase_is() { [ "$(rollout_field phase)" = "$1" ]; }
revision_is() { [ "$(rollout_field revision)" = "$1" ]; }
step_is() { [ "$(rollout_field step)" = "$1" ]; }
head_rev() { git -C "$T/repo" rev-parse HEAD; }
push() { commit "$1" && gitfleet sync >/dev/null; }

# Record, per cluster, when it first ran TAG (ms), until all do or SECONDS pass.
watch_arrivals() { # watch_arrivals TAG SECONDS
  local tag=$1 deadline=$(( $(date +%s) + $2 )) c
  declare -gA ARRIVED=()
  while [ "$(date +%s)" -lt "$deadline" ]; do
    for c in $CLUSTERS; do
      [ -n "${ARRIVED[$c]:-}" ] || ! runs "$c" "$tag" || ARRIVED[$c]=$(date +%s%N)
    done
    [ "${#ARRIVED[@]}" -eq 5 ] && return 0
    sleep 0.2
  done
  return 1
}
before() { [ "${ARRIVED[$1]}" -lt "${ARRIVED[$2]}" ]; }

make_repo
mkdir -p "$T/repo/clusters" "$T/repo/argocd"
for c in $CLUSTERS; do
  printf 'apiVersion: gitfleet.io/v1\nkind: Cluster\nmetadata:\n  name: %s\n  labels: {ring: %s}\n' \
    "$c" "$(ring "$c")" > "$T/repo/clusters/$c.yaml"
done
appset
image 1.0
commit "web 1.0, rolling out ring by ring"
for c in $CLUSTERS; do start_kubesim "$c"; done
start_hub
for c in $CLUSTERS; do join_agent "$c"; done

# 0. The first version reaches everyone, through the steps.
wait_for 90 phase_is Completed || fail "first rollout: $(gitfleet rollout status web)"
for c in $CLUSTERS; do runs "$c" 1.0 || fail "$c does not run 1.0"; done
pass "a new app rolls out step by step to every cluster"

# 1. A good change: canary first, then early one at a time (maxUpdate 1), then late.
image 2.0
push "web 2.0"
watch_arrivals 2.0 90 || fail "2.0 did not reach every cluster: $(gitfleet rollout status web)"
before c1 c2 && before c1 c3 || fail "step 2 before step 1"
before c2 c3 || fail "maxUpdate 1: c3 got 2.0 before c2 was done"
for late in c4 c5; do before c3 "$late" && before c2 "$late" || fail "step 3 before step 2"; done
wait_for 30 phase_is Completed || fail "rollout of 2.0 did not complete"
revision_is "$(head_rev)" || fail "the rollout names another revision"
pass "2.0 reached c1, then c2, then c3, then c4/c5 (kubesim saw it in that order)"

# 2. A broken image with the rollback policy: halted at step 1, c1 back on 2.0, nobody else saw it.
appset 'gitfleet.io/rollout-failure-policy: rollback'
image fail
push "web: a broken image"
wait_for 60 phase_is RolledBack || fail "broken image not rolled back: $(gitfleet rollout status web)"
wait_for 30 runs c1 2.0 || fail "c1 not back on 2.0: $(image_of c1)"
for c in c2 c3 c4 c5; do runs "$c" 2.0 || fail "$c saw the broken image: $(image_of "$c")"; done
held_said() { app_field c3 web-c3 message | grep -q "by the rollout of ApplicationSet web"; }
wait_for 10 held_said || fail "status does not say c3's app is held: $(app_field c3 web-c3 message)"
[ "$(app_field c3 web-c3 sync)" = OutOfSync ] || fail "a held app is $(app_field c3 web-c3 sync), not OutOfSync"
rollout_field message | grep -q 'step 1: 1 of 1 failed' || fail "message: $(rollout_field message)"
gitfleet rollout list | grep -q RolledBack || fail "rollout list does not show it"
curl -sf -H "Authorization: Bearer $(cat "$T/hub/admin.token")" "$GITFLEET_HUB/metrics" | grep -q 'gitfleet_rollouts_ended_total{phase="RolledBack"} 1' ||
  fail "no metric for the rollback"
pass "a Degraded canary stops the rollout at step 1 and rolls it back; later steps never saw it"

# 3. Operator control, with a long bake on step 1.
appset 'gitfleet.io/rollout-bake-time: "1h"'
image 3.0
push "web 3.0, baked for an hour"
wait_for 30 runs c1 3.0 || fail "3.0 did not reach the canary"
wait_for 20 sh -c "'$GF_BIN_DIR/gitfleet' rollout status web | grep -q Baking" || fail "canary not baking"
gitfleet rollout pause web | grep -q Paused || fail "pause"
phase_is Paused || fail "not Paused"
gitfleet rollout pause web 2>/dev/null && fail "pausing twice succeeded"
gitfleet rollout resume web | grep -q Progressing || fail "resume"
# 4. The hub restarts mid-rollout: it goes on at the same step.
stop hub
start_hub
step_is 1 || fail "after a restart the rollout is at step $(rollout_field step)"
phase_is Progressing || fail "after a restart: $(rollout_field phase)"
runs c2 2.0 || fail "a restart released step 2"
gitfleet rollout promote web >/dev/null || fail "promote"
wait_for 30 runs c2 3.0 || fail "promote did not end the canary's bake"
runs c3 2.0 || fail "maxUpdate 1: c3 released with c2"
gitfleet sync web-c3 --cluster c3 >/dev/null || fail "a sync by hand was refused"
wait_for 30 runs c3 3.0 || fail "a sync by hand did not release c3 from the rollout's hold"
pass "pause, resume, a hub restart at the same step, promote, a sync by hand"
# 5. A newer commit supersedes it, from step 1 again.
image 4.0
push "web 4.0 while 3.0 rolls out"
wait_for 20 revision_is "$(head_rev)" || fail "no rollout for the newer commit"
step_is 1 || fail "the newer rollout starts at step $(rollout_field step)"
gitfleet rollout list | grep -q Superseded || fail "the older rollout is not Superseded"
wait_for 30 runs c1 4.0 || fail "4.0 did not reach the canary"
runs c4 2.0 || fail "c4 left 2.0 before its step"
# 6. Abort holds back every released cluster at its old state (the admin's call only).
GITFLEET_TOKEN_FILE=/dev/null gitfleet rollout abort web 2>/dev/null && fail "abort without a token"
phase_is Progressing || fail "a refused abort changed the rollout"
gitfleet rollout abort web | grep -q Aborted || fail "abort"
wait_for 30 runs c1 3.0 || fail "abort did not take c1 back: $(image_of c1)"
runs c4 2.0 || fail "abort moved c4: $(image_of c4)"
pass "a newer commit supersedes from step 1; abort holds released clusters back"
