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

#endif
