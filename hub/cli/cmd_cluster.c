/* cmd_cluster.c -- gitfleet clusters | cluster add|remove|key|rotate-key NAME, through the hub */
#include "cli.h"
#include "hubapi.h"
#include "table.h"

#include "gitfleet/config.h"
#include "gitfleet/error.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static int run_clusters(int argc, char **argv)
{
    struct gf_cli_hub_flags flags;
    struct gf_cli_hubapi api;
    json_t *doc = NULL, *c;
    size_t i;

    if (gf_cli_hubapi_flags(&gf_cmd_clusters, &flags, argc, argv) != argc)
        return gf_cli_usage(&gf_cmd_clusters);
    if (gf_cli_hubapi_init(&api, flags.hub, flags.token_file) < 0 ||
        gf_cli_hubapi_call(&api, "GET", "/api/v1/clusters", NULL, &doc) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    if (strcmp(flags.output, "table") != 0)
        return gf_cli_hubapi_print(doc, flags.output);
    struct gf_cli_table *t = gf_cli_table_new(5);
    gf_cli_table_row(t, "CLUSTER", "IN GIT", "JOINED", "CONNECTED", "LAST SEEN");
    json_array_foreach(json_object_get(doc, "clusters"), i, c) gf_cli_table_row(
        t, str(c, "name"), json_is_true(json_object_get(c, "inGit")) ? "yes" : "no",
        json_is_true(json_object_get(c, "joined")) ? "yes" : "no",
        json_is_true(json_object_get(c, "connected")) ? "yes" : "no",
        str(c, "lastSeen")[0] ? str(c, "lastSeen") : "never");
    gf_cli_table_print(t, stdout);
    gf_cli_table_free(t);
    json_decref(doc);
    return GF_CLI_OK;
}

static int cluster_add(struct gf_cli_hubapi *api, const char *name, const char *output)
{
    json_t *body = json_pack("{s:s}", "name", name), *doc = NULL;
    char when[64];
    int error = gf_cli_hubapi_call(api, "POST", "/api/v1/clusters", body, &doc);

    json_decref(body);
    if (error < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    if (strcmp(output, "table") != 0)
        return gf_cli_hubapi_print(doc, output);
    time_t t = (time_t)(json_integer_value(json_object_get(doc, "expiresUnixMs")) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("join token for cluster %s, valid once until %s:\n"
           "  gitfleet-agent join --hub <agent URL> --token <token>\n%s\n",
           name, when, str(doc, "token"));
    json_decref(doc);
    return GF_CLI_OK;
}

/* `cluster key NAME`: the age recipient to seal for (a line, or JSON/YAML
 * with every recipient still opening values). */
static int cluster_key(struct gf_cli_hubapi *api, const char *name, const char *output)
{
    char path[300];
    json_t *doc = NULL;

    snprintf(path, sizeof(path), "/api/v1/recipients/%s", name);
    if (gf_cli_hubapi_call(api, "GET", path, NULL, &doc) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    if (strcmp(output, "table") != 0)
        return gf_cli_hubapi_print(doc, output);
    printf("%s\n", str(doc, "recipient"));
    json_decref(doc);
    return GF_CLI_OK;
}

static int cluster_rotate(struct gf_cli_hubapi *api, const char *name, const char *grace)
{
    char path[300], shown[64];
    int64_t ms = 24 * 3600 * 1000;
    json_t *body, *doc = NULL;

    if (grace && gf_duration_parse(&ms, grace) < 0)
        return gf_cli_error(GF_CLI_USAGE, "--grace %s: %s", grace, gf_error_last());
    body = json_pack("{s:I}", "graceSeconds", (json_int_t)(ms / 1000));
    snprintf(path, sizeof(path), "/api/v1/key-rotations/%s", name);
    int error = gf_cli_hubapi_call(api, "POST", path, body, &doc);
    json_decref(body);
    if (error < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    gf_duration_format(shown, sizeof(shown), ms);
    printf("key rotation %s asked of cluster %s: its agent makes a new key pair with its next "
           "report;\nvalues sealed to the old key keep opening for %s. Reseal them "
           "(`gitfleet seal --reseal`) before then.\n",
           str(doc, "rotation"), name, shown);
    json_decref(doc);
    return GF_CLI_OK;
}

/* Take "--grace D" / "--grace=D" out of argv (only rotate-key has it). */
static const char *take_grace(int *argc, char **argv)
{
    const char *grace = NULL;
    int w = 0;

    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--grace") == 0 && i + 1 < *argc)
            grace = argv[++i];
        else if (strncmp(argv[i], "--grace=", 8) == 0)
            grace = argv[i] + 8;
        else
            argv[w++] = argv[i];
    }
    *argc = w;
    return grace;
}

static int run_cluster(int argc, char **argv)
{
    struct gf_cli_hub_flags flags;
    struct gf_cli_hubapi api;
    char path[300];
    const char *grace = take_grace(&argc, argv);
    int first = gf_cli_hubapi_flags(&gf_cmd_cluster, &flags, argc, argv);
    static const char *const verbs[] = {"add", "remove", "key", "rotate-key", NULL};
    int known = 0;

    for (int i = 0; first >= 0 && first < argc && verbs[i]; i++)
        known |= strcmp(argv[first], verbs[i]) == 0;
    if (first < 0 || argc - first != 2 || !known ||
        (grace && strcmp(argv[first], "rotate-key") != 0))
        return gf_cli_usage(&gf_cmd_cluster);
    if (gf_cli_hubapi_init(&api, flags.hub, flags.token_file) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    if (strcmp(argv[first], "add") == 0)
        return cluster_add(&api, argv[first + 1], flags.output);
    if (strcmp(argv[first], "key") == 0)
        return cluster_key(&api, argv[first + 1], flags.output);
    if (strcmp(argv[first], "rotate-key") == 0)
        return cluster_rotate(&api, argv[first + 1], grace);
    snprintf(path, sizeof(path), "/api/v1/clusters/%s", argv[first + 1]);
    if (gf_cli_hubapi_call(&api, "DELETE", path, NULL, NULL) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    printf("cluster %s removed: its agent's key is revoked\n", argv[first + 1]);
    return GF_CLI_OK;
}

const struct gf_cli_command gf_cmd_clusters = {
    .name = "clusters",
    .usage = "clusters [-o table|json|yaml] [--hub URL]",
    .summary = "clusters the hub knows: in Git, joined, connected",
    .run = run_clusters,
};

const struct gf_cli_command gf_cmd_cluster = {
    .name = "cluster",
    .usage = "cluster add|remove|key NAME [-o json] [--hub URL] [--token-file F]\n"
             "       cluster rotate-key NAME [--grace 24h] [--hub URL] [--token-file F]",
    .summary = "issue a join token, revoke a cluster, print its age recipient (key), rotate it",
    .run = run_cluster,
};
