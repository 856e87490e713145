/* order.c -- kubectl's legacy output order (kind rank, then gvk, then namespace/name) */
#include "internal.h"

#include "gitfleet/error.h"

#include <stdlib.h>
#include <string.h>

static const char *const first_kinds[] = {
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
};

static const char *const last_kinds[] = {
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
};

struct kind_lists {
    const char *const *first, *const *last;
    size_t nfirst, nlast;
};

static int kind_rank(const struct kind_lists *kl, const char *kind)
{
    for (size_t i = 0; i < kl->nfirst; i++)
        if (strcmp(kl->first[i], kind) == 0)
            return (int)i - (int)kl->nfirst;
    for (size_t i = 0; i < kl->nlast; i++)
        if (strcmp(kl->last[i], kind) == 0)
            return (int)i + 1;
    return 0;
}

struct sort_key {
    struct kz_res *r;
    size_t pos;
    int rank;
    char *gvk; /* group_version_kind with ~G ~V ~K for empties */
    char *id;  /* Kind.version.group|namespace|name */
    int empty_group, is_namespace;
};

static const char * or (const char *s, const char *dflt)
{
    return s != NULL && s[0] ? s : dflt;
}

static void key_init(struct sort_key *k, struct kz_res *r, size_t pos, const struct kind_lists *kl)
{
    char buf[256];
    const char *g, *v;

    kz_res_gv(r, buf, sizeof(buf), &g, &v);
    k->r = r;
    k->pos = pos;
    k->rank = kind_rank(kl, kz_res_kind(r));
    k->gvk = kz_printf("%s_%s_%s", or (g, "~G"), or (v, "~V"), or (kz_res_kind(r), "~K"));
    k->id = kz_printf("%s.%s.%s|%s|%s", kz_res_kind(r), v, or (g, "[noGrp]"),
                      or (kz_res_namespace(r), "~X"), or (kz_res_name(r), "~N"));
    k->empty_group = g[0] == '\0';
    k->is_namespace = strcmp(kz_res_kind(r), "Namespace") == 0;
}

static int key_cmp(const void *pa, const void *pb)
{
    const struct sort_key *a = pa, *b = pb;
    int c;

    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    if ((c = strcmp(a->gvk, b->gvk)) != 0) {
        if (a->is_namespace && b->is_namespace && (a->empty_group || b->empty_group))
            return -c;
        return c;
    }
    if ((c = strcmp(a->id, b->id)) != 0)
        return c;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* A legacySortOptions list of kinds, or the default. */
static int kinds_from(const json_t *list, const char *const *dflt, size_t ndflt,
                      const char *const **out, size_t *n, const char ***owned)
{
    size_t i;
    json_t *v;

    *owned = NULL;
    if (list == NULL || json_is_null(list)) {
        *out = dflt;
        *n = ndflt;
        return 0;
    }
    if (!json_is_array(list))
        return gf_error_set(GF_EINVAL, "legacySortOptions: orderFirst/orderLast must be lists");
    *owned = calloc(json_array_size(list) + 1, sizeof(char *));
    json_array_foreach(list, i, v)
    {
        if (!json_is_string(v))
            return gf_error_set(GF_EINVAL, "legacySortOptions: kinds must be strings");
        (*owned)[i] = json_string_value(v);
    }
    *out = *owned;
    *n = json_array_size(list);
    return 0;
}

int kz_order_legacy(struct kz_resmap *m, const json_t *legacy_options)
{
    struct kind_lists kl;
    const char **f = NULL, **l = NULL;
    int error;

    if ((error = kinds_from(json_object_get(legacy_options, "orderFirst"), first_kinds,
                            sizeof(first_kinds) / sizeof(first_kinds[0]), &kl.first, &kl.nfirst,
                            &f)) < 0 ||
        (error = kinds_from(json_object_get(legacy_options, "orderLast"), last_kinds,
                            sizeof(last_kinds) / sizeof(last_kinds[0]), &kl.last, &kl.nlast, &l)) <
            0) {
        free(f);
        free(l);
        return error;
    }
    struct sort_key *keys = calloc(m->len + 1, sizeof(*keys));

    if (keys == NULL) {
        free(f);
        free(l);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < m->len; i++)
        key_init(&keys[i], m->items[i], i, &kl);
    free(f);
    free(l);
    qsort(keys, m->len, sizeof(*keys), key_cmp);
    for (size_t i = 0; i < m->len; i++) {
        m->items[i] = keys[i].r;
        free(keys[i].gvk);
        free(keys[i].id);
    }
    free(keys);
    return 0;
}
