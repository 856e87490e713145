/* seckeys.h -- clusters' age recipients for sealed secrets: learnt at join and from reports,
 * rotated on request */
#ifndef HUB_SECKEYS_H
#define HUB_SECKEYS_H

#include "gitfleet.pb-c.h"
#include "gitfleet/sign.h"
#include "store.h"

#include <stdint.h>

/*
 * The hub only ever holds recipients (public keys): agents make their key
 * pairs and keep the secret halves (agent/secrets.h). A rotation is a
 * request the hub signs and attaches to its answers to the cluster's
 * reports until the agent reports a new recipient for that request id.
 */

/* A join brought `recipient` (may be NULL or "" for an older agent): check
 * it and make it the cluster's only current one. */
int hub_seckeys_joined(hub_store *store, const char *cluster, const char *recipient);

/*
 * A verified report of `cluster`: learn its current recipient (after a
 * rotation, the old one stays listed for the request's grace period). When
 * a rotation is pending, *out is the signed request to attach to the answer
 * (free with hub_seckeys_rotation_free), else NULL.
 */
int hub_seckeys_on_report(hub_store *store, const gf_sign_key *hub_key, const char *cluster,
                          const Gitfleet__Report *report, Gitfleet__SignedSecretKeyRotation **out);
void hub_seckeys_rotation_free(Gitfleet__SignedSecretKeyRotation *r);

/* Ask the agent of `cluster` (joined) for a new key pair; old values keep
 * opening for `grace_ms`. *id_out names the request. */
int hub_seckeys_rotate(hub_store *store, const char *cluster, int64_t grace_ms, char id_out[64]);

#endif
