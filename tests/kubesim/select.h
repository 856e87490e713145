/* select.h -- label selectors (=, ==, !=, in, notin, exists, !exists) and field selectors */
#ifndef KUBESIM_SELECT_H
#define KUBESIM_SELECT_H

#include <jansson.h>

/* 1 when `obj` matches the label selector `sel` (NULL or "" matches all),
 * 0 when not, GF_EINVAL (with a message) when `sel` cannot be parsed. */
int ks_select_labels(const char *sel, const json_t *obj);

/* The same for a field selector: comma-separated `path=value`, `path==value`
 * or `path!=value`, where path is a dotted field path (metadata.name). */
int ks_select_fields(const char *sel, const json_t *obj);

/* The labels of a LabelSelector object ({matchLabels, matchExpressions}) as
 * selector text ("app=web,tier in (a,b)"), into buf. */
void ks_select_format(char *buf, size_t n, const json_t *selector);

#endif
