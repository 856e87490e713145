/* healthsrc.c -- the health scripts a bundle carries, installed for the agent's assessments */
#include "healthsrc.h"
#include "health.h"
#include "gitfleet/error.h"
#include "gitfleet/healthscripts.h"

#include <stdio.h>
#include <string.h>

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

int agent_healthsrc_install_bundle(const Gitfleet__Bundle *bundle)
{
    gf_healthscripts *set = NULL;
    int error;

    if (bundle->n_health_scripts == 0)
        return agent_health_scripts_install(NULL);
    if ((error = gf_healthscripts_new(&set)) < 0)
        return error;
    for (size_t i = 0; i < bundle->n_health_scripts; i++) {
        const Gitfleet__BundleHealthScript *hs = bundle->health_scripts[i];
        const char *group = or_empty(hs->group), *kind = or_empty(hs->kind);
        char key[1024];
        if (*kind == '\0' || hs->lua == NULL)
            continue;
        /* exact keys: the hub resolved wildcards for this bundle's kinds */
        if (*group == '\0')
            snprintf(key, sizeof(key), "%s", kind);
        else
            snprintf(key, sizeof(key), "%s/%s", group, kind);
        if ((error =
                 gf_healthscripts_add(set, GF_HEALTHSCRIPT_CONFIGMAP, key, hs->lua, strlen(hs->lua),
                                      hs->use_open_libs, or_empty(hs->source))) < 0) {
            gf_healthscripts_free(set);
            return error;
        }
    }
    return agent_health_scripts_install(set);
}
