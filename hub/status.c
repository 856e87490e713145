/* status.c -- the fleet as the API and the CLI see it: clusters, apps, history, metrics */
#include "status.h"
#include "source.h"

#include "appops.h"
#include "appstate.h"
#include "pin.h"

#include "gitfleet/error.h"
#include "gitfleet/os.h"
#include "gitfleet/wire.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const health_order[] = {"Healthy", "Suspended", "Progressing",
                                           "Missing", "Degraded",  "Unknown"};

static int health_rank(const char *h)
{
    for (int i = 0; i < 6; i++)
        if (h && strcmp(h, health_order[i]) == 0)
            return i;
    return 5;
}

static json_t *rfc3339(int64_t ms)
{
    char buf[32];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0)
        return json_string("");
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_name(char ***names, size_t *n, size_t *cap, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*names)[i], name) == 0)
            return;
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *names = realloc(*names, *cap * sizeof(**names));
    }
    (*names)[(*n)++] = strdup(name);
}

/* Names of every cluster the hub knows, in Git or in the store, sorted.
 * Free with hub_filesrc_names_free(). */
static char **cluster_names(hub *h, const struct hub_view *v, size_t *count_out)
{
    struct hub_store_cluster *list = NULL;
    char **names = NULL;
    size_t n = 0, cap = 0, stored = 0;

    for (size_t i = 0; v->fleet && i < v->fleet->n_clusters; i++)
        add_name(&names, &n, &cap, v->fleet->clusters[i].name);
    if (hub_store_cluster_list(hub_get_store(h), &list, &stored) == 0)
        for (size_t i = 0; i < stored; i++)
            add_name(&names, &n, &cap, list[i].name);
    free(list);
    if (n > 0)
        qsort(names, n, sizeof(*names), compare_names);
    *count_out = n;
    return names;
}

/* The member of `array` whose "name" is `name`, or NULL. */
static const json_t *find_named(const json_t *array, const char *name)
{
    size_t i;
    json_t *item;

    json_array_foreach(array, i, item)
    {
        const char *n = json_string_value(json_object_get(item, "name"));
        if (n && strcmp(n, name) == 0)
            return item;
    }
    return NULL;
}

