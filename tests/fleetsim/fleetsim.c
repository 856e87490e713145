/* fleetsim.c -- a fleet simulator: N clusters in one process, each a real joined agent identity */
/*
 * Each simulated cluster is what the hub cannot tell from a real agent: it
 * is issued its own one-time join token (POST /api/v1/clusters), generates
 * its own Ed25519 key, joins over nng with the agent's link code
 * (agent/link.c), long-polls for its bundle, checks every bundle with the
 * agent's verify code (agent/verify.c: hub signature, its own cluster name,
 * a higher generation), orders the objects with the agent's sync planner
 * (agent/plan.c) and walks that plan, and sends signed reports built with
 * common/report.c. Only the Kubernetes API is stood in for: "applying" an
 * object stores it in memory; it is Healthy at once, Degraded when a
 * container image is tagged `fail`; the cluster reports `--healthy-after` ms
 * after the apply (the plan's waves do not wait for that delay).
 *
 * Threads: the joins run on their own threads, SIM_JOIN_PARALLEL at a time.
 * A joined cluster then costs no thread: its long-poll and its report are
 * the agent's signed requests sent asynchronously (agent_link_*_start), and
 * each answer puts the cluster on a queue that a few workers (one per CPU)
 * take from: verify, apply, report, long-poll again. A thread per cluster
 * waiting in the agent's blocking calls cost more CPU in the kernel's
 * scheduler at 10,000 clusters than the hub did for the whole fleet.
 *
 * Two queues: a bundle that came (verify, apply) goes to the bundle
 * workers; the report after it, the next long-poll and the pauses go to
 * report workers at nice 10. In a real fleet each agent reports from its
 * own machine, and one agent's report takes nothing from another's apply;
 * here the simulator shares the hub's cores, and its 10,000 reports would
 * otherwise compete with the hub's sync pass and the other clusters'
 * applies. The reports are all still sent and stored (the --out line is
 * written once the hub has acknowledged a cluster's report).
 *
 * Every bundle a cluster takes is a line of --out (CSV): cluster,
 * generation, revision, and the unix ms when it arrived, was verified, was
 * applied (plan walked, healthy) and when the hub acknowledged its report.
 */
#include "gitfleet/error.h"
#include "gitfleet/os.h"
#include "gitfleet/report.h"
#include "gitfleet/sign.h"
#include "gitfleet/wire.h"
#include "link.h"
#include "plan.h"
#include "verify.h"

#include <curl/curl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIM_STACK         (256 * 1024)
#define SIM_JOIN_PARALLEL 16
#define SIM_MAX_WORKERS   16
#define SIM_REPORT_TRIES  20
#define SIM_REPORT_NICE   10 /* report workers below the bundle workers: see the top */

/* Read by jemalloc (linked outside sanitizer builds): as the hub's, see
 * gitfleet/os.h. */
const char *malloc_conf = GF_OS_JEMALLOC_CONF;

struct options {
    const char *hub, *api, *token_file, *out, *prefix;
    int clusters, first, healthy_after_ms, poll_wait_ms;
};

struct cluster;

/* Clusters whose request or timer finished, for one kind of worker. */
struct sim_queue {
    struct cluster *head, *tail;
    pthread_cond_t work;
};

struct sim {
    struct options o;
    char token[256];
    FILE *out;
    pthread_mutex_t lock; /* out, the counters, the queue */
    pthread_cond_t join_slot;
    int joining;
    int joined, failed;
    uint64_t bundles;
    struct sim_queue bundles_in; /* a bundle came: verify and apply */
    struct sim_queue reports;    /* report, long-poll again, pauses */
    int quit;                    /* workers: stop */
};

/* What a cluster waits for; the worker that takes it from the queue acts on it. */
enum cluster_step {
    STEP_FETCH,        /* its long-poll */
    STEP_FETCH_PAUSE,  /* a pause after a failed long-poll */
    STEP_HEALTH_DELAY, /* the --healthy-after delay after an apply */
    STEP_APPLIED,      /* applied: its report is to be sent */
    STEP_REPORT,       /* the hub's answer to its report */
    STEP_REPORT_PAUSE, /* a pause after a failed report */
};

