/* yaml_parse.h -- YAML streams into jansson document trees, typed as kubectl reads them */
#ifndef GITFLEET_YAML_PARSE_H
#define GITFLEET_YAML_PARSE_H

#include <jansson.h>
#include <stddef.h>

/* Bounds that keep hostile input from exhausting the process. Zero in a
 * field means the default given beside it. Going over one gives GF_ETOOBIG. */
struct gf_yaml_limits {
    size_t max_input;     /* bytes of input: 64 MiB (checked before any parsing) */
    size_t max_depth;     /* nesting of collections, aliases expanded: 512 */
    size_t max_scalar;    /* bytes of one scalar: 16 MiB */
    size_t max_nodes;     /* nodes in the whole stream, aliases expanded: 4,000,000.
                           * Counted before anything is copied, so an alias bomb
                           * is refused in microseconds. */
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
    /* Type plain scalars as sigs.k8s.io/yaml (go-yaml v2, YAML 1.1) does,
     * which is how kustomize reads kustomization.yaml (checked with kubectl):
     * y/Y/yes/Yes/YES/on/On/ON are true, n/N/no/No/NO/off/Off/OFF false,
     * timestamps stay as written, and keys that are not strings become
     * their JSON spelling (0x10 -> "16", yes -> "true"; null is an error). */
    GF_YAML_V2_TYPING = 1 << 2,
};

/*
 * Parse a multi-document YAML stream into a JSON array holding one tree per
 * document, keys in source order. Typing follows go-yaml v3, which is what
 * `kubectl kustomize` uses (notes/kubernetes-facts.md §2):
 *  - only plain scalars are typed; quoted and block scalars are strings;
 *  - null: empty, ~, null, Null, NULL; bool: true/True/TRUE, false/...;
 *    yes/no/on/off/y/n stay strings;
 *  - integers as Go's strconv with base prefixes, '_' removed: 0x1F, 0o17,
 *    017 (octal), 0b101, +5, 1_000; 08 is the float 8; integers beyond int64
 *    become reals (json_int_t cannot hold them: 12345678901234567890 loses
 *    precision, kubectl keeps it exact);
 *  - floats: 1.5, .5, 1e3, 1. ; an overflowing 1e400 stays a string, as in
 *    go-yaml; .inf/.nan are errors (JSON cannot hold them; kubectl fails too);
 *  - timestamps (2001-12-14, 2001-12-14T21:59:43.10-05:00, "2001-12-14
 *    21:59:43") become the RFC 3339 text kubectl prints, "2001-12-14T00:00:00Z".
 * Explicit tags !!str !!int !!float !!bool !!null !!binary (decoded, must be
 * UTF-8) !!timestamp !!map !!seq are honoured; other tags are errors.
 * Mapping keys must be scalars and are their source text ("1", "true").
 * Aliases are expanded into independent copies; `<<` merge keys (a mapping
 * or a sequence of mappings) add the pairs the mapping lacks, where the `<<`
 * stands: explicit keys win wherever they are, earlier maps win over later.
 * A document whose root is null (empty, comments only, `~`) is dropped
 * unless GF_YAML_KEEP_EMPTY. Duplicate keys, unknown tags, invalid UTF-8,
 * tabs in indentation and limits are errors.
 *
 * `name` (a file name, may be NULL for "<input>") prefixes error messages,
 * which read "name:LINE:COL: what was found, what was expected". `limits`
 * may be NULL. On success *out is a new reference the caller owns. Returns
 * 0, GF_EINVAL, GF_ETOOBIG or GF_ENOMEM.
 */
int gf_yaml_parse(json_t **out, const char *data, size_t len, const char *name,
                  const struct gf_yaml_limits *limits, int flags);

/* As gf_yaml_parse(), for at most one non-empty document (an error names
 * the count otherwise). An empty stream, or only empty documents, gives
 * JSON null. */
int gf_yaml_parse_one(json_t **out, const char *data, size_t len, const char *name,
                      const struct gf_yaml_limits *limits);

/* Read and parse a file; errors carry the path. GF_ENOTFOUND when missing. */
int gf_yaml_parse_file(json_t **out, const char *path, const struct gf_yaml_limits *limits,
                       int flags);

#endif
