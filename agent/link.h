/* link.h -- the agent's connection to the hub: signed requests over nng REQ */
#ifndef AGENT_LINK_H
#define AGENT_LINK_H

#include "gitfleet/sign.h"
#include "gitfleet/wire.h"

#include <stdint.h>

/*
 * One REQ socket dialing the hub; nng reconnects by itself with backoff
 * (reconnect-time-min/max). Each call opens its own context, so a long-poll
 * for the next bundle and a report can be in flight at once. Every request
 * is signed with the agent's key and carries a timestamp and a fresh nonce.
 */
typedef struct agent_link agent_link;

struct agent_link_config {
    const char *hub_url;          /* tcp://host:port or tls+tcp://host:port */
    struct gf_wire_tls tls;       /* ca_file (the hub's CA), client cert and key */
    const char *cluster;          /* "" before the join */
    const gf_sign_key *key;       /* the agent's key */
    int64_t timeout_ms;           /* per request, on top of any long-poll wait (default 10 s) */
    const char *secret_recipient; /* join: the agent's age recipient (agent/secrets.h) */
};

int agent_link_open(agent_link **out, const struct agent_link_config *config);
/* Make every call in flight return at once (closes the socket); the link is
 * unusable afterwards. For stopping threads that wait on it. */
void agent_link_interrupt(agent_link *link);
void agent_link_close(agent_link *link);

/* Join with a one-time token: the hub answers with the cluster name and its
 * public key, which the caller pins. */
int agent_link_join(agent_link *link, const char *token, char *cluster_out, size_t cluster_cap,
                    unsigned char hub_key_out[GF_SIGN_PUBLIC_KEY_LEN]);

/* Ask for a bundle newer than `after`, letting the hub hold the request up to
 * `wait_ms`. 0 and *out (an encoded SignedBundle, malloc'd) when one came;
 * GF_ENOTFOUND when nothing newer exists; GF_ETIMEDOUT when the hub did not
 * answer; the hub's refusal (GF_EPERM, ...) with its message otherwise. */
int agent_link_fetch(agent_link *link, uint64_t after, int64_t wait_ms, unsigned char **out,
                     size_t *len_out);

/* Send a report; 0 when the hub stored it. */
int agent_link_report(agent_link *link, const Gitfleet__Report *report);

/*
 * Asynchronous requests, for a caller that drives many links from a few
 * threads (the fleet simulator): the same signed requests, one in flight per
 * link. `done` runs on an nng thread when the answer (or a failure) is in and
 * must not block; the caller then reads the outcome with the matching
 * *_finish, on any thread, as agent_link_fetch / agent_link_report return it.
 */
typedef void (*agent_link_done_fn)(void *arg);

int agent_link_fetch_start(agent_link *link, uint64_t after, int64_t wait_ms,
                           agent_link_done_fn done, void *arg);
int agent_link_fetch_finish(agent_link *link, unsigned char **out, size_t *len_out);
int agent_link_report_start(agent_link *link, const Gitfleet__Report *report,
                            agent_link_done_fn done, void *arg);
int agent_link_report_finish(agent_link *link);

/* The key rotation request the hub attached to the last report's answer
 * (NULL when none); the caller frees it with
 * gitfleet__signed_secret_key_rotation__free_unpacked(). */
Gitfleet__SignedSecretKeyRotation *agent_link_take_rotation(agent_link *link);

#endif
