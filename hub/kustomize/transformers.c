/* transformers.c -- namespace, name prefix/suffix, labels and annotations, images, replicas */
#include "internal.h"

#include "gitfleet/error.h"

#include <stdlib.h>
#include <string.h>

/* ---- namespace ---- */

static int set_string_leaf(json_t *parent, const char *key, json_t *value, void *ctx)
{
    if (value != NULL && !json_is_string(value) && !json_is_null(value))
        return 0;
    json_object_set_new(parent, key, json_string((const char *)ctx));
    return 0;
}

static int is_role_binding(const char *kind)
{
    return strcmp(kind, "RoleBinding") == 0 || strcmp(kind, "ClusterRoleBinding") == 0;
}

/* By default kustomize sets the namespace of subjects named "default" only. */
static void role_binding_subjects(struct kz_res *r, const char *ns, int all_sa)
{
    json_t *subjects = json_object_get(r->obj, "subjects"), *s;
    size_t i;

    json_array_foreach(subjects, i, s)
    {
        const char *name = json_string_value(json_object_get(s, "name"));
        const char *kind = json_string_value(json_object_get(s, "kind"));
        if (!json_is_object(s))
            continue;
        if (all_sa ? (kind != NULL && strcmp(kind, "ServiceAccount") == 0)
                   : (name != NULL && strcmp(name, "default") == 0))
            json_object_set_new(s, "namespace", json_string(ns));
    }
}

static int is_meta_namespace(const struct kz_fieldspec *fs)
{
    return fs->npath == 2 && strcmp(fs->path[0], "metadata") == 0 &&
           strcmp(fs->path[1], "namespace") == 0;
}

/* kustomize's namespace filter drops metadata/name field specs unless the
 * object's apiVersion is exactly "v1": a Namespace of another group keeps
 * its name (removeUnneededMetaFieldSpecs). */
static int is_name_of_non_core(const struct kz_fieldspec *fs, const struct kz_res *r)
{
    const char *api = json_string_value(json_object_get(r->obj, "apiVersion"));

    return fs->npath == 2 && strcmp(fs->path[0], "metadata") == 0 &&
           strcmp(fs->path[1], "name") == 0 && (api == NULL || strcmp(api, "v1") != 0);
}

static int is_subjects(const struct kz_fieldspec *fs)
{
    return fs->npath == 1 && strcmp(fs->path[0], "subjects") == 0;
}

int kz_transform_namespace(struct kz_resmap *m, const char *ns, const struct kz_fslist *specs,
                           int unset_only, int subjects)
{
    int error;

    for (size_t i = 0; i < m->len; i++) {
        struct kz_res *r = m->items[i];
        if ((error = kz_res_store_prev(r)) < 0)
            return error;
        if (!kz_res_is_cluster_scoped(r) && (!unset_only || kz_res_namespace(r)[0] == '\0'))
            kz_res_set_namespace(r, ns);
        int rb = is_role_binding(kz_res_kind(r));
        if (rb && subjects != KZ_SUBJECTS_NONE)
            role_binding_subjects(r, ns, subjects == KZ_SUBJECTS_ALL_SERVICE_ACCOUNTS);
        for (size_t k = 0; k < specs->len; k++) {
            const struct kz_fieldspec *fs = &specs->items[k];
            if (is_meta_namespace(fs) || (rb && is_subjects(fs)) || is_name_of_non_core(fs, r) ||
                !kz_fieldspec_selects(fs, r))
                continue;
            if ((error = kz_fieldspec_apply(r->obj, fs, 2, set_string_leaf, (void *)ns)) < 0)
                return error;
        }
    }
    return 0;
}

/* ---- name prefix and suffix ---- */

struct affix {
    const char *prefix, *suffix;
};

static int affix_leaf(json_t *parent, const char *key, json_t *value, void *ctx)
{
    const struct affix *a = ctx;
    if (!json_is_string(value))
        return 0;
    char *s = kz_printf("%s%s%s", a->prefix, json_string_value(value), a->suffix);
    json_object_set_new(parent, key, json_string(s));
    free(s);
    return 0;
}

static int skip_affix(const struct kz_id *org)
{
    return strcmp(org->kind, "CustomResourceDefinition") == 0 ||
           strcmp(org->kind, "Namespace") == 0 ||
           (strcmp(org->kind, "APIService") == 0 &&
            strcmp(org->group, "apiregistration.k8s.io") == 0);
}

static int fs_selects_id(const struct kz_fieldspec *fs, const struct kz_id *id)
{
    return (fs->kind == NULL || strcmp(fs->kind, id->kind) == 0) &&
           (fs->group == NULL || strcmp(fs->group, id->group) == 0) &&
           (fs->version == NULL || strcmp(fs->version, id->version) == 0);
}

