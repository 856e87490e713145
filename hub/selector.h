/* selector.h -- Kubernetes label selectors in their string form (kubectl -l), for status filters */
#ifndef HUB_SELECTOR_H
#define HUB_SELECTOR_H

#include <jansson.h>

/*
 * "env=prod,tier!=db,gpu,!legacy,region in (eu,us),zone notin (a)": every
 * requirement must hold (kubectl get -l). `=` and `==` are the same; a key
 * alone means it exists, `!key` that it does not. GF_EINVAL with the
 * position of the error on anything else.
 */
typedef struct hub_selector hub_selector;

int hub_selector_parse(hub_selector **out, const char *text);
/* Do `labels` (an object of strings; NULL is empty) satisfy the selector? */
int hub_selector_matches(const hub_selector *sel, const json_t *labels);
void hub_selector_free(hub_selector *sel);

#endif
