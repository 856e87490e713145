/* inventory.c -- per-app inventories (state file and ConfigMap) and the prune decision */
#include "inventory.h"
#include "plan.h"
#include "gitfleet/doc.h"
#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/k8s_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OBJECTS 100000
#define MAX_FILE    (64u << 20)
#define HOOK_KEY    "argocd.argoproj.io/hook"

/* --- ids and the list --------------------------------------------------- */

/* DNS-1123 subdomain: it becomes a file name and part of a ConfigMap name. */
static int valid_app(const char *app)
{
    size_t n = app ? strlen(app) : 0;

    if (n == 0 || n > 253 - strlen(AGENT_INVENTORY_CM_PREFIX))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = app[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return 0;
    }
    return app[0] != '-' && app[0] != '.' && app[n - 1] != '-' && app[n - 1] != '.';
}

int agent_inventory_new(struct agent_inventory **out, const char *app)
{
    struct agent_inventory *inv;

    *out = NULL;
    if (!valid_app(app))
        return gf_error_set(GF_EINVAL, "inventory: app name \"%s\" is not a DNS-1123 subdomain",
                            app ? app : "");
    if ((inv = calloc(1, sizeof(*inv))) == NULL || (inv->app = strdup(app)) == NULL) {
        free(inv);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    *out = inv;
    return 0;
}

static void id_clear(struct agent_inventory_id *id)
{
    free(id->group);
    free(id->version);
    free(id->kind);
    free(id->namespace_);
    free(id->name);
}

void agent_inventory_free(struct agent_inventory *inv)
{
    if (inv == NULL)
        return;
    for (size_t i = 0; i < inv->n; i++)
        id_clear(&inv->ids[i]);
    free(inv->ids);
    free(inv->app);
    free(inv);
}

static int cmp_id(const struct agent_inventory_id *a, const char *group, const char *kind,
                  const char *ns, const char *name)
{
    int c;

    if ((c = strcmp(a->group, group)) != 0 || (c = strcmp(a->kind, kind)) != 0 ||
        (c = strcmp(a->namespace_, ns)) != 0)
        return c;
    return strcmp(a->name, name);
}

/* Index of the id, or of where it would go (*found says which). Sorted list. */
static size_t find(const struct agent_inventory *inv, const char *group, const char *kind,
                   const char *ns, const char *name, int *found)
{
    size_t lo = 0, hi = inv->n;

    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_id(&inv->ids[mid], group, kind, ns, name);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int agent_inventory_has(const struct agent_inventory *inv, const char *group, const char *kind,
                        const char *namespace_, const char *name)
{
    int found;

    find(inv, group, kind, namespace_, name, &found);
    return found;
}

static int add_id(struct agent_inventory *inv, const char *group, const char *version,
                  const char *kind, const char *ns, const char *name)
{
    struct agent_inventory_id id;
    int found;
    size_t at = find(inv, group, kind, ns, name, &found);

    if (found)
        return 0;
    if (inv->n >= MAX_OBJECTS)
        return gf_error_set(GF_ETOOBIG, "inventory of %s: more than %d objects", inv->app,
                            MAX_OBJECTS);
    if (inv->n == inv->cap) {
        size_t cap = inv->cap ? inv->cap * 2 : 16;
        struct agent_inventory_id *ids = realloc(inv->ids, cap * sizeof(*ids));
        if (ids == NULL)
            return gf_error_set(GF_ENOMEM, "out of memory");
        inv->ids = ids;
        inv->cap = cap;
    }
    id.group = strdup(group);
    id.version = strdup(version);
    id.kind = strdup(kind);
    id.namespace_ = strdup(ns);
    id.name = strdup(name);
    if (!id.group || !id.version || !id.kind || !id.namespace_ || !id.name) {
        id_clear(&id);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    memmove(&inv->ids[at + 1], &inv->ids[at], (inv->n - at) * sizeof(id));
    inv->ids[at] = id;
    inv->n++;
    return 0;
}

static const char *meta_str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(json_object_get(obj, "metadata"), key);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* apiVersion split into group and version; both point into buf. */
static int split_gv(const json_t *obj, char *buf, size_t len, const char **group,
                    const char **version)
{
    const json_t *av = json_object_get(obj, "apiVersion");

    if (!json_is_string(av) || json_string_length(av) == 0 || json_string_length(av) >= len)
        return gf_error_set(GF_EINVAL, "object without a usable apiVersion");
    gf_k8s_split_api_version(json_string_value(av), buf, len, group, version);
    return 0;
}

int agent_inventory_add_object(struct agent_inventory *inv, const json_t *obj)
{
    const json_t *kind = json_object_get(obj, "kind");
    const json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
    const char *group, *version;
    char buf[256];

    if (split_gv(obj, buf, sizeof(buf), &group, &version) < 0)
        return GF_EINVAL;
    if (!json_is_string(kind) || meta_str(obj, "name")[0] == '\0')
        return gf_error_set(GF_EINVAL, "object without kind or metadata.name");
    if (json_object_get(ann, HOOK_KEY) != NULL)
        return 0; /* hooks are not owned: Argo CD never prunes them */
    return add_id(inv, group, version, json_string_value(kind), meta_str(obj, "namespace"),
                  meta_str(obj, "name"));
}

/* A resource of a bundle app into the inventory, unless it is a hook. */
static int add_resource(struct agent_inventory *inv, const Gitfleet__Resource *res, size_t i)
{
    const Gitfleet__ResourceId *id = res->id;
    json_t *body;
    int hook;

    body = res->has_body ? json_loadb((const char *)res->body.data, res->body.len, 0, NULL) : NULL;
    if (body == NULL)
        return gf_error_set(GF_EINVAL, "resources[%zu] (%s %s): body is not JSON", i,
                            id && id->kind ? id->kind : "", id && id->name ? id->name : "");
    hook = json_object_get(json_object_get(json_object_get(body, "metadata"), "annotations"),
                           HOOK_KEY) != NULL;
    json_decref(body);
    /* Hooks are not owned, and a generateName hook has no name until it runs. */
    if (hook)
        return 0;
    if (id == NULL || id->kind == NULL || id->name == NULL || id->version == NULL ||
        id->kind[0] == '\0' || id->name[0] == '\0')
        return gf_error_set(GF_EINVAL, "resources[%zu]: no id", i);
    return add_id(inv, id->group ? id->group : "", id->version, id->kind,
                  id->namespace_ ? id->namespace_ : "", id->name);
}

int agent_inventory_from_app(struct agent_inventory **out, const Gitfleet__App *app)
{
    int error;

    if ((error = agent_inventory_new(out, app->name)) < 0)
        return error;
    for (size_t i = 0; i < app->n_resources; i++)
        if ((error = add_resource(*out, app->resources[i], i)) < 0) {
            agent_inventory_free(*out);
            *out = NULL;
            return gf_error_wrap(error, "app %s", app->name);
        }
    return 0;
}

/* --- stored form ---------------------------------------------------------- */

json_t *agent_inventory_to_json(const struct agent_inventory *inv)
{
    json_t *list = json_array(), *doc;

    for (size_t i = 0; list != NULL && i < inv->n; i++) {
        const struct agent_inventory_id *id = &inv->ids[i];
        if (json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s,s:s}", "group", id->group,
                                                  "version", id->version, "kind", id->kind,
                                                  "namespace", id->namespace_, "name", id->name)) <
            0) {
            json_decref(list);
            return NULL;
        }
    }
    doc = json_pack("{s:s,s:o}", "app", inv->app, "objects", list);
    return doc;
}

