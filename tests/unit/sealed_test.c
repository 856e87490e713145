/* sealed_test.c -- SealedSecret: seal and open, scope binding, recipients, tampering, reseal */
#include "harness.h"

#include "gitfleet/base64.h"
#include "gitfleet/doc.h"
#include "gitfleet/error.h"
#include "gitfleet/sealed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *secret(const char *ns, const char *name)
{
    /* "cGFzc3dvcmQ=" is "password" */
    json_t *s =
        json_pack("{s:s, s:s, s:{s:s, s:{s:s}, s:{s:s}}, s:s, s:{s:s}, s:{s:s}}", "apiVersion",
                  "v1", "kind", "Secret", "metadata", "name", name, "labels", "app", "db",
                  "annotations", "team", "data", "type", "kubernetes.io/basic-auth", "data",
                  "password", "cGFzc3dvcmQ=", "stringData", "username", "admin");
    if (ns)
        json_object_set_new(json_object_get(s, "metadata"), "namespace", json_string(ns));
    return s;
}

static struct gf_sealed_recipient to(const char *cluster, const gf_age_identity *id)
{
    struct gf_sealed_recipient r = {.cluster = cluster, .recipient = id->recipient};
    return r;
}

static gf_age_identity ident(void)
{
    gf_age_identity id;
    GF_ASSERT_INT(gf_age_identity_generate(&id), 0);
    return id;
}

static void test_sealed__round_trip(void)
{
    gf_age_identity dev = ident();
    struct gf_sealed_recipient r = to("dev-1", &dev);
    json_t *in = secret("app", "db"), *sealed = NULL, *out = NULL;
    char *text;

    GF_ASSERT_INT(gf_sealed_seal(&sealed, in, &r, 1, NULL, NULL, NULL), 0);
    GF_ASSERT(gf_sealed_is_sealed(sealed));
    GF_ASSERT_STR(gf_doc_string(sealed, "spec.scope"), "strict");
    GF_ASSERT_STR(gf_doc_string(sealed, "spec.type"), "kubernetes.io/basic-auth");
    GF_ASSERT_STR(gf_doc_string(sealed, "metadata.labels.app"), "db");
    GF_ASSERT_STR(gf_doc_string(sealed, "spec.recipients.0.cluster"), "dev-1");
    GF_ASSERT_HAS(gf_doc_string(sealed, "spec.recipients.0.recipient"), "age1");
    /* No plaintext anywhere in the sealed object. */
    gf_doc_canonical(&text, NULL, sealed);
    GF_ASSERT(strstr(text, "password\"") == NULL || strstr(text, "cGFzc3dvcmQ") == NULL);
    GF_ASSERT(strstr(text, "cGFzc3dvcmQ") == NULL && strstr(text, "admin") == NULL);
    free(text);
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &dev, 1, "ignored"), 0);
    GF_ASSERT_STR(gf_doc_string(out, "kind"), "Secret");
    GF_ASSERT_STR(gf_doc_string(out, "metadata.namespace"), "app");
    GF_ASSERT_STR(gf_doc_string(out, "metadata.name"), "db");
    GF_ASSERT_STR(gf_doc_string(out, "metadata.annotations.team"), "data");
    GF_ASSERT_STR(gf_doc_string(out, "type"), "kubernetes.io/basic-auth");
    GF_ASSERT_STR(gf_doc_string(out, "data.password"), "cGFzc3dvcmQ=");
    GF_ASSERT_STR(gf_doc_string(out, "data.username"), "YWRtaW4="); /* stringData -> data */
    json_decref(out);
    json_decref(sealed);
    json_decref(in);
}

static void test_sealed__wrong_cluster_refused(void)
{
    gf_age_identity dev = ident(), staging = ident();
    struct gf_sealed_recipient r = to("dev-1", &dev);
    json_t *in = secret("app", "db"), *sealed = NULL, *out = NULL;

    GF_ASSERT_INT(gf_sealed_seal(&sealed, in, &r, 1, "strict", NULL, NULL), 0);
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &staging, 1, NULL), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "SealedSecret app/db");
    GF_ASSERT_HAS(gf_error_last(), "no identity matches");
    GF_ASSERT(out == NULL);
    json_decref(sealed);
    json_decref(in);
}

static void test_sealed__multi_recipient(void)
{
    gf_age_identity a = ident(), b = ident();
    struct gf_sealed_recipient r[2] = {to("dev-1", &a), to("dev-2", &b)};
    json_t *in = secret("app", "db"), *sealed = NULL, *out = NULL;

    GF_ASSERT_INT(gf_sealed_seal(&sealed, in, r, 2, NULL, NULL, NULL), 0);
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &a, 1, NULL), 0);
    json_decref(out);
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &b, 1, NULL), 0);
    json_decref(out);
    json_decref(sealed);
    json_decref(in);
}

