/* verify.c -- the agent's trust check of a bundle before anything is applied */
#include "verify.h"

#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "gitfleet/project.h"
#include "gitfleet/wire.h"

#include <string.h>

int agent_verify_bundle(Gitfleet__Bundle **out, const void *signed_bytes, size_t len,
                        const gf_sign_key *hub_key, const char *cluster, uint64_t min_generation)
{
    Gitfleet__Bundle *bundle = NULL;
    int error;

    *out = NULL;
    if ((error = gf_wire_bundle_open(&bundle, signed_bytes, len, hub_key)) < 0)
        return error == GF_EINVAL ? gf_error_set(GF_EPERM, "bundle refused: %s", gf_error_last())
                                  : gf_error_wrap(GF_EPERM, "bundle refused");
    if (bundle->cluster == NULL || strcmp(bundle->cluster, cluster) != 0)
        error = gf_error_set(GF_EPERM, "bundle refused: it is for cluster '%s', not '%s'",
                             bundle->cluster ? bundle->cluster : "", cluster);
    else if (!bundle->has_generation || bundle->generation <= min_generation)
        error = gf_error_set(GF_EPERM,
                             "bundle refused: generation %llu is not newer than %llu (replay or "
                             "rollback of the hub)",
                             (unsigned long long)bundle->generation,
                             (unsigned long long)min_generation);
    if (error < 0) {
        gitfleet__bundle__free_unpacked(bundle, NULL);
        return error;
    }
    /* A hub bug or a tampered render must not widen a project: apps that
     * break their AppProject's rules lose their resources here. */
    if (gf_project_enforce_bundle(bundle) > 0)
        for (size_t i = 0; i < bundle->n_apps; i++)
            if (bundle->apps[i]->render_error &&
                strncmp(bundle->apps[i]->render_error, "refused by the agent", 20) == 0)
                gf_log_warn("AGENT-PROJECT-REFUSED", "generation=%llu app=%s error=\"%s\"",
                            (unsigned long long)bundle->generation, bundle->apps[i]->name,
                            bundle->apps[i]->render_error);
    *out = bundle;
    return 0;
}