struct cluster {
    struct sim *sim;
    char name[64];
    gf_sign_key *key;
    agent_link *link;
    unsigned char hub_pub[GF_SIGN_PUBLIC_KEY_LEN];
    gf_sign_key *hub_key;
    uint64_t applied;
    char revision[64];
    const char *health; /* of the last applied bundle */
    json_t *live;       /* the in-memory "cluster": "kind/ns/name" -> applied object */
    int64_t applied_at; /* unix ms of the last apply, for the health delay */
    enum cluster_step step;
    nng_aio *timer;           /* pauses and the health delay */
    Gitfleet__Bundle *bundle; /* being applied and reported */
    char *message;            /* its apply's failure, NULL when none */
    int64_t t[4];             /* arrived, verified, applied, report acknowledged (unix ms) */
    int report_tries;
    struct cluster *next; /* on the queue */
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- join: a token from the hub's API, then the agent's own join ---- */

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
    json_t **doc = arg;

    json_decref(*doc);
    *doc = json_loadb(data, size * n, 0, NULL);
    return size * n;
}

static int issue_token(struct sim *s, const char *cluster, char *token, size_t cap)
{
    char url[512], auth[300], body[128];
    struct curl_slist *headers = NULL;
    json_t *doc = NULL;
    CURL *curl = curl_easy_init();
    int error = 0;

    snprintf(url, sizeof(url), "%s/api/v1/clusters", s->o.api);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", s->token);
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", cluster);
    headers = curl_slist_append(headers, auth);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &doc);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    /* No signal handlers set and restored around each request: with
     * thousands of threads in the process, every sigaction walks them all
     * (joins of 10,000 clusters spent most of their time there). */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(curl) != CURLE_OK || !json_string_value(json_object_get(doc, "token")))
        error = gf_error_set(GF_EIO, "cluster add %s failed", cluster);
    else
        snprintf(token, cap, "%s", json_string_value(json_object_get(doc, "token")));
    json_decref(doc);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return error;
}

static int join(struct cluster *c)
{
    struct sim *s = c->sim;
    struct agent_link_config lc = {.hub_url = s->o.hub, .cluster = "", .timeout_ms = 60000};
    char token[200], name[64];
    int error;

    if ((error = issue_token(s, c->name, token, sizeof(token))) < 0 ||
        (error = gf_sign_key_generate(&c->key)) < 0)
        return error;
    lc.key = c->key;
    if ((error = agent_link_open(&c->link, &lc)) < 0 ||
        (error = agent_link_join(c->link, token, name, sizeof(name), c->hub_pub)) < 0)
        return error;
    agent_link_close(c->link);
    c->link = NULL;
    /* From now on as a joined agent: requests signed for its cluster. */
    lc.cluster = c->name;
    lc.timeout_ms = 30000;
    if ((error = gf_sign_key_from_public(&c->hub_key, c->hub_pub)) < 0 ||
        (error = agent_link_open(&c->link, &lc)) < 0)
        return error;
    return 0;
}

/* ---- the Kubernetes stand-in, through the agent's plan executor ---- */

static int image_fails(const json_t *obj)
{
    const json_t *containers = json_object_get(
        json_object_get(json_object_get(json_object_get(obj, "spec"), "template"), "spec"),
        "containers");
    size_t i;
    json_t *ct;

    json_array_foreach(containers, i, ct)
    {
        const char *image = json_string_value(json_object_get(ct, "image"));
        size_t n = image ? strlen(image) : 0;
        if (n >= 5 && strcmp(image + n - 5, ":fail") == 0)
            return 1;
    }
    return 0;
}

static void object_key(char *out, size_t cap, const struct agent_plan_item *item)
{
    snprintf(out, cap, "%s/%s/%s/%s", item->group, item->kind, item->namespace_, item->name);
}

static int sim_apply(void *ctx, const struct agent_plan_item *item)
{
    struct cluster *c = ctx;
    char key[512];

    object_key(key, sizeof(key), item);
    json_object_set(c->live, key, (json_t *)item->obj);
    return 0;
}

static int sim_health(void *ctx, const struct agent_plan_item *item, struct agent_health *out)
{
    struct cluster *c = ctx;
    char key[512];

    object_key(key, sizeof(key), item);
    const json_t *obj = json_object_get(c->live, key);
    out->message = strdup("");
    if (obj == NULL)
        out->status = AGENT_HEALTH_MISSING;
    else if (image_fails(obj))
        out->status = AGENT_HEALTH_DEGRADED;
    else
        out->status = AGENT_HEALTH_HEALTHY;
    return 0;
}

