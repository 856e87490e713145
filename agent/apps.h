/* apps.h -- the apps of the enforced bundle: who syncs when, operations on a bounded pool, the
 * report */
#ifndef GF_AGENT_APPS_H
#define GF_AGENT_APPS_H

#include "apply.h"
#include "gitfleet.pb-c.h"
#include "kube.h"

#include <jansson.h>
#include <stdint.h>

/*
 * The run loop hands this module each verified bundle and each watch event;
 * it decides per app what to do (agent/appsync.h), runs the syncs on a pool
 * of `parallel` threads -- each app with its own waves, hooks and timeouts,
 * so one slow app never delays another -- and keeps the report: one entry
 * per app of the bundle, in the bundle's order, then apps that left it.
 * Apps that need no sync are only compared with the cluster (reads, no
 * writes), and report Synced or OutOfSync at the bundle's revision.
 *
 * Everything here runs on the run loop's thread except the syncs
 * themselves; `wake` is called (from a sync thread) when one made progress
 * or finished, so that the loop calls agent_apps_tick() soon.
 */
struct agent_apps_config {
    agent_kube *kube;                       /* borrowed; thread-safe */
    const struct agent_apply_config *apply; /* borrowed */
    const char *state_dir;                  /* apps.json, history.json, report.json */
    const char *cluster;
    int parallel; /* apps syncing at once (0: 4) */
    void (*wake)(void *arg);
    void *wake_arg;
};

struct agent_apps;

int agent_apps_new(struct agent_apps **out, const struct agent_apps_config *config);
/* Stop: running syncs are cancelled at their next step and waited for. */
void agent_apps_free(struct agent_apps *apps);

/* Take `bundle` (ownership passes) as the one to enforce: compare every
 * app, retire apps that left it, and start the syncs it calls for. */
void agent_apps_adopt(struct agent_apps *apps, Gitfleet__Bundle *bundle);

/* The bundle being enforced (borrowed), or NULL. */
const Gitfleet__Bundle *agent_apps_bundle(const struct agent_apps *apps);

/* A watch saw `live` (NULL: deleted) for an object: judge it, self-heal
 * the apps that allow it. */
void agent_apps_observe(struct agent_apps *apps, const char *group, const char *kind,
                        const char *namespace_, const char *name, const json_t *live);

/* After a batch of observations: heal the drift of selfHeal apps. */
void agent_apps_heal(struct agent_apps *apps);

/* Collect finished syncs and progress, start retries that are due and
 * syncs that were waiting; with `resync`, re-read every object first. */
void agent_apps_tick(struct agent_apps *apps, int resync);

/* The current report (borrowed; NULL before the first bundle) and whether
 * it changed since agent_apps_clear_dirty(). */
const json_t *agent_apps_report(const struct agent_apps *apps);
int agent_apps_dirty(const struct agent_apps *apps);
void agent_apps_clear_dirty(struct agent_apps *apps);

#endif
