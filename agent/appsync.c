/* appsync.c -- when an app is synced (Argo CD's rules), and the per-app state those rules rest on
 */
#include "appsync.h"

#include "gitfleet/apphash.h"
#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APPSYNC_KEEP_IDS 1000

static int differs(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") != 0;
}

enum agent_appsync_trigger agent_appsync_decide(const struct agent_appsync_facts *f)
{
    if (f->running)
        return AGENT_APPSYNC_NONE; /* one operation at a time; decide again when it ends */
    if (f->request_pending || f->prune_allowed)
        return AGENT_APPSYNC_OPERATOR;
    if (f->retry_due)
        return AGENT_APPSYNC_RETRY;
    if (!f->automated || f->suspended || f->render_error)
        return AGENT_APPSYNC_NONE;
    if (differs(f->desired_hash, f->synced_hash)) {
        /* Argo CD: "automated sync will not reattempt a sync if the previous
         * sync attempt against the same commit-SHA and parameters had
         * failed" -- the retry policy is the way to try again. */
        if (differs(f->desired_hash, f->failed_hash))
            return AGENT_APPSYNC_AUTOMATED;
        /* The state failed (a hook, a SealedSecret that does not open): its
         * objects that were applied are still held to Git by self-heal. */
        return f->self_heal && f->live_out_of_sync ? AGENT_APPSYNC_SELF_HEAL : AGENT_APPSYNC_NONE;
    }
    if (f->self_heal && f->live_out_of_sync)
        return AGENT_APPSYNC_SELF_HEAL;
    return AGENT_APPSYNC_NONE;
}

const char *agent_appsync_trigger_name(enum agent_appsync_trigger trigger)
{
    switch (trigger) {
    case AGENT_APPSYNC_AUTOMATED:
        return "automated";
    case AGENT_APPSYNC_SELF_HEAL:
        return "selfHeal";
    case AGENT_APPSYNC_RETRY:
        return "retry";
    case AGENT_APPSYNC_OPERATOR:
        return "operator";
    case AGENT_APPSYNC_NONE:
        break;
    }
    return "";
}

static int is_hex64(const char *s)
{
    size_t n = 0;

    for (; s && s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == 64;
}

int agent_appsync_desired_hash(char out[65], Gitfleet__App *app)
{
    if (is_hex64(app->content_hash)) {
        memcpy(out, app->content_hash, 65);
        return 0;
    }
    return gf_apphash_compute(out, app);
}

const Gitfleet__AppOperationRequest *
agent_appsync_pending_request(const Gitfleet__Bundle *bundle, const char *app, const json_t *ran,
                              int64_t now_ms, const Gitfleet__AppOperationRequest **expired_out)
{
    if (expired_out != NULL)
        *expired_out = NULL;
    for (size_t i = 0; bundle != NULL && i < bundle->n_operations; i++) {
        const Gitfleet__AppOperationRequest *r = bundle->operations[i];
        if (r->id == NULL || r->id[0] == '\0' || r->app == NULL || strcmp(r->app, app) != 0 ||
            json_object_get(ran, r->id) != NULL)
            continue;
        if (r->has_expires_unix_ms && r->expires_unix_ms > 0 && r->expires_unix_ms < now_ms) {
            if (expired_out != NULL && *expired_out == NULL)
                *expired_out = r;
            continue;
        }
        return r;
    }
    return NULL;
}

/* ---- the store ---- */

struct agent_appsync_store {
    char *path;
    json_t *doc; /* {"apps": {}, "operationsRun": {}} */
};

static json_t *member_object(json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);

    if (!json_is_object(v)) {
        v = json_object();
        json_object_set_new(doc, key, v);
    }
    return v;
}

int agent_appsync_load(struct agent_appsync_store **out, const char *state_dir)
{
    struct agent_appsync_store *s = calloc(1, sizeof(*s));
    json_error_t jerr;

    *out = NULL;
    if (s == NULL || asprintf(&s->path, "%s/apps.json", state_dir) < 0) {
        free(s);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    s->doc = json_load_file(s->path, 0, &jerr);
    if (s->doc == NULL && jerr.position > 0) /* present but not JSON: start over, say so */
        gf_log_warn("AGENT-APPS-STATE", "path=%s error=\"%s\"", s->path, jerr.text);
    if (!json_is_object(s->doc)) {
        json_decref(s->doc);
        s->doc = json_object();
    }
    member_object(s->doc, "apps");
    member_object(s->doc, "operationsRun");
    *out = s;
    return 0;
}

int agent_appsync_save(struct agent_appsync_store *s)
{
    char *text = json_dumps(s->doc, JSON_COMPACT | JSON_SORT_KEYS);
    int error;

    if (text == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    error = gf_fs_write_atomic(s->path, text, strlen(text), 0600);
    free(text);
    return error;
}

void agent_appsync_free(struct agent_appsync_store *s)
{
    if (s == NULL)
        return;
    json_decref(s->doc);
    free(s->path);
    free(s);
}

json_t *agent_appsync_app(struct agent_appsync_store *s, const char *app)
{
    return member_object(member_object(s->doc, "apps"), app);
}

const json_t *agent_appsync_ran(const struct agent_appsync_store *s)
{
    return json_object_get(s->doc, "operationsRun");
}

/* Drop the oldest ids beyond the bound. */
static void trim_ids(json_t *ran)
{
    while (json_object_size(ran) > APPSYNC_KEEP_IDS) {
        const char *key, *oldest = NULL;
        json_int_t oldest_ms = 0;
        json_t *v;
        json_object_foreach(ran, key, v)
        {
            if (oldest == NULL || json_integer_value(v) < oldest_ms) {
                oldest = key;
                oldest_ms = json_integer_value(v);
            }
        }
        json_object_del(ran, oldest);
    }
}

void agent_appsync_mark_ran(struct agent_appsync_store *s, const char *id, int64_t now_ms)
{
    json_t *ran = member_object(s->doc, "operationsRun");

    json_object_set_new(ran, id, json_integer(now_ms));
    trim_ids(ran);
}

void agent_appsync_forget(struct agent_appsync_store *s, const char *app)
{
    json_object_del(member_object(s->doc, "apps"), app);
}

const char *agent_appsync_get(const json_t *record, const char *key)
{
    const char *v = json_string_value(json_object_get(record, key));
    return v ? v : "";
}
