/* hubapi.c -- the CLI's client of the hub's HTTP API (--hub, GITFLEET_HUB, admin token) */
#include "hubapi.h"

#include "cli.h"
#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/yaml_emit.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HUBAPI_MAX_RESPONSE ((size_t)64 << 20)

int gf_cli_hubapi_init(struct gf_cli_hubapi *api, const char *hub, const char *token_file)
{
    const char *env_token = getenv("GITFLEET_TOKEN");
    char *text = NULL;
    size_t n;
    int error;

    memset(api, 0, sizeof(*api));
    if (hub == NULL)
        hub = getenv("GITFLEET_HUB");
    snprintf(api->base, sizeof(api->base), "%s", hub && hub[0] ? hub : "http://127.0.0.1:8080");
    n = strlen(api->base);
    while (n > 0 && api->base[n - 1] == '/')
        api->base[--n] = '\0';
    if (env_token != NULL && env_token[0] == '\0')
        env_token = NULL;
    if (token_file == NULL && env_token == NULL)
        token_file = getenv("GITFLEET_TOKEN_FILE");
    if (token_file != NULL && token_file[0] == '\0')
        token_file = NULL; /* set but empty: no token */
    if (token_file) {
        if ((error = gf_fs_read(&text, NULL, token_file, 4096)) < 0)
            return gf_error_wrap(error, "reading the API token");
        text[strcspn(text, "\r\n")] = '\0';
        snprintf(api->token, sizeof(api->token), "%s", text);
        free(text);
    } else if (env_token) {
        snprintf(api->token, sizeof(api->token), "%s", env_token);
    }
    return 0;
}

struct buffer {
    char *data;
    size_t len;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct buffer *b = arg;
    size_t n = size * nmemb;

    if (b->len + n > HUBAPI_MAX_RESPONSE)
        return 0;
    char *grown = realloc(b->data, b->len + n + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + b->len, ptr, n);
    b->data = grown;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static int perform(struct gf_cli_hubapi *api, CURL *curl, const char *url, long *status)
{
    CURLcode rc = curl_easy_perform(curl);

    if (rc != CURLE_OK)
        return gf_error_set(GF_EIO, "cannot reach the hub at %s: %s (set --hub or GITFLEET_HUB)",
                            api->base, curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

int gf_cli_hubapi_call(struct gf_cli_hubapi *api, const char *method, const char *path,
                       const json_t *body, json_t **out)
{
    struct buffer resp = {0};
    struct curl_slist *headers = NULL;
    char url[2048], auth[300], *text = NULL;
    long status = 0;
    CURL *curl = curl_easy_init();
    int error;

    if (out)
        *out = NULL;
    if (curl == NULL)
        return gf_error_set(GF_ENOMEM, "cannot start libcurl");
    snprintf(url, sizeof(url), "%s%s", api->base, path);
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Content-Type: application/json");
    if (api->token[0]) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", api->token);
        headers = curl_slist_append(headers, auth);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
    if (body && (text = json_dumps(body, JSON_COMPACT)) != NULL)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
    error = perform(api, curl, url, &status);
    json_t *doc = error == 0 && resp.len ? json_loadb(resp.data, resp.len, 0, NULL) : NULL;
    if (error == 0 && (status < 200 || status > 299)) {
        const char *message = json_string_value(json_object_get(doc, "error"));
        error = gf_error_set(status == 403 || status == 401 ? GF_EPERM
                             : status == 404                ? GF_ENOTFOUND
                                                            : GF_ERROR,
                             "%s %s: %s", method, path,
                             message     ? message
                             : resp.data ? resp.data
                                         : "no answer");
        if ((status == 401 || status == 403) && api->token[0] == '\0')
            gf_error_wrap(error, "no token given (GITFLEET_TOKEN or --token-file)");
    }
    if (error == 0 && out)
        *out = doc;
    else
        json_decref(doc);
    free(text);
    free(resp.data);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return error;
}

int gf_cli_hub_flag(struct gf_cli_hub_flags *flags, int c, const char *arg)
{
    switch (c) {
    case 'H':
        flags->hub = arg;
        return 1;
    case 't':
        flags->token_file = arg;
        return 1;
    case 'o':
        flags->output = arg;
        return 1;
    case 'c':
        flags->cluster = arg;
        return 1;
    case 'l':
        flags->limit = arg;
        return 1;
    default:
        return 0;
    }
}

int gf_cli_output_known(const char *output)
{
    return strcmp(output, "table") == 0 || strcmp(output, "json") == 0 ||
           strcmp(output, "yaml") == 0;
}

int gf_cli_hubapi_flags(const struct gf_cli_command *cmd, struct gf_cli_hub_flags *flags, int argc,
                        char **argv)
{
    static const struct option longopts[] = {
        {"hub", required_argument, NULL, 'H'},    {"token-file", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'}, {"cluster", required_argument, NULL, 'c'},
        {"limit", required_argument, NULL, 'l'},  {NULL, 0, NULL, 0}};
    int c;

    memset(flags, 0, sizeof(*flags));
    flags->output = "table";
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        if ((c == 'c' && !(cmd->hub_flags & GF_CLI_TAKES_CLUSTER)) ||
            (c == 'l' && !(cmd->hub_flags & GF_CLI_TAKES_LIMIT)) ||
            !gf_cli_hub_flag(flags, c, optarg))
            return -1;
    }
    return gf_cli_output_known(flags->output) ? optind : -1;
}

int gf_cli_hubapi_print(json_t *doc, const char *output)
{
    char *text = NULL;
    size_t len = 0;

    if (strcmp(output, "yaml") == 0 && gf_yaml_emit(&text, &len, doc) == 0)
        fputs(text, stdout);
    else if (strcmp(output, "json") == 0 &&
             (text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) != NULL)
        printf("%s\n", text);
    free(text);
    json_decref(doc);
    return GF_CLI_OK;
}
