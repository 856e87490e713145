/* proto_test.c -- the generated protobuf-c code for gitfleet.proto, and signed bundles */
#include "harness.h"

#include "gitfleet.pb-c.h"
#include "gitfleet/error.h"
#include "gitfleet/sign.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const unsigned char body_web[] = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}";
static const unsigned char body_bin[] = {0, 1, 2, 0xff, 0}; /* bytes, NULs included */

/* A Bundle with two apps (one with resources and a sync policy, one that
 * failed to render), built on the stack; pack it into a malloc'd buffer. */
static uint8_t *pack_sample(size_t *len_out)
{
    Gitfleet__ResourceId id1 = GITFLEET__RESOURCE_ID__INIT, id2 = GITFLEET__RESOURCE_ID__INIT;
    Gitfleet__Resource r1 = GITFLEET__RESOURCE__INIT, r2 = GITFLEET__RESOURCE__INIT;
    Gitfleet__Resource *resources[] = {&r1, &r2};
    Gitfleet__RetryPolicy retry = GITFLEET__RETRY_POLICY__INIT;
    Gitfleet__SyncPolicy policy = GITFLEET__SYNC_POLICY__INIT;
    Gitfleet__App a1 = GITFLEET__APP__INIT, a2 = GITFLEET__APP__INIT;
    Gitfleet__App *apps[] = {&a1, &a2};
    Gitfleet__Bundle b = GITFLEET__BUNDLE__INIT;
    char *options[] = {"CreateNamespace=true", "ServerSideApply=true"};
    uint8_t *buf;

    id1.group = "apps", id1.version = "v1", id1.kind = "Deployment";
    id1.namespace_ = "web", id1.name = "web";
    id2.group = "", id2.version = "v1", id2.kind = "ConfigMap", id2.name = "cfg";
    r1.id = &id1, r1.has_sync_wave = 1, r1.sync_wave = -2;
    r1.body.data = (uint8_t *)body_web, r1.body.len = sizeof(body_web) - 1, r1.has_body = 1;
    r2.id = &id2, r2.body.data = (uint8_t *)body_bin, r2.body.len = sizeof(body_bin);
    r2.has_body = 1;
    retry.has_limit = 1, retry.limit = -1, retry.has_backoff_duration_ms = 1;
    retry.backoff_duration_ms = 5000, retry.has_backoff_factor = 1, retry.backoff_factor = 2;
    policy.has_automated = 1, policy.automated = 1, policy.has_prune = 1, policy.prune = 1;
    policy.n_sync_options = 2, policy.sync_options = options, policy.retry = &retry;
    a1.name = "web", a1.namespace_ = "web", a1.revision = "0123abcd", a1.sync_policy = &policy;
    a1.n_resources = 2, a1.resources = resources;
    a2.name = "broken", a2.render_error = "apps/broken: kustomization.yaml: no such file";
    b.cluster = "dev-1", b.has_generation = 1, b.generation = UINT64_C(1) << 40;
    b.revision = "feedface", b.has_created_unix_ms = 1, b.created_unix_ms = 1764000000123;
    b.n_apps = 2, b.apps = apps;
    *len_out = gitfleet__bundle__get_packed_size(&b);
    buf = malloc(*len_out);
    GF_ASSERT(buf != NULL);
    GF_ASSERT_INT(gitfleet__bundle__pack(&b, buf), *len_out);
    return buf;
}

static void check_sample(const Gitfleet__Bundle *b)
{
    GF_ASSERT_STR(b->cluster, "dev-1");
    GF_ASSERT(b->has_generation && b->generation == UINT64_C(1) << 40);
    GF_ASSERT_STR(b->revision, "feedface");
    GF_ASSERT_INT(b->created_unix_ms, 1764000000123);
    GF_ASSERT_INT(b->n_apps, 2);
    const Gitfleet__App *a = b->apps[0];
    GF_ASSERT_STR(a->name, "web");
    GF_ASSERT(a->render_error == NULL);
    GF_ASSERT(a->sync_policy->automated && a->sync_policy->prune);
    GF_ASSERT(!a->sync_policy->has_self_heal);
    GF_ASSERT_INT(a->sync_policy->n_sync_options, 2);
    GF_ASSERT_STR(a->sync_policy->sync_options[1], "ServerSideApply=true");
    GF_ASSERT_INT(a->sync_policy->retry->limit, -1);
    GF_ASSERT_INT(a->sync_policy->retry->backoff_duration_ms, 5000);
    GF_ASSERT(!a->sync_policy->retry->has_backoff_max_duration_ms);
    GF_ASSERT_INT(a->n_resources, 2);
    GF_ASSERT_STR(a->resources[0]->id->kind, "Deployment");
    GF_ASSERT_STR(a->resources[0]->id->namespace_, "web");
    GF_ASSERT_INT(a->resources[0]->sync_wave, -2);
    GF_ASSERT_INT(a->resources[0]->body.len, sizeof(body_web) - 1);
    GF_ASSERT(memcmp(a->resources[0]->body.data, body_web, sizeof(body_web) - 1) == 0);
    GF_ASSERT_STR(a->resources[1]->id->group, "");
    GF_ASSERT(a->resources[1]->id->namespace_ == NULL); /* absent, not "" */
    GF_ASSERT(!a->resources[1]->has_sync_wave);
    GF_ASSERT_INT(a->resources[1]->body.len, sizeof(body_bin));
    GF_ASSERT(memcmp(a->resources[1]->body.data, body_bin, sizeof(body_bin)) == 0);
    GF_ASSERT_STR(b->apps[1]->name, "broken");
    GF_ASSERT_HAS(b->apps[1]->render_error, "no such file");
    GF_ASSERT_INT(b->apps[1]->n_resources, 0);
}

