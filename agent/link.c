/* link.c -- the agent's connection to the hub: signed requests over nng REQ */
#include "link.h"

#include "gitfleet/error.h"

#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct agent_link {
    nng_socket sock;
    nng_dialer dialer;
    char cluster[64];
    const gf_sign_key *key;
    int64_t timeout_ms;
    int tls;
    volatile int closed;
    char secret_recipient[128];                  /* sent at join */
    Gitfleet__SignedSecretKeyRotation *rotation; /* from the last report's answer */
    struct link_call *call;                      /* the asynchronous request, once used */
};

/* One asynchronous request at a time per link (agent_link_*_start): its own
 * context and aio, kept for the next. */
enum call_phase { CALL_IDLE, CALL_SEND, CALL_RECV };

struct link_call {
    agent_link *link;
    nng_ctx ctx;
    nng_aio *aio;
    enum call_phase phase;
    int64_t wait_ms;
    uint64_t after; /* a fetch's generation */
    agent_link_done_fn done;
    void *arg;
    int error;                   /* the outcome, with message: */
    char message[512];           /* errors are per thread, the outcome is read on another */
    Gitfleet__HubResponse *resp; /* the answer, until taken */
};

/* The reason a connection attempt failed, in words an operator can act on. */
static const char *dial_hint(int rv, int tls)
{
    if (!tls)
        return "";
    switch (rv) {
    case NNG_ECRYPTO:
    case NNG_EPEERAUTH:
        return " (TLS handshake failed: check --hub-ca, --tls-server-name and that the client "
               "certificate is signed by the hub's --tls-client-ca)";
    case NNG_ECONNSHUT:
    case NNG_ECONNRESET:
        return " (the hub closed the TLS handshake: it wants a client certificate signed by its "
               "--tls-client-ca; give --client-cert and --client-key)";
    default:
        return "";
    }
}

/* A counter of the dialer's statistics (0 when nng keeps none). */
static uint64_t dialer_stat(nng_stat *all, nng_dialer dialer, const char *name)
{
    nng_stat *mine = all ? nng_stat_find_dialer(all, dialer) : NULL;
    nng_stat *st = mine ? nng_stat_find(mine, name) : NULL;

    return st ? nng_stat_value(st) : 0;
}

/* Why the background dialer has no connection, from nng's counters of
 * failed attempts: a TLS set-up problem shows only there in the run loop. */
static void dial_trouble(const agent_link *link, char *buf, size_t len)
{
    nng_stat *all = NULL;
    uint64_t tls_failed, other, refused;

    buf[0] = '\0';
    if (nng_stats_get(&all) != 0)
        return;
    tls_failed = dialer_stat(all, link->dialer, "auth");
    other = dialer_stat(all, link->dialer, "other");
    refused = dialer_stat(all, link->dialer, "refused");
    nng_stats_free(all);
    if (link->tls && tls_failed > 0)
        snprintf(buf, len,
                 "; %llu connection attempts failed the TLS handshake (check --hub-ca, "
                 "--tls-server-name and that the client certificate is signed by the hub's "
                 "--tls-client-ca)",
                 (unsigned long long)tls_failed);
    else if (link->tls && other > 0)
        snprintf(buf, len,
                 "; the hub closed %llu TLS handshakes (does it want a client certificate? "
                 "give --client-cert and --client-key)",
                 (unsigned long long)other);
    else if (refused > 0)
        snprintf(buf, len, "; %llu connection attempts were refused (is the hub running?)",
                 (unsigned long long)refused);
}

/* A join dials once and waits, so that a bad address or TLS set-up fails
 * at once with its reason (a one-shot command should say what is wrong, not
 * time out). The run loop dials in the background: nng keeps retrying, and
 * the agent enforces its cached bundle while the hub is away. */
static int dial(agent_link *link, const char *url, int joining)
{
    int rv = nng_dialer_start(link->dialer, joining ? 0 : NNG_FLAG_NONBLOCK);

    if (rv == 0)
        return 0;
    if (joining)
        return gf_error_set(rv == NNG_ECONNREFUSED ? GF_EIO : GF_EPERM,
                            "cannot connect to the hub at %s: %s%s", url, nng_strerror(rv),
                            dial_hint(rv, link->tls));
    return gf_error_set(GF_EIO, "cannot dial %s: %s", url, nng_strerror(rv));
}

