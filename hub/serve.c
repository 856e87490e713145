/* serve.c -- the hub's agent endpoint: signed requests over nng REP, bundle long-polls */
#include "serve.h"

#include "gitfleet/doc.h"
#include "gitfleet/error.h"
#include "gitfleet/hash.h"
#include "gitfleet/log.h"
#include "gitfleet/os.h"
#include "deadlines.h"
#include "seckeys.h"

#include <arpa/inet.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How stale a cluster's stored last-seen time may get before a request
 * writes it again. */
#define SERVE_TOUCH_MS    1000
#define SERVE_MAX_WORKERS 64
#define SERVE_WORK_BATCH  32 /* requests a worker handles in one store transaction */
#define SERVE_WORKER_NICE 10 /* request workers below the render threads: see worker_main */
/* Answerers: two, because nng_ctx_send can block its caller — in nng's
 * locks, and in glibc's pthread_cond_signal, which waits for a waiter it
 * woke earlier (one of nng's task threads) to get a CPU: on a saturated hub
 * that was most of the time a lone answerer spent off the CPU in a pass. */
#define SERVE_ANSWERERS 2
/* A long-poll whose deadline passes while a sync pass runs is held this
 * much longer (once): the pass is likely about to publish its bundle. Else
 * its "not modified" sent the agent to poll again through the request
 * workers, which wait behind the pass at their low priority: at 10,000
 * clusters the ~400 long-polls that expired in a pass got their bundles up
 * to 1.6 s after it. Below the agent's request timeout beyond its wait
 * (10 s, agent/link.c). */
#define SERVE_PASS_GRACE_MS 5000

/*
 * A context's life: RECV (waiting for a request) -> WORK (queued for, or on,
 * a worker) -> SEND (the answer on its way) -> RECV; or WORK -> WAIT (a
 * held long-poll) -> WORK (answer it) -> SEND. nng callbacks only move
 * contexts between these states and queue work: verification and the store
 * run on the workers. A held long-poll's deadline is in serve->deadlines,
 * which the answerers sleep on, not on an nng aio (see deadlines.h); a
 * notify queues its answer directly.
 */
enum ctx_state { CTX_RECV, CTX_WORK, CTX_WAIT, CTX_SEND };

/* What a worker is to do with a context. */
enum ctx_job { JOB_REQUEST, JOB_ANSWER_POLL, JOB_REFUSE_REVOKED, JOB_CLOSE_PIPE };

struct serve_ctx {
    hub_serve *serve;
    nng_ctx ctx;
    nng_aio *aio; /* receive, then send */
    enum ctx_state state;
    enum ctx_job job;
    nng_msg *msg;                     /* CTX_WORK with JOB_REQUEST: the request */
    nng_pipe pipe;                    /* the connection the request came on */
    char cluster[HUB_STORE_NAME_MAX]; /* CTX_WAIT: whose bundle it waits for */
    uint64_t after;                   /* CTX_WAIT: the generation the agent has */
    int extended;                     /* CTX_WAIT: its deadline was put off for a pass */
    struct serve_ctx *next_work;      /* the work queue */
    struct serve_ctx *next_wait;      /* a chain of the waiting table */
};

/* Contexts held by one connection (RECV excluded). */
struct pipe_count {
    struct pipe_count *next;
    uint32_t id;
    int held;
    int closing; /* a worker was asked to close it: once is enough */
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
    pthread_mutex_t lock;        /* everything below, and ctx states */
    pthread_cond_t work_ready;   /* requests queued */
    pthread_cond_t answer_ready; /* answers queued */
    /* Two queues: requests (verify, store) and answers (a held long-poll's
     * bundle, a pipe to close), which go first and have a thread of their
     * own at normal priority. */
    struct work_queue {
        struct serve_ctx *head, *tail;
    } requests, answers;
    pthread_t answerers[SERVE_ANSWERERS];
    int n_answerers;
    struct serve_ctx **waiting; /* cluster -> its one held long-poll */
    size_t n_waiting_buckets;
    hub_deadlines *deadlines; /* held long-polls' deadlines, by context index */
    struct pipe_count **pipes;
    size_t n_pipe_buckets;
    pthread_t workers[SERVE_MAX_WORKERS];
    int n_workers;
    int stopping;
    int pass_running; /* hub_serve_pass(): deadlines passing now are put off */
    struct hub_serve_stats stats;
};

