/* plugins.c -- builtin plugin configurations in the transformers: and generators: fields */
#include "internal.h"

#include "gitfleet/error.h"
#include "gitfleet/yaml_parse.h"

#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int parse_specs(struct kz_fslist *l, const json_t *cfg)
{
    return kz_fslist_parse(l, json_object_get(cfg, "fieldSpecs"), str(cfg, "kind"));
}

static int run_namespace(const json_t *cfg, struct kz_resmap *m)
{
    struct kz_fslist l = {0};
    const char *ns = str(json_object_get(cfg, "metadata"), "namespace");
    const char *mode = str(cfg, "setRoleBindingSubjects");
    int subjects = KZ_SUBJECTS_DEFAULT_ONLY, error;

    if (mode != NULL && strcmp(mode, "allServiceAccounts") == 0)
        subjects = KZ_SUBJECTS_ALL_SERVICE_ACCOUNTS;
    else if (mode != NULL && strcmp(mode, "none") == 0)
        subjects = KZ_SUBJECTS_NONE;
    if ((error = parse_specs(&l, cfg)) == 0)
        error = kz_transform_namespace(m, ns ? ns : "", &l,
                                       json_is_true(json_object_get(cfg, "unsetOnly")), subjects);
    kz_fslist_free(&l);
    return error;
}

static int run_specs_transformer(const json_t *cfg, struct kz_resmap *m)
{
    const char *kind = str(cfg, "kind");
    struct kz_fslist l = {0};
    int error;

    if ((error = parse_specs(&l, cfg)) < 0)
        goto out;
    if (strcmp(kind, "PrefixSuffixTransformer") == 0) {
        if ((error = kz_transform_affix(m, str(cfg, "prefix"), 1, &l)) == 0)
            error = kz_transform_affix(m, str(cfg, "suffix"), 0, &l);
    } else if (strcmp(kind, "PrefixTransformer") == 0) {
        error = kz_transform_affix(m, str(cfg, "prefix"), 1, &l);
    } else if (strcmp(kind, "SuffixTransformer") == 0) {
        error = kz_transform_affix(m, str(cfg, "suffix"), 0, &l);
    } else if (strcmp(kind, "LabelTransformer") == 0) {
        error = kz_transform_labels(m, json_object_get(cfg, "labels"), &l);
    } else if (strcmp(kind, "AnnotationsTransformer") == 0) {
        error = kz_transform_labels(m, json_object_get(cfg, "annotations"), &l);
    } else if (strcmp(kind, "ImageTagTransformer") == 0 ||
               strcmp(kind, "ReplicaCountTransformer") == 0) {
        const char *field = kind[0] == 'I' ? "imageTag" : "replica";
        json_t *one = json_object_get(cfg, field);
        if (!json_is_object(one)) {
            error = gf_error_set(GF_EINVAL, "%s: '%s' is required", kind, field);
            goto out;
        }
        json_t *list = json_pack("[O]", one);
        error =
            kind[0] == 'I' ? kz_transform_images(m, list, &l) : kz_transform_replicas(m, list, &l);
        json_decref(list);
    }
out:
    kz_fslist_free(&l);
    return error;
}

