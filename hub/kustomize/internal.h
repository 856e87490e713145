/* internal.h -- types and functions shared by the kustomize engine's files (not public) */
#ifndef HUB_KUSTOMIZE_INTERNAL_H
#define HUB_KUSTOMIZE_INTERNAL_H

#include "filesrc.h"
#include "gitfleet/k8s_schema.h"

#include <jansson.h>
#include <stddef.h>

/* ---- resources (resource.c) ---- */

/* The identity of a resource: group/version/kind, name, namespace. */
struct kz_id {
    char *group, *version, *kind, *name, *ns;
};

enum kz_behavior {
    KZ_BEHAVIOR_NONE = 0,
    KZ_BEHAVIOR_CREATE,
    KZ_BEHAVIOR_REPLACE,
    KZ_BEHAVIOR_MERGE
};

/* One resource being built, with what kustomize tracks beside the object:
 * the ids it had before renames (for name references and patch targets),
 * the prefixes and suffixes applied, and generator flags. */
struct kz_res {
    json_t *obj;
    struct kz_id *prev; /* earlier ids, oldest first */
    size_t nprev;
    json_t *prefixes, *suffixes; /* JSON arrays of strings */
    json_t *var_names;           /* vars bound to this resource where they were declared */
    int needs_hash;
    enum kz_behavior behavior;
    json_t *origin; /* {"path": f} or {"configuredIn": f, "configuredBy": {...}}, root-relative */
    json_t *transforms; /* [{"configuredIn": f, "configuredBy": {...}}] applied to it */
};

/* An ordered list of resources. */
struct kz_resmap {
    struct kz_res **items;
    size_t len, cap;
};

int kz_res_new(struct kz_res **out, json_t *obj); /* steals obj */
void kz_res_free(struct kz_res *r);
int kz_res_copy(struct kz_res **out, const struct kz_res *r);

const char *kz_res_kind(const struct kz_res *r);
const char *kz_res_name(const struct kz_res *r);
const char *kz_res_namespace(const struct kz_res *r); /* "" when absent */
const char *kz_res_api_version(const struct kz_res *r);
/* Group and version of the apiVersion; buf must hold it. */
void kz_res_gv(const struct kz_res *r, char *buf, size_t buflen, const char **group,
               const char **version);
int kz_res_set_name(struct kz_res *r, const char *name);
int kz_res_set_namespace(struct kz_res *r, const char *ns);
/* Fill a kz_id for the current id (strings owned by the id). */
int kz_res_cur_id(struct kz_id *out, const struct kz_res *r);
/* The original id: the first stored previous id, else the current one. */
int kz_res_org_id(struct kz_id *out, const struct kz_res *r);
/* Remember the current id among the previous ones (before a rename). */
int kz_res_store_prev(struct kz_res *r);
int kz_res_is_cluster_scoped(const struct kz_res *r);

void kz_id_clear(struct kz_id *id);
int kz_id_copy(struct kz_id *out, const struct kz_id *id);
/* kustomize's ResId.Equals: same gvk, name, and namespace ("" == "default"). */
int kz_id_equals(const struct kz_id *a, const struct kz_id *b);
/* "Kind.version.group/name.namespace" style used in messages (kustomize's ResId.String). */
char *kz_id_string(const struct kz_id *id);
int kz_id_cluster_scoped(const struct kz_id *id);

void kz_resmap_init(struct kz_resmap *m);
void kz_resmap_clear(struct kz_resmap *m);
/* Append (takes ownership). With check_dup, an equal current id is an error. */
int kz_resmap_append(struct kz_resmap *m, struct kz_res *r, int check_dup);
int kz_resmap_copy(struct kz_resmap *out, const struct kz_resmap *m);
void kz_resmap_remove_at(struct kz_resmap *m, size_t i);
/* Indexes of resources any of whose ids (current or previous) equal `id`. */
size_t kz_resmap_find_any_id(const struct kz_resmap *m, const struct kz_id *id, size_t *idx,
                             size_t max);

/* ---- field specs and transformer configurations (fieldspec.c) ---- */

struct kz_fieldspec {
    char *group, *version, *kind; /* NULL: any */
    char **path;                  /* split path segments */
    size_t npath;
    int create;
};

struct kz_fslist {
    struct kz_fieldspec *items;
    size_t len;
};

struct kz_nameref {
    char *group, *version, *kind; /* the referred kind */
    struct kz_fslist specs;       /* where it is referred to */
};

/* The transformer configuration: kustomize's builtin field specs plus any
 * `configurations:` files. */
