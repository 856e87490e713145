/* publish.c -- a rendered cluster bundle becomes a signed, stored generation */
#include "publish.h"
#include "healthcm.h"

#include "gitfleet/doc.h"
#include "gitfleet/error.h"
#include "gitfleet/limits.h"
#include "gitfleet/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The proto messages of one bundle, allocated in blocks, pointing into the
 * rendered bundle (which must outlive them) and into `bodies`. */
struct encoded {
    Gitfleet__Bundle bundle;
    Gitfleet__App *apps, **app_ptrs;
    Gitfleet__SyncPolicy *policies;
    Gitfleet__RetryPolicy *retries;
    Gitfleet__Resource *resources, **resource_ptrs;
    Gitfleet__ResourceId *ids;
    char **bodies; /* canonical JSON of each resource and of ignoreDifferences */
    size_t n_bodies;
    char **allowed; /* allow_prune names, borrowed from the caller's JSON */
};

static void encoded_clear(struct encoded *e)
{
    for (size_t i = 0; i < e->n_bodies; i++)
        free(e->bodies[i]);
    free(e->bodies);
    free(e->apps);
    free(e->app_ptrs);
    free(e->policies);
    free(e->retries);
    free(e->resources);
    free(e->resource_ptrs);
    free(e->ids);
    free(e->allowed);
    hub_healthcm_encoded_free(e->bundle.health_scripts, e->bundle.n_health_scripts);
    free(e->bundle.health_scripts);
}

/* Canonical JSON of `doc`, kept in e->bodies until encoded_clear(). */
static int keep_canonical(struct encoded *e, const json_t *doc, ProtobufCBinaryData *out)
{
    char *text = NULL;
    size_t len = 0;
    int error;

    if ((error = gf_doc_canonical(&text, &len, doc)) < 0)
        return error;
    e->bodies[e->n_bodies++] = text;
    out->data = (uint8_t *)text;
    out->len = len;
    return 0;
}

static int encode_policy(struct encoded *e, size_t i, const struct hub_sync_policy *p,
                         Gitfleet__App *app)
{
    Gitfleet__SyncPolicy *sp = &e->policies[i];
    Gitfleet__RetryPolicy *rp = &e->retries[i];

    gitfleet__sync_policy__init(sp);
    gitfleet__retry_policy__init(rp);
    sp->has_automated = sp->has_prune = sp->has_self_heal = 1;
    sp->automated = p->automated;
    sp->prune = p->prune;
    sp->self_heal = p->self_heal;
    sp->sync_options = p->sync_options;
    sp->n_sync_options = p->n_sync_options;
    if (p->retry.set) {
        rp->has_limit = rp->has_backoff_duration_ms = rp->has_backoff_factor = 1;
        rp->has_backoff_max_duration_ms = 1;
        rp->limit = (int32_t)p->retry.limit;
        rp->backoff_duration_ms = p->retry.backoff_ms;
        rp->backoff_factor = (int32_t)p->retry.factor;
        rp->backoff_max_duration_ms = p->retry.max_backoff_ms;
        sp->retry = rp;
    }
    app->sync_policy = sp;
    if (p->ignore_differences) {
        sp->has_ignore_differences = 1;
        return keep_canonical(e, p->ignore_differences, &sp->ignore_differences);
    }
    return 0;
}

/* Issue 17: the app's AppProject rules travel with it; the agent checks
 * them again. */
static int encode_project(struct encoded *e, const struct hub_app *a, Gitfleet__App *app)
{
    json_t *spec;
    int error;

    app->project = a->project;
    app->destination_server = a->server;
    if (a->rules == NULL)
        return 0;
    spec = gf_project_spec_json(a->rules);
    app->has_project_rules = 1;
    error = keep_canonical(e, spec, &app->project_rules);
    json_decref(spec);
    return error;
}

static void encode_id(Gitfleet__ResourceId *id, const struct hub_resource *r)
{
    gitfleet__resource_id__init(id);
    id->group = r->group;
    id->version = r->version;
    id->kind = r->kind;
    id->namespace_ = r->namespace;
    id->name = r->name;
}

static int encode_app(struct encoded *e, size_t i, size_t *next_resource,
                      const struct hub_bundle_app *ba)
{
    Gitfleet__App *app = &e->apps[i];
    int error;

    gitfleet__app__init(app);
    app->name = ba->app->name;
    app->namespace_ = ba->app->namespace;
    app->revision = ba->revision;
    app->render_error = ba->error;
    if ((error = encode_policy(e, i, &ba->app->policy, app)) < 0 ||
        (error = encode_project(e, ba->app, app)) < 0)
        return error;
    app->resources = &e->resource_ptrs[*next_resource];
    for (size_t j = 0; j < ba->n_resources; j++) {
        size_t k = (*next_resource)++;
        Gitfleet__Resource *res = &e->resources[k];
        gitfleet__resource__init(res);
        encode_id(&e->ids[k], &ba->resources[j]);
        res->id = &e->ids[k];
        res->has_sync_wave = res->has_body = 1;
        res->sync_wave = ba->resources[j].wave;
        if ((error = keep_canonical(e, ba->resources[j].body, &res->body)) < 0)
            return error;
        e->resource_ptrs[k] = res;
    }
    app->n_resources = ba->n_resources;
    e->app_ptrs[i] = app;
    return 0;
}