static int read_field(const char **out, const json_t *item, const char *key, size_t i, int required)
{
    const json_t *v = json_object_get(item, key);

    if (!json_is_string(v) || (required && json_string_length(v) == 0))
        return gf_error_set(GF_EINVAL, "inventory: objects[%zu].%s: expected a%s string", i, key,
                            required ? " non-empty" : "");
    *out = json_string_value(v);
    return 0;
}

static int read_objects(struct agent_inventory *inv, const json_t *list)
{
    size_t i;
    json_t *item;

    if (!json_is_array(list))
        return gf_error_set(GF_EINVAL, "inventory: objects: expected a list");
    if (json_array_size(list) > MAX_OBJECTS)
        return gf_error_set(GF_ETOOBIG, "inventory: more than %d objects", MAX_OBJECTS);
    json_array_foreach(list, i, item)
    {
        const char *g = NULL, *v = NULL, *k = NULL, *ns = NULL, *n = NULL;
        int error;
        if (!json_is_object(item))
            return gf_error_set(GF_EINVAL, "inventory: objects[%zu]: expected an object", i);
        if ((error = read_field(&g, item, "group", i, 0)) < 0 ||
            (error = read_field(&v, item, "version", i, 1)) < 0 ||
            (error = read_field(&k, item, "kind", i, 1)) < 0 ||
            (error = read_field(&ns, item, "namespace", i, 0)) < 0 ||
            (error = read_field(&n, item, "name", i, 1)) < 0 ||
            (error = add_id(inv, g, v, k, ns, n)) < 0)
            return error;
    }
    return 0;
}