/* Patch transformers become the equivalent kustomization fields. */
static int run_patch(struct kz_build *b, const char *kdir, const json_t *cfg, struct kz_resmap *m)
{
    const char *kind = str(cfg, "kind");
    json_t *k = json_object(), *e = json_object();
    int error;

    if (strcmp(kind, "PatchTransformer") == 0) {
        const char *keys[] = {"path", "patch", "target", "options"};
        for (size_t i = 0; i < 4; i++)
            if (json_object_get(cfg, keys[i]) != NULL)
                json_object_set(e, keys[i], json_object_get(cfg, keys[i]));
        json_object_set_new(k, "patches", json_pack("[O]", e));
        error = kz_patches_apply(b, kdir, k, m);
    } else if (strcmp(kind, "PatchJson6902Transformer") == 0) {
        json_object_set(e, "target", json_object_get(cfg, "target"));
        if (json_object_get(cfg, "path") != NULL)
            json_object_set(e, "path", json_object_get(cfg, "path"));
        if (json_object_get(cfg, "jsonOp") != NULL)
            json_object_set(e, "patch", json_object_get(cfg, "jsonOp"));
        json_t *list = json_pack("[O]", e);
        error = kz_patches_json6902_legacy(b, kdir, list, m);
        json_decref(list);
    } else {
        json_t *list = json_array(), *p;
        size_t i;
        json_array_foreach(json_object_get(cfg, "paths"), i, p) json_array_append(list, p);
        if (json_is_string(json_object_get(cfg, "patches")))
            json_array_append(list, json_object_get(cfg, "patches"));
        error = json_array_size(list) == 0
                    ? gf_error_set(GF_EINVAL, "PatchStrategicMergeTransformer: empty file path "
                                              "and empty patch content")
                    : kz_patches_sm_legacy(b, kdir, list, m);
        json_decref(list);
    }
    json_decref(e);
    json_decref(k);
    return error;
}

/* ValueAddTransformer: write a value (by default the name of the directory
 * whose kustomization uses it) into fields, or into one element of a
 * '/'-separated path held by a field (filePathPosition, 1-based). */
static char *insert_at(const char *path, long pos, const char *value)
{
    json_t *parts = json_array(), *p;
    size_t i, len = 1;
    char *out;

    for (const char *c = path, *end; c != NULL; c = end ? end + 1 : NULL) {
        end = strchr(c, '/');
        json_array_append_new(parts, end ? json_stringn(c, (size_t)(end - c)) : json_string(c));
    }
    if (path[0] == '\0')
        json_array_clear(parts);
    if ((size_t)(pos - 1) >= json_array_size(parts))
        json_array_append_new(parts, json_string(value));
    else
        json_array_insert_new(parts, (size_t)(pos - 1), json_string(value));
    json_array_foreach(parts, i, p) len += strlen(json_string_value(p)) + 1;
    out = calloc(1, len);
    json_array_foreach(parts, i, p)
    {
        if (i > 0)
            strcat(out, "/");
        strcat(out, json_string_value(p));
    }
    json_decref(parts);
    return out;
}

struct value_add {
    const char *value;
    long position;
};

static int value_add_leaf(json_t *parent, const char *key, json_t *cur, void *vctx)
{
    const struct value_add *va = vctx;
    if (va->position <= 0) {
        json_object_set_new(parent, key, json_string(va->value));
        return 0;
    }
    char *s = insert_at(json_is_string(cur) ? json_string_value(cur) : "", va->position, va->value);
    json_object_set_new(parent, key, json_string(s));
    free(s);
    return 0;
}

static int run_value_add(const char *kdir, const json_t *cfg, struct kz_resmap *m)
{
    const char *slash = strrchr(kdir, '/');
    struct value_add va = {str(cfg, "value"), 0};
    const json_t *targets = json_object_get(cfg, "targets"), *t;
    size_t i;
    int error = 0;

    if (va.value == NULL)
        va.value = slash ? slash + 1 : kdir;
    if (json_array_size(targets) == 0)
        return gf_error_set(GF_EINVAL, "ValueAddTransformer: must specify at least one target");
    json_array_foreach((json_t *)targets, i, t)
    {
        const char *fp = str(t, "fieldPath");
        json_t *specs =
            json_pack("[{s:s, s:b}]", "path", fp ? fp : "metadata/namespace", "create", 1);
        struct kz_fslist l = {0};
        size_t *idx = NULL, n = m->len;
        va.position = (long)json_integer_value(json_object_get(t, "filePathPosition"));
        error = kz_fslist_parse(&l, specs, "ValueAddTransformer");
        json_decref(specs);
        if (error == 0 && json_object_get(t, "selector") != NULL)
            error = kz_select(m, json_object_get(t, "selector"), &idx, &n);
        for (size_t k = 0; error == 0 && k < n; k++)
            error = kz_fieldspec_apply(m->items[idx ? idx[k] : k]->obj, &l.items[0], 2,
                                       value_add_leaf, &va);
        free(idx);
        kz_fslist_free(&l);
        if (error < 0)
            break;
    }
    return error;
}