static void ctx_callback(void *arg);

/* Deadlines are on the monotonic clock: a wall-clock step must not expire
 * the fleet's long-polls at once, nor hold them for an hour. */
static int64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- tables (caller holds serve->lock) ---- */

static size_t hash_name(const char *s, size_t buckets)
{
    return (size_t)(gf_hash_string(s) % buckets);
}

static struct serve_ctx **waiting_link(hub_serve *serve, const char *cluster)
{
    struct serve_ctx **link = &serve->waiting[hash_name(cluster, serve->n_waiting_buckets)];

    while (*link && strcmp((*link)->cluster, cluster) != 0)
        link = &(*link)->next_wait;
    return link;
}

static struct pipe_count **pipe_link(hub_serve *serve, uint32_t id)
{
    struct pipe_count **link = &serve->pipes[id % serve->n_pipe_buckets];

    while (*link && (*link)->id != id)
        link = &(*link)->next;
    return link;
}

/* Count one more context held by `pipe`; 0 when its share is used up. */
static int pipe_hold(hub_serve *serve, nng_pipe pipe)
{
    struct pipe_count **link = pipe_link(serve, nng_pipe_id(pipe));

    if (*link == NULL) {
        if ((*link = calloc(1, sizeof(**link))) == NULL)
            return 0;
        (*link)->id = (uint32_t)nng_pipe_id(pipe);
    }
    if ((*link)->held >= serve->config.per_peer)
        return 0;
    (*link)->held++;
    return 1;
}

static void pipe_release(hub_serve *serve, nng_pipe pipe)
{
    struct pipe_count **link = pipe_link(serve, nng_pipe_id(pipe)), *pc = *link;

    if (pc != NULL && --pc->held <= 0) {
        *link = pc->next;
        free(pc);
    }
}

static void queue_work(hub_serve *serve, struct serve_ctx *sc, enum ctx_job job)
{
    struct work_queue *q = job == JOB_REQUEST ? &serve->requests : &serve->answers;

    sc->state = CTX_WORK;
    sc->job = job;
    sc->next_work = NULL;
    if (q->tail)
        q->tail->next_work = sc;
    else
        q->head = sc;
    q->tail = sc;
    /* An answer wakes an answerer only (workers take answers when they
     * wake for requests): waking both cost a context switch for nothing. */
    pthread_cond_signal(job == JOB_REQUEST ? &serve->work_ready : &serve->answer_ready);
}

/* Up to SERVE_WORK_BATCH jobs off `q` into batch[n...]; the new n. */
static int take_work(struct work_queue *q, struct serve_ctx **batch, int n)
{
    while (q->head && n < SERVE_WORK_BATCH) {
        batch[n++] = q->head;
        q->head = q->head->next_work;
    }
    if (q->head == NULL)
        q->tail = NULL;
    return n;
}

/* ---- replies ---- */

static void arm_recv(struct serve_ctx *sc)
{
    nng_aio_set_timeout(sc->aio, NNG_DURATION_INFINITE);
    nng_ctx_recv(sc->ctx, sc->aio);
}

/* Give the context back to receiving (its request answered or dropped). */
static void ctx_done(struct serve_ctx *sc)
{
    pthread_mutex_lock(&sc->serve->lock);
    pipe_release(sc->serve, sc->pipe);
    sc->state = CTX_RECV;
    pthread_mutex_unlock(&sc->serve->lock);
    arm_recv(sc);
}

/* Send `resp` on the context, bounded by the send timeout: a peer that does
 * not read its replies loses this context then, not forever. */
static void send_response(struct serve_ctx *sc, const Gitfleet__HubResponse *resp)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    nng_msg *msg = NULL;

    if (gf_wire_response_encode(&bytes, &len, resp) < 0 || nng_msg_alloc(&msg, 0) != 0 ||
        nng_msg_append(msg, bytes, len) != 0) {
        /* Nothing can be sent: drop the request; the agent's timeout retries. */
        if (msg)
            nng_msg_free(msg);
        free(bytes);
        ctx_done(sc);
        return;
    }
    free(bytes);
    pthread_mutex_lock(&sc->serve->lock);
    sc->state = CTX_SEND;
    pthread_mutex_unlock(&sc->serve->lock);
    nng_aio_set_msg(sc->aio, msg);
    nng_aio_set_timeout(sc->aio, (nng_duration)sc->serve->config.send_timeout_ms);
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

