/* apply.h -- applying a verified bundle to the cluster with server-side apply, and its report */
#ifndef AGENT_APPLY_H
#define AGENT_APPLY_H

#include "gitfleet.pb-c.h"
#include "kube.h"

#include <jansson.h>

#define AGENT_FIELD_MANAGER "gitfleet"

/*
 * Apply every app of `bundle`, resource by resource in the bundle's order
 * (the hub orders by sync wave, then kind, then name), with server-side
 * apply as field manager "gitfleet", forcing conflicts: Git is the source of
 * truth. With CreateNamespace=true the app's namespace is created first.
 * One failing resource does not stop the others; its Status message goes
 * into the report. *report_out is a new JSON report (see gitfleet/report.h)
 * with health assessed from the objects as the server returned them.
 * *transient_out is set when a failure is worth retrying (429, 5xx, I/O).
 */
int agent_apply_bundle(json_t **report_out, agent_kube *kube, const Gitfleet__Bundle *bundle,
                       int *transient_out);

/*
 * Re-read every object of the bundle and update health and sync in `report`
 * (an object that vanished is OutOfSync and Missing). *changed_out tells
 * whether any status changed, i.e. whether the hub should hear about it.
 */
int agent_apply_refresh(agent_kube *kube, const Gitfleet__Bundle *bundle, json_t *report,
                        int *changed_out);

#endif