static int encode(struct encoded *e, const struct hub_bundle *b)
{
    size_t n_res = 0;
    int error;

    memset(e, 0, sizeof(*e));
    for (size_t i = 0; i < b->n_apps; i++)
        n_res += b->apps[i].n_resources;
    e->apps = calloc(b->n_apps + 1, sizeof(*e->apps));
    e->app_ptrs = calloc(b->n_apps + 1, sizeof(*e->app_ptrs));
    e->policies = calloc(b->n_apps + 1, sizeof(*e->policies));
    e->retries = calloc(b->n_apps + 1, sizeof(*e->retries));
    e->resources = calloc(n_res + 1, sizeof(*e->resources));
    e->resource_ptrs = calloc(n_res + 1, sizeof(*e->resource_ptrs));
    e->ids = calloc(n_res + 1, sizeof(*e->ids));
    e->bodies = calloc(n_res + 2 * b->n_apps + 1, sizeof(*e->bodies));
    if (!e->apps || !e->app_ptrs || !e->policies || !e->retries || !e->resources ||
        !e->resource_ptrs || !e->ids || !e->bodies)
        return gf_error_set(GF_ENOMEM, "out of memory");
    gitfleet__bundle__init(&e->bundle);
    e->bundle.cluster = b->cluster;
    e->bundle.revision = b->revision;
    size_t next = 0;
    for (size_t i = 0; i < b->n_apps; i++)
        if ((error = encode_app(e, i, &next, &b->apps[i])) < 0)
            return error;
    e->bundle.apps = e->app_ptrs;
    e->bundle.n_apps = b->n_apps;
    return hub_healthcm_encode(&e->bundle.health_scripts, &e->bundle.n_health_scripts, b->health,
                               b);
}

/* SHA-256 of what the cluster would apply: the bundle without generation,
 * time, revisions and the wording of render errors, so that a commit
 * touching nothing of this cluster's (a README, another cluster's overlay)
 * hashes the same. */
static int content_hash(char out[65], Gitfleet__Bundle *bundle)
{
    char *revision = bundle->revision;
    char **errors = calloc(bundle->n_apps + 1, sizeof(*errors));
    uint8_t *bytes = NULL;
    size_t len;

    if (errors == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    /* Render errors name the commit they happened at: an app that stays
     * broken must not make a new generation at every commit. (The hub shows
     * its render errors itself; the agent only needs to know the app failed.) */
    bundle->revision = NULL;
    for (size_t i = 0; i < bundle->n_apps; i++) {
        bundle->apps[i]->revision = NULL;
        errors[i] = bundle->apps[i]->render_error;
        if (errors[i])
            bundle->apps[i]->render_error = "render failed";
    }
    len = gitfleet__bundle__get_packed_size(bundle);
    if ((bytes = malloc(len ? len : 1)) != NULL) {
        gitfleet__bundle__pack(bundle, bytes);
        gf_sha256_hex(out, bytes, len);
    }
    bundle->revision = revision;
    for (size_t i = 0; i < bundle->n_apps; i++)
        bundle->apps[i]->render_error = errors[i];
    free(errors);
    if (bytes == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    free(bytes);
    return 0;
}

/* Put the app revisions back after hashing. */
static void restore_revisions(struct encoded *e, const struct hub_bundle *b)
{
    for (size_t i = 0; i < b->n_apps; i++)
        e->apps[i].revision = b->apps[i].revision;
}

/* Point the bundle's allow_prune list at the names in `allow` (borrowed). */
static int set_allowed(struct encoded *e, const json_t *allow)
{
    size_t n = json_array_size(allow);

    if (n == 0)
        return 0;
    if ((e->allowed = calloc(n, sizeof(*e->allowed))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        e->allowed[i] = (char *)json_string_value(json_array_get(allow, i));
    e->bundle.allow_prune = e->allowed;
    e->bundle.n_allow_prune = n;
    return 0;
}

int hub_publish_bundle(hub_store *store, const gf_sign_key *key, const struct hub_bundle *bundle,
                       const json_t *allow_prune, uint64_t *generation_out, int *published_out)
{
    struct encoded e;
    struct hub_store_bundle stored = {0};
    char latest_hash[65];
    uint64_t max = 0;
    int error;

    *published_out = 0;
    *generation_out = 0;
    if ((error = encode(&e, bundle)) < 0 || (error = set_allowed(&e, allow_prune)) < 0 ||
        (error = content_hash(stored.content_hash, &e.bundle)) < 0 ||
        (error = hub_store_bundle_max_generation(store, bundle->cluster, &max)) < 0)
        goto out;
    restore_revisions(&e, bundle);
    *generation_out = max;
    if (hub_store_bundle_latest_hash(store, bundle->cluster, latest_hash) == 0 &&
        strcmp(latest_hash, stored.content_hash) == 0)
        goto out; /* unchanged: no signature, no write */
    e.bundle.has_generation = e.bundle.has_created_unix_ms = 1;
    e.bundle.generation = max + 1;
    e.bundle.created_unix_ms = gf_wire_now_ms();
    stored.generation = max + 1;
    stored.created_ms = e.bundle.created_unix_ms;
    snprintf(stored.revision, sizeof(stored.revision), "%s",
             bundle->revision ? bundle->revision : "");
    if ((error = gf_wire_bundle_seal(&stored.signed_bytes, &stored.signed_len, &e.bundle, key)) < 0)
        goto out;
    /* hub_bundlesize_enforce() keeps renders under this; this is the last
     * word: no agent would take it (gitfleet/limits.h). */
    if (stored.signed_len > GF_LIMIT_BUNDLE_BYTES) {
        error = gf_error_set(GF_ETOOBIG,
                             "the signed bundle is %zu bytes, over the %zu-byte bundle limit",
                             stored.signed_len, GF_LIMIT_BUNDLE_BYTES);
        goto out;
    }
    if ((error = hub_store_bundle_put(store, bundle->cluster, &stored)) < 0)
        goto out;
    *generation_out = max + 1;
    *published_out = 1;
out:
    free(stored.signed_bytes);
    encoded_clear(&e);
    return error;
}