static int sim_remove(void *ctx, const struct agent_plan_item *item)
{
    struct cluster *c = ctx;
    char key[512];

    object_key(key, sizeof(key), item);
    json_object_del(c->live, key);
    return 0;
}

/* Every object of the bundle, parsed from its canonical JSON. */
static json_t *bundle_objects(const Gitfleet__Bundle *b)
{
    json_t *objs = json_array();

    for (size_t i = 0; i < b->n_apps; i++)
        for (size_t k = 0; k < b->apps[i]->n_resources; k++) {
            const Gitfleet__Resource *r = b->apps[i]->resources[k];
            json_t *obj = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
            if (obj)
                json_array_append_new(objs, obj);
        }
    return objs;
}

/* Walk the agent's plan of the bundle against the stand-in; the app health. */
static const char *apply_bundle(struct cluster *c, const Gitfleet__Bundle *b, char **message)
{
    json_t *objs = bundle_objects(b);
    json_t **apply = calloc(json_array_size(objs) + 1, sizeof(*apply));
    struct agent_plan_input in = {.revision = b->revision};
    struct agent_plan_callbacks cb = {
        .ctx = c, .apply = sim_apply, .health = sim_health, .remove = sim_remove};
    struct agent_plan_options po = {.wave_timeout = 600, .poll_interval = 0.2};
    struct agent_plan *plan = NULL;
    struct agent_plan_result res = {0};
    const char *health = "Healthy";

    for (size_t i = 0; i < json_array_size(objs); i++)
        apply[in.n_apply++] = json_array_get(objs, i);
    in.apply = apply;
    c->applied_at = gf_wire_now_ms();
    *message = NULL;
    if (agent_plan_build(&plan, &in) < 0) {
        *message = strdup(gf_error_last());
        health = "Degraded";
    } else if (agent_plan_run(&res, plan, &cb, &po) < 0 || res.state != AGENT_PLAN_SUCCEEDED) {
        *message = strdup(res.message ? res.message : gf_error_last());
        health = "Degraded";
    }
    /* The app's health once applied: Degraded with a failing image, else
     * Healthy (reported when the configured delay has passed). */
    for (size_t i = 0; *message == NULL && i < in.n_apply; i++)
        if (image_fails(apply[i])) {
            *message = strdup("a container image is tagged 'fail'");
            health = "Degraded";
        }
    agent_plan_result_clear(&res);
    agent_plan_free(plan);
    free(apply);
    json_decref(objs);
    return health;
}

/* ---- one cluster's report ---- */

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* The app's objects as the agent reports them: each with its sync and health. */
static json_t *app_resources(const struct cluster *c, const Gitfleet__App *app, json_t **results)
{
    json_t *resources = json_array();

    *results = json_array();
    for (size_t k = 0; k < app->n_resources; k++) {
        const Gitfleet__ResourceId *id = app->resources[k]->id;
        if (id == NULL)
            continue;
        json_array_append_new(resources,
                              json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "group",
                                        or_empty(id->group), "version", or_empty(id->version),
                                        "kind", or_empty(id->kind), "namespace",
                                        or_empty(id->namespace_), "name", or_empty(id->name),
                                        "sync", "Synced", "health", c->health, "message", ""));
        json_array_append_new(
            *results, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s}", "group",
                                or_empty(id->group), "version", or_empty(id->version), "kind",
                                or_empty(id->kind), "namespace", or_empty(id->namespace_), "name",
                                or_empty(id->name), "action", "apply", "phase", "Sync", "wave",
                                app->resources[k]->sync_wave, "status", "Synced", "message", ""));
    }
    return resources;
}

/* One app's entry, with what the agent's per-app sync adds (issue 10): the
 * desired and synced hashes and the finished operation, so that the hub does
 * for a simulated cluster the work it does for a real one. */
static json_t *app_entry(const struct cluster *c, const Gitfleet__App *app, const char *message)
{
    json_t *results, *resources = app_resources(c, app, &results);
    const char *hash = or_empty(app->content_hash);

    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:s, s:s, s:{s:s, s:s, s:s, s:s, "
                     "s:i, s:I, s:I, s:s, s:s, s:s, s:s, s:o}}",
                     "name", or_empty(app->name), "sync", "Synced", "health", c->health, "revision",
                     c->revision, "generation", (json_int_t)c->applied, "message",
                     message ? message : "", "operation", "Succeeded", "resources", resources,
                     "desiredHash", hash, "syncedHash", hash, "operationState", "id", "", "phase",
                     "Succeeded", "message", "successfully synced (all tasks run)", "syncPhase",
                     "Sync", "wave", 0, "startedAt", (json_int_t)c->applied_at, "finishedAt",
                     (json_int_t)gf_wire_now_ms(), "revision", c->revision, "contentHash", hash,
                     "initiatedBy", "automated", "kind", "sync", "results", results);
}

