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

static int kind_rank(const char *kind)
{
    size_t nf = sizeof(first_kinds) / sizeof(first_kinds[0]);
    for (size_t i = 0; i < nf; i++)
        if (strcmp(first_kinds[i], kind) == 0)
            return (int)i - (int)nf;
    for (size_t i = 0; i < sizeof(last_kinds) / sizeof(last_kinds[0]); i++)
        if (strcmp(last_kinds[i], kind) == 0)
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

static void key_init(struct sort_key *k, struct kz_res *r, size_t pos)
{
    char buf[256];
    const char *g, *v;

    kz_res_gv(r, buf, sizeof(buf), &g, &v);
    k->r = r;
    k->pos = pos;
    k->rank = kind_rank(kz_res_kind(r));
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

int kz_order_legacy(struct kz_resmap *m)
{
    struct sort_key *keys = calloc(m->len + 1, sizeof(*keys));

    if (keys == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->len; i++)
        key_init(&keys[i], m->items[i], i);
    qsort(keys, m->len, sizeof(*keys), key_cmp);
    for (size_t i = 0; i < m->len; i++) {
        m->items[i] = keys[i].r;
        free(keys[i].gvk);
        free(keys[i].id);
    }
    free(keys);
    return 0;
}
