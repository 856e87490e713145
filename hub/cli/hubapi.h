/* hubapi.h -- the CLI's client of the hub's HTTP API (--hub, GITFLEET_HUB, admin token) */
#ifndef GF_CLI_HUBAPI_H
#define GF_CLI_HUBAPI_H

#include "cli.h"

#include <jansson.h>

struct gf_cli_hubapi {
    char base[512];  /* http://127.0.0.1:8080, no trailing slash */
    char token[256]; /* admin token, "" when none was given */
};

/*
 * The hub's address comes from `hub` (--hub), else $GITFLEET_HUB, else
 * http://127.0.0.1:8080. The admin token from `token_file` (--token-file),
 * else $GITFLEET_TOKEN, else the file named by $GITFLEET_TOKEN_FILE.
 */
int gf_cli_hubapi_init(struct gf_cli_hubapi *api, const char *hub, const char *token_file);

/* Call the API; `body` may be NULL. *out (may be NULL) receives the JSON
 * answer. A non-2xx answer is an error carrying the hub's message. */
int gf_cli_hubapi_call(struct gf_cli_hubapi *api, const char *method, const char *path,
                       const json_t *body, json_t **out);

/* Shared option parsing of the hub commands: --hub URL, --token-file F,
 * -o/--output FORMAT, and the flags the command's table entry declares in
 * `hub_flags` (GF_CLI_TAKES_*): any other is a usage error. Returns the
 * index of the first positional argument, or -1 on a usage error. `output`
 * defaults to "table". */
struct gf_cli_hub_flags {
    const char *hub, *token_file, *output, *cluster, *limit;
};
int gf_cli_hubapi_flags(const struct gf_cli_command *cmd, struct gf_cli_hub_flags *flags, int argc,
                        char **argv);

/* For commands with options of their own: store one of the shared hub
 * flags getopt returned ('H', 't', 'o', 'c', 'l') with its `arg`; 0 when
 * `c` is none of them (the command's own, or a usage error). */
int gf_cli_hub_flag(struct gf_cli_hub_flags *flags, int c, const char *arg);

/* -o's value is one the hub commands print: table, json or yaml. */
int gf_cli_output_known(const char *output);

/* Print a JSON document for -o json / -o yaml; 0, or GF_CLI_USAGE for an
 * unknown format. Releases `doc`. */
int gf_cli_hubapi_print(json_t *doc, const char *output);

#endif
