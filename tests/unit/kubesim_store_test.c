/* kubesim_store_test.c -- kubesim's store: resourceVersions, the watch log window, selectors */
#include "harness.h"

#include "../kubesim/select.h"
#include "../kubesim/store.h"

#include "gitfleet/error.h"

#include <stdio.h>

static json_t *cm(const char *ns, const char *name, const char *labels)
{
    json_error_t err;
    char text[512];
    snprintf(text, sizeof(text),
             "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
             "\"labels\":%s}}",
             name, ns, labels);
    json_t *v = json_loads(text, 0, &err);
    GF_ASSERT(v != NULL);
    return v;
}

static void test_kubesim_store__versions_lists_and_the_watch_window(void)
{
    json_t *evs = json_array();
    uint64_t oldest = 0;

    ks_store_init(3);
    ks_store_lock();
    GF_ASSERT_INT(ks_store_rv(), 1);
    ks_store_put("configmaps", "b", "x", cm("b", "x", "{}"));
    ks_store_put("configmaps", "a", "y", cm("a", "y", "{}"));
    ks_store_put("configmaps", "a", "x", cm("a", "x", "{}"));
    json_t *got = ks_store_get("configmaps", "a", "x");
    GF_ASSERT_STR(
        json_string_value(json_object_get(json_object_get(got, "metadata"), "resourceVersion")),
        "4");
    /* lists are sorted by namespace then name, and continue after a key */
    json_t *list = ks_store_list("configmaps", NULL, "a/x");
    GF_ASSERT_INT(json_array_size(list), 2);
    GF_ASSERT_STR(json_string_value(json_object_get(
                      json_object_get(json_array_get(list, 0), "metadata"), "name")),
                  "y");
    json_decref(list);

    /* the log holds 3 events: from 1 everything is still there */
    GF_ASSERT_INT(ks_store_events(evs, 1, "configmaps", &oldest), 4);
    GF_ASSERT_INT(json_array_size(evs), 3);
    ks_store_remove("configmaps", "b", "x"); /* rv 5 pushes rv 2 out */
    json_array_clear(evs);
    GF_ASSERT_INT(ks_store_events(evs, 1, "configmaps", &oldest), 0);
    GF_ASSERT_INT(oldest, 2);
    GF_ASSERT_INT(ks_store_events(evs, 2, "configmaps", &oldest), 5);
    GF_ASSERT_INT(json_array_size(evs), 3);
    GF_ASSERT_STR(json_string_value(json_object_get(json_array_get(evs, 2), "type")), "DELETED");
    json_decref(evs);
    ks_store_unlock();
    ks_store_shutdown();
}

static void test_kubesim_store__label_selectors(void)
{
    json_t *o = cm("a", "x", "{\"app\":\"web\",\"tier\":\"front\"}");
    GF_ASSERT_INT(ks_select_labels("app=web", o), 1);
    GF_ASSERT_INT(ks_select_labels("app==web,tier!=back", o), 1);
    GF_ASSERT_INT(ks_select_labels("tier in (back, front)", o), 1);
    GF_ASSERT_INT(ks_select_labels("tier notin (front)", o), 0);
    GF_ASSERT_INT(ks_select_labels("app,!missing", o), 1);
    GF_ASSERT_INT(ks_select_labels("!app", o), 0);
    GF_ASSERT_INT(ks_select_labels("domain in (x)", o), 0);
    GF_ASSERT(ks_select_labels("app in x", o) < 0);
    GF_ASSERT_INT(ks_select_fields("metadata.name=x,metadata.namespace==a", o), 1);
    GF_ASSERT_INT(ks_select_fields("metadata.name!=x", o), 0);
    GF_ASSERT(ks_select_fields("metadata.name", o) < 0);
    json_decref(o);
}

GF_TESTS(GF_TEST(test_kubesim_store__versions_lists_and_the_watch_window),
         GF_TEST(test_kubesim_store__label_selectors));
