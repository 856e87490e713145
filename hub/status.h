/* status.h -- the fleet as the API and the CLI see it: clusters, apps, history, metrics */
#ifndef HUB_STATUS_H
#define HUB_STATUS_H

#include "hub.h"

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

/* [{"name","joined","connected","lastSeen","inGit","labels"}] */
json_t *hub_status_clusters(hub *h);

/* The fleet's apps (hub_fleet_app_json), all or those of one cluster. */
json_t *hub_status_apps(hub *h, const char *cluster);

/* Prometheus text exposition, malloc'd. */
char *hub_status_metrics(hub *h);

#endif