/* A value copied into another Secret (other name, other namespace) must not
 * open; the same rules for namespace scope; cluster scope opens anywhere. */
static void test_sealed__scope_binding(void)
{
    gf_age_identity id = ident();
    struct gf_sealed_recipient r = to("dev-1", &id);
    json_t *in = secret("app", "db"), *sealed = NULL, *out = NULL;

    GF_ASSERT_INT(gf_sealed_seal(&sealed, in, &r, 1, "strict", NULL, NULL), 0);
    json_object_set_new(json_object_get(sealed, "metadata"), "name", json_string("other"));
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &id, 1, NULL), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "sealed for strict scope app/db, not for app/other");
    /* Declaring a looser scope does not loosen what the value says. */
    json_object_set_new(json_object_get(sealed, "spec"), "scope", json_string("cluster"));
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &id, 1, NULL), GF_EPERM);
    json_object_set_new(json_object_get(sealed, "metadata"), "name", json_string("db"));
    json_object_set_new(json_object_get(sealed, "metadata"), "namespace", json_string("web"));
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &id, 1, NULL), GF_EPERM);
    json_decref(sealed);

    /* namespace scope: any name, same namespace. */
    GF_ASSERT_INT(gf_sealed_seal(&sealed, in, &r, 1, "namespace", NULL, NULL), 0);
    json_object_set_new(json_object_get(sealed, "metadata"), "name", json_string("other"));
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &id, 1, NULL), 0);
    json_decref(out);
    json_object_set_new(json_object_get(sealed, "metadata"), "namespace", json_string("web"));
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &id, 1, NULL), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "namespace scope app");
    json_decref(sealed);

    /* cluster scope: anywhere; no namespace needed. */
    json_object_del(json_object_get(in, "metadata"), "namespace");
    GF_ASSERT_INT(gf_sealed_seal(&sealed, in, &r, 1, "strict", NULL, NULL), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "--namespace");
    GF_ASSERT_INT(gf_sealed_seal(&sealed, in, &r, 1, "cluster", NULL, NULL), 0);
    json_object_set_new(json_object_get(sealed, "metadata"), "namespace", json_string("web"));
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &id, 1, NULL), 0);
    GF_ASSERT_STR(gf_doc_string(out, "metadata.namespace"), "web");
    json_decref(out);
    json_decref(sealed);

    /* The rendered name: bound to what --namespace/--name say. */
    GF_ASSERT_INT(gf_sealed_seal(&sealed, in, &r, 1, "strict", "prod", "prod-db"), 0);
    GF_ASSERT_STR(gf_doc_string(sealed, "metadata.name"), "prod-db");
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &id, 1, NULL), 0);
    json_decref(out);
    /* A strict object without namespace takes the app's namespace. */
    json_object_del(json_object_get(sealed, "metadata"), "namespace");
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &id, 1, "prod"), 0);
    GF_ASSERT_STR(gf_doc_string(out, "metadata.namespace"), "prod");
    json_decref(out);
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &id, 1, "dev"), GF_EPERM);
    json_decref(sealed);
    json_decref(in);
}

/* Swapping a value between keys of one object is allowed by the binding
 * (as in Sealed Secrets), but a value from another object is not. */
static void test_sealed__value_moved_between_objects(void)
{
    gf_age_identity id = ident();
    struct gf_sealed_recipient r = to("dev-1", &id);
    json_t *a = secret("app", "a"), *b = secret("app", "b"), *sa = NULL, *sb = NULL, *out = NULL;

    GF_ASSERT_INT(gf_sealed_seal(&sa, a, &r, 1, NULL, NULL, NULL), 0);
    GF_ASSERT_INT(gf_sealed_seal(&sb, b, &r, 1, NULL, NULL, NULL), 0);
    json_object_set(gf_doc_get(sb, "spec.encryptedData"), "password",
                    gf_doc_get(sa, "spec.encryptedData.password"));
    GF_ASSERT_INT(gf_sealed_open(&out, sb, &id, 1, NULL), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "value \"password\" was sealed for strict scope app/a");
    json_decref(sa);
    json_decref(sb);
    json_decref(a);
    json_decref(b);
}

static void test_sealed__tampered_value_refused(void)
{
    gf_age_identity id = ident();
    struct gf_sealed_recipient r = to("dev-1", &id);
    json_t *in = secret("app", "db"), *sealed = NULL, *out = NULL;
    unsigned char *ct;
    size_t len;
    char *b64;

    GF_ASSERT_INT(gf_sealed_seal(&sealed, in, &r, 1, NULL, NULL, NULL), 0);
    const char *v = gf_doc_string(sealed, "spec.encryptedData.password");
    GF_ASSERT_INT(gf_base64_decode(&ct, &len, v, strlen(v)), 0);
    for (size_t i = 0; i < len; i += 7) {
        ct[i] ^= 0x20;
        gf_base64_encode(&b64, NULL, ct, len);
        json_object_set_new(gf_doc_get(sealed, "spec.encryptedData"), "password", json_string(b64));
        free(b64);
        if (gf_sealed_open(&out, sealed, &id, 1, NULL) == 0)
            gf_test_fail(__FILE__, __LINE__, "flipping byte %zu was not noticed", i);
        ct[i] ^= 0x20;
    }
    free(ct);
    json_object_set_new(gf_doc_get(sealed, "spec.encryptedData"), "password",
                        json_string("not base64!"));
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &id, 1, NULL), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "not base64");
    json_decref(sealed);
    json_decref(in);
}