static int is_meta_name(const struct kz_fieldspec *fs)
{
    return fs->npath == 2 && strcmp(fs->path[0], "metadata") == 0 &&
           strcmp(fs->path[1], "name") == 0;
}

/* Every kustomization level runs both transformers, even with an empty
 * affix: the (possibly empty) affixes recorded per level are what name
 * references compare to pick between same-named candidates. */
static int affix_one(struct kz_res *r, const struct kz_fslist *l, const char *affix, int is_prefix)
{
    struct affix a = {is_prefix ? affix : "", is_prefix ? "" : affix};
    struct kz_id org = {0};
    int error = 0;

    kz_res_org_id(&org, r);
    if (skip_affix(&org))
        goto out;
    for (size_t k = 0; k < l->len && error == 0; k++) {
        const struct kz_fieldspec *fs = &l->items[k];
        if (!fs_selects_id(fs, &org))
            continue;
        if (is_meta_name(fs) && affix[0]) {
            json_array_append_new(is_prefix ? r->prefixes : r->suffixes, json_string(affix));
            if ((error = kz_res_store_prev(r)) < 0)
                break;
        }
        if (affix[0])
            error = kz_fieldspec_apply(r->obj, fs, 0, affix_leaf, &a);
    }
out:
    kz_id_clear(&org);
    return error;
}

int kz_transform_affix(struct kz_resmap *m, const char *affix, int is_prefix,
                       const struct kz_fslist *specs)
{
    int error;
    for (size_t i = 0; i < m->len; i++)
        if ((error = affix_one(m->items[i], specs, affix ? affix : "", is_prefix)) < 0)
            return error;
    return 0;
}

/* ---- labels and annotations ---- */

static int set_map_entries(json_t *parent, const char *key, json_t *value, void *ctx)
{
    const json_t *entries = ctx;
    const char *k;
    json_t *v;

    if (value == NULL) {
        value = json_object();
        json_object_set_new(parent, key, value);
    }
    if (!json_is_object(value))
        return gf_error_set(GF_EINVAL, "expected a map at '%s' to set labels or annotations", key);
    json_object_foreach((json_t *)entries, k, v) json_object_set(value, k, v);
    return 0;
}

int kz_transform_labels(struct kz_resmap *m, const json_t *labels, const struct kz_fslist *l)
{
    json_t *strs = json_object();
    const char *k;
    json_t *v;
    int error = 0;

    json_object_foreach((json_t *)labels, k, v)
    {
        char *s = kz_scalar_string(v);
        json_object_set_new(strs, k, json_string(s ? s : ""));
        free(s);
    }
    for (size_t i = 0; i < m->len && error == 0; i++)
        error = kz_fslist_apply(m->items[i], l, 1, set_map_entries, strs);
    json_decref(strs);
    return error;
}

/* ---- images ---- */

/* kustomize's image.Split: name, tag, digest (registry ports kept in the name). */
static void image_split(const char *img, char **name, char **tag, char **digest)
{
    const char *slash = strchr(img, '/');
    const char *search = slash && slash != img ? slash : img;
    const char *at = strchr(search, '@'), *colon = strchr(search, ':');

    *tag = *digest = NULL;
    if (at == NULL && colon == NULL) {
        *name = strdup(img);
    } else if (at != NULL && (colon == NULL || at < colon)) {
        *name = strndup(img, (size_t)(at - img));
        *digest = strdup(at + 1);
    } else if (at != NULL) {
        *name = strndup(img, (size_t)(colon - img));
        *tag = strndup(colon + 1, (size_t)(at - colon - 1));
        *digest = strdup(at + 1);
    } else {
        *name = strndup(img, (size_t)(colon - img));
        *tag = strdup(colon + 1);
    }
}

static int tag_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '{' || c == '}' || c == '-';
}

/* ^NAME(@sha256)?(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?$ */
static int image_matches(const char *img, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(img, name, n) != 0)
        return 0;
    const char *p = img + n;
    if (strncmp(p, "@sha256", 7) == 0)
        p += 7;
    if (*p == ':') {
        p++;
        while (tag_char(*p))
            p++;
    }
    if (strncmp(p, "@sha256:", 8) == 0) {
        p += 8;
        while (tag_char(*p))
            p++;
    }
    return *p == '\0';
}

static char *json_field_string(const json_t *obj, const char *key)
{
    return kz_scalar_string(json_object_get(obj, key));
}