static void count(hub_serve *serve, uint64_t *counter)
{
    pthread_mutex_lock(&serve->lock);
    (*counter)++;
    pthread_mutex_unlock(&serve->lock);
}

/* Answer a held or fresh bundle request: the newest bundle if it is newer
 * than what the agent has, else "not modified". On a worker. */
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
        count(sc->serve, &sc->serve->stats.bundles_served);
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
    /* Last seen to the second is all status shows: an agent's report right
     * after its long-poll (every commit) need not write it again. */
    int64_t now = gf_wire_now_ms();
    if (now - c.last_seen_ms >= SERVE_TOUCH_MS)
        hub_store_cluster_touch(serve->store, cluster, now);
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
    count(serve, &serve->stats.joins);
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
    count(serve, &serve->stats.reports);
    resp.has_code = 1;
    resp.response_case = GITFLEET__HUB_RESPONSE__RESPONSE_REPORT_STORED;
    resp.report_stored = 1;
    send_response(sc, &resp);
    hub_seckeys_rotation_free(resp.secret_key_rotation);
    return 0;
}

/* Take a held long-poll out of the waiting table and the deadlines. */
static void unwait(hub_serve *serve, struct serve_ctx *sc)
{
    struct serve_ctx **link = waiting_link(serve, sc->cluster);

    if (*link == sc)
        *link = sc->next_wait;
    sc->next_wait = NULL;
    hub_deadlines_clear(serve->deadlines, (size_t)(sc - serve->ctxs));
    serve->stats.waiting--;
}

/* Hold the context until a newer bundle of its cluster, its deadline, or a
 * newer long-poll of the same cluster (which replaces this one: an agent
 * has one bundle request at a time, so the older is abandoned). */
static void hold(struct serve_ctx *sc, int64_t wait_ms)
{
    hub_serve *serve = sc->serve;
    char cluster[HUB_STORE_NAME_MAX];
    uint64_t max = 0;
    size_t first_slot;
    int64_t first, when = monotonic_ms() + wait_ms;

    pthread_mutex_lock(&serve->lock);
    struct serve_ctx *old = *waiting_link(serve, sc->cluster);
    if (old != NULL) { /* receiving again abandons the old request unanswered */
        unwait(serve, old);
        pipe_release(serve, old->pipe);
        old->state = CTX_RECV;
        serve->stats.replaced++;
    }
    sc->state = CTX_WAIT;
    sc->extended = 0;
    sc->next_wait = serve->waiting[hash_name(sc->cluster, serve->n_waiting_buckets)];
    serve->waiting[hash_name(sc->cluster, serve->n_waiting_buckets)] = sc;
    serve->stats.waiting++;
    /* Answerers sleep until the earliest deadline: tell one of an earlier one. */
    if (!hub_deadlines_first(serve->deadlines, &first_slot, &first) || when < first)
        pthread_cond_signal(&serve->answer_ready);
    hub_deadlines_set(serve->deadlines, (size_t)(sc - serve->ctxs), when);
    /* From here the context may be answered and reused at any time. */
    snprintf(cluster, sizeof(cluster), "%s", sc->cluster);
    uint64_t after = sc->after;
    pthread_mutex_unlock(&serve->lock);
    if (old != NULL)
        arm_recv(old);
    /* A bundle stored, or the cluster removed, between the caller's look and
     * now found nobody waiting: look again, now that this request can be
     * found (either wakes it; a removal after this is hub_serve_revoke's). */
    struct hub_store_cluster c;
    if (hub_store_cluster_get(serve->store, cluster, &c) < 0 || !c.joined)
        hub_serve_revoke(serve, cluster);
    else if (hub_store_bundle_max_generation(serve->store, cluster, &max) == 0 && max > after)
        hub_serve_notify(serve, cluster);
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
    if (max > sc->after || wait <= 0)
        send_bundle_or_not_modified(sc);
    else
        hold(sc, wait);
}

