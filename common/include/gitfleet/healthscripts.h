/* healthscripts.h -- Lua health scripts by kind, found as Argo CD finds them */
#ifndef GITFLEET_HEALTHSCRIPTS_H
#define GITFLEET_HEALTHSCRIPTS_H

#include <jansson.h>
#include <stddef.h>

/*
 * Where a script came from decides its precedence, as in Argo CD's
 * util/lua GetHealthScript: an argocd-cm key for exactly the kind, then an
 * argocd-cm wildcard key, then the directory (Argo CD's built-in
 * resource_customizations layout) for exactly the kind, then a directory
 * wildcard. A kind with no script keeps the built-in C check.
 */
enum gf_healthscript_origin {
    GF_HEALTHSCRIPT_CONFIGMAP = 0,
    GF_HEALTHSCRIPT_DIRECTORY = 1,
};

struct gf_healthscript {
    /* "group/Kind", "Kind" for the core group, or a pattern: argocd-cm keys
     * are globs where '*' also crosses '/' (the group "*.crossplane.io" with
     * kind "*"; `all` is '*' for both); directory keys use '_' for '*',
     * which stays within one path segment ("_.crossplane.io/_"). */
    char *key;
    char *lua; /* NUL-terminated; "" when argocd-cm set only useOpenLibs */
    size_t lua_len;
    int use_open_libs;
    enum gf_healthscript_origin origin;
    char *source; /* "argocd/argocd-cm.yaml: resource.customizations.health.x_Y" or a path */
};

typedef struct gf_healthscripts gf_healthscripts;

int gf_healthscripts_new(gf_healthscripts **out);
void gf_healthscripts_free(gf_healthscripts *set);

/* Add (or, for the same origin and key, replace) a script. */
int gf_healthscripts_add(gf_healthscripts *set, enum gf_healthscript_origin origin, const char *key,
                         const char *lua, size_t len, int use_open_libs, const char *source);

/*
 * Take the health customizations of an argocd-cm ConfigMap (`configmap` is
 * the whole object; its `data` is read): the `resource.customizations` YAML
 * block (`<group/kind>: {health.lua: ..., health.lua.useOpenLibs: bool}`),
 * then the split keys `resource.customizations.health.<group>_<kind>` and
 * `resource.customizations.useOpenLibs.<group>_<kind>`, which win (`all`
 * stands for every kind). Other customization types (actions,
 * ignoreDifferences, ...) are accepted and not used here; an unknown type, a
 * group_kind with more than one '_' or a bad boolean fail the whole
 * ConfigMap with GF_EINVAL, as they fail Argo CD's settings.
 */
int gf_healthscripts_add_configmap(gf_healthscripts *set, const json_t *configmap,
                                   const char *source);

/* Every `<group>/<kind>/health.lua` (and `<kind>/health.lua` for the core
 * group) under `dir`, Argo CD's resource_customizations layout. GF_ENOTFOUND
 * when `dir` is not a directory. Directory scripts run with open libraries,
 * as Argo CD's built-in scripts do. */
int gf_healthscripts_load_dir(gf_healthscripts *set, const char *dir);

/* The script for a kind (group "" is core), or NULL. Among several wildcard
 * matches the smallest key wins (Argo CD's map order is random there). */
const struct gf_healthscript *gf_healthscripts_resolve(const gf_healthscripts *set,
                                                       const char *group, const char *kind);

size_t gf_healthscripts_count(const gf_healthscripts *set);
const struct gf_healthscript *gf_healthscripts_at(const gf_healthscripts *set, size_t i);

#endif
