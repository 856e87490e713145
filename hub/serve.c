/* serve.c -- the hub's agent endpoint: signed requests over nng REP, bundle long-polls */
#include "serve.h"

#include "gitfleet/doc.h"
#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "seckeys.h"

#include <arpa/inet.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum ctx_state { CTX_RECV, CTX_WAIT, CTX_SEND };

struct serve_ctx {
    hub_serve *serve;
    nng_ctx ctx;
    nng_aio *aio;
    enum ctx_state state;
    char cluster[HUB_STORE_NAME_MAX]; /* CTX_WAIT: whose bundle it waits for */
    uint64_t after;                   /* CTX_WAIT: the generation the agent has */
    int64_t deadline_ms;              /* CTX_WAIT: answer "not modified" then */
};

struct hub_serve {
    struct hub_serve_config config;
    hub_store *store;
    const gf_sign_key *hub_key;
    unsigned char hub_public[GF_SIGN_PUBLIC_KEY_LEN];
    nng_socket sock;
    nng_listener listener;
    struct serve_ctx *ctxs;
    int n_ctxs;
    pthread_mutex_t lock; /* ctx states and stats */
    pthread_cond_t wake;
    pthread_t timer;
    int timer_started;
    int stopping;
    struct hub_serve_stats stats;
};

static void ctx_callback(void *arg);

/* ---- replies ---- */

/* Send `resp` on the context; the callback re-arms the receive afterwards. */
static void send_response(struct serve_ctx *sc, const Gitfleet__HubResponse *resp)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    nng_msg *msg = NULL;

    sc->state = CTX_SEND;
    if (gf_wire_response_encode(&bytes, &len, resp) < 0 || nng_msg_alloc(&msg, 0) != 0 ||
        nng_msg_append(msg, bytes, len) != 0) {
        /* Nothing can be sent: drop the request; the agent's timeout retries. */
        if (msg)
            nng_msg_free(msg);
        free(bytes);
        sc->state = CTX_RECV;
        nng_ctx_recv(sc->ctx, sc->aio);
        return;
    }
    free(bytes);
    nng_aio_set_msg(sc->aio, msg);
    nng_ctx_send(sc->ctx, sc->aio);
}

static void send_error(struct serve_ctx *sc, int code)
{
    Gitfleet__HubResponse resp = GITFLEET__HUB_RESPONSE__INIT;

    resp.has_code = 1;
    resp.code = code < 0 ? code : GF_ERROR;
    resp.message = (char *)gf_error_last();
    send_response(sc, &resp);
}

/* Answer a held or fresh bundle request: the newest bundle if it is newer
 * than what the agent has, else "not modified". Caller holds serve->lock. */
static void send_bundle_or_not_modified(struct serve_ctx *sc)
{
    Gitfleet__HubResponse resp = GITFLEET__HUB_RESPONSE__INIT;
    struct hub_store_bundle b;
    int have = hub_store_bundle_latest(sc->serve->store, sc->cluster, &b) == 0;

    resp.has_code = 1;
    if (have && b.generation > sc->after) {
        resp.response_case = GITFLEET__HUB_RESPONSE__RESPONSE_BUNDLE;
        resp.bundle.data = b.signed_bytes;
        resp.bundle.len = b.signed_len;
        sc->serve->stats.bundles_served++;
    } else {
        resp.response_case = GITFLEET__HUB_RESPONSE__RESPONSE_NOT_MODIFIED;
        resp.not_modified = 1;
    }
    send_response(sc, &resp);
    if (have)
        hub_store_bundle_clear(&b);
}

/* ---- authentication ---- */

