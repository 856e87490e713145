/* publish.c -- a rendered cluster bundle becomes a signed, stored generation */
#include "publish.h"
#include "healthcm.h"
#include "pin.h"

#include "gitfleet/doc.h"
#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "gitfleet/sign.h"
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
    char **allowed;     /* allow_prune names, borrowed from the caller's JSON */
    char (*hashes)[65]; /* each rendered app's content hash */
    /* Held states put in place of rendered apps (hub/pin.h), decoded from
     * the store: freed with the encoding. */
    Gitfleet__App **held;
    size_t n_held;
    hub_store *store;
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
    free(e->hashes);
    for (size_t i = 0; i < e->n_held; i++)
        gitfleet__app__free_unpacked(e->held[i], NULL);
    free(e->held);
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
    e->hashes = calloc(b->n_apps + 1, sizeof(*e->hashes));
    e->held = calloc(b->n_apps + 1, sizeof(*e->held));
    if (!e->apps || !e->app_ptrs || !e->policies || !e->retries || !e->resources ||
        !e->resource_ptrs || !e->ids || !e->bodies || !e->hashes || !e->held)
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

/* SHA-256 of the packed message with the revisions and the wording of
 * render errors left out: render errors name the commit they happened at,
 * and an app that stays broken must not make a new generation at every
 * commit. (The hub shows its render errors itself; the agent only needs to
 * know the app failed.) */
struct blanked {
    char *revision, *render_error;
};

static void blank_app(struct blanked *saved, Gitfleet__App *app)
{
    saved->revision = app->revision;
    saved->render_error = app->render_error;
    app->revision = NULL;
    if (app->render_error)
        app->render_error = "render failed";
}

static void unblank_app(const struct blanked *saved, Gitfleet__App *app)
{
    app->revision = saved->revision;
    app->render_error = saved->render_error;
}

