/* ui_test.c -- the dashboard's embedded files and its page paths */
#include "harness.h"

#include "ui.h"

#include <string.h>

static const struct hub_ui_asset *asset(const char *name)
{
    for (size_t i = 0; i < hub_ui_assets_count; i++)
        if (strcmp(hub_ui_assets[i].name, name) == 0)
            return &hub_ui_assets[i];
    return NULL;
}

static void test_ui__page_paths(void)
{
    GF_ASSERT(hub_ui_is_page("/"));
    GF_ASSERT(hub_ui_is_page("/ui"));
    GF_ASSERT(hub_ui_is_page("/ui/"));
    GF_ASSERT(hub_ui_is_page("/ui/cluster/dev-1"));
    GF_ASSERT(hub_ui_is_page("/ui/assets/app.js"));
    GF_ASSERT(!hub_ui_is_page("/uix"));
    GF_ASSERT(!hub_ui_is_page("/api/v1/ui/fleet"));
    GF_ASSERT(!hub_ui_is_page("/healthz"));
    GF_ASSERT(!hub_ui_is_page(""));
}

/* Every file index.html loads is embedded, typed and tagged; the bytes are the file's. */
static void test_ui__assets_embedded(void)
{
    const char *names[] = {"index.html", "app.js", "style.css", "icon.svg"};
    const struct hub_ui_asset *index = asset("index.html");
    char ref[64];

    GF_ASSERT(index != NULL);
    GF_ASSERT(index->len > 100 && index->data[index->len] == '\0');
    GF_ASSERT(strncmp((const char *)index->data, "<!doctype html>", 15) == 0);
    GF_ASSERT(strstr(index->type, "text/html") != NULL);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const struct hub_ui_asset *a = asset(names[i]);
        GF_ASSERT(a != NULL);
        GF_ASSERT(a->len > 0 && strlen((const char *)a->data) == a->len);
        GF_ASSERT_INT(strlen(a->etag), 18);
        GF_ASSERT(a->etag[0] == '"' && a->etag[17] == '"');
        if (i > 0) {
            snprintf(ref, sizeof(ref), "/ui/assets/%s", names[i]);
            GF_ASSERT(strstr((const char *)index->data, ref) != NULL);
        }
    }
    GF_ASSERT(strstr(asset("app.js")->type, "javascript") != NULL);
    GF_ASSERT(strcmp(asset("app.js")->etag, asset("style.css")->etag) != 0);
    /* no CDN, no remote anything: the page must work air-gapped */
    for (size_t i = 0; i < hub_ui_assets_count; i++)
        GF_ASSERT(strstr((const char *)hub_ui_assets[i].data, "https://") == NULL);
}

GF_TESTS(GF_TEST(test_ui__page_paths), GF_TEST(test_ui__assets_embedded));
