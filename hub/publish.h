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
int hub_publish_bundle(hub_store *store, const gf_sign_key *key, const struct hub_bundle *bundle,
                       const json_t *allow_prune, uint64_t *generation_out, int *published_out);

#endif
