/* config.c -- settings defined once in a table: YAML file, command-line flags and --help */
#include "gitfleet/config.h"

#include "gitfleet/error.h"
#include "gitfleet/yaml_parse.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *field(void *settings, const struct gf_config_option *opt)
{
    return (char *)settings + opt->offset;
}

int gf_duration_parse(int64_t *ms_out, const char *text)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    const char *p = text;
    int64_t total = 0;

    if (strcmp(text, "0") == 0) {
        *ms_out = 0;
        return 0;
    }
    while (*p) {
        char *end;
        errno = 0;
        long long n = strtoll(p, &end, 10);
        if (end == p || errno != 0 || n < 0 || n > 1000000000LL)
            return gf_error_set(GF_EINVAL, "invalid duration '%s' (expected e.g. 30s, 5m, 1h30m)",
                                text);
        size_t i;
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t len = strlen(units[i].unit);
            /* "m" must not swallow the "m" of "ms". */
            if (strncmp(end, units[i].unit, len) == 0 &&
                !(len == 1 && end[0] == 'm' && end[1] == 's')) {
                total += n * units[i].ms;
                p = end + len;
                break;
            }
        }
        if (i == sizeof(units) / sizeof(units[0]))
            return gf_error_set(GF_EINVAL, "invalid duration '%s' (units are ms, s, m, h)", text);
    }
    if (p == text)
        return gf_error_set(GF_EINVAL, "empty duration");
    *ms_out = total;
    return 0;
}

/* Milliseconds per Go duration unit at `p`; *len_out 0 when none. */
static double go_unit(const char *p, size_t *len_out)
{
    static const struct {
        const char *name;
        double ms;
    } units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"\xce\xbcs", 1e-3},
                 {"ms", 1},    {"s", 1000},  {"m", 60000},        {"h", 3600000}};

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        size_t n = strlen(units[i].name);
        if (strncmp(p, units[i].name, n) == 0 && !(n == 1 && p[0] == 'm' && p[1] == 's')) {
            *len_out = n;
            return units[i].ms;
        }
    }
    *len_out = 0;
    return 0;
}

int gf_duration_parse_argo(double *ms_out, const char *text)
{
    const char *p = text && text[0] == '+' ? text + 1 : text;
    double total = 0;
    char *end;

    if (text == NULL || *p == '\0')
        return gf_error_set(GF_EINVAL, "empty duration");
    errno = 0;
    long long secs = strtoll(p, &end, 10);
    if (*end == '\0' && isdigit((unsigned char)p[0]) && errno == 0 && secs < 9000000000000LL) {
        *ms_out = (double)secs * 1000; /* Argo CD reads a bare integer as seconds */
        return 0;
    }
    if (strcmp(p, "0") == 0) {
        *ms_out = 0;
        return 0;
    }
    while (*p) {
        size_t ulen = 0;
        if (!isdigit((unsigned char)*p) && *p != '.')
            return gf_error_set(GF_EINVAL, "'%s': not a duration like 30, 5s, 3m or 1h30m", text);
        double v = strtod(p, &end);
        double unit = end > p ? go_unit(end, &ulen) : 0;
        if (end == p || ulen == 0)
            return gf_error_set(GF_EINVAL, "'%s': missing or unknown unit (h, m, s, ms, us, ns)",
                                text);
        total += v * unit;
        p = end + ulen;
    }
    if (!(total < 9e15))
        return gf_error_set(GF_EINVAL, "'%s': duration too long", text);
    *ms_out = total;
    return 0;
}

void gf_duration_format(char *buf, size_t len, int64_t ms)
{
    int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, rest = ms % 1000;
    size_t used = 0;

    buf[0] = '\0';
    if (ms == 0) {
        snprintf(buf, len, "0s");
        return;
    }
    if (h)
        used += (size_t)snprintf(buf + used, len - used, "%lldh", (long long)h);
    if (m && used < len)
        used += (size_t)snprintf(buf + used, len - used, "%lldm", (long long)m);
    if (s && used < len)
        used += (size_t)snprintf(buf + used, len - used, "%llds", (long long)s);
    if (rest && used < len)
        snprintf(buf + used, len - used, "%lldms", (long long)rest);
}

static int check_bounds(const struct gf_config_option *opt, long long v, const char *text)
{
    if ((opt->min != 0 || opt->max != 0) && (v < opt->min || v > opt->max))
        return gf_error_set(GF_EINVAL, "%s: %s is out of range [%lld, %lld]", opt->name, text,
                            opt->min, opt->max);
    return 0;
}

static int parse_bool(int *out, const char *value)
{
    if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
        *out = 1;
    else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

int gf_config_set(void *settings, const struct gf_config_option *opt, const char *value)
{
    void *dst = field(settings, opt);

    switch (opt->type) {
    case GF_CONFIG_STRING: {
        char *copy = strdup(value);
        if (copy == NULL)
            return gf_error_set(GF_ENOMEM, "out of memory");
        free(*(char **)dst);
        *(char **)dst = copy;
        return 0;
    }
    case GF_CONFIG_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (*value == '\0' || *end != '\0' || errno != 0)
            return gf_error_set(GF_EINVAL, "%s: '%s' is not an integer", opt->name, value);
        if (check_bounds(opt, v, value) < 0)
            return GF_EINVAL;
        *(long long *)dst = v;
        return 0;
    }
    case GF_CONFIG_BOOL:
        if (parse_bool((int *)dst, value) < 0)
            return gf_error_set(GF_EINVAL, "%s: '%s' is not true or false", opt->name, value);
        return 0;
    case GF_CONFIG_DURATION: {
        int64_t ms;
        if (gf_duration_parse(&ms, value) < 0)
            return gf_error_wrap(GF_EINVAL, "%s", opt->name);
        if (check_bounds(opt, ms, value) < 0)
            return GF_EINVAL;
        *(int64_t *)dst = ms;
        return 0;
    }
    }
    return gf_error_set(GF_EINVAL, "%s: unknown option type", opt->name);
}