/* Decode, authenticate and dispatch one request. On a worker. */
static void handle_message(struct serve_ctx *sc, const void *data, size_t len)
{
    struct gf_wire_request req;
    int error;

    count(sc->serve, &sc->serve->stats.requests);
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
    count(sc->serve, &sc->serve->stats.refused);
    gf_log_warn("HUB-AGENT-REFUSED", "error=\"%s\"", gf_error_last());
    send_error(sc, error);
}

/* A held long-poll's turn to be answered, from the newest bundle kept in
 * memory (latest.h): answerers take no store lock. A cluster removed
 * after its request was verified gets no bundle: hub_serve_revoke() wakes
 * it, hold() looks once it can be found, and the removal is seen here when
 * a bundle stored after it woke the long-poll first. */
static void answer_poll(struct serve_ctx *sc, enum ctx_job job)
{
    if (job == JOB_REFUSE_REVOKED || hub_store_cluster_removed(sc->serve->store, sc->cluster)) {
        count(sc->serve, &sc->serve->stats.refused);
        send_error(sc,
                   gf_error_set(GF_EPERM, "cluster '%s' was removed from the hub", sc->cluster));
        return;
    }
    send_bundle_or_not_modified(sc);
}

static void do_job(struct serve_ctx *sc)
{
    if (sc->job == JOB_REQUEST) {
        nng_msg *msg = sc->msg;
        sc->msg = NULL;
        handle_message(sc, nng_msg_body(msg), nng_msg_len(msg));
        nng_msg_free(msg);
    } else if (sc->job == JOB_CLOSE_PIPE) {
        int rv = nng_pipe_close(sc->pipe);
        if (rv != 0) /* so that a close that fails is seen */
            gf_log_error("HUB-AGENT-CLOSE-FAIL", "pipe=%u error=\"%s\"",
                         (unsigned)nng_pipe_id(sc->pipe), nng_strerror(rv));
        ctx_done(sc);
    } else {
        answer_poll(sc, sc->job);
    }
}

/* Workers take queued contexts in batches; each batch's store writes
 * (nonces, last-seen times, reports) commit in one transaction. They run at
 * a low priority: they leave the periodic commit of a long batch (a sync
 * pass's) to the pass, and their writes commit with it. */
static void run_batch(hub_serve *serve, struct serve_ctx **batch, int n)
{
    hub_store_batch_begin(serve->store);
    for (int i = 0; i < n; i++)
        do_job(batch[i]);
    hub_store_batch_end_lazy(serve->store);
}

/* Request workers: answers first when there are any, then requests. */
static void *worker_main(void *arg)
{
    hub_serve *serve = arg;
    struct serve_ctx *batch[SERVE_WORK_BATCH];

    gf_os_thread_name("gf-serve-work");
    /* Below the sync pass's render threads: when a commit changes every
     * cluster on a saturated hub, the fleet gets its new bundles first and
     * the reports of the last one wait (10,000 simulated clusters on 2 cores:
     * commit -> applied p99 10.8 s -> 8.5 s). Nice 10 still gets a tenth of a
     * CPU against a busy pass: reports wait, they are not starved. */
    gf_os_thread_yield_priority(SERVE_WORKER_NICE);
    for (;;) {
        pthread_mutex_lock(&serve->lock);
        while (!serve->stopping && serve->answers.head == NULL && serve->requests.head == NULL)
            pthread_cond_wait(&serve->work_ready, &serve->lock);
        int stopping = serve->stopping, n = 0;
        if (!stopping)
            n = take_work(&serve->requests, batch, take_work(&serve->answers, batch, 0));
        pthread_mutex_unlock(&serve->lock);
        if (stopping)
            return NULL;
        run_batch(serve, batch, n);
    }
}

/* Queue the answer ("not modified") of every held long-poll whose deadline
 * has passed; the milliseconds until the next one, -1 when none is held.
 * Caller holds serve->lock. */
