/* patches.c -- target selection and the patches, patchesStrategicMerge and patchesJson6902 fields
 */
#include "internal.h"

#include "gitfleet/error.h"
#include "gitfleet/yaml_parse.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

/* ---- selectors ---- */

/* Go's regexp.MatchString("^(?:pat)$") for the simple patterns kustomize users write. */
int kz_anchored_match(const char *pat, const char *s)
{
    regex_t re;
    char *full = kz_printf("^(%s)$", pat);
    int ok = 0;

    if (full != NULL && regcomp(&re, full, REG_EXTENDED | REG_NOSUB) == 0) {
        ok = regexec(&re, s, 0, NULL, 0) == 0;
        regfree(&re);
    }
    free(full);
    return ok;
}

static int field_matches(const json_t *target, const char *key, const char *value)
{
    const char *pat = json_string_value(json_object_get(target, key));
    return pat == NULL || pat[0] == '\0' || kz_anchored_match(pat, value);
}

static const char *effective_ns(const struct kz_id *id)
{
    if (kz_id_cluster_scoped(id))
        return "";
    return id->ns && id->ns[0] ? id->ns : "default";
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* One requirement of a label selector: k, !k, k=v, k==v, k!=v, k in (a,b), k notin (a,b). */
static int requirement_matches(char *req, const json_t *labels)
{
    req = trim(req);
    if (req[0] == '!')
        return json_object_get(labels, trim(req + 1)) == NULL;
    char *op;
    if ((op = strstr(req, "!=")) != NULL) {
        *op = '\0';
        const char *v = json_string_value(json_object_get(labels, trim(req)));
        return v == NULL || strcmp(v, trim(op + 2)) != 0;
    }
    if ((op = strchr(req, '=')) != NULL) {
        *op = '\0';
        char *val = op[1] == '=' ? op + 2 : op + 1;
        const char *v = json_string_value(json_object_get(labels, trim(req)));
        return v != NULL && strcmp(v, trim(val)) == 0;
    }
    char *paren = strchr(req, '(');
    if (paren != NULL) {
        int notin = strstr(req, " notin") != NULL;
        char *sp = strchr(req, ' ');
        if (sp != NULL)
            *sp = '\0';
        const char *v = json_string_value(json_object_get(labels, trim(req)));
        char *close = strchr(paren, ')');
        if (close != NULL)
            *close = '\0';
        int found = 0;
        for (char *tok = strtok(paren + 1, ","); tok != NULL; tok = strtok(NULL, ","))
            if (v != NULL && strcmp(trim(tok), v) == 0)
                found = 1;
        return notin ? !found : found;
    }
    return json_object_get(labels, req) != NULL;
}

int kz_labels_match(const char *sel, const json_t *labels)
{
    char *copy = strdup(sel), *start = copy;
    int depth = 0, ok = 1;

    for (char *p = copy;; p++) {
        if (*p == '(')
            depth++;
        else if (*p == ')')
            depth--;
        if ((*p == ',' && depth == 0) || *p == '\0') {
            int end = *p == '\0';
            *p = '\0';
            if (trim(start)[0] != '\0' && !requirement_matches(start, labels))
                ok = 0;
            if (end)
                break;
            start = p + 1;
        }
    }
    free(copy);
    return ok;
}

static int res_selected(const struct kz_res *r, const json_t *t)
{
    struct kz_id cur = {0}, org = {0};
    int ok;

    kz_res_cur_id(&cur, r);
    kz_res_org_id(&org, r);
    const char *ns = json_string_value(json_object_get(t, "namespace"));
    ok = ns == NULL || ns[0] == '\0' || kz_anchored_match(ns, effective_ns(&org)) ||
         kz_anchored_match(ns, effective_ns(&cur));
    const char *name = json_string_value(json_object_get(t, "name"));
    ok = ok && (name == NULL || name[0] == '\0' || kz_anchored_match(name, org.name) ||
                kz_anchored_match(name, cur.name));
    ok = ok && field_matches(t, "group", cur.group) && field_matches(t, "version", cur.version) &&
         field_matches(t, "kind", cur.kind);
    const json_t *md = json_object_get(r->obj, "metadata");
    const char *ls = json_string_value(json_object_get(t, "labelSelector"));
    const char *as = json_string_value(json_object_get(t, "annotationSelector"));
    ok = ok && (ls == NULL || kz_labels_match(ls, json_object_get(md, "labels")));
    ok = ok && (as == NULL || kz_labels_match(as, json_object_get(md, "annotations")));
    kz_id_clear(&cur);
    kz_id_clear(&org);
    return ok;
}

/* Refuse target patterns that do not compile and selectors that do not parse. */
static int check_target(const json_t *target)
{
    static const char *const keys[] = {"group", "version", "kind", "name", "namespace"};
    for (size_t i = 0; i < 5; i++) {
        const char *pat = json_string_value(json_object_get(target, keys[i]));
        regex_t re;
        if (pat == NULL || pat[0] == '\0')
            continue;
        char *full = kz_printf("^(%s)$", pat);
        int bad = regcomp(&re, full, REG_EXTENDED | REG_NOSUB);
        free(full);
        if (bad)
            return gf_error_set(GF_EINVAL, "target %s: error parsing regexp `%s`", keys[i], pat);
        regfree(&re);
    }
    for (size_t i = 0; i < 2; i++) {
        const char *sel =
            json_string_value(json_object_get(target, i ? "annotationSelector" : "labelSelector"));
        int depth = 0;
        for (const char *p = sel; p != NULL && *p; p++) {
            depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
            if (depth < 0 || depth > 1)
                break;
        }
        if (sel != NULL && depth != 0)
            return gf_error_set(GF_EINVAL, "target: unable to parse requirement: '%s'", sel);
    }
    return 0;
}

int kz_select(const struct kz_resmap *m, const json_t *target, size_t **idx_out, size_t *n_out)
{
    size_t *idx = calloc(m->len + 1, sizeof(size_t)), n = 0;
    int error;

    if (idx == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    if (!json_is_object(target)) {
        free(idx);
        return gf_error_set(GF_EINVAL, "a patch target must be a map");
    }
    if ((error = check_target(target)) < 0) {
        free(idx);
        return error;
    }
    for (size_t i = 0; i < m->len; i++)
        if (res_selected(m->items[i], target))
            idx[n++] = i;
    *idx_out = idx;
    *n_out = n;
    return 0;
}

/* ---- applying one patch ---- */

struct patch_opts {
    int allow_name_change, allow_kind_change;
    const json_t *openapi;
};

/* Strategic merge of one patch document into one resource; an emptied
 * resource ($patch: delete) is removed by the caller. */
static int apply_sm(struct kz_res *r, const json_t *patch, const struct patch_opts *o)
{
    char name[512], ns[512], kind[256], gbuf[256];
    const char *g, *v;
    int error;

    snprintf(name, sizeof(name), "%s", kz_res_name(r));
    snprintf(ns, sizeof(ns), "%s", kz_res_namespace(r));
    snprintf(kind, sizeof(kind), "%s", kz_res_kind(r));
    if ((o->allow_name_change || o->allow_kind_change) && (error = kz_res_store_prev(r)) < 0)
        return error;
    kz_res_gv(r, gbuf, sizeof(gbuf), &g, &v);
    char *group = strdup(g), *version = strdup(v);
    json_t *p = json_deep_copy(patch);
    if (json_object_get(r->obj, "apiVersion") != NULL)
        json_object_set_new(p, "apiVersion", json_string(kz_res_api_version(r)));
    else
        json_object_del(p, "apiVersion");
    if (!o->allow_kind_change)
        json_object_set_new(p, "kind", json_string(kind));
    error = kz_smp_merge(&r->obj, p, group, version, kind, o->openapi);
    json_decref(p);
    free(group);
    free(version);
    if (error < 0 || r->obj == NULL || json_object_size(r->obj) == 0)
        return error;
    if (!o->allow_kind_change)
        json_object_set_new(r->obj, "kind", json_string(kind));
    if (!o->allow_name_change)
        kz_res_set_name(r, name);
    kz_res_set_namespace(r, ns);
    return 0;
}

static void drop_emptied(struct kz_resmap *m)
{
    for (size_t i = 0; i < m->len;) {
        if (m->items[i]->obj == NULL || json_object_size(m->items[i]->obj) == 0)
            kz_resmap_remove_at(m, i);
        else
            i++;
    }
}

/* A strategic merge patch with no target applies to the resource with its id. */
static int apply_sm_by_id(struct kz_resmap *m, const json_t *patch, const struct patch_opts *o)
{
    struct kz_res *tmp;
    struct kz_id id = {0};
    size_t idx[2];
    int error;

    if ((error = kz_res_new(&tmp, json_incref((json_t *)patch))) < 0)
        return error;
    kz_res_cur_id(&id, tmp);
    kz_res_free(tmp);
    size_t n = kz_resmap_find_any_id(m, &id, idx, 2);
    char *ids = kz_id_string(&id);
    kz_id_clear(&id);
    if (n != 1) {
        error = gf_error_set(n ? GF_ECONFLICT : GF_ENOTFOUND,
                             "no resource matches strategic merge patch \"%s\": %s for Id %s; "
                             "failed to find unique target for patch %s",
                             ids, n ? "multiple matches" : "no matches", ids, ids);
        free(ids);
        return error;
    }
    free(ids);
    if ((error = apply_sm(m->items[idx[0]], patch, o)) < 0)
        return error;
    drop_emptied(m);
    return 0;
}

static int apply_sm_targets(struct kz_resmap *m, const json_t *patch, const json_t *target,
                            const struct patch_opts *o)
{
    size_t *idx, n;
    int error;

    if ((error = kz_select(m, target, &idx, &n)) < 0)
        return error;
    for (size_t i = 0; i < n && error == 0; i++)
        error = apply_sm(m->items[idx[i]], patch, o);
    free(idx);
    if (error == 0)
        drop_emptied(m);
    return error;
}

static int apply_json_targets(struct kz_resmap *m, const json_t *ops, const json_t *target)
{
    size_t *idx, n;
    int error;

    if ((error = kz_select(m, target, &idx, &n)) < 0)
        return error;
    for (size_t i = 0; i < n && error == 0; i++) {
        struct kz_res *r = m->items[idx[i]];
        if ((error = kz_res_store_prev(r)) < 0)
            break;
        error = kz_json6902_apply(&r->obj, ops);
    }
    free(idx);
    return error;
}

/* Parse patch text: a list is a JSON 6902 patch, maps are strategic merge patches. */
static int parse_patch(json_t **docs_out, int *is_json, const char *text, const char *what)
{
    json_t *docs;
    int error;

    if ((error = gf_yaml_parse(&docs, text, strlen(text), what, NULL, 0)) < 0)
        return error;
    if (json_array_size(docs) == 1 && json_is_array(json_array_get(docs, 0))) {
        if (json_array_size(json_array_get(docs, 0)) == 0) {
            json_decref(docs);
            return gf_error_set(GF_EINVAL, "%s: unable to parse SM or JSON patch: empty JSON patch",
                                what);
        }
        *is_json = 1;
        *docs_out = json_incref(json_array_get(docs, 0));
        json_decref(docs);
        return 0;
    }
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d)
    {
        if (!json_is_object(d)) {
            json_decref(docs);
            return gf_error_set(GF_EINVAL, "%s: unable to parse SM or JSON patch", what);
        }
    }
    if (json_array_size(docs) == 0) {
        json_decref(docs);
        return gf_error_set(GF_EINVAL, "%s: patch appears to be empty", what);
    }
    *is_json = 0;
    *docs_out = docs;
    return 0;
}

static int load_patch_text(struct kz_build *b, const char *kdir, const json_t *entry,
                           char **text_out, const char *field)
{
    const char *path = json_string_value(json_object_get(entry, "path"));
    const char *inl = json_string_value(json_object_get(entry, "patch"));
    size_t len;

    if (path != NULL && inl != NULL)
        return gf_error_set(GF_EINVAL, "%s: patch and path can't be set at the same time", field);
    if (path != NULL)
        return kz_build_read(b, kdir, path, text_out, &len, NULL);
    if (inl == NULL)
        return gf_error_set(GF_EINVAL, "%s: must specify one of patch and path", field);
    *text_out = strdup(inl);
    return 0;
}

static int one_patch(struct kz_build *b, const char *kdir, const json_t *entry, struct kz_resmap *m)
{
    const json_t *target = json_object_get(entry, "target");
    const json_t *opts = json_object_get(entry, "options");
    struct patch_opts o = {json_is_true(json_object_get(opts, "allowNameChange")),
                           json_is_true(json_object_get(opts, "allowKindChange")),
                           kz_build_openapi(b)};
    char *text = NULL;
    json_t *docs = NULL;
    int is_json = 0, error;

    if (!json_is_object(entry))
        return gf_error_set(GF_EINVAL, "patches: each entry must be a map");
    if ((error = load_patch_text(b, kdir, entry, &text, "patches")) < 0 ||
        (error = parse_patch(&docs, &is_json, text, "patches")) < 0)
        goto out;
    if (target != NULL && json_is_null(target))
        target = NULL;
    if (is_json) {
        if (target == NULL)
            error =
                gf_error_set(GF_EINVAL, "patches: must specify a target for JSON patch %s", text);
        else
            error = apply_json_targets(m, docs, target);
        goto out;
    }
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d)
    {
        error = target ? apply_sm_targets(m, d, target, &o) : apply_sm_by_id(m, d, &o);
        if (error < 0)
            break;
    }
out:
    free(text);
    json_decref(docs);
    return error;
}

