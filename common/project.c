/* project.c -- Argo CD AppProject rules: parsing, glob matching and the checks hub and agent share
 */
#include "gitfleet/project.h"

#include "gitfleet/doc.h"
#include "gitfleet/error.h"
#include "gitfleet/redact.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROJECT_MAX_ITEMS 4096
#define PROJECT_MAX_GLOB  1024

struct gk {
    char *group, *kind;
};

struct dest {
    char *server, *name, *namespace_;
};

struct list_gk {
    struct gk *items;
    size_t n;
    int set; /* the field was written (an empty list differs from none) */
};

struct gf_project {
    char *name;
    char **repos;
    size_t n_repos;
    struct dest *dests;
    size_t n_dests;
    struct list_gk cw, cb, nw, nb; /* cluster/namespace white/black lists */
    char **source_ns;
    size_t n_source_ns;
};

/* ---- globs ---- */

static int glob_at(const char *p, const char *v, char sep, int depth);

/* `[...]` at p (after '['): does c match? *end_out is after ']'. */
static int class_match(const char *p, char c, const char **end_out)
{
    int neg = *p == '!' || *p == '^', hit = 0;
    const char *q = p + neg;

    for (int first = 1; *q && (*q != ']' || first); first = 0) {
        if (q[1] == '-' && q[2] && q[2] != ']') {
            hit |= c >= q[0] && c <= q[2];
            q += 3;
        } else {
            hit |= c == *q++;
        }
    }
    if (*q != ']')
        return -1; /* unterminated: no match, as a bad pattern */
    *end_out = q + 1;
    return hit != neg;
}

/* `{a,b}` at p (after '{'): try each alternative followed by the rest. */
static int alt_match(const char *p, const char *v, char sep, int depth)
{
    const char *end = p;
    int level = 1;

    while (*end && level > 0) {
        level += *end == '{';
        level -= *end == '}';
        end += level > 0;
    }
    if (*end != '}')
        return 0;
    const char *start = p;
    level = 0;
    for (const char *q = p;; q++) {
        if (q == end || (*q == ',' && level == 0)) {
            char buf[PROJECT_MAX_GLOB];
            int n = snprintf(buf, sizeof(buf), "%.*s%s", (int)(q - start), start, end + 1);
            if (n > 0 && (size_t)n < sizeof(buf) && glob_at(buf, v, sep, depth + 1))
                return 1;
            if (q == end)
                return 0;
            start = q + 1;
        } else {
            level += *q == '{';
            level -= *q == '}';
        }
    }
}

static int glob_at(const char *p, const char *v, char sep, int depth)
{
    if (depth > 64)
        return 0;
    for (; *p; p++, v++) {
        if (*p == '*') {
            int any = p[1] == '*'; /* `**` crosses the separator */
            p += any ? 2 : 1;
            for (const char *t = v;; t++) {
                if (glob_at(p, t, sep, depth + 1))
                    return 1;
                if (*t == '\0' || (!any && sep && *t == sep))
                    return 0;
            }
        }
        if (*p == '{')
            return alt_match(p + 1, v, sep, depth);
        if (*v == '\0')
            return 0;
        if (*p == '?') {
            if (sep && *v == sep)
                return 0;
        } else if (*p == '[') {
            const char *end = NULL;
            if (class_match(p + 1, *v, &end) != 1)
                return 0;
            p = end - 1;
        } else if (*p == '\\' && p[1]) {
            if (*++p != *v)
                return 0;
        } else if (*p != *v) {
            return 0;
        }
    }
    return *v == '\0';
}

int gf_project_glob(const char *pattern, const char *value, char sep)
{
    if (strcmp(pattern, "*") == 0)
        return 1;
    return strlen(pattern) < PROJECT_MAX_GLOB && glob_at(pattern, value, sep, 0);
}

