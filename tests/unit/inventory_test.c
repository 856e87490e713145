/* inventory_test.c -- inventories (file, ConfigMap), ownership and every prune rule */
#include "harness.h"

#include "inventory.h"
#include "gitfleet/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A live-looking object; tracked_by: app named in its tracking-id (NULL: none). */
static json_t *mk(const char *api_version, const char *kind, const char *ns, const char *name,
                  const char *tracked_by, const char *sync_options, const char *wave)
{
    json_t *o = json_pack("{s:s,s:s,s:{s:s,s:{}}}", "apiVersion", api_version, "kind", kind,
                          "metadata", "name", name, "annotations");
    json_t *ann = json_object_get(json_object_get(o, "metadata"), "annotations");

    if (ns != NULL)
        json_object_set_new(json_object_get(o, "metadata"), "namespace", json_string(ns));
    if (tracked_by != NULL) {
        char *tid = agent_inventory_tracking_id(tracked_by, o);
        json_object_set_new(ann, AGENT_INVENTORY_TRACKING_ANNOTATION, json_string(tid));
        free(tid);
    }
    if (sync_options != NULL)
        json_object_set_new(ann, "argocd.argoproj.io/sync-options", json_string(sync_options));
    if (wave != NULL)
        json_object_set_new(ann, "argocd.argoproj.io/sync-wave", json_string(wave));
    return o;
}

static struct agent_inventory *inv_of(const char *app, json_t *list)
{
    struct agent_inventory *inv = NULL;
    size_t i;
    json_t *o;

    GF_ASSERT_INT(agent_inventory_new(&inv, app), 0);
    json_array_foreach(list, i, o) GF_ASSERT_INT(agent_inventory_add_object(inv, o), 0);
    return inv;
}

static void test_inventory__ids_sorted_unique_hooks_left_out(void)
{
    json_t *list = json_pack("[o,o,o,o]", mk("apps/v1", "Deployment", "p", "web", NULL, NULL, NULL),
                             mk("v1", "ConfigMap", "p", "cfg", NULL, NULL, NULL),
                             mk("apps/v1beta1", "Deployment", "p", "web", NULL, NULL, NULL),
                             mk("v1", "Namespace", NULL, "p", NULL, NULL, NULL));
    json_t *hook =
        json_pack("{s:s,s:s,s:{s:s,s:{s:s}}}", "apiVersion", "batch/v1", "kind", "Job", "metadata",
                  "name", "migrate", "annotations", "argocd.argoproj.io/hook", "PreSync");
    struct agent_inventory *inv = inv_of("web", list);

    GF_ASSERT_INT(agent_inventory_add_object(inv, hook), 0);
    GF_ASSERT_INT(inv->n, 3);
    GF_ASSERT_STR(inv->ids[0].kind, "ConfigMap");
    GF_ASSERT_STR(inv->ids[1].kind, "Namespace");
    GF_ASSERT_STR(inv->ids[1].namespace_, "");
    GF_ASSERT_STR(inv->ids[2].group, "apps");
    GF_ASSERT_STR(inv->ids[2].version, "v1"); /* the first one added stays */
    GF_ASSERT(agent_inventory_has(inv, "apps", "Deployment", "p", "web"));
    GF_ASSERT(!agent_inventory_has(inv, "batch", "Job", "", "migrate"));
    GF_ASSERT(!agent_inventory_has(inv, "", "Deployment", "p", "web"));
    agent_inventory_free(inv);
    agent_inventory_free(NULL);
    json_decref(list);
    json_decref(hook);
}