static int64_t expire_due(hub_serve *serve)
{
    size_t slot;
    int64_t when, now = monotonic_ms();

    while (hub_deadlines_first(serve->deadlines, &slot, &when)) {
        if (when > now)
            return when - now;
        struct serve_ctx *sc = &serve->ctxs[slot];
        if (serve->pass_running && !sc->extended) {
            sc->extended = 1;
            hub_deadlines_set(serve->deadlines, slot, now + SERVE_PASS_GRACE_MS);
            continue;
        }
        unwait(serve, sc);
        queue_work(serve, sc, JOB_ANSWER_POLL);
    }
    return -1;
}

/* Sleep on answer_ready for up to `ms` (-1: until signalled). */
static void wait_answers(hub_serve *serve, int64_t ms)
{
    struct timespec at;

    if (ms < 0) {
        pthread_cond_wait(&serve->answer_ready, &serve->lock);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &at);
    at.tv_sec += (time_t)(ms / 1000);
    at.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (at.tv_nsec >= 1000000000L) {
        at.tv_sec++;
        at.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&serve->answer_ready, &serve->lock, &at);
}

/* An answerer: held long-polls whose bundle came or whose deadline passed
 * (and pipes to close), at the priority of the pass that published the
 * bundles, so that a new bundle reaches its agent while the workers are
 * still behind on reports. */
static void *answerer_main(void *arg)
{
    hub_serve *serve = arg;
    struct serve_ctx *batch[SERVE_WORK_BATCH];

    gf_os_thread_name("gf-serve-answer");
    for (;;) {
        pthread_mutex_lock(&serve->lock);
        for (;;) {
            int64_t next_ms = expire_due(serve);
            if (serve->stopping || serve->answers.head != NULL)
                break;
            wait_answers(serve, next_ms);
        }
        int stopping = serve->stopping;
        int n = stopping ? 0 : take_work(&serve->answers, batch, 0);
        pthread_mutex_unlock(&serve->lock);
        if (stopping)
            return NULL;
        /* Answers write nothing: no batch (the store's lock is the sync
         * pass's; the periodic commit is the pass's business). */
        for (int i = 0; i < n; i++)
            do_job(batch[i]);
    }
}

/* ---- nng callbacks: state changes and queueing only ---- */

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
        if (rv != 0) /* the peer went away or does not read: the message is still ours */
            nng_msg_free(nng_aio_get_msg(sc->aio));
        if (rv == NNG_ETIMEDOUT) {
            /* Its replies pile up unread: the connection goes, and with it
             * every context it holds, not the fleet's. Closing a pipe may
             * wait on nng's own threads: a worker does it, once per pipe
             * (every context of a flooder times out together). */
            struct pipe_count *pc = *pipe_link(serve, nng_pipe_id(sc->pipe));
            serve->stats.send_timeouts++;
            if (pc != NULL && !pc->closing) {
                pc->closing = 1;
                queue_work(serve, sc, JOB_CLOSE_PIPE);
                pthread_mutex_unlock(&serve->lock);
                return;
            }
        }
        pipe_release(serve, sc->pipe);
        sc->state = CTX_RECV;
        pthread_mutex_unlock(&serve->lock);
        arm_recv(sc);
        return;
    }
    if (sc->state != CTX_RECV || rv != 0) {
        pthread_mutex_unlock(&serve->lock);
        if (sc->state == CTX_RECV)
            arm_recv(sc);
        return;
    }
    nng_msg *msg = nng_aio_get_msg(sc->aio);
    sc->pipe = nng_msg_get_pipe(msg);
    if (!pipe_hold(serve, sc->pipe)) {
        /* This connection already holds its share of contexts. */
        serve->stats.dropped++;
        pthread_mutex_unlock(&serve->lock);
        nng_msg_free(msg);
        arm_recv(sc);
        return;
    }
    sc->msg = msg;
    queue_work(serve, sc, JOB_REQUEST);
    pthread_mutex_unlock(&serve->lock);
}

/* Answer the held long-poll of `cluster`, if any, with `job`. */
static void wake_cluster(hub_serve *serve, const char *cluster, enum ctx_job job)
{
    if (serve == NULL)
        return;
    pthread_mutex_lock(&serve->lock);
    struct serve_ctx *sc = *waiting_link(serve, cluster);
    if (sc != NULL) {
        unwait(serve, sc);
        queue_work(serve, sc, job);
    }
    pthread_mutex_unlock(&serve->lock);
}