static const char *str_or(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static const json_t *report_app(const json_t *report, const char *name)
{
    return find_named(json_object_get(report, "apps"), name);
}

/* The render error of app `name` on `cluster` from the last pass, or NULL. */
static const char *render_error(const struct hub_view *v, const char *cluster, const char *name)
{
    size_t i, n = strlen(name);
    json_t *line;

    json_array_foreach(json_object_get(v->render_errors, cluster), i, line)
    {
        const char *s = json_string_value(line);
        if (s && strncmp(s, name, n) == 0 && s[n] == ':')
            return s + n + 2;
    }
    return NULL;
}

/* One app row: Git's view (it targets this cluster) merged with the agent's. */
/* What the hub knows of one cluster's apps beyond Git and the report
 * (issue 10): pins, Git's published states, open requests. */
struct cluster_ctx {
    struct hub_pin *pins;
    size_t n_pins;
    json_t *git;  /* app -> {"hash", "revision"} as last published */
    json_t *open; /* open operation requests */
    uint64_t desired, applied;
};

static void cluster_ctx_load(struct cluster_ctx *x, hub *h, const char *cluster)
{
    hub_store *store = hub_get_store(h);

    memset(x, 0, sizeof(*x));
    hub_pin_list(store, cluster, &x->pins, &x->n_pins);
    if (hub_appstate_git_all(store, cluster, &x->git) < 0)
        x->git = json_object();
    x->open = hub_appops_open_requests(h, cluster);
}

static void cluster_ctx_clear(struct cluster_ctx *x)
{
    free(x->pins);
    json_decref(x->git);
    json_decref(x->open);
}

/* The issue-10 members of an app row, with their defaults. */
static void add_operation_members(json_t *row, const json_t *reported, const char *app,
                                  const struct cluster_ctx *x, const struct hub_pin *pin)
{
    const json_t *state = json_object_get(reported, "operationState");
    json_t *pending = json_array(), *op;
    size_t i;

    json_array_foreach(x->open, i, op)
    {
        if (strcmp(json_string_value(json_object_get(op, "app")), app) != 0)
            continue;
        json_array_append_new(
            pending, json_pack("{s:O, s:O, s:O, s:O}", "id", json_object_get(op, "id"), "kind",
                               json_object_get(op, "kind"), "dryRun", json_object_get(op, "dryRun"),
                               "phase", json_object_get(op, "phase")));
    }
    json_object_set_new(row, "operationState",
                        json_is_object(state) ? json_deep_copy(state) : json_null());
    json_object_set_new(row, "pendingOperations", pending);
    json_object_set_new(row, "desiredHash", json_string(str_or(reported, "desiredHash")));
    json_object_set_new(row, "syncedHash", json_string(str_or(reported, "syncedHash")));
    json_object_set_new(row, "autoSyncSuspended", json_boolean(pin && pin->suspend_auto_sync));
    json_object_set_new(row, "rolledBack",
                        pin ? json_pack("{s:s, s:I, s:s, s:s, s:I}", "holder", pin->holder,
                                        "generation", (json_int_t)pin->generation, "revision",
                                        pin->revision, "hash", pin->hash, "since",
                                        (json_int_t)pin->created_ms)
                            : json_null());
}

/* The agent holds the app's current desired state even when the cluster's
 * newest generation is not applied yet (another app changed, a request
 * came): then the app is not behind. */
static int app_current(const json_t *reported, const struct cluster_ctx *x, const char *app,
                       const struct hub_pin *pin)
{
    const char *have = json_string_value(json_object_get(reported, "desiredHash"));
    const char *want =
        pin ? pin->hash : json_string_value(json_object_get(json_object_get(x->git, app), "hash"));

    if (x->applied >= x->desired)
        return 1;
    return have && want && strcmp(have, want) == 0;
}

static void say_rolled_back(json_t *row, const struct hub_pin *pin, const struct cluster_ctx *x)
{
    const char *git = json_string_value(json_object_get(json_object_get(x->git, pin->app), "hash"));

    if (strcmp(pin->holder, "rollback") != 0 || (git && strcmp(git, pin->hash) == 0))
        return;
    json_object_set_new(row, "sync", json_string("OutOfSync"));
    json_object_set_new(
        row, "message",
        json_sprintf("rolled back to generation %llu (revision %.12s): runs a state that differs "
                     "from Git; auto-sync suspended until the app changes in Git or "
                     "'gitfleet sync %s'",
                     (unsigned long long)pin->generation, pin->revision, pin->app));
}

/* One app row: Git's view (it targets this cluster) merged with the agent's. */
static json_t *app_row(const struct hub_view *v, const char *cluster, const struct hub_app *app,
                       const json_t *report, const struct cluster_ctx *x, int detail)
{
    const json_t *reported = report_app(report, app->name);
    const char *error = app->error ? app->error : render_error(v, cluster, app->name);
    const struct hub_pin *pin = hub_pin_find(x->pins, x->n_pins, app->name);
    json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", app->name, "sync", "Unknown",
                            "health", "Unknown", "revision", "", "message",
                            "waiting for the agent's report", "operation", "");

    if (reported) {
        json_object_update_existing(row, (json_t *)reported);
        if (!app_current(reported, x, app->name, pin)) {
            json_object_set_new(row, "sync", json_string("OutOfSync"));
            json_object_set_new(
                row, "message",
                json_sprintf("generation %llu is not applied yet", (unsigned long long)x->desired));
        } else if (pin == NULL) {
            /* The commit the hub rendered the app at in its last pass: an
             * app the commit did not change still runs what it rendered. */
            const char *rev = json_string_value(
                json_object_get(json_object_get(v->revisions, cluster), app->name));
            if (rev && rev[0])
                json_object_set_new(row, "revision", json_string(rev));
        }
        if (pin)
            say_rolled_back(row, pin, x);
        if (detail)
            json_object_set(row, "resources", json_object_get(reported, "resources"));
    }
    add_operation_members(row, reported, app->name, x, pin);
    if (error) {
        json_object_set_new(row, "message", json_string(error));
        json_object_set_new(row, "sync", json_string("Unknown"));
    }
    return row;
}

