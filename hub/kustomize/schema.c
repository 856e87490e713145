/* schema.c -- the kustomization file's shape, checked as strictly as kubectl decodes it */
#include "internal.h"

#include "gitfleet/error.h"
#include "gitfleet/yaml_parse.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/*
 * Types: string, int, bool, any; [T] a list of T; {map: T} a map of T;
 * any other map a struct whose fields are the only ones allowed; $name a
 * definition below. kubectl decodes kustomization.yaml into Go structs with
 * unknown fields refused and no conversion (a number is not a string).
 */
static const char schema_text[] =
    "defs:\n"
    "  selector: {group: string, version: string, kind: string, name: string, namespace: string,"
    " labelSelector: string, annotationSelector: string}\n"
    "  fieldspec: {group: string, version: string, kind: string, path: string, create: bool}\n"
    "  genopts: {labels: {map: string}, annotations: {map: string}, disableNameSuffixHash: bool,"
    " immutable: bool}\n"
    "  fieldopts: {delimiter: string, index: int, encoding: string, create: bool}\n"
    "  generator: {name: string, namespace: string, behavior: string, literals: [string],"
    " files: [string], envs: [string], env: string, options: $genopts, type: string,"
    " kvSources: any}\n"
    "  replacement: {path: string, source: {group: string, version: string, kind: string,"
    " name: string, namespace: string, fieldPath: string, options: $fieldopts},"
    " targets: [{select: $selector, reject: [$selector], fieldPaths: [string],"
    " options: $fieldopts}]}\n"
    "root:\n"
    "  apiVersion: string\n"
    "  kind: string\n"
    "  metadata: any\n"
    "  openapi: {map: string}\n"
    "  namePrefix: string\n"
    "  nameSuffix: string\n"
    "  namespace: string\n"
    "  commonLabels: {map: string}\n"
    "  labels: [{pairs: {map: string}, includeSelectors: bool, includeTemplates: bool,"
    " fields: [$fieldspec]}]\n"
    "  commonAnnotations: {map: string}\n"
    "  patchesStrategicMerge: [string]\n"
    "  patchesJson6902: [{target: $selector, path: string, patch: string}]\n"
    "  patches: [{path: string, patch: string, target: $selector, options: {map: bool}}]\n"
    "  images: [{name: string, newName: string, newTag: string, digest: string,"
    " tagSuffix: string}]\n"
    "  replacements: [$replacement]\n"
    "  replicas: [{name: string, count: int}]\n"
    "  vars: [{name: string, objref: {group: string, version: string, kind: string,"
    " name: string, namespace: string, apiVersion: string}, fieldref: {fieldpath: string}}]\n"
    "  sortOptions: {order: string, legacySortOptions: {orderFirst: [string],"
    " orderLast: [string]}}\n"
    "  resources: [string]\n"
    "  bases: [string]\n"
    "  components: [string]\n"
    "  crds: [string]\n"
    "  configMapGenerator: [$generator]\n"
    "  secretGenerator: [$generator]\n"
    "  helmGlobals: any\n"
    "  helmCharts: any\n"
    "  helmChartInflationGenerator: any\n"
    "  generatorOptions: $genopts\n"
    "  configurations: [string]\n"
    "  generators: [string]\n"
    "  transformers: [string]\n"
    "  validators: [string]\n"
    "  buildMetadata: [string]\n";

static json_t *schema;
static pthread_once_t schema_once = PTHREAD_ONCE_INIT;

static void schema_init(void)
{
    if (gf_yaml_parse_one(&schema, schema_text, strlen(schema_text), "schema", NULL) < 0)
        schema = NULL;
}

static const char *kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "a map";
    case JSON_ARRAY:
        return "a list";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static int mismatch(const char *file, const char *path, const char *want, const json_t *v)
{
    return gf_error_set(GF_EINVAL, "%s: invalid Kustomization: field '%s': expected %s, got %s",
                        file, path, want, kind_of(v));
}

static int check(json_t *v, const json_t *type, const char *path, const char *file, int depth);

/* The struct field a key names: Go's JSON decoder takes the exact name,
 * else any name equal without case (so kubectl reads `nameprefix` and
 * `NAMEPREFIX` as namePrefix). NULL when none. */
static const char *field_name(const json_t *type, const char *key)
{
    const char *name;
    json_t *ft;

    if (json_object_get(type, key) != NULL)
        return key;
    json_object_foreach((json_t *)type, name, ft)
    {
        if (strcasecmp(name, key) == 0)
            return name;
    }
    return NULL;
}

