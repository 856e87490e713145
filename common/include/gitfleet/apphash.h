/* apphash.h -- the content hash of one app of a bundle: what the agent compares to decide a sync */
#ifndef GITFLEET_APPHASH_H
#define GITFLEET_APPHASH_H

#include "gitfleet.pb-c.h"

/*
 * SHA-256 (64 lowercase hex digits) of the app's desired state: the packed
 * App message with the fields that are not content cleared -- revision (a
 * commit that changes nothing of this app hashes the same), content_hash
 * itself, auto_sync_suspended and the rollback fields -- and a render error
 * reduced to "render failed" (its wording names the commit). Everything
 * else counts: name, namespace, sync policy, every resource and its wave.
 * The hub publishes it in App.content_hash; an agent given none computes
 * the same value. `app` is restored before returning. 0 or GF_ENOMEM.
 */
int gf_apphash_compute(char out[65], Gitfleet__App *app);

#endif
