/* seckeys.c -- clusters' age recipients for sealed secrets: learnt at join and from reports,
 * rotated on request */
#include "seckeys.h"

#include "gitfleet/age.h"
#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "gitfleet/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_recipient(const char *recipient)
{
    gf_age_recipient r;

    if (gf_age_recipient_parse(&r, recipient) < 0)
        return gf_error_wrap(GF_EINVAL, "secret recipient");
    return 0;
}

int hub_seckeys_joined(hub_store *store, const char *cluster, const char *recipient)
{
    int error;

    if (recipient == NULL || recipient[0] == '\0')
        return 0;
    if ((error = check_recipient(recipient)) < 0)
        return error;
    return hub_store_recipient_put(store, cluster, recipient, gf_wire_now_ms(), 0);
}

/* The report's recipient becomes current; when it answers the pending
 * rotation, the older ones keep their grace period. */
static int learn(hub_store *store, const char *cluster, const Gitfleet__Report *report,
                 struct hub_store_rotation *rot, int have_rot)
{
    int answers = have_rot && rot->done_ms == 0 && report->secret_rotation_id &&
                  strcmp(report->secret_rotation_id, rot->id) == 0;
    int64_t now = gf_wire_now_ms();
    int error;

    if (report->secret_recipient == NULL || report->secret_recipient[0] == '\0')
        return 0;
    if ((error = check_recipient(report->secret_recipient)) < 0 ||
        (error = hub_store_recipient_put(store, cluster, report->secret_recipient, now,
                                         answers ? rot->grace_ms : 0)) < 0)
        return error;
    if (answers) {
        rot->done_ms = now;
        gf_log_info("HUB-SECRET-KEY-ROTATED", "cluster=%s rotation=%s", cluster, rot->id);
        return hub_store_rotation_done(store, cluster, rot->id, now);
    }
    return 0;
}

static int sign_rotation(Gitfleet__SignedSecretKeyRotation **out, const gf_sign_key *hub_key,
                         const char *cluster, const struct hub_store_rotation *rot)
{
    Gitfleet__SecretKeyRotation r = GITFLEET__SECRET_KEY_ROTATION__INIT;
    Gitfleet__SignedSecretKeyRotation *s = malloc(sizeof(*s));
    size_t len;
    int error;

    *out = NULL;
    if (s == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    gitfleet__signed_secret_key_rotation__init(s);
    r.cluster = (char *)cluster;
    r.id = (char *)rot->id;
    r.has_requested_unix_ms = r.has_grace_ms = 1;
    r.requested_unix_ms = rot->requested_ms;
    r.grace_ms = rot->grace_ms;
    len = gitfleet__secret_key_rotation__get_packed_size(&r);
    s->rotation.data = malloc(len ? len : 1);
    s->signature.data = malloc(GF_SIGN_SIGNATURE_LEN);
    if (s->rotation.data == NULL || s->signature.data == NULL) {
        hub_seckeys_rotation_free(s);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    s->rotation.len = gitfleet__secret_key_rotation__pack(&r, s->rotation.data);
    s->signature.len = GF_SIGN_SIGNATURE_LEN;
    s->has_rotation = s->has_signature = 1;
    if ((error = gf_sign(s->signature.data, hub_key, s->rotation.data, s->rotation.len)) < 0) {
        hub_seckeys_rotation_free(s);
        return error;
    }
    *out = s;
    return 0;
}

int hub_seckeys_on_report(hub_store *store, const gf_sign_key *hub_key, const char *cluster,
                          const Gitfleet__Report *report, Gitfleet__SignedSecretKeyRotation **out)
{
    struct hub_store_rotation rot;
    int have = hub_store_rotation_get(store, cluster, &rot) == 0;
    int error;

    *out = NULL;
    if ((error = learn(store, cluster, report, &rot, have)) < 0)
        return error;
    if (!have || rot.done_ms != 0)
        return 0;
    return sign_rotation(out, hub_key, cluster, &rot);
}

void hub_seckeys_rotation_free(Gitfleet__SignedSecretKeyRotation *r)
{
    if (r == NULL)
        return;
    free(r->rotation.data);
    free(r->signature.data);
    free(r);
}

int hub_seckeys_rotate(hub_store *store, const char *cluster, int64_t grace_ms, char id_out[64])
{
    struct hub_store_cluster c;
    unsigned char rnd[8];
    int64_t now = gf_wire_now_ms();
    int error;

    if ((error = hub_store_cluster_get(store, cluster, &c)) < 0)
        return error;
    if (!c.joined)
        return gf_error_set(GF_ENOTFOUND, "cluster '%s' has no agent joined: nothing to rotate",
                            cluster);
    if (grace_ms < 0)
        return gf_error_set(GF_EINVAL, "the grace period cannot be negative");
    if ((error = gf_wire_random(rnd, sizeof(rnd))) < 0)
        return error;
    snprintf(id_out, 64, "%lld-%02x%02x%02x%02x", (long long)now, rnd[0], rnd[1], rnd[2], rnd[3]);
    if ((error = hub_store_rotation_request(store, cluster, id_out, now, grace_ms)) < 0)
        return error;
    gf_log_info("HUB-SECRET-KEY-ROTATE", "cluster=%s rotation=%s grace_ms=%lld", cluster, id_out,
                (long long)grace_ms);
    return 0;
}