/* A value encrypted with plain age (no scope stanza) opens only in a
 * cluster-scoped object. */
static void test_sealed__unbound_value_needs_cluster_scope(void)
{
    gf_age_identity id = ident();
    unsigned char *ct = NULL;
    size_t len;
    char *b64;
    json_t *sealed, *out = NULL;

    GF_ASSERT_INT(gf_age_encrypt(&ct, &len, &id.recipient, 1, NULL, "pw", 2), 0);
    gf_base64_encode(&b64, NULL, ct, len);
    sealed = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:{s:s}}}", "apiVersion", "gitfleet.io/v1",
                       "kind", "SealedSecret", "metadata", "name", "x", "namespace", "app", "spec",
                       "scope", "strict", "encryptedData", "k", b64);
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &id, 1, NULL), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "not bound to a scope");
    json_object_set_new(json_object_get(sealed, "spec"), "scope", json_string("cluster"));
    GF_ASSERT_INT(gf_sealed_open(&out, sealed, &id, 1, NULL), 0);
    GF_ASSERT_STR(gf_doc_string(out, "data.k"), "cHc=");
    json_decref(out);
    json_decref(sealed);
    free(b64);
    free(ct);
}

static void test_sealed__malformed_refused(void)
{
    gf_age_identity id = ident();
    struct gf_sealed_recipient r = to("dev-1", &id);
    json_t *out = NULL, *in = secret("app", "db");

    json_t *bad = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "gitfleet.io/v1", "kind",
                            "SealedSecret", "metadata", "name", "x", "spec", "scope", "everywhere");
    GF_ASSERT_INT(gf_sealed_open(&out, bad, &id, 1, "ns"), GF_EINVAL);
    json_decref(bad);
    GF_ASSERT_INT(gf_sealed_seal(&out, in, &r, 0, NULL, NULL, NULL), GF_EINVAL);
    GF_ASSERT_INT(gf_sealed_seal(&out, in, &r, 1, "wide", NULL, NULL), GF_EINVAL);
    json_object_set_new(json_object_get(in, "data"), "bad key!", json_string("eA=="));
    GF_ASSERT_INT(gf_sealed_seal(&out, in, &r, 1, NULL, NULL, NULL), GF_EINVAL);
    json_object_set_new(in, "kind", json_string("ConfigMap"));
    GF_ASSERT_INT(gf_sealed_seal(&out, in, &r, 1, NULL, NULL, NULL), GF_EINVAL);
    json_decref(in);
}

static void test_sealed__reseal(void)
{
    gf_age_identity old = ident(), new = ident();
    struct gf_sealed_recipient r_old = to("dev-1", &old), r_new = to("dev-1", &new);
    json_t *in = secret("app", "db"), *sealed = NULL, *again = NULL, *out = NULL;

    GF_ASSERT_INT(gf_sealed_seal(&sealed, in, &r_old, 1, "namespace", NULL, NULL), 0);
    GF_ASSERT_INT(gf_sealed_reseal(&again, sealed, &new, 1, &r_new, 1), GF_EPERM);
    GF_ASSERT_INT(gf_sealed_reseal(&again, sealed, &old, 1, &r_new, 1), 0);
    GF_ASSERT_STR(gf_doc_string(again, "spec.scope"), "namespace");
    GF_ASSERT_INT(gf_sealed_open(&out, again, &old, 1, NULL), GF_EPERM);
    GF_ASSERT_INT(gf_sealed_open(&out, again, &new, 1, NULL), 0);
    GF_ASSERT_STR(gf_doc_string(out, "data.password"), "cGFzc3dvcmQ=");
    json_decref(out);
    json_decref(again);
    json_decref(sealed);
    json_decref(in);
}

GF_TESTS(GF_TEST(test_sealed__round_trip), GF_TEST(test_sealed__wrong_cluster_refused),
         GF_TEST(test_sealed__multi_recipient), GF_TEST(test_sealed__scope_binding),
         GF_TEST(test_sealed__value_moved_between_objects),
         GF_TEST(test_sealed__tampered_value_refused),
         GF_TEST(test_sealed__unbound_value_needs_cluster_scope),
         GF_TEST(test_sealed__malformed_refused), GF_TEST(test_sealed__reseal));
