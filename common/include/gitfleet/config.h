/* config.h -- settings defined once in a table: YAML file, command-line flags and --help */
#ifndef GITFLEET_CONFIG_H
#define GITFLEET_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum gf_config_type {
    GF_CONFIG_STRING,   /* char *, malloc'd */
    GF_CONFIG_INT,      /* long long, within [min, max] */
    GF_CONFIG_BOOL,     /* int 0/1; a flag without value means true */
    GF_CONFIG_DURATION, /* int64_t milliseconds, written "5s", "3m", "1h30m", "250ms" */
};

/*
 * One setting: its name is both the YAML key and the flag (--name). The
 * value lives at `offset` in the caller's settings struct. Unknown keys and
 * flags are errors, values outside bounds too, so a typo never goes unnoticed.
 */
struct gf_config_option {
    const char *name;
    enum gf_config_type type;
    size_t offset;
    long long min, max;        /* INT and DURATION (ms); ignored when both 0 */
    const char *default_value; /* text, parsed like a flag; NULL: none */
    const char *help;
};

/* Set every option to its default. Strings are malloc'd. */
int gf_config_defaults(void *settings, const struct gf_config_option *table, size_t n);

/* Apply a YAML file holding one mapping of option names to values. Errors
 * name the file and the key. */
int gf_config_load_file(void *settings, const struct gf_config_option *table, size_t n,
                        const char *path);

/*
 * Apply flags from argv[0..argc): "--name value", "--name=value" or a bare
 * "--flag" for booleans. Stops at the first argument that is not a flag (or
 * after "--") and stores its index in *next. "--config FILE" is NOT handled
 * here: load the file first, then the flags, so that flags win.
 */
int gf_config_parse_flags(void *settings, const struct gf_config_option *table, size_t n, int argc,
                          char **argv, int *next);

/*
 * The usual order for a daemon: defaults, then the YAML file named by the
 * option called "config" when the flags set it, then the flags again so
 * that they win over the file. Every argument must be a flag.
 */
int gf_config_load(void *settings, const struct gf_config_option *table, size_t n, int argc,
                   char **argv);

/* Set one option from text (used by both loaders). */
int gf_config_set(void *settings, const struct gf_config_option *opt, const char *value);

/* Free the strings of a settings struct. */
void gf_config_free(void *settings, const struct gf_config_option *table, size_t n);

/* Print "  --name TYPE   help (default: x)" lines. */
void gf_config_usage(FILE *out, const struct gf_config_option *table, size_t n);

/* Durations of settings: "90s", "5m", "1h30m", "250ms", "0" (a unit is
 * required, so that "5" is never read as the wrong one). */
int gf_duration_parse(int64_t *ms_out, const char *text);

/* Durations in Argo CD objects (retry.backoff): a bare integer counts
 * seconds, else Go's time.ParseDuration syntax ("1h30m", "1.5s", "250ms",
 * "10us"), in milliseconds (fractions kept). Negative and malformed values
 * are GF_EINVAL. */
int gf_duration_parse_argo(double *ms_out, const char *text);
void gf_duration_format(char *buf, size_t len, int64_t ms);

#endif
