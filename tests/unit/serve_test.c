/* serve_test.c -- hub endpoint and agent link over real nng sockets: join, long-poll, trust */
#include "harness.h"

#include "gitfleet/doc.h"
#include "gitfleet/error.h"
#include "link.h"
#include "serve.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct fixture {
    hub_store *store;
    gf_sign_key *hub_key;
    gf_sign_key *agent_key;
    hub_serve *serve;
    char url[64];
    int reports;
    char last_report_cluster[64];
};

static int count_report(void *arg, const char *cluster, const Gitfleet__Report *report)
{
    struct fixture *f = arg;

    f->reports++;
    snprintf(f->last_report_cluster, sizeof(f->last_report_cluster), "%s", cluster);
    return 0;
}

static void add_token(struct fixture *f, const char *cluster, const char *token, int64_t ttl)
{
    char hash[65];

    gf_sha256_hex(hash, token, strlen(token));
    GF_ASSERT_INT(hub_store_token_add(f->store, cluster, hash, gf_wire_now_ms() + ttl), 0);
}

static void start(struct fixture *f)
{
    char path[512];
    struct hub_serve_config config = {
        .listen = "tcp://127.0.0.1:0", .contexts = 16, .on_report = count_report, .arg = f};

    memset(f, 0, sizeof(*f));
    config.arg = f;
    snprintf(path, sizeof(path), "%s/hub.db", gf_test_tmpdir());
    GF_ASSERT_INT(hub_store_open(&f->store, path), 0);
    GF_ASSERT_INT(gf_sign_key_generate(&f->hub_key), 0);
    GF_ASSERT_INT(gf_sign_key_generate(&f->agent_key), 0);
    GF_ASSERT_INT(hub_serve_start(&f->serve, &config, f->store, f->hub_key), 0);
    snprintf(f->url, sizeof(f->url), "tcp://127.0.0.1:%d", hub_serve_port(f->serve));
}

static void stop(struct fixture *f)
{
    hub_serve_stop(f->serve);
    hub_store_close(f->store);
    gf_sign_key_free(f->hub_key);
    gf_sign_key_free(f->agent_key);
}

static agent_link *link_as(struct fixture *f, const char *cluster, const gf_sign_key *key)
{
    struct agent_link_config config = {
        .hub_url = f->url, .cluster = cluster, .key = key, .timeout_ms = 3000};
    agent_link *link = NULL;

    GF_ASSERT_INT(agent_link_open(&link, &config), 0);
    return link;
}

/* Store a signed bundle of `cluster` at `generation`, as the hub's renderer does. */
static void publish(struct fixture *f, const char *cluster, uint64_t generation)
{
    Gitfleet__Bundle bundle = GITFLEET__BUNDLE__INIT;
    struct hub_store_bundle b = {.generation = generation};
    int error;

    bundle.cluster = (char *)cluster;
    bundle.has_generation = 1;
    bundle.generation = generation;
    bundle.revision = "abc";
    GF_ASSERT_INT(gf_wire_bundle_seal(&b.signed_bytes, &b.signed_len, &bundle, f->hub_key), 0);
    snprintf(b.content_hash, sizeof(b.content_hash), "h%llu", (unsigned long long)generation);
    error = hub_store_bundle_put(f->store, cluster, &b);
    free(b.signed_bytes);
    GF_ASSERT_INT(error, 0);
    hub_serve_notify(f->serve, cluster);
}

static void join(struct fixture *f, agent_link *link, const char *token)
{
    char cluster[64];
    unsigned char hub_pub[32], want[32];

    GF_ASSERT_INT(agent_link_join(link, token, cluster, sizeof(cluster), hub_pub), 0);
    GF_ASSERT_STR(cluster, "dev-1");
    gf_sign_key_public_raw(want, f->hub_key);
    GF_ASSERT(memcmp(hub_pub, want, 32) == 0);
}

/* A link of cluster dev-1, joined with a fresh one-time token. */
static agent_link *joined_dev1(struct fixture *f)
{
    add_token(f, "dev-1", "tok-1", 60000);
    agent_link *link = link_as(f, "", f->agent_key);
    join(f, link, "tok-1");
    return link;
}

