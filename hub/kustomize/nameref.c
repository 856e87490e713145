/* nameref.c -- follow renames: update every reference to a renamed ConfigMap, Secret, Service, ...
 */
#include "internal.h"

#include "gitfleet/error.h"

#include <stdlib.h>
#include <string.h>

struct nr_ctx {
    struct kz_resmap *m;
    struct kz_res *referrer;
    const struct kz_nameref *target;
    const struct kz_fieldspec *fs;
    struct kz_res **cands; /* resources the referrer may refer to */
    size_t ncands;
};

static const char *eff_ns(const struct kz_id *id)
{
    if (kz_id_cluster_scoped(id))
        return "";
    return id->ns && id->ns[0] ? id->ns : "default";
}

static int ns_equal(const struct kz_id *a, const struct kz_id *b)
{
    return strcmp(eff_ns(a), eff_ns(b)) == 0;
}

/* Namespaces of the ServiceAccount subjects of a RoleBinding (they may live elsewhere). */
static int in_binding_namespaces(const struct kz_res *referrer, const char *ns)
{
    json_t *subjects, *s;
    size_t i;

    if (strcmp(kz_res_kind(referrer), "RoleBinding") != 0)
        return 0;
    subjects = json_object_get(referrer->obj, "subjects");
    json_array_foreach(subjects, i, s)
    {
        const char *kind = json_string_value(json_object_get(s, "kind"));
        const char *sns = json_string_value(json_object_get(s, "namespace"));
        if (kind && strcmp(kind, "ServiceAccount") == 0 && sns && strcmp(sns, ns) == 0)
            return 1;
    }
    return 0;
}

/* kustomize's SubsetThatCouldBeReferencedByResource. */
static void candidates_for(struct nr_ctx *c)
{
    struct kz_id rid = {0};
    kz_res_cur_id(&rid, c->referrer);
    int cluster = kz_id_cluster_scoped(&rid);

    c->cands = calloc(c->m->len + 1, sizeof(*c->cands));
    c->ncands = 0;
    for (size_t i = 0; i < c->m->len; i++) {
        struct kz_res *t = c->m->items[i];
        struct kz_id tid = {0};
        kz_res_cur_id(&tid, t);
        if (cluster || kz_id_cluster_scoped(&tid) || ns_equal(&tid, &rid) ||
            in_binding_namespaces(c->referrer, kz_res_namespace(t)))
            c->cands[c->ncands++] = t;
        kz_id_clear(&tid);
    }
    kz_id_clear(&rid);
}

static int gvk_selected(const struct kz_id *id, const char *group, const char *version,
                        const char *kind)
{
    return (group == NULL || group[0] == '\0' || strcmp(group, id->group) == 0) &&
           (version == NULL || version[0] == '\0' || strcmp(version, id->version) == 0) &&
           (kind == NULL || kind[0] == '\0' || strcmp(kind, id->kind) == 0);
}

static int prev_name_matches(const struct kz_res *r, const char *name)
{
    for (size_t i = 0; i < r->nprev; i++)
        if (strcmp(r->prev[i].name, name) == 0)
            return 1;
    return 0;
}

static int prev_gvk_matches(const struct kz_res *r, const char *g, const char *v, const char *k)
{
    for (size_t i = 0; i < r->nprev; i++)
        if (gvk_selected(&r->prev[i], g, v, k))
            return 1;
    return 0;
}

/* kustomize's SameEndingSubSlice. */
static int same_ending(const json_t *a, const json_t *b)
{
    size_t na = json_array_size(a), nb = json_array_size(b);
    if (na > nb)
        return same_ending(b, a);
    if (na == 0)
        return nb == 0;
    for (size_t i = 0; i < na; i++)
        if (!json_equal(json_array_get(a, i), json_array_get(b, i + nb - na)))
            return 0;
    return 1;
}

/* The candidate's affixes are an ending of the referrer's (empty ones too). */
static int ends_referrer(const json_t *candidate, const json_t *referrer)
{
    size_t nc = json_array_size(candidate), nr = json_array_size(referrer);
    if (nc > nr)
        return 0;
    for (size_t i = 0; i < nc; i++)
        if (!json_equal(json_array_get(candidate, i), json_array_get(referrer, i + nr - nc)))
            return 0;
    return 1;
}

static int is_role_ref_path(const struct kz_fieldspec *fs)
{
    return fs->npath >= 2 && strcmp(fs->path[fs->npath - 2], "roleRef") == 0 &&
           strcmp(fs->path[fs->npath - 1], "name") == 0;
}

