/* syncopts.c -- parse Argo CD sync options into a struct */
#include "syncopts.h"
#include "gitfleet/error.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { BOOL, GATE, PROPAGATION };

/* Every option gitfleet reads: name, how its value parses, where it lands. */
static const struct option {
    const char *name;
    enum kind kind;
    size_t offset;
} options[] = {
    {"CreateNamespace", BOOL, offsetof(struct agent_syncopts, create_namespace)},
    {"ServerSideApply", BOOL, offsetof(struct agent_syncopts, server_side_apply)},
    {"Replace", BOOL, offsetof(struct agent_syncopts, replace)},
    {"Force", BOOL, offsetof(struct agent_syncopts, force)},
    {"PruneLast", BOOL, offsetof(struct agent_syncopts, prune_last)},
    {"ApplyOutOfSyncOnly", BOOL, offsetof(struct agent_syncopts, apply_out_of_sync_only)},
    {"Validate", BOOL, offsetof(struct agent_syncopts, validate)},
    {"SkipDryRunOnMissingResource", BOOL, offsetof(struct agent_syncopts, skip_dry_run_on_missing)},
    {"RespectIgnoreDifferences", BOOL, offsetof(struct agent_syncopts, respect_ignore_differences)},
    {"FailOnSharedResource", BOOL, offsetof(struct agent_syncopts, fail_on_shared_resource)},
    {"Prune", GATE, offsetof(struct agent_syncopts, prune)},
    {"Delete", GATE, offsetof(struct agent_syncopts, del)},
    {"PrunePropagationPolicy", PROPAGATION, offsetof(struct agent_syncopts, propagation)},
};

void agent_syncopts_init(struct agent_syncopts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->validate = 1;
}

void agent_syncopts_clear(struct agent_syncopts *opts)
{
    if (opts == NULL)
        return;
    free(opts->warnings);
    opts->warnings = NULL;
}

/* Note "<what> sync option "<name>"<why>" in opts->warnings. */
static int add_warning(struct agent_syncopts *opts, const char *what, const char *name,
                       const char *why)
{
    char *note = NULL, *joined = NULL;

    if (asprintf(&note, "%ssync option \"%s\"%s", what, name, why) < 0)
        return gf_error_set(GF_ENOMEM, "out of memory");
    if (opts->warnings == NULL) {
        opts->warnings = note;
        return 0;
    }
    if (asprintf(&joined, "%s; %s", opts->warnings, note) < 0) {
        free(note);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    free(note);
    free(opts->warnings);
    opts->warnings = joined;
    return 0;
}

static int set_value(struct agent_syncopts *opts, const struct option *o, const char *value)
{
    char *field = (char *)opts + o->offset;

    switch (o->kind) {
    case BOOL:
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
            break;
        *(int *)field = strcmp(value, "true") == 0;
        return 0;
    case GATE:
        if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0 ||
            strcmp(value, "confirm") == 0) {
            *(enum agent_syncopts_gate *)field = value[0] == 't'   ? AGENT_SYNCOPTS_YES
                                                 : value[0] == 'f' ? AGENT_SYNCOPTS_NO
                                                                   : AGENT_SYNCOPTS_CONFIRM;
            return 0;
        }
        break;
    case PROPAGATION:
        if (strcmp(value, "foreground") == 0 || strcmp(value, "background") == 0 ||
            strcmp(value, "orphan") == 0) {
            *(enum agent_syncopts_propagation *)field = value[0] == 'f' ? AGENT_SYNCOPTS_FOREGROUND
                                                        : value[0] == 'b'
                                                            ? AGENT_SYNCOPTS_BACKGROUND
                                                            : AGENT_SYNCOPTS_ORPHAN;
            return 0;
        }
        break;
    }
    return gf_error_set(GF_EINVAL, "sync option %s=%s: unsupported value", o->name, value);
}

/* One "Name=value" item, `len` bytes at `text`, surrounding space trimmed. */
static int parse_one(struct agent_syncopts *opts, const char *text, size_t len)
{
    char item[256], *eq, *name, *value, *end;

    if (len >= sizeof(item))
        return gf_error_set(GF_EINVAL, "sync option too long (%zu bytes)", len);
    memcpy(item, text, len);
    item[len] = '\0';
    for (name = item; isspace((unsigned char)*name); name++)
        ;
    end = name + strlen(name);
    while (end > name && isspace((unsigned char)end[-1]))
        *--end = '\0';
    if (*name == '\0')
        return 0;
    eq = strchr(name, '=');
    if (eq == NULL)
        return add_warning(opts, "", name, " has no value: ignored");
    *eq = '\0';
    value = eq + 1;
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        if (strcmp(options[i].name, name) == 0)
            return set_value(opts, &options[i], value);
    return add_warning(opts, "unknown ", name, ": ignored");
}

int agent_syncopts_parse(struct agent_syncopts *opts, const json_t *list)
{
    size_t i;
    json_t *item;

    if (list == NULL || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return gf_error_set(GF_EINVAL, "syncOptions: expected a list of strings");
    json_array_foreach(list, i, item)
    {
        if (!json_is_string(item))
            return gf_error_set(GF_EINVAL, "syncOptions[%zu]: expected a string", i);
        if (parse_one(opts, json_string_value(item), json_string_length(item)) < 0)
            return gf_error_wrap(GF_EINVAL, "syncOptions[%zu]", i);
    }
    return 0;
}

int agent_syncopts_parse_annotation(struct agent_syncopts *opts, const char *value)
{
    const char *p = value;

    while (p != NULL && *p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int error = parse_one(opts, p, len);
        if (error < 0)
            return gf_error_wrap(error, "annotation %s", AGENT_SYNCOPTS_ANNOTATION);
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

int agent_syncopts_for_object(struct agent_syncopts *out, const struct agent_syncopts *app,
                              const json_t *obj)
{
    const json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
    const json_t *value = json_object_get(ann, AGENT_SYNCOPTS_ANNOTATION);

    *out = *app;
    out->warnings = NULL;
    if (!json_is_string(value))
        return 0;
    return agent_syncopts_parse_annotation(out, json_string_value(value));
}