/* The fetched bytes are a bundle signed by the hub, for dev-1 at `generation`
 * (the bytes are freed). */
static void expect_bundle(struct fixture *f, unsigned char *bytes, size_t len, uint64_t generation)
{
    Gitfleet__Bundle *bundle = NULL;

    GF_ASSERT_INT(gf_wire_bundle_open(&bundle, bytes, len, f->hub_key), 0);
    GF_ASSERT_INT(bundle->generation, generation);
    GF_ASSERT_STR(bundle->cluster, "dev-1");
    gitfleet__bundle__free_unpacked(bundle, NULL);
    free(bytes);
}

static void test_serve__join_then_fetch_and_report(void)
{
    struct fixture f;
    unsigned char *bytes = NULL;
    size_t len = 0;
    Gitfleet__Report report = GITFLEET__REPORT__INIT;

    start(&f);
    agent_link *link = joined_dev1(&f);
    GF_ASSERT_INT(agent_link_fetch(link, 0, 0, &bytes, &len), GF_ENOTFOUND);
    publish(&f, "dev-1", 1);
    GF_ASSERT_INT(agent_link_fetch(link, 0, 0, &bytes, &len), 0);
    expect_bundle(&f, bytes, len, 1);

    report.cluster = "dev-1";
    GF_ASSERT_INT(agent_link_report(link, &report), 0);
    GF_ASSERT_INT(f.reports, 1);
    report.cluster = "prod-1";
    GF_ASSERT_INT(agent_link_report(link, &report), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "may not report for cluster 'prod-1'");
    agent_link_close(link);
    stop(&f);
}

/* The asynchronous calls (the fleet simulator's): the same answers, told
 * through the callback, read on the caller's thread. */
struct async_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
};

