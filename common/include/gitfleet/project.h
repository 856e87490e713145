/* project.h -- Argo CD AppProject rules, parsed and matched the same way by the hub and the agent
 */
#ifndef GF_PROJECT_H
#define GF_PROJECT_H

#include "gitfleet.pb-c.h"

#include <jansson.h>
#include <stddef.h>

/*
 * An AppProject's `spec` as Argo CD enforces it: sourceRepos, destinations
 * (server or name, namespace), cluster/namespace resource white- and
 * blacklists, sourceNamespaces. Patterns are globs (`*`, `**`, `?`,
 * `[a-z]`, `{a,b}`); in sourceRepos `*` stops at '/', and a leading `!` in
 * sourceRepos and destinations denies what it matches. As in Argo CD: no
 * clusterResourceWhitelist means no cluster-scoped resources, an absent
 * namespaceResourceWhitelist means every namespaced kind, an empty one none.
 *
 * The hub reads projects from Git and checks apps and resources; it puts
 * each app's project (gf_project_spec_json) into the signed bundle, and the
 * agent checks every resource against it again (gf_project_enforce_bundle).
 */
typedef struct gf_project gf_project;

/* Parse `spec` (an AppProject's spec, or gf_project_spec_json's output).
 * GF_EINVAL with "spec.destinations[1].namespace: expected a string". */
int gf_project_parse(gf_project **out, const char *name, const json_t *spec);
/* Argo CD's `default` project: every repository, destination and kind. */
int gf_project_default(gf_project **out);
void gf_project_free(gf_project *p);
const char *gf_project_name(const gf_project *p);

/* The rules as an AppProject spec (only what is enforced). New reference. */
json_t *gf_project_spec_json(const gf_project *p);

/*
 * Checks: 0 when permitted, else GF_EPERM with a message naming the project
 * and the rule that refused (gf_error_last()).
 */
int gf_project_check_source(const gf_project *p, const char *repo_url);
/* `name` and `server` of the destination cluster (either may be ""). */
int gf_project_check_destination(const gf_project *p, const char *name, const char *server,
                                 const char *namespace_);
/* An Application written in namespace `app_namespace` ("" or "argocd": the
 * control plane's, always permitted). */
int gf_project_check_app_namespace(const gf_project *p, const char *app_namespace);
/* One resource: its group/kind against the lists (namespaced when
 * `namespace_` is not ""), and its namespace against the destinations. */
int gf_project_check_resource(const gf_project *p, const char *cluster, const char *server,
                              const char *group, const char *kind, const char *namespace_,
                              const char *name);

/* Glob match as above (`sep` '/' or 0). Exposed for tests. */
int gf_project_glob(const char *pattern, const char *value, char sep);

/*
 * The agent's check of a verified bundle: every app must carry its project's
 * rules (App.project_rules), its destination and every resource must be
 * permitted. An app that breaks them loses its resources and gets a
 * render_error saying why, so nothing of it is applied. Returns how many
 * apps were refused.
 */
size_t gf_project_enforce_bundle(Gitfleet__Bundle *bundle);

#endif
