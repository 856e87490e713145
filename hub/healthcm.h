/* healthcm.h -- health scripts of the fleet (argocd-cm in the repository, a customizations dir) */
#ifndef HUB_HEALTHCM_H
#define HUB_HEALTHCM_H

#include "filesrc.h"
#include "gitfleet.pb-c.h"
#include "gitfleet/healthscripts.h"
#include "render.h"

/*
 * The fleet's Lua health scripts: an Argo CD `argocd-cm` ConfigMap in a
 * .yaml/.yml file directly under `apps_dir` (NULL: "argocd") of `tree`, and
 * the Argo CD resource_customizations layout under `dir` on disk (may be
 * NULL). A broken ConfigMap or directory is reported in *problem_out
 * (malloc'd, else NULL) and left out; the rest is kept. *out may hold no
 * script. Returns 0 or GF_ENOMEM.
 */
int hub_healthcm_load(gf_healthscripts **out, char **problem_out, hub_filesrc *tree,
                      const char *apps_dir, const char *dir);

/*
 * The script of each distinct group and kind of `bundle`'s resources that
 * has one, for Bundle.health_scripts (strings borrowed from `set`). Free the
 * array with free(*out) and each element's allocation with
 * hub_healthcm_encoded_free().
 */
int hub_healthcm_encode(Gitfleet__BundleHealthScript ***out, size_t *n_out,
                        const gf_healthscripts *set, const struct hub_bundle *bundle);
void hub_healthcm_encoded_free(Gitfleet__BundleHealthScript **list, size_t n);

#endif