/* Argo CD's globMatch with negation: "!x" matches what x does not. */
static int neg_match(const char *pattern, const char *value, char sep)
{
    if (pattern[0] == '!')
        return !gf_project_glob(pattern + 1, value, sep);
    return gf_project_glob(pattern, value, sep);
}

/* ---- parsing ---- */

static int fail(const char *project, const char *field, const char *what)
{
    return gf_error_set(GF_EINVAL, "AppProject %s: %s: %s", project, field, what);
}

static int get_string(char **out, const json_t *obj, const char *key, const char *project,
                      const char *field)
{
    const json_t *v = json_object_get(obj, key);
    char path[256];

    if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
        snprintf(path, sizeof(path), "%s.%s", field, key);
        return fail(project, path, "expected a string");
    }
    *out = strdup(v && json_is_string(v) ? json_string_value(v) : "");
    return *out ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
}

/* A list field: NULL or absent gives n = 0 and *set = 0. */
static int get_list(const json_t **out, size_t *n, int *set, const json_t *spec, const char *key,
                    const char *project)
{
    const json_t *v = json_object_get(spec, key);
    char path[128];

    *out = NULL;
    *n = 0;
    if (set)
        *set = v != NULL && !json_is_null(v);
    if (v == NULL || json_is_null(v))
        return 0;
    snprintf(path, sizeof(path), "spec.%s", key);
    if (!json_is_array(v))
        return fail(project, path, "expected a list");
    if (json_array_size(v) > PROJECT_MAX_ITEMS)
        return fail(project, path, "too many items");
    *out = v;
    *n = json_array_size(v);
    return 0;
}

static int parse_strings(char ***out, size_t *n_out, const json_t *spec, const char *key,
                         const char *project)
{
    const json_t *list, *v;
    size_t n, i;
    char path[160];
    int error;

    if ((error = get_list(&list, &n, NULL, spec, key, project)) < 0)
        return error;
    *out = calloc(n + 1, sizeof(char *));
    json_array_foreach(list, i, v)
    {
        snprintf(path, sizeof(path), "spec.%s[%zu]", key, i);
        if (!json_is_string(v))
            return fail(project, path, "expected a string");
        (*out)[(*n_out)++] = strdup(json_string_value(v));
    }
    return 0;
}

static int parse_gks(struct list_gk *l, const json_t *spec, const char *key, const char *project)
{
    const json_t *list, *v;
    size_t n, i;
    char path[160];
    int error;

    if ((error = get_list(&list, &n, &l->set, spec, key, project)) < 0)
        return error;
    l->items = calloc(n + 1, sizeof(*l->items));
    json_array_foreach(list, i, v)
    {
        snprintf(path, sizeof(path), "spec.%s[%zu]", key, i);
        if (!json_is_object(v))
            return fail(project, path, "expected {group, kind}");
        struct gk *g = &l->items[l->n++];
        if ((error = get_string(&g->group, v, "group", project, path)) < 0 ||
            (error = get_string(&g->kind, v, "kind", project, path)) < 0)
            return error;
        if (g->kind[0] == '\0')
            return fail(project, path, "kind: missing");
    }
    return 0;
}

static int parse_dests(gf_project *p, const json_t *spec)
{
    const json_t *list, *v;
    size_t n, i;
    char path[160];
    int error;

    if ((error = get_list(&list, &n, NULL, spec, "destinations", p->name)) < 0)
        return error;
    p->dests = calloc(n + 1, sizeof(*p->dests));
    json_array_foreach(list, i, v)
    {
        snprintf(path, sizeof(path), "spec.destinations[%zu]", i);
        if (!json_is_object(v))
            return fail(p->name, path, "expected {server | name, namespace}");
        struct dest *d = &p->dests[p->n_dests++];
        if ((error = get_string(&d->server, v, "server", p->name, path)) < 0 ||
            (error = get_string(&d->name, v, "name", p->name, path)) < 0 ||
            (error = get_string(&d->namespace_, v, "namespace", p->name, path)) < 0)
            return error;
        if (strcmp(d->server, "!*") == 0 || strcmp(d->namespace_, "!*") == 0)
            return fail(p->name, path, "'!*' denies everything: not a valid pattern");
    }
    return 0;
}