int agent_inventory_from_json(struct agent_inventory **out, const json_t *doc)
{
    const json_t *app = json_object_get(doc, "app");
    int error;

    *out = NULL;
    if (!json_is_object(doc) || !json_is_string(app))
        return gf_error_set(GF_EINVAL, "inventory: expected {\"app\": ..., \"objects\": [...]}");
    if ((error = agent_inventory_new(out, json_string_value(app))) < 0)
        return error;
    if ((error = read_objects(*out, json_object_get(doc, "objects"))) < 0) {
        agent_inventory_free(*out);
        *out = NULL;
    }
    return error;
}

static char *to_text(const struct agent_inventory *inv, size_t *len)
{
    json_t *doc = agent_inventory_to_json(inv);
    char *text = NULL;

    if (doc == NULL || gf_doc_canonical(&text, len, doc) < 0)
        text = NULL;
    json_decref(doc);
    return text;
}

json_t *agent_inventory_configmap(const struct agent_inventory *inv, const char *namespace_)
{
    size_t len;
    char *text = to_text(inv, &len), name[300];
    json_t *cm;

    if (text == NULL)
        return NULL;
    snprintf(name, sizeof(name), "%s%s", AGENT_INVENTORY_CM_PREFIX, inv->app);
    cm = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s}},s:{s:s}}", "apiVersion", "v1", "kind",
                   "ConfigMap", "metadata", "name", name, "namespace", namespace_, "labels",
                   "app.kubernetes.io/managed-by", "gitfleet", "gitfleet.io/inventory-for",
                   inv->app, "data", AGENT_INVENTORY_CM_KEY, text);
    free(text);
    return cm;
}

int agent_inventory_from_configmap(struct agent_inventory **out, const json_t *cm)
{
    const json_t *text = json_object_get(json_object_get(cm, "data"), AGENT_INVENTORY_CM_KEY);
    json_error_t jerr;
    json_t *doc;
    int error;

    *out = NULL;
    if (!json_is_string(text))
        return gf_error_set(GF_EINVAL, "inventory ConfigMap %s: no data.%s", meta_str(cm, "name"),
                            AGENT_INVENTORY_CM_KEY);
    doc = json_loadb(json_string_value(text), json_string_length(text), JSON_REJECT_DUPLICATES,
                     &jerr);
    if (doc == NULL)
        return gf_error_set(GF_EINVAL, "inventory ConfigMap %s: %d:%d: %s", meta_str(cm, "name"),
                            jerr.line, jerr.column, jerr.text);
    error = agent_inventory_from_json(out, doc);
    json_decref(doc);
    return error;
}

static int file_path(char *buf, size_t len, const char *state_dir, const char *app)
{
    if (!valid_app(app))
        return gf_error_set(GF_EINVAL, "inventory: app name \"%s\" is not a DNS-1123 subdomain",
                            app ? app : "");
    if ((size_t)snprintf(buf, len, "%s/inventory/%s.json", state_dir, app) >= len)
        return gf_error_set(GF_EINVAL, "inventory: state dir path too long");
    return 0;
}

