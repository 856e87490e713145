/* wire.h -- the signed envelopes hub and agents exchange, and nng TLS set-up */
#ifndef GITFLEET_WIRE_H
#define GITFLEET_WIRE_H

#include "gitfleet/limits.h"
#include "gitfleet/sign.h"
#include "gitfleet.pb-c.h"

#include <nng/nng.h>
#include <stddef.h>
#include <stdint.h>

/* Largest message either side accepts (NNG_OPT_RECVMAXSZ on every socket):
 * gitfleet/limits.h says why. */
#define GF_WIRE_MAX_MESSAGE GF_LIMIT_MESSAGE_BYTES

/* A decoded agent request: the outer envelope and its body. The signature
 * is NOT verified yet: which key to use depends on the cluster named inside. */
struct gf_wire_request {
    Gitfleet__AgentRequest *envelope;
    Gitfleet__AgentRequestBody *body;
};

/* Encode `body` and sign it with the agent's key: *out is malloc'd bytes
 * of an AgentRequest. */
int gf_wire_request_seal(unsigned char **out, size_t *len_out,
                         const Gitfleet__AgentRequestBody *body, const gf_sign_key *key);
/* Decode an AgentRequest and its body; GF_EINVAL for anything malformed. */
int gf_wire_request_decode(struct gf_wire_request *out, const void *data, size_t len);
/* 0 when the envelope's signature over the body bytes is by `key`. */
int gf_wire_request_verify(const struct gf_wire_request *req, const gf_sign_key *key);
void gf_wire_request_clear(struct gf_wire_request *req);

/* Encode a Bundle and sign the exact bytes: *out is a SignedBundle. */
int gf_wire_bundle_seal(unsigned char **out, size_t *len_out, const Gitfleet__Bundle *bundle,
                        const gf_sign_key *key);
/* Verify a SignedBundle with the pinned hub key, then decode the bundle.
 * GF_EPERM when the signature does not hold; GF_EINVAL when malformed. */
int gf_wire_bundle_open(Gitfleet__Bundle **out, const void *data, size_t len,
                        const gf_sign_key *hub_key);

/* Encode a HubResponse into malloc'd bytes. */
int gf_wire_response_encode(unsigned char **out, size_t *len_out,
                            const Gitfleet__HubResponse *resp);

/* TLS settings for nng; NULL/"" fields are not set. `ca_file` on a server
 * makes client certificates required. */
struct gf_wire_tls {
    const char *cert_file; /* PEM certificate (ECDSA or RSA: mbedTLS refuses Ed25519) */
    const char *key_file;
    const char *ca_file;
    const char *server_name; /* client side: the name to verify (default: the URL's host) */
};

/* Attach TLS to a listener or dialer of a tls+tcp:// URL. */
int gf_wire_tls_listener(nng_listener listener, const struct gf_wire_tls *tls);
int gf_wire_tls_dialer(nng_dialer dialer, const struct gf_wire_tls *tls);

/* Milliseconds since the epoch, and 16 random bytes. */
int64_t gf_wire_now_ms(void);
int gf_wire_random(unsigned char *buf, size_t len);

#endif
