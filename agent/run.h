/* run.h -- the agent's main loop: fetch, verify, apply, cache, report, keep enforcing */
#ifndef AGENT_RUN_H
#define AGENT_RUN_H

#include "apply.h"
#include "gitfleet/wire.h"

#include <stdint.h>

struct agent_run_config {
    const char *state_dir;
    const char *kubeconfig; /* NULL with in_cluster */
    const char *context;
    int in_cluster;
    struct gf_wire_tls tls;          /* for tls+tcp:// hubs */
    int64_t poll_wait_ms;            /* how long the hub may hold a bundle request */
    int64_t resync_ms;               /* re-read the cluster and re-apply what drifted */
    int64_t report_ms;               /* report at least this often (heartbeat) */
    int parallel_syncs;              /* apps syncing at once (0: 4) */
    struct agent_apply_config apply; /* namespace, timeouts, safety valve (state_dir is set) */
};

/* Join a hub with a one-time token: creates the key, pins the hub key.
 * With `if_not_joined`, a state directory that already joined is left as it
 * is (for an init container that runs on every pod start). */
int agent_run_join(const char *state_dir, const char *hub_url, const char *token,
                   const struct gf_wire_tls *tls, int if_not_joined);

/* Liveness: 0 when the run loop touched its heartbeat within `max_age_ms`. */
int agent_run_probe(const char *state_dir, int64_t max_age_ms);

/* Run until SIGTERM/SIGINT. Returns 0 on a clean stop. */
int agent_run(const struct agent_run_config *config);

#endif