static void test_inventory__json_round_trip_and_errors(void)
{
    json_t *list = json_pack("[o,o]", mk("apps/v1", "Deployment", "p", "web", NULL, NULL, NULL),
                             mk("v1", "Namespace", NULL, "p", NULL, NULL, NULL));
    struct agent_inventory *inv = inv_of("web", list), *back = NULL;
    json_t *doc = agent_inventory_to_json(inv), *bad;
    char *text = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);

    GF_ASSERT_STR(text, "{\"app\":\"web\",\"objects\":[{\"group\":\"\",\"kind\":\"Namespace\","
                        "\"name\":\"p\",\"namespace\":\"\",\"version\":\"v1\"},{\"group\":\"apps\","
                        "\"kind\":\"Deployment\",\"name\":\"web\",\"namespace\":\"p\","
                        "\"version\":\"v1\"}]}");
    GF_ASSERT_INT(agent_inventory_from_json(&back, doc), 0);
    GF_ASSERT_INT(back->n, 2);
    GF_ASSERT(agent_inventory_has(back, "apps", "Deployment", "p", "web"));
    bad = json_loads("{\"app\":\"web\",\"objects\":[{\"group\":\"\",\"version\":\"v1\","
                     "\"kind\":\"\",\"namespace\":\"\",\"name\":\"x\"}]}",
                     0, NULL);
    agent_inventory_free(inv);
    GF_ASSERT_INT(agent_inventory_from_json(&inv, bad), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "objects[0].kind");
    GF_ASSERT(inv == NULL);
    json_decref(bad);
    bad = json_loads("{\"app\":\"../etc\",\"objects\":[]}", 0, NULL);
    GF_ASSERT_INT(agent_inventory_from_json(&inv, bad), GF_EINVAL);
    json_decref(bad);
    free(text);
    json_decref(doc);
    json_decref(list);
    agent_inventory_free(back);
}

static void test_inventory__configmap_form(void)
{
    json_t *list = json_pack("[o]", mk("v1", "ConfigMap", "p", "cfg", NULL, NULL, NULL));
    struct agent_inventory *inv = inv_of("web", list), *back = NULL;
    json_t *cm = agent_inventory_configmap(inv, "gitfleet-system");

    GF_ASSERT_STR(json_string_value(json_object_get(cm, "kind")), "ConfigMap");
    GF_ASSERT_STR(json_string_value(json_object_get(json_object_get(cm, "metadata"), "name")),
                  "gitfleet-inventory-web");
    GF_ASSERT_STR(json_string_value(json_object_get(json_object_get(cm, "metadata"), "namespace")),
                  "gitfleet-system");
    GF_ASSERT_STR(json_string_value(
                      json_object_get(json_object_get(json_object_get(cm, "metadata"), "labels"),
                                      "gitfleet.io/inventory-for")),
                  "web");
    GF_ASSERT_STR(json_string_value(json_object_get(json_object_get(cm, "data"), "inventory.json")),
                  "{\"app\":\"web\",\"objects\":[{\"group\":\"\",\"kind\":\"ConfigMap\","
                  "\"name\":\"cfg\",\"namespace\":\"p\",\"version\":\"v1\"}]}");
    GF_ASSERT_INT(agent_inventory_from_configmap(&back, cm), 0);
    GF_ASSERT(agent_inventory_has(back, "", "ConfigMap", "p", "cfg"));
    agent_inventory_free(back);
    json_object_set_new(json_object_get(cm, "data"), "inventory.json", json_string("{nope"));
    GF_ASSERT_INT(agent_inventory_from_configmap(&back, cm), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "gitfleet-inventory-web");
    json_decref(cm);
    json_decref(list);
    agent_inventory_free(inv);
}

static void test_inventory__state_file_save_load(void)
{
    json_t *list = json_pack("[o]", mk("v1", "Secret", "p", "s", NULL, NULL, NULL));
    struct agent_inventory *inv = inv_of("web", list), *back = NULL;
    const char *dir = gf_test_tmpdir();
    char path[512];

    GF_ASSERT_INT(agent_inventory_load(&back, dir, "web"), GF_ENOTFOUND);
    GF_ASSERT_INT(agent_inventory_save(inv, dir), 0);
    GF_ASSERT_INT(agent_inventory_load(&back, dir, "web"), 0);
    GF_ASSERT(agent_inventory_has(back, "", "Secret", "p", "s"));
    agent_inventory_free(back);
    /* a file that holds another app's inventory is refused */
    snprintf(path, sizeof(path), "%s/inventory/api.json", dir);
    gf_test_write_file(path, "{\"app\":\"web\",\"objects\":[]}", 26);
    GF_ASSERT_INT(agent_inventory_load(&back, dir, "api"), GF_EINVAL);
    GF_ASSERT_INT(agent_inventory_load(&back, dir, "../web"), GF_EINVAL);
    json_decref(list);
    agent_inventory_free(inv);
}