static void test_proto__bundle_round_trip(void)
{
    size_t len, len2;
    uint8_t *buf = pack_sample(&len), *again;
    Gitfleet__Bundle *b = gitfleet__bundle__unpack(NULL, len, buf);

    GF_ASSERT(b != NULL);
    check_sample(b);
    /* Packing what was unpacked gives the same bytes (what was signed). */
    len2 = gitfleet__bundle__get_packed_size(b);
    GF_ASSERT_INT(len2, len);
    again = malloc(len2);
    gitfleet__bundle__pack(b, again);
    GF_ASSERT(memcmp(again, buf, len) == 0);
    gitfleet__bundle__free_unpacked(b, NULL);
    free(again);
    free(buf);
}

/* Offsets where a top-level field of the encoded message ends: a prefix that
 * stops there is itself a valid (smaller) message; any other prefix is not. */
static size_t field_ends(size_t *ends, size_t max, const uint8_t *buf, size_t len)
{
    size_t n = 0, i = 0;

    while (i < len && n < max) {
        uint64_t key = 0, v = 0;
        int shift = 0;
        do
            key |= (uint64_t)(buf[i] & 0x7f) << shift, shift += 7;
        while (buf[i++] & 0x80);
        switch (key & 7) {
        case 0: /* varint */
            while (buf[i++] & 0x80)
                ;
            break;
        case 2: /* length-delimited */
            shift = 0;
            do
                v |= (uint64_t)(buf[i] & 0x7f) << shift, shift += 7;
            while (buf[i++] & 0x80);
            i += v;
            break;
        default:
            gf_test_fail(__FILE__, __LINE__, "unexpected wire type %d", (int)(key & 7));
        }
        ends[n++] = i;
    }
    return n;
}

static void test_proto__every_truncation_refused(void)
{
    size_t len, ends[64], n_ends, valid = 0;
    uint8_t *buf = pack_sample(&len);

    n_ends = field_ends(ends, 64, buf, len);
    GF_ASSERT_INT(ends[n_ends - 1], len);
    for (size_t cut = 0; cut < len; cut++) {
        /* A copy of exactly `cut` bytes, so ASan sees any read past the end. */
        uint8_t *prefix = malloc(cut ? cut : 1);
        int boundary = cut == 0;
        memcpy(prefix, buf, cut);
        for (size_t k = 0; k < n_ends; k++)
            boundary |= ends[k] == cut;
        Gitfleet__Bundle *b = gitfleet__bundle__unpack(NULL, cut, prefix);
        if (boundary != (b != NULL))
            gf_test_fail(__FILE__, __LINE__, "cut at %zu of %zu: %s", cut, len,
                         b ? "decoded a partial field" : "refused a whole-field prefix");
        valid += b != NULL;
        gitfleet__bundle__free_unpacked(b, NULL);
        free(prefix);
    }
    GF_ASSERT_INT(valid, n_ends); /* the empty prefix and every field end but the last */
    free(buf);
}

static void test_proto__garbage_refused_without_crash(void)
{
    static const uint8_t wire7[] = {0x0f, 0x01};                        /* wire type 7 */
    static const uint8_t huge[] = {0x2a, 0xff, 0xff, 0xff, 0xff, 0x0f}; /* 4 GiB app */
    static const uint8_t long_varint[] = {0x10, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t bad_utf8[] = {0x0a, 0x02, 0xc3, 0x28}; /* cluster = invalid UTF-8 */
    unsigned int seed = 99;
    uint8_t junk[256];
    int decoded = 0;

    GF_ASSERT(gitfleet__bundle__unpack(NULL, sizeof(wire7), wire7) == NULL);
    GF_ASSERT(gitfleet__bundle__unpack(NULL, sizeof(huge), huge) == NULL);
    GF_ASSERT(gitfleet__bundle__unpack(NULL, sizeof(long_varint), long_varint) == NULL);
    /* protobuf-c 1.4 does not check UTF-8 in proto2 strings: a decoded string
     * field can hold any bytes but NUL, and whoever puts it in a json_t (which
     * refuses invalid UTF-8) must check. This pins that fact down. */
    Gitfleet__Bundle *odd = gitfleet__bundle__unpack(NULL, sizeof(bad_utf8), bad_utf8);
    GF_ASSERT(odd != NULL);
    GF_ASSERT_STR(odd->cluster, "\xc3\x28");
    gitfleet__bundle__free_unpacked(odd, NULL);
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)rand_r(&seed) % sizeof(junk) + 1;
        for (size_t i = 0; i < n; i++)
            junk[i] = (uint8_t)rand_r(&seed);
        Gitfleet__Bundle *b = gitfleet__bundle__unpack(NULL, n, junk);
        decoded += b != NULL;
        gitfleet__bundle__free_unpacked(b, NULL);
        Gitfleet__HubResponse *r = gitfleet__hub_response__unpack(NULL, n, junk);
        gitfleet__hub_response__free_unpacked(r, NULL);
    }
    /* Random bytes almost never form a message; mostly this proves no crash. */
    GF_ASSERT(decoded < 300);
}

