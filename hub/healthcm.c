/* healthcm.c -- health scripts of the fleet (argocd-cm in the repository, a customizations dir) */
#include "healthcm.h"
#include "gitfleet/error.h"
#include "gitfleet/yaml_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int yaml_name(const char *name)
{
    size_t n = strlen(name);

    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int is_argocd_cm(const json_t *doc)
{
    const json_t *kind = json_object_get(doc, "kind");
    const json_t *name = json_object_get(json_object_get(doc, "metadata"), "name");

    return json_is_string(kind) && strcmp(json_string_value(kind), "ConfigMap") == 0 &&
           json_is_string(name) && strcmp(json_string_value(name), "argocd-cm") == 0;
}

static int note(char **problem, const char *msg)
{
    if (*problem == NULL && (*problem = strdup(msg)) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    return 0;
}

/* The argocd-cm of one file into *cm (the first one found wins; Argo CD has
 * exactly one). A ConfigMap Argo CD would refuse is left out whole, with a
 * problem. Files that do not parse are the fleet loader's to report. */
static int scan_file(gf_healthscripts **cm, char **problem, hub_filesrc *tree, const char *path)
{
    char *text = NULL, msg[1024];
    size_t len;
    json_t *docs = NULL, *doc;
    size_t i;
    int error = 0;

    if (hub_filesrc_read(tree, path, &text, &len) < 0 ||
        gf_yaml_parse(&docs, text, len, path, NULL, 0) < 0) {
        free(text);
        return 0;
    }
    json_array_foreach(docs, i, doc)
    {
        gf_healthscripts *set = NULL;
        if (!is_argocd_cm(doc))
            continue;
        if (*cm != NULL) {
            snprintf(msg, sizeof(msg), "%s: a second ConfigMap argocd-cm is ignored", path);
            if ((error = note(problem, msg)) < 0)
                break;
            continue;
        }
        if ((error = gf_healthscripts_new(&set)) < 0)
            break;
        if ((error = gf_healthscripts_add_configmap(set, doc, path)) == 0) {
            *cm = set;
            continue;
        }
        gf_healthscripts_free(set);
        if (error == GF_ENOMEM || (error = note(problem, gf_error_last())) < 0)
            break;
    }
    json_decref(docs);
    free(text);
    return error;
}

int hub_healthcm_load(gf_healthscripts **out, char **problem_out, hub_filesrc *tree,
                      const char *apps_dir, const char *dir)
{
    enum hub_filesrc_type type;
    char **names = NULL, path[4096];
    size_t n = 0;
    gf_healthscripts *set = NULL;
    int error = 0;

    *out = NULL;
    *problem_out = NULL;
    apps_dir = apps_dir ? apps_dir : "argocd";
    if (tree != NULL && hub_filesrc_stat(tree, apps_dir, &type) == 0 && type == HUB_FILESRC_DIR &&
        hub_filesrc_list(tree, apps_dir, &names, &n) == 0) {
        for (size_t i = 0; i < n && error == 0; i++) {
            snprintf(path, sizeof(path), "%s/%s", apps_dir, names[i]);
            if (yaml_name(names[i]))
                error = scan_file(&set, problem_out, tree, path);
        }
        hub_filesrc_names_free(names, n);
    }
    if (error == 0 && set == NULL)
        error = gf_healthscripts_new(&set);
    if (error == 0 && dir != NULL && *dir != '\0' &&
        (error = gf_healthscripts_load_dir(set, dir)) < 0 && error != GF_ENOMEM)
        error = note(problem_out, gf_error_last());
    if (error < 0) {
        gf_healthscripts_free(set);
        free(*problem_out);
        *problem_out = NULL;
        return error;
    }
    *out = set;
    return 0;
}

static int seen(Gitfleet__BundleHealthScript **list, size_t n, const char *group, const char *kind)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i]->group, group) == 0 && strcmp(list[i]->kind, kind) == 0)
            return 1;
    return 0;
}

static int append(Gitfleet__BundleHealthScript ***list, size_t *n, size_t *cap,
                  const struct gf_healthscript *s, char *group, char *kind)
{
    Gitfleet__BundleHealthScript *hs;

    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        Gitfleet__BundleHealthScript **l = realloc(*list, c * sizeof(*l));
        if (l == NULL)
            return gf_error_set(GF_ENOMEM, "out of memory");
        *list = l;
        *cap = c;
    }
    if ((hs = malloc(sizeof(*hs))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    gitfleet__bundle_health_script__init(hs);
    hs->group = group;
    hs->kind = kind;
    hs->lua = s->lua;
    hs->has_use_open_libs = 1;
    hs->use_open_libs = s->use_open_libs;
    hs->source = s->source;
    (*list)[(*n)++] = hs;
    return 0;
}

int hub_healthcm_encode(Gitfleet__BundleHealthScript ***out, size_t *n_out,
                        const gf_healthscripts *set, const struct hub_bundle *bundle)
{
    Gitfleet__BundleHealthScript **list = NULL;
    size_t n = 0, cap = 0;
    int error = 0;

    *out = NULL;
    *n_out = 0;
    if (gf_healthscripts_count(set) == 0)
        return 0;
    for (size_t a = 0; a < bundle->n_apps && error == 0; a++) {
        const struct hub_bundle_app *app = &bundle->apps[a];
        for (size_t r = 0; r < app->n_resources && error == 0; r++) {
            struct hub_resource *res = &app->resources[r];
            const struct gf_healthscript *s;
            if (seen(list, n, res->group, res->kind) ||
                (s = gf_healthscripts_resolve(set, res->group, res->kind)) == NULL)
                continue;
            error = append(&list, &n, &cap, s, res->group, res->kind);
        }
    }
    if (error < 0) {
        hub_healthcm_encoded_free(list, n);
        free(list);
        return error;
    }
    *out = list;
    *n_out = n;
    return 0;
}

void hub_healthcm_encoded_free(Gitfleet__BundleHealthScript **list, size_t n)
{
    for (size_t i = 0; list != NULL && i < n; i++)
        free(list[i]);
}