static int update_image(json_t *parent, const char *key, json_t *value, void *ctx)
{
    const json_t *img = ctx;
    char *want = json_field_string(img, "name");
    char *new_name = json_field_string(img, "newName");
    char *new_tag = json_field_string(img, "newTag");
    char *digest = json_field_string(img, "digest");
    char *suffix = json_field_string(img, "tagSuffix");
    char *name = NULL, *tag = NULL, *dig = NULL;

    if (json_is_string(value) && want != NULL && image_matches(json_string_value(value), want)) {
        image_split(json_string_value(value), &name, &tag, &dig);
        if (new_name && new_name[0]) {
            free(name);
            name = strdup(new_name);
        }
        if ((new_tag && new_tag[0]) || (digest && digest[0])) {
            free(tag);
            free(dig);
            tag = new_tag && new_tag[0] ? strdup(new_tag) : NULL;
            dig = digest && digest[0] ? strdup(digest) : NULL;
        } else if (suffix != NULL && suffix[0]) { /* only without newTag and digest */
            char *t = kz_printf("%s%s", tag ? tag : "", suffix);
            free(tag);
            tag = t;
            free(dig); /* a suffixed tag drops the digest, as kubectl does */
            dig = NULL;
        }
        char *s = kz_printf("%s%s%s%s%s", name, tag ? ":" : "", tag ? tag : "", dig ? "@" : "",
                            dig ? dig : "");
        json_object_set_new(parent, key, json_string(s));
        free(s);
    }
    free(want);
    free(new_name);
    free(new_tag);
    free(digest);
    free(suffix);
    free(name);
    free(tag);
    free(dig);
    return 0;
}

/* Every containers/initContainers list anywhere in the object (kustomize's legacy image filter). */
static void images_everywhere(json_t *node, const json_t *img, int depth)
{
    const char *k;
    json_t *v;
    size_t i;

    if (depth > 64)
        return;
    if (json_is_array(node)) {
        json_array_foreach(node, i, v) images_everywhere(v, img, depth + 1);
        return;
    }
    if (!json_is_object(node))
        return;
    json_object_foreach(node, k, v)
    {
        if ((strcmp(k, "containers") == 0 || strcmp(k, "initContainers") == 0) &&
            json_is_array(v)) {
            json_t *c;
            json_array_foreach(v, i, c)
            {
                json_t *im = json_object_get(c, "image");
                if (json_is_object(c) && im != NULL)
                    update_image(c, "image", im, (void *)img);
            }
        } else {
            images_everywhere(v, img, depth + 1);
        }
    }
}

int kz_transform_images(struct kz_resmap *m, const json_t *images, const struct kz_fslist *specs)
{
    size_t k;
    json_t *img;
    int error;

    json_array_foreach((json_t *)images, k, img)
    {
        if (!json_is_object(img) || json_object_get(img, "name") == NULL)
            return gf_error_set(GF_EINVAL, "images: entry %zu needs a 'name'", k);
        for (size_t i = 0; i < m->len; i++) {
            struct kz_res *r = m->items[i];
            if (strcmp(kz_res_kind(r), "CustomResourceDefinition") != 0)
                images_everywhere(r->obj, img, 0);
            if ((error = kz_fslist_apply(r, specs, 0, update_image, img)) < 0)
                return error;
        }
    }
    return 0;
}

/* ---- replicas ---- */

static int set_count(json_t *parent, const char *key, json_t *value, void *ctx)
{
    json_object_set(parent, key, (json_t *)ctx);
    return 0;
}

static int res_has_name(const struct kz_res *r, const char *name)
{
    if (strcmp(kz_res_name(r), name) == 0)
        return 1;
    for (size_t i = 0; i < r->nprev; i++)
        if (strcmp(r->prev[i].name, name) == 0)
            return 1;
    return 0;
}

int kz_transform_replicas(struct kz_resmap *m, const json_t *replicas,
                          const struct kz_fslist *specs)
{
    size_t k;
    json_t *rep;
    int error;

    json_array_foreach((json_t *)replicas, k, rep)
    {
        const char *name = json_string_value(json_object_get(rep, "name"));
        json_t *count = json_object_get(rep, "count");
        int found = 0;
        if (name == NULL)
            return gf_error_set(GF_EINVAL, "replicas: entry %zu needs a 'name'", k);
        if (!json_is_integer(count))
            count = json_integer(0);
        else
            json_incref(count);
        for (size_t f = 0; f < specs->len; f++) {
            const struct kz_fieldspec *fs = &specs->items[f];
            for (size_t i = 0; i < m->len; i++) {
                struct kz_res *r = m->items[i];
                if (!kz_fieldspec_selects(fs, r) || !res_has_name(r, name))
                    continue;
                found = 1;
                if ((error = kz_fieldspec_apply(r->obj, fs, 2, set_count, count)) < 0) {
                    json_decref(count);
                    return error;
                }
            }
        }
        json_decref(count);
        if (!found)
            return gf_error_set(GF_ENOTFOUND,
                                "replicas: resource with name %s does not match a config with "
                                "the following GVK [Deployment ReplicationController ReplicaSet "
                                "StatefulSet]",
                                name);
    }
    return 0;
}
