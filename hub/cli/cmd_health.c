/* cmd_health.c -- gitfleet health: Argo CD's health of objects in a YAML/JSON file */
#include "cli.h"

#include "gitfleet/error.h"
#include "gitfleet/healthscripts.h"
#include "gitfleet/yaml_emit.h"
#include "gitfleet/yaml_parse.h"
#include "health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STDIN_MAX ((size_t)64 << 20)

enum format { FORMAT_TABLE, FORMAT_JSON, FORMAT_YAML };

struct options {
    const char *file;
    const char *customizations; /* Argo CD resource_customizations layout */
    enum format format;
};

static int parse_args(struct options *o, int argc, char **argv)
{
    o->file = NULL;
    o->customizations = NULL;
    o->format = FORMAT_TABLE;
    for (int i = 1; i < argc; i++) {
        const char *fmt = NULL;
        if ((strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--filename") == 0) && i + 1 < argc)
            o->file = argv[++i];
        else if (strncmp(argv[i], "--filename=", 11) == 0)
            o->file = argv[i] + 11;
        else if (strcmp(argv[i], "--customizations") == 0 && i + 1 < argc)
            o->customizations = argv[++i];
        else if (strncmp(argv[i], "--customizations=", 17) == 0)
            o->customizations = argv[i] + 17;
        else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            fmt = argv[++i];
        else if (strncmp(argv[i], "--output=", 9) == 0)
            fmt = argv[i] + 9;
        else
            return gf_cli_error(GF_CLI_USAGE, "health: unexpected argument '%s'", argv[i]);
        if (fmt != NULL && strcmp(fmt, "json") == 0)
            o->format = FORMAT_JSON;
        else if (fmt != NULL && strcmp(fmt, "yaml") == 0)
            o->format = FORMAT_YAML;
        else if (fmt != NULL && strcmp(fmt, "table") != 0)
            return gf_cli_error(GF_CLI_USAGE,
                                "health: unknown output format '%s' (table, json, "
                                "yaml)",
                                fmt);
    }
    if (o->file == NULL)
        return gf_cli_error(GF_CLI_USAGE, "health: -f FILE is required ('-' reads stdin)");
    return 0;
}

/* All documents of the file ("-": stdin) as a JSON array. A repeated key
 * keeps its last value, as Argo CD's tests read objects (sigs.k8s.io/yaml,
 * go-yaml v2 non-strict); kubectl apply refuses such a file, and gitfleet's
 * render does too: this command only reads. */
static int load(json_t **out, const char *file)
{
    char *data = NULL;
    size_t len = 0, n;
    int error;

    if (strcmp(file, "-") != 0)
        return gf_yaml_parse_file(out, file, NULL, GF_YAML_LAST_KEY_WINS);
    if ((data = malloc(STDIN_MAX + 1)) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    while (len <= STDIN_MAX && (n = fread(data + len, 1, STDIN_MAX + 1 - len, stdin)) > 0)
        len += n;
    if (ferror(stdin))
        error = gf_error_set(GF_EIO, "reading stdin failed");
    else if (len > STDIN_MAX)
        error = gf_error_set(GF_ETOOBIG, "stdin: more than %zu bytes", STDIN_MAX);
    else
        error = gf_yaml_parse(out, data, len, "<stdin>", NULL, GF_YAML_LAST_KEY_WINS);
    free(data);
    return error;
}

static const char *str_at(const json_t *obj, const char *key, const char *sub)
{
    const json_t *v = json_object_get(obj, key);

    if (sub != NULL)
        v = json_object_get(v, sub);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* One result row: the object's identity, its status (null for no result)
 * and message. */
static int assess_one(json_t *rows, const json_t *obj, enum agent_health_status *worst)
{
    struct agent_health h = {0};
    int error = agent_health_assess(&h, obj);

    if (error < 0)
        return error;
    *worst = agent_health_worst(*worst, h.status);
    error = json_array_append_new(
        rows,
        json_pack("{s:s, s:s, s:s, s:s, s:o, s:s}", "apiVersion", str_at(obj, "apiVersion", NULL),
                  "kind", str_at(obj, "kind", NULL), "namespace",
                  str_at(obj, "metadata", "namespace"), "name", str_at(obj, "metadata", "name"),
                  "status",
                  h.status == AGENT_HEALTH_NONE ? json_null()
                                                : json_string(agent_health_status_name(h.status)),
                  "message", h.message));
    agent_health_clear(&h);
    return error < 0 ? gf_error_set(GF_ENOMEM, "out of memory") : 0;
}

/* Assess every document; a `kind: ...List` with items (kubectl get -o yaml)
 * stands for its items. */
static int assess_all(json_t *rows, const json_t *docs, enum agent_health_status *worst)
{
    const json_t *doc, *item;
    size_t i, k;
    int error = 0;

    json_array_foreach(docs, i, doc)
    {
        const char *kind = str_at(doc, "kind", NULL);
        const json_t *items = json_object_get(doc, "items");
        size_t n = strlen(kind);
        if (n >= 4 && strcmp(kind + n - 4, "List") == 0 && json_is_array(items)) {
            json_array_foreach(items, k, item)
            {
                if ((error = assess_one(rows, item, worst)) < 0)
                    return gf_error_wrap(error, "document %zu, item %zu", i + 1, k + 1);
            }
        } else if (!json_is_null(doc) && (error = assess_one(rows, doc, worst)) < 0) {
            return gf_error_wrap(error, "document %zu", i + 1);
        }
    }
    return 0;
}

/* A cell for the table: "-" for empty, control characters made visible so
 * that one object stays one line. */
static char *cell(const char *s)
{
    char *out = malloc(strlen(s) * 2 + 2), *p = out;

    if (out == NULL)
        return NULL;
    if (*s == '\0')
        *p++ = '-';
    for (; *s != '\0'; s++) {
        if (*s == '\n' || *s == '\t' || *s == '\r') {
            *p++ = '\\';
            *p++ = *s == '\n' ? 'n' : *s == '\t' ? 't' : 'r';
        } else {
            *p++ = *s;
        }
    }
    *p = '\0';
    return out;
}

static const char *const columns[] = {"KIND", "NAMESPACE", "NAME", "STATUS", "MESSAGE"};
static const char *const keys[] = {"kind", "namespace", "name", "status", "message"};

static void print_table(const json_t *rows)
{
    int width[5];
    const json_t *row;
    size_t i;

    for (int c = 0; c < 5; c++)
        width[c] = (int)strlen(columns[c]);
    json_array_foreach(rows, i, row)
    {
        for (int c = 0; c < 4; c++) {
            const char *s = json_string_value(json_object_get(row, keys[c]));
            if (s != NULL && (int)strlen(s) > width[c])
                width[c] = (int)strlen(s);
        }
    }
    printf("%-*s  %-*s  %-*s  %-*s  %s\n", width[0], columns[0], width[1], columns[1], width[2],
           columns[2], width[3], columns[3], columns[4]);
    json_array_foreach(rows, i, row)
    {
        char *v[5];
        for (int c = 0; c < 5; c++) {
            const char *s = json_string_value(json_object_get(row, keys[c]));
            v[c] = cell(s ? s : "");
        }
        printf("%-*s  %-*s  %-*s  %-*s  %s\n", width[0], v[0] ? v[0] : "", width[1],
               v[1] ? v[1] : "", width[2], v[2] ? v[2] : "", width[3], v[3] ? v[3] : "",
               v[4] ? v[4] : "");
        for (int c = 0; c < 5; c++)
            free(v[c]);
    }
}

static int print_result(const json_t *rows, enum agent_health_status worst, enum format format)
{
    json_t *result;
    char *text = NULL;
    int error = 0;

    if (format == FORMAT_TABLE) {
        print_table(rows);
        return 0;
    }
    result = json_pack("{s:O, s:o}", "resources", rows, "health",
                       worst == AGENT_HEALTH_NONE ? json_null()
                                                  : json_string(agent_health_status_name(worst)));
    if (format == FORMAT_YAML)
        error = gf_yaml_emit(&text, NULL, result);
    else if ((text = json_dumps(result, JSON_INDENT(2))) == NULL)
        error = gf_error_set(GF_ENOMEM, "out of memory");
    if (error == 0)
        printf("%s%s", text, format == FORMAT_JSON ? "\n" : "");
    free(text);
    json_decref(result);
    return error;
}

/* Lua scripts from DIR, resolved per kind as Argo CD resolves its built-in
 * resource_customizations (the agent gets the same scripts from the hub). */
static int use_customizations(const char *dir)
{
    gf_healthscripts *set = NULL;
    int error;

    if (dir == NULL)
        return 0;
    if ((error = gf_healthscripts_new(&set)) < 0)
        return error;
    if ((error = gf_healthscripts_load_dir(set, dir)) < 0) {
        gf_healthscripts_free(set);
        return error;
    }
    return agent_health_scripts_install(set);
}

static int run_health(int argc, char **argv)
{
    struct options o;
    enum agent_health_status worst = AGENT_HEALTH_NONE;
    json_t *docs = NULL, *rows = json_array();
    int error;

    if (parse_args(&o, argc, argv) != 0) {
        json_decref(rows);
        return gf_cli_usage(&gf_cmd_health);
    }
    if ((error = use_customizations(o.customizations)) == 0 && (error = load(&docs, o.file)) == 0 &&
        (error = assess_all(rows, docs, &worst)) < 0)
        gf_error_wrap(error, "%s", strcmp(o.file, "-") == 0 ? "<stdin>" : o.file);
    if (error == 0)
        error = print_result(rows, worst, o.format);
    json_decref(docs);
    json_decref(rows);
    agent_health_scripts_install(NULL);
    if (error < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    return GF_CLI_OK;
}

const struct gf_cli_command gf_cmd_health = {
    .name = "health",
    .usage = "health -f FILE [--customizations DIR] [-o FORMAT]",
    .summary = "Argo CD health of the objects in FILE ('-': stdin), with the Lua health scripts of "
               "DIR (resource_customizations/<group>/<kind>/health.lua); -o json|yaml for scripts",
    .run = run_health,
};