/* Hub side: sign the packed Bundle, wrap it. Agent side: verify those bytes
 * with the pinned key, then decode them. */
static void test_proto__signed_bundle_verifies(void)
{
    gf_sign_key *hub = NULL, *rogue = NULL;
    unsigned char sig[GF_SIGN_SIGNATURE_LEN];
    char kid[GF_SIGN_KEY_ID_LEN + 1];
    size_t len, wlen;
    uint8_t *bundle = pack_sample(&len), *wire;
    Gitfleet__SignedBundle sb = GITFLEET__SIGNED_BUNDLE__INIT, *got;

    GF_ASSERT_INT(gf_sign_key_generate(&hub), 0);
    GF_ASSERT_INT(gf_sign_key_generate(&rogue), 0);
    GF_ASSERT_INT(gf_sign(sig, hub, bundle, len), 0);
    gf_sign_key_id(kid, hub);
    sb.has_bundle = 1, sb.bundle.data = bundle, sb.bundle.len = len;
    sb.has_signature = 1, sb.signature.data = sig, sb.signature.len = sizeof(sig);
    sb.key_id = kid;
    wlen = gitfleet__signed_bundle__get_packed_size(&sb);
    wire = malloc(wlen);
    gitfleet__signed_bundle__pack(&sb, wire);

    got = gitfleet__signed_bundle__unpack(NULL, wlen, wire);
    GF_ASSERT(got != NULL && got->has_bundle && got->has_signature);
    GF_ASSERT_STR(got->key_id, kid);
    GF_ASSERT_INT(gf_sign_verify(hub, got->signature.data, got->signature.len, got->bundle.data,
                                 got->bundle.len),
                  0);
    GF_ASSERT_INT(gf_sign_verify(rogue, got->signature.data, got->signature.len, got->bundle.data,
                                 got->bundle.len),
                  GF_EPERM);
    Gitfleet__Bundle *b = gitfleet__bundle__unpack(NULL, got->bundle.len, got->bundle.data);
    GF_ASSERT(b != NULL);
    check_sample(b);
    gitfleet__bundle__free_unpacked(b, NULL);
    /* A byte changed in transit (inside the generation) breaks the signature. */
    got->bundle.data[12] ^= 0x01;
    GF_ASSERT_INT(gf_sign_verify(hub, got->signature.data, got->signature.len, got->bundle.data,
                                 got->bundle.len),
                  GF_EPERM);
    gitfleet__signed_bundle__free_unpacked(got, NULL);
    free(wire);
    free(bundle);
    gf_sign_key_free(hub);
    gf_sign_key_free(rogue);
}

static void test_proto__agent_request_oneof(void)
{
    Gitfleet__AgentRequestBody body = GITFLEET__AGENT_REQUEST_BODY__INIT, *got;
    Gitfleet__BundleRequest req = GITFLEET__BUNDLE_REQUEST__INIT;
    uint8_t nonce[16] = {1, 2, 3}, buf[128];
    size_t len;

    req.has_after_generation = 1, req.after_generation = 41, req.has_wait_ms = 1;
    req.wait_ms = 30000;
    body.cluster = "dev-1", body.has_nonce = 1, body.nonce.data = nonce;
    body.nonce.len = sizeof(nonce);
    body.request_case = GITFLEET__AGENT_REQUEST_BODY__REQUEST_BUNDLE, body.bundle = &req;
    len = gitfleet__agent_request_body__pack(&body, buf);
    GF_ASSERT(len <= sizeof(buf));
    got = gitfleet__agent_request_body__unpack(NULL, len, buf);
    GF_ASSERT(got != NULL);
    GF_ASSERT_INT(got->request_case, GITFLEET__AGENT_REQUEST_BODY__REQUEST_BUNDLE);
    GF_ASSERT_INT(got->bundle->after_generation, 41);
    GF_ASSERT_INT(got->nonce.len, 16);
    gitfleet__agent_request_body__free_unpacked(got, NULL);
}

GF_TESTS(GF_TEST(test_proto__bundle_round_trip), GF_TEST(test_proto__every_truncation_refused),
         GF_TEST(test_proto__garbage_refused_without_crash),
         GF_TEST(test_proto__signed_bundle_verifies), GF_TEST(test_proto__agent_request_oneof));
