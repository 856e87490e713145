/* cmd_sync.c -- gitfleet sync: make the hub fetch and render now, and wait for it */
#include "cli.h"
#include "hubapi.h"

#include "gitfleet/error.h"

#include <stdio.h>
#include <string.h>

static int run_sync(int argc, char **argv)
{
    struct gf_cli_hub_flags flags;
    struct gf_cli_hubapi api;
    json_t *doc = NULL;

    if (gf_cli_hubapi_flags(&flags, argc, argv) != argc)
        return gf_cli_usage(&gf_cmd_sync);
    json_t *body = json_object();
    if (flags.allow_prune)
        json_object_set_new(body, "allowPrune", json_string(flags.allow_prune));
    if (flags.allow_prune && flags.cluster)
        json_object_set_new(body, "cluster", json_string(flags.cluster));
    int error = gf_cli_hubapi_init(&api, flags.hub, flags.token_file);
    if (error == 0)
        error = gf_cli_hubapi_call(&api, "POST", "/api/v1/sync", body, &doc);
    json_decref(body);
    if (error < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    if (flags.allow_prune)
        printf("allowed the held prunes of %s for the next 15 minutes\n", flags.allow_prune);
    if (strcmp(flags.output, "table") != 0)
        return gf_cli_hubapi_print(doc, flags.output);
    printf("rendered revision %s\n", json_string_value(json_object_get(doc, "revision")));
    /* Rendering is fleet-wide; --cluster shows where that cluster stands. */
    if (flags.cluster) {
        char path[300];
        json_t *status = NULL;
        snprintf(path, sizeof(path), "/api/v1/status/%s", flags.cluster);
        if (gf_cli_hubapi_call(&api, "GET", path, NULL, &status) < 0) {
            json_decref(doc);
            return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
        }
        json_t *g =
            json_object_get(json_array_get(json_object_get(status, "clusters"), 0), "generation");
        printf("cluster %s: generation %lld desired, %lld applied\n", flags.cluster,
               (long long)json_integer_value(json_object_get(g, "desired")),
               (long long)json_integer_value(json_object_get(g, "applied")));
        json_decref(status);
    }
    json_decref(doc);
    return GF_CLI_OK;
}

const struct gf_cli_command gf_cmd_sync = {
    .name = "sync",
    .usage = "sync [--cluster C] [--allow-prune APP] [--hub URL] [--token-file F]",
    .summary = "make the hub fetch and render now; --allow-prune lets an app's held prunes "
               "through",
    .run = run_sync,
};
