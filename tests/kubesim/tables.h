/* tables.h -- meta.k8s.io/v1 Table responses with kubectl's per-kind columns */
#ifndef KUBESIM_TABLES_H
#define KUBESIM_TABLES_H

#include "discovery.h"

#include <jansson.h>

/* A Table of `items` (borrowed). Rows carry PartialObjectMetadata, or the
 * whole object when `full` (includeObject=Object). `list_meta` (borrowed,
 * may be NULL) becomes the Table's metadata. */
json_t *ks_table(const struct ks_type *t, json_t *items, json_t *list_meta, int full);

/* "5s", "3m", "2d4h" since an RFC 3339 timestamp (kubectl's AGE). */
void ks_table_age(char *buf, size_t n, const char *timestamp);

#endif
