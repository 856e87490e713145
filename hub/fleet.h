/* fleet.h -- the fleet read at one commit: clusters and the apps each of them gets */
#ifndef HUB_FLEET_H
#define HUB_FLEET_H

#include "filesrc.h"
#include "strategy.h"
#include "gitfleet/project.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A fleet repository holds `Cluster` objects (apiVersion gitfleet.io/v1) in
 * clusters/ (every .yaml file) and Argo CD `Application` / `ApplicationSet` objects
 * (argoproj.io/v1alpha1) in every YAML file under argocd/. Loading it expands
 * every ApplicationSet into Applications and resolves each Application to
 * one cluster. AppProjects under argocd/ (argocd/projects/ by convention)
 * bind their apps as Argo CD's do (common/project.h): an app whose project
 * does not exist, or whose source, destination or namespace its project
 * forbids, gets an error naming the rule. Other kinds are ignored.
 *
 * Bad input never aborts the load: an invalid Application keeps its place in
 * `apps` with `error` set (file, object and field in the message), so only
 * that app fails; what cannot be tied to one app (unreadable YAML, an invalid
 * Cluster, a broken ApplicationSet generator) goes to `problems`.
 */

struct hub_fleet_options {
    const char *clusters_dir; /* NULL: "clusters" */
    const char *apps_dir;     /* NULL: "argocd" */
    /* URLs that name the fleet repository itself; an app whose repoURL is
     * none of these (nor "" or ".") is reported as unsupported. Compared
     * without a trailing "/" or ".git". NULL-terminated, may be NULL. */
    const char *const *repo_urls;
    int allow_plain_secrets; /* every app may keep plain Secrets (hub setting) */
};

struct hub_cluster {
    char *name;
    char *server;        /* spec.server, else "gitfleet://<name>" */
    char *project;       /* spec.project, else "" (the clusters generator's `project`) */
    json_t *labels;      /* object of strings (never NULL) */
    json_t *annotations; /* object of strings (never NULL) */
    json_t *values;      /* spec.values, an object (never NULL) */
    char *file;
};

struct hub_retry {
    int set;                /* syncPolicy.retry was given */
    int64_t limit;          /* -1: unlimited */
    int64_t backoff_ms;     /* default 5s */
    int64_t factor;         /* default 2 */
    int64_t max_backoff_ms; /* default 3m */
};

struct hub_sync_policy {
    int automated, prune, self_heal;
    char **sync_options; /* "CreateNamespace=true", ... */
    size_t n_sync_options;
    struct hub_retry retry;
    json_t *ignore_differences; /* spec.ignoreDifferences as written (array), or NULL */
};

struct hub_app {
    char *name;
    char *cluster;   /* the destination cluster's name ("" when unknown) */
    char *namespace; /* spec.destination.namespace ("" when unset) */
    char *project;
    const gf_project *rules; /* the project's rules (fleet-owned); NULL when the app has an error */
    char *server;            /* the destination cluster's spec.server */
    char *app_namespace;     /* the Application's metadata.namespace ("" when unset) */
    char *repo_url, *target_revision, *path;
    int recurse;             /* spec.source.directory.recurse */
    char *include, *exclude; /* directory globs ("" when unset) */
    struct hub_sync_policy policy;
    char *file;              /* where the Application or ApplicationSet is written */
    char *origin;            /* why it exists: "Application" or the generator and labels */
    char *appset;            /* the ApplicationSet that generated it, or NULL */
    json_t *labels;          /* metadata.labels (never NULL): what rollout steps select on */
    char *error;             /* set when the app is invalid or unsupported: it renders nothing */
    int allow_plain_secrets; /* annotation gitfleet.io/allow-plain-secrets: "true" */
};

/* An ApplicationSet and how its apps roll out (docs/rollouts.md). */
struct hub_fleet_appset {
    char *name, *file;
    struct hub_strategy strategy;
};

struct hub_fleet {
    struct hub_fleet_appset *appsets; /* in the order read */
    size_t n_appsets;
    struct hub_cluster *clusters; /* sorted by name */
    size_t n_clusters;
    struct hub_app *apps; /* sorted by cluster, then name */
    size_t n_apps;
    char **problems; /* "file: Kind name: field: what is wrong" */
    size_t n_problems;
    gf_project **projects; /* AppProjects read under argocd/, plus `default` unless written */
    size_t n_projects;
};

/* Read the fleet from `tree`. Fails only on a missing clusters directory or
 * out of memory; everything else lands in apps[].error or problems. */
int hub_fleet_load(struct hub_fleet **out, hub_filesrc *tree, const struct hub_fleet_options *opts);

/* The AppProject named `name`, or NULL. Borrowed. */
const gf_project *hub_fleet_project(const struct hub_fleet *fleet, const char *name);

/* The cluster named `name`, or NULL. Borrowed. */
const struct hub_cluster *hub_fleet_cluster(const struct hub_fleet *fleet, const char *name);

/* The apps of `cluster`: *first_out and the count returned (a run of the
 * sorted `apps`; 0 when none). Borrowed. Log N, not N. */
size_t hub_fleet_cluster_apps(const struct hub_fleet *fleet, const char *cluster,
                              const struct hub_app **first_out);

void hub_fleet_free(struct hub_fleet *fleet);

/* The ApplicationSet named `name`, or NULL. Borrowed. */
const struct hub_fleet_appset *hub_fleet_appset(const struct hub_fleet *fleet, const char *name);

/* Sync policy as JSON (the shape of proto SyncPolicy, camelCase). New reference. */
json_t *hub_fleet_policy_json(const struct hub_sync_policy *policy);

/* An app as JSON: cluster, name, namespace, project, path, targetRevision,
 * file, origin (why it exists), syncPolicy, and error when it has one. This
 * one shape serves `gitfleet apps` locally and the hub's /api/v1/apps. */
json_t *hub_fleet_app_json(const struct hub_app *app);

#endif
