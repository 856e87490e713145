/* report.h -- a cluster's status report as JSON, and its protobuf form on the wire */
#ifndef GITFLEET_REPORT_H
#define GITFLEET_REPORT_H

#include "gitfleet.pb-c.h"

#include <jansson.h>

/*
 * The agent builds its report as JSON, sends it as a protobuf Report, and
 * the hub stores and serves it as JSON again. The JSON shape:
 *   {"cluster", "generation", "revision", "time", "error",
 *    "apps": [{"name", "sync", "health", "revision", "generation", "message",
 *              "operation", "errors": [..],
 *              "resources": [{"group", "version", "kind", "namespace", "name",
 *                             "sync", "health", "message",
 *                             "drift": [{"path", "desired", "live"}]}]}]}
 * Issue 10 adds to each app (proto AppStatus 100-103):
 *   "desiredHash", "syncedHash", "autoSyncSuspended": bool,
 *   "operationState": {"id", "phase", "message", "syncPhase", "wave",
 *       "startedAt", "finishedAt" (unix ms), "revision", "contentHash",
 *       "dryRun": bool, "initiatedBy", "kind", "retryCount",
 *       "results": [{"group", "version", "kind", "namespace", "name",
 *                    "action", "phase", "wave", "status", "message"}]}
 * and to each resource (proto ResourceStatus 100) "requiresPruning": true
 * for an object that left Git and stays (listed after the app's resources).
 * ("operation" stays the phase alone, for older readers; "operationState"
 * is absent when the app has run no operation since the agent started.)
 * Absent members are empty strings or zeros; unknown members are ignored.
 */

/* Encode a JSON report as protobuf bytes (*out malloc'd). */
int gf_report_pack(unsigned char **out, size_t *len_out, const json_t *report);

/* Fill a Report whose strings point into `report` (which must outlive it)
 * and whose arrays are malloc'd; release with gf_report_proto_clear(). */
int gf_report_to_proto(Gitfleet__Report *out, const json_t *report);
void gf_report_proto_clear(Gitfleet__Report *report);

/* The JSON form of a decoded Report (new reference). */
json_t *gf_report_from_proto(const Gitfleet__Report *report);

#endif
