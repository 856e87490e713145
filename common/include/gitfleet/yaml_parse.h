/* yaml_parse.h -- YAML streams into jansson document trees (YAML 1.2 core schema) */
#ifndef GITFLEET_YAML_PARSE_H
#define GITFLEET_YAML_PARSE_H

#include <jansson.h>
#include <stddef.h>

/* Bounds that keep hostile input from exhausting the process. Zero in a
 * field means the default given beside it. */
struct gf_yaml_limits {
    size_t max_input;     /* bytes of input: 64 MiB */
    size_t max_depth;     /* nesting of collections: 512 */
    size_t max_scalar;    /* bytes of one scalar: 16 MiB */
    size_t max_nodes;     /* nodes created, aliases expanded included: 4,000,000 */
    size_t max_documents; /* documents in one stream: 100,000 */
};

/* Flags for gf_yaml_parse(). */
enum {
    GF_YAML_KEEP_EMPTY = 1 << 0, /* keep empty documents as JSON null (default: drop them) */
    /* A repeated key replaces the earlier value (in the earlier one's place)
     * instead of failing. kustomize reads kustomization.yaml this way
     * (sigs.k8s.io/yaml); resources use the default, which is an error like
     * kubectl's "mapping key already defined". */
    GF_YAML_LAST_KEY_WINS = 1 << 1,
};

/*
 * Parse a multi-document YAML stream into a JSON array holding one tree per
 * document. Plain scalars are typed by the YAML 1.2 core schema as Kubernetes
 * reads them (null, bool, int, float); quoted scalars and `!!str` stay strings.
 * Anchors, aliases and `<<` merge keys are expanded. Duplicate keys, unknown
 * tags, invalid UTF-8 and limits are errors.
 *
 * `name` (a file name, may be NULL) prefixes error messages, which read
 * "name:LINE:COL: what was found, what was expected". `limits` may be NULL.
 * On success *out is a new reference the caller owns. Returns 0, GF_EINVAL,
 * GF_ETOOBIG or GF_ENOMEM.
 */
int gf_yaml_parse(json_t **out, const char *data, size_t len, const char *name,
                  const struct gf_yaml_limits *limits, int flags);

/* As gf_yaml_parse(), for exactly one document (an error names the count
 * otherwise). An empty stream gives JSON null. */
int gf_yaml_parse_one(json_t **out, const char *data, size_t len, const char *name,
                      const struct gf_yaml_limits *limits);

/* Read and parse a file; errors carry the path. GF_ENOTFOUND when missing. */
int gf_yaml_parse_file(json_t **out, const char *path, const struct gf_yaml_limits *limits,
                       int flags);

#endif