int gf_config_defaults(void *settings, const struct gf_config_option *table, size_t n)
{
    int error;

    for (size_t i = 0; i < n; i++)
        if (table[i].default_value &&
            (error = gf_config_set(settings, &table[i], table[i].default_value)) < 0)
            return error;
    return 0;
}

static const struct gf_config_option *find_option(const struct gf_config_option *table, size_t n,
                                                  const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(table[i].name) == len && strncmp(table[i].name, name, len) == 0)
            return &table[i];
    return NULL;
}

/* The text form of a YAML scalar, as a flag would carry it. */
static int scalar_text(char *buf, size_t len, const json_t *value)
{
    if (json_is_string(value))
        snprintf(buf, len, "%s", json_string_value(value));
    else if (json_is_integer(value))
        snprintf(buf, len, "%lld", (long long)json_integer_value(value));
    else if (json_is_boolean(value))
        snprintf(buf, len, "%s", json_is_true(value) ? "true" : "false");
    else
        return -1;
    return 0;
}

int gf_config_load_file(void *settings, const struct gf_config_option *table, size_t n,
                        const char *path)
{
    json_t *doc = NULL, *value;
    const char *key;
    char text[4096];
    int error;

    if ((error = gf_yaml_parse_file(&doc, path, NULL, 0)) < 0)
        return error;
    if (json_array_size(doc) != 1 || !json_is_object(json_array_get(doc, 0))) {
        json_decref(doc);
        return gf_error_set(GF_EINVAL, "%s: expected one mapping of settings", path);
    }
    json_object_foreach(json_array_get(doc, 0), key, value)
    {
        const struct gf_config_option *opt = find_option(table, n, key, strlen(key));
        if (opt == NULL) {
            error = gf_error_set(GF_EINVAL, "%s: unknown setting '%s'", path, key);
            break;
        }
        if (scalar_text(text, sizeof(text), value) < 0) {
            error = gf_error_set(GF_EINVAL, "%s: setting '%s' needs a scalar value", path, key);
            break;
        }
        if ((error = gf_config_set(settings, opt, text)) < 0) {
            gf_error_wrap(error, "%s", path);
            break;
        }
    }
    json_decref(doc);
    return error;
}

int gf_config_parse_flags(void *settings, const struct gf_config_option *table, size_t n, int argc,
                          char **argv, int *next)
{
    int i;
    int error;

    for (i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (strncmp(arg, "--", 2) != 0)
            break;
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct gf_config_option *opt = find_option(table, n, name, len);
        if (opt == NULL)
            return gf_error_set(GF_EINVAL, "unknown flag '--%.*s'", (int)len, name);
        const char *value = eq ? eq + 1 : NULL;
        if (value == NULL && opt->type == GF_CONFIG_BOOL)
            value = "true";
        else if (value == NULL && i + 1 < argc)
            value = argv[++i];
        else if (value == NULL)
            return gf_error_set(GF_EINVAL, "flag '--%s' needs a value", opt->name);
        if ((error = gf_config_set(settings, opt, value)) < 0)
            return error;
    }
    *next = i;
    return 0;
}

void gf_config_free(void *settings, const struct gf_config_option *table, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (table[i].type == GF_CONFIG_STRING) {
            char **s = field(settings, &table[i]);
            free(*s);
            *s = NULL;
        }
}

void gf_config_usage(FILE *out, const struct gf_config_option *table, size_t n)
{
    static const char *const type_names[] = {"TEXT", "N", "", "DURATION"};

    for (size_t i = 0; i < n; i++) {
        char flag[64];
        snprintf(flag, sizeof(flag), "--%s %s", table[i].name, type_names[table[i].type]);
        fprintf(out, "  %-28s %s", flag, table[i].help);
        if (table[i].default_value && table[i].default_value[0])
            fprintf(out, " (default: %s)", table[i].default_value);
        fputc('\n', out);
    }
}

static const struct gf_config_option *config_option(const struct gf_config_option *table, size_t n)
{
    return find_option(table, n, "config", 6);
}

int gf_config_load(void *settings, const struct gf_config_option *table, size_t n, int argc,
                   char **argv)
{
    const struct gf_config_option *cfg = config_option(table, n);
    int next, error;

    if ((error = gf_config_defaults(settings, table, n)) < 0 ||
        (error = gf_config_parse_flags(settings, table, n, argc, argv, &next)) < 0)
        return error;
    if (next != argc)
        return gf_error_set(GF_EINVAL, "unexpected argument '%s'", argv[next]);
    const char *file = cfg && cfg->type == GF_CONFIG_STRING ? *(char **)field(settings, cfg) : NULL;
    if (file == NULL)
        return 0;
    char *path = strdup(file);
    if (path == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    error = gf_config_load_file(settings, table, n, path);
    free(path);
    if (error < 0)
        return error;
    return gf_config_parse_flags(settings, table, n, argc, argv, &next);
}
