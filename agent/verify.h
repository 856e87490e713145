/* verify.h -- the agent's trust check of a bundle before anything is applied */
#ifndef AGENT_VERIFY_H
#define AGENT_VERIFY_H

#include "gitfleet/sign.h"
#include "gitfleet.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/*
 * A bundle is accepted only when all hold: the signature is by the pinned
 * hub key, it names this agent's cluster, and its generation is higher than
 * `min_generation` (pass the applied generation; pass applied - 1 to accept
 * the cached bundle again after a restart). Anything else is GF_EPERM with
 * the reason, and nothing is applied. *out is the decoded bundle.
 */
int agent_verify_bundle(Gitfleet__Bundle **out, const void *signed_bytes, size_t len,
                        const gf_sign_key *hub_key, const char *cluster, uint64_t min_generation);

#endif
