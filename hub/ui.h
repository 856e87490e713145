/* ui.h -- the dashboard (issue 14): its files compiled into the hub, and the compact views it reads
 */
#ifndef HUB_UI_H
#define HUB_UI_H

#include <jansson.h>
#include <stddef.h>

struct hub;
typedef struct hub_http_call hub_http_call;

/* One file of hub/ui/, embedded at build time (hub/ui/embed.cmake). */
struct hub_ui_asset {
    const char *name; /* "app.js" */
    const char *type; /* Content-Type */
    const char *etag; /* "\"<16 hex of its SHA-256>\"" */
    const unsigned char *data;
    size_t len;
};
extern const struct hub_ui_asset hub_ui_assets[];
extern const size_t hub_ui_assets_count;

/* Is `path` the dashboard's ("/", "/ui", "/ui/...")? Such paths carry no
 * fleet data, so they answer without a token; the page asks for one. */
int hub_ui_is_page(const char *path);

/* Answer a GET or HEAD of a dashboard path: /ui/assets/NAME is a file (304
 * when If-None-Match matches), any other page path is index.html, so every
 * view has a URL one can paste. */
void hub_ui_serve(hub_http_call *c);

/*
 * The fleet view's data, one small row per cluster (no apps):
 * {"revision","error","problems","clusters":[{"name","health","sync",
 *   "connected","joined","lastSeen","revision","message","labels",
 *   "apps","outOfSync","degraded"}]}. `sync` is the cluster's worst app sync
 * (OutOfSync > Unknown > Synced). With `names` ("a,b,c", at most 256), only
 * those clusters, and "removed": the names the hub no longer knows (the page
 * patches its rows with what an event named instead of reading them all).
 */
int hub_ui_fleet(struct hub *h, const char *names, json_t **out);

/* One app across the fleet: {"app","revision","clusters":[{"cluster",
 * "labels", "sync","health","revision","message","operation"}]};
 * GF_ENOTFOUND when no cluster has it. */
int hub_ui_app(struct hub *h, const char *app, json_t **out);

/* The rollouts view: {"nowMs", "rollouts":[...]}, the rollouts of
 * GET /api/v1/rollouts (active first, then the newest ended), each without
 * "targets" but with "targetCount", "targetStates" ({"Done":3,...}) and
 * "stepStates" (the same, for the targets of the current step) and
 * "stepBakeEndsMs" (when the last of its baking targets is done, 0 when
 * none bakes);
 * "nowMs" is the hub's clock, so the page's countdowns do not depend on the
 * browser's. */
int hub_ui_rollouts(struct hub *h, json_t **out);

/* One ApplicationSet's newest rollout, as GET /api/v1/rollouts/APPSET:
 * {"nowMs", "rollout":{...}}; GF_ENOTFOUND when it never had one. */
int hub_ui_rollout(struct hub *h, const char *appset, json_t **out);

#endif
