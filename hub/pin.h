/* pin.h -- a cluster's app held at a stored state instead of the rendered one (rollback, rollouts)
 */
#ifndef HUB_PIN_H
#define HUB_PIN_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

/*
 * A pin holds one app of one cluster at a state the hub stored
 * (hub/appstate.h, by content hash): publish puts that state in the
 * cluster's bundle in place of what Git renders, until the pin is released.
 * One pin per (cluster, app); holding again replaces it. Pins are durable
 * (table `pins` in the hub's database), so a restarted hub keeps holding.
 *
 * Who holds decides how it ends: a rollback pin suspends the app's automated
 * sync on the agent and is released by the next Git change of the app (its
 * rendered hash differs from `git_hash`) or by `gitfleet sync APP`; a
 * rollout's hold (issue 11) may keep auto-sync and wait for its controller.
 */
struct hub_pin {
    char cluster[HUB_STORE_NAME_MAX];
    char app[256];
    char holder[32];       /* "rollback", "rollout", ... */
    char hash[65];         /* the held state (hub_appstate content hash) */
    uint64_t generation;   /* the generation that state was synced at */
    char revision[64];     /* the commit it was rendered at */
    char git_hash[65];     /* Git's state of the app when the pin was made */
    int suspend_auto_sync; /* App.auto_sync_suspended while held */
    int release_on_change; /* release when Git's state differs from git_hash */
    int64_t created_ms;
};

/* Create the table (once, at hub start). */
int hub_pin_init(hub_store *store);

/* Hold `pin->app` of `pin->cluster` at `pin->hash`, replacing any pin. */
int hub_pin_hold(hub_store *store, const struct hub_pin *pin);

/* Release the pin of (cluster, app) if `holder` (NULL: any) holds it.
 * *released_out (may be NULL): 1 when a pin went. 0 even when none. */
int hub_pin_release(hub_store *store, const char *cluster, const char *app, const char *holder,
                    int *released_out);

/* The pin of (cluster, app); GF_ENOTFOUND when none. */
int hub_pin_lookup(hub_store *store, const char *cluster, const char *app, struct hub_pin *out);

/* Every pin of `cluster` (NULL: of every cluster), by cluster and app;
 * *out malloc'd (free()). */
int hub_pin_list(hub_store *store, const char *cluster, struct hub_pin **out, size_t *count_out);

/* Of `count` pins, the one of `app`, or NULL. */
const struct hub_pin *hub_pin_find(const struct hub_pin *pins, size_t count, const char *app);

#endif
