/* seckeys_test.c -- sealed-secret keys between hub and agent: join, signed rotation, grace,
 * revocation */
#include "harness.h"

#include "gitfleet/error.h"
#include "gitfleet/sealed.h"
#include "gitfleet/wire.h"
#include "seckeys.h"
#include "secrets.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct world {
    hub_store *store;
    gf_sign_key *hub_key;
    char recipient[GF_AGE_RECIPIENT_MAX];
};

/* A hub store with dev-1 joined by an agent whose state is the tmpdir. */
static void setup(struct world *w)
{
    char path[512];
    unsigned char pub[32] = {1};

    snprintf(path, sizeof(path), "%s/hub.db", gf_test_tmpdir());
    GF_ASSERT_INT(hub_store_open(&w->store, path), 0);
    GF_ASSERT_INT(gf_sign_key_generate(&w->hub_key), 0);
    GF_ASSERT_INT(hub_store_token_add(w->store, "dev-1", "h", gf_wire_now_ms() + 60000), 0);
    GF_ASSERT_INT(hub_store_cluster_set_key(w->store, "dev-1", pub, gf_wire_now_ms()), 0);
    GF_ASSERT_INT(agent_secrets_create(gf_test_tmpdir(), w->recipient), 0);
    GF_ASSERT_INT(hub_seckeys_joined(w->store, "dev-1", w->recipient), 0);
}

static void teardown(struct world *w)
{
    agent_secrets_unload();
    gf_sign_key_free(w->hub_key);
    hub_store_close(w->store);
}

static Gitfleet__SignedSecretKeyRotation *report(struct world *w, const char *recipient,
                                                 const char *rotation)
{
    Gitfleet__Report r = GITFLEET__REPORT__INIT;
    Gitfleet__SignedSecretKeyRotation *req = NULL;

    r.cluster = "dev-1";
    r.secret_recipient = (char *)recipient;
    r.secret_rotation_id = (char *)rotation;
    GF_ASSERT_INT(hub_seckeys_on_report(w->store, w->hub_key, "dev-1", &r, &req), 0);
    return req;
}

/* A Secret sealed (cluster scope) to `recipient`. */
static json_t *sealed_to(const char *recipient)
{
    struct gf_sealed_recipient r = {.cluster = "dev-1"};
    json_t *secret = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                               "metadata", "name", "s", "stringData", "k", "v");
    json_t *out = NULL;

    GF_ASSERT_INT(gf_age_recipient_parse(&r.recipient, recipient), 0);
    GF_ASSERT_INT(gf_sealed_seal(&out, secret, &r, 1, "cluster", NULL, NULL), 0);
    json_decref(secret);
    return out;
}

static int opens(json_t *sealed)
{
    json_t *obj = json_incref(sealed);
    int error = agent_secrets_unseal(&obj, "ns");

    json_decref(obj);
    return error;
}

static void test_seckeys__join_key_file_and_listing(void)
{
    struct world w;
    struct stat st;
    char path[600], again[GF_AGE_RECIPIENT_MAX];
    json_t *rows = NULL;

    setup(&w);
    snprintf(path, sizeof(path), "%s/secret.key", gf_test_tmpdir());
    GF_ASSERT_INT(stat(path, &st), 0);
    GF_ASSERT_INT(st.st_mode & 0777, 0600);
    GF_ASSERT_INT(hub_store_recipients(w.store, "dev-1", gf_wire_now_ms(), &rows), 0);
    GF_ASSERT_INT(json_array_size(rows), 1);
    GF_ASSERT_STR(json_string_value(json_object_get(json_array_get(rows, 0), "recipient")),
                  w.recipient);
    json_decref(rows);
    /* Nothing to rotate: reports bring no request. */
    GF_ASSERT(report(&w, w.recipient, NULL) == NULL);
    /* A restart loads the same key. */
    agent_secrets_unload();
    GF_ASSERT_INT(agent_secrets_load(gf_test_tmpdir()), 0);
    agent_secrets_recipient(again);
    GF_ASSERT_STR(again, w.recipient);
    /* A join with a malformed recipient is refused. */
    GF_ASSERT_INT(hub_seckeys_joined(w.store, "dev-1", "age1nope"), GF_EINVAL);
    teardown(&w);
}