/* Rename keys spelt in another case to their field's name, in place; a
 * later spelling of one field replaces an earlier one, as in Go. */
static int canonical_keys(json_t *v, const json_t *type)
{
    const char *key, *name;
    json_t *fv, *renamed = NULL;
    int error = 0;

    json_object_foreach(v, key, fv)
    {
        if ((name = field_name(type, key)) == NULL || strcmp(name, key) == 0)
            continue;
        if (renamed == NULL && (renamed = json_object()) == NULL)
            return gf_error_set(GF_ENOMEM, "out of memory");
        json_object_set_new(renamed, key, json_string(name));
    }
    json_object_foreach(renamed, key, fv)
    {
        json_t *value = json_incref(json_object_get(v, key));
        json_object_del(v, key);
        if (json_object_set_new(v, json_string_value(fv), value) < 0)
            error = gf_error_set(GF_ENOMEM, "out of memory");
    }
    json_decref(renamed);
    return error;
}

static int check_struct(json_t *v, const json_t *type, const char *path, const char *file,
                        int depth)
{
    const char *key;
    json_t *fv;
    char sub[512];
    int error;

    if (!json_is_object(v))
        return mismatch(file, path, "a map", v);
    if ((error = canonical_keys(v, type)) < 0)
        return error;
    json_object_foreach(v, key, fv)
    {
        const json_t *ft = json_object_get(type, key);
        snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", key);
        if (ft == NULL)
            return gf_error_set(GF_EINVAL, "%s: invalid Kustomization: json: unknown field \"%s\"",
                                file, sub);
        if ((error = check(fv, ft, sub, file, depth + 1)) < 0)
            return error;
    }
    return 0;
}

static int check(json_t *v, const json_t *type, const char *path, const char *file, int depth)
{
    const char *t = json_string_value(type);
    char sub[512];
    size_t i;
    json_t *e;
    int error;

    if (json_is_null(v) || depth > 16)
        return 0; /* null decodes into anything */
    if (t != NULL && t[0] == '$')
        return check(v, json_object_get(json_object_get(schema, "defs"), t + 1), path, file,
                     depth + 1);
    if (t != NULL) {
        if (strcmp(t, "any") == 0 || (strcmp(t, "string") == 0 && json_is_string(v)) ||
            (strcmp(t, "int") == 0 && json_is_integer(v)) ||
            (strcmp(t, "bool") == 0 && json_is_boolean(v)))
            return 0;
        return mismatch(file, path, strcmp(t, "int") == 0 ? "an integer" : t, v);
    }
    if (json_is_array(type)) {
        if (!json_is_array(v))
            return mismatch(file, path, "a list", v);
        json_array_foreach(v, i, e)
        {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if ((error = check(e, json_array_get(type, 0), sub, file, depth + 1)) < 0)
                return error;
        }
        return 0;
    }
    const json_t *map = json_object_get(type, "map");
    if (map != NULL && json_object_size(type) == 1) {
        const char *key;
        if (!json_is_object(v))
            return mismatch(file, path, "a map", v);
        json_object_foreach(v, key, e)
        {
            snprintf(sub, sizeof(sub), "%s.%s", path, key);
            if ((error = check(e, map, sub, file, depth + 1)) < 0)
                return error;
        }
        return 0;
    }
    return check_struct(v, type, path, file, depth);
}

/* kustomize rewrites the text `imageTags:` to `images:` before decoding
 * (FixKustomizationPreUnmarshalling); with both, the later one wins. */
static void legacy_image_tags(json_t *kust)
{
    json_t *tags = json_object_get(kust, "imageTags");
    const char *key;
    json_t *v;
    int images_last = 0;

    if (tags == NULL)
        return;
    json_object_foreach(kust, key, v)
    {
        if (strcmp(key, "images") == 0)
            images_last = 1;
        else if (strcmp(key, "imageTags") == 0)
            images_last = 0;
    }
    if (!images_last)
        json_object_set(kust, "images", tags);
    json_object_del(kust, "imageTags");
}

int kz_schema_check(json_t *kust, const char *file)
{
    pthread_once(&schema_once, schema_init);
    legacy_image_tags(kust);
    if (schema == NULL)
        return gf_error_set(GF_ERROR, "kustomize: the kustomization schema does not parse");
    return check(kust, json_object_get(schema, "root"), "", file, 0);
}
