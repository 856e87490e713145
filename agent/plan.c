/* plan.c -- order a sync into phases and waves as Argo CD does, and walk that order */
#include "plan.h"
#include "syncopts.h"
#include "gitfleet/error.h"
#include "gitfleet/k8s_schema.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOOK_ANNOTATION   "argocd.argoproj.io/hook"
#define DELETE_ANNOTATION "argocd.argoproj.io/hook-delete-policy"
#define WAVE_ANNOTATION   "argocd.argoproj.io/sync-wave"
#define GITFLEET_WAVE     "gitfleet.io/sync-wave"
#define MAX_ITEMS         100000

static const char *const phase_names[] = {"PreSync", "Sync", "PostSync", "SyncFail"};

/* Parsed hook annotation: a bit per sync phase, plus Skip and the
 * deletion-time types, which alone leave the object out of the sync. */
#define HOOK_SKIP   (1u << 8)
#define HOOK_OTHER  (1u << 9)
#define HOOK_PHASES 0xfu

const char *agent_plan_phase_name(enum agent_plan_phase phase)
{
    return (unsigned)phase < 4 ? phase_names[phase] : "?";
}

size_t agent_plan_kind_rank(const char *kind)
{
    return gf_k8s_sync_kind_rank(kind);
}

static const char *str_at(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(obj, a);

    if (b != NULL)
        v = json_object_get(v, b);
    return json_is_string(v) ? json_string_value(v) : "";
}

