/* publish.h -- a rendered cluster bundle becomes a signed, stored generation */
#ifndef HUB_PUBLISH_H
#define HUB_PUBLISH_H

#include "gitfleet/sign.h"
#include "render.h"
#include "store.h"

#include <stdint.h>

/* How a publish asks the hub's rollouts whether to hold an app. */
struct hub_publish_hooks {
    /* 1: keep the cluster's app at `in_effect` (its pinned state, else the
     * newest published; "" when it never had the app) instead of
     * publishing `rendered` (the hash of what Git renders now). */
    int (*hold)(void *arg, const char *cluster, const struct hub_bundle_app *app,
                const char *rendered, const char *in_effect);
    void *arg;
};

/*
 * Encode `bundle` as proto Bundle, each app with its content hash
 * (App.content_hash: its resources and policy, without revisions), and put
 * the cluster's pinned states in place of the apps they hold (hub/pin.h):
 * a rollback pin lifts when Git's state of its app changed; `hooks` (may be
 * NULL) may hold more apps. The bundle's content hash covers everything but
 * the generation and the creation time, so a commit that changes nothing
 * for this cluster (a README edit, another cluster's overlay) yields the
 * same hash, and the cluster gets no new generation. When the hash differs
 * from the newest stored bundle's, the bundle gets generation max+1, is
 * signed with `key` and stored, and every app state it carries is kept for
 * pins to come: *published_out = 1. *generation_out is the cluster's newest
 * generation either way. `allow_prune` (a JSON array of app names, may be
 * NULL) goes into the bundle: the agent lets those apps' held prunes through.
 */
int hub_publish_bundle(hub_store *store, const gf_sign_key *key, const struct hub_bundle *bundle,
                       const json_t *allow_prune, const struct hub_publish_hooks *hooks,
                       uint64_t *generation_out, int *published_out);

#endif