/* The GKE workload-identity ServiceAccount. */
static int run_iam_policy(const json_t *cfg, const char *cfg_file, struct kz_resmap *m)
{
    const json_t *ks = json_object_get(cfg, "kubernetesService");
    const json_t *sa = json_object_get(cfg, "serviceAccount");
    const char *cloud = str(cfg, "cloud");
    struct kz_res *r;
    int error;

    if (cloud == NULL || strcmp(cloud, "gke") != 0)
        return gf_error_set(GF_EUNSUPPORTED, "IAMPolicyGenerator: cloud '%s' is not supported",
                            cloud ? cloud : "");
    if (str(ks, "name") == NULL || str(sa, "name") == NULL || str(sa, "projectId") == NULL)
        return gf_error_set(GF_EINVAL, "IAMPolicyGenerator: kubernetesService.name, "
                                       "serviceAccount.name and projectId are required");
    char *gsa = kz_printf("%s@%s.iam.gserviceaccount.com", str(sa, "name"), str(sa, "projectId"));
    json_t *md = json_pack("{s:s, s:{s:s}}", "name", str(ks, "name"), "annotations",
                           "iam.gke.io/gcp-service-account", gsa);
    free(gsa);
    if (str(ks, "namespace") != NULL)
        json_object_set_new(md, "namespace", json_string(str(ks, "namespace")));
    if ((error = kz_res_new(&r, json_pack("{s:s, s:s, s:o}", "apiVersion", "v1", "kind",
                                          "ServiceAccount", "metadata", md))) < 0)
        return error;
    r->origin = json_pack(
        "{s:s, s:o}", "configuredIn", cfg_file, "configuredBy",
        kz_buildmeta_by("IAMPolicyGenerator", str(json_object_get(cfg, "metadata"), "name")));
    return kz_resmap_append(m, r, 1);
}

/* ConfigMapGenerator / SecretGenerator configs: name and namespace may sit in metadata. */
static int run_generator(struct kz_build *b, const char *kdir, const json_t *cfg,
                         const char *cfg_file, struct kz_resmap *m)
{
    const json_t *md = json_object_get(cfg, "metadata");
    json_t *spec = json_deep_copy(cfg);
    struct kz_resmap gen;
    int error;

    if (str(spec, "name") == NULL && str(md, "name") != NULL)
        json_object_set_new(spec, "name", json_string(str(md, "name")));
    if (str(spec, "namespace") == NULL && str(md, "namespace") != NULL)
        json_object_set_new(spec, "namespace", json_string(str(md, "namespace")));
    kz_resmap_init(&gen);
    error = kz_generators_one(
        b, kdir, strcmp(str(cfg, "kind"), "SecretGenerator") == 0 ? "Secret" : "ConfigMap", spec,
        NULL, &gen);
    json_decref(spec);
    for (size_t i = 0; error == 0 && i < gen.len; i++) {
        json_decref(gen.items[i]->origin);
        gen.items[i]->origin = json_pack("{s:s, s:o}", "configuredIn", cfg_file, "configuredBy",
                                         kz_buildmeta_by(str(cfg, "kind"), str(md, "name")));
    }
    if (error == 0)
        return kz_generators_merge_into(m, &gen);
    kz_resmap_clear(&gen);
    return error;
}

static int is_one_of(const char *kind, const char *const *kinds)
{
    for (size_t i = 0; kinds[i] != NULL; i++)
        if (strcmp(kind, kinds[i]) == 0)
            return 1;
    return 0;
}

static int run_transformer(struct kz_build *b, const char *kdir, const json_t *cfg,
                           struct kz_resmap *m);

