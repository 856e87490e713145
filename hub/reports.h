/* reports.h -- each cluster's last report (parsed) and desired generation, kept in memory */
#ifndef HUB_REPORTS_H
#define HUB_REPORTS_H

#include "store.h"

#include <jansson.h>
#include <stdint.h>

/*
 * The status API reads every cluster's last report on every call; parsing
 * 10,000 of them from SQLite each time costs seconds. Here they stay parsed
 * in memory, and the store stays the durable copy: a cluster not seen since
 * the hub started is read from the store once, on first use. Reports are
 * immutable once put (readers share them by reference). Thread-safe.
 */
typedef struct hub_reports hub_reports;

int hub_reports_new(hub_reports **out, hub_store *store);
void hub_reports_free(hub_reports *reports);

/* The cluster's last report, a new reference, or NULL when it never reported. */
json_t *hub_reports_get(hub_reports *reports, const char *cluster);
/* Make `report` (a reference is taken) the cluster's last; the previous one
 * is returned (new reference, NULL if none), for the history's comparison. */
json_t *hub_reports_put(hub_reports *reports, const char *cluster, json_t *report);

/* The newest generation published for the cluster (0: none). */
uint64_t hub_reports_desired(hub_reports *reports, const char *cluster);
void hub_reports_set_desired(hub_reports *reports, const char *cluster, uint64_t generation);
/* Read the desired generation from the store again on next use. */
void hub_reports_forget_desired(hub_reports *reports, const char *cluster);

/*
 * The status row status.c made from a cluster's report, kept until the
 * report or the desired generation changes (either drops it) or what the
 * stamp sums up differs: building 10,000 rows per status call is most of
 * its cost. A row is immutable once put and shared by reference; `text` is
 * a JSON string holding its serialized form (status.c's business), or NULL.
 */
struct hub_row_stamp {
    const json_t *report; /* the report it was made from (identity only) */
    uint64_t desired;     /* and the desired generation */
    uint64_t pass;        /* the sync pass the row was made in (hub_view.seq) */
    uint64_t applied;     /* the cluster's applied generation */
    int joined;
    char revision[64]; /* the cluster's applied revision */
};

/* The row put under an equal stamp (new references), or 0 and NULLs. */
int hub_reports_row_get(hub_reports *reports, const char *cluster,
                        const struct hub_row_stamp *stamp, json_t **row, json_t **text);
/* Keep `row` and `text` (references are taken; `text` may be NULL), unless
 * the report or desired generation changed since the stamp was taken. */
void hub_reports_row_put(hub_reports *reports, const char *cluster,
                         const struct hub_row_stamp *stamp, json_t *row, json_t *text);

#endif
