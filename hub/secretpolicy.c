/* secretpolicy.c -- no plaintext Secret values in Git unless the app opts in */
#include "secretpolicy.h"

#include "gitfleet/error.h"
#include "gitfleet/sealed.h"
#include "gitfleet/yaml_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How far the search for the offending file goes (only on refusal). */
#define SEARCH_MAX_FILES 5000
#define SEARCH_MAX_DEPTH 12

struct search {
    const char *name; /* the Secret's name in the file (before any prefix) */
    const char *rendered;
    char found[1024];
    int files;
};

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The rendered name is the file's name, maybe with kustomize's prefix and
 * suffix around it. */
static int same_secret(const json_t *doc, const char *rendered)
{
    const char *name = json_string_value(json_object_get(json_object_get(doc, "metadata"), "name"));
    return gf_sealed_is_plain_secret_with_data(doc) && name && name[0] &&
           strstr(rendered, name) != NULL;
}

static int file_has(hub_filesrc *tree, const char *path, const char *rendered)
{
    char *data = NULL;
    size_t len = 0;
    json_t *docs = NULL, *doc, *item;
    size_t i, j;
    int hit = 0;

    if (hub_filesrc_read(tree, path, &data, &len) < 0)
        return 0;
    if (gf_yaml_parse(&docs, data, len, path, NULL, 0) == 0)
        json_array_foreach(docs, i, doc)
        {
            hit |= same_secret(doc, rendered);
            json_array_foreach(json_object_get(doc, "items"), j, item) hit |=
                same_secret(item, rendered);
            /* a kustomize secretGenerator of that name */
            json_array_foreach(json_object_get(doc, "secretGenerator"), j, item)
            {
                const char *g = json_string_value(json_object_get(item, "name"));
                hit |= g && strstr(rendered, g) != NULL;
            }
        }
    json_decref(docs);
    free(data);
    return hit;
}

static void search_dir(struct search *s, hub_filesrc *tree, const char *dir, int depth)
{
    char **names = NULL;
    size_t count = 0;

    if (depth > SEARCH_MAX_DEPTH || s->found[0] || hub_filesrc_list(tree, dir, &names, &count) < 0)
        return;
    for (size_t i = 0; i < count && !s->found[0] && s->files < SEARCH_MAX_FILES; i++) {
        char *path = NULL;
        enum hub_filesrc_type type = HUB_FILESRC_NONE;
        if (hub_filesrc_join(&path, dir, names[i]) < 0 || hub_filesrc_stat(tree, path, &type) < 0) {
        } else if (type == HUB_FILESRC_DIR && names[i][0] != '.') {
            search_dir(s, tree, path, depth + 1);
        } else if (type == HUB_FILESRC_FILE &&
                   (has_suffix(path, ".yaml") || has_suffix(path, ".yml") ||
                    has_suffix(path, ".json") || strcmp(names[i], "Kustomization") == 0)) {
            s->files++;
            if (file_has(tree, path, s->rendered))
                snprintf(s->found, sizeof(s->found), "%s", path);
        }
        free(path);
    }
    hub_filesrc_names_free(names, count);
}

/* The file the Secret comes from: under the app's path first, then the
 * whole repository (kustomize bases may live elsewhere). */
static void find_file(char *out, size_t cap, hub_filesrc *tree, const struct hub_app *app,
                      const char *rendered)
{
    struct search s = {.rendered = rendered};

    search_dir(&s, tree, app->path, 0);
    if (!s.found[0])
        search_dir(&s, tree, "", 0);
    snprintf(out, cap, "%s", s.found[0] ? s.found : app->path);
}

int hub_secretpolicy_check(const struct hub_app *app, const json_t *docs, hub_filesrc *tree)
{
    const json_t *doc;
    size_t i;

    if (app->allow_plain_secrets)
        return 0;
    json_array_foreach(docs, i, doc)
    {
        if (!gf_sealed_is_plain_secret_with_data(doc))
            continue;
        const json_t *md = json_object_get(doc, "metadata");
        const char *name = json_string_value(json_object_get(md, "name"));
        const char *ns = json_string_value(json_object_get(md, "namespace"));
        char file[1024];
        find_file(file, sizeof(file), tree, app, name ? name : "");
        return gf_error_set(GF_EPERM,
                            "%s: Secret %s%s%s holds plaintext values in Git: seal it "
                            "(`gitfleet seal -f FILE --cluster C`, docs/secrets.md) or let this "
                            "app keep plain Secrets (annotation %s: \"true\" on the "
                            "Application, or the hub setting allow-plain-secrets)",
                            file, ns ? ns : "", ns ? "/" : "", name ? name : "",
                            HUB_SECRETPOLICY_ANNOTATION);
    }
    return 0;
}