/* Apps the agent still reports but Git no longer targets at this cluster. */
static void add_orphans(json_t *apps, const json_t *report, const struct cluster_ctx *x, int detail)
{
    size_t i;
    json_t *app;

    json_array_foreach(json_object_get(report, "apps"), i, app)
    {
        const char *name = json_string_value(json_object_get(app, "name"));
        if (name == NULL || find_named(apps, name) != NULL)
            continue;
        /* The agent says what became of the objects (held, or pruned). */
        const char *said = json_string_value(json_object_get(app, "message"));
        json_t *row =
            json_pack("{s:s, s:s, s:O, s:O, s:s}", "name", name, "sync", "OutOfSync", "health",
                      json_object_get(app, "health"), "revision", json_object_get(app, "revision"),
                      "message", said && said[0] ? said : "removed from Git");
        add_operation_members(row, app, name, x, NULL);
        if (detail)
            json_object_set(row, "resources", json_object_get(app, "resources"));
        json_array_append_new(apps, row);
    }
}

static json_t *cluster_row(hub *h, const struct hub_view *v, const char *name, int detail)
{
    struct hub_store_cluster c = {0};
    json_t *report = NULL, *apps = json_array();
    uint64_t desired = 0;
    int64_t now = gf_wire_now_ms();
    hub_store *store = hub_get_store(h);
    int known = hub_store_cluster_get(store, name, &c) == 0;
    int worst = -1;

    struct cluster_ctx x;

    hub_store_bundle_max_generation(store, name, &desired);
    hub_store_report_latest(store, name, &report);
    cluster_ctx_load(&x, h, name);
    x.desired = desired;
    x.applied = known ? c.applied_generation : 0;
    int in_git = v->fleet && hub_fleet_cluster(v->fleet, name) != NULL;
    for (size_t i = 0; v->fleet && i < v->fleet->n_apps; i++)
        if (strcmp(v->fleet->apps[i].cluster, name) == 0)
            json_array_append_new(apps, app_row(v, name, &v->fleet->apps[i], report, &x, detail));
    add_orphans(apps, report, &x, detail);
    cluster_ctx_clear(&x);
    /* Up to date: the agent runs what the hub rendered at its last commit
     * (a commit that changed nothing of this cluster's made no generation). */
    const char *revision = known ? c.applied_revision : "";
    if (known && in_git && report && desired > 0 && c.applied_generation >= desired && v->commit[0])
        revision = v->commit;
    size_t i;
    json_t *app;
    json_array_foreach(apps, i, app)
    {
        int rank = health_rank(json_string_value(json_object_get(app, "health")));
        worst = rank > worst ? rank : worst;
    }
    json_t *row = json_pack("{s:s, s:b, s:b, s:b, s:o, s:s, s:{s:I, s:I}, s:s, s:s, s:o}", "name",
                            name, "inGit", in_git, "joined", known && c.joined, "connected",
                            known && c.joined && c.last_seen_ms > 0 &&
                                now - c.last_seen_ms < HUB_CONNECTED_WINDOW_MS,
                            "lastSeen", rfc3339(known ? c.last_seen_ms : 0), "revision", revision,
                            "generation", "desired", (json_int_t)desired, "applied",
                            (json_int_t)(known ? c.applied_generation : 0), "health",
                            report == NULL ? "Unknown"
                            : worst < 0    ? "Healthy"
                                           : health_order[worst],
                            "message",
                            !known || !c.joined ? "not joined"
                            : json_string_value(json_object_get(report, "error"))
                                ? json_string_value(json_object_get(report, "error"))
                                : "",
                            "apps", apps);
    json_decref(report);
    return row;
}