static int keep(const struct nr_ctx *c, const struct kz_res *r, const char *old_name,
                const struct kz_id *rid)
{
    if (!prev_name_matches(r, old_name))
        return 0;
    if (!prev_gvk_matches(r, c->target->group, c->target->version, c->target->kind))
        return 0;
    if (is_role_ref_path(c->fs)) {
        json_t *rr = json_object_get(c->referrer->obj, "roleRef");
        const char *g = json_string_value(json_object_get(rr, "apiGroup"));
        const char *k = json_string_value(json_object_get(rr, "kind"));
        if (g != NULL && k != NULL && !prev_gvk_matches(r, g, NULL, k))
            return 0;
    }
    if (!kz_id_cluster_scoped(rid)) {
        struct kz_id tid = {0};
        kz_res_cur_id(&tid, r);
        int ok = kz_id_cluster_scoped(&tid) || strcmp(tid.kind, "ServiceAccount") == 0 ||
                 ns_equal(&tid, rid);
        kz_id_clear(&tid);
        if (!ok)
            return 0;
    }
    return 1;
}

/* kustomize's selectReferral: NULL (no error) when nothing to do. */
static int select_referral(struct kz_res **out, const struct nr_ctx *c, const char *old_name,
                           struct kz_res **cands, size_t n, int with_ns)
{
    struct kz_res **sel = calloc(n + 1, sizeof(*sel));
    size_t k = 0;
    struct kz_id rid = {0};
    int error = 0;

    *out = NULL;
    kz_res_cur_id(&rid, c->referrer);
    for (size_t i = 0; i < n; i++)
        if (keep(c, cands[i], old_name, &rid))
            sel[k++] = cands[i];
    if (k > 1) {
        size_t j = 0, loose = 0;
        struct kz_res **keep_loose = calloc(k + 1, sizeof(*keep_loose));
        for (size_t i = 0; i < k; i++) {
            if (same_ending(sel[i]->prefixes, c->referrer->prefixes) &&
                same_ending(sel[i]->suffixes, c->referrer->suffixes))
                sel[j++] = sel[i];
            else if (ends_referrer(sel[i]->prefixes, c->referrer->prefixes) &&
                     ends_referrer(sel[i]->suffixes, c->referrer->suffixes))
                keep_loose[loose++] = sel[i];
        }
        /* None with the referrer's exact affixes: kubectl v1.32 then takes
         * the one whose affixes all sit at the end of the referrer's
         * (a base's resource referring to a generated one a level up). */
        if (j == 0 && loose > 0) {
            memcpy(sel, keep_loose, loose * sizeof(*sel));
            j = loose;
        }
        free(keep_loose);
        k = j;
    }
    if (k == 1) {
        *out = sel[0];
    } else if (k > 1) {
        int same = 1;
        for (size_t i = 1; i < k; i++)
            same = same && strcmp(kz_res_name(sel[i]), kz_res_name(sel[0])) == 0 &&
                   (!with_ns || strcmp(kz_res_namespace(sel[i]), kz_res_namespace(sel[0])) == 0);
        if (same) {
            *out = sel[0];
        } else {
            char *s = kz_id_string(&rid);
            error = gf_error_set(GF_ECONFLICT,
                                 "updating name reference in '%s' field of '%s': found multiple "
                                 "possible referrals for name '%s'",
                                 c->fs->path[0], s ? s : "?", old_name);
            free(s);
        }
    }
    kz_id_clear(&rid);
    free(sel);
    return error;
}

static int set_scalar(const struct nr_ctx *c, json_t *parent_obj, const char *key,
                      json_t *parent_arr, size_t index, const char *old)
{
    struct kz_res *ref;
    int error = select_referral(&ref, c, old, c->cands, c->ncands, 0);
    if (error < 0 || ref == NULL || strcmp(kz_res_name(ref), old) == 0)
        return error;
    if (parent_arr != NULL)
        json_array_set_new(parent_arr, index, json_string(kz_res_name(ref)));
    else
        json_object_set_new(parent_obj, key, json_string(kz_res_name(ref)));
    return 0;
}