int agent_link_open(agent_link **out, const struct agent_link_config *config)
{
    agent_link *link;
    int rv, error = 0;

    *out = NULL;
    if ((link = calloc(1, sizeof(*link))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    snprintf(link->cluster, sizeof(link->cluster), "%s", config->cluster ? config->cluster : "");
    link->key = config->key;
    snprintf(link->secret_recipient, sizeof(link->secret_recipient), "%s",
             config->secret_recipient ? config->secret_recipient : "");
    link->timeout_ms = config->timeout_ms > 0 ? config->timeout_ms : 10000;
    link->tls = strncmp(config->hub_url, "tls+tcp://", 10) == 0;
    if ((rv = nng_req0_open(&link->sock)) != 0) {
        free(link);
        return gf_error_set(GF_ERROR, "nng: %s", nng_strerror(rv));
    }
    /* A long-poll must never be re-sent behind our back: the hub holds it. */
    nng_socket_set_ms(link->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    nng_socket_set_size(link->sock, NNG_OPT_RECVMAXSZ, GF_WIRE_MAX_MESSAGE);
    nng_socket_set_ms(link->sock, NNG_OPT_RECONNMINT, 100);
    nng_socket_set_ms(link->sock, NNG_OPT_RECONNMAXT, 10000);
    if ((rv = nng_dialer_create(&link->dialer, link->sock, config->hub_url)) != 0) {
        error = gf_error_set(GF_EINVAL, "hub URL %s: %s", config->hub_url, nng_strerror(rv));
        goto fail;
    }
    if (link->tls && (error = gf_wire_tls_dialer(link->dialer, &config->tls)) < 0)
        goto fail;
    if ((error = dial(link, config->hub_url, config->cluster == NULL || !config->cluster[0])) < 0)
        goto fail;
    *out = link;
    return 0;
fail:
    agent_link_close(link);
    return error;
}

void agent_link_interrupt(agent_link *link)
{
    if (link != NULL && !link->closed) {
        link->closed = 1;
        nng_close(link->sock);
    }
}

void agent_link_close(agent_link *link)
{
    if (link == NULL)
        return;
    agent_link_interrupt(link);
    if (link->call) { /* nng_aio_free waits for a callback that is running */
        nng_aio_free(link->call->aio);
        if (link->call->resp)
            gitfleet__hub_response__free_unpacked(link->call->resp, NULL);
        free(link->call);
    }
    if (link->rotation)
        gitfleet__signed_secret_key_rotation__free_unpacked(link->rotation, NULL);
    free(link);
}

/* Stamp `body` with the cluster, the time and a fresh nonce, and sign it. */
static int seal_request(agent_link *link, Gitfleet__AgentRequestBody *body, unsigned char nonce[16],
                        unsigned char **bytes, size_t *len)
{
    int error;

    body->cluster = link->cluster;
    body->has_time_unix_ms = 1;
    body->time_unix_ms = gf_wire_now_ms();
    if ((error = gf_wire_random(nonce, 16)) < 0)
        return error;
    body->has_nonce = 1;
    body->nonce.data = nonce;
    body->nonce.len = 16;
    return gf_wire_request_seal(bytes, len, body, link->key);
}

/* The hub's answer in `msg`, or its refusal as an error. */
static int parse_response(nng_msg *msg, Gitfleet__HubResponse **resp_out)
{
    Gitfleet__HubResponse *resp =
        gitfleet__hub_response__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
    int error = 0;

    *resp_out = NULL;
    if (resp == NULL)
        return gf_error_set(GF_EINVAL, "malformed response from the hub");
    if (resp->has_code && resp->code < 0) {
        error = gf_error_set(resp->code, "hub refused: %s",
                             resp->message ? resp->message : "no reason given");
        gitfleet__hub_response__free_unpacked(resp, NULL);
        return error;
    }
    *resp_out = resp;
    return 0;
}

static int message_of(nng_msg **out, const unsigned char *bytes, size_t len)
{
    int rv;

    if ((rv = nng_msg_alloc(out, 0)) != 0 || (rv = nng_msg_append(*out, bytes, len)) != 0) {
        if (*out)
            nng_msg_free(*out);
        *out = NULL;
        return gf_error_set(GF_ENOMEM, "nng: %s", nng_strerror(rv));
    }
    return 0;
}

/* Send one signed request and wait for the hub's response (new reference). */
static int roundtrip(agent_link *link, Gitfleet__AgentRequestBody *body, int64_t wait_ms,
                     Gitfleet__HubResponse **resp_out)
{
    unsigned char nonce[16], *bytes = NULL;
    size_t len = 0;
    nng_ctx ctx;
    nng_aio *aio = NULL;
    nng_msg *msg = NULL;
    int rv, error;

    *resp_out = NULL;
    if ((error = seal_request(link, body, nonce, &bytes, &len)) < 0)
        return error;
    if ((rv = nng_ctx_open(&ctx, link->sock)) != 0) {
        free(bytes);
        return gf_error_set(GF_ERROR, "nng: %s", nng_strerror(rv));
    }
    if ((rv = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
        error = gf_error_set(GF_ENOMEM, "nng: %s", nng_strerror(rv));
        goto out;
    }
    if ((error = message_of(&msg, bytes, len)) < 0)
        goto out;
    nng_aio_set_timeout(aio, (nng_duration)link->timeout_ms);
    nng_aio_set_msg(aio, msg);
    nng_ctx_send(ctx, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0) {
        char trouble[300];
        dial_trouble(link, trouble, sizeof(trouble));
        error = gf_error_set(rv == NNG_ETIMEDOUT ? GF_ETIMEDOUT : GF_EIO,
                             "sending to the hub: %s%s", nng_strerror(rv), trouble);
        goto out; /* msg is still ours */
    }
    msg = NULL;
    nng_aio_set_timeout(aio, (nng_duration)(link->timeout_ms + wait_ms));
    nng_ctx_recv(ctx, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0) {
        error = gf_error_set(rv == NNG_ETIMEDOUT ? GF_ETIMEDOUT : GF_EIO, "waiting for the hub: %s",
                             nng_strerror(rv));
        goto out;
    }
    msg = nng_aio_get_msg(aio);
    error = parse_response(msg, resp_out);
out:
    if (msg)
        nng_msg_free(msg);
    if (aio)
        nng_aio_free(aio);
    nng_ctx_close(ctx);
    free(bytes);
    return error;
}

int agent_link_join(agent_link *link, const char *token, char *cluster_out, size_t cluster_cap,
                    unsigned char hub_key_out[GF_SIGN_PUBLIC_KEY_LEN])
{
    Gitfleet__AgentRequestBody body = GITFLEET__AGENT_REQUEST_BODY__INIT;
    Gitfleet__JoinRequest join = GITFLEET__JOIN_REQUEST__INIT;
    Gitfleet__HubResponse *resp = NULL;
    unsigned char pub[GF_SIGN_PUBLIC_KEY_LEN];
    int error;

    if ((error = gf_sign_key_public_raw(pub, link->key)) < 0)
        return error;
    join.token = (char *)token;
    join.has_public_key = 1;
    join.public_key.data = pub;
    join.public_key.len = sizeof(pub);
    if (link->secret_recipient[0])
        join.secret_recipient = link->secret_recipient;
    body.request_case = GITFLEET__AGENT_REQUEST_BODY__REQUEST_JOIN;
    body.join = &join;
    if ((error = roundtrip(link, &body, 0, &resp)) < 0)
        return error;
    if (resp->response_case != GITFLEET__HUB_RESPONSE__RESPONSE_JOIN ||
        resp->join->cluster == NULL || resp->join->hub_public_key.len != GF_SIGN_PUBLIC_KEY_LEN) {
        error = gf_error_set(GF_EINVAL, "the hub's join response is incomplete");
    } else {
        snprintf(cluster_out, cluster_cap, "%s", resp->join->cluster);
        snprintf(link->cluster, sizeof(link->cluster), "%s", resp->join->cluster);
        memcpy(hub_key_out, resp->join->hub_public_key.data, GF_SIGN_PUBLIC_KEY_LEN);
    }
    gitfleet__hub_response__free_unpacked(resp, NULL);
    return error;
}

static void fetch_body(Gitfleet__AgentRequestBody *body, Gitfleet__BundleRequest *br,
                       uint64_t after, int64_t wait_ms)
{
    br->has_after_generation = br->has_wait_ms = 1;
    br->after_generation = after;
    br->wait_ms = wait_ms;
    body->request_case = GITFLEET__AGENT_REQUEST_BODY__REQUEST_BUNDLE;
    body->bundle = br;
}

/* The bundle in a fetch's answer (`resp` is freed). */
static int fetch_answer(Gitfleet__HubResponse *resp, uint64_t after, unsigned char **out,
                        size_t *len_out)
{
    int error = 0;

    if (resp->response_case == GITFLEET__HUB_RESPONSE__RESPONSE_BUNDLE) {
        if ((*out = malloc(resp->bundle.len ? resp->bundle.len : 1)) == NULL) {
            error = gf_error_set(GF_ENOMEM, "out of memory");
        } else {
            memcpy(*out, resp->bundle.data, resp->bundle.len);
            *len_out = resp->bundle.len;
        }
    } else {
        error = gf_error_set(GF_ENOTFOUND, "no bundle newer than generation %llu",
                             (unsigned long long)after);
    }
    gitfleet__hub_response__free_unpacked(resp, NULL);
    return error;
}

/* Keep a report's key rotation request for agent_link_take_rotation()
 * (`resp` is freed). */
static void report_answer(agent_link *link, Gitfleet__HubResponse *resp)
{
    if (resp->secret_key_rotation != NULL) {
        if (link->rotation)
            gitfleet__signed_secret_key_rotation__free_unpacked(link->rotation, NULL);
        link->rotation = resp->secret_key_rotation;
        resp->secret_key_rotation = NULL;
    }
    gitfleet__hub_response__free_unpacked(resp, NULL);
}

int agent_link_fetch(agent_link *link, uint64_t after, int64_t wait_ms, unsigned char **out,
                     size_t *len_out)
{
    Gitfleet__AgentRequestBody body = GITFLEET__AGENT_REQUEST_BODY__INIT;
    Gitfleet__BundleRequest br = GITFLEET__BUNDLE_REQUEST__INIT;
    Gitfleet__HubResponse *resp = NULL;
    int error;

    *out = NULL;
    fetch_body(&body, &br, after, wait_ms);
    if ((error = roundtrip(link, &body, wait_ms, &resp)) < 0)
        return error;
    return fetch_answer(resp, after, out, len_out);
}

int agent_link_report(agent_link *link, const Gitfleet__Report *report)
{
    Gitfleet__AgentRequestBody body = GITFLEET__AGENT_REQUEST_BODY__INIT;
    Gitfleet__HubResponse *resp = NULL;
    int error;

    body.request_case = GITFLEET__AGENT_REQUEST_BODY__REQUEST_REPORT;
    body.report = (Gitfleet__Report *)report;
    if ((error = roundtrip(link, &body, 0, &resp)) < 0)
        return error;
    report_answer(link, resp);
    return 0;
}

/* ---- asynchronous requests ---- */

/* The outcome is kept, with its message, for the *_finish call on the
 * caller's thread; then the caller is told. */
static void call_end(struct link_call *c, int error, Gitfleet__HubResponse *resp)
{
    c->error = error;
    snprintf(c->message, sizeof(c->message), "%s", error < 0 ? gf_error_last() : "");
    c->resp = resp;
    c->phase = CALL_IDLE;
    c->done(c->arg);
}

/* On an nng thread: the send went out (then wait for the answer), or the
 * answer came. Never blocks. */
static void call_callback(void *arg)
{
    struct link_call *c = arg;
    Gitfleet__HubResponse *resp = NULL;
    int rv = nng_aio_result(c->aio), error;

    if (c->phase == CALL_SEND) {
        if (rv != 0) {
            nng_msg_free(nng_aio_get_msg(c->aio));
            call_end(c,
                     gf_error_set(rv == NNG_ETIMEDOUT ? GF_ETIMEDOUT : GF_EIO,
                                  "sending to the hub: %s", nng_strerror(rv)),
                     NULL);
            return;
        }
        c->phase = CALL_RECV;
        nng_aio_set_timeout(c->aio, (nng_duration)(c->link->timeout_ms + c->wait_ms));
        nng_ctx_recv(c->ctx, c->aio);
        return;
    }
    if (rv != 0) {
        call_end(c,
                 gf_error_set(rv == NNG_ETIMEDOUT ? GF_ETIMEDOUT : GF_EIO,
                              "waiting for the hub: %s", nng_strerror(rv)),
                 NULL);
        return;
    }
    nng_msg *msg = nng_aio_get_msg(c->aio);
    error = parse_response(msg, &resp);
    nng_msg_free(msg);
    call_end(c, error, resp);
}

static int call_open(agent_link *link)
{
    struct link_call *c;
    int rv;

    if (link->call != NULL)
        return 0;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    c->link = link;
    if ((rv = nng_ctx_open(&c->ctx, link->sock)) != 0) {
        free(c);
        return gf_error_set(GF_ERROR, "nng: %s", nng_strerror(rv));
    }
    if ((rv = nng_aio_alloc(&c->aio, call_callback, c)) != 0) {
        nng_ctx_close(c->ctx);
        free(c);
        return gf_error_set(GF_ENOMEM, "nng: %s", nng_strerror(rv));
    }
    link->call = c;
    return 0;
}

static int call_start(agent_link *link, Gitfleet__AgentRequestBody *body, int64_t wait_ms,
                      uint64_t after, agent_link_done_fn done, void *arg)
{
    unsigned char nonce[16], *bytes = NULL;
    size_t len = 0;
    nng_msg *msg = NULL;
    int error;

    if (link->closed)
        return gf_error_set(GF_EIO, "the link to the hub is closed");
    if ((error = call_open(link)) < 0)
        return error;
    struct link_call *c = link->call;
    if (c->phase != CALL_IDLE || c->resp != NULL)
        return gf_error_set(GF_EINVAL, "a request is already in flight on this link");
    if ((error = seal_request(link, body, nonce, &bytes, &len)) < 0 ||
        (error = message_of(&msg, bytes, len)) < 0) {
        free(bytes);
        return error;
    }
    free(bytes);
    c->wait_ms = wait_ms;
    c->after = after;
    c->done = done;
    c->arg = arg;
    c->phase = CALL_SEND;
    nng_aio_set_timeout(c->aio, (nng_duration)link->timeout_ms);
    nng_aio_set_msg(c->aio, msg);
    nng_ctx_send(c->ctx, c->aio);
    return 0;
}

/* The finished call's response, or its error again on this thread. */
static int call_take(agent_link *link, Gitfleet__HubResponse **resp_out)
{
    struct link_call *c = link->call;

    *resp_out = NULL;
    if (c == NULL || c->phase != CALL_IDLE)
        return gf_error_set(GF_EINVAL, "no finished request on this link");
    if (c->error < 0) {
        int error = gf_error_set(c->error, "%s", c->message);
        c->error = 0;
        return error;
    }
    if (c->resp == NULL)
        return gf_error_set(GF_EINVAL, "no finished request on this link");
    *resp_out = c->resp;
    c->resp = NULL;
    return 0;
}

int agent_link_fetch_start(agent_link *link, uint64_t after, int64_t wait_ms,
                           agent_link_done_fn done, void *arg)
{
    Gitfleet__AgentRequestBody body = GITFLEET__AGENT_REQUEST_BODY__INIT;
    Gitfleet__BundleRequest br = GITFLEET__BUNDLE_REQUEST__INIT;

    fetch_body(&body, &br, after, wait_ms);
    return call_start(link, &body, wait_ms, after, done, arg);
}

int agent_link_fetch_finish(agent_link *link, unsigned char **out, size_t *len_out)
{
    Gitfleet__HubResponse *resp = NULL;
    int error;

    *out = NULL;
    if ((error = call_take(link, &resp)) < 0)
        return error;
    return fetch_answer(resp, link->call->after, out, len_out);
}

int agent_link_report_start(agent_link *link, const Gitfleet__Report *report,
                            agent_link_done_fn done, void *arg)
{
    Gitfleet__AgentRequestBody body = GITFLEET__AGENT_REQUEST_BODY__INIT;

    body.request_case = GITFLEET__AGENT_REQUEST_BODY__REQUEST_REPORT;
    body.report = (Gitfleet__Report *)report;
    return call_start(link, &body, 0, 0, done, arg);
}

int agent_link_report_finish(agent_link *link)
{
    Gitfleet__HubResponse *resp = NULL;
    int error;

    if ((error = call_take(link, &resp)) < 0)
        return error;
    report_answer(link, resp);
    return 0;
}

Gitfleet__SignedSecretKeyRotation *agent_link_take_rotation(agent_link *link)
{
    Gitfleet__SignedSecretKeyRotation *r = link->rotation;

    link->rotation = NULL;
    return r;
}
