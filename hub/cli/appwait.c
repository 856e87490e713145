/* appwait.c -- waiting for apps to reach a state (gitfleet wait, sync --wait, rollback --wait) */
#include "appwait.h"

#include "cli.h"
#include "table.h"

#include "gitfleet/config.h"
#include "gitfleet/error.h"
#include "gitfleet/wire.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

int64_t gf_cli_wait_timeout(const char *text)
{
    int64_t ms = 0;

    if (text == NULL)
        return 0;
    return gf_duration_parse(&ms, text) == 0 && ms >= 0 ? ms : -1;
}

/* Every app row of the selection, each with "cluster" (new reference). */
static int fetch_rows(struct gf_cli_hubapi *api, const struct gf_cli_wait *w, json_t **out)
{
    char path[1024];
    json_t *doc = NULL, *rows = json_array(), *c, *a;
    size_t i, j;
    int error;

    *out = NULL;
    if (w->app) {
        char *app = curl_easy_escape(NULL, w->app, 0), *cl = NULL;
        if (w->cluster)
            cl = curl_easy_escape(NULL, w->cluster, 0);
        snprintf(path, sizeof(path), "/api/v1/apps/%s%s%s", app ? app : "", cl ? "?cluster=" : "",
                 cl ? cl : "");
        curl_free(app);
        curl_free(cl);
        if ((error = gf_cli_hubapi_call(api, "GET", path, NULL, &doc)) < 0)
            goto out;
        json_array_extend(rows, json_object_get(doc, "clusters"));
    } else {
        snprintf(path, sizeof(path), "/api/v1/status");
        if ((error = gf_cli_hubapi_call(api, "GET", path, NULL, &doc)) < 0)
            goto out;
        json_array_foreach(json_object_get(doc, "clusters"), i, c)
        {
            if (w->cluster && strcmp(str(c, "name"), w->cluster) != 0)
                continue;
            json_array_foreach(json_object_get(c, "apps"), j, a)
            {
                json_t *row = json_deep_copy(a);
                json_object_set_new(row, "cluster", json_string(str(c, "name")));
                json_array_append_new(rows, row);
            }
        }
    }
    *out = rows;
    rows = NULL;
out:
    json_decref(doc);
    json_decref(rows);
    return error;
}

static int final_phase(const char *phase)
{
    return strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0 ||
           strcmp(phase, "Error") == 0 || strcmp(phase, "Expired") == 0;
}

/* The request `id` among the rows' "operations", or NULL. */
static const json_t *find_request(const json_t *rows, const char *id)
{
    size_t i, j;
    json_t *row, *op;

    json_array_foreach(rows, i, row) json_array_foreach(json_object_get(row, "operations"), j, op)
    {
        if (strcmp(str(op, "id"), id) == 0)
            return op;
    }
    return NULL;
}

enum verdict { WAITING, REACHED, FAILED };

/* Where one app row stands; *why names what is awaited or what failed. */
static enum verdict judge(const struct gf_cli_wait *w, const json_t *row, char *why, size_t len)
{
    const json_t *state = json_object_get(row, "operationState");
    const char *phase = str(state, "phase");

    if (w->health && strcmp(str(row, "health"), "Degraded") == 0) {
        snprintf(why, len, "health Degraded: %s", str(row, "message"));
        return FAILED;
    }
    if (w->operation && w->ids == NULL &&
        (strcmp(phase, "Failed") == 0 || strcmp(phase, "Error") == 0)) {
        snprintf(why, len, "operation %s: %s", phase, str(state, "message"));
        return FAILED;
    }
    if (w->operation && (json_array_size(json_object_get(row, "pendingOperations")) > 0 ||
                         strcmp(phase, "Running") == 0)) {
        snprintf(why, len, "an operation is running or requested");
        return WAITING;
    }
    if (w->sync && strcmp(str(row, "sync"), "Synced") != 0) {
        snprintf(why, len, "sync %s", str(row, "sync"));
        return WAITING;
    }
    if (w->health && strcmp(str(row, "health"), "Healthy") != 0) {
        snprintf(why, len, "health %s", str(row, "health"));
        return WAITING;
    }
    return REACHED;
}

/* The requests of `ids`: all finished? One failed? */
static enum verdict judge_ids(const struct gf_cli_wait *w, const json_t *rows, char *why,
                              size_t len)
{
    size_t i;
    json_t *id;

    json_array_foreach(w->ids, i, id)
    {
        const json_t *op = find_request(rows, json_string_value(id));
        const char *phase = op ? str(op, "phase") : "Pending";
        if (!final_phase(phase)) {
            snprintf(why, len, "operation %s is %s", json_string_value(id), phase);
            return WAITING;
        }
        if (strcmp(phase, "Succeeded") != 0) {
            const char *message = str(json_object_get(op, "state"), "message");
            snprintf(why, len, "operation %s on %s: %s%s%s", json_string_value(id),
                     str(op, "cluster"), phase, message[0] ? ": " : "", message);
            return FAILED;
        }
    }
    return REACHED;
}