static void record(struct cluster *c)
{
    struct sim *s = c->sim;

    pthread_mutex_lock(&s->lock);
    fprintf(s->out, "%s,%llu,%s,%lld,%lld,%lld,%lld\n", c->name, (unsigned long long)c->applied,
            c->revision, (long long)c->t[0], (long long)c->t[1], (long long)c->t[2],
            (long long)c->t[3]);
    fflush(s->out);
    s->bundles++;
    pthread_mutex_unlock(&s->lock);
}

/* ---- one cluster's steps: on nng threads, only a push onto the queue ---- */

static void enqueue(struct cluster *c)
{
    struct sim *s = c->sim;
    struct sim_queue *q = c->step == STEP_FETCH ? &s->bundles_in : &s->reports;

    if (c->step == STEP_FETCH)
        c->t[0] = gf_wire_now_ms(); /* when the answer arrived, not when a worker got to it */
    else if (c->step == STEP_REPORT)
        c->t[3] = gf_wire_now_ms();
    pthread_mutex_lock(&s->lock);
    c->next = NULL;
    if (q->tail)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&s->lock);
}

static void answered(void *arg)
{
    enqueue(arg);
}

static void pause_then(struct cluster *c, enum cluster_step step, int64_t ms)
{
    c->step = step;
    nng_sleep_aio((nng_duration)ms, c->timer);
}

/* ---- one cluster's steps: on a worker ---- */

static void fetch(struct cluster *c)
{
    c->step = STEP_FETCH;
    if (agent_link_fetch_start(c->link, c->applied, c->sim->o.poll_wait_ms, answered, c) < 0 &&
        !stopping)
        pause_then(c, STEP_FETCH_PAUSE, 1000);
}

static void report(struct cluster *c)
{
    json_t *apps = json_array();
    Gitfleet__Report proto = GITFLEET__REPORT__INIT;
    const Gitfleet__Bundle *b = c->bundle;
    int error;

    for (size_t i = 0; b && i < b->n_apps; i++)
        json_array_append_new(apps, app_entry(c, b->apps[i], c->message));
    json_t *doc = json_pack("{s:s, s:I, s:s, s:I, s:s, s:o}", "cluster", c->name, "generation",
                            (json_int_t)c->applied, "revision", c->revision, "time",
                            (json_int_t)gf_wire_now_ms(), "error", "", "apps", apps);
    c->step = STEP_REPORT;
    if ((error = gf_report_to_proto(&proto, doc)) == 0)
        error = agent_link_report_start(c->link, &proto, answered, c);
    gf_report_proto_clear(&proto);
    json_decref(doc);
    if (error < 0 && !stopping)
        pause_then(c, STEP_REPORT_PAUSE, 500);
}

/* The report is in, or was given up on: record the bundle, long-poll again. */
static void finish_bundle(struct cluster *c)
{
    record(c);
    free(c->message);
    c->message = NULL;
    gitfleet__bundle__free_unpacked(c->bundle, NULL);
    c->bundle = NULL;
    fetch(c);
}

/* A bundle came: verify it as the agent does, apply, then report. */
static void take_bundle(struct cluster *c, const unsigned char *bytes, size_t len)
{
    if (agent_verify_bundle(&c->bundle, bytes, len, c->hub_key, c->name, c->applied) < 0) {
        fprintf(stderr, "fleetsim: %s: bundle refused: %s\n", c->name, gf_error_last());
        fetch(c);
        return;
    }
    c->t[1] = gf_wire_now_ms();
    c->health = apply_bundle(c, c->bundle, &c->message);
    c->applied = c->bundle->generation;
    snprintf(c->revision, sizeof(c->revision), "%s",
             c->bundle->revision ? c->bundle->revision : "");
    c->report_tries = 0;
    /* Healthy once the configured delay has passed: waited for on a timer. */
    int64_t wait = c->applied_at + c->sim->o.healthy_after_ms - gf_wire_now_ms();
    if (c->message == NULL && wait > 0) {
        pause_then(c, STEP_HEALTH_DELAY, wait);
        return;
    }
    c->t[2] = gf_wire_now_ms();
    c->step = STEP_APPLIED; /* the report is sent by a report worker */
    enqueue(c);
}

