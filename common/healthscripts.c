/* healthscripts.c -- Lua health scripts from argocd-cm and resource_customizations dirs, by kind */
#include "gitfleet/healthscripts.h"
#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/yaml_parse.h"

#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CUSTOMIZATIONS "resource.customizations"
#define MAX_SCRIPT     ((size_t)1 << 20)

struct gf_healthscripts {
    struct gf_healthscript *items;
    size_t n, cap;
};

int gf_healthscripts_new(gf_healthscripts **out)
{
    if ((*out = calloc(1, sizeof(**out))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    return 0;
}

static void item_clear(struct gf_healthscript *s)
{
    free(s->key);
    free(s->lua);
    free(s->source);
}

void gf_healthscripts_free(gf_healthscripts *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++)
        item_clear(&set->items[i]);
    free(set->items);
    free(set);
}

static struct gf_healthscript *find(gf_healthscripts *set, enum gf_healthscript_origin origin,
                                    const char *key)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->items[i].origin == origin && strcmp(set->items[i].key, key) == 0)
            return &set->items[i];
    return NULL;
}

/* The entry for (origin, key), created empty when absent. */
static int entry(struct gf_healthscript **out, gf_healthscripts *set,
                 enum gf_healthscript_origin origin, const char *key)
{
    if ((*out = find(set, origin, key)) != NULL)
        return 0;
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        struct gf_healthscript *items = realloc(set->items, cap * sizeof(*items));
        if (items == NULL)
            return gf_error_set(GF_ENOMEM, "out of memory");
        set->items = items;
        set->cap = cap;
    }
    *out = &set->items[set->n];
    memset(*out, 0, sizeof(**out));
    (*out)->origin = origin;
    if (((*out)->key = strdup(key)) == NULL || ((*out)->lua = strdup("")) == NULL ||
        ((*out)->source = strdup("")) == NULL) {
        item_clear(*out);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    set->n++;
    return 0;
}