struct kz_tconfig {
    struct kz_fslist name_prefix, name_suffix, namespace, common_labels, template_labels,
        common_annotations, images, replicas, var_reference, labels;
    struct kz_nameref *nameref;
    size_t nnameref;
    int refs;     /* shared copy-on-write; -1: the immortal builtin */
    int pristine; /* nothing beyond the builtin configuration */
};

/* Configurations are shared, not copied: builtin() and hold() hand out a
 * reference, free() drops one, and the merge functions copy before writing
 * when the configuration is shared (most builds never add to the builtin). */
int kz_tconfig_builtin(struct kz_tconfig **out);
struct kz_tconfig *kz_tconfig_hold(struct kz_tconfig *tc);
void kz_tconfig_free(struct kz_tconfig *tc);
/* Merge a configuration document (JSON of a kustomize TransformerConfig). */
int kz_tconfig_merge_doc(struct kz_tconfig **tc, const json_t *doc, const char *file);
int kz_tconfig_merge(struct kz_tconfig **tc, const struct kz_tconfig *other);

int kz_fslist_parse(struct kz_fslist *out, const json_t *arr, const char *what);
void kz_fslist_free(struct kz_fslist *l);
int kz_fslist_append(struct kz_fslist *l, const struct kz_fieldspec *fs);
/* Does the field spec's gvk select this resource? */
int kz_fieldspec_selects(const struct kz_fieldspec *fs, const struct kz_res *r);

/* Called on the value at the end of a field spec path; *slot may be NULL when
 * the spec creates it (create_kind says which kind of node to create). */
typedef int (*kz_field_fn)(json_t *parent, const char *key, json_t *value, void *ctx);
/* Walk `fs` in `obj`, calling fn for every matched value. Missing maps are
 * created when fs->create and create_leaf (0: not created, 1: object, 2:
 * string: fn gets value NULL). */
int kz_fieldspec_apply(json_t *obj, const struct kz_fieldspec *fs, int create_leaf, kz_field_fn fn,
                       void *ctx);
/* Apply every spec of the list that selects r. */
int kz_fslist_apply(struct kz_res *r, const struct kz_fslist *l, int create_leaf, kz_field_fn fn,
                    void *ctx);

/* ---- strategic merge (smp.c) and JSON 6902 (json6902.c) ---- */

/* Merge `patch` into `*target` (both objects) the way kustomize does for
 * a resource of group/version/kind, with the merge keys of `openapi` (a
 * custom schema, may be NULL) or of the built-in kinds. *target may become
 * NULL ($patch: delete). */
int kz_smp_merge(json_t **target, const json_t *patch, const char *group, const char *version,
                 const char *kind, const json_t *openapi);
/* The merge rule of the list at `path` from a custom schema: 1 when the
 * schema describes the kind (*out set), 0 when it does not. */
int kz_openapi_list_info(struct gf_k8s_list_info *out, const json_t *openapi, const char *group,
                         const char *version, const char *kind, const char *path);
/* Apply a JSON 6902 operation list to *target. */
int kz_json6902_apply(json_t **target, const json_t *ops);

/* ---- helpers (resource.c) ---- */

char *kz_strdup(const char *s);
char *kz_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Scalar (string, number, bool) as a string as kustomize would read it; NULL otherwise. */
char *kz_scalar_string(const json_t *v);

/* ---- the build (build.c) ---- */

struct kz_build;

/* Read a file relative to the kustomization dir, confined to it (kustomize's
 * default load restrictions). */
int kz_build_read(struct kz_build *b, const char *kdir, const char *path, char **out,
                  size_t *len_out, char **resolved_out);
/* Parse YAML docs (cached per session) from a file relative to kdir. */
int kz_build_read_yaml(struct kz_build *b, const char *kdir, const char *path, json_t **out);

/* The custom OpenAPI schema in effect (the first `openapi: {path}` met), or NULL. */
const json_t *kz_build_openapi(const struct kz_build *b);
/* The kustomization file being built (root-relative), for buildMetadata. */
const char *kz_build_kfile(const struct kz_build *b);
/* Plugin configurations named by a transformers:/generators: entry: the
 * documents of a file, or the resources a kustomization directory builds. */
int kz_build_configs(struct kz_build *b, const char *kdir, const char *entry, json_t **out,
                     json_t **files);

/* ---- generators (generators.c) ---- */

/* Generate ConfigMaps and Secrets of a kustomization into `out`. */
int kz_generators_run(struct kz_build *b, const char *kdir, const json_t *kust,
                      struct kz_resmap *out);