static void test_inventory__owns_needs_matching_tracking_id(void)
{
    json_t *mine = mk("apps/v1", "Deployment", "p", "web", "web", NULL, NULL);
    json_t *other = mk("apps/v1", "Deployment", "p", "web", "api", NULL, NULL);
    json_t *none = mk("apps/v1", "Deployment", "p", "web", NULL, NULL, NULL);
    json_t *copy = mk("apps/v1", "Deployment", "p", "web-copy", NULL, NULL, NULL);
    json_t *ns = mk("v1", "Namespace", NULL, "p", "web", NULL, NULL);
    char *tid = agent_inventory_tracking_id("web", mine);

    GF_ASSERT_STR(tid, "web:apps/Deployment:p/web");
    free(tid);
    tid = agent_inventory_tracking_id("web", ns);
    GF_ASSERT_STR(tid, "web:/Namespace:/p");
    free(tid);
    /* copy carries web's tracking-id of another object */
    json_object_set_new(json_object_get(json_object_get(copy, "metadata"), "annotations"),
                        AGENT_INVENTORY_TRACKING_ANNOTATION,
                        json_string("web:apps/Deployment:p/web"));
    GF_ASSERT_INT(agent_inventory_owns("web", mine), 1);
    GF_ASSERT_INT(agent_inventory_owns("web", ns), 1);
    GF_ASSERT_INT(agent_inventory_owns("web", other), 0);
    GF_ASSERT_INT(agent_inventory_owns("web", none), 0);
    GF_ASSERT_INT(agent_inventory_owns("web", copy), 0);
    GF_ASSERT_INT(agent_inventory_owns("we", mine), 0);
    json_decref(mine);
    json_decref(other);
    json_decref(none);
    json_decref(copy);
    json_decref(ns);
}

static void test_inventory__from_bundle_app(void)
{
    Gitfleet__ResourceId ids[3] = {GITFLEET__RESOURCE_ID__INIT, GITFLEET__RESOURCE_ID__INIT,
                                   GITFLEET__RESOURCE_ID__INIT};
    Gitfleet__Resource res[3] = {GITFLEET__RESOURCE__INIT, GITFLEET__RESOURCE__INIT,
                                 GITFLEET__RESOURCE__INIT};
    Gitfleet__Resource *list[3] = {&res[0], &res[1], &res[2]};
    Gitfleet__App app = GITFLEET__APP__INIT;
    const char *bodies[3] = {"{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"}}",
                             "{\"kind\":\"Job\",\"metadata\":{\"name\":\"m\",\"annotations\":{"
                             "\"argocd.argoproj.io/hook\":\"PreSync\"}}}",
                             "{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"p\"}}"};
    const char *kinds[3] = {"Deployment", "Job", "Namespace"}, *names[3] = {"web", "m", "p"};
    const char *groups[3] = {"apps", "batch", ""}, *nss[3] = {"p", "p", ""};
    struct agent_inventory *inv = NULL;

    for (int i = 0; i < 3; i++) {
        ids[i].group = (char *)groups[i];
        ids[i].version = (char *)"v1";
        ids[i].kind = (char *)kinds[i];
        ids[i].namespace_ = (char *)nss[i];
        ids[i].name = (char *)names[i];
        res[i].id = &ids[i];
        res[i].has_body = 1;
        res[i].body.data = (uint8_t *)bodies[i];
        res[i].body.len = strlen(bodies[i]);
    }
    app.name = (char *)"web";
    app.n_resources = 3;
    app.resources = list;
    GF_ASSERT_INT(agent_inventory_from_app(&inv, &app), 0);
    GF_ASSERT_INT(inv->n, 2); /* the hook is not owned */
    GF_ASSERT(agent_inventory_has(inv, "apps", "Deployment", "p", "web"));
    GF_ASSERT(agent_inventory_has(inv, "", "Namespace", "", "p"));
    agent_inventory_free(inv);
    res[2].body.len = 3;
    GF_ASSERT_INT(agent_inventory_from_app(&inv, &app), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "app web: resources[2] (Namespace p): body is not JSON");
    GF_ASSERT(inv == NULL);
}

/* --- prune decisions ------------------------------------------------------ */

static int lookup(void *ctx, const struct agent_inventory_id *id, json_t **out)
{
    size_t i;
    json_t *o;

    *out = NULL;
    json_array_foreach((json_t *)ctx, i, o)
    {
        const json_t *m = json_object_get(o, "metadata");
        const char *ns = json_string_value(json_object_get(m, "namespace"));
        if (strcmp(json_string_value(json_object_get(o, "kind")), id->kind) == 0 &&
            strcmp(ns ? ns : "", id->namespace_) == 0 &&
            strcmp(json_string_value(json_object_get(m, "name")), id->name) == 0) {
            if (strcmp(id->name, "unreadable") == 0)
                return gf_error_set(GF_EIO, "connection reset");
            *out = json_incref(o);
        }
    }
    return 0;
}