static void step(struct cluster *c)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    int error;

    if (stopping)
        return;
    switch (c->step) {
    case STEP_FETCH:
        error = agent_link_fetch_finish(c->link, &bytes, &len);
        if (error == 0)
            take_bundle(c, bytes, len);
        else if (error == GF_ENOTFOUND)
            fetch(c);
        else /* the hub is away or refused: as the agent, try again */
            pause_then(c, STEP_FETCH_PAUSE, 1000);
        free(bytes);
        break;
    case STEP_FETCH_PAUSE:
        fetch(c);
        break;
    case STEP_HEALTH_DELAY:
        c->t[2] = gf_wire_now_ms();
        report(c);
        break;
    case STEP_APPLIED:
        report(c);
        break;
    case STEP_REPORT:
        if (agent_link_report_finish(c->link) == 0 || ++c->report_tries >= SIM_REPORT_TRIES)
            finish_bundle(c);
        else
            pause_then(c, STEP_REPORT_PAUSE, 500);
        break;
    case STEP_REPORT_PAUSE:
        c->t[3] = 0;
        report(c);
        break;
    }
}

struct worker_arg {
    struct sim *sim;
    struct sim_queue *queue;
};

static void *worker_main(void *arg)
{
    struct worker_arg *w = arg;
    struct sim *s = w->sim;
    struct sim_queue *q = w->queue;

    if (q == &s->reports) {
        gf_os_thread_name("sim-report");
        gf_os_thread_yield_priority(SIM_REPORT_NICE);
    } else {
        gf_os_thread_name("sim-bundle");
    }
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (q->head == NULL && !s->quit)
            pthread_cond_wait(&q->work, &s->lock);
        if (s->quit) {
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        struct cluster *c = q->head;
        if ((q->head = c->next) == NULL)
            q->tail = NULL;
        pthread_mutex_unlock(&s->lock);
        step(c);
    }
}

static void *join_main(void *arg)
{
    struct cluster *c = arg;
    struct sim *s = c->sim;
    int error;

    pthread_mutex_lock(&s->lock);
    while (s->joining >= SIM_JOIN_PARALLEL)
        pthread_cond_wait(&s->join_slot, &s->lock);
    s->joining++;
    pthread_mutex_unlock(&s->lock);
    error = join(c);
    pthread_mutex_lock(&s->lock);
    s->joining--;
    if (error < 0)
        s->failed++;
    else
        s->joined++;
    pthread_cond_signal(&s->join_slot);
    pthread_mutex_unlock(&s->lock);
    if (error < 0) {
        fprintf(stderr, "fleetsim: %s: join failed: %s\n", c->name, gf_error_last());
        return NULL;
    }
    fetch(c); /* from here the workers drive it */
    return NULL;
}

/* ---- main ---- */

static int parse(struct options *o, int argc, char **argv)
{
    static const struct option longopts[] = {{"hub", required_argument, NULL, 'h'},
                                             {"api", required_argument, NULL, 'a'},
                                             {"token-file", required_argument, NULL, 't'},
                                             {"clusters", required_argument, NULL, 'n'},
                                             {"first", required_argument, NULL, 'f'},
                                             {"prefix", required_argument, NULL, 'p'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"healthy-after", required_argument, NULL, 'd'},
                                             {"poll-wait", required_argument, NULL, 'w'},
                                             {NULL, 0, NULL, 0}};
    int ch;

    *o = (struct options){.prefix = "c", .first = 1, .poll_wait_ms = 30000, .out = "-"};
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            o->hub = optarg;
            break;
        case 'a':
            o->api = optarg;
            break;
        case 't':
            o->token_file = optarg;
            break;
        case 'n':
            o->clusters = atoi(optarg);
            break;
        case 'f':
            o->first = atoi(optarg);
            break;
        case 'p':
            o->prefix = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'd':
            o->healthy_after_ms = atoi(optarg);
            break;
        case 'w':
            o->poll_wait_ms = atoi(optarg);
            break;
        default:
            return -1;
        }
    }
    return optind == argc && o->hub && o->api && o->token_file && o->clusters > 0 ? 0 : -1;
}

