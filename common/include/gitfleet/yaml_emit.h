/* yaml_emit.h -- document trees written as YAML exactly as kubectl writes them */
#ifndef GITFLEET_YAML_EMIT_H
#define GITFLEET_YAML_EMIT_H

#include <jansson.h>
#include <stddef.h>

/*
 * Write one document the way `kubectl kustomize` prints it (go-yaml v2 style:
 * natural key order, 2-space indent, compact block sequences, kubectl's
 * quoting, literal blocks, folding at 80 columns). The result ends with "\n".
 * *out is malloc'd and owned by the caller. Returns 0, GF_EINVAL (a value
 * kubectl cannot print, e.g. NaN) or GF_ENOMEM.
 */
int gf_yaml_emit(char **out, size_t *len_out, const json_t *doc);

/* Write a JSON array of documents joined by "---\n" (no leading "---"). */
int gf_yaml_emit_stream(char **out, size_t *len_out, const json_t *docs);

/* yaml.v2's "natural" key comparison, which kubectl's output order follows:
 * negative, zero or positive as a sorts before, with or after b. */
int gf_yaml_key_compare(const char *a, const char *b);

#endif