/* Previous inventory = every object of `live` plus `extra`; desired = `want`. */
struct scene {
    json_t *live, *want;
    struct agent_inventory *prev, *desired;
    struct agent_inventory_prune out;
};

static void scene_run(struct scene *s, const char *gone_name, int vanished,
                      const struct agent_inventory_prune_options *opts, int expect)
{
    s->prev = inv_of("web", s->live);
    if (gone_name != NULL) {
        json_t *g = mk("v1", "ConfigMap", "p", gone_name, "web", NULL, NULL);
        GF_ASSERT_INT(agent_inventory_add_object(s->prev, g), 0);
        json_decref(g);
    }
    s->desired = vanished ? NULL : inv_of("web", s->want);
    GF_ASSERT_INT(agent_inventory_prune(&s->out, s->prev, s->desired, lookup, s->live, opts),
                  expect);
}

static void scene_free(struct scene *s)
{
    agent_inventory_prune_clear(&s->out);
    agent_inventory_free(s->prev);
    agent_inventory_free(s->desired);
    json_decref(s->live);
    json_decref(s->want);
}

static enum agent_inventory_verdict verdict_of(struct scene *s, const char *name)
{
    for (size_t i = 0; i < s->out.n; i++)
        if (strcmp(s->out.entries[i].id.name, name) == 0)
            return s->out.entries[i].verdict;
    gf_test_fail(__FILE__, __LINE__, "no entry for %s", name);
}

static void test_inventory__prune_verdicts_per_rule(void)
{
    struct scene s = {0};
    struct agent_inventory_prune_options o = {.prune = 1, .max_share = 1};

    s.live = json_pack("[o,o,o,o,o,o]", mk("v1", "ConfigMap", "p", "kept", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "removed", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "foreign", "api", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "untracked", NULL, NULL, NULL),
                       mk("v1", "ConfigMap", "p", "noprune", "web", "Prune=false", NULL),
                       mk("v1", "ConfigMap", "p", "confirm", "web", "Prune=confirm", NULL));
    s.want = json_pack("[o]", mk("v1", "ConfigMap", "p", "kept", NULL, NULL, NULL));
    scene_run(&s, "vanished", 0, &o, 0);
    GF_ASSERT_INT(s.out.n, 6);
    GF_ASSERT_INT(verdict_of(&s, "removed"), AGENT_INVENTORY_DELETE);
    GF_ASSERT_INT(verdict_of(&s, "vanished"), AGENT_INVENTORY_GONE);
    GF_ASSERT_INT(verdict_of(&s, "foreign"), AGENT_INVENTORY_NOT_OWNED);
    GF_ASSERT_INT(verdict_of(&s, "untracked"), AGENT_INVENTORY_NOT_OWNED);
    GF_ASSERT_INT(verdict_of(&s, "noprune"), AGENT_INVENTORY_KEEP);
    GF_ASSERT_INT(verdict_of(&s, "confirm"), AGENT_INVENTORY_CONFIRM);
    GF_ASSERT_INT(s.out.n_delete, 1);
    GF_ASSERT_INT(s.out.held, 0);
    /* next: desired + ours that may still exist; gone and foreign dropped */
    GF_ASSERT(agent_inventory_has(s.out.next, "", "ConfigMap", "p", "kept"));
    GF_ASSERT(agent_inventory_has(s.out.next, "", "ConfigMap", "p", "removed"));
    GF_ASSERT(agent_inventory_has(s.out.next, "", "ConfigMap", "p", "noprune"));
    GF_ASSERT(!agent_inventory_has(s.out.next, "", "ConfigMap", "p", "vanished"));
    GF_ASSERT(!agent_inventory_has(s.out.next, "", "ConfigMap", "p", "foreign"));
    GF_ASSERT(s.out.entries[0].live != NULL || s.out.entries[0].verdict == AGENT_INVENTORY_GONE);
    scene_free(&s);
}

