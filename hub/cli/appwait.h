/* appwait.h -- waiting for apps to reach a state (gitfleet wait, sync --wait, rollback --wait) */
#ifndef GF_CLI_APPWAIT_H
#define GF_CLI_APPWAIT_H

#include "hubapi.h"

#include <jansson.h>
#include <stdint.h>

/* What to wait for; none set: all three, as `argocd app wait`. */
struct gf_cli_wait {
    const char *app;     /* NULL: every app (--all) */
    const char *cluster; /* NULL: every cluster */
    int sync, health, operation;
    const json_t *ids;  /* operation ids that must have finished (may be NULL) */
    int64_t timeout_ms; /* 0: no limit */
    int quiet;          /* print nothing but errors */
};

/* Exit codes of a wait, as `argocd app wait` and timeout(1). */
enum { GF_CLI_WAIT_REACHED = 0, GF_CLI_WAIT_FAILED = 1, GF_CLI_WAIT_TIMEOUT = 124 };

/*
 * Poll the hub once a second until every (cluster, app) selected is Synced
 * (and its cluster has applied the newest generation), Healthy, and has no
 * operation running or requested -- as asked -- and every id in `ids` is
 * finished. GF_CLI_WAIT_FAILED as soon as one is Degraded (health), or an
 * operation failed (operation, ids); GF_CLI_WAIT_TIMEOUT when time is up.
 * Prints the final rows as a table. *rows_out (may be NULL) receives the
 * last app rows seen (with "cluster"), for printing operation results.
 */
int gf_cli_wait_apps(struct gf_cli_hubapi *api, const struct gf_cli_wait *w, json_t **rows_out);

/* Parse --timeout's duration ("30s", "5m", "1h30m"); -1 when malformed. */
int64_t gf_cli_wait_timeout(const char *text);

/* Print an operation's per-resource results (a dry run's plan) of one
 * cluster: ACTION, OBJECT, PHASE, WAVE, STATUS, MESSAGE. */
void gf_cli_print_results(const char *cluster, const json_t *state);

#endif