static const char *annotation(const json_t *obj, const char *key)
{
    const json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
    const json_t *v = json_object_get(ann, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

char *agent_plan_item_ref(const struct agent_plan_item *item)
{
    char *ref = NULL;

    if (asprintf(&ref, "%s%s%s %s%s%s", item->group, item->group[0] ? "/" : "", item->kind,
                 item->namespace_, item->namespace_[0] ? "/" : "", item->name) < 0)
        return NULL;
    return ref;
}

/* --- annotations -------------------------------------------------------- */

/* Call `fn` on each trimmed, non-empty element of a comma-separated list. */
static int each_csv(const char *value, int (*fn)(void *arg, const char *elem), void *arg)
{
    const char *p = value;

    while (p != NULL) {
        const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
        char elem[64];
        size_t len;
        int error;

        while (p < end && isspace((unsigned char)*p))
            p++;
        while (end > p && isspace((unsigned char)end[-1]))
            end--;
        len = (size_t)(end - p);
        if (len >= sizeof(elem))
            return gf_error_set(GF_EINVAL, "value \"%.*s...\" too long", 20, p);
        memcpy(elem, p, len);
        elem[len] = '\0';
        if (len > 0 && (error = fn(arg, elem)) < 0)
            return error;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

static int add_hook_type(void *arg, const char *elem)
{
    unsigned *bits = arg;

    for (unsigned i = 0; i < 4; i++)
        if (strcmp(elem, phase_names[i]) == 0) {
            *bits |= 1u << i;
            return 0;
        }
    if (strcmp(elem, "Skip") == 0) {
        *bits |= HOOK_SKIP;
        return 0;
    }
    if (strcmp(elem, "PreDelete") == 0 || strcmp(elem, "PostDelete") == 0) {
        *bits |= HOOK_OTHER;
        return 0;
    }
    return gf_error_set(GF_EINVAL,
                        "unknown hook type \"%s\" (expected PreSync, Sync, PostSync, SyncFail, "
                        "Skip, PreDelete or PostDelete)",
                        elem);
}

static int add_delete_policy(void *arg, const char *elem)
{
    unsigned *bits = arg;

    if (strcmp(elem, "HookSucceeded") == 0)
        *bits |= AGENT_PLAN_DELETE_ON_SUCCESS;
    else if (strcmp(elem, "HookFailed") == 0)
        *bits |= AGENT_PLAN_DELETE_ON_FAILURE;
    else if (strcmp(elem, "BeforeHookCreation") == 0)
        *bits |= AGENT_PLAN_DELETE_BEFORE;
    else
        return gf_error_set(GF_EINVAL,
                            "unknown hook delete policy \"%s\" (expected HookSucceeded, "
                            "HookFailed or BeforeHookCreation)",
                            elem);
    return 0;
}

/* The object's wave: Argo CD's annotation, else gitfleet's, else 0. */
int agent_plan_wave(int *out, const json_t *obj)
{
    const char *text = annotation(obj, WAVE_ANNOTATION), *key = WAVE_ANNOTATION;
    char *end;
    long v;

    if (text == NULL) {
        text = annotation(obj, GITFLEET_WAVE);
        key = GITFLEET_WAVE;
    }
    *out = 0;
    if (text == NULL)
        return 0;
    errno = 0;
    v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || isspace((unsigned char)*text) || errno != 0 || v < INT_MIN ||
        v > INT_MAX)
        return gf_error_set(GF_EINVAL, "annotation %s: \"%s\" is not an integer", key, text);
    *out = (int)v;
    return 0;
}

/* --- building ----------------------------------------------------------- */

struct builder {
    struct agent_plan *plan;
    size_t cap;
};

static struct agent_plan_item *new_item(struct builder *b)
{
    if (b->plan->n_items == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct agent_plan_item *items = realloc(b->plan->items, cap * sizeof(*items));
        if (items == NULL)
            return NULL;
        b->plan->items = items;
        b->cap = cap;
    }
    memset(&b->plan->items[b->plan->n_items], 0, sizeof(b->plan->items[0]));
    return &b->plan->items[b->plan->n_items++];
}

/* Identity fields of `obj` into `it`; checks what every object needs. */
static int fill_identity(struct agent_plan_item *it, const json_t *obj)
{
    const char *group, *version;
    char buf[256];

    if (!json_is_object(obj))
        return gf_error_set(GF_EINVAL, "not a JSON object");
    it->obj = obj;
    it->api_version = str_at(obj, "apiVersion", NULL);
    it->kind = str_at(obj, "kind", NULL);
    it->namespace_ = str_at(obj, "metadata", "namespace");
    it->name = str_at(obj, "metadata", "name");
    it->generate_name = str_at(obj, "metadata", "generateName");
    if (it->api_version[0] == '\0' || it->kind[0] == '\0')
        return gf_error_set(GF_EINVAL, "apiVersion and kind are required");
    if (strlen(it->api_version) >= sizeof(buf) || strlen(it->api_version) >= sizeof(it->group))
        return gf_error_set(GF_EINVAL, "apiVersion too long");
    gf_k8s_split_api_version(it->api_version, buf, sizeof(buf), &group, &version);
    snprintf(it->group, sizeof(it->group), "%s", group);
    if (it->name[0] == '\0' && it->generate_name[0] == '\0')
        return gf_error_set(GF_EINVAL, "%s: metadata.name is required", it->kind);
    return 0;
}

static int error_for(int error, const json_t *obj)
{
    return gf_error_wrap(
        error, "%s %s/%s", str_at(obj, "kind", NULL), str_at(obj, "metadata", "namespace"),
        str_at(obj, "metadata", "name")[0] ? str_at(obj, "metadata", "name")
                                           : str_at(obj, "metadata", "generateName"));
}

/* Name a generateName hook as Argo CD does: generateName +
 * lower("<rev7>-<Phase>-<started_at>"); item->obj becomes an owned copy. */
static int name_hook(struct agent_plan_item *it, const struct agent_plan_input *in)
{
    const char *rev = in->revision ? in->revision : "";
    char *name = NULL;
    json_t *copy;

    if (asprintf(&name, "%s%.*s-%s-%lld", it->generate_name,
                 strlen(rev) >= 8 ? 7 : (int)strlen(rev), rev, agent_plan_phase_name(it->phase),
                 in->started_at) < 0)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (char *p = name + strlen(it->generate_name); *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (strlen(name) > 253) {
        free(name);
        return gf_error_set(GF_EINVAL, "generateName too long for a hook name");
    }
    copy = json_deep_copy(it->obj);
    if (copy == NULL ||
        json_object_set_new(json_object_get(copy, "metadata"), "name", json_string(name)) < 0) {
        json_decref(copy);
        free(name);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    free(name);
    it->obj = copy;
    it->generated = 1;
    it->name = str_at(copy, "metadata", "name");
    it->generate_name = str_at(copy, "metadata", "generateName");
    it->api_version = str_at(copy, "apiVersion", NULL);
    it->kind = str_at(copy, "kind", NULL);
    it->namespace_ = str_at(copy, "metadata", "namespace");
    return 0;
}

/* Parse the hook and delete-policy annotations: *phases (bits, HOOK_SKIP), *del. */
static int parse_hook(unsigned *phases, unsigned *del, const json_t *obj)
{
    const char *hooks = annotation(obj, HOOK_ANNOTATION), *policy;
    int error;

    *phases = *del = 0;
    if (hooks != NULL && (error = each_csv(hooks, add_hook_type, phases)) < 0)
        return gf_error_wrap(error, "annotation %s", HOOK_ANNOTATION);
    if ((*phases & HOOK_PHASES) == 0)
        return 0;
    policy = annotation(obj, DELETE_ANNOTATION);
    if (policy != NULL && (error = each_csv(policy, add_delete_policy, del)) < 0)
        return gf_error_wrap(error, "annotation %s", DELETE_ANNOTATION);
    if (*del == 0)
        *del = AGENT_PLAN_DELETE_BEFORE;
    return 0;
}

/* One desired object: nothing (Skip), one plain item, or one item per hook phase. */
static int add_desired(struct builder *b, const json_t *obj, const struct agent_plan_input *in)
{
    struct agent_plan_item id;
    unsigned phases, del;
    int wave, error;

    memset(&id, 0, sizeof(id));
    if ((error = fill_identity(&id, obj)) < 0 || (error = agent_plan_wave(&wave, obj)) < 0 ||
        (error = parse_hook(&phases, &del, obj)) < 0)
        return error;
    if (phases != 0 && (phases & HOOK_PHASES) == 0) {
        b->plan->n_skipped++; /* only Skip, PreDelete or PostDelete */
        return 0;
    }
    phases &= HOOK_PHASES; /* "Skip,PreSync" is a PreSync hook, as in gitops-engine */
    if (phases == 0 && id.name[0] == '\0')
        return gf_error_set(GF_EINVAL, "generateName is only allowed on hooks");
    for (unsigned ph = 0; ph < 4; ph++) {
        struct agent_plan_item *it;
        if (!(phases & (1u << ph)) && !(phases == 0 && ph == AGENT_PLAN_SYNC))
            continue;
        if ((it = new_item(b)) == NULL)
            return gf_error_set(GF_ENOMEM, "out of memory");
        *it = id;
        it->phase = (enum agent_plan_phase)ph;
        it->wave = wave;
        it->hook = phases != 0;
        it->delete_policy = it->hook ? del : 0;
        if (it->name[0] == '\0' && (error = name_hook(it, in)) < 0) {
            b->plan->n_items--;
            return error;
        }
    }
    return 0;
}

/* One live object to delete; *prune_last says whether it waits for the end. */
static int add_prune(struct builder *b, const json_t *obj, int app_prune_last, int *prune_last)
{
    struct agent_plan_item *it;
    struct agent_syncopts opts, app;
    int error, wave;

    if ((error = agent_plan_wave(&wave, obj)) < 0)
        return error;
    agent_syncopts_init(&app);
    app.prune_last = app_prune_last;
    if ((error = agent_syncopts_for_object(&opts, &app, obj)) < 0)
        return error;
    agent_syncopts_clear(&opts);
    if ((it = new_item(b)) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    if ((error = fill_identity(it, obj)) < 0) {
        b->plan->n_items--;
        return error;
    }
    if (it->name[0] == '\0') {
        b->plan->n_items--;
        return gf_error_set(GF_EINVAL, "a prune needs metadata.name");
    }
    it->action = AGENT_PLAN_PRUNE;
    it->phase = AGENT_PLAN_SYNC;
    it->wave = wave;
    *prune_last = opts.prune_last;
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/*
 * Argo CD prunes the highest wave first: the prune waves are mirrored
 * (the lowest prune wave takes the highest one's place and so on), then
 * PruneLast prunes move after the last Sync-phase wave. `first` is the
 * index of the first prune item; prune_last[] is per prune item.
 */
static int place_prunes(struct agent_plan *plan, size_t first, const int *prune_last)
{
    size_t n = plan->n_items - first, n_uniq = 0;
    int *waves = malloc((n ? n : 1) * sizeof(int)), last = 0;

    if (waves == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        waves[i] = plan->items[first + i].wave;
    qsort(waves, n, sizeof(int), cmp_int);
    for (size_t i = 0; i < n; i++)
        if (n_uniq == 0 || waves[n_uniq - 1] != waves[i])
            waves[n_uniq++] = waves[i];
    for (size_t i = 0; i < n; i++) {
        int *w = &plan->items[first + i].wave;
        int *at = bsearch(w, waves, n_uniq, sizeof(int), cmp_int);
        *w = waves[n_uniq - 1 - (size_t)(at - waves)];
    }
    free(waves);
    for (size_t i = 0; i < plan->n_items; i++)
        if (plan->items[i].phase == AGENT_PLAN_SYNC && plan->items[i].wave > last)
            last = plan->items[i].wave;
    for (size_t i = 0; i < n; i++)
        if (prune_last[i])
            plan->items[first + i].wave = last == INT_MAX ? last : last + 1;
    return 0;
}

static int cmp_str(const char *a, const char *b)
{
    int c = strcmp(a, b);
    return (c > 0) - (c < 0);
}

/* Phase, wave, prunes before applies, kind order (reversed for prunes), name. */
static int cmp_items(const void *pa, const void *pb)
{
    const struct agent_plan_item *a = pa, *b = pb;
    size_t ka = agent_plan_kind_rank(a->kind), kb = agent_plan_kind_rank(b->kind);
    int c;

    if (a->phase != b->phase)
        return a->phase < b->phase ? -1 : 1;
    if (a->wave != b->wave)
        return a->wave < b->wave ? -1 : 1;
    if (a->action != b->action)
        return a->action == AGENT_PLAN_PRUNE ? -1 : 1;
    if (ka != kb)
        return (ka < kb) == (a->action == AGENT_PLAN_APPLY) ? -1 : 1;
    if ((c = cmp_str(a->name, b->name)) != 0 || (c = cmp_str(a->namespace_, b->namespace_)) != 0 ||
        (c = cmp_str(a->group, b->group)) != 0)
        return c;
    return cmp_str(a->kind, b->kind);
}

/* The key a dependency provides: a core Namespace's name, or a CRD's
 * "<spec.group>/<spec.names.kind>". 0 when `it` is not one. */
static int dep_key(const struct agent_plan_item *it, int crd, char *key, size_t len)
{
    const json_t *spec = json_object_get(it->obj, "spec");
    const char *g = str_at(spec, "group", NULL),
               *k = str_at(json_object_get(spec, "names"), "kind", NULL);

    if (!crd)
        return it->group[0] == '\0' && strcmp(it->kind, "Namespace") == 0 &&
               (size_t)snprintf(key, len, "%s", it->name) < len;
    return strcmp(it->group, "apiextensions.k8s.io") == 0 &&
           strcmp(it->kind, "CustomResourceDefinition") == 0 && g[0] && k[0] &&
           (size_t)snprintf(key, len, "%s/%s", g, k) < len;
}

/* The key of the dependency an object needs: its namespace, or its group/kind. */
static int ref_key(const struct agent_plan_item *it, int crd, char *key, size_t len)
{
    if (!crd)
        return it->namespace_[0] && (size_t)snprintf(key, len, "%s", it->namespace_) < len;
    return (size_t)snprintf(key, len, "%s/%s", it->group, it->kind) < len;
}

/* Move items[i] to position j, taking the phase and wave of the item there. */
static void move_before(struct agent_plan *plan, size_t i, size_t j, json_t *first)
{
    struct agent_plan_item moved = plan->items[i];
    const char *key;
    json_t *v;

    moved.phase = plan->items[j].phase;
    moved.wave = plan->items[j].wave;
    memmove(&plan->items[j + 1], &plan->items[j], (i - j) * sizeof(moved));
    plan->items[j] = moved;
    json_object_foreach(first, key, v) if ((size_t)json_integer_value(v) >= j)
        json_integer_set(v, json_integer_value(v) + 1);
}

/*
 * gitops-engine's adjustDeps, after sorting: a Namespace (crd 0) or CRD
 * (crd 1) that comes after the first object needing it moves right before
 * that object, into its phase and wave. Prunes take no part.
 */
static int adjust_deps(struct agent_plan *plan, int crd)
{
    json_t *first = json_object(); /* key -> index of the first object needing it */
    char key[600];

    if (first == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (size_t i = 0; i < plan->n_items; i++) {
        const struct agent_plan_item *it = &plan->items[i];
        json_t *at;
        if (it->action == AGENT_PLAN_PRUNE)
            continue;
        if (dep_key(it, crd, key, sizeof(key))) {
            if ((at = json_object_get(first, key)) != NULL)
                move_before(plan, i, (size_t)json_integer_value(at), first);
        } else if (ref_key(it, crd, key, sizeof(key)) && json_object_get(first, key) == NULL) {
            json_object_set_new(first, key, json_integer((json_int_t)i));
        }
    }
    json_decref(first);
    return 0;
}

static int build_steps(struct agent_plan *plan)
{
    plan->steps = calloc(plan->n_items ? plan->n_items : 1, sizeof(*plan->steps));
    if (plan->steps == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (size_t i = 0; i < plan->n_items; i++) {
        struct agent_plan_step *s = plan->n_steps ? &plan->steps[plan->n_steps - 1] : NULL;
        if (s != NULL && s->phase == plan->items[i].phase && s->wave == plan->items[i].wave) {
            s->count++;
            continue;
        }
        s = &plan->steps[plan->n_steps++];
        s->phase = plan->items[i].phase;
        s->wave = plan->items[i].wave;
        s->first = i;
        s->count = 1;
    }
    return 0;
}

static int add_all(struct builder *b, const struct agent_plan_input *in)
{
    size_t first_prune;
    int *prune_last, error = 0;

    for (size_t i = 0; i < in->n_apply; i++)
        if ((error = add_desired(b, in->apply[i], in)) < 0)
            return error_for(error, in->apply[i]);
    first_prune = b->plan->n_items;
    prune_last = calloc(in->n_prune ? in->n_prune : 1, sizeof(int));
    if (prune_last == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (size_t i = 0; i < in->n_prune && error == 0; i++)
        if ((error = add_prune(b, in->prune[i], in->prune_last, &prune_last[i])) < 0)
            error = error_for(error, in->prune[i]);
    if (error == 0)
        error = place_prunes(b->plan, first_prune, prune_last);
    free(prune_last);
    return error;
}

int agent_plan_build(struct agent_plan **out, const struct agent_plan_input *in)
{
    struct builder b = {0};
    int error;

    *out = NULL;
    if (in->n_apply > MAX_ITEMS || in->n_prune > MAX_ITEMS)
        return gf_error_set(GF_ETOOBIG, "plan: more than %d objects", MAX_ITEMS);
    if ((b.plan = calloc(1, sizeof(*b.plan))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    if ((error = add_all(&b, in)) < 0)
        goto fail;
    qsort(b.plan->items, b.plan->n_items, sizeof(b.plan->items[0]), cmp_items);
    if ((error = adjust_deps(b.plan, 0)) < 0 || (error = adjust_deps(b.plan, 1)) < 0 ||
        (error = build_steps(b.plan)) < 0)
        goto fail;
    *out = b.plan;
    return 0;
fail:
    agent_plan_free(b.plan);
    return error;
}

void agent_plan_free(struct agent_plan *plan)
{
    if (plan == NULL)
        return;
    for (size_t i = 0; i < plan->n_items; i++)
        if (plan->items[i].generated)
            json_decref((json_t *)plan->items[i].obj);
    free(plan->items);
    free(plan->steps);
    free(plan);
}

static void append_policy(FILE *f, unsigned policy)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{AGENT_PLAN_DELETE_BEFORE, "BeforeHookCreation"},
                 {AGENT_PLAN_DELETE_ON_SUCCESS, "HookSucceeded"},
                 {AGENT_PLAN_DELETE_ON_FAILURE, "HookFailed"}};
    const char *sep = " delete=";

    for (size_t i = 0; i < 3; i++)
        if (policy & names[i].bit) {
            fprintf(f, "%s%s", sep, names[i].name);
            sep = ",";
        }
}

char *agent_plan_describe(const struct agent_plan *plan)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (f == NULL)
        return NULL;
    for (size_t i = 0; i < plan->n_items; i++) {
        const struct agent_plan_item *it = &plan->items[i];
        char *ref = agent_plan_item_ref(it);
        fprintf(f, "%s %d %s %s", agent_plan_phase_name(it->phase), it->wave,
                it->action == AGENT_PLAN_PRUNE ? "prune"
                : it->hook                     ? "hook"
                                               : "apply",
                ref ? ref : "?");
        append_policy(f, it->delete_policy);
        fputc('\n', f);
        free(ref);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* --- the executor ------------------------------------------------------- */

struct run {
    const struct agent_plan *plan;
    const struct agent_plan_callbacks *cb;
    struct agent_plan_options opts;
    struct agent_plan_result *out;
    double deadline; /* whole operation; 0: none */
    int failed;
    int cancelled;
};

static double real_now(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void real_sleep(void *ctx, double seconds)
{
    struct timespec ts;

    (void)ctx;
    if (seconds <= 0)
        return;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

static double now(struct run *r)
{
    return r->cb->now ? r->cb->now(r->cb->ctx) : real_now(NULL);
}

static void nap(struct run *r, double seconds)
{
    if (r->cb->sleep)
        r->cb->sleep(r->cb->ctx, seconds);
    else
        real_sleep(NULL, seconds);
}

static void fail(struct run *r, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Has the caller asked the operation to stop? Fails it once when so. */
static int stopping(struct run *r)
{
    if (!r->cancelled && r->cb->cancelled != NULL && r->cb->cancelled(r->cb->ctx)) {
        r->cancelled = 1;
        fail(r, SIZE_MAX, "cancelled: the agent is stopping");
    }
    return r->cancelled;
}

static void set_item(struct run *r, size_t i, enum agent_plan_state state, const char *msg)
{
    struct agent_plan_item_result *res = &r->out->items[i];

    res->state = state;
    if (msg != NULL) {
        free(res->message);
        res->message = strdup(msg);
    }
}

/* Record a failure of item i (or of the operation when i is SIZE_MAX). The
 * first failure names the operation's result; later ones (SyncFail hooks)
 * are appended to its message. */
static void fail(struct run *r, size_t i, const char *fmt, ...)
{
    char *msg = NULL, *joined = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    if (i != SIZE_MAX)
        set_item(r, i, AGENT_PLAN_FAILED, msg);
    if (!r->failed) {
        r->failed = 1;
        if (i != SIZE_MAX) {
            r->out->phase = r->plan->items[i].phase;
            r->out->wave = r->plan->items[i].wave;
            r->out->object = agent_plan_item_ref(&r->plan->items[i]);
        }
        r->out->message = msg;
        return;
    }
    if (msg != NULL &&
        asprintf(&joined, "%s; then %s", r->out->message ? r->out->message : "", msg) >= 0) {
        free(r->out->message);
        r->out->message = joined;
    }
    free(msg);
}

/* Let the caller report the operation while it runs. */
static void progress(struct run *r)
{
    if (r->cb->progress != NULL)
        r->cb->progress(r->cb->ctx, r->out);
}

/* Hooks whose completion Argo CD reads from their health. */
static int tracks_completion(const struct agent_plan_item *it)
{
    return (it->group[0] == '\0' && strcmp(it->kind, "Pod") == 0) ||
           (strcmp(it->group, "batch") == 0 && strcmp(it->kind, "Job") == 0) ||
           (strcmp(it->group, "argoproj.io") == 0 && strcmp(it->kind, "Workflow") == 0);
}

static double step_deadline(struct run *r)
{
    double d = now(r) + r->opts.wave_timeout;
    return r->deadline > 0 && r->deadline < d ? r->deadline : d;
}

/* Read item i's health into *h; 0, or < 0 when the read failed. */
static int read_health(struct run *r, size_t i, struct agent_health *h)
{
    int error;

    memset(h, 0, sizeof(*h));
    error = r->cb->health(r->cb->ctx, &r->plan->items[i], h);
    if (error < 0) {
        agent_health_clear(h); /* whatever the callback left */
        set_item(r, i, r->out->items[i].state, gf_error_last());
    }
    return error;
}

/* Delete the earlier objects of named BeforeHookCreation hooks and wait
 * until they are gone (Argo CD recreates them, so Jobs run again). */
static int delete_before_hooks(struct run *r, const struct agent_plan_step *s)
{
    double deadline = step_deadline(r);

    for (size_t i = s->first; i < s->first + s->count; i++) {
        const struct agent_plan_item *it = &r->plan->items[i];
        if (!it->hook || !(it->delete_policy & AGENT_PLAN_DELETE_BEFORE) || it->generated)
            continue;
        int error = r->cb->remove(r->cb->ctx, it);
        if (error < 0 && error != GF_ENOTFOUND) {
            fail(r, i, "deleting the earlier hook: %s", gf_error_last());
            return -1;
        }
        for (;;) {
            struct agent_health h;
            int gone = read_health(r, i, &h) == 0 && h.status == AGENT_HEALTH_MISSING;
            agent_health_clear(&h);
            if (gone)
                break;
            if (stopping(r))
                return -1;
            if (now(r) >= deadline) {
                fail(r, i, "timed out waiting for the earlier hook to be deleted");
                return -1;
            }
            nap(r, r->opts.poll_interval);
        }
    }
    return 0;
}

/* Prunes, then applies, of one step. In the final step plain objects are
 * done once applied, and prunes once deleted. */
static int start_step(struct run *r, const struct agent_plan_step *s, int final)
{
    for (size_t i = s->first; i < s->first + s->count; i++) {
        const struct agent_plan_item *it = &r->plan->items[i];
        int error;

        if (it->action == AGENT_PLAN_PRUNE) {
            error = r->cb->remove(r->cb->ctx, it);
            if (error == GF_ENOTFOUND)
                error = 0;
        } else {
            error = r->cb->apply(r->cb->ctx, it);
        }
        if (error < 0) {
            fail(r, i, "%s: %s", it->action == AGENT_PLAN_PRUNE ? "delete" : "apply",
                 gf_error_last());
            return -1;
        }
        if (it->hook)
            set_item(r, i, tracks_completion(it) ? AGENT_PLAN_RUNNING : AGENT_PLAN_SUCCEEDED, NULL);
        else
            set_item(r, i, final ? AGENT_PLAN_SUCCEEDED : AGENT_PLAN_RUNNING, NULL);
    }
    return 0;
}

/* One health read of a running item: its new state (RUNNING while waiting). */
static enum agent_plan_state judge(struct run *r, size_t i)
{
    const struct agent_plan_item *it = &r->plan->items[i];
    enum agent_plan_state state = AGENT_PLAN_RUNNING;
    struct agent_health h;

    if (read_health(r, i, &h) < 0)
        return state;
    if (it->action == AGENT_PLAN_PRUNE) {
        if (h.status == AGENT_HEALTH_MISSING)
            state = AGENT_PLAN_SUCCEEDED;
    } else if (h.status == AGENT_HEALTH_HEALTHY || (h.status == AGENT_HEALTH_NONE && !it->hook)) {
        state = AGENT_PLAN_SUCCEEDED;
    } else if (h.status == AGENT_HEALTH_DEGRADED) {
        state = AGENT_PLAN_FAILED;
    }
    if (state == AGENT_PLAN_FAILED) {
        fail(r, i, "%s %s: %s", it->hook ? "hook" : "object", agent_health_status_name(h.status),
             h.message ? h.message : "");
    } else {
        char *note = NULL;
        if (asprintf(&note, "%s%s%s", agent_health_status_name(h.status),
                     h.message && h.message[0] ? ": " : "", h.message ? h.message : "") < 0)
            note = NULL;
        set_item(r, i, state, note);
        free(note);
    }
    agent_health_clear(&h);
    return state;
}

/* Wait until every item of the step is done; 0, or -1 on failure. */
static int wait_step(struct run *r, const struct agent_plan_step *s)
{
    double deadline = step_deadline(r);

    for (;;) {
        size_t running = 0, first_running = SIZE_MAX;
        for (size_t i = s->first; i < s->first + s->count; i++) {
            if (r->out->items[i].state != AGENT_PLAN_RUNNING)
                continue;
            if (judge(r, i) == AGENT_PLAN_FAILED)
                return -1;
            if (r->out->items[i].state == AGENT_PLAN_RUNNING && running++ == 0)
                first_running = i;
        }
        if (running == 0)
            return 0;
        if (stopping(r))
            return -1;
        progress(r);
        if (now(r) >= deadline) {
            const char *last = r->out->items[first_running].message;
            fail(r, first_running, "timed out waiting for %s (%zu not done; last seen: %s)",
                 r->plan->items[first_running].hook ? "the hook to complete" : "a healthy state",
                 running, last ? last : "nothing");
            return -1;
        }
        nap(r, r->opts.poll_interval);
    }
}

static int run_step(struct run *r, size_t k, int final)
{
    const struct agent_plan_step *s = &r->plan->steps[k];

    if (r->deadline > 0 && now(r) >= r->deadline) {
        fail(r, SIZE_MAX, "operation timed out before %s wave %d", agent_plan_phase_name(s->phase),
             s->wave);
        return -1;
    }
    if (delete_before_hooks(r, s) < 0 || start_step(r, s, final) < 0)
        return -1;
    progress(r);
    return wait_step(r, s);
}

/* gitops-engine's end of an operation: hooks that were applied and are not
 * running are deleted when their policy names the operation's outcome. */
static void delete_finished_hooks(struct run *r)
{
    unsigned want = r->failed ? AGENT_PLAN_DELETE_ON_FAILURE : AGENT_PLAN_DELETE_ON_SUCCESS;

    for (size_t i = 0; i < r->plan->n_items; i++) {
        const struct agent_plan_item *it = &r->plan->items[i];
        enum agent_plan_state st = r->out->items[i].state;
        int error;
        if (!it->hook || !(it->delete_policy & want) || st == AGENT_PLAN_PENDING ||
            st == AGENT_PLAN_RUNNING)
            continue;
        error = r->cb->remove(r->cb->ctx, it);
        if (error < 0 && error != GF_ENOTFOUND) /* a hook in two phases goes once */
            set_item(r, i, st, gf_error_last());
    }
}

static void set_defaults(struct agent_plan_options *o, const struct agent_plan_options *in)
{
    if (in != NULL)
        *o = *in;
    else
        memset(o, 0, sizeof(*o));
    if (o->wave_timeout <= 0)
        o->wave_timeout = 300;
    if (o->poll_interval <= 0)
        o->poll_interval = 1;
    if (in == NULL)
        o->wave_delay = 2;
}

static void run_steps(struct run *r)
{
    size_t n_main = 0, k;

    while (n_main < r->plan->n_steps && r->plan->steps[n_main].phase != AGENT_PLAN_SYNCFAIL)
        n_main++;
    for (k = 0; k < n_main; k++) {
        if (k > 0 && r->opts.wave_delay > 0)
            nap(r, r->opts.wave_delay);
        if (stopping(r) || run_step(r, k, k + 1 == n_main) < 0)
            break;
    }
    if (!r->failed || r->cancelled)
        return;
    for (k = n_main; k < r->plan->n_steps; k++)
        if (run_step(r, k, 0) < 0)
            break;
}

int agent_plan_run(struct agent_plan_result *out, const struct agent_plan *plan,
                   const struct agent_plan_callbacks *cb, const struct agent_plan_options *opts)
{
    struct run r = {.plan = plan, .cb = cb, .out = out};

    memset(out, 0, sizeof(*out));
    if (cb->apply == NULL || cb->health == NULL || cb->remove == NULL)
        return gf_error_set(GF_EINVAL, "plan run: apply, health and remove callbacks are required");
    out->items = calloc(plan->n_items ? plan->n_items : 1, sizeof(*out->items));
    if (out->items == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    out->n_items = plan->n_items;
    out->state = AGENT_PLAN_RUNNING;
    set_defaults(&r.opts, opts);
    if (r.opts.timeout > 0)
        r.deadline = now(&r) + r.opts.timeout;
    run_steps(&r);
    if (!r.cancelled)
        delete_finished_hooks(&r);
    out->state = r.failed ? AGENT_PLAN_FAILED : AGENT_PLAN_SUCCEEDED;
    return 0;
}

void agent_plan_result_clear(struct agent_plan_result *result)
{
    if (result == NULL)
        return;
    for (size_t i = 0; i < result->n_items; i++)
        free(result->items[i].message);
    free(result->items);
    free(result->object);
    free(result->message);
    memset(result, 0, sizeof(*result));
}

const char *agent_plan_state_name(enum agent_plan_state state)
{
    static const char *const names[] = {"Pending", "Running", "Succeeded", "Failed"};
    return (unsigned)state < 4 ? names[state] : "?";
}

static json_t *item_json(const struct agent_plan_item *it, const struct agent_plan_item_result *r)
{
    char *ref = agent_plan_item_ref(it);
    json_t *o = ref ? json_pack("{s:s,s:i,s:s,s:s,s:s}", "phase", agent_plan_phase_name(it->phase),
                                "wave", it->wave, "action",
                                it->action == AGENT_PLAN_PRUNE ? "prune"
                                : it->hook                     ? "hook"
                                                               : "apply",
                                "object", ref, "state", agent_plan_state_name(r->state))
                    : NULL;

    free(ref);
    if (o != NULL && r->message != NULL && r->message[0] != '\0')
        json_object_set_new(o, "message", json_string(r->message));
    return o;
}

json_t *agent_plan_result_to_json(const struct agent_plan *plan,
                                  const struct agent_plan_result *result)
{
    json_t *doc = json_pack("{s:s,s:[]}", "state", agent_plan_state_name(result->state), "items");
    json_t *items = json_object_get(doc, "items");

    if (doc == NULL)
        return NULL;
    if (result->message != NULL)
        json_object_set_new(doc, "message", json_string(result->message));
    if (result->state == AGENT_PLAN_FAILED && result->object != NULL)
        json_object_set_new(doc, "failed",
                            json_pack("{s:s,s:i,s:s}", "phase",
                                      agent_plan_phase_name(result->phase), "wave", result->wave,
                                      "object", result->object));
    for (size_t i = 0; i < plan->n_items && i < result->n_items; i++)
        if (json_array_append_new(items, item_json(&plan->items[i], &result->items[i])) < 0) {
            json_decref(doc);
            return NULL;
        }
    return doc;
}