int agent_inventory_save(const struct agent_inventory *inv, const char *state_dir)
{
    char path[4096], dir[4096];
    size_t len;
    char *text;
    int error;

    if ((error = file_path(path, sizeof(path), state_dir, inv->app)) < 0)
        return error;
    snprintf(dir, sizeof(dir), "%s/inventory", state_dir);
    if ((error = gf_fs_mkdirs(dir, 0700)) < 0)
        return gf_error_wrap(error, "inventory of %s", inv->app);
    if ((text = to_text(inv, &len)) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    error = gf_fs_write_atomic(path, text, len, 0600);
    free(text);
    return error < 0 ? gf_error_wrap(error, "inventory of %s", inv->app) : 0;
}

int agent_inventory_load(struct agent_inventory **out, const char *state_dir, const char *app)
{
    char path[4096], *text = NULL;
    size_t len;
    json_error_t jerr;
    json_t *doc;
    int error;

    *out = NULL;
    if ((error = file_path(path, sizeof(path), state_dir, app)) < 0 ||
        (error = gf_fs_read(&text, &len, path, MAX_FILE)) < 0)
        return error;
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (doc == NULL)
        return gf_error_set(GF_EINVAL, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
    error = agent_inventory_from_json(out, doc);
    json_decref(doc);
    if (error == 0 && strcmp((*out)->app, app) != 0) {
        error = gf_error_set(GF_EINVAL, "%s: holds the inventory of \"%s\"", path, (*out)->app);
        agent_inventory_free(*out);
        *out = NULL;
    }
    return error < 0 ? gf_error_wrap(error, "loading inventory") : 0;
}

/* --- ownership ------------------------------------------------------------ */

char *agent_inventory_tracking_id(const char *app, const json_t *obj)
{
    const json_t *kind = json_object_get(obj, "kind");
    const char *group = "", *version;
    char buf[256], *out = NULL;

    if (json_is_string(json_object_get(obj, "apiVersion")) &&
        split_gv(obj, buf, sizeof(buf), &group, &version) < 0)
        return NULL;
    if (!json_is_string(kind) || meta_str(obj, "name")[0] == '\0')
        return NULL;
    if (asprintf(&out, "%s:%s/%s:%s/%s", app, group, json_string_value(kind),
                 meta_str(obj, "namespace"), meta_str(obj, "name")) < 0)
        return NULL;
    return out;
}

int agent_inventory_owns(const char *app, const json_t *live)
{
    const json_t *ann = json_object_get(json_object_get(live, "metadata"), "annotations");
    const json_t *tid = json_object_get(ann, AGENT_INVENTORY_TRACKING_ANNOTATION);
    char *want;
    int owns;

    if (app == NULL || !json_is_string(tid))
        return 0;
    if ((want = agent_inventory_tracking_id(app, live)) == NULL)
        return 0;
    owns = strcmp(want, json_string_value(tid)) == 0;
    free(want);
    return owns;
}

/* --- the prune decision --------------------------------------------------- */

const char *agent_inventory_verdict_name(enum agent_inventory_verdict verdict)
{
    static const char *const names[] = {"Delete",  "Gone",     "NotOwned", "Keep",
                                        "Confirm", "Disabled", "Held"};
    return (unsigned)verdict < sizeof(names) / sizeof(names[0]) ? names[verdict] : "?";
}

void agent_inventory_prune_clear(struct agent_inventory_prune *prune)
{
    if (prune == NULL)
        return;
    for (size_t i = 0; i < prune->n; i++)
        json_decref(prune->entries[i].live);
    free(prune->entries);
    free(prune->reason);
    agent_inventory_free(prune->next);
    memset(prune, 0, sizeof(*prune));
}

/* The verdict for one live object, before the safety valve. */
static int judge(enum agent_inventory_verdict *out, const char *app, const json_t *live,
                 const struct agent_inventory_prune_options *opts, int vanished)
{
    struct agent_syncopts base, res;
    enum agent_syncopts_gate gate;
    int error;

    if (live == NULL) {
        *out = AGENT_INVENTORY_GONE;
        return 0;
    }
    if (!agent_inventory_owns(app, live)) {
        *out = AGENT_INVENTORY_NOT_OWNED;
        return 0;
    }
    if (opts->app_opts != NULL)
        base = *opts->app_opts;
    else
        agent_syncopts_init(&base);
    if ((error = agent_syncopts_for_object(&res, &base, live)) < 0)
        return error;
    agent_syncopts_clear(&res);
    gate = vanished ? res.del : res.prune;
    if (gate == AGENT_SYNCOPTS_NO)
        *out = AGENT_INVENTORY_KEEP;
    else if (gate == AGENT_SYNCOPTS_CONFIRM && !opts->allowed)
        *out = AGENT_INVENTORY_CONFIRM;
    else if (!opts->prune && !vanished)
        *out = AGENT_INVENTORY_DISABLED;
    else
        *out = AGENT_INVENTORY_DELETE;
    return 0;
}

/* Reverse apply order: highest wave first, then reverse kind order, then name. */
static int cmp_entries(const void *pa, const void *pb)
{
    const struct agent_inventory_entry *a = pa, *b = pb;
    int wa = 0, wb = 0, c;
    size_t ka = agent_plan_kind_rank(a->id.kind), kb = agent_plan_kind_rank(b->id.kind);

    if (a->live != NULL && agent_plan_wave(&wa, a->live) < 0)
        wa = 0;
    if (b->live != NULL && agent_plan_wave(&wb, b->live) < 0)
        wb = 0;
    if (wa != wb)
        return wa > wb ? -1 : 1;
    if (ka != kb)
        return ka > kb ? -1 : 1;
    if ((c = strcmp(a->id.name, b->id.name)) != 0)
        return c;
    if ((c = strcmp(a->id.namespace_, b->id.namespace_)) != 0)
        return c;
    return strcmp(a->id.group, b->id.group);
}

/* Every previous id not desired, with its live object and verdict. */
static int collect(struct agent_inventory_prune *out, const struct agent_inventory *previous,
                   const struct agent_inventory *desired, agent_inventory_lookup_fn lookup,
                   void *ctx, const struct agent_inventory_prune_options *opts)
{
    out->entries = calloc(previous->n ? previous->n : 1, sizeof(*out->entries));
    if (out->entries == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (size_t i = 0; i < previous->n; i++) {
        const struct agent_inventory_id *id = &previous->ids[i];
        struct agent_inventory_entry *e;
        int error;
        if (desired != NULL &&
            agent_inventory_has(desired, id->group, id->kind, id->namespace_, id->name))
            continue;
        e = &out->entries[out->n++];
        e->id = *id;
        if ((error = lookup(ctx, id, &e->live)) < 0)
            return gf_error_wrap(error, "reading %s %s/%s", id->kind, id->namespace_, id->name);
        if ((error = judge(&e->verdict, previous->app, e->live, opts, desired == NULL)) < 0)
            return error;
        out->n_delete += e->verdict == AGENT_INVENTORY_DELETE;
    }
    return 0;
}

/* Hold every DELETE when the app vanished or too large a share would go. */
static int safety_valve(struct agent_inventory_prune *out, size_t n_previous, int vanished,
                        const struct agent_inventory_prune_options *opts)
{
    double share = opts->max_share > 0 ? opts->max_share : 0.5;
    int n = 0;

    if (opts->allowed || out->n_delete == 0)
        return 0;
    if (vanished)
        n = asprintf(&out->reason,
                     "the app is no longer in the bundle: %zu objects would be "
                     "deleted; allow with gitfleet sync --allow-prune",
                     out->n_delete);
    else if ((double)out->n_delete > share * (double)n_previous)
        n = asprintf(&out->reason,
                     "%zu of %zu objects would be deleted (more than %g%%); allow "
                     "with gitfleet sync --allow-prune",
                     out->n_delete, n_previous, share * 100);
    else
        return 0;
    if (n < 0)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (size_t i = 0; i < out->n; i++)
        if (out->entries[i].verdict == AGENT_INVENTORY_DELETE)
            out->entries[i].verdict = AGENT_INVENTORY_HELD;
    out->held = 1;
    out->n_delete = 0;
    return 0;
}

/* desired ids plus the entries that may still exist and are ours. */
static int build_next(struct agent_inventory_prune *out, const struct agent_inventory *previous,
                      const struct agent_inventory *desired)
{
    int error = agent_inventory_new(&out->next, previous->app);

    for (size_t i = 0; error == 0 && desired != NULL && i < desired->n; i++) {
        const struct agent_inventory_id *id = &desired->ids[i];
        error = add_id(out->next, id->group, id->version, id->kind, id->namespace_, id->name);
    }
    for (size_t i = 0; error == 0 && i < out->n; i++) {
        const struct agent_inventory_id *id = &out->entries[i].id;
        if (out->entries[i].verdict == AGENT_INVENTORY_GONE ||
            out->entries[i].verdict == AGENT_INVENTORY_NOT_OWNED)
            continue;
        error = add_id(out->next, id->group, id->version, id->kind, id->namespace_, id->name);
    }
    return error;
}

int agent_inventory_prune(struct agent_inventory_prune *out, const struct agent_inventory *previous,
                          const struct agent_inventory *desired, agent_inventory_lookup_fn lookup,
                          void *ctx, const struct agent_inventory_prune_options *opts)
{
    int error;

    memset(out, 0, sizeof(*out));
    if (desired != NULL && strcmp(desired->app, previous->app) != 0)
        return gf_error_set(GF_EINVAL, "prune: inventories of different apps (%s, %s)",
                            previous->app, desired->app);
    if ((error = collect(out, previous, desired, lookup, ctx, opts)) < 0 ||
        (error = safety_valve(out, previous->n, desired == NULL, opts)) < 0 ||
        (error = build_next(out, previous, desired)) < 0) {
        agent_inventory_prune_clear(out);
        return error;
    }
    qsort(out->entries, out->n, sizeof(out->entries[0]), cmp_entries);
    return 0;
}
