/* status.h -- the fleet as the API and the CLI see it: clusters, apps, history, metrics */
#ifndef HUB_STATUS_H
#define HUB_STATUS_H

#include "hub.h"
#include "selector.h"

#include <jansson.h>

/* An agent that asked nothing for this long is shown as not connected. */
#define HUB_CONNECTED_WINDOW_MS 60000

/*
 * {"clusters":[{"name","joined","connected","lastSeen","revision",
 *   "generation":{"desired","applied"},"health","message",
 *   "apps":[{"name","sync","health","revision","message", ...}]}]}
 * A stable shape (docs/api.md). Clusters are those defined in Git and those
 * the hub issued tokens for; apps are those Git targets at the cluster, plus
 * apps the agent still reports that left Git (their objects stay without
 * prune). With `cluster`, only that one (GF_ENOTFOUND if unknown).
 */
int hub_status_fleet(hub *h, const char *cluster, int detail, json_t **out);

/* What GET /api/v1/status selects (all members optional). */
struct hub_status_query {
    const char *cluster;          /* only this one (GF_ENOTFOUND if unknown) */
    int detail;                   /* apps' resources too */
    const hub_selector *selector; /* on the Cluster's labels in Git */
    const char *health;           /* the cluster's health: Healthy, Degraded, ... */
    const char *sync;             /* the cluster's sync: Synced, OutOfSync, Unknown */
    size_t limit;                 /* 0: all; else at most this many, and "continue" */
    const char *after;            /* a previous answer's "continue": names after it */
};

/*
 * hub_status_fleet() with filters and pages. Rows come sorted by name; with
 * `limit`, an answer that stops short carries "continue" (the last name
 * sent): asking again with it as `after` gives the next page, consistent
 * even while clusters come and go. Each row also has "sync", its apps'
 * sync in one word. Reports are read from memory (hub/reports.c): the cost
 * is building the JSON, not reading the store.
 */
int hub_status_query(hub *h, const struct hub_status_query *q, json_t **out);

/* hub_status_query()'s document as compact JSON text (malloc'd), made
 * mostly from each cluster's cached serialized row: the fleet list at
 * 10,000 clusters without building 10,000 JSON trees. */
int hub_status_query_text(hub *h, const struct hub_status_query *q, char **out);

/* Counts for dashboards, over the clusters the query selects (limit and
 * after ignored): {"revision", "clusters": {"total", "connected", "sync":
 * {Synced, OutOfSync, Unknown}, "health": {Healthy, ...}}, "apps": {"total",
 * "sync", "health"}, "problems", "error"}. */
int hub_status_summary(hub *h, const struct hub_status_query *q, json_t **out);

/* [{"name","joined","connected","lastSeen","inGit","labels"}] */
json_t *hub_status_clusters(hub *h);

/* The fleet's apps (hub_fleet_app_json), all or those of one cluster. */
json_t *hub_status_apps(hub *h, const char *cluster);

/* Prometheus text exposition, malloc'd. */
char *hub_status_metrics(hub *h);

#endif