static int set_text(char **field, const char *text, size_t len)
{
    char *copy = malloc(len + 1);

    if (copy == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    memcpy(copy, text, len);
    copy[len] = '\0';
    free(*field);
    *field = copy;
    return 0;
}

static int set_lua(struct gf_healthscript *s, const char *lua, size_t len, const char *source)
{
    int error;

    if ((error = set_text(&s->lua, lua, len)) < 0 ||
        (error = set_text(&s->source, source, strlen(source))) < 0)
        return error;
    s->lua_len = len;
    return 0;
}

int gf_healthscripts_add(gf_healthscripts *set, enum gf_healthscript_origin origin, const char *key,
                         const char *lua, size_t len, int use_open_libs, const char *source)
{
    struct gf_healthscript *s;
    int error;

    if ((error = entry(&s, set, origin, key)) < 0)
        return error;
    s->use_open_libs = use_open_libs != 0;
    return set_lua(s, lua, len, source ? source : "");
}

/* --- argocd-cm ------------------------------------------------------------ */

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, yes[i]) == 0)
            return 1;
        if (strcmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

/* "group_Kind" -> "group/Kind", "Kind" -> "Kind", "all" -> every kind. */
static int override_key(char *out, size_t size, const char *group_kind)
{
    const char *us = strchr(group_kind, '_');

    if (*group_kind == '\0' || (us != NULL && strchr(us + 1, '_') != NULL))
        return gf_error_set(GF_EINVAL,
                            "group kind should be in format "
                            "`resource.customizations.<type>.<group_kind>` or "
                            "`resource.customizations.<type>.<kind>`, got group kind: '%s'",
                            group_kind);
    if (strcmp(group_kind, "all") == 0)
        snprintf(out, size, "*/*");
    else if (us == NULL)
        snprintf(out, size, "%s", group_kind);
    else
        snprintf(out, size, "%.*s/%s", (int)(us - group_kind), group_kind, us + 1);
    return 0;
}

/* The old single-key form: a YAML map of "group/kind" to overrides. */
static int add_block(gf_healthscripts *set, const char *yaml, const char *source)
{
    json_t *doc = NULL, *ov;
    const char *key;
    char where[1024];
    int error;

    snprintf(where, sizeof(where), "%s: %s", source, CUSTOMIZATIONS);
    if ((error = gf_yaml_parse_one(&doc, yaml, strlen(yaml), where, NULL)) < 0)
        return error;
    if (!json_is_object(doc) && !json_is_null(doc)) {
        json_decref(doc);
        return gf_error_set(GF_EINVAL, "%s: expected a map of group/kind to overrides", where);
    }
    json_object_foreach(doc, key, ov)
    {
        const json_t *lua = json_object_get(ov, "health.lua");
        const json_t *open = json_object_get(ov, "health.lua.useOpenLibs");
        struct gf_healthscript *s;
        if ((lua && !json_is_string(lua)) || (open && !json_is_boolean(open))) {
            error = gf_error_set(GF_EINVAL,
                                 "%s: %s: health.lua must be a string and "
                                 "health.lua.useOpenLibs a boolean",
                                 where, key);
            break;
        }
        if (lua == NULL && open == NULL)
            continue;
        if ((error = entry(&s, set, GF_HEALTHSCRIPT_CONFIGMAP, key)) < 0 ||
            (lua &&
             (error = set_lua(s, json_string_value(lua), json_string_length(lua), where)) < 0))
            break;
        s->use_open_libs = json_is_true(open);
    }
    json_decref(doc);
    return error;
}

static int add_split_key(gf_healthscripts *set, const char *k, const char *v, const char *source)
{
    static const char *const other[] = {"actions", "ignoreDifferences", "ignoreResourceUpdates",
                                        "knownTypeFields"};
    const char *type = k + strlen(CUSTOMIZATIONS) + 1, *dot = strchr(type, '.');
    char key[512], where[1024], type_name[64];
    struct gf_healthscript *s;
    int error, b;

    if (dot == NULL)
        return 0; /* fewer than four parts: Argo CD skips it */
    snprintf(type_name, sizeof(type_name), "%.*s", (int)(dot - type), type);
    if ((error = override_key(key, sizeof(key), dot + 1)) < 0)
        return gf_error_wrap(error, "%s: %s", source, k);
    snprintf(where, sizeof(where), "%s: %s", source, k);
    if (strcmp(type_name, "health") == 0) {
        if ((error = entry(&s, set, GF_HEALTHSCRIPT_CONFIGMAP, key)) < 0)
            return error;
        return set_lua(s, v, strlen(v), where);
    }
    if (strcmp(type_name, "useOpenLibs") == 0) {
        if ((b = parse_bool(v)) < 0)
            return gf_error_set(GF_EINVAL, "%s: strconv.ParseBool: parsing \"%s\": invalid syntax",
                                where, v);
        if ((error = entry(&s, set, GF_HEALTHSCRIPT_CONFIGMAP, key)) < 0)
            return error;
        s->use_open_libs = b;
        return 0;
    }
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        if (strcmp(type_name, other[i]) == 0)
            return 0;
    return gf_error_set(GF_EINVAL, "%s: resource customization type %s not supported", where,
                        type_name);
}

int gf_healthscripts_add_configmap(gf_healthscripts *set, const json_t *configmap,
                                   const char *source)
{
    const json_t *data = json_object_get(configmap, "data"), *v;
    const char *k;
    int error = 0;

    if (data == NULL || json_is_null(data))
        return 0;
    if (!json_is_object(data))
        return gf_error_set(GF_EINVAL, "%s: data: expected a map of strings", source);
    v = json_object_get(data, CUSTOMIZATIONS);
    if (json_is_string(v) && json_string_length(v) > 0 &&
        (error = add_block(set, json_string_value(v), source)) < 0)
        return error;
    json_object_foreach((json_t *)data, k, v)
    {
        if (strncmp(k, CUSTOMIZATIONS ".", strlen(CUSTOMIZATIONS) + 1) != 0)
            continue;
        if (!json_is_string(v))
            return gf_error_set(GF_EINVAL, "%s: data.%s: expected a string", source, k);
        if ((error = add_split_key(set, k, json_string_value(v), source)) < 0)
            return error;
    }
    return 0;
}

/* --- resource_customizations directory ------------------------------------- */

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* `dir/rel/health.lua`, when it is a file, under key `rel`. */
static int add_file(gf_healthscripts *set, const char *dir, const char *rel)
{
    char path[4096];
    char *text = NULL;
    size_t len;
    struct stat st;
    int error;

    snprintf(path, sizeof(path), "%s/%s/health.lua", dir, rel);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    if ((error = gf_fs_read(&text, &len, path, MAX_SCRIPT)) < 0)
        return gf_error_wrap(error, "%s", path);
    error = gf_healthscripts_add(set, GF_HEALTHSCRIPT_DIRECTORY, rel, text, len, 1, path);
    free(text);
    return error;
}

static int load_group(gf_healthscripts *set, const char *dir, const char *group)
{
    char path[4096], rel[1024];
    struct dirent *e;
    DIR *d;
    int error = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, group);
    if ((d = opendir(path)) == NULL)
        return 0;
    while (error == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(rel, sizeof(rel), "%s/%s", group, e->d_name);
        error = add_file(set, dir, rel);
    }
    closedir(d);
    return error;
}

