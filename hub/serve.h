/* serve.h -- the hub's agent endpoint: signed requests over nng REP, bundle long-polls */
#ifndef HUB_SERVE_H
#define HUB_SERVE_H

#include "gitfleet/sign.h"
#include "gitfleet/wire.h"
#include "store.h"

#include <stdint.h>

/*
 * One REP socket with a pool of contexts. Every agent request is a signed
 * envelope; the hub checks the signature against the key the cluster joined
 * with, the timestamp against a skew window and the nonce against replays,
 * then answers a join, stores a report, or serves a bundle. A bundle request
 * for "newer than G" is held in its context until hub_serve_notify() says a
 * newer generation of that cluster exists, or the request's wait passes, so
 * each agent gets only its own bundle, as soon as it is stored.
 */
typedef struct hub_serve hub_serve;

struct hub_serve_config {
    const char *listen;     /* tcp://127.0.0.1:7070 or tls+tcp://... */
    struct gf_wire_tls tls; /* for tls+tcp:// */
    int contexts;           /* concurrent requests held at once (default 1024) */
    int64_t max_wait_ms;    /* cap on a long-poll (default 60000) */
    int64_t clock_skew_ms;  /* accepted timestamp skew (default 300000) */
    /* Called with every verified report of `cluster` (which the report's own
     * cluster field has been checked against). Runs on an nng thread: keep
     * it short. A negative return is sent back as the error. */
    int (*on_report)(void *arg, const char *cluster, const Gitfleet__Report *report);
    void *arg;
};

/* Counters for /metrics. */
struct hub_serve_stats {
    uint64_t requests;
    uint64_t refused; /* bad signature, unknown cluster, replay, ... */
    uint64_t bundles_served;
    uint64_t reports;
    uint64_t joins;
    int waiting; /* long-polls held right now */
};

int hub_serve_start(hub_serve **out, const struct hub_serve_config *config, hub_store *store,
                    const gf_sign_key *hub_key);
/* A newer bundle of `cluster` was stored: answer its held long-polls. */
void hub_serve_notify(hub_serve *serve, const char *cluster);
void hub_serve_stats(hub_serve *serve, struct hub_serve_stats *out);
/* The TCP port actually bound (useful with port 0); 0 for other transports. */
int hub_serve_port(hub_serve *serve);
/* Stop listening, cancel held requests, free. Accepts NULL. */
void hub_serve_stop(hub_serve *serve);

#endif
