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
 * newer generation of that cluster exists, or the request's wait passes (an
 * nng sleep aio), so each agent gets only its own bundle, as soon as it is
 * stored.
 *
 * The nng callbacks only queue work: verification, the store and replies
 * run on a pool of workers, which commit each batch's store writes in one
 * transaction. No peer can hold more than its share: one connection holds
 * at most `per_peer` contexts (more requests from it are dropped unread),
 * a cluster has at most one held long-poll (a newer one replaces it), and
 * a reply not taken within `send_timeout_ms` closes that connection, which
 * frees its contexts.
 */
typedef struct hub_serve hub_serve;

struct hub_serve_config {
    const char *listen;      /* tcp://127.0.0.1:7070 or tls+tcp://... */
    struct gf_wire_tls tls;  /* for tls+tcp:// */
    int contexts;            /* concurrent requests held at once (default 1024) */
    int workers;             /* threads that verify and answer (default: one per CPU) */
    int per_peer;            /* contexts one connection may hold (default 8) */
    int64_t send_timeout_ms; /* a reply not taken by then closes the connection (10 s) */
    int64_t max_wait_ms;     /* cap on a long-poll (default 60000) */
    int64_t clock_skew_ms;   /* accepted timestamp skew (default 300000) */
    /* Called with every verified report of `cluster` (which the report's own
     * cluster field has been checked against). Runs on a worker, inside a
     * store batch. A negative return is sent back as the error. */
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
    uint64_t dropped;       /* requests over a connection's share, dropped unread */
    uint64_t send_timeouts; /* replies not taken in time: their connection closed */
    uint64_t replaced;      /* long-polls replaced by a newer one of the same cluster */
    int waiting;            /* long-polls held right now */
};

int hub_serve_start(hub_serve **out, const struct hub_serve_config *config, hub_store *store,
                    const gf_sign_key *hub_key);
/* A sync pass runs (1) or ended (0): long-polls whose deadline passes
 * meanwhile are held a little longer, once, for the bundle it may bring.
 * Accepts NULL. */
void hub_serve_pass(hub_serve *serve, int running);
/* A newer bundle of `cluster` was stored: answer its held long-poll. */
void hub_serve_notify(hub_serve *serve, const char *cluster);
/* `cluster` was removed: its held long-poll is refused, never given a bundle. */
void hub_serve_revoke(hub_serve *serve, const char *cluster);
void hub_serve_stats(hub_serve *serve, struct hub_serve_stats *out);
/* The TCP port actually bound (useful with port 0); 0 for other transports. */
int hub_serve_port(hub_serve *serve);
/* Stop listening, cancel held requests, free. Accepts NULL. */
void hub_serve_stop(hub_serve *serve);

#endif
