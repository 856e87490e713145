/* workloads.c -- the objects workload controllers own: ReplicaSets of Deployments, Pods of
 * ReplicaSets, StatefulSets and DaemonSets */
#include "workloads.h"

#include "discovery.h"
#include "objects.h"
#include "store.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL_ANNOTATION     "kubesim.gitfleet.io/fail"
#define REVISION_ANNOTATION "deployment.kubernetes.io/revision"
#define HASH_LABEL          "pod-template-hash"

/* Null members and empty structs are zero values in a typed object (kubectl
 * sends "resources": {} and "creationTimestamp": null on rollout undo): they
 * must not change the hash. */
static void strip_nulls(json_t *v, int depth)
{
    const char *key;
    json_t *m;
    void *tmp;
    size_t i;

    if (depth > 64)
        return;
    json_object_foreach_safe(v, tmp, key, m)
    {
        strip_nulls(m, depth + 1);
        if (json_is_null(m) || (json_is_object(m) && json_object_size(m) == 0))
            json_object_del(v, key);
    }
    json_array_foreach(v, i, m) strip_nulls(m, depth + 1);
}

void ks_workloads_template_hash(char *buf, size_t n, const char *name, const json_t *tpl)
{
    json_t *clean = json_deep_copy(tpl);
    strip_nulls(clean, 0);
    char *text = json_dumps(clean, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(clean);
    unsigned long long h = 1469598103934665603ULL;
    for (const char *s = text ? text : ""; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    free(text);
    snprintf(buf, n, "%s-%08llx", name, h & 0xffffffffULL);
}

static json_t *get_path(json_t *obj, const char *a, const char *b)
{
    json_t *v = json_object_get(obj, a);
    return b != NULL ? json_object_get(v, b) : v;
}

static long long replicas_of(json_t *obj)
{
    json_t *r = get_path(obj, "spec", "replicas");
    return r != NULL ? json_integer_value(r) : 1;
}

/* The uid of obj's controller owner, or "". */
static const char *controller_uid(json_t *obj)
{
    json_t *refs = get_path(obj, "metadata", "ownerReferences"), *r;
    size_t i;
    json_array_foreach(refs, i, r)
    {
        const char *uid = json_string_value(json_object_get(r, "uid"));
        if (json_is_true(json_object_get(r, "controller")) && uid != NULL)
            return uid;
    }
    return "";
}

/* owner uid -> [owned objects] for every object of `key`. */
static json_t *index_by_owner(const char *key)
{
    json_t *list = ks_store_list(key, NULL, NULL), *idx = json_object(), *obj;
    size_t i;

    json_array_foreach(list, i, obj)
    {
        const char *uid = controller_uid(obj);
        if (uid[0] == '\0' || ks_obj_meta(obj, "deletionTimestamp")[0] != '\0')
            continue;
        json_t *owned = json_object_get(idx, uid);
        if (owned == NULL)
            json_object_set_new(idx, uid, owned = json_array());
        json_array_append(owned, obj);
    }
    json_decref(list);
    return idx;
}

static json_t *owner_ref(const char *api_version, const char *kind, json_t *owner)
{
    return json_pack("[{s:s,s:s,s:s,s:s,s:b,s:b}]", "apiVersion", api_version, "kind", kind, "name",
                     ks_obj_meta(owner, "name"), "uid", ks_obj_meta(owner, "uid"), "controller", 1,
                     "blockOwnerDeletion", 1);
}

static void create(const char *key, json_t *obj)
{
    const struct ks_type *t = ks_disc_find_key(key);
    if (t == NULL) {
        json_decref(obj);
        return;
    }
    struct ks_type copy = *t;
    ks_obj_create_meta(&copy, obj);
    ks_obj_store(&copy, obj);
}

static void delete_object(const char *key, json_t *obj)
{
    const struct ks_type *t = ks_disc_find_key(key);
    if (t != NULL) {
        struct ks_type copy = *t;
        json_decref(ks_obj_delete(&copy, obj, "Background"));
    }
}

/* Copy the failure marker so that owned objects fail like their owner. */
static void inherit_fail(json_t *md, json_t *owner)
{
    json_t *v = json_object_get(get_path(owner, "metadata", "annotations"), FAIL_ANNOTATION);
    if (v == NULL)
        return;
    json_t *ann = json_object_get(md, "annotations");
    if (!json_is_object(ann))
        json_object_set_new(md, "annotations", ann = json_object());
    json_object_set(ann, FAIL_ANNOTATION, v);
}

/* ---- Pods ------------------------------------------------------------------------------- */

static json_t *pod_from(json_t *tpl, const char *ns, const char *name, json_t *refs)
{
    json_t *md = json_deep_copy(json_object_get(tpl, "metadata"));
    json_t *spec = json_deep_copy(json_object_get(tpl, "spec"));

    if (!json_is_object(md))
        md = json_object();
    if (!json_is_object(spec))
        spec = json_object();
    json_object_set_new(md, "name", json_string(name));
    json_object_set_new(md, "namespace", json_string(ns));
    json_object_set_new(md, "ownerReferences", refs);
    json_object_set_new(spec, "nodeName", json_string("kubesim-node"));
    return json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", md, "spec",
                     spec);
}

static void random_suffix(char *buf)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    unsigned char r[5];
    RAND_bytes(r, sizeof(r));
    for (int i = 0; i < 5; i++)
        buf[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
    buf[5] = '\0';
}

/* `want` Pods named <owner>-<random> from the owner's template; with a
 * `revision`, Pods of another revision are replaced (DaemonSet updates). */
static void sync_pods(json_t *owner, const char *kind, long long want, const char *revision,
                      json_t *pods_by_owner)
{
    json_t *owned = json_object_get(pods_by_owner, ks_obj_meta(owner, "uid")), *pod;
    long long have = 0;
    const char *ns = ks_obj_meta(owner, "namespace");
    char name[300], suffix[6];
    size_t i;

    json_array_foreach(owned, i, pod)
    {
        const char *rev = json_string_value(
            json_object_get(get_path(pod, "metadata", "labels"), "controller-revision-hash"));
        if (have >= want || (revision != NULL && (rev == NULL || strcmp(rev, revision) != 0)))
            delete_object("pods", pod);
        else
            have++;
    }
    for (; have < want; have++) {
        random_suffix(suffix);
        snprintf(name, sizeof(name), "%s-%s", ks_obj_meta(owner, "name"), suffix);
        pod = pod_from(get_path(owner, "spec", "template"), ns, name,
                       owner_ref("apps/v1", kind, owner));
        if (revision != NULL) {
            json_t *md = json_object_get(pod, "metadata");
            if (!json_is_object(json_object_get(md, "labels")))
                json_object_set_new(md, "labels", json_object());
            json_object_set_new(json_object_get(md, "labels"), "controller-revision-hash",
                                json_string(revision));
        }
        inherit_fail(json_object_get(pod, "metadata"), owner);
        create("pods", pod);
    }
}

static void sync_replicaset_pods(json_t *rs, json_t *pods_by_owner)
{
    sync_pods(rs, "ReplicaSet", replicas_of(rs), NULL, pods_by_owner);
}

/* One node: one Pod per DaemonSet, replaced when the template changes. */
static void sync_daemonset_pods(json_t *ds, json_t *pods_by_owner)
{
    char name[300];
    ks_workloads_template_hash(name, sizeof(name), "", get_path(ds, "spec", "template"));
    sync_pods(ds, "DaemonSet", 1, name + 1, pods_by_owner);
}

static void sync_statefulset_pods(json_t *sts, json_t *pods_by_owner)
{
    json_t *owned = json_object_get(pods_by_owner, ks_obj_meta(sts, "uid")), *pod;
    long long want = replicas_of(sts);
    const char *ns = ks_obj_meta(sts, "namespace"), *base = ks_obj_meta(sts, "name");
    char name[300];
    size_t i;

    for (long long k = 0; k < want; k++) {
        snprintf(name, sizeof(name), "%s-%lld", base, k);
        if (ks_store_get("pods", ns, name) != NULL)
            continue;
        pod = pod_from(get_path(sts, "spec", "template"), ns, name,
                       owner_ref("apps/v1", "StatefulSet", sts));
        inherit_fail(json_object_get(pod, "metadata"), sts);
        create("pods", pod);
    }
    json_array_foreach(owned, i, pod)
    {
        const char *dash = strrchr(ks_obj_meta(pod, "name"), '-');
        if (dash != NULL && atoll(dash + 1) >= want)
            delete_object("pods", pod);
    }
}

/* ---- ReplicaSets of Deployments --------------------------------------------------------- */

static long long revision_of(json_t *rs)
{
    const char *v = json_string_value(
        json_object_get(get_path(rs, "metadata", "annotations"), REVISION_ANNOTATION));
    return v != NULL ? atoll(v) : 0;
}

static json_t *new_replicaset(json_t *dep, const char *name, const char *hash, long long revision)
{
    json_t *tpl = json_deep_copy(get_path(dep, "spec", "template"));
    json_t *sel = json_deep_copy(get_path(dep, "spec", "selector"));
    char rev[32];

    if (!json_is_object(tpl))
        tpl = json_object();
    if (!json_is_object(sel))
        sel = json_object();
    json_t *tmd = json_object_get(tpl, "metadata");
    if (!json_is_object(tmd))
        json_object_set_new(tpl, "metadata", tmd = json_object());
    json_t *labels = json_object_get(tmd, "labels");
    if (!json_is_object(labels))
        json_object_set_new(tmd, "labels", labels = json_object());
    json_object_set_new(labels, HASH_LABEL, json_string(hash));
    json_t *ml = json_object_get(sel, "matchLabels");
    if (!json_is_object(ml))
        json_object_set_new(sel, "matchLabels", ml = json_object());
    json_object_set_new(ml, HASH_LABEL, json_string(hash));
    snprintf(rev, sizeof(rev), "%lld", revision);
    json_t *md = json_pack("{s:s,s:s,s:O,s:{s:s},s:o}", "name", name, "namespace",
                           ks_obj_meta(dep, "namespace"), "labels", labels, "annotations",
                           REVISION_ANNOTATION, rev, "ownerReferences",
                           owner_ref("apps/v1", "Deployment", dep));
    inherit_fail(md, dep);
    return json_pack("{s:s,s:s,s:o,s:{s:I,s:o,s:o}}", "apiVersion", "apps/v1", "kind", "ReplicaSet",
                     "metadata", md, "spec", "replicas", (json_int_t)replicas_of(dep), "selector",
                     sel, "template", tpl);
}

static void set_replicas(json_t *rs, long long want)
{
    if (replicas_of(rs) == want)
        return;
    const struct ks_type *t = ks_disc_find_key("replicasets.apps");
    json_t *copy = json_deep_copy(rs);
    json_object_set_new(json_object_get(copy, "spec"), "replicas", json_integer(want));
    struct ks_type tc = *t;
    ks_obj_update_meta(&tc, copy, rs);
    ks_obj_store(&tc, copy);
}

/* Write annotation `key` = `value` on obj when it differs (metadata only). */
static void set_annotation(const char *type_key, json_t *obj, const char *key, long long value)
{
    char text[32];
    snprintf(text, sizeof(text), "%lld", value);
    json_t *ann = get_path(obj, "metadata", "annotations");
    const char *have = json_string_value(json_object_get(ann, key));
    if (have != NULL && strcmp(have, text) == 0)
        return;
    json_t *copy = json_deep_copy(obj), *md = json_object_get(copy, "metadata");
    if (!json_is_object(json_object_get(md, "annotations")))
        json_object_set_new(md, "annotations", json_object());
    json_object_set_new(json_object_get(md, "annotations"), key, json_string(text));
    struct ks_type tc = *ks_disc_find_key(type_key);
    ks_obj_update_meta(&tc, copy, obj);
    ks_obj_store(&tc, copy);
}

static void adopt(json_t *rs, json_t *dep)
{
    const struct ks_type *t = ks_disc_find_key("replicasets.apps");
    json_t *copy = json_deep_copy(rs);
    json_object_set_new(json_object_get(copy, "metadata"), "ownerReferences",
                        owner_ref("apps/v1", "Deployment", dep));
    struct ks_type tc = *t;
    ks_obj_update_meta(&tc, copy, rs);
    ks_obj_store(&tc, copy);
}

/* The rollout finished: the Deployment's controller said so. */
static int rolled_out(json_t *dep)
{
    json_t *conds = get_path(dep, "status", "conditions"), *c;
    size_t i;
    json_array_foreach(conds, i, c)
    {
        const char *reason = json_string_value(json_object_get(c, "reason"));
        if (reason != NULL && strcmp(reason, "NewReplicaSetAvailable") == 0)
            return 1;
    }
    return 0;
}

static json_t *hashes;      /* Deployment uid -> {"gen", "name"}: hashing is not free */
static json_t *next_hashes; /* this pass's entries: Deployments gone drop out */

static void replicaset_name(char *buf, size_t n, json_t *dep)
{
    const char *uid = ks_obj_meta(dep, "uid");
    json_t *gen = get_path(dep, "metadata", "generation");
    json_t *e = json_object_get(hashes, uid);

    if (e == NULL || !json_equal(json_object_get(e, "gen"), gen)) {
        ks_workloads_template_hash(buf, n, ks_obj_meta(dep, "name"),
                                   get_path(dep, "spec", "template"));
        e = json_pack("{s:O*,s:s}", "gen", gen, "name", buf);
        json_object_set_new(hashes, uid, e);
    }
    json_object_set(next_hashes, uid, e);
    snprintf(buf, n, "%s", json_string_value(json_object_get(e, "name")));
}

static void sync_deployment(json_t *dep, json_t *rs_by_owner)
{
    json_t *owned = json_object_get(rs_by_owner, ks_obj_meta(dep, "uid")), *rs;
    const char *ns = ks_obj_meta(dep, "namespace");
    char name[300];
    long long max_rev = 0;
    size_t i;

    replicaset_name(name, sizeof(name), dep);
    json_array_foreach(owned, i, rs) if (revision_of(rs) > max_rev) max_rev = revision_of(rs);
    json_t *current = ks_store_get("replicasets.apps", ns, name);
    long long rev = current != NULL ? revision_of(current) : max_rev + 1;
    if (current == NULL) {
        const char *hash = strrchr(name, '-') + 1;
        create("replicasets.apps", new_replicaset(dep, name, hash, rev));
    } else if (controller_uid(current)[0] == '\0') {
        adopt(current, dep); /* an orphan with our template: take it back, as Kubernetes does */
    } else {
        if (rev < max_rev) /* an older template again (rollout undo): it is the newest now */
            set_annotation("replicasets.apps", current, REVISION_ANNOTATION, rev = max_rev + 1);
        set_replicas(ks_store_get("replicasets.apps", ns, name), replicas_of(dep));
    }
    set_annotation("deployments.apps", dep, REVISION_ANNOTATION, rev);
    if (!rolled_out(dep))
        return;
    json_array_foreach(owned, i, rs) if (strcmp(ks_obj_meta(rs, "name"), name) != 0)
        set_replicas(rs, 0);
}

static void each_live(const char *key, void (*fn)(json_t *, json_t *), json_t *index)
{
    json_t *list = ks_store_list(key, NULL, NULL), *obj;
    size_t i;
    json_array_foreach(list, i, obj) if (ks_obj_meta(obj, "deletionTimestamp")[0] == '\0')
        fn(obj, index);
    json_decref(list);
}

void ks_workloads_sync(void)
{
    json_t *rs_by_owner = index_by_owner("replicasets.apps");
    if (hashes == NULL)
        hashes = json_object();
    next_hashes = json_object();
    each_live("deployments.apps", sync_deployment, rs_by_owner);
    json_decref(hashes);
    hashes = next_hashes;
    next_hashes = NULL;
    json_decref(rs_by_owner);

    json_t *pods_by_owner = index_by_owner("pods");
    each_live("replicasets.apps", sync_replicaset_pods, pods_by_owner);
    each_live("statefulsets.apps", sync_statefulset_pods, pods_by_owner);
    each_live("daemonsets.apps", sync_daemonset_pods, pods_by_owner);
    json_decref(pods_by_owner);
}

void ks_workloads_shutdown(void)
{
    json_decref(hashes);
    hashes = NULL;
}
