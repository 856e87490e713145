/* secretpolicy.h -- no plaintext Secret values in Git unless the app opts in */
#ifndef HUB_SECRETPOLICY_H
#define HUB_SECRETPOLICY_H

#include "filesrc.h"
#include "fleet.h"

#include <jansson.h>

/* The Application annotation that lets an app keep plain Secrets in Git. */
#define HUB_SECRETPOLICY_ANNOTATION "gitfleet.io/allow-plain-secrets"

/*
 * Refuse an app whose rendered documents hold a v1 Secret with values (data
 * or stringData), unless app->allow_plain_secrets (the annotation above, or
 * the hub's allow-plain-secrets setting). Secrets without values (filled in
 * by a controller) pass; SealedSecrets are the way. GF_EPERM with a message
 * naming the Secret and the file it comes from (searched for in `tree`
 * only on refusal).
 */
int hub_secretpolicy_check(const struct hub_app *app, const json_t *docs, hub_filesrc *tree);

#endif