/* Run one config; a transformer is noted on every resource for buildMetadata. */
static int run_config(struct kz_build *b, const char *kdir, const json_t *cfg, int generators,
                      const char *cfg_file, struct kz_resmap *m)
{
    const char *api = str(cfg, "apiVersion"), *kind = str(cfg, "kind");
    const char *field = generators ? "generators" : "transformers";
    int error;

    if (!json_is_object(cfg) || kind == NULL)
        return gf_error_set(GF_EINVAL, "%s: a plugin configuration needs a kind", field);
    if (api == NULL || strcmp(api, "builtin") != 0)
        return gf_error_set(GF_EUNSUPPORTED,
                            "%s: plugin %s/%s: only builtin plugins are supported (KRM functions, "
                            "exec and Go plugins are not)",
                            field, api ? api : "", kind);
    if (generators &&
        (strcmp(kind, "ConfigMapGenerator") == 0 || strcmp(kind, "SecretGenerator") == 0))
        return run_generator(b, kdir, cfg, cfg_file, m);
    if (generators && strcmp(kind, "IAMPolicyGenerator") == 0)
        return run_iam_policy(cfg, cfg_file, m);
    if (generators)
        return gf_error_set(GF_EUNSUPPORTED, "generators: builtin plugin %s is not supported",
                            kind);
    if ((error = run_transformer(b, kdir, cfg, m)) == 0)
        kz_buildmeta_transformed(
            m, cfg_file, kz_buildmeta_by(kind, str(json_object_get(cfg, "metadata"), "name")));
    return error;
}

static int run_transformer(struct kz_build *b, const char *kdir, const json_t *cfg,
                           struct kz_resmap *m)
{
    static const char *const specs_kinds[] = {"PrefixSuffixTransformer", "PrefixTransformer",
                                              "SuffixTransformer",       "LabelTransformer",
                                              "AnnotationsTransformer",  "ImageTagTransformer",
                                              "ReplicaCountTransformer", NULL};
    static const char *const patch_kinds[] = {"PatchTransformer", "PatchJson6902Transformer",
                                              "PatchStrategicMergeTransformer", NULL};
    const char *kind = str(cfg, "kind");

    if (strcmp(kind, "NamespaceTransformer") == 0)
        return run_namespace(cfg, m);
    if (is_one_of(kind, specs_kinds))
        return run_specs_transformer(cfg, m);
    if (is_one_of(kind, patch_kinds))
        return run_patch(b, kdir, cfg, m);
    if (strcmp(kind, "ReplacementTransformer") == 0)
        return kz_replacements_apply(b, kdir, json_object_get(cfg, "replacements"), m);
    if (strcmp(kind, "ValueAddTransformer") == 0)
        return run_value_add(kdir, cfg, m);
    return gf_error_set(GF_EUNSUPPORTED, "transformers: builtin plugin %s is not supported", kind);
}

/* An entry is inline YAML, a file of configs, or a kustomization directory
 * whose resources are the configs. */
static int entry_configs(struct kz_build *b, const char *kdir, const char *entry, json_t **out,
                         json_t **files)
{
    if (strchr(entry, '\n') != NULL) {
        int error =
            gf_yaml_parse(out, entry, strlen(entry), "inline plugin configuration", NULL, 0);
        *files = json_array();
        for (size_t i = 0; error == 0 && i < json_array_size(*out); i++)
            json_array_append_new(*files, json_string(kz_build_kfile(b)));
        return error;
    }
    return kz_build_configs(b, kdir, entry, out, files);
}

int kz_plugins_run(struct kz_build *b, const char *kdir, const json_t *list, int generators,
                   struct kz_resmap *m)
{
    size_t i, k;
    json_t *e, *cfg;
    int error = 0;

    json_array_foreach((json_t *)list, i, e)
    {
        json_t *configs = NULL, *files = NULL;
        if (!json_is_string(e))
            return gf_error_set(GF_EINVAL, "%s: entries must be strings",
                                generators ? "generators" : "transformers");
        if ((error = entry_configs(b, kdir, json_string_value(e), &configs, &files)) < 0)
            return error;
        json_array_foreach(configs, k, cfg)
        {
            const char *f = json_string_value(json_array_get(files, k));
            if ((error = run_config(b, kdir, cfg, generators, f ? f : "", m)) < 0)
                break;
        }
        json_decref(configs);
        json_decref(files);
        if (error < 0)
            return error;
    }
    return 0;
}
