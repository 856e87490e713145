/* cmd_diff.c -- gitfleet diff CLUSTER [APP]: the fields that drifted from Git, per object */
#include "cli.h"
#include "hubapi.h"

#include "gitfleet/error.h"

#include <stdio.h>
#include <string.h>

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* Print one object's drift; returns how many fields drifted. */
static size_t print_object(const json_t *app, const json_t *res)
{
    const json_t *drift = json_object_get(res, "drift");
    size_t i, n = json_array_size(drift);
    json_t *d;

    int extra = json_is_true(json_object_get(res, "requiresPruning"));

    if (n == 0 && !extra && strcmp(str(res, "health"), "Missing") != 0)
        return 0;
    printf("%s  %s%s%s/%s%s%s\n", str(app, "name"), str(res, "group"),
           str(res, "group")[0] ? "/" : "", str(res, "kind"), str(res, "namespace"),
           str(res, "namespace")[0] ? "/" : "", str(res, "name"));
    if (n == 0) {
        /* the agent lists objects that left Git but stay (prune off or held) */
        printf(extra ? "  (requires pruning: no longer in Git, still in the cluster)\n"
                     : "  (missing from the cluster)\n");
        return 1;
    }
    json_array_foreach(drift, i, d)
    {
        if (json_object_get(d, "desired") == NULL && json_object_get(d, "live") == NULL)
            printf("  %s: differs (value hidden)\n", str(d, "path"));
        else
            printf("  %s: Git %s, live %s\n", str(d, "path"),
                   str(d, "desired")[0] ? str(d, "desired") : "(absent)",
                   str(d, "live")[0] ? str(d, "live") : "(absent)");
    }
    return n;
}

static int run_diff(int argc, char **argv)
{
    struct gf_cli_hub_flags flags;
    struct gf_cli_hubapi api;
    char path[300];
    json_t *status = NULL, *app, *res;
    size_t i, j, drifted = 0;
    int first = gf_cli_hubapi_flags(&gf_cmd_diff, &flags, argc, argv);

    if (first < 0 || argc - first < 1 || argc - first > 2)
        return gf_cli_usage(&gf_cmd_diff);
    const char *only = argc - first == 2 ? argv[first + 1] : NULL;
    snprintf(path, sizeof(path), "/api/v1/status/%s", argv[first]);
    if (gf_cli_hubapi_init(&api, flags.hub, flags.token_file) < 0 ||
        gf_cli_hubapi_call(&api, "GET", path, NULL, &status) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    json_t *apps = json_object_get(json_array_get(json_object_get(status, "clusters"), 0), "apps");
    if (strcmp(flags.output, "table") != 0) {
        json_t *out = json_array();
        json_array_foreach(apps, i, app)
        {
            if (only && strcmp(str(app, "name"), only) != 0)
                continue;
            json_array_append(out, app);
            json_array_foreach(json_object_get(app, "resources"), j, res) drifted +=
                json_array_size(json_object_get(res, "drift")) > 0 ||
                strcmp(str(res, "health"), "Missing") == 0 ||
                json_is_true(json_object_get(res, "requiresPruning"));
        }
        json_decref(status);
        gf_cli_hubapi_print(json_pack("{s:o}", "apps", out), flags.output);
        return drifted > 0 ? GF_CLI_FAIL : GF_CLI_OK;
    }
    json_array_foreach(apps, i, app)
    {
        if (only && strcmp(str(app, "name"), only) != 0)
            continue;
        json_array_foreach(json_object_get(app, "resources"), j, res) drifted +=
            print_object(app, res);
    }
    if (drifted == 0)
        printf("no drift: every object on %s matches Git\n", argv[first]);
    json_decref(status);
    /* As diff(1), kubectl diff and argocd app diff: 1 when there is a difference. */
    return drifted > 0 ? GF_CLI_FAIL : GF_CLI_OK;
}

const struct gf_cli_command gf_cmd_diff = {
    .name = "diff",
    .usage = "diff CLUSTER [APP] [-o table|json|yaml] [--hub URL]",
    .summary = "the fields of live objects that drifted from Git (Secret values hidden); exit 1 "
               "when there is drift, as diff(1) and `argocd app diff`",
    .run = run_diff,
};
