/* cli.h -- the gitfleet CLI's command table: one file per command */
#ifndef GF_CLI_H
#define GF_CLI_H

/* Exit codes of every command: 0 ok, 1 failure, 2 usage error. */
enum { GF_CLI_OK = 0, GF_CLI_FAIL = 1, GF_CLI_USAGE = 2 };

/* The shared hub flags a command may take besides --hub, --token-file, -o. */
#define GF_CLI_TAKES_CLUSTER 0x1u /* --cluster C */
#define GF_CLI_TAKES_LIMIT   0x2u /* --limit N */

struct gf_cli_command {
    const char *name;
    const char *usage;                 /* "fmt [-w] [FILE...]" */
    const char *summary;               /* one line for `gitfleet help` */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    unsigned hub_flags;                /* GF_CLI_TAKES_*, for gf_cli_hubapi_flags() */
};

/* Print "gitfleet: <message>" to stderr; returns `code` for `return`. */
int gf_cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print the usage line of `cmd` to stderr and return GF_CLI_USAGE. */
int gf_cli_usage(const struct gf_cli_command *cmd);

extern const struct gf_cli_command gf_cmd_fmt;
extern const struct gf_cli_command gf_cmd_version;
extern const struct gf_cli_command gf_cmd_render;
extern const struct gf_cli_command gf_cmd_apps;
extern const struct gf_cli_command gf_cmd_health;
extern const struct gf_cli_command gf_cmd_kustomize;
extern const struct gf_cli_command gf_cmd_status;
extern const struct gf_cli_command gf_cmd_clusters;
extern const struct gf_cli_command gf_cmd_cluster;
extern const struct gf_cli_command gf_cmd_history;
extern const struct gf_cli_command gf_cmd_sync;
extern const struct gf_cli_command gf_cmd_diff;
extern const struct gf_cli_command gf_cmd_rollout;
extern const struct gf_cli_command gf_cmd_wait;
extern const struct gf_cli_command gf_cmd_rollback;
extern const struct gf_cli_command gf_cmd_app;
extern const struct gf_cli_command gf_cmd_token;
extern const struct gf_cli_command gf_cmd_audit;
extern const struct gf_cli_command gf_cmd_seal;

#endif
