/* cmd_rollout.c -- gitfleet rollout list|status|pause|resume|promote|abort: progressive rollouts */
#include "cli.h"
#include "hubapi.h"
#include "table.h"

#include "gitfleet/error.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The options `rollout` takes, and nothing else. */
struct rollout_opts {
    const char *hub, *token_file, *output;
    int watch;
};

static int parse_opts(struct rollout_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {{"hub", required_argument, NULL, 'H'},
                                             {"token-file", required_argument, NULL, 't'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"watch", no_argument, NULL, 'w'},
                                             {NULL, 0, NULL, 0}};
    int c;

    *o = (struct rollout_opts){.output = "table"};
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:w", longopts, NULL)) != -1) {
        if (c == 'H')
            o->hub = optarg;
        else if (c == 't')
            o->token_file = optarg;
        else if (c == 'o')
            o->output = optarg;
        else if (c == 'w')
            o->watch = 1;
        else
            return -1;
    }
    if (strcmp(o->output, "table") != 0 && strcmp(o->output, "json") != 0 &&
        strcmp(o->output, "yaml") != 0)
        return -1;
    return optind;
}

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static long long num(const json_t *obj, const char *key)
{
    return (long long)json_integer_value(json_object_get(obj, key));
}

static void print_list(const json_t *rollouts)
{
    struct gf_cli_table *t = gf_cli_table_new(6);
    const json_t *r;
    size_t i;

    gf_cli_table_row(t, "APPSET", "ID", "REVISION", "PHASE", "STEP", "MESSAGE");
    json_array_foreach(rollouts, i, r)
    {
        char id[24], rev[13], step[32];
        snprintf(id, sizeof(id), "%lld", num(r, "id"));
        snprintf(rev, sizeof(rev), "%.12s", str(r, "revision"));
        snprintf(step, sizeof(step), "%lld/%lld", num(r, "step"), num(r, "steps"));
        gf_cli_table_row(t, str(r, "appset"), id, rev, str(r, "phase"), step, str(r, "message"));
    }
    gf_cli_table_print(t, stdout);
    gf_cli_table_free(t);
}

static void print_steps(const json_t *r)
{
    struct gf_cli_table *t = gf_cli_table_new(7);
    const json_t *g;
    size_t i;

    gf_cli_table_row(t, "STEP", "TARGETS", "DONE", "UPDATING", "FAILED", "MAX-UPDATE", "BAKE");
    json_array_foreach(json_object_get(r, "stepGates"), i, g)
    {
        char cells[5][32], max[32];
        snprintf(cells[0], 32, "%lld%s", num(g, "step"),
                 num(g, "step") == num(r, "step") ? "*" : "");
        snprintf(cells[1], 32, "%lld", num(g, "targets"));
        snprintf(cells[2], 32, "%lld", num(g, "done"));
        snprintf(cells[3], 32, "%lld", num(g, "updating"));
        snprintf(cells[4], 32, "%lld", num(g, "failed"));
        const json_t *m = json_object_get(g, "maxUpdate");
        if (json_is_string(m))
            snprintf(max, sizeof(max), "%s", json_string_value(m));
        else
            snprintf(max, sizeof(max), "%lld", (long long)json_integer_value(m));
        char bake[32];
        snprintf(bake, sizeof(bake), "%llds", num(g, "bakeMs") / 1000);
        gf_cli_table_row(t, cells[0], cells[1], cells[2], cells[3], cells[4], max, bake);
    }
    gf_cli_table_print(t, stdout);
    gf_cli_table_free(t);
}

static void print_targets(const json_t *r)
{
    struct gf_cli_table *t = gf_cli_table_new(6);
    const json_t *x;
    size_t i;

    gf_cli_table_row(t, "CLUSTER", "APP", "STEP", "STATE", "TO", "MESSAGE");
    json_array_foreach(json_object_get(r, "targets"), i, x)
    {
        char step[16], to[13];
        if (num(x, "step") > 0)
            snprintf(step, sizeof(step), "%lld", num(x, "step"));
        else
            snprintf(step, sizeof(step), "-");
        snprintf(to, sizeof(to), "%.12s", str(x, "to"));
        gf_cli_table_row(t, str(x, "cluster"), str(x, "app"), step, str(x, "state"), to,
                         str(x, "message"));
    }
    gf_cli_table_print(t, stdout);
    gf_cli_table_free(t);
}