static void test_inventory__confirm_allowed_and_prune_disabled(void)
{
    struct scene s = {0};
    struct agent_inventory_prune_options o = {.prune = 1, .allowed = 1};

    s.live = json_pack("[o,o]", mk("v1", "ConfigMap", "p", "kept", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "confirm", "web", "Prune=confirm", NULL));
    s.want = json_pack("[o]", mk("v1", "ConfigMap", "p", "kept", NULL, NULL, NULL));
    scene_run(&s, NULL, 0, &o, 0);
    GF_ASSERT_INT(verdict_of(&s, "confirm"), AGENT_INVENTORY_DELETE);
    scene_free(&s);

    memset(&s, 0, sizeof(s));
    o.prune = 0;
    o.allowed = 0;
    s.live = json_pack("[o,o,o,o]", mk("v1", "ConfigMap", "p", "a", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "b", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "c", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "gone-soon", "web", NULL, NULL));
    s.want = json_pack("[o,o,o]", mk("v1", "ConfigMap", "p", "a", NULL, NULL, NULL),
                       mk("v1", "ConfigMap", "p", "b", NULL, NULL, NULL),
                       mk("v1", "ConfigMap", "p", "c", NULL, NULL, NULL));
    scene_run(&s, NULL, 0, &o, 0);
    GF_ASSERT_INT(verdict_of(&s, "gone-soon"), AGENT_INVENTORY_DISABLED);
    GF_ASSERT_INT(s.out.n_delete, 0);
    GF_ASSERT(agent_inventory_has(s.out.next, "", "ConfigMap", "p", "gone-soon"));
    scene_free(&s);
}

static void test_inventory__app_level_prune_false(void)
{
    struct scene s = {0};
    struct agent_syncopts app;
    struct agent_inventory_prune_options o = {.prune = 1, .app_opts = &app};

    agent_syncopts_init(&app);
    app.prune = AGENT_SYNCOPTS_NO;
    s.live = json_pack("[o,o,o]", mk("v1", "ConfigMap", "p", "a", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "b", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "c", "web", "Prune=true", NULL));
    s.want = json_pack("[o]", mk("v1", "ConfigMap", "p", "a", NULL, NULL, NULL));
    scene_run(&s, NULL, 0, &o, 0);
    GF_ASSERT_INT(verdict_of(&s, "b"), AGENT_INVENTORY_KEEP);
    GF_ASSERT_INT(verdict_of(&s, "c"), AGENT_INVENTORY_DELETE); /* the resource's option wins */
    scene_free(&s);
}

static void test_inventory__safety_valve_share(void)
{
    struct scene s = {0};
    struct agent_inventory_prune_options o = {.prune = 1};

    /* 2 of 4 = 50%: not more than half, pruned */
    s.live = json_pack("[o,o,o,o]", mk("v1", "ConfigMap", "p", "a", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "b", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "c", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "d", "web", NULL, NULL));
    s.want = json_pack("[o,o]", mk("v1", "ConfigMap", "p", "a", NULL, NULL, NULL),
                       mk("v1", "ConfigMap", "p", "b", NULL, NULL, NULL));
    scene_run(&s, NULL, 0, &o, 0);
    GF_ASSERT_INT(s.out.held, 0);
    GF_ASSERT_INT(s.out.n_delete, 2);
    scene_free(&s);

    /* 3 of 4: held, with the reason */
    memset(&s, 0, sizeof(s));
    s.live = json_pack("[o,o,o,o]", mk("v1", "ConfigMap", "p", "a", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "b", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "c", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "d", "web", NULL, NULL));
    s.want = json_pack("[o]", mk("v1", "ConfigMap", "p", "a", NULL, NULL, NULL));
    scene_run(&s, NULL, 0, &o, 0);
    GF_ASSERT_INT(s.out.held, 1);
    GF_ASSERT_INT(s.out.n_delete, 0);
    GF_ASSERT_INT(verdict_of(&s, "b"), AGENT_INVENTORY_HELD);
    GF_ASSERT_HAS(s.out.reason, "3 of 4 objects would be deleted (more than 50%)");
    GF_ASSERT(agent_inventory_has(s.out.next, "", "ConfigMap", "p", "d"));
    scene_free(&s);

    /* the same, allowed */
    memset(&s, 0, sizeof(s));
    o.allowed = 1;
    s.live = json_pack("[o,o]", mk("v1", "ConfigMap", "p", "a", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "b", "web", NULL, NULL));
    s.want = json_pack("[]");
    scene_run(&s, NULL, 0, &o, 0);
    GF_ASSERT_INT(s.out.held, 0);
    GF_ASSERT_INT(s.out.n_delete, 2);
    scene_free(&s);
}