/* One ConfigMap ("ConfigMap") or Secret ("Secret") from a generator spec. */
int kz_generators_one(struct kz_build *b, const char *kdir, const char *kind, const json_t *spec,
                      const json_t *gopts, struct kz_resmap *out);
/* The content-hash suffix of a ConfigMap or Secret (kustomize's algorithm). */
int kz_generators_hash(char out[11], const json_t *obj);
/* Append generated resources into the accumulator with create/merge/replace. */
int kz_generators_merge_into(struct kz_resmap *acc, struct kz_resmap *gen);

/* ---- transformers (transformers.c) ---- */

enum { KZ_SUBJECTS_DEFAULT_ONLY = 0, KZ_SUBJECTS_ALL_SERVICE_ACCOUNTS, KZ_SUBJECTS_NONE };

/* Set the namespace: metadata.namespace of namespaced kinds (only where
 * empty with unset_only), RoleBinding subjects per `subjects`, and `specs`. */
int kz_transform_namespace(struct kz_resmap *m, const char *ns, const struct kz_fslist *specs,
                           int unset_only, int subjects);
/* A name prefix (is_prefix) or suffix along `specs`; recorded even when empty. */
int kz_transform_affix(struct kz_resmap *m, const char *affix, int is_prefix,
                       const struct kz_fslist *specs);
/* Set labels (or annotations) along the given field specs. */
int kz_transform_labels(struct kz_resmap *m, const json_t *labels, const struct kz_fslist *l);
int kz_transform_images(struct kz_resmap *m, const json_t *images, const struct kz_fslist *specs);
int kz_transform_replicas(struct kz_resmap *m, const json_t *replicas,
                          const struct kz_fslist *specs);

/* ---- builtin plugin configurations (plugins.c) ---- */

/* The `transformers:` or `generators:` field: builtin plugin configs only. */
int kz_plugins_run(struct kz_build *b, const char *kdir, const json_t *list, int generators,
                   struct kz_resmap *m);

/* ---- patches (patches.c) ---- */

/* Go's regexp match of ^(pat)$ for the patterns kustomize users write. */
int kz_anchored_match(const char *pat, const char *s);
/* A Kubernetes label selector ("a=b,c!=d,e in (x,y),!f") against a string map. */
int kz_labels_match(const char *sel, const json_t *labels);
/* Resources selected by a kustomize target selector. */
int kz_select(const struct kz_resmap *m, const json_t *target, size_t **idx_out, size_t *n_out);
int kz_patches_apply(struct kz_build *b, const char *kdir, const json_t *kust, struct kz_resmap *m);
int kz_patches_sm_legacy(struct kz_build *b, const char *kdir, const json_t *list,
                         struct kz_resmap *m);
int kz_patches_json6902_legacy(struct kz_build *b, const char *kdir, const json_t *list,
                               struct kz_resmap *m);

/* ---- name references (nameref.c) ---- */

int kz_nameref_fix(struct kz_resmap *m, const struct kz_tconfig *tc);

/* ---- replacements and vars (replacements.c, vars.c) ---- */

int kz_replacements_apply(struct kz_build *b, const char *kdir, const json_t *list,
                          struct kz_resmap *m);
/* Bind the vars a kustomization declares to the one resource each names
 * (kustomize binds them there, before any overlay renames or repeats it). */
int kz_vars_bind(struct kz_resmap *m, const json_t *vars);
int kz_vars_resolve(struct kz_resmap *m, const json_t *vars, const struct kz_tconfig *tc);

/* ---- buildMetadata (buildmeta.c) ---- */

/* A builtin plugin reference {"apiVersion": "builtin", "kind": kind} (+ name). */
json_t *kz_buildmeta_by(const char *kind, const char *name);
/* Record that the transformer configured in `file` (root-relative) ran on every resource. */
void kz_buildmeta_transformed(struct kz_resmap *m, const char *file, json_t *by);
/* Write the annotations and labels `buildMetadata` asks for; paths relative to `topdir`. */
int kz_buildmeta_apply(struct kz_resmap *m, const json_t *build_metadata, const char *topdir);

/* ---- the kustomization's shape (schema.c) ---- */

/* Unknown fields and wrongly typed values are errors, as in kubectl. Field
 * names spelt in another case (`nameprefix`) are renamed to the field's
 * name in place, as Go's JSON decoder matches them. */
int kz_schema_check(json_t *kust, const char *file);

/* ---- order (order.c) ---- */

/* kubectl's legacy output order; legacy_options (sortOptions.legacySortOptions,
 * may be NULL) replaces the first and last kind lists. */
int kz_order_legacy(struct kz_resmap *m, const json_t *legacy_options);

#endif
