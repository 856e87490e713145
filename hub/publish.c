/* publish.c -- a rendered cluster bundle becomes a signed, stored generation */
#include "publish.h"
#include "healthcm.h"

#include "appstate.h"
#include "opreq.h"
#include "pin.h"

#include "gitfleet/apphash.h"
#include "gitfleet/doc.h"
#include "gitfleet/log.h"
#include "gitfleet/error.h"
#include "gitfleet/limits.h"
#include "gitfleet/wire.h"

#include <pthread.h>
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
    char **errors = calloc(2 * bundle->n_apps + 1, sizeof(*errors));
    char **revisions = errors + bundle->n_apps;
    uint8_t *bytes = NULL;
    size_t len;

    if (errors == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    /* Render errors name the commit they happened at: an app that stays
     * broken must not make a new generation at every commit. (The hub shows
     * its render errors itself; the agent only needs to know the app failed.) */
    Gitfleet__Bundle stamp = *bundle; /* generation and time: not content */
    bundle->has_generation = bundle->has_created_unix_ms = 0;
    bundle->revision = NULL;
    for (size_t i = 0; i < bundle->n_apps; i++) {
        revisions[i] = bundle->apps[i]->revision;
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
    bundle->has_generation = stamp.has_generation;
    bundle->has_created_unix_ms = stamp.has_created_unix_ms;
    for (size_t i = 0; i < bundle->n_apps; i++) {
        bundle->apps[i]->render_error = errors[i];
        bundle->apps[i]->revision = revisions[i];
    }
    free(errors);
    if (bytes == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    free(bytes);
    return 0;
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

/* ---- what publish puts over the apps: hashes, pins, operations ---- */

/*
 * One publish at a time per cluster: a render pass, an operator's request
 * and an agent's report may all republish a cluster, and each must see the
 * generation the other stored. Striped, so clusters publish in parallel.
 */
#define PUBLISH_STRIPES 64
static pthread_mutex_t stripes[PUBLISH_STRIPES];
static pthread_once_t stripes_once = PTHREAD_ONCE_INIT;

static void stripes_init(void)
{
    for (int i = 0; i < PUBLISH_STRIPES; i++)
        pthread_mutex_init(&stripes[i], NULL);
}

static pthread_mutex_t *stripe(const char *cluster)
{
    unsigned h = 5381;

    pthread_once(&stripes_once, stripes_init);
    for (const char *p = cluster; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return &stripes[h % PUBLISH_STRIPES];
}

/* The changes made to a bundle for one publish, undone by overlay_undo(). */
struct overlay {
    size_t n_apps;
    Gitfleet__App **original; /* the bundle's apps as given */
    Gitfleet__App **swapped;  /* unpacked stored states put in their place (or NULL) */
    char (*hashes)[65];       /* content hash of each app as given */
    char *dropped;            /* held off the cluster (a pin of state "") */
    char **saved_hash;        /* the app's content_hash before */
    Gitfleet__AppOperationRequest **saved_ops;
    size_t saved_n_ops;
    Gitfleet__AppOperationRequest **ops;
    size_t n_ops;
};

static void overlay_undo(struct overlay *o, Gitfleet__Bundle *b)
{
    if (o->original)
        b->n_apps = o->n_apps;
    for (size_t i = 0; i < o->n_apps; i++) {
        b->apps[i] = o->original[i];
        b->apps[i]->content_hash = o->saved_hash[i];
        if (o->swapped[i])
            gitfleet__app__free_unpacked(o->swapped[i], NULL);
    }
    b->operations = o->saved_ops;
    b->n_operations = o->saved_n_ops;
    hub_opreq_proto_free(o->ops, o->n_ops);
    free(o->original);
    free(o->swapped);
    free(o->hashes);
    free(o->dropped);
    free(o->saved_hash);
    memset(o, 0, sizeof(*o));
}

/* Put the stored state `hash` in place of app i; NULL pin: Git's state. */
static int swap_in(struct overlay *o, Gitfleet__Bundle *b, size_t i, hub_store *store,
                   const char *hash, const char *revision, const struct hub_pin *pin)
{
    Gitfleet__App *app = NULL;
    int error;

    if ((error = hub_appstate_load(&app, store, hash)) < 0)
        return error;
    free(app->revision);
    free(app->content_hash);
    app->revision = strdup(revision);
    app->content_hash = strdup(hash);
    /* A rollback is shown to the agent; a rollout's hold is just the state
     * the cluster keeps. */
    int rollback = pin && pin->suspend_auto_sync;
    if (rollback) {
        app->has_auto_sync_suspended = app->auto_sync_suspended = 1;
        app->has_rollback_generation = 1;
        app->rollback_generation = pin->generation;
        app->rollback_revision = strdup(pin->revision);
    }
    if (!app->revision || !app->content_hash || (rollback && !app->rollback_revision)) {
        gitfleet__app__free_unpacked(app, NULL);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    o->swapped[i] = app;
    b->apps[i] = app;
    return 0;
}

/* App i is pinned: publish the held state, unless Git moved on from the
 * state the pin was made against (then the pin goes, as Argo CD resumes
 * auto-sync at the next change) or the state is no longer kept. */
static void apply_pin(struct overlay *o, Gitfleet__Bundle *b, size_t i, hub_store *store,
                      const char *cluster, const struct hub_pin *pin, int from_git)
{
    const char *why = NULL;

    if (from_git && pin->release_on_change && strcmp(o->hashes[i], pin->git_hash) != 0)
        why = "the app changed in Git";
    else if (pin->hash[0] == '\0')
        o->dropped[i] = 1; /* a rollout holds a new app off the cluster */
    else if (swap_in(o, b, i, store, pin->hash, pin->revision, pin) < 0)
        why = gf_error_last();
    if (why == NULL)
        return;
    hub_pin_release(store, cluster, pin->app, pin->holder, NULL);
    gf_log_info("HUB-PIN-RELEASED", "cluster=%s app=%s holder=%s reason=\"%s\"", cluster, pin->app,
                pin->holder, why);
}

/* Republishing a stored bundle: an app no pin holds goes back to Git's state. */
static void unpin_stale(struct overlay *o, Gitfleet__Bundle *b, size_t i, hub_store *store,
                        const char *cluster)
{
    struct hub_appstate_ref git;

    if (hub_appstate_git(store, cluster, b->apps[i]->name, &git) < 0 ||
        strcmp(git.hash, o->hashes[i]) == 0)
        return;
    if (swap_in(o, b, i, store, git.hash, git.revision, NULL) < 0)
        gf_log_error("HUB-PIN-RESTORE-FAIL", "cluster=%s app=%s error=\"%s\"", cluster,
                     b->apps[i]->name, gf_error_last());
}

/* Ask the hooks (the rollouts) of every app Git renders whether to hold it
 * where the cluster is: a new hold becomes a pin (holder "rollout") at the
 * state in effect; a rollout's pin the hook no longer wants goes. The pin
 * list is read again when anything changed. */
static int consult_hooks(struct overlay *o, Gitfleet__Bundle *b, hub_store *store,
                         const char *cluster, const struct hub_publish_hooks *hooks,
                         struct hub_pin **pins, size_t *n_pins)
{
    int changed = 0, error;

    for (size_t i = 0; i < b->n_apps; i++) {
        const struct hub_pin *pin = hub_pin_find(*pins, *n_pins, b->apps[i]->name);
        struct hub_appstate_ref git;
        char in_effect[65] = "";
        if (b->apps[i]->render_error || !hooks->governs(hooks->arg, b->apps[i]->name))
            continue; /* nothing to roll out: no lookup on the publish path */
        if (pin)
            snprintf(in_effect, sizeof(in_effect), "%s", pin->hash);
        else if (hub_appstate_git(store, cluster, b->apps[i]->name, &git) == 0)
            snprintf(in_effect, sizeof(in_effect), "%s", git.hash);
        int hold = hooks->hold(hooks->arg, cluster, b->apps[i]->name, o->hashes[i], in_effect);
        if (hold && pin == NULL) {
            struct hub_pin held = {.created_ms = gf_wire_now_ms()};
            snprintf(held.cluster, sizeof(held.cluster), "%s", cluster);
            snprintf(held.app, sizeof(held.app), "%s", b->apps[i]->name);
            snprintf(held.holder, sizeof(held.holder), "rollout");
            snprintf(held.hash, sizeof(held.hash), "%s", in_effect);
            if (in_effect[0]) {
                snprintf(held.revision, sizeof(held.revision), "%s", git.revision);
                held.generation = git.generation;
            }
            if ((error = hub_pin_hold(store, &held)) < 0)
                return error;
            changed = 1;
        } else if (!hold && pin != NULL && strcmp(pin->holder, "rollout") == 0) {
            hub_pin_release(store, cluster, pin->app, "rollout", NULL); /* Git came back */
            changed = 1;
        }
    }
    if (!changed)
        return 0;
    free(*pins);
    *pins = NULL;
    return hub_pin_list(store, cluster, pins, n_pins);
}

/* Hash every app, put pinned states and pending operations in. `from_git`:
 * the apps are what Git renders now (else a stored bundle's). */
static int overlay_apply(struct overlay *o, Gitfleet__Bundle *b, hub_store *store,
                         const char *cluster, int from_git, const struct hub_publish_hooks *hooks)
{
    struct hub_pin *pins = NULL;
    size_t n_pins = 0;
    int error;

    memset(o, 0, sizeof(*o));
    o->original = calloc(b->n_apps + 1, sizeof(*o->original));
    o->swapped = calloc(b->n_apps + 1, sizeof(*o->swapped));
    o->hashes = calloc(b->n_apps + 1, sizeof(*o->hashes));
    o->saved_hash = calloc(b->n_apps + 1, sizeof(*o->saved_hash));
    o->dropped = calloc(b->n_apps + 1, 1);
    o->saved_ops = b->operations;
    o->saved_n_ops = b->n_operations;
    if (!o->original || !o->swapped || !o->hashes || !o->saved_hash || !o->dropped)
        return gf_error_set(GF_ENOMEM, "out of memory");
    o->n_apps = b->n_apps;
    for (size_t i = 0; i < b->n_apps; i++) {
        o->original[i] = b->apps[i];
        o->saved_hash[i] = b->apps[i]->content_hash;
    }
    for (size_t i = 0; i < b->n_apps; i++) {
        if ((error = gf_apphash_compute(o->hashes[i], b->apps[i])) < 0)
            return error;
        b->apps[i]->content_hash = o->hashes[i];
    }
    if ((error = hub_pin_list(store, cluster, &pins, &n_pins)) < 0)
        return error;
    if (hooks != NULL && (error = consult_hooks(o, b, store, cluster, hooks, &pins, &n_pins)) < 0) {
        free(pins);
        return error;
    }
    for (size_t i = 0; i < b->n_apps; i++) {
        const struct hub_pin *pin = hub_pin_find(pins, n_pins, b->apps[i]->name);
        if (pin)
            apply_pin(o, b, i, store, cluster, pin, from_git);
        else if (!from_git)
            unpin_stale(o, b, i, store, cluster);
    }
    free(pins);
    size_t kept = 0;
    for (size_t i = 0; i < o->n_apps; i++) /* close the gaps of apps held off */
        if (!o->dropped[i])
            b->apps[kept++] = b->apps[i];
    b->n_apps = kept;
    if ((error = hub_opreq_pending_proto(store, cluster, gf_wire_now_ms(), &o->ops, &o->n_ops)) < 0)
        return error;
    b->operations = o->ops;
    b->n_operations = o->n_ops;
    return 0;
}

/* Git's state of every app, kept to roll back to (the apps as given). */
static void remember_git(const struct overlay *o, hub_store *store, const char *cluster,
                         uint64_t generation)
{
    int64_t now = gf_wire_now_ms();

    for (size_t i = 0; i < o->n_apps; i++) {
        Gitfleet__App *app = o->original[i];
        char *hash = app->content_hash;
        app->content_hash = (char *)o->hashes[i];
        if (hub_appstate_put_git(store, cluster, app, generation, now) < 0)
            gf_log_error("HUB-APPSTATE-FAIL", "cluster=%s app=%s error=\"%s\"", cluster, app->name,
                         gf_error_last());
        app->content_hash = hash;
    }
}

/* Hash the bundle as it now stands; when it differs from the newest
 * stored one, sign and store it as the next generation. */
static int seal_if_changed(hub_store *store, const gf_sign_key *key, const char *cluster,
                           Gitfleet__Bundle *b, uint64_t *generation_out, int *published_out)
{
    struct hub_store_bundle stored = {0};
    char latest_hash[65];
    uint64_t max = 0;
    int error;

    *published_out = 0;
    *generation_out = 0;
    if ((error = content_hash(stored.content_hash, b)) < 0 ||
        (error = hub_store_bundle_head(store, cluster, &max, latest_hash)) < 0)
        return error;
    *generation_out = max;
    if (strcmp(latest_hash, stored.content_hash) == 0)
        return 0; /* unchanged: no signature, no write */
    b->has_generation = b->has_created_unix_ms = 1;
    b->generation = max + 1;
    b->created_unix_ms = gf_wire_now_ms();
    stored.generation = max + 1;
    stored.created_ms = b->created_unix_ms;
    snprintf(stored.revision, sizeof(stored.revision), "%s", b->revision ? b->revision : "");
    if ((error = gf_wire_bundle_seal(&stored.signed_bytes, &stored.signed_len, b, key)) < 0)
        goto out;
    /* hub_bundlesize_enforce() keeps renders under this; this is the last
     * word: no agent would take it (gitfleet/limits.h). */
    if (stored.signed_len > GF_LIMIT_BUNDLE_BYTES) {
        error = gf_error_set(GF_ETOOBIG,
                             "the signed bundle is %zu bytes, over the %zu-byte bundle limit",
                             stored.signed_len, GF_LIMIT_BUNDLE_BYTES);
        goto out;
    }
    if ((error = hub_store_bundle_put(store, cluster, &stored)) < 0)
        goto out;
    *generation_out = max + 1;
    *published_out = 1;
out:
    free(stored.signed_bytes);
    return error;
}

int hub_publish_bundle(hub_store *store, const gf_sign_key *key, const struct hub_bundle *bundle,
                       const json_t *allow_prune, const struct hub_publish_hooks *hooks,
                       uint64_t *generation_out, int *published_out)
{
    pthread_mutex_t *lock = stripe(bundle->cluster);
    struct overlay o = {0};
    struct encoded e;
    int error;

    *published_out = 0;
    *generation_out = 0;
    pthread_mutex_lock(lock);
    if ((error = encode(&e, bundle)) < 0 || (error = set_allowed(&e, allow_prune)) < 0 ||
        (error = overlay_apply(&o, &e.bundle, store, bundle->cluster, 1, hooks)) < 0)
        goto out;
    error = seal_if_changed(store, key, bundle->cluster, &e.bundle, generation_out, published_out);
    if (error == 0)
        remember_git(&o, store, bundle->cluster, *generation_out);
out:
    overlay_undo(&o, &e.bundle);
    encoded_clear(&e);
    pthread_mutex_unlock(lock);
    return error;
}

int hub_publish_refresh(hub_store *store, const gf_sign_key *key, const char *cluster,
                        uint64_t *generation_out, int *published_out)
{
    pthread_mutex_t *lock = stripe(cluster);
    struct hub_store_bundle latest = {0};
    Gitfleet__Bundle *b = NULL;
    struct overlay o = {0};
    int error;

    *published_out = 0;
    *generation_out = 0;
    pthread_mutex_lock(lock);
    if ((error = hub_store_bundle_latest(store, cluster, &latest)) < 0 ||
        (error = gf_wire_bundle_open(&b, latest.signed_bytes, latest.signed_len, key)) < 0)
        goto out;
    if ((error = overlay_apply(&o, b, store, cluster, 0, NULL)) == 0)
        error = seal_if_changed(store, key, cluster, b, generation_out, published_out);
    overlay_undo(&o, b);
out:
    if (b)
        gitfleet__bundle__free_unpacked(b, NULL);
    hub_store_bundle_clear(&latest);
    pthread_mutex_unlock(lock);
    return error;
}