int hub_status_fleet(hub *h, const char *cluster, int detail, json_t **out)
{
    struct hub_view v;
    size_t n = 0;

    hub_view_get(h, &v);
    char **names = cluster_names(h, &v, &n);
    json_t *clusters = json_array();
    int found = 0;

    for (size_t i = 0; i < n; i++) {
        if (cluster && strcmp(cluster, names[i]) != 0)
            continue;
        json_array_append_new(clusters, cluster_row(h, &v, names[i], detail));
        found = 1;
    }
    hub_filesrc_names_free(names, n);
    if (cluster && !found) {
        json_decref(clusters);
        hub_view_put(&v);
        *out = NULL;
        return gf_error_set(GF_ENOTFOUND, "cluster '%s' is not known to the hub", cluster);
    }
    /* What in the repository could not be read at all (a broken Cluster, an
     * invalid ApplicationSet): not tied to one app, so shown fleet-wide. */
    json_t *problems = json_array();
    for (size_t i = 0; v.fleet && i < v.fleet->n_problems; i++)
        json_array_append_new(problems, json_string(v.fleet->problems[i]));
    *out = json_pack("{s:s, s:o, s:o, s:s}", "revision", v.commit, "clusters", clusters, "problems",
                     problems, "error", v.last_error);
    hub_view_put(&v);
    return 0;
}

json_t *hub_status_clusters(hub *h)
{
    json_t *status = NULL, *rows = json_array();
    size_t i;
    json_t *c;

    if (hub_status_fleet(h, NULL, 0, &status) < 0)
        return rows;
    json_array_foreach(json_object_get(status, "clusters"), i, c)
    {
        json_t *row = json_deep_copy(c);
        json_object_del(row, "apps");
        json_array_append_new(rows, row);
    }
    json_decref(status);
    return rows;
}

json_t *hub_status_apps(hub *h, const char *cluster)
{
    json_t *rows = json_array();
    struct hub_view v;

    hub_view_get(h, &v);
    for (size_t i = 0; v.fleet && i < v.fleet->n_apps; i++) {
        const struct hub_app *a = &v.fleet->apps[i];
        if (cluster != NULL && strcmp(a->cluster, cluster) != 0)
            continue;
        json_t *row = hub_fleet_app_json(a);
        const char *error = render_error(&v, a->cluster, a->name);
        if (error) /* documented in docs/api.md: present only when it failed */
            json_object_set_new(row, "error", json_string(error));
        json_array_append_new(rows, row);
    }
    hub_view_put(&v);
    return rows;
}

/* Append printf-style text to a growing buffer. */
static void emit(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void emit(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;

    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < *cap - *len) {
            *len += (size_t)n;
            return;
        }
        *cap = *cap * 2 + (size_t)(n > 0 ? n : 0);
        *buf = realloc(*buf, *cap);
    }
}

static void metric(char **buf, size_t *len, size_t *cap, const char *name, const char *type,
                   const char *help, unsigned long long value)
{
    emit(buf, len, cap, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
         value);
}

/* Per-cluster gauges from the status view: connection, report age, app results. */
static void cluster_metrics(hub *h, char **buf, size_t *len, size_t *cap, int64_t now)
{
    json_t *status = NULL, *c, *app;
    size_t i, j, connected = 0, synced = 0, out_of_sync = 0, unknown = 0;

    if (hub_status_fleet(h, NULL, 0, &status) < 0)
        return;
    emit(buf, len, cap,
         "# HELP gitfleet_report_age_seconds Seconds since the cluster's agent "
         "last reported.\n# TYPE gitfleet_report_age_seconds gauge\n");
    json_array_foreach(json_object_get(status, "clusters"), i, c)
    {
        struct hub_store_cluster sc;
        const char *name = json_string_value(json_object_get(c, "name"));
        connected += json_is_true(json_object_get(c, "connected"));
        if (hub_store_cluster_get(hub_get_store(h), name, &sc) == 0 && sc.last_seen_ms > 0)
            emit(buf, len, cap, "gitfleet_report_age_seconds{cluster=\"%s\"} %.3f\n", name,
                 (double)(now - sc.last_seen_ms) / 1000.0);
        json_array_foreach(json_object_get(c, "apps"), j, app)
        {
            const char *sync = json_string_value(json_object_get(app, "sync"));
            synced += sync && strcmp(sync, "Synced") == 0;
            out_of_sync += sync && strcmp(sync, "OutOfSync") == 0;
            unknown += !sync || (strcmp(sync, "Synced") != 0 && strcmp(sync, "OutOfSync") != 0);
        }
    }
    metric(buf, len, cap, "gitfleet_clusters", "gauge", "Clusters known to the hub.",
           json_array_size(json_object_get(status, "clusters")));
    metric(buf, len, cap, "gitfleet_clusters_connected", "gauge",
           "Clusters whose agent asked within the last minute.", connected);
    emit(buf, len, cap,
         "# HELP gitfleet_apps Apps by sync result, as last reported.\n# TYPE gitfleet_apps "
         "gauge\ngitfleet_apps{sync=\"Synced\"} %zu\ngitfleet_apps{sync=\"OutOfSync\"} %zu\n"
         "gitfleet_apps{sync=\"Unknown\"} %zu\n",
         synced, out_of_sync, unknown);
    json_decref(status);
}

