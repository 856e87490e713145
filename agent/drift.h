/* drift.h -- does a live object still match what Git sets? Field paths that differ, and why not */
#ifndef GF_AGENT_DRIFT_H
#define GF_AGENT_DRIFT_H

#include <jansson.h>
#include <stddef.h>

/*
 * The comparison, desired (from the bundle) against live (from the API):
 * - Only fields the desired object sets are compared; a live field Git does
 *   not mention never counts (API-server defaults, other managers' fields,
 *   extra items in associative lists). The top-level `status` is skipped.
 * - Absent, null and the zero values Go's omitempty drops (false, 0, "",
 *   {}, []) are alike: desired `hostNetwork: false` matches a live object
 *   without it. A desired null claims nothing and is not compared.
 * - Lists: associative lists of built-in kinds (gf_k8s_list_info: containers
 *   by name, ports by containerPort+protocol, env by name, ...) match items
 *   by the merge keys the desired item has; set lists (finalizers) by value;
 *   every other list (and every list of a custom resource) is atomic: same
 *   length, items compared in order, each by these same rules.
 * - Numbers: 1 and 1.0 are equal; a number and its decimal string ("80" vs
 *   80) are equal (int-or-string fields: targetPort, maxSurge, ...; typed
 *   int fields cannot hold a string, so this never hides a real change).
 * - Quantities: in built-in kinds, values of the maps limits, requests,
 *   hard, capacity, allocatable, overhead, and of LimitRange's max, min,
 *   default, defaultRequest, maxLimitRequestRatio, and any field named
 *   sizeLimit, compare by value when both sides parse fully as Kubernetes
 *   quantities ("1000m" == "1", "1Gi" == "1024Mi", "0.5" == "500m",
 *   "1e3" == "1k"). Elsewhere strings compare as written: the API server
 *   does not canonicalise annotations, ConfigMap data or custom resources.
 * - Secrets (core kind Secret): desired stringData is compared as the data
 *   it becomes; the values under data/stringData never appear in the
 *   output (path only, `redacted` set).
 * Paths look like .spec.template.spec.containers[name="web"].image,
 * .metadata.annotations["example.com/x"], .spec.ports[port=80,protocol="TCP"],
 * .spec.args[2], .metadata.finalizers[="x"].
 */

struct agent_drift_field {
    char *path;    /* owned */
    char *desired; /* owned JSON text; NULL when absent or redacted */
    char *live;    /* owned JSON text; NULL when absent or redacted */
    int redacted;  /* a Secret value: the path is all that is shown */
};

struct agent_drift {
    struct agent_drift_field *fields;
    size_t n, cap;
};

/*
 * ignoreDifferences, Argo CD's list (borrowed JSON array): each entry
 * {group, kind, name?, namespace?, jsonPointers?, jqPathExpressions?,
 * managedFieldsManagers?}. group and kind may be globs ("*", "apps*");
 * name/namespace absent or "" match any. jsonPointers are RFC 6901 (a
 * numeric token also matches the list item at that index of the desired
 * list). jqPathExpressions: a subset of jq, pipelines of
 *   .a.b   .a["k"]   .a[]   .a[2]   select(.f == LITERAL)   (.f may be .a.b)
 * e.g. `.spec.template.spec.containers[] | select(.name == "x") | .image`;
 * anything else is GF_EUNSUPPORTED. managedFieldsManagers: the fields the
 * live object's metadata.managedFields records for those managers
 * (fieldsV1) are ignored. A matched path hides its whole subtree.
 */
struct agent_drift_rules;

/* Compile `ignore_differences` (NULL or null: no rules; free with
 * agent_drift_rules_free()). 0, GF_EINVAL / GF_EUNSUPPORTED naming the
 * entry (ignoreDifferences[2].jqPathExpressions[0]: ...), GF_ENOMEM. */
int agent_drift_rules_parse(struct agent_drift_rules **out, const json_t *ignore_differences);
void agent_drift_rules_free(struct agent_drift_rules *rules);

/*
 * Compare `desired` with `live` (both borrowed; live NULL: the object is
 * missing, reported as path "" with live NULL) under `rules` (may be
 * NULL). Fills *out with the drifted fields in document order (an empty
 * list means in sync); release with agent_drift_clear(). Returns 0,
 * GF_EINVAL when desired is not an object, GF_ETOOBIG past 100 levels,
 * GF_ENOMEM.
 */
int agent_drift_compare(struct agent_drift *out, const json_t *desired, const json_t *live,
                        const struct agent_drift_rules *rules);
void agent_drift_clear(struct agent_drift *drift);

/*
 * RespectIgnoreDifferences=true: *out becomes a copy of `desired` without
 * the fields `rules` ignore for it (jsonPointers, jqPathExpressions, and
 * the fields `live`'s managedFields give to managedFieldsManagers), so
 * that a server-side apply does not take them and their owner (an HPA, an
 * operator) keeps them. A field inside an atomic list (one the apply sends
 * whole) cannot be left out: it takes the live value instead, as Argo CD
 * does. apiVersion, kind, metadata.name and metadata.namespace always
 * stay. `live` may be NULL (managedFields rules then match nothing).
 * 0, GF_EINVAL, GF_ETOOBIG, GF_ENOMEM.
 */
int agent_drift_strip(json_t **out, const json_t *desired, const json_t *live,
                      const struct agent_drift_rules *rules);

/* The fields as a JSON list [{"path", "desired", "live", "redacted"}] with
 * desired/live as JSON text (absent when NULL); caller owns; NULL on OOM. */
json_t *agent_drift_to_json(const struct agent_drift *drift);

/* Compare two Kubernetes quantities by value: 1 equal, 0 different, -1
 * when either does not parse fully as a quantity. */
int agent_drift_quantity_equal(const char *a, const char *b);

#endif
