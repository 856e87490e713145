/* fieldpath.h -- dotted field paths shared by replacements.c and vars.c */
#ifndef HUB_KUSTOMIZE_FIELDPATH_H
#define HUB_KUSTOMIZE_FIELDPATH_H

#include <jansson.h>
#include <stddef.h>

struct kz_fieldpath {
    char **segs;
    size_t n;
    int regex; /* [k=v] values are unanchored regexes (kyaml's PathMatcher) */
};

/* Split "spec.containers.[name=web].image" or "spec.ports[0].port". */
int kz_fieldpath_split(struct kz_fieldpath *out, const char *path);
void kz_fieldpath_free(struct kz_fieldpath *p);

/* Called for each matched value: in an object (key set) or an array
 * (key NULL, index set). */
typedef int (*kz_fieldpath_fn)(json_t *parent, const char *key, size_t index, json_t *value,
                               void *ctx);

/* Visit every value the path matches. With create, missing map fields are
 * created (the leaf as null, for fn to fill), missing [k=v] items and an
 * index one past the end appended. `leaf` is unused (kept for callers). */
int kz_fieldpath_visit(json_t *obj, const struct kz_fieldpath *p, int create, const json_t *leaf,
                       kz_fieldpath_fn fn, void *ctx);

/* The first value at `path`, borrowed; NULL when absent. */
json_t *kz_fieldpath_get(json_t *obj, const char *path);

#endif
