/* secrets.h -- the agent's age identities for sealed secrets: created at join, rotated on request,
 * used to open */
#ifndef AGENT_SECRETS_H
#define AGENT_SECRETS_H

#include "gitfleet.pb-c.h"
#include "gitfleet/age.h"
#include "gitfleet/sign.h"

#include <jansson.h>

#include <stdint.h>

/*
 * <state-dir>/secret.key (0600, written atomically) holds the agent's X25519
 * identities in age-keygen's format, so `age -d -i secret.key` reads it:
 * the first is current, older ones follow with the time they retire (the
 * grace period of a rotation). It never leaves the machine: only the
 * recipient (public half) goes to the hub, at join and in reports.
 *
 * The identities live in this module once loaded: SealedSecrets are opened
 * where the apply path parses a desired object (agent_secrets_unseal), and
 * the plaintext exists only in that Secret's JSON in memory.
 */

/* At join: make a new identity (replacing any) and give its recipient. */
int agent_secrets_create(const char *state_dir, char recipient_out[GF_AGE_RECIPIENT_MAX]);

/* At start: load the identities (creating one for a state directory joined
 * before sealed secrets existed) and drop those whose grace has passed. */
int agent_secrets_load(const char *state_dir);

/* The current recipient ("" before agent_secrets_load) and the id of the
 * last rotation carried out ("" when none). */
void agent_secrets_recipient(char out[GF_AGE_RECIPIENT_MAX]);
void agent_secrets_rotation_id(char out[64]);

/*
 * Carry out a rotation request from the hub: verify its signature with the
 * pinned hub key and that it is for `cluster`; when its id is new, make a
 * new current identity and keep the others until now + grace. 1 when a new
 * key was made, 0 when the id was already handled, < 0 on refusal.
 */
int agent_secrets_rotate(const Gitfleet__SignedSecretKeyRotation *req, const gf_sign_key *hub_key,
                         const char *cluster);

/*
 * The hook of the apply path: when *obj is a gitfleet.io/v1 SealedSecret,
 * replace it with the Secret it opens to (its namespace defaulting to
 * `default_namespace`). 0 when *obj is not sealed or was opened; GF_EPERM /
 * GF_EINVAL with a message naming the object and the value otherwise, *obj
 * untouched.
 */
int agent_secrets_unseal(json_t **obj, const char *default_namespace);

/* The bundle's SealedSecret resources are tracked as the v1 Secrets they
 * become: rewrite their ids in place (inventory, prune, watches, drift). */
void agent_secrets_retarget(Gitfleet__Bundle *bundle);

/* Forget the identities held in memory (wiped). */
void agent_secrets_unload(void);

#endif