static void print_rows(const json_t *rows)
{
    struct gf_cli_table *t = gf_cli_table_new(7);
    size_t i;
    json_t *row;
    char rev[13];

    gf_cli_table_row(t, "CLUSTER", "APP", "SYNC", "HEALTH", "OPERATION", "REVISION", "MESSAGE");
    json_array_foreach(rows, i, row)
    {
        snprintf(rev, sizeof(rev), "%.12s", str(row, "revision"));
        gf_cli_table_row(t, str(row, "cluster"), str(row, "name"), str(row, "sync"),
                         str(row, "health"), str(json_object_get(row, "operationState"), "phase"),
                         rev, str(row, "message"));
    }
    gf_cli_table_print(t, stdout);
    gf_cli_table_free(t);
}

/* One look at the hub: the verdict over every selected row. */
static enum verdict look(struct gf_cli_hubapi *api, const struct gf_cli_wait *w, json_t **rows,
                         char *why, size_t len, int *error_out)
{
    enum verdict all = REACHED;
    size_t i;
    json_t *row;

    json_decref(*rows);
    *rows = NULL;
    if ((*error_out = fetch_rows(api, w, rows)) < 0)
        return FAILED;
    if (w->ids && (all = judge_ids(w, *rows, why, len)) != REACHED)
        return all;
    json_array_foreach(*rows, i, row)
    {
        char one[600];
        enum verdict v = judge(w, row, one, sizeof(one));
        if (v == REACHED)
            continue;
        snprintf(why, len, "%s/%s: %s", str(row, "cluster"), str(row, "name"), one);
        if (v == FAILED)
            return FAILED;
        all = WAITING;
    }
    if (json_array_size(*rows) == 0 && all == REACHED) {
        snprintf(why, len, "no app matches");
        return WAITING;
    }
    return all;
}

int gf_cli_wait_apps(struct gf_cli_hubapi *api, const struct gf_cli_wait *given, json_t **rows_out)
{
    struct gf_cli_wait w = *given;
    int64_t deadline = w.timeout_ms > 0 ? gf_wire_now_ms() + w.timeout_ms : 0;
    json_t *rows = NULL;
    char why[1024] = "";
    int error = 0;
    enum verdict v;

    if (!w.sync && !w.health && !w.operation)
        w.sync = w.health = w.operation = 1;
    for (;;) {
        v = look(api, &w, &rows, why, sizeof(why), &error);
        if (v != WAITING || (deadline && gf_wire_now_ms() >= deadline))
            break;
        nanosleep(&(struct timespec){1, 0}, NULL);
    }
    if (error < 0) {
        json_decref(rows);
        return gf_cli_error(GF_CLI_WAIT_FAILED, "%s", gf_error_last());
    }
    if (!w.quiet)
        print_rows(rows);
    if (rows_out)
        *rows_out = rows;
    else
        json_decref(rows);
    if (v == FAILED)
        return gf_cli_error(GF_CLI_WAIT_FAILED, "%s", why);
    if (v == WAITING) {
        char d[32];
        gf_duration_format(d, sizeof(d), w.timeout_ms);
        return gf_cli_error(GF_CLI_WAIT_TIMEOUT, "timed out after %s waiting for %s", d, why);
    }
    return GF_CLI_WAIT_REACHED;
}

void gf_cli_print_results(const char *cluster, const json_t *state)
{
    struct gf_cli_table *t = gf_cli_table_new(6);
    size_t i;
    json_t *r;

    printf("%s%s on %s: %s%s%s\n", json_is_true(json_object_get(state, "dryRun")) ? "dry run " : "",
           str(state, "kind")[0] ? str(state, "kind") : "operation", cluster, str(state, "phase"),
           str(state, "message")[0] ? ": " : "", str(state, "message"));
    gf_cli_table_row(t, "ACTION", "OBJECT", "PHASE", "WAVE", "STATUS", "MESSAGE");
    json_array_foreach(json_object_get(state, "results"), i, r)
    {
        char object[400], wave[16];
        snprintf(object, sizeof(object), "%s%s%s/%s%s%s", str(r, "group"),
                 str(r, "group")[0] ? "/" : "", str(r, "kind"), str(r, "namespace"),
                 str(r, "namespace")[0] ? "/" : "", str(r, "name"));
        snprintf(wave, sizeof(wave), "%lld",
                 (long long)json_integer_value(json_object_get(r, "wave")));
        gf_cli_table_row(t, str(r, "action"), object, str(r, "phase"), wave, str(r, "status"),
                         str(r, "message"));
    }
    if (json_array_size(json_object_get(state, "results")) > 0)
        gf_cli_table_print(t, stdout);
    gf_cli_table_free(t);
}