int gf_project_parse(gf_project **out, const char *name, const json_t *spec)
{
    gf_project *p = calloc(1, sizeof(*p));
    int error;

    *out = NULL;
    if (p == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    p->name = strdup(name);
    if (spec != NULL && !json_is_null(spec) && !json_is_object(spec))
        error = fail(name, "spec", "expected a mapping");
    else if ((error = parse_strings(&p->repos, &p->n_repos, spec, "sourceRepos", name)) == 0 &&
             (error = parse_dests(p, spec)) == 0 &&
             (error = parse_gks(&p->cw, spec, "clusterResourceWhitelist", name)) == 0 &&
             (error = parse_gks(&p->cb, spec, "clusterResourceBlacklist", name)) == 0 &&
             (error = parse_gks(&p->nw, spec, "namespaceResourceWhitelist", name)) == 0 &&
             (error = parse_gks(&p->nb, spec, "namespaceResourceBlacklist", name)) == 0)
        error = parse_strings(&p->source_ns, &p->n_source_ns, spec, "sourceNamespaces", name);
    if (error < 0) {
        gf_project_free(p);
        return error;
    }
    *out = p;
    return 0;
}

int gf_project_default(gf_project **out)
{
    json_t *spec = json_pack("{s:[s], s:[{s:s, s:s}], s:[{s:s, s:s}]}", "sourceRepos", "*",
                             "destinations", "server", "*", "namespace", "*",
                             "clusterResourceWhitelist", "group", "*", "kind", "*");
    int error = gf_project_parse(out, "default", spec);

    json_decref(spec);
    return error;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_gks(struct list_gk *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].group);
        free(l->items[i].kind);
    }
    free(l->items);
}

void gf_project_free(gf_project *p)
{
    if (p == NULL)
        return;
    free(p->name);
    free_strings(p->repos, p->n_repos);
    for (size_t i = 0; i < p->n_dests; i++) {
        free(p->dests[i].server);
        free(p->dests[i].name);
        free(p->dests[i].namespace_);
    }
    free(p->dests);
    free_gks(&p->cw);
    free_gks(&p->cb);
    free_gks(&p->nw);
    free_gks(&p->nb);
    free_strings(p->source_ns, p->n_source_ns);
    free(p);
}

const char *gf_project_name(const gf_project *p)
{
    return p->name;
}