static void hex_encode(char *out, const unsigned char *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

/* The timestamp is within the skew window and the nonce was never seen for
 * this cluster: together they make a captured request useless later. */
static int check_freshness(hub_serve *serve, const char *cluster,
                           const Gitfleet__AgentRequestBody *body)
{
    int64_t now = gf_wire_now_ms(), skew = serve->config.clock_skew_ms;
    char nonce_hex[2 * 32 + 1];

    if (!body->has_time_unix_ms || body->time_unix_ms < now - skew ||
        body->time_unix_ms > now + skew)
        return gf_error_set(GF_EPERM, "request timestamp is outside the accepted window of %lld ms",
                            (long long)skew);
    if (!body->has_nonce || body->nonce.len < 16 || body->nonce.len > 32)
        return gf_error_set(GF_EPERM, "request has no valid nonce");
    hex_encode(nonce_hex, body->nonce.data, body->nonce.len);
    if (hub_store_nonce_use(serve->store, cluster, nonce_hex, now, now + 2 * skew) < 0)
        return gf_error_set(GF_EPERM, "request nonce was already used (replay refused)");
    return 0;
}

/* Verify a request from a joined cluster with the key it joined with. */
static int authenticate(hub_serve *serve, const struct gf_wire_request *req)
{
    const char *cluster = req->body->cluster;
    struct hub_store_cluster c;
    gf_sign_key *key = NULL;
    int error;

    if (cluster == NULL || cluster[0] == '\0')
        return gf_error_set(GF_EPERM, "request names no cluster");
    if (hub_store_cluster_get(serve->store, cluster, &c) < 0 || !c.joined)
        return gf_error_set(GF_EPERM, "cluster '%s' is not joined", cluster);
    if ((error = gf_sign_key_from_public(&key, c.public_key)) < 0)
        return error;
    error = gf_wire_request_verify(req, key);
    gf_sign_key_free(key);
    if (error < 0)
        return gf_error_set(GF_EPERM, "request for cluster '%s' is not signed by its key", cluster);
    if ((error = check_freshness(serve, cluster, req->body)) < 0)
        return error;
    hub_store_cluster_touch(serve->store, cluster, gf_wire_now_ms());
    return 0;
}

/* ---- request handlers ---- */

/* A join proves the one-time token and possession of the new key (the
 * request is signed by it), then binds the key to the token's cluster. */
static int handle_join(struct serve_ctx *sc, const struct gf_wire_request *req)
{
    hub_serve *serve = sc->serve;
    const Gitfleet__JoinRequest *join = req->body->join;
    Gitfleet__HubResponse resp = GITFLEET__HUB_RESPONSE__INIT;
    Gitfleet__JoinResponse jr = GITFLEET__JOIN_RESPONSE__INIT;
    char cluster[HUB_STORE_NAME_MAX], token_hash[65];
    gf_sign_key *key = NULL;
    int error;

    if (join->token == NULL || !join->has_public_key ||
        join->public_key.len != GF_SIGN_PUBLIC_KEY_LEN)
        return gf_error_set(GF_EINVAL, "join request needs a token and a 32-byte public key");
    if ((error = gf_sign_key_from_public(&key, join->public_key.data)) < 0)
        return error;
    error = gf_wire_request_verify(req, key);
    gf_sign_key_free(key);
    if (error < 0)
        return gf_error_set(GF_EPERM, "join request is not signed by the key it registers");
    gf_sha256_hex(token_hash, join->token, strlen(join->token));
    if ((error = hub_store_token_redeem(serve->store, cluster, token_hash, gf_wire_now_ms())) < 0)
        return error;
    if ((error = check_freshness(serve, cluster, req->body)) < 0 ||
        (error = hub_store_cluster_set_key(serve->store, cluster, join->public_key.data,
                                           gf_wire_now_ms())) < 0 ||
        (error = hub_seckeys_joined(serve->store, cluster, join->secret_recipient)) < 0)
        return error;
    gf_log_info("HUB-AGENT-JOINED", "cluster=%s", cluster);
    serve->stats.joins++;
    jr.cluster = cluster;
    jr.has_hub_public_key = 1;
    jr.hub_public_key.data = serve->hub_public;
    jr.hub_public_key.len = sizeof(serve->hub_public);
    resp.has_code = 1;
    resp.response_case = GITFLEET__HUB_RESPONSE__RESPONSE_JOIN;
    resp.join = &jr;
    send_response(sc, &resp);
    return 0;
}

static int handle_report(struct serve_ctx *sc, const struct gf_wire_request *req)
{
    hub_serve *serve = sc->serve;
    const Gitfleet__Report *report = req->body->report;
    Gitfleet__HubResponse resp = GITFLEET__HUB_RESPONSE__INIT;
    int error;

    if (report->cluster == NULL || strcmp(report->cluster, req->body->cluster) != 0)
        return gf_error_set(GF_EPERM, "cluster '%s' may not report for cluster '%s'",
                            req->body->cluster, report->cluster ? report->cluster : "");
    if (serve->config.on_report &&
        (error = serve->config.on_report(serve->config.arg, req->body->cluster, report)) < 0)
        return error;
    if ((error = hub_seckeys_on_report(serve->store, serve->hub_key, req->body->cluster, report,
                                       &resp.secret_key_rotation)) < 0)
        return error;
    serve->stats.reports++;
    resp.has_code = 1;
    resp.response_case = GITFLEET__HUB_RESPONSE__RESPONSE_REPORT_STORED;
    resp.report_stored = 1;
    send_response(sc, &resp);
    hub_seckeys_rotation_free(resp.secret_key_rotation);
    return 0;
}

/* Answer at once when a newer bundle exists, else hold the context. */
static void handle_bundle_request(struct serve_ctx *sc, const struct gf_wire_request *req)
{
    const Gitfleet__BundleRequest *br = req->body->bundle;
    int64_t wait = br->has_wait_ms ? br->wait_ms : 0;
    uint64_t max = 0;

    if (wait > sc->serve->config.max_wait_ms)
        wait = sc->serve->config.max_wait_ms;
    snprintf(sc->cluster, sizeof(sc->cluster), "%s", req->body->cluster);
    sc->after = br->has_after_generation ? br->after_generation : 0;
    hub_store_bundle_max_generation(sc->serve->store, sc->cluster, &max);
    if (max > sc->after || wait <= 0) {
        send_bundle_or_not_modified(sc);
        return;
    }
    sc->state = CTX_WAIT;
    sc->deadline_ms = gf_wire_now_ms() + wait;
    sc->serve->stats.waiting++;
}

/* Decode, authenticate and dispatch one request. Caller holds serve->lock. */
static void handle_message(struct serve_ctx *sc, const void *data, size_t len)
{
    struct gf_wire_request req;
    int error;

    sc->serve->stats.requests++;
    if ((error = gf_wire_request_decode(&req, data, len)) < 0)
        goto refuse;
    if (req.body->request_case == GITFLEET__AGENT_REQUEST_BODY__REQUEST_JOIN) {
        error = handle_join(sc, &req);
    } else if ((error = authenticate(sc->serve, &req)) == 0) {
        if (req.body->request_case == GITFLEET__AGENT_REQUEST_BODY__REQUEST_BUNDLE)
            handle_bundle_request(sc, &req);
        else if (req.body->request_case == GITFLEET__AGENT_REQUEST_BODY__REQUEST_REPORT)
            error = handle_report(sc, &req);
        else
            error = gf_error_set(GF_EINVAL, "request carries no known operation");
    }
    gf_wire_request_clear(&req);
    if (error == 0)
        return;
refuse:
    sc->serve->stats.refused++;
    gf_log_warn("HUB-AGENT-REFUSED", "error=\"%s\"", gf_error_last());
    send_error(sc, error);
}

/* ---- context state machine ---- */

static void ctx_callback(void *arg)
{
    struct serve_ctx *sc = arg;
    hub_serve *serve = sc->serve;
    int rv = nng_aio_result(sc->aio);

    pthread_mutex_lock(&serve->lock);
    if (serve->stopping) {
        /* Whatever message the aio still holds is ours to free. */
        if ((rv == 0 && sc->state == CTX_RECV) || (rv != 0 && sc->state == CTX_SEND))
            nng_msg_free(nng_aio_get_msg(sc->aio));
        pthread_mutex_unlock(&serve->lock);
        return;
    }
    if (sc->state == CTX_SEND) {
        if (rv != 0) /* the peer went away: the message is still ours */
            nng_msg_free(nng_aio_get_msg(sc->aio));
        sc->state = CTX_RECV;
        nng_ctx_recv(sc->ctx, sc->aio);
    } else if (sc->state == CTX_RECV) {
        if (rv != 0) {
            nng_ctx_recv(sc->ctx, sc->aio);
        } else {
            nng_msg *msg = nng_aio_get_msg(sc->aio);
            handle_message(sc, nng_msg_body(msg), nng_msg_len(msg));
            nng_msg_free(msg);
        }
    }
    pthread_mutex_unlock(&serve->lock);
}

/* Release a held long-poll with whatever is newest now. Caller holds the lock. */
static void release_waiting(struct serve_ctx *sc)
{
    sc->serve->stats.waiting--;
    send_bundle_or_not_modified(sc);
}

void hub_serve_notify(hub_serve *serve, const char *cluster)
{
    if (serve == NULL)
        return;
    pthread_mutex_lock(&serve->lock);
    for (int i = 0; i < serve->n_ctxs; i++) {
        struct serve_ctx *sc = &serve->ctxs[i];
        if (sc->state == CTX_WAIT && strcmp(sc->cluster, cluster) == 0)
            release_waiting(sc);
    }
    pthread_mutex_unlock(&serve->lock);
}

/* Answers long-polls whose wait has passed, ten times a second. */
static void *timer_main(void *arg)
{
    hub_serve *serve = arg;
    struct timespec ts;

    pthread_mutex_lock(&serve->lock);
    while (!serve->stopping) {
        int64_t now = gf_wire_now_ms();
        for (int i = 0; i < serve->n_ctxs; i++) {
            struct serve_ctx *sc = &serve->ctxs[i];
            if (sc->state == CTX_WAIT && sc->deadline_ms <= now)
                release_waiting(sc);
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&serve->wake, &serve->lock, &ts);
    }
    pthread_mutex_unlock(&serve->lock);
    return NULL;
}

void hub_serve_stats(hub_serve *serve, struct hub_serve_stats *out)
{
    pthread_mutex_lock(&serve->lock);
    *out = serve->stats;
    pthread_mutex_unlock(&serve->lock);
}

int hub_serve_port(hub_serve *serve)
{
    nng_sockaddr sa;

    if (nng_listener_get_addr(serve->listener, NNG_OPT_LOCADDR, &sa) != 0)
        return 0;
    if (sa.s_family == NNG_AF_INET)
        return ntohs(sa.s_in.sa_port);
    if (sa.s_family == NNG_AF_INET6)
        return ntohs(sa.s_in6.sa_port);
    return 0;
}

/* ---- start and stop ---- */

static void apply_defaults(struct hub_serve_config *c)
{
    if (c->contexts <= 0)
        c->contexts = 1024;
    if (c->max_wait_ms <= 0)
        c->max_wait_ms = 60000;
    if (c->clock_skew_ms <= 0)
        c->clock_skew_ms = 300000;
}

static int open_socket(hub_serve *serve)
{
    const char *url = serve->config.listen;
    int rv, error;

    if ((rv = nng_rep0_open(&serve->sock)) != 0)
        return gf_error_set(GF_ERROR, "nng: %s", nng_strerror(rv));
    nng_socket_set_size(serve->sock, NNG_OPT_RECVMAXSZ, GF_WIRE_MAX_MESSAGE);
    if ((rv = nng_listener_create(&serve->listener, serve->sock, url)) != 0)
        return gf_error_set(GF_EINVAL, "cannot listen on %s: %s", url, nng_strerror(rv));
    if (strncmp(url, "tls+tcp://", 10) == 0 &&
        (error = gf_wire_tls_listener(serve->listener, &serve->config.tls)) < 0)
        return error;
    if ((rv = nng_listener_start(serve->listener, 0)) != 0)
        return gf_error_set(GF_EIO, "cannot listen on %s: %s", url, nng_strerror(rv));
    return 0;
}

static int open_contexts(hub_serve *serve)
{
    int n = serve->config.contexts;

    if ((serve->ctxs = calloc((size_t)n, sizeof(*serve->ctxs))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        struct serve_ctx *sc = &serve->ctxs[i];
        sc->serve = serve;
        if (nng_ctx_open(&sc->ctx, serve->sock) != 0 ||
            nng_aio_alloc(&sc->aio, ctx_callback, sc) != 0)
            return gf_error_set(GF_ENOMEM, "cannot open nng context %d", i);
        serve->n_ctxs = i + 1;
    }
    for (int i = 0; i < n; i++) {
        serve->ctxs[i].state = CTX_RECV;
        nng_ctx_recv(serve->ctxs[i].ctx, serve->ctxs[i].aio);
    }
    return 0;
}

int hub_serve_start(hub_serve **out, const struct hub_serve_config *config, hub_store *store,
                    const gf_sign_key *hub_key)
{
    hub_serve *serve;
    int error;

    *out = NULL;
    if ((serve = calloc(1, sizeof(*serve))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    serve->config = *config;
    apply_defaults(&serve->config);
    serve->store = store;
    serve->hub_key = hub_key;
    pthread_mutex_init(&serve->lock, NULL);
    pthread_cond_init(&serve->wake, NULL);
    if ((error = gf_sign_key_public_raw(serve->hub_public, hub_key)) < 0 ||
        (error = open_socket(serve)) < 0 || (error = open_contexts(serve)) < 0)
        goto fail;
    if (pthread_create(&serve->timer, NULL, timer_main, serve) != 0) {
        error = gf_error_set(GF_ERROR, "cannot start the long-poll timer");
        goto fail;
    }
    serve->timer_started = 1;
    gf_log_info("HUB-SERVE-LISTEN", "url=%s contexts=%d", config->listen, serve->config.contexts);
    *out = serve;
    return 0;
fail:
    hub_serve_stop(serve);
    return error;
}

void hub_serve_stop(hub_serve *serve)
{
    if (serve == NULL)
        return;
    pthread_mutex_lock(&serve->lock);
    serve->stopping = 1;
    pthread_cond_broadcast(&serve->wake);
    pthread_mutex_unlock(&serve->lock);
    if (serve->timer_started)
        pthread_join(serve->timer, NULL);
    nng_close(serve->sock);
    for (int i = 0; i < serve->n_ctxs; i++) {
        nng_aio_stop(serve->ctxs[i].aio);
        nng_aio_free(serve->ctxs[i].aio);
    }
    free(serve->ctxs);
    pthread_cond_destroy(&serve->wake);
    pthread_mutex_destroy(&serve->lock);
    free(serve);
}
