/* fleet.c -- the fleet model read at a commit: Clusters, Applications, expanded ApplicationSets */
#include "fleet.h"

#include "appset.h"
#include "gitfleet/config.h"
#include "gitfleet/error.h"
#include "gitfleet/yaml_parse.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLEET_MAX_DEPTH 16 /* directory levels walked under argocd/ */
#define FLEET_MAX_FILE  (8 << 20)
#define ARGO_API        "argoproj.io/v1alpha1"

/* Where an object came from, and the first thing wrong with it. */
struct obj_ctx {
    const char *file;
    char object[320]; /* "Application web" */
    char *error;      /* "file: Application web: spec.source.path: expected a string" */
};

static int ctx_fail(struct obj_ctx *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ctx_fail(struct obj_ctx *c, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->error == NULL &&
        asprintf(&c->error, "%s: %s: %s: %s", c->file, c->object, field, msg) < 0)
        c->error = NULL;
    return GF_EINVAL;
}

static void *grow(void *array, size_t count, size_t *cap, size_t size)
{
    if (count < *cap)
        return array;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *grown = realloc(array, ncap * size);
    if (grown == NULL)
        return NULL;
    *cap = ncap;
    return grown;
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

/* The value at a dotted path of plain keys; NULL when absent. */
static const json_t *at(const json_t *obj, const char *path)
{
    char key[128];

    while (obj != NULL && *path) {
        size_t n = strcspn(path, ".");
        if (!json_is_object(obj) || n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        obj = json_object_get(obj, key);
        path += n + (path[n] == '.');
    }
    return obj;
}

static int opt_string(struct obj_ctx *c, const json_t *obj, const char *field, const char **out)
{
    const json_t *v = at(obj, field);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return ctx_fail(c, field, "expected a string");
    *out = json_string_value(v);
    return 0;
}

static int opt_bool(struct obj_ctx *c, const json_t *obj, const char *field, int *out)
{
    const json_t *v = at(obj, field);

    *out = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return ctx_fail(c, field, "expected true or false");
    *out = json_is_true(v);
    return 0;
}

static int opt_object(struct obj_ctx *c, const json_t *obj, const char *field, const json_t **out)
{
    const json_t *v = at(obj, field);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return ctx_fail(c, field, "expected a mapping");
    *out = v;
    return 0;
}

/* DNS-1123 label: what cluster and app names must be (they become label values). */
static int is_dns_label(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
            return 0;
    return 1;
}

static int require_name(struct obj_ctx *c, const json_t *obj, const char **out)
{
    int error = opt_string(c, obj, "metadata.name", out);

    if (error < 0)
        return error;
    if (*out == NULL)
        return ctx_fail(c, "metadata.name", "missing");
    if (!is_dns_label(*out))
        return ctx_fail(c, "metadata.name",
                        "'%s' is not a DNS-1123 label (lowercase letters, digits, '-')", *out);
    snprintf(c->object + strlen(c->object), sizeof(c->object) - strlen(c->object), " %s", *out);
    return 0;
}

/* ---- sync policy ---- */

static int parse_retry(struct obj_ctx *c, const json_t *spec, struct hub_retry *r)
{
    const json_t *retry, *limit;
    const char *dur = NULL, *maxdur = NULL;
    int error;

    if ((error = opt_object(c, spec, "spec.syncPolicy.retry", &retry)) < 0 || retry == NULL)
        return error;
    r->set = 1;
    r->limit = 0; /* Argo CD: 0 means no retries */
    r->backoff_ms = 5000;
    r->factor = 2;
    r->max_backoff_ms = 180000;
    if ((limit = json_object_get(retry, "limit")) != NULL && !json_is_null(limit)) {
        if (!json_is_integer(limit))
            return ctx_fail(c, "spec.syncPolicy.retry.limit", "expected an integer");
        r->limit = json_integer_value(limit) < 0 ? -1 : json_integer_value(limit);
    }
    const json_t *factor = at(retry, "backoff.factor");
    if (factor != NULL) {
        if (!json_is_integer(factor) || json_integer_value(factor) < 1)
            return ctx_fail(c, "spec.syncPolicy.retry.backoff.factor",
                            "expected a positive integer");
        r->factor = json_integer_value(factor);
    }
    if ((error = opt_string(c, spec, "spec.syncPolicy.retry.backoff.duration", &dur)) < 0 ||
        (error = opt_string(c, spec, "spec.syncPolicy.retry.backoff.maxDuration", &maxdur)) < 0)
        return error;
    double ms;
    if (dur && gf_duration_parse_argo(&ms, dur) < 0)
        return ctx_fail(c, "spec.syncPolicy.retry.backoff.duration", "%s", gf_error_last());
    if (dur)
        r->backoff_ms = (int64_t)ms;
    if (maxdur && gf_duration_parse_argo(&ms, maxdur) < 0)
        return ctx_fail(c, "spec.syncPolicy.retry.backoff.maxDuration", "%s", gf_error_last());
    if (maxdur)
        r->max_backoff_ms = (int64_t)ms;
    return 0;
}

static int parse_sync_options(struct obj_ctx *c, const json_t *spec, struct hub_sync_policy *p)
{
    const json_t *opts = at(spec, "spec.syncPolicy.syncOptions"), *v;
    size_t i;

    if (opts == NULL || json_is_null(opts))
        return 0;
    if (!json_is_array(opts))
        return ctx_fail(c, "spec.syncPolicy.syncOptions", "expected a list of strings");
    p->sync_options = calloc(json_array_size(opts) + 1, sizeof(char *));
    json_array_foreach(opts, i, v)
    {
        if (!json_is_string(v))
            return ctx_fail(c, "spec.syncPolicy.syncOptions", "item %zu: expected a string", i);
        p->sync_options[p->n_sync_options++] = strdup(json_string_value(v));
    }
    return 0;
}

static int parse_policy(struct obj_ctx *c, const json_t *spec, struct hub_sync_policy *p)
{
    const json_t *sp, *automated, *ignore;
    int error;

    if ((error = opt_object(c, spec, "spec.syncPolicy", &sp)) < 0 ||
        (error = opt_object(c, spec, "spec.syncPolicy.automated", &automated)) < 0)
        return error;
    if (automated != NULL) {
        p->automated = 1;
        if ((error = opt_bool(c, spec, "spec.syncPolicy.automated.prune", &p->prune)) < 0 ||
            (error = opt_bool(c, spec, "spec.syncPolicy.automated.selfHeal", &p->self_heal)) < 0)
            return error;
    }
    if ((error = parse_sync_options(c, spec, p)) < 0 ||
        (error = parse_retry(c, spec, &p->retry)) < 0)
        return error;
    ignore = at(spec, "spec.ignoreDifferences");
    if (ignore != NULL && !json_is_null(ignore)) {
        if (!json_is_array(ignore))
            return ctx_fail(c, "spec.ignoreDifferences", "expected a list");
        p->ignore_differences = json_deep_copy(ignore);
    }
    return 0;
}

json_t *hub_fleet_policy_json(const struct hub_sync_policy *p)
{
    json_t *j = json_pack("{s:b,s:b,s:b}", "automated", p->automated, "prune", p->prune, "selfHeal",
                          p->self_heal);
    json_t *opts = json_array();

    for (size_t i = 0; i < p->n_sync_options; i++)
        json_array_append_new(opts, json_string(p->sync_options[i]));
    json_object_set_new(j, "syncOptions", opts);
    if (p->retry.set)
        json_object_set_new(j, "retry",
                            json_pack("{s:I,s:I,s:I,s:I}", "limit", (json_int_t)p->retry.limit,
                                      "backoffDurationMs", (json_int_t)p->retry.backoff_ms,
                                      "backoffFactor", (json_int_t)p->retry.factor,
                                      "backoffMaxDurationMs", (json_int_t)p->retry.max_backoff_ms));
    if (p->ignore_differences != NULL)
        json_object_set(j, "ignoreDifferences", p->ignore_differences);
    return j;
}

static void policy_clear(struct hub_sync_policy *p)
{
    for (size_t i = 0; i < p->n_sync_options; i++)
        free(p->sync_options[i]);
    free(p->sync_options);
    json_decref(p->ignore_differences);
}

/* ---- Applications ---- */

/* Strip a trailing "/" and ".git" so that equivalent spellings compare equal. */
static size_t url_core(const char *url)
{
    size_t n = strlen(url);

    while (n > 0 && url[n - 1] == '/')
        n--;
    if (n >= 4 && strncmp(url + n - 4, ".git", 4) == 0)
        n -= 4;
    return n;
}

static int is_fleet_repo(const char *url, const struct hub_fleet_options *opts)
{
    if (url == NULL || url[0] == '\0' || strcmp(url, ".") == 0)
        return 1;
    for (size_t i = 0; opts->repo_urls && opts->repo_urls[i]; i++) {
        size_t a = url_core(url), b = url_core(opts->repo_urls[i]);
        if (a == b && strncmp(url, opts->repo_urls[i], a) == 0)
            return 1;
    }
    return 0;
}

/* What gitfleet does not render is said, not skipped. */
static int check_unsupported(struct obj_ctx *c, const json_t *spec)
{
    static const char *const fields[] = {"spec.source.helm",
                                         "spec.source.chart",
                                         "spec.source.plugin",
                                         "spec.source.kustomize",
                                         "spec.source.directory.jsonnet",
                                         "spec.sources"};

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (at(spec, fields[i]) != NULL) {
            return ctx_fail(c, fields[i], "not supported by gitfleet");
        }
    return 0;
}

static int parse_source(struct obj_ctx *c, const json_t *spec, struct hub_app *app,
                        const struct hub_fleet_options *opts)
{
    const char *url, *rev, *path, *inc, *exc;
    int error;

    if (!json_is_object(at(spec, "spec.source")))
        return ctx_fail(c, "spec.source", "missing or not a mapping");
    if ((error = opt_string(c, spec, "spec.source.repoURL", &url)) < 0 ||
        (error = opt_string(c, spec, "spec.source.targetRevision", &rev)) < 0 ||
        (error = opt_string(c, spec, "spec.source.path", &path)) < 0 ||
        (error = opt_string(c, spec, "spec.source.directory.include", &inc)) < 0 ||
        (error = opt_string(c, spec, "spec.source.directory.exclude", &exc)) < 0 ||
        (error = opt_bool(c, spec, "spec.source.directory.recurse", &app->recurse)) < 0)
        return error;
    app->repo_url = dup_or_empty(url);
    app->target_revision = dup_or_empty(rev);
    app->path = dup_or_empty(path);
    app->include = dup_or_empty(inc);
    app->exclude = dup_or_empty(exc);
    if (path == NULL)
        return ctx_fail(c, "spec.source.path", "missing");
    if (!is_fleet_repo(url, opts))
        return ctx_fail(c, "spec.source.repoURL",
                        "'%s' is another repository: unsupported, gitfleet renders only the fleet "
                        "repository (if this URL is the fleet repository's, declare it: "
                        "--repo-url)",
                        url);
    return 0;
}

static int parse_destination(struct obj_ctx *c, const json_t *spec, struct hub_app *app,
                             const struct hub_fleet *fleet)
{
    const char *name, *server, *ns;
    int error;

    if ((error = opt_string(c, spec, "spec.destination.name", &name)) < 0 ||
        (error = opt_string(c, spec, "spec.destination.server", &server)) < 0 ||
        (error = opt_string(c, spec, "spec.destination.namespace", &ns)) < 0)
        return error;
    app->namespace = dup_or_empty(ns);
    if (name != NULL) {
        const struct hub_cluster *cl = hub_fleet_cluster(fleet, name);
        app->cluster = strdup(name);
        if (cl == NULL)
            return ctx_fail(c, "spec.destination.name", "no Cluster named '%s'", name);
        app->server = strdup(cl->server);
        return 0;
    }
    if (server == NULL)
        return ctx_fail(c, "spec.destination", "needs a name (a Cluster's name) or a server");
    for (size_t i = 0; i < fleet->n_clusters; i++)
        if (strcmp(fleet->clusters[i].server, server) == 0) {
            app->cluster = strdup(fleet->clusters[i].name);
            app->server = strdup(server);
            return 0;
        }
    app->cluster = strdup("");
    return ctx_fail(c, "spec.destination.server", "no Cluster with server '%s'", server);
}

static int string_map(struct obj_ctx *c, const json_t *obj, const char *field, json_t **out);

static int parse_app_fields(struct obj_ctx *c, const json_t *obj, struct hub_app *app,
                            const struct hub_fleet *fleet, const struct hub_fleet_options *opts)
{
    const json_t *spec;
    const char *name, *project, *app_ns;
    json_t *labels;
    int error;

    if ((error = require_name(c, obj, &name)) < 0)
        return error;
    app->name = strdup(name);
    if ((error = string_map(c, obj, "metadata.labels", &labels)) < 0) {
        json_decref(labels);
        return error;
    }
    json_decref(app->labels);
    app->labels = labels;
    if ((error = opt_string(c, obj, "metadata.namespace", &app_ns)) < 0)
        return error;
    app->app_namespace = dup_or_empty(app_ns);
    if ((error = opt_object(c, obj, "spec", &spec)) < 0)
        return error;
    if (spec == NULL)
        return ctx_fail(c, "spec", "missing");
    if ((error = parse_destination(c, obj, app, fleet)) < 0 ||
        (error = opt_string(c, obj, "spec.project", &project)) < 0)
        return error;
    app->project = strdup(project ? project : "default");
    const char *allow = json_string_value(
        json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"),
                        "gitfleet.io/allow-plain-secrets"));
    app->allow_plain_secrets = opts->allow_plain_secrets || (allow && strcmp(allow, "true") == 0);
    if ((error = check_unsupported(c, obj)) < 0 || (error = parse_source(c, obj, app, opts)) < 0)
        return error;
    return parse_policy(c, obj, &app->policy);
}

static void app_clear(struct hub_app *a)
{
    free(a->name);
    free(a->cluster);
    free(a->namespace);
    free(a->project);
    free(a->server);
    free(a->app_namespace);
    free(a->repo_url);
    free(a->target_revision);
    free(a->path);
    free(a->include);
    free(a->exclude);
    policy_clear(&a->policy);
    free(a->file);
    free(a->origin);
    free(a->appset);
    json_decref(a->labels);
    free(a->error);
}

/* ---- the loader ---- */

struct loader {
    struct hub_fleet *fleet;
    hub_filesrc *tree;
    const struct hub_fleet_options *opts;
    size_t cap_clusters, cap_apps, cap_problems, cap_appsets, cap_projects;
};

static void add_problem(struct loader *l, const char *msg)
{
    char **grown = grow(l->fleet->problems, l->fleet->n_problems, &l->cap_problems, sizeof(char *));

    if (grown == NULL)
        return;
    l->fleet->problems = grown;
    grown[l->fleet->n_problems++] = strdup(msg);
}

static struct hub_app *new_app(struct loader *l)
{
    struct hub_app *grown = grow(l->fleet->apps, l->fleet->n_apps, &l->cap_apps, sizeof(*grown));

    if (grown == NULL)
        return NULL;
    l->fleet->apps = grown;
    memset(&grown[l->fleet->n_apps], 0, sizeof(*grown));
    grown[l->fleet->n_apps].labels = json_object();
    return &grown[l->fleet->n_apps++];
}

/* Add one Application; an invalid one is kept with its error. */
static void add_app(struct loader *l, const json_t *obj, const char *file, const char *origin,
                    const char *cluster_hint)
{
    struct obj_ctx c = {.file = file, .object = "Application", .error = NULL};
    struct hub_app *app = new_app(l);

    if (app == NULL)
        return;
    app->file = strdup(file);
    app->origin = strdup(origin);
    if (parse_app_fields(&c, obj, app, l->fleet, l->opts) < 0) {
        app->error = c.error;
        if (app->name == NULL)
            app->name = strdup("");
        if (app->cluster == NULL)
            app->cluster = strdup(cluster_hint ? cluster_hint : "");
    }
}

/* One generated entry of an ApplicationSet (see appset.h). */
static void add_generated(struct loader *l, const json_t *entry, const char *file,
                          const char *setname, const char *strategy_error)
{
    const json_t *obj = json_object_get(entry, "object");
    const char *origin = json_string_value(json_object_get(entry, "origin"));
    const char *cluster = json_string_value(json_object_get(entry, "cluster"));
    const char *err = json_string_value(json_object_get(entry, "error"));
    struct hub_app *app;

    char why[2048];

    snprintf(why, sizeof(why), "ApplicationSet %s: %s", setname, origin ? origin : "");
    origin = why;
    if (obj != NULL) {
        size_t before = l->fleet->n_apps;
        add_app(l, obj, file, origin, cluster);
        if (l->fleet->n_apps == before)
            return;
        app = &l->fleet->apps[before];
    } else {
        if ((app = new_app(l)) == NULL)
            return;
        app->name = strdup(setname);
        app->cluster = dup_or_empty(cluster);
        app->file = strdup(file);
        app->origin = dup_or_empty(origin);
        if (asprintf(&app->error, "%s: ApplicationSet %s: %s", file, setname, err) < 0)
            app->error = NULL;
    }
    app->appset = strdup(setname);
    if (strategy_error != NULL && app->error == NULL &&
        asprintf(&app->error, "%s: ApplicationSet %s: %s", file, setname, strategy_error) < 0)
        app->error = NULL;
}

/* Keep the ApplicationSet and its strategy; an invalid strategy is returned
 * (malloc'd) so that every app it generates fails rather than rolls out in
 * an order nobody asked for. */
static char *add_strategy(struct loader *l, const json_t *obj, const char *file, const char *name)
{
    struct hub_fleet_appset *grown =
        grow(l->fleet->appsets, l->fleet->n_appsets, &l->cap_appsets, sizeof(*grown));
    struct hub_fleet_appset *set;
    char *error = NULL;

    if (grown == NULL)
        return strdup("out of memory");
    l->fleet->appsets = grown;
    set = &grown[l->fleet->n_appsets++];
    memset(set, 0, sizeof(*set));
    set->name = strdup(name);
    set->file = strdup(file);
    if (hub_strategy_parse(&set->strategy, obj) < 0)
        error = strdup(gf_error_last());
    return error;
}

static void add_appset(struct loader *l, const json_t *obj, const char *file)
{
    struct obj_ctx c = {.file = file, .object = "ApplicationSet", .error = NULL};
    json_t *entries = NULL, *entry;
    char *strategy_error;
    const char *name;
    size_t i;

    if (require_name(&c, obj, &name) < 0) {
        add_problem(l, c.error);
        free(c.error);
        return;
    }
    if (hub_appset_expand(&entries, obj, l->fleet->clusters, l->fleet->n_clusters) < 0) {
        ctx_fail(&c, "spec", "%s", gf_error_last());
        add_problem(l, c.error);
        free(c.error);
        return;
    }
    strategy_error = add_strategy(l, obj, file, name);
    json_array_foreach(entries, i, entry)
    {
        add_generated(l, entry, file, name, strategy_error);
    }
    free(strategy_error);
    json_decref(entries);
}

/* ---- AppProjects ---- */

const gf_project *hub_fleet_project(const struct hub_fleet *fleet, const char *name)
{
    for (size_t i = 0; i < fleet->n_projects; i++)
        if (strcmp(gf_project_name(fleet->projects[i]), name) == 0)
            return fleet->projects[i];
    return NULL;
}

static void keep_project(struct loader *l, gf_project *p)
{
    gf_project **grown =
        grow(l->fleet->projects, l->fleet->n_projects, &l->cap_projects, sizeof(*grown));

    if (grown == NULL) {
        gf_project_free(p);
        return;
    }
    l->fleet->projects = grown;
    grown[l->fleet->n_projects++] = p;
}

/* An AppProject that cannot be read binds nothing: its apps fail as
 * naming a project that does not exist, and the problem says why. */
static void add_project(struct loader *l, const json_t *doc, const char *file)
{
    struct obj_ctx c = {.file = file, .object = "AppProject", .error = NULL};
    gf_project *p = NULL;
    const char *name;
    char msg[1200];

    if (require_name(&c, doc, &name) < 0) {
        add_problem(l, c.error);
        free(c.error);
        return;
    }
    if (hub_fleet_project(l->fleet, name) != NULL) {
        snprintf(msg, sizeof(msg), "%s: AppProject %s: metadata.name: defined twice", file, name);
        add_problem(l, msg);
        return;
    }
    if (gf_project_parse(&p, name, json_object_get(doc, "spec")) < 0) {
        snprintf(msg, sizeof(msg), "%s: %s", file, gf_error_last());
        add_problem(l, msg);
        return;
    }
    keep_project(l, p);
}

static void app_refuse(struct hub_app *app, const char *why)
{
    if (asprintf(&app->error, "%s: Application %s: %s", app->file, app->name, why) < 0)
        app->error = NULL;
}

/* Does the project let this app be what it is? (Argo CD checks the same at
 * every reconciliation: app namespace, source, destination.) */
static void bind_app(const struct loader *l, struct hub_app *app)
{
    const gf_project *p = hub_fleet_project(l->fleet, app->project);
    const char *const *urls = l->opts->repo_urls;
    const char *repo = app->repo_url && app->repo_url[0] && strcmp(app->repo_url, ".") != 0
                           ? app->repo_url
                           : (urls && urls[0] ? urls[0] : ".");
    char msg[1200];

    if (p == NULL) {
        snprintf(msg, sizeof(msg),
                 "spec.project: project '%s' does not exist (no AppProject %s under %s/)",
                 app->project, app->project, l->opts->apps_dir ? l->opts->apps_dir : "argocd");
        app_refuse(app, msg);
        return;
    }
    if (gf_project_check_app_namespace(p, app->app_namespace) < 0 ||
        gf_project_check_source(p, repo) < 0 ||
        gf_project_check_destination(p, app->cluster, app->server, app->namespace) < 0) {
        app_refuse(app, gf_error_last());
        return;
    }
    app->rules = p;
}

/* After every file is read: Argo CD's `default` project unless the
 * repository writes its own, then every valid app bound to its project. */
static void bind_projects(struct loader *l)
{
    gf_project *def = NULL;

    if (hub_fleet_project(l->fleet, "default") == NULL && gf_project_default(&def) == 0)
        keep_project(l, def);
    for (size_t i = 0; i < l->fleet->n_apps; i++)
        if (l->fleet->apps[i].error == NULL)
            bind_app(l, &l->fleet->apps[i]);
}

static void add_object(struct loader *l, const json_t *doc, const char *file, size_t index)
{
    const char *api = json_string_value(json_object_get(doc, "apiVersion"));
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    char msg[1024];

    if (!json_is_object(doc) || kind == NULL || api == NULL) {
        snprintf(msg, sizeof(msg), "%s: document %zu: apiVersion and kind must be strings", file,
                 index + 1);
        add_problem(l, msg);
        return;
    }
    if (strcmp(kind, "Application") != 0 && strcmp(kind, "ApplicationSet") != 0 &&
        strcmp(kind, "AppProject") != 0)
        return; /* other kinds (ConfigMaps, ...): not ours to read */
    if (strcmp(api, ARGO_API) != 0) {
        snprintf(msg, sizeof(msg), "%s: %s: apiVersion: '%s', expected " ARGO_API, file, kind, api);
        add_problem(l, msg);
        return;
    }
    if (strcmp(kind, "AppProject") == 0)
        add_project(l, doc, file);
    else if (kind[sizeof("Application") - 1] == '\0')
        add_app(l, doc, file, "Application", NULL);
    else
        add_appset(l, doc, file);
}

/* Parse a YAML file of the tree; a failure becomes a problem. */
static json_t *load_docs(struct loader *l, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    json_t *docs = NULL;

    if (hub_filesrc_read(l->tree, path, &data, &len) < 0 ||
        gf_yaml_parse(&docs, data, len, path, NULL, 0) < 0) {
        add_problem(l, gf_error_last());
        docs = NULL;
    }
    free(data);
    return docs;
}

static int is_yaml_name(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static void walk_apps(struct loader *l, const char *dir, int depth)
{
    char **names = NULL;
    size_t count = 0;

    if (depth > FLEET_MAX_DEPTH || hub_filesrc_list(l->tree, dir, &names, &count) < 0)
        return;
    for (size_t i = 0; i < count; i++) {
        char *path = NULL;
        enum hub_filesrc_type type = HUB_FILESRC_NONE;
        if (hub_filesrc_join(&path, dir, names[i]) < 0 ||
            hub_filesrc_stat(l->tree, path, &type) < 0) {
            add_problem(l, gf_error_last());
        } else if (type == HUB_FILESRC_DIR) {
            walk_apps(l, path, depth + 1);
        } else if (type == HUB_FILESRC_FILE && is_yaml_name(names[i])) {
            json_t *docs = load_docs(l, path), *doc;
            size_t k;
            json_array_foreach(docs, k, doc)
            {
                add_object(l, doc, path, k);
            }
            json_decref(docs);
        }
        free(path);
    }
    hub_filesrc_names_free(names, count);
}

/* ---- Clusters ---- */

static int string_map(struct obj_ctx *c, const json_t *obj, const char *field, json_t **out)
{
    const json_t *m = at(obj, field), *v;
    const char *k;

    *out = json_object();
    if (m == NULL || json_is_null(m))
        return 0;
    if (!json_is_object(m))
        return ctx_fail(c, field, "expected a mapping of strings");
    json_object_foreach((json_t *)m, k, v)
    {
        if (!json_is_string(v))
            return ctx_fail(c, field, "'%s': expected a string value", k);
        json_object_set(*out, k, (json_t *)v);
    }
    return 0;
}

static int parse_cluster(struct obj_ctx *c, const json_t *doc, struct hub_cluster *cl)
{
    const char *api, *kind, *name, *server, *project;
    const json_t *values;
    int error;

    if ((error = opt_string(c, doc, "apiVersion", &api)) < 0 ||
        (error = opt_string(c, doc, "kind", &kind)) < 0)
        return error;
    if (api == NULL || strcmp(api, "gitfleet.io/v1") != 0)
        return ctx_fail(c, "apiVersion", "expected gitfleet.io/v1");
    if (kind == NULL || strcmp(kind, "Cluster") != 0)
        return ctx_fail(c, "kind", "expected Cluster");
    if ((error = require_name(c, doc, &name)) < 0)
        return error;
    cl->name = strdup(name);
    if ((error = string_map(c, doc, "metadata.labels", &cl->labels)) < 0 ||
        (error = string_map(c, doc, "metadata.annotations", &cl->annotations)) < 0 ||
        (error = opt_object(c, doc, "spec.values", &values)) < 0 ||
        (error = opt_string(c, doc, "spec.server", &server)) < 0 ||
        (error = opt_string(c, doc, "spec.project", &project)) < 0)
        return error;
    cl->project = dup_or_empty(project);
    cl->values = values ? json_deep_copy(values) : json_object();
    if (server != NULL)
        cl->server = strdup(server);
    else if (asprintf(&cl->server, "gitfleet://%s", name) < 0)
        cl->server = NULL;
    return 0;
}

static void cluster_clear(struct hub_cluster *cl)
{
    free(cl->name);
    free(cl->server);
    free(cl->project);
    json_decref(cl->labels);
    json_decref(cl->annotations);
    json_decref(cl->values);
    free(cl->file);
}

static void add_cluster(struct loader *l, const json_t *doc, const char *file)
{
    struct obj_ctx c = {.file = file, .object = "Cluster", .error = NULL};
    struct hub_fleet *f = l->fleet;
    struct hub_cluster cl = {0};

    if (parse_cluster(&c, doc, &cl) == 0 && hub_fleet_cluster(f, cl.name) != NULL)
        ctx_fail(&c, "metadata.name", "another Cluster has this name");
    if (c.error != NULL) {
        add_problem(l, c.error);
        free(c.error);
        cluster_clear(&cl);
        return;
    }
    struct hub_cluster *grown = grow(f->clusters, f->n_clusters, &l->cap_clusters, sizeof(cl));
    if (grown == NULL) {
        cluster_clear(&cl);
        return;
    }
    cl.file = strdup(file);
    f->clusters = grown;
    f->clusters[f->n_clusters++] = cl;
}

static int load_clusters(struct loader *l, const char *dir)
{
    char **names = NULL;
    size_t count = 0;
    int error;

    if ((error = hub_filesrc_list(l->tree, dir, &names, &count)) < 0)
        return gf_error_wrap(error, "clusters");
    for (size_t i = 0; i < count; i++) {
        char *path = NULL;
        if (!is_yaml_name(names[i]) || hub_filesrc_join(&path, dir, names[i]) < 0)
            continue;
        json_t *docs = load_docs(l, path), *doc;
        size_t k;
        json_array_foreach(docs, k, doc)
        {
            add_cluster(l, doc, path);
        }
        json_decref(docs);
        free(path);
    }
    hub_filesrc_names_free(names, count);
    return 0;
}

/* ---- the fleet ---- */

static int compare_clusters(const void *a, const void *b)
{
    return strcmp(((const struct hub_cluster *)a)->name, ((const struct hub_cluster *)b)->name);
}

static int compare_apps(const void *a, const void *b)
{
    const struct hub_app *x = a, *y = b;
    int c = strcmp(x->cluster, y->cluster);
    return c ? c : strcmp(x->name, y->name);
}

const struct hub_cluster *hub_fleet_cluster(const struct hub_fleet *fleet, const char *name)
{
    size_t lo = 0, hi = fleet->n_clusters; /* sorted by name: a lookup is log N */

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(fleet->clusters[mid].name, name);
        if (c == 0)
            return &fleet->clusters[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t hub_fleet_cluster_apps(const struct hub_fleet *fleet, const char *cluster,
                              const struct hub_app **first_out)
{
    size_t lo = 0, hi = fleet->n_apps, end;

    while (lo < hi) { /* the first app whose cluster is not below `cluster` */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(fleet->apps[mid].cluster, cluster) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (end = lo; end < fleet->n_apps && strcmp(fleet->apps[end].cluster, cluster) == 0; end++)
        ;
    *first_out = fleet->apps + lo;
    return end - lo;
}

const struct hub_fleet_appset *hub_fleet_appset(const struct hub_fleet *fleet, const char *name)
{
    for (size_t i = 0; name != NULL && i < fleet->n_appsets; i++)
        if (strcmp(fleet->appsets[i].name, name) == 0)
            return &fleet->appsets[i];
    return NULL;
}

/* Two apps of one name on one cluster would own each other's objects. */
static void mark_duplicates(struct hub_fleet *f)
{
    for (size_t i = 1; i < f->n_apps; i++) {
        struct hub_app *a = &f->apps[i - 1], *b = &f->apps[i];
        if (b->error == NULL && a->name[0] && compare_apps(a, b) == 0 &&
            asprintf(&b->error, "%s: Application %s: metadata.name: also defined in %s", b->file,
                     b->name, a->file) < 0)
            b->error = NULL;
    }
}

int hub_fleet_load(struct hub_fleet **out, hub_filesrc *tree, const struct hub_fleet_options *opts)
{
    static const struct hub_fleet_options defaults = {0};
    struct loader l = {.tree = tree, .opts = opts ? opts : &defaults};
    const char *apps_dir = l.opts->apps_dir ? l.opts->apps_dir : "argocd";
    enum hub_filesrc_type type = HUB_FILESRC_NONE;
    int error;

    *out = NULL;
    if ((l.fleet = calloc(1, sizeof(*l.fleet))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    error = load_clusters(&l, l.opts->clusters_dir ? l.opts->clusters_dir : "clusters");
    if (error < 0) {
        hub_fleet_free(l.fleet);
        return error;
    }
    if (l.fleet->n_clusters > 1)
        qsort(l.fleet->clusters, l.fleet->n_clusters, sizeof(struct hub_cluster), compare_clusters);
    if ((error = hub_filesrc_stat(tree, apps_dir, &type)) < 0 || type != HUB_FILESRC_DIR) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s: no such directory: no Applications", apps_dir);
        add_problem(&l, error < 0 ? gf_error_last() : msg);
    } else {
        walk_apps(&l, apps_dir, 0);
    }
    bind_projects(&l);
    if (l.fleet->n_apps > 1)
        qsort(l.fleet->apps, l.fleet->n_apps, sizeof(struct hub_app), compare_apps);
    mark_duplicates(l.fleet);
    *out = l.fleet;
    return 0;
}

void hub_fleet_free(struct hub_fleet *fleet)
{
    if (fleet == NULL)
        return;
    for (size_t i = 0; i < fleet->n_clusters; i++)
        cluster_clear(&fleet->clusters[i]);
    for (size_t i = 0; i < fleet->n_apps; i++)
        app_clear(&fleet->apps[i]);
    for (size_t i = 0; i < fleet->n_problems; i++)
        free(fleet->problems[i]);
    for (size_t i = 0; i < fleet->n_appsets; i++) {
        free(fleet->appsets[i].name);
        free(fleet->appsets[i].file);
        hub_strategy_clear(&fleet->appsets[i].strategy);
    }
    free(fleet->appsets);
    for (size_t i = 0; i < fleet->n_projects; i++)
        gf_project_free(fleet->projects[i]);
    free(fleet->projects);
    free(fleet->clusters);
    free(fleet->apps);
    free(fleet->problems);
    free(fleet);
}

json_t *hub_fleet_app_json(const struct hub_app *app)
{
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "cluster", app->cluster, "name", app->name,
        "namespace", app->namespace ? app->namespace : "", "project",
        app->project ? app->project : "", "path", app->path ? app->path : "", "targetRevision",
        app->target_revision ? app->target_revision : "", "file", app->file, "origin",
        app->origin ? app->origin : "", "syncPolicy", hub_fleet_policy_json(&app->policy));

    if (app->appset != NULL)
        json_object_set_new(j, "applicationSet", json_string(app->appset));
    if (json_object_size(app->labels) > 0)
        json_object_set(j, "labels", app->labels);
    if (app->error != NULL)
        json_object_set_new(j, "error", json_string(app->error));
    return j;
}