int gf_healthscripts_load_dir(gf_healthscripts *set, const char *dir)
{
    struct dirent *e;
    DIR *d;
    int error = 0;

    if (!is_dir(dir) || (d = opendir(dir)) == NULL)
        return gf_error_set(GF_ENOTFOUND, "%s: not a directory of health customizations", dir);
    while (error == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if ((error = add_file(set, dir, e->d_name)) == 0)
            error = load_group(set, dir, e->d_name);
    }
    closedir(d);
    return error;
}

/* --- resolving ------------------------------------------------------------- */

static int has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* A directory key as a pattern: '_' (and '*') match within one segment. */
static int dir_match(const char *key, const char *gk)
{
    char pattern[1024];
    size_t i;

    for (i = 0; key[i] != '\0' && i + 1 < sizeof(pattern); i++)
        pattern[i] = key[i] == '_' ? '*' : key[i];
    pattern[i] = '\0';
    return fnmatch(pattern, gk, FNM_PATHNAME) == 0;
}

/* The smallest key of `origin` that matches; exact: only equal keys. */
static const struct gf_healthscript *
best(const gf_healthscripts *set, enum gf_healthscript_origin origin, const char *gk, int exact)
{
    const struct gf_healthscript *found = NULL;

    for (size_t i = 0; i < set->n; i++) {
        const struct gf_healthscript *s = &set->items[i];
        int match;
        if (s->origin != origin || s->lua_len == 0)
            continue;
        if (exact)
            match = strcmp(s->key, gk) == 0;
        else if (origin == GF_HEALTHSCRIPT_CONFIGMAP)
            match = has_glob(s->key) && fnmatch(s->key, gk, 0) == 0;
        else
            match = strpbrk(s->key, "_*") != NULL && dir_match(s->key, gk);
        if (match && (found == NULL || strcmp(s->key, found->key) < 0))
            found = s;
    }
    return found;
}

const struct gf_healthscript *gf_healthscripts_resolve(const gf_healthscripts *set,
                                                       const char *group, const char *kind)
{
    const struct gf_healthscript *s;
    char gk[1024];

    if (set == NULL)
        return NULL;
    if (group == NULL || *group == '\0')
        snprintf(gk, sizeof(gk), "%s", kind);
    else
        snprintf(gk, sizeof(gk), "%s/%s", group, kind);
    if ((s = best(set, GF_HEALTHSCRIPT_CONFIGMAP, gk, 1)) != NULL ||
        (s = best(set, GF_HEALTHSCRIPT_CONFIGMAP, gk, 0)) != NULL ||
        (s = best(set, GF_HEALTHSCRIPT_DIRECTORY, gk, 1)) != NULL)
        return s;
    return best(set, GF_HEALTHSCRIPT_DIRECTORY, gk, 0);
}

size_t gf_healthscripts_count(const gf_healthscripts *set)
{
    return set ? set->n : 0;
}

const struct gf_healthscript *gf_healthscripts_at(const gf_healthscripts *set, size_t i)
{
    return set && i < set->n ? &set->items[i] : NULL;
}
