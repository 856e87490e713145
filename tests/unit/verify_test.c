/* verify_test.c -- the agent refuses tampered, foreign-key, other-cluster and old bundles */
#include "harness.h"

#include "gitfleet/error.h"
#include "gitfleet/wire.h"
#include "state.h"
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static unsigned char *seal(const gf_sign_key *key, const char *cluster, uint64_t gen, size_t *len)
{
    Gitfleet__Bundle b = GITFLEET__BUNDLE__INIT;
    unsigned char *out = NULL;

    b.cluster = (char *)cluster;
    b.has_generation = 1;
    b.generation = gen;
    GF_ASSERT_INT(gf_wire_bundle_seal(&out, len, &b, key), 0);
    return out;
}

static void test_verify__accepts_only_what_it_should(void)
{
    gf_sign_key *hub = NULL, *rogue = NULL;
    Gitfleet__Bundle *bundle = NULL;
    unsigned char *bytes;
    size_t len;

    GF_ASSERT_INT(gf_sign_key_generate(&hub), 0);
    GF_ASSERT_INT(gf_sign_key_generate(&rogue), 0);

    bytes = seal(hub, "dev-1", 3, &len);
    GF_ASSERT_INT(agent_verify_bundle(&bundle, bytes, len, hub, "dev-1", 2), 0);
    GF_ASSERT_INT(bundle->generation, 3);
    gitfleet__bundle__free_unpacked(bundle, NULL);
    GF_ASSERT_INT(agent_verify_bundle(&bundle, bytes, len, hub, "dev-1", 3), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "not newer");
    GF_ASSERT_INT(agent_verify_bundle(&bundle, bytes, len, hub, "prod-1", 0), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "for cluster 'dev-1', not 'prod-1'");
    bytes[len / 2] ^= 1; /* tampered */
    GF_ASSERT_INT(agent_verify_bundle(&bundle, bytes, len, hub, "dev-1", 0), GF_EPERM);
    GF_ASSERT(bundle == NULL);
    GF_ASSERT_INT(agent_verify_bundle(&bundle, bytes, len / 3, hub, "dev-1", 0), GF_EPERM);
    free(bytes);

    bytes = seal(rogue, "dev-1", 9, &len);
    GF_ASSERT_INT(agent_verify_bundle(&bundle, bytes, len, hub, "dev-1", 0), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "does not verify");
    free(bytes);
    gf_sign_key_free(hub);
    gf_sign_key_free(rogue);
}

static void test_verify__state_dir_round_trip(void)
{
    struct agent_state st, again;
    char dir[512];
    unsigned char hub_raw[32], *bytes = NULL;
    size_t len = 0;
    gf_sign_key *hub = NULL;
    struct stat sb;

    snprintf(dir, sizeof(dir), "%s/state", gf_test_tmpdir());
    GF_ASSERT_INT(agent_state_load(&st, dir), GF_ENOTFOUND);
    GF_ASSERT_HAS(gf_error_last(), "gitfleet-agent join");
    agent_state_clear(&st);
    GF_ASSERT_INT(agent_state_init(&st, dir), 0);
    GF_ASSERT_INT(gf_sign_key_generate(&hub), 0);
    gf_sign_key_public_raw(hub_raw, hub);
    struct gf_wire_tls tls = {.ca_file = "/etc/hosts", .server_name = "hub.example.com"};
    GF_ASSERT_INT(agent_state_save_join(&st, "dev-1", "tcp://127.0.0.1:1", hub_raw, &tls), 0);
    GF_ASSERT_INT(agent_state_read_bundle(&st, &bytes, &len), GF_ENOTFOUND);
    GF_ASSERT_INT(agent_state_write_bundle(&st, "abc", 3), 0);

    GF_ASSERT_INT(agent_state_load(&again, dir), 0);
    GF_ASSERT_STR(again.cluster, "dev-1");
    GF_ASSERT_STR(again.hub_url, "tcp://127.0.0.1:1");
    GF_ASSERT_STR(again.tls_ca, "/etc/hosts"); /* run defaults to the join's TLS files */
    GF_ASSERT_STR(again.tls_server_name, "hub.example.com");
    GF_ASSERT_STR(again.tls_cert, "");
    char id1[17], id2[17];
    gf_sign_key_id(id1, st.agent_key);
    gf_sign_key_id(id2, again.agent_key);
    GF_ASSERT_STR(id1, id2); /* the key survives a restart */
    gf_sign_key_id(id1, hub);
    gf_sign_key_id(id2, again.hub_key);
    GF_ASSERT_STR(id1, id2);
    GF_ASSERT_INT(agent_state_read_bundle(&again, &bytes, &len), 0);
    GF_ASSERT_INT(len, 3);
    free(bytes);
    GF_ASSERT_INT(stat(dir, &sb), 0);
    GF_ASSERT_INT(sb.st_mode & 0777, 0700);
    agent_state_clear(&st);
    agent_state_clear(&again);
    gf_sign_key_free(hub);
}

GF_TESTS(GF_TEST(test_verify__accepts_only_what_it_should),
         GF_TEST(test_verify__state_dir_round_trip));
