/* patch.h -- JSON patch (RFC 6902), JSON merge patch (RFC 7386) and API-server strategic merge
 * patch */
#ifndef KUBESIM_PATCH_H
#define KUBESIM_PATCH_H

#include <jansson.h>

/* Apply the operations of a JSON patch to a copy of `doc`. On success *out is
 * the new document; on failure GF_EINVAL (or GF_ECONFLICT for a failed
 * "test") with a message. */
int ks_patch_json(json_t **out, const json_t *doc, const json_t *ops);

/* RFC 7386: a new document. */
json_t *ks_patch_merge(const json_t *doc, const json_t *patch);

/*
 * Strategic merge patch as the API server applies it: list merge keys from
 * gf_k8s_list_info() for `group`/`kind` (the first key only, as Go struct tags
 * give one patchMergeKey), directives $patch (replace, merge, delete),
 * $retainKeys, $setElementOrder/<f> and $deleteFromPrimitiveList/<f>, and
 * the ordering of mergeSortedSlice. On success *out is a new document;
 * GF_EINVAL with a message otherwise.
 */
int ks_patch_strategic(json_t **out, const json_t *doc, const json_t *patch, const char *group,
                       const char *kind);

#endif
