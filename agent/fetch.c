/* fetch.c -- the thread that long-polls the hub for newer bundles and verifies them */
#include "fetch.h"

#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "verify.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct agent_fetch {
    agent_link *link;
    const struct agent_state *state;
    int64_t wait_ms;
    void (*notify)(void *arg);
    void *arg;
    pthread_t thread;
    pthread_mutex_t lock;
    volatile int stop;
    uint64_t after;           /* the newest verified generation */
    Gitfleet__Bundle *bundle; /* the mailbox */
    unsigned char *bytes;
    size_t len;
    char refusal[512];
};

static void pause_ms(struct agent_fetch *f, int64_t ms)
{
    for (int64_t waited = 0; waited < ms && !f->stop; waited += 50)
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
}

/* Verify a fetched bundle and put it in the mailbox, or record why not. */
static void deliver(struct agent_fetch *f, unsigned char *bytes, size_t len)
{
    Gitfleet__Bundle *bundle = NULL;
    int ok = agent_verify_bundle(&bundle, bytes, len, f->state->hub_key, f->state->cluster,
                                 f->after) == 0;

    pthread_mutex_lock(&f->lock);
    if (ok) {
        if (f->bundle)
            gitfleet__bundle__free_unpacked(f->bundle, NULL);
        free(f->bytes);
        f->bundle = bundle;
        f->bytes = bytes;
        f->len = len;
        f->after = bundle->generation;
        f->refusal[0] = '\0';
    } else {
        snprintf(f->refusal, sizeof(f->refusal), "%s", gf_error_last());
        gf_log_error("AGENT-BUNDLE-REFUSED", "error=\"%s\"", f->refusal);
        free(bytes);
    }
    pthread_mutex_unlock(&f->lock);
    f->notify(f->arg);
    if (!ok) /* the same bad bundle would come straight back */
        pause_ms(f, 1000);
}

static void *fetch_main(void *arg)
{
    struct agent_fetch *f = arg;
    int64_t backoff = 0;

    while (!f->stop) {
        unsigned char *bytes = NULL;
        size_t len = 0;
        int error = agent_link_fetch(f->link, f->after, f->wait_ms, &bytes, &len);
        if (f->stop) {
            free(bytes);
            break;
        }
        if (error == 0 || error == GF_ENOTFOUND) {
            backoff = 0;
            if (error == 0)
                deliver(f, bytes, len);
            continue;
        }
        backoff = backoff ? (backoff * 2 > 30000 ? 30000 : backoff * 2) : 500;
        int64_t sleep_ms = backoff / 2 + rand() % (backoff / 2 + 1);
        gf_log_warn("AGENT-HUB-UNREACHABLE", "error=\"%s\" retry_in_ms=%lld", gf_error_last(),
                    (long long)sleep_ms);
        pause_ms(f, sleep_ms);
    }
    return NULL;
}

int agent_fetch_start(struct agent_fetch **out, agent_link *link, const struct agent_state *state,
                      uint64_t after, int64_t wait_ms, void (*notify)(void *arg), void *arg)
{
    struct agent_fetch *f = calloc(1, sizeof(*f));

    *out = NULL;
    if (f == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    f->link = link;
    f->state = state;
    f->after = after;
    f->wait_ms = wait_ms;
    f->notify = notify;
    f->arg = arg;
    pthread_mutex_init(&f->lock, NULL);
    if (pthread_create(&f->thread, NULL, fetch_main, f) != 0) {
        pthread_mutex_destroy(&f->lock);
        free(f);
        return gf_error_set(GF_ERROR, "cannot start the fetch thread");
    }
    *out = f;
    return 0;
}

int agent_fetch_take(struct agent_fetch *f, Gitfleet__Bundle **bundle_out,
                     unsigned char **bytes_out, size_t *len_out)
{
    int have;

    pthread_mutex_lock(&f->lock);
    have = f->bundle != NULL;
    *bundle_out = f->bundle;
    *bytes_out = f->bytes;
    *len_out = f->len;
    f->bundle = NULL;
    f->bytes = NULL;
    pthread_mutex_unlock(&f->lock);
    return have;
}

void agent_fetch_refusal(struct agent_fetch *f, char *buf, size_t len)
{
    pthread_mutex_lock(&f->lock);
    snprintf(buf, len, "%s", f->refusal);
    pthread_mutex_unlock(&f->lock);
}

void agent_fetch_stop(struct agent_fetch *f)
{
    if (f == NULL)
        return;
    f->stop = 1;
    agent_link_interrupt(f->link);
    pthread_join(f->thread, NULL);
    if (f->bundle)
        gitfleet__bundle__free_unpacked(f->bundle, NULL);
    free(f->bytes);
    pthread_mutex_destroy(&f->lock);
    free(f);
}