void hub_serve_pass(hub_serve *serve, int running)
{
    if (serve == NULL)
        return;
    pthread_mutex_lock(&serve->lock);
    serve->pass_running = running;
    pthread_mutex_unlock(&serve->lock);
}

void hub_serve_notify(hub_serve *serve, const char *cluster)
{
    wake_cluster(serve, cluster, JOB_ANSWER_POLL);
}

void hub_serve_revoke(hub_serve *serve, const char *cluster)
{
    wake_cluster(serve, cluster, JOB_REFUSE_REVOKED);
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
    if (c->workers <= 0)
        c->workers = gf_os_cpu_count();
    if (c->workers > SERVE_MAX_WORKERS)
        c->workers = SERVE_MAX_WORKERS;
    if (c->per_peer <= 0)
        c->per_peer = 8;
    if (c->send_timeout_ms <= 0)
        c->send_timeout_ms = 10000;
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

static int open_tables(hub_serve *serve)
{
    serve->n_waiting_buckets = (size_t)serve->config.contexts;
    serve->n_pipe_buckets = (size_t)serve->config.contexts;
    serve->waiting = calloc(serve->n_waiting_buckets, sizeof(*serve->waiting));
    serve->pipes = calloc(serve->n_pipe_buckets, sizeof(*serve->pipes));
    if (serve->waiting == NULL || serve->pipes == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    return hub_deadlines_new(&serve->deadlines, (size_t)serve->config.contexts);
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
        arm_recv(&serve->ctxs[i]);
    }
    return 0;
}

static int start_workers(hub_serve *serve)
{
    for (int i = 0; i < SERVE_ANSWERERS; i++) {
        if (pthread_create(&serve->answerers[i], NULL, answerer_main, serve) != 0)
            return gf_error_set(GF_ERROR, "cannot start the agent endpoint's answerers");
        serve->n_answerers = i + 1;
    }
    for (int i = 0; i < serve->config.workers; i++) {
        if (pthread_create(&serve->workers[i], NULL, worker_main, serve) != 0)
            return gf_error_set(GF_ERROR, "cannot start the agent endpoint's workers");
        serve->n_workers = i + 1;
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
    pthread_cond_init(&serve->work_ready, NULL);
    pthread_condattr_t monotonic;
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
    pthread_cond_init(&serve->answer_ready, &monotonic);
    pthread_condattr_destroy(&monotonic);
    if ((error = gf_sign_key_public_raw(serve->hub_public, hub_key)) < 0 ||
        (error = open_tables(serve)) < 0 || (error = start_workers(serve)) < 0 ||
        (error = open_socket(serve)) < 0 || (error = open_contexts(serve)) < 0)
        goto fail;
    gf_log_info("HUB-SERVE-LISTEN", "url=%s contexts=%d workers=%d per_peer=%d", config->listen,
                serve->config.contexts, serve->config.workers, serve->config.per_peer);
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
    pthread_cond_broadcast(&serve->work_ready);
    pthread_cond_broadcast(&serve->answer_ready);
    pthread_mutex_unlock(&serve->lock);
    for (int i = 0; i < serve->n_workers; i++)
        pthread_join(serve->workers[i], NULL);
    for (int i = 0; i < serve->n_answerers; i++)
        pthread_join(serve->answerers[i], NULL);
    nng_close(serve->sock);
    for (int i = 0; i < serve->n_ctxs; i++) {
        struct serve_ctx *sc = &serve->ctxs[i];
        nng_aio_stop(sc->aio);
        nng_aio_free(sc->aio);
        if (sc->msg)
            nng_msg_free(sc->msg);
    }
    for (size_t i = 0; serve->pipes && i < serve->n_pipe_buckets; i++)
        while (serve->pipes[i]) {
            struct pipe_count *pc = serve->pipes[i];
            serve->pipes[i] = pc->next;
            free(pc);
        }
    free(serve->pipes);
    free(serve->waiting);
    hub_deadlines_free(serve->deadlines);
    free(serve->ctxs);
    pthread_cond_destroy(&serve->work_ready);
    pthread_cond_destroy(&serve->answer_ready);
    pthread_mutex_destroy(&serve->lock);
    free(serve);
}
