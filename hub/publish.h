/* publish.h -- a rendered cluster bundle becomes a signed, stored generation */
#ifndef HUB_PUBLISH_H
#define HUB_PUBLISH_H

#include "gitfleet/sign.h"
#include "render.h"
#include "store.h"

#include <stdint.h>

/*
 * Encode `bundle` as proto Bundle. Its content hash covers everything but
 * the generation and the creation time, so a commit that changes nothing
 * for this cluster (a README edit, another cluster's overlay) yields the
 * same hash, and the cluster gets no new generation. When the hash differs
 * from the newest stored bundle's, the bundle gets generation max+1, is
 * signed with `key` and stored: *published_out = 1. *generation_out is the
 * cluster's newest generation either way. `allow_prune` (a JSON array of
 * app names, may be NULL) goes into the bundle: the agent lets those apps'
 * held prunes through.
 */
/* How a publish asks the rollouts (hub/rollouts.h) whether to hold an app
 * of the cluster where it is: 1 to keep `in_effect` (the state the cluster
 * was given; "" when it never had the app) instead of `rendered`, the
 * content hash of what Git renders now. */
struct hub_publish_hooks {
    /* Does a rollout govern this app at all? Only those get `hold` asked
     * (and their state in effect looked up). */
    int (*governs)(void *arg, const char *app);
    int (*hold)(void *arg, const char *cluster, const char *app, const char *rendered,
                const char *in_effect);
    void *arg;
};

int hub_publish_bundle(hub_store *store, const gf_sign_key *key, const struct hub_bundle *bundle,
                       const json_t *allow_prune, const struct hub_publish_hooks *hooks,
                       uint64_t *generation_out, int *published_out);

/*
 * Issue 10: what publish puts over the rendered apps, in both functions.
 * Each app carries its content hash (gitfleet/apphash.h) and Git's state of
 * it is remembered (hub/appstate.h) to roll back to later; an app a pin
 * holds (hub/pin.h) is replaced by the held state, marked
 * auto_sync_suspended and rollback_* as the pin says -- unless Git changed
 * the app since the pin was made and the pin ends at such a change (it is
 * released); the cluster's open operation requests (hub/opreq.h) go into
 * Bundle.operations. Publishes of one cluster are serialized.
 *
 * hub_publish_refresh: republish the cluster's newest stored bundle with
 * its pins and operations as they are now (an operator asked for a sync or
 * a rollback, an operation finished) without rendering; an app no pin
 * holds any more gets Git's state back. GF_ENOTFOUND when the cluster has
 * no bundle yet.
 */
int hub_publish_refresh(hub_store *store, const gf_sign_key *key, const char *cluster,
                        uint64_t *generation_out, int *published_out);

#endif