static void print_status(const json_t *r)
{
    printf("ApplicationSet: %s\nRollout:        %lld (revision %.12s)\nPhase:          %s\n"
           "Step:           %lld of %lld\nFailure policy: %s\nWaiting for:    %s\n\n",
           str(r, "appset"), num(r, "id"), str(r, "revision"), str(r, "phase"), num(r, "step"),
           num(r, "steps"), str(r, "failurePolicy"), str(r, "waitingFor"));
    print_steps(r);
    putchar('\n');
    print_targets(r);
}

static int is_active(const json_t *r)
{
    const char *phase = str(r, "phase");
    return strcmp(phase, "Progressing") == 0 || strcmp(phase, "Paused") == 0;
}

static int get(struct gf_cli_hubapi *api, const char *path, json_t **out)
{
    return gf_cli_hubapi_call(api, "GET", path, NULL, out);
}

static int status(struct gf_cli_hubapi *api, const struct rollout_opts *o, const char *appset)
{
    char *escaped = curl_easy_escape(NULL, appset, 0);
    char path[512];
    json_t *doc = NULL;
    int error;

    snprintf(path, sizeof(path), "/api/v1/rollouts/%s", escaped ? escaped : "");
    curl_free(escaped);
    for (;;) {
        if ((error = get(api, path, &doc)) < 0)
            return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
        if (strcmp(o->output, "table") != 0) {
            gf_cli_hubapi_print(doc, o->output);
            doc = NULL;
        } else {
            if (o->watch)
                fputs("\033[H\033[2J", stdout);
            print_status(doc);
        }
        fflush(stdout);
        if (!o->watch || !is_active(doc)) {
            int failed = doc && (strcmp(str(doc, "phase"), "Halted") == 0 ||
                                 strcmp(str(doc, "phase"), "RolledBack") == 0 ||
                                 strcmp(str(doc, "phase"), "Aborted") == 0);
            json_decref(doc);
            return o->watch && failed ? GF_CLI_FAIL : GF_CLI_OK;
        }
        json_decref(doc);
        doc = NULL;
        sleep(2);
    }
}

static int command(struct gf_cli_hubapi *api, const char *verb, const char *appset)
{
    char *escaped = curl_easy_escape(NULL, appset, 0);
    char path[512];
    json_t *doc = NULL;

    snprintf(path, sizeof(path), "/api/v1/rollouts/%s/%s", escaped ? escaped : "", verb);
    curl_free(escaped);
    if (gf_cli_hubapi_call(api, "POST", path, NULL, &doc) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    printf("rollout %lld of %s: %s\n", num(doc, "id"), appset, str(doc, "phase"));
    json_decref(doc);
    return GF_CLI_OK;
}

static int run_rollout(int argc, char **argv)
{
    struct rollout_opts o;
    struct gf_cli_hubapi api;
    int first = parse_opts(&o, argc, argv);
    const char *verb = first > 0 && first < argc ? argv[first] : NULL;
    int rest = first > 0 ? argc - first - 1 : -1;
    int listing = verb && strcmp(verb, "list") == 0;
    int act = verb && (strcmp(verb, "pause") == 0 || strcmp(verb, "resume") == 0 ||
                       strcmp(verb, "promote") == 0 || strcmp(verb, "abort") == 0);
    int stat = verb && strcmp(verb, "status") == 0;

    if (verb == NULL || (listing && rest != 0) || ((act || stat) && rest != 1) ||
        (!listing && !act && !stat) || (o.watch && !stat))
        return gf_cli_usage(&gf_cmd_rollout);
    if (gf_cli_hubapi_init(&api, o.hub, o.token_file) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    if (stat)
        return status(&api, &o, argv[first + 1]);
    if (act)
        return command(&api, verb, argv[first + 1]);
    json_t *doc = NULL;
    if (get(&api, "/api/v1/rollouts", &doc) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    if (strcmp(o.output, "table") != 0)
        return gf_cli_hubapi_print(doc, o.output);
    print_list(json_object_get(doc, "rollouts"));
    json_decref(doc);
    return GF_CLI_OK;
}

const struct gf_cli_command gf_cmd_rollout = {
    .name = "rollout",
    .usage = "rollout list | status APPSET [-w] | pause|resume|promote|abort APPSET "
             "[-o table|json|yaml] [--hub URL] [--token-file F]",
    .summary = "progressive rollouts of RollingSync ApplicationSets (docs/rollouts.md)\n"
               "status: steps, clusters per step, timers and why it waits; -w follows it and\n"
               "exits 1 if it halts or rolls back. promote ends the current step's bake; abort\n"
               "holds every released cluster back at its old state (admin token).",
    .run = run_rollout,
};
