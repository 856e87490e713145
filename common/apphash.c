/* apphash.c -- the content hash of one app of a bundle: what the agent compares to decide a sync */
#include "gitfleet/apphash.h"

#include "gitfleet/doc.h"
#include "gitfleet/error.h"

#include <stdlib.h>

int gf_apphash_compute(char out[65], Gitfleet__App *app)
{
    Gitfleet__App saved = *app;
    uint8_t *bytes;
    size_t len;
    int ok;

    app->revision = NULL;
    app->content_hash = NULL;
    app->has_auto_sync_suspended = 0;
    app->has_rollback_generation = 0;
    app->rollback_revision = NULL;
    if (app->render_error != NULL)
        app->render_error = "render failed";
    len = gitfleet__app__get_packed_size(app);
    ok = (bytes = malloc(len ? len : 1)) != NULL;
    if (ok) {
        gitfleet__app__pack(app, bytes);
        gf_sha256_hex(out, bytes, len);
        free(bytes);
    }
    *app = saved;
    return ok ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
}