static void test_seckeys__rotation_with_grace(void)
{
    struct world w;
    char id[64], now_key[GF_AGE_RECIPIENT_MAX], rot[64];
    json_t *rows = NULL, *old_value;

    setup(&w);
    old_value = sealed_to(w.recipient);
    GF_ASSERT_INT(hub_seckeys_rotate(w.store, "dev-1", 3600 * 1000, id), 0);
    Gitfleet__SignedSecretKeyRotation *req = report(&w, w.recipient, NULL);
    GF_ASSERT(req != NULL);
    gf_sign_key *hub_pub = w.hub_key;
    GF_ASSERT_INT(agent_secrets_rotate(req, hub_pub, "dev-1"), 1);
    GF_ASSERT_INT(agent_secrets_rotate(req, hub_pub, "dev-1"), 0); /* once per id */
    agent_secrets_recipient(now_key);
    agent_secrets_rotation_id(rot);
    GF_ASSERT(strcmp(now_key, w.recipient) != 0);
    GF_ASSERT_STR(rot, id);
    /* The old key still opens during the grace; the new one opens too. */
    GF_ASSERT_INT(opens(old_value), 0);
    json_t *new_value = sealed_to(now_key);
    GF_ASSERT_INT(opens(new_value), 0);
    /* The report with the new recipient and the request id ends the request. */
    GF_ASSERT(report(&w, now_key, rot) == NULL);
    GF_ASSERT_INT(hub_store_recipients(w.store, "dev-1", gf_wire_now_ms(), &rows), 0);
    GF_ASSERT_INT(json_array_size(rows), 2);
    GF_ASSERT_STR(json_string_value(json_object_get(json_array_get(rows, 0), "recipient")),
                  now_key);
    GF_ASSERT(json_is_true(json_object_get(json_array_get(rows, 0), "current")));
    GF_ASSERT(json_integer_value(json_object_get(json_array_get(rows, 1), "retiresUnixMs")) >
              gf_wire_now_ms());
    json_decref(rows);
    /* Past the grace the old recipient is no longer listed. */
    GF_ASSERT_INT(hub_store_recipients(w.store, "dev-1", gf_wire_now_ms() + 3601 * 1000, &rows), 0);
    GF_ASSERT_INT(json_array_size(rows), 1);
    json_decref(rows);
    /* The identities and the rotation survive a restart. */
    agent_secrets_unload();
    GF_ASSERT_INT(agent_secrets_load(gf_test_tmpdir()), 0);
    GF_ASSERT_INT(opens(old_value), 0);
    GF_ASSERT_INT(agent_secrets_rotate(req, hub_pub, "dev-1"), 0);
    hub_seckeys_rotation_free(req);

    /* A rotation without grace: the old key stops opening at once. */
    GF_ASSERT_INT(hub_seckeys_rotate(w.store, "dev-1", 0, id), 0);
    req = report(&w, now_key, rot);
    GF_ASSERT(req != NULL);
    GF_ASSERT_INT(agent_secrets_rotate(req, hub_pub, "dev-1"), 1);
    GF_ASSERT_INT(opens(old_value), GF_EPERM);
    GF_ASSERT_INT(opens(new_value), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "no identity matches");
    hub_seckeys_rotation_free(req);
    json_decref(old_value);
    json_decref(new_value);
    teardown(&w);
}

static void test_seckeys__forged_rotation_refused(void)
{
    struct world w;
    char id[64], before[GF_AGE_RECIPIENT_MAX], after[GF_AGE_RECIPIENT_MAX];
    gf_sign_key *other = NULL;

    setup(&w);
    GF_ASSERT_INT(hub_seckeys_rotate(w.store, "dev-1", 1000, id), 0);
    Gitfleet__SignedSecretKeyRotation *req = report(&w, w.recipient, NULL);
    GF_ASSERT(req != NULL);
    agent_secrets_recipient(before);
    /* For another cluster. */
    GF_ASSERT_INT(agent_secrets_rotate(req, w.hub_key, "prod-1"), GF_EPERM);
    /* Not the pinned hub key. */
    GF_ASSERT_INT(gf_sign_key_generate(&other), 0);
    GF_ASSERT_INT(agent_secrets_rotate(req, other, "dev-1"), GF_EPERM);
    /* A changed byte. */
    req->rotation.data[req->rotation.len - 1] ^= 1;
    GF_ASSERT_INT(agent_secrets_rotate(req, w.hub_key, "dev-1"), GF_EPERM);
    req->rotation.data[req->rotation.len - 1] ^= 1;
    req->signature.data[0] ^= 1;
    GF_ASSERT_INT(agent_secrets_rotate(req, w.hub_key, "dev-1"), GF_EPERM);
    agent_secrets_recipient(after);
    GF_ASSERT_STR(after, before);
    hub_seckeys_rotation_free(req);
    gf_sign_key_free(other);
    /* Not joined: nothing to rotate. */
    GF_ASSERT_INT(hub_seckeys_rotate(w.store, "nobody", 1000, id), GF_ENOTFOUND);
    teardown(&w);
}

static void test_seckeys__revocation_forgets_recipients(void)
{
    struct world w;
    json_t *rows = NULL;

    setup(&w);
    GF_ASSERT_INT(hub_store_cluster_remove(w.store, "dev-1"), 0);
    GF_ASSERT_INT(hub_store_recipients(w.store, NULL, gf_wire_now_ms(), &rows), 0);
    GF_ASSERT_INT(json_array_size(rows), 0);
    json_decref(rows);
    teardown(&w);
}

GF_TESTS(GF_TEST(test_seckeys__join_key_file_and_listing),
         GF_TEST(test_seckeys__rotation_with_grace), GF_TEST(test_seckeys__forged_rotation_refused),
         GF_TEST(test_seckeys__revocation_forgets_recipients));
