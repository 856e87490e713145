/* pin.c -- a cluster's app held at one of its published states: what rollbacks and rollouts hold
 * with */
#include "pin.h"

#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "gitfleet/wire.h"

#include <stdio.h>
#include <string.h>

const char *hub_pin_reason_name(enum hub_pin_reason reason)
{
    return reason == HUB_PIN_ROLLBACK ? "rollback" : "rollout";
}

int hub_pin_hold(hub_store *store, const char *cluster, const char *app, const char *content_hash,
                 enum hub_pin_reason reason, const char *git_hash)
{
    struct hub_store_pin pin = {.created_ms = gf_wire_now_ms()};
    struct hub_store_app_state st;
    int error;

    if (content_hash[0] == '\0' && reason != HUB_PIN_ROLLOUT)
        return gf_error_set(GF_EINVAL, "only a rollout holds an app off a cluster");
    if (content_hash[0] != '\0') {
        if ((error = hub_store_app_state_get(store, cluster, app, content_hash, &st)) < 0)
            return error;
        hub_store_app_state_clear(&st);
    }
    snprintf(pin.content_hash, sizeof(pin.content_hash), "%s", content_hash);
    snprintf(pin.reason, sizeof(pin.reason), "%s", hub_pin_reason_name(reason));
    snprintf(pin.git_hash, sizeof(pin.git_hash), "%s", git_hash ? git_hash : "");
    if ((error = hub_store_pin_put(store, cluster, app, &pin)) < 0)
        return error;
    gf_log_info("HUB-PIN-HOLD", "cluster=%s app=%s state=%.12s reason=%s", cluster, app,
                content_hash[0] ? content_hash : "(none)", pin.reason);
    return 0;
}

int hub_pin_release(hub_store *store, const char *cluster, const char *app)
{
    int error = hub_store_pin_delete(store, cluster, app);

    if (error == 0)
        gf_log_info("HUB-PIN-RELEASE", "cluster=%s app=%s", cluster, app);
    return error;
}