static void test_inventory__vanished_app_held_then_delete_false(void)
{
    struct scene s = {0};
    struct agent_inventory_prune_options o = {.prune = 0};

    s.live = json_pack("[o]", mk("v1", "ConfigMap", "p", "a", "web", NULL, NULL));
    scene_run(&s, NULL, 1, &o, 0);
    GF_ASSERT_INT(s.out.held, 1);
    GF_ASSERT_HAS(s.out.reason, "no longer in the bundle");
    GF_ASSERT_INT(verdict_of(&s, "a"), AGENT_INVENTORY_HELD);
    scene_free(&s);

    memset(&s, 0, sizeof(s));
    o.allowed = 1;
    s.live = json_pack("[o,o,o]", mk("v1", "ConfigMap", "p", "a", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "keep", "web", "Delete=false", NULL),
                       mk("v1", "ConfigMap", "p", "np", "web", "Prune=false", NULL));
    scene_run(&s, NULL, 1, &o, 0);
    GF_ASSERT_INT(s.out.held, 0);
    GF_ASSERT_INT(verdict_of(&s, "a"), AGENT_INVENTORY_DELETE);
    GF_ASSERT_INT(verdict_of(&s, "keep"), AGENT_INVENTORY_KEEP);
    GF_ASSERT_INT(verdict_of(&s, "np"), AGENT_INVENTORY_DELETE); /* Prune= is for prunes */
    scene_free(&s);
}

static void test_inventory__entries_in_reverse_apply_order(void)
{
    struct scene s = {0};
    struct agent_inventory_prune_options o = {.prune = 1, .allowed = 1};

    s.live = json_pack("[o,o,o,o,o]", mk("v1", "Namespace", NULL, "p", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "cfg", "web", NULL, NULL),
                       mk("apps/v1", "Deployment", "p", "web", "web", NULL, NULL),
                       mk("example.com/v1", "Widget", "p", "w", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "early", "web", NULL, "-1"));
    s.want = json_pack("[]");
    scene_run(&s, NULL, 0, &o, 0);
    GF_ASSERT_INT(s.out.n, 5);
    GF_ASSERT_STR(s.out.entries[0].id.kind, "Widget");
    GF_ASSERT_STR(s.out.entries[1].id.kind, "Deployment");
    GF_ASSERT_STR(s.out.entries[2].id.name, "cfg");
    GF_ASSERT_STR(s.out.entries[3].id.kind, "Namespace");
    GF_ASSERT_STR(s.out.entries[4].id.name, "early");
    scene_free(&s);
}

static void test_inventory__lookup_error_fails_the_decision(void)
{
    struct scene s = {0};
    struct agent_inventory_prune_options o = {.prune = 1};

    s.live = json_pack("[o,o]", mk("v1", "ConfigMap", "p", "a", "web", NULL, NULL),
                       mk("v1", "ConfigMap", "p", "unreadable", "web", NULL, NULL));
    s.want = json_pack("[o]", mk("v1", "ConfigMap", "p", "a", NULL, NULL, NULL));
    scene_run(&s, NULL, 0, &o, GF_EIO);
    GF_ASSERT_HAS(gf_error_last(), "reading ConfigMap p/unreadable: connection reset");
    GF_ASSERT(s.out.entries == NULL && s.out.next == NULL);
    scene_free(&s);
}

GF_TESTS(GF_TEST(test_inventory__ids_sorted_unique_hooks_left_out),
         GF_TEST(test_inventory__json_round_trip_and_errors),
         GF_TEST(test_inventory__configmap_form), GF_TEST(test_inventory__state_file_save_load),
         GF_TEST(test_inventory__owns_needs_matching_tracking_id),
         GF_TEST(test_inventory__from_bundle_app), GF_TEST(test_inventory__prune_verdicts_per_rule),
         GF_TEST(test_inventory__confirm_allowed_and_prune_disabled),
         GF_TEST(test_inventory__app_level_prune_false),
         GF_TEST(test_inventory__safety_valve_share),
         GF_TEST(test_inventory__vanished_app_held_then_delete_false),
         GF_TEST(test_inventory__entries_in_reverse_apply_order),
         GF_TEST(test_inventory__lookup_error_fails_the_decision));
