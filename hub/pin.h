/* pin.h -- a cluster's app held at one of its published states: what rollbacks and rollouts hold
 * with */
#ifndef HUB_PIN_H
#define HUB_PIN_H

#include "store.h"

/*
 * Every state of an app that a bundle carried is kept (store: app_states,
 * the newest HUB_STORE_KEEP_APP_STATES per app and cluster), as the encoded
 * App the agent received. A pin holds a cluster's app at one of those states:
 * publishing puts the held state in the cluster's bundle in place of what
 * Git renders (hub/publish.c), so the agent applies a state that Git once
 * produced and the hub once signed — never anything else.
 *
 * - A rollback pin (`gitfleet rollback`) holds until Git's state of the app
 *   changes from what it was when the pin was set (`git_hash`), or an
 *   operator syncs the app; the agent sees auto_sync_suspended meanwhile.
 * - A rollout pin (hub/rollouts.c) holds until the rollout releases it; the
 *   state "" holds an app off a cluster that never had it.
 */
enum hub_pin_reason { HUB_PIN_ROLLBACK, HUB_PIN_ROLLOUT };

/* Hold `app` on `cluster` at `content_hash` (a kept state; GF_ENOTFOUND
 * when it is not one, "" only for rollouts). `git_hash` is what Git renders
 * for the app now. Replaces any pin the app had. */
int hub_pin_hold(hub_store *store, const char *cluster, const char *app, const char *content_hash,
                 enum hub_pin_reason reason, const char *git_hash);
/* Let go: the next publish carries Git's state. Not pinned is fine. */
int hub_pin_release(hub_store *store, const char *cluster, const char *app);

const char *hub_pin_reason_name(enum hub_pin_reason reason);

#endif