static int set_mapping(const struct nr_ctx *c, json_t *node)
{
    const char *old = json_string_value(json_object_get(node, "name"));
    const char *ns = json_string_value(json_object_get(node, "namespace"));
    struct kz_res **cands = c->cands, *ref;
    size_t n = c->ncands;
    int error;

    if (old == NULL)
        return json_object_get(node, "name") == NULL
                   ? gf_error_set(GF_EINVAL, "path config error; no 'name' field in node")
                   : 0;
    struct kz_res **by_ns = NULL;
    if (ns != NULL) {
        by_ns = calloc(c->ncands + 1, sizeof(*by_ns));
        n = 0;
        for (int pass = 0; pass < 2 && n == 0; pass++) {
            for (size_t i = 0; i < c->ncands; i++) {
                struct kz_id id = {0};
                if (pass == 0)
                    kz_res_org_id(&id, c->cands[i]);
                else
                    kz_res_cur_id(&id, c->cands[i]);
                if (strcmp(eff_ns(&id), ns) == 0)
                    by_ns[n++] = c->cands[i];
                kz_id_clear(&id);
            }
        }
        cands = by_ns;
    }
    char *oldc = strdup(old);
    error = select_referral(&ref, c, oldc, cands, n, 1);
    if (error == 0 && ref != NULL &&
        !(strcmp(kz_res_name(ref), oldc) == 0 && kz_res_namespace(ref)[0] == '\0')) {
        json_object_set_new(node, "name", json_string(kz_res_name(ref)));
        if (kz_res_namespace(ref)[0] != '\0')
            json_object_set_new(node, "namespace", json_string(kz_res_namespace(ref)));
    }
    free(oldc);
    free(by_ns);
    return error;
}

static int at_leaf(json_t *parent, const char *key, json_t *value, void *ctx)
{
    const struct nr_ctx *c = ctx;
    size_t i;
    json_t *v;
    int error;

    if (json_is_string(value)) {
        char *old = strdup(json_string_value(value));
        error = set_scalar(c, parent, key, NULL, 0, old);
        free(old);
        return error;
    }
    if (json_is_object(value))
        return set_mapping(c, value);
    if (!json_is_array(value))
        return 0;
    json_array_foreach(value, i, v)
    {
        if (json_is_string(v)) {
            char *old = strdup(json_string_value(v));
            error = set_scalar(c, NULL, NULL, value, i, old);
            free(old);
        } else if (json_is_object(v)) {
            error = set_mapping(c, v);
        } else {
            error = 0;
        }
        if (error < 0)
            return error;
    }
    return 0;
}

/* kustomize reads a RoleBinding's ServiceAccount subjects' namespaces as
 * strings to pick candidates, and fails on one that is present but not a
 * string (`namespace:` left blank is null): getNamespacesForRoleBinding. */
static int check_binding_subjects(const struct kz_res *r)
{
    json_t *s;
    size_t i;

    if (strcmp(kz_res_kind(r), "RoleBinding") != 0)
        return 0;
    json_array_foreach(json_object_get(r->obj, "subjects"), i, s)
    {
        const json_t *ns = json_object_get(s, "namespace");
        const char *kind = json_string_value(json_object_get(s, "kind"));
        if (ns != NULL && !json_is_string(ns) && kind != NULL &&
            strcmp(kind, "ServiceAccount") == 0) {
            struct kz_id id = {0};
            kz_res_cur_id(&id, r);
            gf_error_set(GF_EINVAL,
                         "Invalid Input: namespace is blank for resource \"%s.%s.%s/%s.%s\"",
                         id.kind, id.version, id.group && id.group[0] ? id.group : "[noGrp]",
                         id.name, id.ns && id.ns[0] ? id.ns : "[noNs]");
            kz_id_clear(&id);
            return GF_EINVAL;
        }
    }
    return 0;
}

int kz_nameref_fix(struct kz_resmap *m, const struct kz_tconfig *tc)
{
    int error = 0;

    for (size_t i = 0; i < m->len && error == 0; i++) {
        struct nr_ctx c = {m, m->items[i], NULL, NULL, NULL, 0};
        if ((error = check_binding_subjects(c.referrer)) < 0)
            break;
        candidates_for(&c);
        /* The referrer's original id, once: the default configuration has
         * hundreds of field specs to test it against. */
        struct kz_id org = {0};
        if ((error = kz_res_org_id(&org, c.referrer)) < 0) {
            free(c.cands);
            break;
        }
        for (size_t t = 0; t < tc->nnameref && error == 0; t++) {
            c.target = &tc->nameref[t];
            for (size_t f = 0; f < c.target->specs.len && error == 0; f++) {
                c.fs = &c.target->specs.items[f];
                if (!gvk_selected(&org, c.fs->group, c.fs->version, c.fs->kind))
                    continue;
                error = kz_fieldspec_apply(c.referrer->obj, c.fs, 0, at_leaf, &c);
            }
        }
        kz_id_clear(&org);
        free(c.cands);
    }
    return error;
}
