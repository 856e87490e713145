/* healthsrc.h -- the health scripts a bundle carries, installed for the agent's assessments */
#ifndef GF_AGENT_HEALTHSRC_H
#define GF_AGENT_HEALTHSRC_H

#include "gitfleet.pb-c.h"

/* Install the bundle's health scripts (one per group and kind, already
 * resolved by the hub) for agent_health_assess(); a bundle without any
 * removes the previous ones. Returns 0 or GF_ENOMEM. */
int agent_healthsrc_install_bundle(const Gitfleet__Bundle *bundle);

#endif