static int sha256_packed(char out[65], const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *bytes = malloc(len ? len : 1);

    if (bytes == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    protobuf_c_message_pack(msg, bytes);
    gf_sha256_hex(out, bytes, len);
    free(bytes);
    return 0;
}

/* One app's desired state: what its agent compares with what it synced. */
static int app_hash(char out[65], Gitfleet__App *app)
{
    struct blanked saved;
    char *own = app->content_hash;
    int error;

    blank_app(&saved, app);
    app->content_hash = NULL;
    error = sha256_packed(out, &app->base);
    app->content_hash = own;
    unblank_app(&saved, app);
    return error;
}

/* The whole bundle's, without generation, time and revisions, so that a
 * commit touching nothing of this cluster's (a README, another cluster's
 * overlay) hashes the same. */
static int content_hash(char out[65], Gitfleet__Bundle *bundle)
{
    struct blanked *saved = calloc(bundle->n_apps + 1, sizeof(*saved));
    char *revision = bundle->revision;
    int error;

    if (saved == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    bundle->revision = NULL;
    for (size_t i = 0; i < bundle->n_apps; i++)
        blank_app(&saved[i], bundle->apps[i]);
    error = sha256_packed(out, &bundle->base);
    bundle->revision = revision;
    for (size_t i = 0; i < bundle->n_apps; i++)
        unblank_app(&saved[i], bundle->apps[i]);
    free(saved);
    return error;
}

static int hash_apps(struct encoded *e)
{
    int error;

    for (size_t i = 0; i < e->bundle.n_apps; i++) {
        if ((error = app_hash(e->hashes[i], e->app_ptrs[i])) < 0)
            return error;
        e->app_ptrs[i]->content_hash = e->hashes[i];
    }
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

/* ---- pins ---- */

static const struct hub_store_pin *pin_of(const struct hub_store_pin *pins, size_t n,
                                          const char *app)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(pins[i].app, app) == 0)
            return &pins[i];
    return NULL;
}

/* Put the held state in place of app i (NULL: hold it off the cluster). */
static int substitute(struct encoded *e, size_t i, const char *cluster,
                      const struct hub_store_pin *pin)
{
    struct hub_store_app_state st;
    Gitfleet__App *held;
    int error;

    if (pin->content_hash[0] == '\0') {
        e->app_ptrs[i] = NULL;
        return 0;
    }
    if ((error = hub_store_app_state_get(e->store, cluster, pin->app, pin->content_hash, &st)) < 0)
        return error;
    held = gitfleet__app__unpack(NULL, st.state_len, st.state);
    hub_store_app_state_clear(&st);
    if (held == NULL)
        return gf_error_set(GF_EIO, "store: the kept state %.12s of %s on %s does not decode",
                            pin->content_hash, pin->app, cluster);
    e->held[e->n_held++] = held;
    if (strcmp(pin->reason, "rollback") == 0) {
        /* strings of an unpacked message are its own: freed with it */
        free(held->rollback_revision);
        if ((held->rollback_revision = strdup(st.revision)) == NULL)
            return gf_error_set(GF_ENOMEM, "out of memory");
        held->has_auto_sync_suspended = held->has_rollback_generation = 1;
        held->auto_sync_suspended = 1;
        held->rollback_generation = st.generation;
    }
    e->app_ptrs[i] = held;
    return 0;
}

/* What the cluster has of app i: its pin's state, else the newest state
 * published ("" when none). */
static void in_effect(char out[65], hub_store *store, const char *cluster, const char *app,
                      const struct hub_store_pin *pin)
{
    struct hub_store_app_state st;

    out[0] = '\0';
    if (pin != NULL) {
        snprintf(out, 65, "%s", pin->content_hash);
    } else if (hub_store_app_state_get(store, cluster, app, NULL, &st) == 0) {
        snprintf(out, 65, "%s", st.content_hash);
        hub_store_app_state_clear(&st);
    }
}

/* Ask the hook (rollouts) whether to hold app i; set or drop its pin. */
static int consult_hook(struct encoded *e, const struct hub_bundle *b, size_t i,
                        const struct hub_publish_hooks *hooks, const struct hub_store_pin **pin,
                        struct hub_store_pin *fresh)
{
    char current[65];
    const char *name = b->apps[i].app->name;
    int hold;

    in_effect(current, e->store, b->cluster, name, *pin);
    hold = hooks->hold(hooks->arg, b->cluster, &b->apps[i], e->hashes[i], current);
    if (hold && *pin == NULL) {
        int error =
            hub_pin_hold(e->store, b->cluster, name, current, HUB_PIN_ROLLOUT, e->hashes[i]);
        if (error < 0)
            return error;
        *fresh = (struct hub_store_pin){.content_hash = "", .reason = "rollout"};
        snprintf(fresh->app, sizeof(fresh->app), "%s", name);
        snprintf(fresh->content_hash, sizeof(fresh->content_hash), "%s", current);
        *pin = fresh;
    } else if (!hold && *pin != NULL && strcmp((*pin)->reason, "rollout") == 0) {
        hub_pin_release(e->store, b->cluster, name); /* Git came back to it */
        *pin = NULL;
    }
    return 0;
}

/* Apply the cluster's pins to the encoded bundle: held apps carry their held
 * state; a rollback pin lifts when Git's state of its app changed; pins of
 * apps that left Git go. */
static int apply_pins(struct encoded *e, const struct hub_bundle *b,
                      const struct hub_publish_hooks *hooks)
{
    struct hub_store_pin *pins = NULL, fresh;
    size_t n = 0, kept = 0;
    char *seen = NULL;
    int error;

    if ((error = hub_store_pin_list(e->store, b->cluster, &pins, &n)) < 0)
        return error;
    if ((seen = calloc(n + 1, 1)) == NULL) {
        free(pins);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < b->n_apps && error == 0; i++) {
        const char *name = b->apps[i].app->name;
        const struct hub_store_pin *pin = pin_of(pins, n, name);
        if (pin != NULL)
            seen[pin - pins] = 1;
        if (hooks && hooks->hold && b->apps[i].error == NULL &&
            (error = consult_hook(e, b, i, hooks, &pin, &fresh)) < 0)
            break;
        if (pin != NULL && strcmp(pin->reason, "rollback") == 0 &&
            strcmp(pin->git_hash, e->hashes[i]) != 0) {
            gf_log_info("HUB-PIN-LIFT", "cluster=%s app=%s why=\"Git changed the app\"", b->cluster,
                        name);
            hub_pin_release(e->store, b->cluster, name);
            pin = NULL;
        }
        if (pin != NULL)
            error = substitute(e, i, b->cluster, pin);
    }
    for (size_t i = 0; i < n && error == 0; i++)
        if (!seen[i])
            hub_pin_release(e->store, b->cluster, pins[i].app); /* the app left Git */
    for (size_t i = 0; i < b->n_apps; i++) /* close the gaps of apps held off */
        if (e->app_ptrs[i] != NULL)
            e->app_ptrs[kept++] = e->app_ptrs[i];
    e->bundle.n_apps = kept;
    free(seen);
    free(pins);
    return error;
}

/* Keep every state the new generation carries, for pins to come. */
static void keep_states(struct encoded *e, const char *cluster, uint64_t generation, int64_t now)
{
    for (size_t i = 0; i < e->bundle.n_apps; i++) {
        Gitfleet__App *app = e->bundle.apps[i];
        struct hub_store_app_state st = {.generation = generation, .published_ms = now};
        size_t len = gitfleet__app__get_packed_size(app);
        if (app->content_hash == NULL || app->render_error != NULL ||
            (st.state = malloc(len ? len : 1)) == NULL)
            continue;
        /* Kept as published, but without the marks of a hold. */
        protobuf_c_boolean suspended = app->auto_sync_suspended;
        int has = app->has_auto_sync_suspended, has_gen = app->has_rollback_generation;
        char *rollback_revision = app->rollback_revision;
        app->has_auto_sync_suspended = app->has_rollback_generation = 0;
        app->auto_sync_suspended = 0;
        app->rollback_revision = NULL;
        st.state_len = gitfleet__app__pack(app, st.state);
        app->has_auto_sync_suspended = has;
        app->has_rollback_generation = has_gen;
        app->auto_sync_suspended = suspended;
        app->rollback_revision = rollback_revision;
        snprintf(st.content_hash, sizeof(st.content_hash), "%s", app->content_hash);
        snprintf(st.revision, sizeof(st.revision), "%s", app->revision ? app->revision : "");
        if (hub_store_app_state_put(e->store, cluster, app->name, &st) < 0)
            gf_log_warn("HUB-STATE-KEEP-FAIL", "cluster=%s app=%s error=\"%s\"", cluster, app->name,
                        gf_error_last());
        free(st.state);
    }
}

int hub_publish_bundle(hub_store *store, const gf_sign_key *key, const struct hub_bundle *bundle,
                       const json_t *allow_prune, const struct hub_publish_hooks *hooks,
                       uint64_t *generation_out, int *published_out)
{
    struct encoded e;
    struct hub_store_bundle stored = {0};
    char latest_hash[65];
    uint64_t max = 0;
    int error;

    *published_out = 0;
    *generation_out = 0;
    if ((error = encode(&e, bundle)) < 0)
        goto out;
    e.store = store;
    if ((error = hash_apps(&e)) < 0 || (error = apply_pins(&e, bundle, hooks)) < 0 ||
        (error = set_allowed(&e, allow_prune)) < 0 ||
        (error = content_hash(stored.content_hash, &e.bundle)) < 0 ||
        (error = hub_store_bundle_max_generation(store, bundle->cluster, &max)) < 0)
        goto out;
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
    if ((error = gf_wire_bundle_seal(&stored.signed_bytes, &stored.signed_len, &e.bundle, key)) <
            0 ||
        (error = hub_store_bundle_put(store, bundle->cluster, &stored)) < 0)
        goto out;
    keep_states(&e, bundle->cluster, stored.generation, stored.created_ms);
    *generation_out = max + 1;
    *published_out = 1;
out:
    free(stored.signed_bytes);
    encoded_clear(&e);
    return error;
}