int kz_patches_apply(struct kz_build *b, const char *kdir, const json_t *kust, struct kz_resmap *m)
{
    const json_t *list = json_object_get(kust, "patches");
    size_t i;
    json_t *e;
    int error;

    if (list == NULL || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return gf_error_set(GF_EINVAL, "'patches' must be a list");
    json_array_foreach((json_t *)list, i, e)
    {
        if ((error = one_patch(b, kdir, e, m)) < 0)
            return error;
    }
    return 0;
}

/* An entry of patchesStrategicMerge is inline patch text or a file path. */
static int legacy_sm_docs(struct kz_build *b, const char *kdir, const char *entry,
                          json_t **docs_out)
{
    json_t *docs = NULL;
    char *text = NULL;
    size_t len;
    int error;

    if (gf_yaml_parse(&docs, entry, strlen(entry), "patchesStrategicMerge", NULL, 0) == 0 &&
        json_array_size(docs) > 0 && json_is_object(json_array_get(docs, 0))) {
        *docs_out = docs;
        return 0;
    }
    json_decref(docs);
    if ((error = kz_build_read(b, kdir, entry, &text, &len, NULL)) < 0)
        return error;
    error = gf_yaml_parse(&docs, text, len, entry, NULL, 0);
    free(text);
    if (error < 0)
        return error;
    if (json_array_size(docs) == 0) {
        json_decref(docs);
        return gf_error_set(GF_EINVAL,
                            "patchesStrategicMerge: patch appears to be empty; files=[%s]", entry);
    }
    *docs_out = docs;
    return 0;
}

int kz_patches_sm_legacy(struct kz_build *b, const char *kdir, const json_t *list,
                         struct kz_resmap *m)
{
    struct patch_opts o = {0, 0, kz_build_openapi(b)};
    size_t i, k;
    json_t *e, *d;
    int error;

    json_array_foreach((json_t *)list, i, e)
    {
        json_t *docs = NULL;
        if (!json_is_string(e))
            return gf_error_set(GF_EINVAL, "patchesStrategicMerge: entries must be strings");
        if ((error = legacy_sm_docs(b, kdir, json_string_value(e), &docs)) < 0)
            return error;
        json_array_foreach(docs, k, d)
        {
            if (!json_is_object(d)) {
                error = gf_error_set(GF_EINVAL, "patchesStrategicMerge: %s: not a map",
                                     json_string_value(e));
                break;
            }
            if ((error = apply_sm_by_id(m, d, &o)) < 0)
                break;
        }
        json_decref(docs);
        if (error < 0)
            return error;
    }
    return 0;
}

int kz_patches_json6902_legacy(struct kz_build *b, const char *kdir, const json_t *list,
                               struct kz_resmap *m)
{
    size_t i;
    json_t *e;
    int error;

    json_array_foreach((json_t *)list, i, e)
    {
        const json_t *target = json_object_get(e, "target");
        char *text = NULL;
        json_t *docs = NULL;
        int is_json = 0;
        if (!json_is_object(target))
            return gf_error_set(GF_EINVAL, "patchesJson6902: entry %zu must have a target", i);
        if ((error = load_patch_text(b, kdir, e, &text, "patchesJson6902")) == 0 &&
            (error = parse_patch(&docs, &is_json, text, "patchesJson6902")) == 0) {
            if (!is_json)
                error =
                    gf_error_set(GF_EINVAL, "patchesJson6902: entry %zu is not a JSON patch", i);
            else
                error = apply_json_targets(m, docs, target);
        }
        free(text);
        json_decref(docs);
        if (error < 0)
            return error;
    }
    return 0;
}
