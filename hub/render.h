/* render.h -- (app, cluster) rendering into a cluster's ordered bundle, with a shared render cache
 */
#ifndef HUB_RENDER_H
#define HUB_RENDER_H

#include "filesrc.h"
#include "fleet.h"

#include <jansson.h>
#include <stddef.h>

/*
 * An app's path renders as plain manifests (every .yaml/.yml/.json file,
 * subdirectories only with directory.recurse, include/exclude globs) or as a
 * kustomization. Every resource then gets the destination namespace (if it
 * is namespaced and has none), the label `gitfleet.io/app: <app>` and the
 * annotation `gitfleet.io/tracking-id: <app>:<group>/<kind>:<ns>/<name>`.
 * The shape maps one to one onto proto/gitfleet.proto's Bundle/App/Resource.
 */

struct hub_resource {
    char *group, *version, *kind, *namespace, *name; /* namespace "" when none */
    int wave;     /* sync wave; a Namespace or CRD takes the wave of its first dependent */
    json_t *body; /* the manifest as it will be applied */
};

struct hub_bundle_app {
    const struct hub_app *app;      /* borrowed from the fleet: it must outlive the bundle */
    char *revision;                 /* commit the app was rendered at */
    struct hub_resource *resources; /* apply order */
    size_t n_resources;
    char *error; /* why this app did not render (then it has no resources) */
};

struct hub_bundle {
    char *cluster;
    char *revision;
    struct hub_bundle_app *apps; /* sorted by name */
    size_t n_apps;
    const struct hub_resource **order; /* every resource of every app, in apply order */
    size_t n_order;
    char **conflicts; /* "apps a and b both claim apps/Deployment shop/web" */
    size_t n_conflicts;
    const struct gf_healthscripts
        *health; /* borrowed, may be NULL: Lua health scripts (issue 16) */
};

/*
 * The render cache: an app's documents before namespace and tracking, keyed
 * by path and directory options, valid while every path the render read
 * (the app's tree, and anything outside it that a symlink or a kustomize
 * base led to) has the same content id. Many clusters sharing an app render
 * it once; a commit that touches one app re-renders only that app. Sources
 * without content ids (plain directories) are never cached. Thread-safe:
 * many threads may render clusters of one pass with one cache (each render
 * gets a kustomize session of its own); the sweep runs alone, between passes.
 * Trees at other revisions (targetRevision) are opened once per pass.
 */
struct hub_render_cache;

int hub_render_cache_new(struct hub_render_cache **out);
/* Renders served from the cache, and renders that had to be done. */
void hub_render_cache_stats(const struct hub_render_cache *cache, unsigned long *hits_out,
                            unsigned long *misses_out);
/* Drop entries not used since the previous sweep (call once per fleet render). */
void hub_render_cache_sweep(struct hub_render_cache *cache);
void hub_render_cache_free(struct hub_render_cache *cache);

/* The tree at `revision` for an app whose targetRevision differs from the
 * fleet's revision; *commit_out names what was resolved. */
typedef int (*hub_render_tree_fn)(hub_filesrc **out, char commit_out[41], void *arg,
                                  const char *revision);

struct hub_render_ctx {
    hub_filesrc *tree;          /* the fleet repository at `revision` */
    const char *revision;       /* commit id (or a label such as "working-tree") */
    const char *revision_ref;   /* what the user asked for ("main"), may be NULL */
    hub_render_tree_fn tree_at; /* NULL: apps pinned to another revision fail */
    void *tree_arg;
    struct hub_render_cache *cache; /* may be NULL */
};

/*
 * Render every app of `cluster` (only `only_app` when not NULL) into
 * *out. A failing app is recorded in its bundle_app's error and does not
 * stop the others. GF_ENOTFOUND for an unknown cluster or app.
 */
int hub_render_cluster(struct hub_bundle **out, const struct hub_render_ctx *ctx,
                       const struct hub_fleet *fleet, const char *cluster, const char *only_app);

/*
 * Render every cluster of `fleet` on `threads` threads (0: one per CPU).
 * Rendering is pure, so clusters render in any order; `done` runs on the
 * rendering thread for each cluster as it finishes, and owns `bundle` (NULL
 * when the cluster failed to render, with the error in gf_error_last() on
 * that thread). `done` may be called from several threads at once. Returns
 * 0, or an error when no thread could be started.
 */
typedef void (*hub_render_done_fn)(void *arg, const char *cluster, struct hub_bundle *bundle);
int hub_render_fleet(const struct hub_render_ctx *ctx, const struct hub_fleet *fleet, int threads,
                     hub_render_done_fn done, void *arg);

/* The bundle as JSON: cluster, revision, apps (policy, resources with id,
 * syncWave, body; error), conflicts. New reference. */
json_t *hub_bundle_json(const struct hub_bundle *bundle);
/* The manifests alone, in apply order (a JSON array). New reference. */
json_t *hub_bundle_manifests(const struct hub_bundle *bundle);
/* Number of apps with an error (a conflict fails the later app): 0 when all
 * rendered cleanly. */
size_t hub_bundle_failures(const struct hub_bundle *bundle);

void hub_bundle_free(struct hub_bundle *bundle);

/* Position of a kind in Argo CD's apply order (unknown kinds after all). */
int hub_render_kind_rank(const char *kind);

#endif