char *hub_status_metrics(hub *h)
{
    struct hub_serve_stats ss;
    struct hub_metrics m;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);

    if (buf == NULL)
        return NULL;
    buf[0] = '\0';
    hub_serve_stats(hub_get_serve(h), &ss);
    hub_metrics_get(h, &m);
    cluster_metrics(h, &buf, &len, &cap, gf_wire_now_ms());
    metric(&buf, &len, &cap, "gitfleet_syncs_total", "counter", "Fetch-and-render passes.",
           m.syncs);
    metric(&buf, &len, &cap, "gitfleet_renders_total", "counter", "Cluster renders.", m.renders);
    metric(&buf, &len, &cap, "gitfleet_render_errors_total", "counter",
           "Apps or clusters that failed to render.", m.render_errors);
    metric(&buf, &len, &cap, "gitfleet_fetch_errors_total", "counter", "Failed Git fetches.",
           m.fetch_errors);
    metric(&buf, &len, &cap, "gitfleet_publish_errors_total", "counter",
           "Cluster bundles that could not be signed or stored (retried).", m.publish_errors);
    int64_t git_used = 0, git_allowed = 0;
    hub_source_cache_bytes(&git_used, &git_allowed);
    metric(&buf, &len, &cap, "gitfleet_git_object_cache_bytes", "gauge",
           "Parsed Git objects libgit2 keeps in memory (bounded).", (unsigned long long)git_used);
    metric(&buf, &len, &cap, "gitfleet_heap_in_use_bytes", "gauge",
           "Memory the hub has allocated and not freed (glibc mallinfo2).",
           (unsigned long long)gf_os_heap_in_use());
    metric(&buf, &len, &cap, "gitfleet_sqlite_memory_bytes", "gauge",
           "Memory SQLite holds: page caches and statements (bounded).",
           (unsigned long long)sqlite3_memory_used());
    metric(&buf, &len, &cap, "gitfleet_bundles_published_total", "counter",
           "New bundle generations.", m.bundles_published);
    metric(&buf, &len, &cap, "gitfleet_bundles_served_total", "counter", "Bundles sent to agents.",
           ss.bundles_served);
    metric(&buf, &len, &cap, "gitfleet_agent_requests_total", "counter", "Agent requests.",
           ss.requests);
    metric(&buf, &len, &cap, "gitfleet_agent_refused_total", "counter",
           "Agent requests refused (signature, replay, unknown cluster).", ss.refused);
    metric(&buf, &len, &cap, "gitfleet_reports_total", "counter", "Reports stored.", ss.reports);
    metric(&buf, &len, &cap, "gitfleet_agent_dropped_total", "counter",
           "Agent requests dropped unread: their connection already held its share.", ss.dropped);
    metric(&buf, &len, &cap, "gitfleet_agent_send_timeouts_total", "counter",
           "Replies an agent connection did not take in time (the connection was closed).",
           ss.send_timeouts);
    metric(&buf, &len, &cap, "gitfleet_long_polls_replaced_total", "counter",
           "Long-polls abandoned for a newer one of the same cluster.", ss.replaced);
    metric(&buf, &len, &cap, "gitfleet_long_polls_waiting", "gauge",
           "Bundle requests held open right now.", (unsigned long long)ss.waiting);
    return buf;
}