static json_t *strings_json(char **v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void set_gks(json_t *spec, const char *key, const struct list_gk *l)
{
    json_t *a;

    if (!l->set)
        return;
    a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(
            a, json_pack("{s:s, s:s}", "group", l->items[i].group, "kind", l->items[i].kind));
    json_object_set_new(spec, key, a);
}

json_t *gf_project_spec_json(const gf_project *p)
{
    json_t *spec = json_object(), *dests = json_array();

    json_object_set_new(spec, "sourceRepos", strings_json(p->repos, p->n_repos));
    for (size_t i = 0; i < p->n_dests; i++)
        json_array_append_new(dests,
                              json_pack("{s:s, s:s, s:s}", "server", p->dests[i].server, "name",
                                        p->dests[i].name, "namespace", p->dests[i].namespace_));
    json_object_set_new(spec, "destinations", dests);
    set_gks(spec, "clusterResourceWhitelist", &p->cw);
    set_gks(spec, "clusterResourceBlacklist", &p->cb);
    set_gks(spec, "namespaceResourceWhitelist", &p->nw);
    set_gks(spec, "namespaceResourceBlacklist", &p->nb);
    json_object_set_new(spec, "sourceNamespaces", strings_json(p->source_ns, p->n_source_ns));
    return spec;
}

/* ---- checks ---- */

/* Argo CD's NormalizeGitURL, near enough: no credentials, lowercase, no
 * trailing "/" or ".git". */
static void normalize_url(char *out, size_t len, const char *url)
{
    size_t n;

    gf_redact_url_strip(out, len, url);
    for (char *c = out; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
    if (n > 4 && strcmp(out + n - 4, ".git") == 0)
        out[n - 4] = '\0';
}

int gf_project_check_source(const gf_project *p, const char *repo_url)
{
    char want[2048], pat[2048];
    int any = 0;

    normalize_url(want, sizeof(want), repo_url);
    for (size_t i = 0; i < p->n_repos; i++) {
        int deny = p->repos[i][0] == '!';
        normalize_url(pat + deny, sizeof(pat) - 1, p->repos[i] + deny);
        pat[0] = deny ? '!' : pat[0];
        if (neg_match(pat, want, '/'))
            any = 1;
        else if (deny)
            return gf_error_set(GF_EPERM,
                                "application repo %s is not permitted in project '%s' "
                                "(denied by spec.sourceRepos[%zu] '%s')",
                                want, p->name, i, p->repos[i]);
    }
    if (!any)
        return gf_error_set(GF_EPERM,
                            "application repo %s is not permitted in project '%s' (no "
                            "spec.sourceRepos entry matches it)",
                            want, p->name);
    return 0;
}

int gf_project_check_destination(const gf_project *p, const char *name, const char *server,
                                 const char *ns)
{
    int any = 0;

    name = name ? name : "";
    server = server ? server : "";
    ns = ns ? ns : "";
    for (size_t i = 0; i < p->n_dests; i++) {
        const struct dest *d = &p->dests[i];
        int name_ok = name[0] && neg_match(d->name, name, 0);
        int server_ok = server[0] && neg_match(d->server, server, 0);
        int ns_ok = neg_match(d->namespace_, ns, 0);
        if ((name_ok || server_ok) && ns_ok) {
            any = 1;
            continue;
        }
        if ((!name_ok && d->name[0] == '!') || (!server_ok && d->server[0] == '!') ||
            (!ns_ok && d->namespace_[0] == '!'))
            return gf_error_set(GF_EPERM,
                                "destination cluster '%s' (server %s) namespace '%s' is not "
                                "permitted in project '%s' (denied by spec.destinations[%zu])",
                                name, server, ns, p->name, i);
    }
    if (!any)
        return gf_error_set(GF_EPERM,
                            "destination cluster '%s' (server %s) namespace '%s' does not match "
                            "any of the allowed destinations in project '%s' (spec.destinations)",
                            name, server, ns, p->name);
    return 0;
}

int gf_project_check_app_namespace(const gf_project *p, const char *app_ns)
{
    if (app_ns == NULL || app_ns[0] == '\0' || strcmp(app_ns, "argocd") == 0)
        return 0;
    for (size_t i = 0; i < p->n_source_ns; i++)
        if (gf_project_glob(p->source_ns[i], app_ns, 0))
            return 0;
    return gf_error_set(GF_EPERM,
                        "an Application in namespace '%s' is not permitted in project '%s' "
                        "(spec.sourceNamespaces)",
                        app_ns, p->name);
}

/* The index of the first entry of `l` matching group/kind, or -1. */
static long gk_find(const struct list_gk *l, const char *group, const char *kind)
{
    for (size_t i = 0; i < l->n; i++)
        if (gf_project_glob(l->items[i].kind, kind, 0) &&
            gf_project_glob(l->items[i].group, group, 0))
            return (long)i;
    return -1;
}

static int kind_refused(const gf_project *p, const char *group, const char *kind, const char *ns,
                        const char *name, const char *rule)
{
    return gf_error_set(GF_EPERM, "resource %s:%s %s%s%s is not permitted in project '%s' (%s)",
                        group, kind, ns[0] ? ns : "", ns[0] ? "/" : "", name, p->name, rule);
}

static int check_kind(const gf_project *p, const char *group, const char *kind, const char *ns,
                      const char *name)
{
    int namespaced = ns[0] != '\0';
    const struct list_gk *white = namespaced ? &p->nw : &p->cw;
    const struct list_gk *black = namespaced ? &p->nb : &p->cb;
    const char *wname = namespaced ? "namespaceResourceWhitelist" : "clusterResourceWhitelist";
    const char *bname = namespaced ? "namespaceResourceBlacklist" : "clusterResourceBlacklist";
    char rule[256];
    long at;

    if ((namespaced ? white->set : 1) && gk_find(white, group, kind) < 0) {
        snprintf(rule, sizeof(rule), "%s spec.%s does not list it",
                 namespaced ? "namespaced:" : "cluster-scoped:", wname);
        return kind_refused(p, group, kind, ns, name, rule);
    }
    if ((at = gk_find(black, group, kind)) >= 0) {
        snprintf(rule, sizeof(rule), "spec.%s[%ld]", bname, at);
        return kind_refused(p, group, kind, ns, name, rule);
    }
    return 0;
}

int gf_project_check_resource(const gf_project *p, const char *cluster, const char *server,
                              const char *group, const char *kind, const char *ns, const char *name)
{
    int error;

    ns = ns ? ns : "";
    if ((error = check_kind(p, group ? group : "", kind ? kind : "", ns, name ? name : "")) < 0)
        return error;
    if (ns[0] != '\0' && gf_project_check_destination(p, cluster, server, ns) < 0)
        return gf_error_set(GF_EPERM,
                            "namespace %s of %s %s is not permitted in project '%s' "
                            "(spec.destinations)",
                            ns, kind, name ? name : "", p->name);
    return 0;
}

/* ---- the agent's check of a bundle ---- */

static int check_app(const Gitfleet__App *app, const char *cluster)
{
    json_t *spec;
    gf_project *p = NULL;
    int error;

    if (!app->has_project_rules || app->project == NULL || app->project[0] == '\0')
        return gf_error_set(GF_EPERM, "the bundle carries no project rules for this app");
    if ((spec = json_loadb((const char *)app->project_rules.data, app->project_rules.len, 0,
                           NULL)) == NULL)
        return gf_error_set(GF_EPERM, "the bundle's project rules are not JSON");
    error = gf_project_parse(&p, app->project, spec);
    json_decref(spec);
    if (error < 0)
        return error;
    error = gf_project_check_destination(p, cluster, app->destination_server,
                                         app->namespace_ ? app->namespace_ : "");
    for (size_t i = 0; error == 0 && i < app->n_resources; i++) {
        const Gitfleet__ResourceId *id = app->resources[i]->id;
        if (id == NULL)
            error = gf_error_set(GF_EPERM, "a resource without an id");
        else
            error = gf_project_check_resource(p, cluster, app->destination_server, id->group,
                                              id->kind, id->namespace_, id->name);
    }
    gf_project_free(p);
    return error;
}

/* Refuse an app: no resources, and the reason as its render error. */
static void refuse_app(Gitfleet__App *app, const char *why)
{
    char *msg = NULL;

    for (size_t i = 0; i < app->n_resources; i++)
        gitfleet__resource__free_unpacked(app->resources[i], NULL);
    free(app->resources);
    app->resources = NULL;
    app->n_resources = 0;
    if (asprintf(&msg, "refused by the agent: %s", why) < 0)
        return;
    free(app->render_error);
    app->render_error = msg;
}

size_t gf_project_enforce_bundle(Gitfleet__Bundle *bundle)
{
    size_t refused = 0;

    for (size_t i = 0; i < bundle->n_apps; i++) {
        Gitfleet__App *app = bundle->apps[i];
        if (app->render_error != NULL && app->render_error[0] != '\0')
            continue; /* nothing of it is applied anyway */
        if (check_app(app, bundle->cluster ? bundle->cluster : "") < 0) {
            refuse_app(app, gf_error_last());
            refused++;
        }
    }
    return refused;
}
