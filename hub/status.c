/* status.c -- the fleet as the API and the CLI see it: clusters, apps, history, metrics */
#include "status.h"
#include "source.h"

#include "appops.h"
#include "appstate.h"
#include "pin.h"

#include "gitfleet/error.h"
#include "gitfleet/os.h"
#include "gitfleet/strbuf.h"
#include "gitfleet/wire.h"
#include "reports.h"

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

/* One cluster the hub knows: in Git, in the store (tokens, keys), or both. */
struct known {
    const char *name;
    const struct hub_cluster *git;       /* NULL: not in Git */
    const struct hub_store_cluster *row; /* NULL: never added */
};

/* Every cluster the hub knows, sorted by name: the fleet's clusters and the
 * store's rows are both sorted, so this is a merge. *out is malloc'd. */
static size_t known_clusters(struct known **out, const struct hub_view *v,
                             const struct hub_store_cluster *rows, size_t n_rows)
{
    size_t n_git = v->fleet ? v->fleet->n_clusters : 0, i = 0, k = 0, n = 0;
    struct known *list = calloc(n_git + n_rows + 1, sizeof(*list));

    while (list && (i < n_git || k < n_rows)) {
        const struct hub_cluster *g = i < n_git ? &v->fleet->clusters[i] : NULL;
        const struct hub_store_cluster *r = k < n_rows ? &rows[k] : NULL;
        int c = !g ? 1 : !r ? -1 : strcmp(g->name, r->name);
        list[n++] = (struct known){
            .name = c <= 0 ? g->name : r->name, .git = c <= 0 ? g : NULL, .row = c >= 0 ? r : NULL};
        i += c <= 0;
        k += c >= 0;
    }
    *out = list;
    return list ? n : 0;
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

/* What the hub knows of the fleet's apps beyond Git and the reports
 * (issue 10), read once per status call: pins and open requests are few,
 * so one query each for the whole fleet beats one per cluster. */
struct fleet_ctx {
    struct hub_pin *pins; /* sorted by cluster, then app */
    size_t n_pins;
    json_t *open; /* cluster -> [open operation requests] */
};

/* `cluster`: only its share (NULL: the whole fleet's). */
static void fleet_ctx_load(struct fleet_ctx *f, hub *h, const char *cluster)
{
    memset(f, 0, sizeof(*f));
    hub_pin_list(hub_get_store(h), cluster, &f->pins, &f->n_pins);
    f->open = hub_appops_open_requests_by_cluster(h, cluster);
}

static void fleet_ctx_clear(struct fleet_ctx *f)
{
    free(f->pins);
    json_decref(f->open);
}

/* One cluster's share of it, plus Git's published states when needed. */
struct cluster_ctx {
    const struct hub_pin *pins;
    size_t n_pins;
    json_t *git;        /* app -> {"hash", "revision"} as last published */
    const json_t *open; /* open operation requests */
    uint64_t desired, applied;
};

/* The pins of `cluster` in the fleet's list (sorted by cluster), and how many. */
static const struct hub_pin *pins_of(const struct fleet_ctx *f, const char *cluster,
                                     size_t *count_out)
{
    size_t lo = 0, hi = f->n_pins, n = 0;

    while (lo < hi) { /* the first pin of `cluster`, or where it would be */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(f->pins[mid].cluster, cluster) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    while (lo + n < f->n_pins && strcmp(f->pins[lo + n].cluster, cluster) == 0)
        n++;
    *count_out = n;
    return f->pins + lo;
}

static void cluster_ctx_load(struct cluster_ctx *x, hub *h, const struct fleet_ctx *f,
                             const char *cluster, uint64_t desired, uint64_t applied)
{
    memset(x, 0, sizeof(*x));
    x->pins = pins_of(f, cluster, &x->n_pins);
    x->open = json_object_get(f->open, cluster);
    x->desired = desired;
    x->applied = applied;
    /* Git's states matter only to a cluster behind its newest generation or
     * with a pin: an up-to-date cluster costs no store read. */
    if ((applied < desired || x->n_pins > 0) &&
        hub_appstate_git_all(hub_get_store(h), cluster, &x->git) < 0)
        x->git = NULL;
}

static void cluster_ctx_clear(struct cluster_ctx *x)
{
    json_decref(x->git);
}

static int has_pins(const struct fleet_ctx *f, const char *cluster)
{
    size_t n;

    pins_of(f, cluster, &n);
    return n > 0;
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

/* A rollout holds the app at the state its cluster had (docs/rollouts.md):
 * it is behind Git until its step releases it, as in Argo CD. */
static void say_held_by_rollout(json_t *row, const struct hub_pin *pin, const struct hub_app *app,
                                const struct cluster_ctx *x)
{
    const char *git = json_string_value(json_object_get(json_object_get(x->git, pin->app), "hash"));
    const char *set = app->appset ? app->appset : "?";

    if (strcmp(pin->holder, "rollout") != 0 || (git && strcmp(git, pin->hash) == 0))
        return;
    json_object_set_new(row, "sync", json_string("OutOfSync"));
    json_object_set_new(row, "message",
                        json_sprintf("held at generation %llu (revision %.12s) by the rollout of "
                                     "ApplicationSet %s until its step releases this cluster "
                                     "(gitfleet rollout status %s)",
                                     (unsigned long long)pin->generation, pin->revision, set, set));
}

/* An app of a RollingSync set that its cluster's agent does not report
 * yet, while it reports others: the rollout keeps it off until its step. */
static int held_off(const struct hub_view *v, const struct hub_app *app, const json_t *report)
{
    const struct hub_fleet_appset *set =
        app->appset && v->fleet ? hub_fleet_appset(v->fleet, app->appset) : NULL;

    return set && set->strategy.rolling && report != NULL;
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
        if (pin) {
            say_rolled_back(row, pin, x);
            say_held_by_rollout(row, pin, app, x);
        }
        if (detail)
            json_object_set(row, "resources", json_object_get(reported, "resources"));
    } else if (held_off(v, app, report)) {
        json_object_set_new(row, "sync", json_string("OutOfSync"));
        json_object_set_new(row, "message",
                            json_sprintf("not on this cluster yet: the rollout of ApplicationSet "
                                         "%s releases it at its step (gitfleet rollout status %s)",
                                         app->appset, app->appset));
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

/* A cluster's sync from its apps': OutOfSync if any is, Synced if all are
 * (and its agent reported: a cluster never heard of is not Synced). */
static const char *cluster_sync(const json_t *apps, const json_t *report)
{
    size_t i, synced = 0;
    json_t *app;

    json_array_foreach(apps, i, app)
    {
        const char *sync = json_string_value(json_object_get(app, "sync"));
        if (sync && strcmp(sync, "OutOfSync") == 0)
            return "OutOfSync";
        synced += sync && strcmp(sync, "Synced") == 0;
    }
    return report != NULL && synced == json_array_size(apps) ? "Synced" : "Unknown";
}

/* A cluster's status row, made from its report or taken from the cache,
 * with the members that change with time alone kept apart. */
struct status_row {
    json_t *row;  /* "connected" and "lastSeen" as when it was made */
    json_t *text; /* cached serialized form without them, NULL: not made */
    int cached;   /* may be kept: not detailed, no pins, no open requests */
    struct hub_row_stamp stamp;
    int connected;
    int64_t last_seen_ms;
};

static void status_row_clear(struct status_row *r)
{
    json_decref(r->row);
    json_decref(r->text);
}

/* The row as Git, the report and the hub's operations make it. */
static json_t *make_row(hub *h, const struct hub_view *v, const struct fleet_ctx *f,
                        const struct known *k, const json_t *report, uint64_t desired,
                        const struct status_row *r, int detail)
{
    static const struct hub_store_cluster none;
    const struct hub_store_cluster *c = k->row ? k->row : &none;
    json_t *apps = json_array();
    const struct hub_app *first = NULL;
    size_t n_apps = v->fleet ? hub_fleet_cluster_apps(v->fleet, k->name, &first) : 0;
    struct cluster_ctx x;
    int worst = -1;

    cluster_ctx_load(&x, h, f, k->name, desired, c->applied_generation);
    for (size_t i = 0; i < n_apps; i++)
        json_array_append_new(apps, app_row(v, k->name, &first[i], report, &x, detail));
    add_orphans(apps, report, &x, detail);
    cluster_ctx_clear(&x);
    /* Up to date: the agent runs what the hub rendered at its last commit
     * (a commit that changed nothing of this cluster's made no generation). */
    const char *revision = c->applied_revision;
    if (k->git && report && desired > 0 && c->applied_generation >= desired && v->commit[0])
        revision = v->commit;
    size_t i;
    json_t *app;
    json_array_foreach(apps, i, app)
    {
        int rank = health_rank(json_string_value(json_object_get(app, "health")));
        worst = rank > worst ? rank : worst;
    }
    const char *error = json_string_value(json_object_get(report, "error"));
    return json_pack("{s:s, s:b, s:b, s:b, s:o, s:s, s:{s:I, s:I}, s:s, s:s, s:s, s:o}", "name",
                     k->name, "inGit", k->git != NULL, "joined", c->joined, "connected",
                     r->connected, "lastSeen", rfc3339(r->last_seen_ms), "revision", revision,
                     "generation", "desired", (json_int_t)desired, "applied",
                     (json_int_t)c->applied_generation, "health",
                     report == NULL ? "Unknown"
                     : worst < 0    ? "Healthy"
                                    : health_order[worst],
                     "sync", cluster_sync(apps, report), "message",
                     !c->joined ? "not joined"
                     : error    ? error
                                : "",
                     "apps", apps);
}

/* The cluster's row: from the cache when nothing it shows has changed. */
static void cluster_row(hub *h, const struct hub_view *v, const struct fleet_ctx *f,
                        const struct known *k, int detail, int64_t now, struct status_row *r)
{
    static const struct hub_store_cluster none;
    const struct hub_store_cluster *c = k->row ? k->row : &none;
    hub_reports *reports = hub_get_reports(h);
    json_t *report = hub_reports_get(reports, k->name);
    uint64_t desired = hub_reports_desired(reports, k->name);

    memset(r, 0, sizeof(*r));
    r->connected =
        c->joined && c->last_seen_ms > 0 && now - c->last_seen_ms < HUB_CONNECTED_WINDOW_MS;
    r->last_seen_ms = c->last_seen_ms;
    r->stamp = (struct hub_row_stamp){.report = report,
                                      .desired = desired,
                                      .pass = v->seq,
                                      .applied = c->applied_generation,
                                      .joined = c->joined};
    snprintf(r->stamp.revision, sizeof(r->stamp.revision), "%s", c->applied_revision);
    /* Pins and open requests change without a report and have times of
     * their own: rows with them are made every time (they are few). */
    r->cached = !detail && json_object_get(f->open, k->name) == NULL && !has_pins(f, k->name);
    if (!r->cached || !hub_reports_row_get(reports, k->name, &r->stamp, &r->row, &r->text)) {
        r->row = make_row(h, v, f, k, report, desired, r, detail);
        if (r->cached)
            hub_reports_row_put(reports, k->name, &r->stamp, r->row, NULL);
    }
    json_decref(report);
}

/* Does the row pass the query's health and sync filters? */
static int row_wanted(const json_t *row, const struct hub_status_query *q)
{
    const char *health = json_string_value(json_object_get(row, "health"));
    const char *sync = json_string_value(json_object_get(row, "sync"));

    return (q->health == NULL || strcmp(q->health, health) == 0) &&
           (q->sync == NULL || strcmp(q->sync, sync) == 0);
}

/* Where selected rows go: a JSON array, or text (status_text). */
struct row_sink {
    int (*take)(struct row_sink *sink, hub *h, const char *name, struct status_row *r);
    size_t taken;
    json_t *clusters;     /* the JSON sink's */
    struct gf_strbuf *sb; /* the text sink's */
};

/* The rows the query selects, in name order, into `sink`; the continue
 * token when `limit` stopped it short. */
static int select_rows(hub *h, const struct hub_view *v, const struct hub_status_query *q,
                       struct row_sink *sink, char **continue_out)
{
    struct hub_store_cluster *rows = NULL;
    struct known *list = NULL;
    struct fleet_ctx f;
    size_t n_rows = 0, n, found = 0;
    const char *last = NULL;
    int64_t now = gf_wire_now_ms();
    int error = 0;

    *continue_out = NULL;
    if ((error = hub_store_cluster_list(hub_get_store(h), &rows, &n_rows)) < 0)
        return error;
    n = known_clusters(&list, v, rows, n_rows);
    fleet_ctx_load(&f, h, q->cluster);
    for (size_t i = 0; i < n && error == 0; i++) {
        const struct known *k = &list[i];
        struct status_row r;
        if ((q->cluster && strcmp(q->cluster, k->name) != 0) ||
            (q->after && strcmp(k->name, q->after) <= 0) ||
            (q->selector && !hub_selector_matches(q->selector, k->git ? k->git->labels : NULL)))
            continue;
        found++;
        cluster_row(h, v, &f, k, q->detail, now, &r);
        if (row_wanted(r.row, q)) {
            if (q->limit > 0 && sink->taken == q->limit) {
                /* One more exists: the client asks again from the last one sent. */
                *continue_out = strdup(last);
                status_row_clear(&r);
                break;
            }
            error = sink->take(sink, h, k->name, &r);
            sink->taken++;
            last = k->name;
        }
        status_row_clear(&r);
    }
    fleet_ctx_clear(&f);
    free(list);
    free(rows);
    if (error == 0 && q->cluster && found == 0)
        error = gf_error_set(GF_ENOTFOUND, "cluster '%s' is not known to the hub", q->cluster);
    return error;
}

/* A cached row is shared: the time-bound members go on a shallow copy. */
static int take_json(struct row_sink *sink, hub *h, const char *name, struct status_row *r)
{
    json_t *row = r->row;

    (void)h;
    (void)name;
    if (r->cached) {
        row = json_copy(r->row);
        json_object_set_new(row, "connected", json_boolean(r->connected));
        json_object_set_new(row, "lastSeen", rfc3339(r->last_seen_ms));
    } else {
        json_incref(row);
    }
    return json_array_append_new(sink->clusters, row) == 0
               ? 0
               : gf_error_set(GF_ENOMEM, "out of memory");
}

/* The view's fleet-wide members: the commit, what in the repository could
 * not be read at all (a broken Cluster, an invalid ApplicationSet: not tied
 * to one app, so shown fleet-wide), and the last pass's error. */
static json_t *problems_of(const struct hub_view *v)
{
    json_t *problems = json_array();

    for (size_t i = 0; v->fleet && i < v->fleet->n_problems; i++)
        json_array_append_new(problems, json_string(v->fleet->problems[i]));
    return problems;
}

int hub_status_query(hub *h, const struct hub_status_query *q, json_t **out)
{
    struct hub_view v;
    struct row_sink sink = {.take = take_json, .clusters = json_array()};
    char *next = NULL;
    int error;

    *out = NULL;
    hub_view_get(h, &v);
    if ((error = select_rows(h, &v, q, &sink, &next)) < 0) {
        json_decref(sink.clusters);
        hub_view_put(&v);
        return error;
    }
    *out = json_pack("{s:s, s:o, s:o, s:s}", "revision", v.commit, "clusters", sink.clusters,
                     "problems", problems_of(&v), "error", v.last_error);
    if (next)
        json_object_set_new(*out, "continue", json_string(next));
    free(next);
    hub_view_put(&v);
    return 0;
}

/* ---- the same document as text, from cached serialized rows ---- */

/* `value` as compact JSON. */
static void sb_add_json(struct gf_strbuf *sb, const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);

    if (text == NULL)
        sb->failed = 1;
    else
        gf_strbuf_puts(sb, text);
    free(text);
}

/* The row's serialized form without "connected" and "lastSeen" (made once
 * per row and kept with it). */
static json_t *row_text(const json_t *row)
{
    json_t *copy = json_copy((json_t *)row), *text = NULL;
    char *dumped;

    json_object_del(copy, "connected");
    json_object_del(copy, "lastSeen");
    if ((dumped = json_dumps(copy, JSON_COMPACT)) != NULL)
        text = json_stringn_nocheck(dumped, strlen(dumped));
    free(dumped);
    json_decref(copy);
    return text;
}

/* The row's text with the time-bound members put back where the JSON form
 * has them: after "joined" (the name before it is a JSON string, so the
 * first `,"revision":` is the next member's start). */
static int take_text(struct row_sink *sink, hub *h, const char *name, struct status_row *r)
{
    struct gf_strbuf *sb = sink->sb;
    char live[96];

    if (!r->cached) {
        if (sink->taken > 0)
            gf_strbuf_add(sb, ",", 1);
        sb_add_json(sb, r->row);
        return sb->failed ? gf_error_set(GF_ENOMEM, "out of memory") : 0;
    }
    if (r->text == NULL) {
        if ((r->text = row_text(r->row)) == NULL)
            return gf_error_set(GF_ENOMEM, "out of memory");
        hub_reports_row_put(hub_get_reports(h), name, &r->stamp, r->row, r->text);
    }
    const char *text = json_string_value(r->text), *split = strstr(text, ",\"revision\":");
    json_t *seen = rfc3339(r->last_seen_ms);
    if (split == NULL) {
        json_decref(seen);
        return gf_error_set(GF_EINVAL, "status row of '%s' has no revision", name);
    }
    snprintf(live, sizeof(live), ",\"connected\":%s,\"lastSeen\":\"%s\"",
             r->connected ? "true" : "false", json_string_value(seen));
    json_decref(seen);
    if (sink->taken > 0)
        gf_strbuf_add(sb, ",", 1);
    gf_strbuf_add(sb, text, (size_t)(split - text));
    gf_strbuf_puts(sb, live);
    gf_strbuf_puts(sb, split);
    return sb->failed ? gf_error_set(GF_ENOMEM, "out of memory") : 0;
}

int hub_status_query_text(hub *h, const struct hub_status_query *q, char **out)
{
    struct hub_view v;
    struct gf_strbuf sb = {0};
    struct row_sink sink = {.take = take_text, .sb = &sb};
    char *next = NULL;
    int error;

    *out = NULL;
    hub_view_get(h, &v);
    json_t *revision = json_string(v.commit), *last_error = json_string(v.last_error);
    json_t *problems = problems_of(&v);
    gf_strbuf_puts(&sb, "{\"revision\":");
    sb_add_json(&sb, revision);
    gf_strbuf_puts(&sb, ",\"clusters\":[");
    if ((error = select_rows(h, &v, q, &sink, &next)) == 0) {
        gf_strbuf_puts(&sb, "],\"problems\":");
        sb_add_json(&sb, problems);
        gf_strbuf_puts(&sb, ",\"error\":");
        sb_add_json(&sb, last_error);
        if (next) {
            json_t *token = json_string(next);
            gf_strbuf_puts(&sb, ",\"continue\":");
            sb_add_json(&sb, token);
            json_decref(token);
        }
        gf_strbuf_puts(&sb, "}");
        if (sb.failed)
            error = gf_error_set(GF_ENOMEM, "out of memory");
    }
    json_decref(revision);
    json_decref(last_error);
    json_decref(problems);
    free(next);
    hub_view_put(&v);
    if (error < 0) {
        gf_strbuf_free(&sb);
        return error;
    }
    *out = sb.data;
    return 0;
}

int hub_status_fleet(hub *h, const char *cluster, int detail, json_t **out)
{
    struct hub_status_query q = {.cluster = cluster, .detail = detail};

    return hub_status_query(h, &q, out);
}

static void bump(json_t *counts, const char *key)
{
    json_object_set_new(counts, key,
                        json_integer(json_integer_value(json_object_get(counts, key)) + 1));
}

/* The summary's counts, taken row by row as select_rows() makes them (it
 * built the whole status document first, then counted in it: slower than
 * the status list itself, 72-84 ms at 10,000 clusters). */
struct summary_sink {
    struct row_sink sink; /* first: take_counts() gets this back from it */
    size_t connected, apps;
    json_t *by_sync, *by_health, *app_sync, *app_health;
};

static int take_counts(struct row_sink *sink, hub *h, const char *name, struct status_row *r)
{
    struct summary_sink *c = (struct summary_sink *)sink;
    json_t *app;
    size_t i;

    (void)h;
    (void)name;
    c->connected += r->connected != 0;
    bump(c->by_sync, json_string_value(json_object_get(r->row, "sync")));
    bump(c->by_health, json_string_value(json_object_get(r->row, "health")));
    json_array_foreach(json_object_get(r->row, "apps"), i, app)
    {
        const char *s = json_string_value(json_object_get(app, "sync"));
        const char *hl = json_string_value(json_object_get(app, "health"));
        bump(c->app_sync, s ? s : "Unknown");
        bump(c->app_health, hl ? hl : "Unknown");
        c->apps++;
    }
    return 0;
}

int hub_status_summary(hub *h, const struct hub_status_query *q, json_t **out)
{
    struct hub_status_query all = *q;
    struct summary_sink c = {.sink = {.take = take_counts}};
    struct hub_view v;
    char *next = NULL;
    int error;

    *out = NULL;
    all.limit = 0;
    all.after = NULL;
    all.detail = 0;
    c.by_sync = json_pack("{s:i, s:i, s:i}", "Synced", 0, "OutOfSync", 0, "Unknown", 0);
    c.by_health = json_object();
    c.app_sync = json_object();
    c.app_health = json_object();
    for (int k = 0; k < 6; k++)
        json_object_set_new(c.by_health, health_order[k], json_integer(0));
    hub_view_get(h, &v);
    if ((error = select_rows(h, &v, &all, &c.sink, &next)) == 0)
        *out = json_pack("{s:s, s:{s:I, s:I, s:O, s:O}, s:{s:I, s:O, s:O}, s:I, s:s}", "revision",
                         v.commit, "clusters", "total", (json_int_t)c.sink.taken, "connected",
                         (json_int_t)c.connected, "sync", c.by_sync, "health", c.by_health, "apps",
                         "total", (json_int_t)c.apps, "sync", c.app_sync, "health", c.app_health,
                         "problems", (json_int_t)(v.fleet ? v.fleet->n_problems : 0), "error",
                         v.last_error);
    free(next);
    hub_view_put(&v);
    json_decref(c.by_sync);
    json_decref(c.by_health);
    json_decref(c.app_sync);
    json_decref(c.app_health);
    if (error == 0 && *out == NULL)
        error = gf_error_set(GF_ENOMEM, "out of memory");
    return error;
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

static void metric(struct gf_strbuf *sb, const char *name, const char *type, const char *help,
                   unsigned long long value)
{
    gf_strbuf_printf(sb, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                     value);
}

/* Per-cluster gauges from the status view: connection, report age, app results. */
static void cluster_metrics(hub *h, struct gf_strbuf *sb, int64_t now)
{
    json_t *status = NULL, *c, *app;
    struct hub_store_cluster *rows = NULL;
    size_t i, j, k = 0, n_rows = 0, connected = 0, synced = 0, out_of_sync = 0, unknown = 0;

    if (hub_status_fleet(h, NULL, 0, &status) < 0)
        return;
    /* Last-seen times from one list, walked alongside the rows (both sorted
     * by name), not one store lookup per cluster. */
    hub_store_cluster_list(hub_get_store(h), &rows, &n_rows);
    gf_strbuf_printf(sb, "# HELP gitfleet_report_age_seconds Seconds since the cluster's agent "
                         "last reported.\n# TYPE gitfleet_report_age_seconds gauge\n");
    json_array_foreach(json_object_get(status, "clusters"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        connected += json_is_true(json_object_get(c, "connected"));
        while (k < n_rows && strcmp(rows[k].name, name) < 0)
            k++;
        if (k < n_rows && strcmp(rows[k].name, name) == 0 && rows[k].last_seen_ms > 0)
            gf_strbuf_printf(sb, "gitfleet_report_age_seconds{cluster=\"%s\"} %.3f\n", name,
                             (double)(now - rows[k].last_seen_ms) / 1000.0);
        json_array_foreach(json_object_get(c, "apps"), j, app)
        {
            const char *sync = json_string_value(json_object_get(app, "sync"));
            synced += sync && strcmp(sync, "Synced") == 0;
            out_of_sync += sync && strcmp(sync, "OutOfSync") == 0;
            unknown += !sync || (strcmp(sync, "Synced") != 0 && strcmp(sync, "OutOfSync") != 0);
        }
    }
    metric(sb, "gitfleet_clusters", "gauge", "Clusters known to the hub.",
           json_array_size(json_object_get(status, "clusters")));
    metric(sb, "gitfleet_clusters_connected", "gauge",
           "Clusters whose agent asked within the last minute.", connected);
    gf_strbuf_printf(
        sb,
        "# HELP gitfleet_apps Apps by sync result, as last reported.\n# TYPE gitfleet_apps "
        "gauge\ngitfleet_apps{sync=\"Synced\"} %zu\ngitfleet_apps{sync=\"OutOfSync\"} %zu\n"
        "gitfleet_apps{sync=\"Unknown\"} %zu\n",
        synced, out_of_sync, unknown);
    free(rows);
    json_decref(status);
}

char *hub_status_metrics(hub *h)
{
    struct hub_serve_stats ss;
    struct hub_metrics m;
    struct gf_strbuf sb = {0};

    hub_serve_stats(hub_get_serve(h), &ss);
    hub_metrics_get(h, &m);
    cluster_metrics(h, &sb, gf_wire_now_ms());
    metric(&sb, "gitfleet_syncs_total", "counter", "Fetch-and-render passes.", m.syncs);
    metric(&sb, "gitfleet_renders_total", "counter", "Cluster renders.", m.renders);
    metric(&sb, "gitfleet_render_errors_total", "counter",
           "Apps or clusters that failed to render.", m.render_errors);
    metric(&sb, "gitfleet_fetch_errors_total", "counter", "Failed Git fetches.", m.fetch_errors);
    metric(&sb, "gitfleet_publish_errors_total", "counter",
           "Cluster bundles that could not be signed or stored (retried).", m.publish_errors);
    int64_t git_used = 0, git_allowed = 0;
    hub_source_cache_bytes(&git_used, &git_allowed);
    metric(&sb, "gitfleet_git_object_cache_bytes", "gauge",
           "Parsed Git objects libgit2 keeps in memory (bounded).", (unsigned long long)git_used);
    metric(&sb, "gitfleet_heap_in_use_bytes", "gauge",
           "Memory the hub has allocated and not freed (its allocator's count).",
           (unsigned long long)gf_os_heap_in_use());
    metric(&sb, "gitfleet_sqlite_memory_bytes", "gauge",
           "Memory SQLite holds: page caches and statements (bounded).",
           (unsigned long long)sqlite3_memory_used());
    metric(&sb, "gitfleet_bundles_published_total", "counter", "New bundle generations.",
           m.bundles_published);
    metric(&sb, "gitfleet_bundles_served_total", "counter", "Bundles sent to agents.",
           ss.bundles_served);
    metric(&sb, "gitfleet_agent_requests_total", "counter", "Agent requests.", ss.requests);
    metric(&sb, "gitfleet_agent_refused_total", "counter",
           "Agent requests refused (signature, replay, unknown cluster).", ss.refused);
    metric(&sb, "gitfleet_reports_total", "counter", "Reports stored.", ss.reports);
    metric(&sb, "gitfleet_agent_dropped_total", "counter",
           "Agent requests dropped unread: their connection already held its share.", ss.dropped);
    metric(&sb, "gitfleet_agent_send_timeouts_total", "counter",
           "Replies an agent connection did not take in time (the connection was closed).",
           ss.send_timeouts);
    metric(&sb, "gitfleet_long_polls_replaced_total", "counter",
           "Long-polls abandoned for a newer one of the same cluster.", ss.replaced);
    metric(&sb, "gitfleet_long_polls_waiting", "gauge", "Bundle requests held open right now.",
           (unsigned long long)ss.waiting);
    if (sb.failed)
        gf_strbuf_free(&sb);
    return sb.data;
}