static int read_token(struct sim *s)
{
    FILE *f = fopen(s->o.token_file, "r");

    if (f == NULL || fgets(s->token, sizeof(s->token), f) == NULL) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    s->token[strcspn(s->token, "\r\n")] = '\0';
    return 0;
}

int main(int argc, char **argv)
{
    static struct sim s;
    pthread_attr_t attr;

    if (parse(&s.o, argc, argv) < 0) {
        fprintf(stderr, "usage: gitfleet-fleetsim --hub tcp://HOST:PORT --api http://HOST:PORT "
                        "--token-file FILE --clusters N [--first 1] [--prefix c] [--out FILE.csv] "
                        "[--healthy-after MS] [--poll-wait MS]\n");
        return 2;
    }
    if (read_token(&s) < 0) {
        fprintf(stderr, "fleetsim: cannot read %s\n", s.o.token_file);
        return 1;
    }
    s.out = strcmp(s.o.out, "-") == 0 ? stdout : fopen(s.o.out, "w");
    if (s.out == NULL) {
        fprintf(stderr, "fleetsim: cannot write %s\n", s.o.out);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.join_slot, NULL);
    pthread_cond_init(&s.bundles_in.work, NULL);
    pthread_cond_init(&s.reports.work, NULL);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* libcurl's, once for all (CURLOPT_NOSIGNAL) */
    struct cluster *cs = calloc((size_t)s.o.clusters, sizeof(*cs));
    pthread_t *tids = calloc((size_t)s.o.clusters, sizeof(*tids));
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, SIM_STACK);
    fprintf(s.out, "cluster,generation,revision,arrived_ms,verified_ms,applied_ms,reported_ms\n");
    fflush(s.out);
    pthread_t workers[2 * SIM_MAX_WORKERS];
    struct worker_arg kinds[] = {{&s, &s.bundles_in}, {&s, &s.reports}};
    int n_workers = 0, started = 0;
    int per_kind = gf_os_cpu_count() < SIM_MAX_WORKERS ? gf_os_cpu_count() : SIM_MAX_WORKERS;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < per_kind; i++)
            if (pthread_create(&workers[n_workers], NULL, worker_main, &kinds[k]) == 0)
                n_workers++;
    for (int i = 0; i < s.o.clusters; i++) {
        cs[i].sim = &s;
        cs[i].live = json_object();
        cs[i].health = "Unknown";
        snprintf(cs[i].name, sizeof(cs[i].name), "%s%d", s.o.prefix, s.o.first + i);
        if (nng_aio_alloc(&cs[i].timer, answered, &cs[i]) != 0 ||
            pthread_create(&tids[i], &attr, join_main, &cs[i]) != 0) {
            fprintf(stderr, "fleetsim: cannot start cluster %d\n", i);
            break;
        }
        started++;
    }
    while (!stopping) {
        sleep_ms(1000);
        pthread_mutex_lock(&s.lock);
        fprintf(stderr, "fleetsim: joined=%d failed=%d bundles=%llu\n", s.joined, s.failed,
                (unsigned long long)s.bundles);
        pthread_mutex_unlock(&s.lock);
    }
    /* Joins end first (their links are the clusters' own), then every
     * request and timer is stopped, then the workers, then the links go. */
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    for (int i = 0; i < started; i++) {
        if (cs[i].link)
            agent_link_interrupt(cs[i].link);
        nng_aio_stop(cs[i].timer);
    }
    pthread_mutex_lock(&s.lock);
    s.quit = 1;
    pthread_cond_broadcast(&s.bundles_in.work);
    pthread_cond_broadcast(&s.reports.work);
    pthread_mutex_unlock(&s.lock);
    for (int i = 0; i < n_workers; i++)
        pthread_join(workers[i], NULL);
    for (int i = 0; i < s.o.clusters; i++) {
        agent_link_close(cs[i].link);
        nng_aio_free(cs[i].timer);
        gf_sign_key_free(cs[i].key);
        gf_sign_key_free(cs[i].hub_key);
        json_decref(cs[i].live);
        free(cs[i].message);
        if (cs[i].bundle)
            gitfleet__bundle__free_unpacked(cs[i].bundle, NULL);
    }
    free(cs);
    free(tids);
    if (s.out != stdout)
        fclose(s.out);
    curl_global_cleanup();
    return 0;
}
