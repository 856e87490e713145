/* appset.h -- Argo CD ApplicationSets: generators (clusters, list, matrix) and templates */
#ifndef HUB_APPSET_H
#define HUB_APPSET_H

#include "fleet.h"

#include <jansson.h>

/*
 * Expand one ApplicationSet object into the Application objects it
 * generates. Supported generators: `clusters` (selector matchLabels and
 * matchExpressions over Cluster labels, `values`), `list` (elements), and
 * `matrix` of two of these. Parameters follow Argo CD: name, nameNormalized,
 * server, project, metadata.labels.<key>, metadata.annotations.<key>,
 * values.<key>;
 * `{{name}}` in the default syntax, `{{.name}}` and
 * `{{index .metadata.labels "key"}}` with `goTemplate: true`. A Cluster's
 * spec.values are the base of values.<key>; the generator's `values`
 * (themselves templated with the cluster's parameters) override them.
 *
 * *out is a new JSON array with one entry per parameter set:
 *   {"object": <Application>, "origin": "why this app exists",
 *    "cluster": "<cluster that produced the parameters>" (clusters generator),
 *    "error": "<field>: <what is wrong>" (set instead of "object" when this
 *    parameter set cannot be applied, e.g. a label the cluster lacks)}
 * Returns GF_EINVAL (message with the field path, e.g.
 * "spec.generators[0]: unknown generator 'git'") when the ApplicationSet
 * itself is invalid and nothing can be generated.
 */
int hub_appset_expand(json_t **out, const json_t *appset, const struct hub_cluster *clusters,
                      size_t n_clusters);

/* Render one template string with parameters `params` (an object), in Argo
 * CD's default syntax or Go template syntax. *out is malloc'd. GF_EINVAL
 * names a missing parameter or an unsupported expression. */
int hub_appset_render_string(char **out, const char *text, const json_t *params, int go_template);

#endif