static void async_done(void *arg)
{
    struct async_wait *w = arg;

    pthread_mutex_lock(&w->lock);
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void async_wait_for(struct async_wait *w)
{
    pthread_mutex_lock(&w->lock);
    while (!w->done)
        pthread_cond_wait(&w->cond, &w->lock);
    w->done = 0;
    pthread_mutex_unlock(&w->lock);
}

static void test_serve__async_fetch_and_report(void)
{
    struct fixture f;
    struct async_wait w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    unsigned char *bytes = NULL;
    size_t len = 0;
    Gitfleet__Report report = GITFLEET__REPORT__INIT;

    start(&f);
    agent_link *link = joined_dev1(&f);
    /* Held by the hub until a bundle is published; one call at a time. */
    GF_ASSERT_INT(agent_link_fetch_start(link, 0, 5000, async_done, &w), 0);
    GF_ASSERT_INT(agent_link_report_start(link, &report, async_done, &w), GF_EINVAL);
    usleep(100 * 1000);
    publish(&f, "dev-1", 1);
    async_wait_for(&w);
    GF_ASSERT_INT(agent_link_fetch_finish(link, &bytes, &len), 0);
    expect_bundle(&f, bytes, len, 1);
    /* Nothing newer and no wait: not found. */
    GF_ASSERT_INT(agent_link_fetch_start(link, 1, 0, async_done, &w), 0);
    async_wait_for(&w);
    GF_ASSERT_INT(agent_link_fetch_finish(link, &bytes, &len), GF_ENOTFOUND);
    report.cluster = "dev-1";
    GF_ASSERT_INT(agent_link_report_start(link, &report, async_done, &w), 0);
    async_wait_for(&w);
    GF_ASSERT_INT(agent_link_report_finish(link), 0);
    GF_ASSERT_INT(f.reports, 1);
    /* The hub's refusal reaches the finishing thread with its message. */
    report.cluster = "prod-1";
    GF_ASSERT_INT(agent_link_report_start(link, &report, async_done, &w), 0);
    async_wait_for(&w);
    GF_ASSERT_INT(agent_link_report_finish(link), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "may not report for cluster 'prod-1'");
    agent_link_close(link);
    stop(&f);
}

static void test_serve__token_is_one_time(void)
{
    struct fixture f;
    char cluster[64];
    unsigned char hub_pub[32];

    start(&f);
    add_token(&f, "dev-1", "tok-1", 60000);
    add_token(&f, "dev-2", "tok-old", -1);
    agent_link *link = link_as(&f, "", f.agent_key);
    GF_ASSERT_INT(agent_link_join(link, "tok-old", cluster, sizeof(cluster), hub_pub), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "expired");
    join(&f, link, "tok-1");
    GF_ASSERT_INT(agent_link_join(link, "tok-1", cluster, sizeof(cluster), hub_pub), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "already used");
    GF_ASSERT_INT(agent_link_join(link, "guess", cluster, sizeof(cluster), hub_pub), GF_EPERM);
    agent_link_close(link);
    stop(&f);
}

static void test_serve__unknown_and_foreign_keys_are_refused(void)
{
    struct fixture f;
    gf_sign_key *other = NULL;
    unsigned char *bytes = NULL;
    size_t len;

    start(&f);
    agent_link *link = joined_dev1(&f);
    publish(&f, "dev-1", 1);
    /* Another key claiming to be dev-1, and a cluster that never joined. */
    GF_ASSERT_INT(gf_sign_key_generate(&other), 0);
    agent_link *impostor = link_as(&f, "dev-1", other);
    GF_ASSERT_INT(agent_link_fetch(impostor, 0, 0, &bytes, &len), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "not signed by its key");
    agent_link *stranger = link_as(&f, "prod-1", f.agent_key);
    GF_ASSERT_INT(agent_link_fetch(stranger, 0, 0, &bytes, &len), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "not joined");
    /* Revoked: the real agent is refused from then on. */
    GF_ASSERT_INT(hub_store_cluster_remove(f.store, "dev-1"), 0);
    GF_ASSERT_INT(agent_link_fetch(link, 0, 0, &bytes, &len), GF_EPERM);
    agent_link_close(impostor);
    agent_link_close(stranger);
    agent_link_close(link);
    gf_sign_key_free(other);
    stop(&f);
}

struct poll_arg {
    agent_link *link;
    int64_t wait_ms; /* 0: 5 s */
    int result;
    int64_t took_ms;
    uint64_t generation;
    const gf_sign_key *hub_key;
};

static void *long_poll(void *arg)
{
    struct poll_arg *p = arg;
    unsigned char *bytes = NULL;
    size_t len = 0;
    Gitfleet__Bundle *bundle = NULL;
    int64_t start = gf_wire_now_ms();

    p->result = agent_link_fetch(p->link, 1, p->wait_ms ? p->wait_ms : 5000, &bytes, &len);
    p->took_ms = gf_wire_now_ms() - start;
    if (p->result == 0 && gf_wire_bundle_open(&bundle, bytes, len, p->hub_key) == 0) {
        p->generation = bundle->generation;
        gitfleet__bundle__free_unpacked(bundle, NULL);
    }
    free(bytes);
    return NULL;
}

/* A hub with dev-1 joined through p's link and given generation 1. */
static void start_with_dev1(struct fixture *f, struct poll_arg *p)
{
    start(f);
    add_token(f, "dev-1", "tok-1", 60000);
    p->link = link_as(f, "", f->agent_key);
    p->hub_key = f->hub_key;
    join(f, p->link, "tok-1");
    publish(f, "dev-1", 1);
}

/* Publish dev-1's generation 2: the long-poll on `thread` gets it. */
static void publish_and_expect_2(struct fixture *f, struct poll_arg *p, pthread_t thread)
{
    publish(f, "dev-1", 2);
    pthread_join(thread, NULL);
    GF_ASSERT_INT(p->result, 0);
    GF_ASSERT_INT(p->generation, 2);
}

static void test_serve__long_poll_answers_on_notify(void)
{
    struct fixture f;
    struct poll_arg p = {0};
    pthread_t thread;
    struct hub_serve_stats stats;
    struct timespec pause = {0, 200 * 1000000L};

    start_with_dev1(&f, &p);
    add_token(&f, "prod-1", "tok-2", 60000);
    pthread_create(&thread, NULL, long_poll, &p);
    /* Wait (up to 5 s, the machine may be busy) until the hub holds it. */
    for (int i = 0; i < 100; i++) {
        hub_serve_stats(f.serve, &stats);
        if (stats.waiting == 1)
            break;
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    }
    GF_ASSERT_INT(stats.waiting, 1);
    nanosleep(&pause, NULL);
    publish(&f, "prod-1", 7); /* another cluster's bundle does not wake it */
    nanosleep(&pause, NULL);
    hub_serve_stats(f.serve, &stats);
    GF_ASSERT_INT(stats.waiting, 1);
    publish_and_expect_2(&f, &p, thread);
    /* Held through both pauses, answered as soon as its bundle existed. */
    GF_ASSERT(p.took_ms >= 400 && p.took_ms < 4500);
    agent_link_close(p.link);
    stop(&f);
}

/* A long-poll whose deadline passes during a sync pass is held on for the
 * bundle the pass is about to publish, instead of being sent away. */
static void test_serve__deadline_in_a_pass_waits_for_its_bundle(void)
{
    struct fixture f;
    struct poll_arg p = {.wait_ms = 300};
    pthread_t thread;
    struct hub_serve_stats stats;

    start_with_dev1(&f, &p);
    hub_serve_pass(f.serve, 1);
    pthread_create(&thread, NULL, long_poll, &p);
    nanosleep(&(struct timespec){1, 0}, NULL); /* well past its 300 ms */
    hub_serve_stats(f.serve, &stats);
    GF_ASSERT_INT(stats.waiting, 1);
    publish_and_expect_2(&f, &p, thread);
    hub_serve_pass(f.serve, 0);
    GF_ASSERT(p.took_ms >= 900);
    agent_link_close(p.link);
    stop(&f);
}

static void test_serve__long_poll_times_out_not_modified(void)
{
    struct fixture f;
    unsigned char *bytes = NULL;
    size_t len;

    start(&f);
    agent_link *link = joined_dev1(&f);
    int64_t t0 = gf_wire_now_ms();
    GF_ASSERT_INT(agent_link_fetch(link, 0, 300, &bytes, &len), GF_ENOTFOUND);
    int64_t took = gf_wire_now_ms() - t0;
    GF_ASSERT(took >= 250 && took < 4000);
    agent_link_close(link);
    stop(&f);
}

static void test_serve__garbage_gets_an_error_not_a_crash(void)
{
    struct fixture f;
    Gitfleet__AgentRequestBody body = GITFLEET__AGENT_REQUEST_BODY__INIT;
    struct gf_wire_request req;
    unsigned char *bytes = NULL;
    size_t len = 0;

    start(&f);
    /* A request with a stale timestamp is refused even when well signed. */
    GF_ASSERT_INT(gf_wire_request_decode(&req, "\x0a\x02zz", 4), GF_EINVAL);
    body.cluster = "dev-1";
    GF_ASSERT_INT(gf_wire_request_seal(&bytes, &len, &body, f.agent_key), 0);
    GF_ASSERT_INT(gf_wire_request_decode(&req, bytes, len - 1), GF_EINVAL);
    GF_ASSERT_INT(gf_wire_request_decode(&req, bytes, len), 0);
    GF_ASSERT_INT(gf_wire_request_verify(&req, f.agent_key), 0);
    GF_ASSERT_INT(gf_wire_request_verify(&req, f.hub_key), GF_EPERM);
    gf_wire_request_clear(&req);
    free(bytes);
    stop(&f);
}

/* A fetch on its own link (own context), with a short reply timeout. */
struct fetch_arg {
    agent_link *link;
    int64_t wait_ms;
    int result;
    int64_t took_ms;
};

static void *fetch_thread(void *arg)
{
    struct fetch_arg *a = arg;
    unsigned char *bytes = NULL;
    size_t len = 0;
    int64_t t0 = gf_wire_now_ms();

    a->result = agent_link_fetch(a->link, 1, a->wait_ms, &bytes, &len);
    a->took_ms = gf_wire_now_ms() - t0;
    free(bytes);
    return NULL;
}

static agent_link *link_quick(struct fixture *f, const char *cluster)
{
    struct agent_link_config config = {
        .hub_url = f->url, .cluster = cluster, .key = f->agent_key, .timeout_ms = 500};
    agent_link *link = NULL;

    GF_ASSERT_INT(agent_link_open(&link, &config), 0);
    return link;
}

static void wait_stats(struct fixture *f, int waiting, uint64_t replaced)
{
    struct hub_serve_stats stats = {0};

    for (int i = 0; i < 100; i++) {
        hub_serve_stats(f->serve, &stats);
        if (stats.waiting == waiting && stats.replaced == replaced)
            return;
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    }
    GF_ASSERT_INT(stats.waiting, waiting);
    GF_ASSERT_INT(stats.replaced, replaced);
}

/* One cluster's key cannot hold many contexts with long-polls: a newer
 * long-poll of a cluster replaces its older one, which is abandoned. */
static void test_serve__new_long_poll_replaces_the_old(void)
{
    struct fixture f;
    struct fetch_arg old = {.wait_ms = 1500}, now = {.wait_ms = 5000};
    pthread_t t1, t2;

    start(&f);
    agent_link *joiner = joined_dev1(&f);
    agent_link_close(joiner);
    publish(&f, "dev-1", 1);
    old.link = link_quick(&f, "dev-1");
    now.link = link_quick(&f, "dev-1");
    pthread_create(&t1, NULL, fetch_thread, &old);
    wait_stats(&f, 1, 0);
    pthread_create(&t2, NULL, fetch_thread, &now);
    wait_stats(&f, 1, 1); /* still one held, the old one replaced */
    publish(&f, "dev-1", 2);
    pthread_join(t2, NULL);
    pthread_join(t1, NULL);
    GF_ASSERT_INT(now.result, 0);
    /* The old request got no answer at all (not even "not modified" at its
     * 1.5 s deadline): its link gave up after its own timeout. */
    GF_ASSERT_INT(old.result, GF_ETIMEDOUT);
    agent_link_close(old.link);
    agent_link_close(now.link);
    stop(&f);
}

/* A long-poll already held when the cluster is removed gets a refusal, not
 * the next bundle. */
static void test_serve__revoked_cluster_waiting_poll_gets_no_bundle(void)
{
    struct fixture f;
    struct fetch_arg poll = {.wait_ms = 5000};
    pthread_t t;

    start(&f);
    agent_link *joiner = joined_dev1(&f);
    agent_link_close(joiner);
    publish(&f, "dev-1", 1);
    poll.link = link_quick(&f, "dev-1");
    pthread_create(&t, NULL, fetch_thread, &poll);
    wait_stats(&f, 1, 0);
    GF_ASSERT_INT(hub_store_cluster_remove(f.store, "dev-1"), 0);
    publish(&f, "dev-1", 2); /* stored before the hub learns of the removal */
    hub_serve_revoke(f.serve, "dev-1");
    pthread_join(t, NULL);
    GF_ASSERT_INT(poll.result, GF_EPERM);
    GF_ASSERT(poll.took_ms < 4000);
    agent_link_close(poll.link);
    stop(&f);
}

GF_TESTS(GF_TEST(test_serve__join_then_fetch_and_report), GF_TEST(test_serve__token_is_one_time),
         GF_TEST(test_serve__unknown_and_foreign_keys_are_refused),
         GF_TEST(test_serve__long_poll_answers_on_notify),
         GF_TEST(test_serve__long_poll_times_out_not_modified),
         GF_TEST(test_serve__deadline_in_a_pass_waits_for_its_bundle),
         GF_TEST(test_serve__garbage_gets_an_error_not_a_crash),
         GF_TEST(test_serve__new_long_poll_replaces_the_old),
         GF_TEST(test_serve__revoked_cluster_waiting_poll_gets_no_bundle),
         GF_TEST(test_serve__async_fetch_and_report));
