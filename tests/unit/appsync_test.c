/* appsync_test.c -- when an app is synced (Argo CD's rules), operator requests, the per-app store
 */
#include "harness.h"

#include "appsync.h"
#include "gitfleet/apphash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"

static struct agent_appsync_facts automated(void)
{
    struct agent_appsync_facts f = {
        .automated = 1, .desired_hash = H2, .synced_hash = H1, .failed_hash = ""};
    return f;
}

static void test_appsync__automated_syncs_only_a_changed_state(void)
{
    struct agent_appsync_facts f = automated();

    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_AUTOMATED);
    f.synced_hash = H2; /* unchanged: not touched, even when drifted without selfHeal */
    f.live_out_of_sync = 1;
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_NONE);
    f.synced_hash = ""; /* never synced: a first sync */
    f.live_out_of_sync = 0;
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_AUTOMATED);
}

static void test_appsync__manual_apps_never_sync_by_themselves(void)
{
    struct agent_appsync_facts f = automated();

    f.automated = 0;
    f.self_heal = 1;
    f.live_out_of_sync = 1;
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_NONE);
    f.request_pending = 1; /* `gitfleet sync APP` */
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_OPERATOR);
}

static void test_appsync__self_heal_when_drifted(void)
{
    struct agent_appsync_facts f = automated();

    f.synced_hash = H2;
    f.self_heal = 1;
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_NONE);
    f.live_out_of_sync = 1;
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_SELF_HEAL);
}

static void test_appsync__suspended_and_broken_apps_wait(void)
{
    struct agent_appsync_facts f = automated();

    f.suspended = 1; /* rolled back: Git's newer state is not auto-synced */
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_NONE);
    f.request_pending = 1; /* but an operator's request still runs */
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_OPERATOR);
    f = automated();
    f.render_error = 1;
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_NONE);
}

static void test_appsync__failed_state_is_not_retried_without_policy(void)
{
    struct agent_appsync_facts f = automated();

    f.failed_hash = H2; /* Argo CD does not re-attempt the same failed state */
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_NONE);
    f.self_heal = f.live_out_of_sync = 1; /* but what it applied is healed */
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_SELF_HEAL);
    f.self_heal = f.live_out_of_sync = 0;
    f.retry_due = 1; /* unless its retry policy says it is time */
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_RETRY);
    f.retry_due = 0;
    f.desired_hash = "3333333333333333333333333333333333333333333333333333333333333333";
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_AUTOMATED); /* a new state: tried */
}

static void test_appsync__one_operation_at_a_time(void)
{
    struct agent_appsync_facts f = automated();

    f.running = 1;
    f.request_pending = 1;
    f.retry_due = 1;
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_NONE);
    f.prune_allowed = 1;
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_NONE);
    f.running = 0;
    f.request_pending = f.retry_due = 0;
    GF_ASSERT_INT(agent_appsync_decide(&f), AGENT_APPSYNC_OPERATOR);
    GF_ASSERT_STR(agent_appsync_trigger_name(AGENT_APPSYNC_SELF_HEAL), "selfHeal");
    GF_ASSERT_STR(agent_appsync_trigger_name(AGENT_APPSYNC_NONE), "");
}

static void test_appsync__pending_requests(void)
{
    Gitfleet__Bundle b = GITFLEET__BUNDLE__INIT;
    Gitfleet__AppOperationRequest r[4], *rp[4];
    const Gitfleet__AppOperationRequest *expired = NULL;
    json_t *ran = json_object();

    for (int i = 0; i < 4; i++) {
        gitfleet__app_operation_request__init(&r[i]);
        rp[i] = &r[i];
    }
    r[0].id = "op-1"; /* for another app */
    r[0].app = "other";
    r[1].id = "op-2"; /* expired */
    r[1].app = "web";
    r[1].has_expires_unix_ms = 1;
    r[1].expires_unix_ms = 500;
    r[2].id = "op-3";
    r[2].app = "web";
    r[3].id = ""; /* no id: never run */
    r[3].app = "web";
    b.operations = rp;
    b.n_operations = 4;
    GF_ASSERT(agent_appsync_pending_request(&b, "web", ran, 1000, &expired) == &r[2]);
    GF_ASSERT(expired == &r[1]);
    GF_ASSERT(agent_appsync_pending_request(&b, "web", ran, 100, NULL) == &r[1]); /* not yet */
    json_object_set_new(ran, "op-3", json_integer(1));
    json_object_set_new(ran, "op-2", json_integer(1));
    GF_ASSERT(agent_appsync_pending_request(&b, "web", ran, 1000, &expired) == NULL);
    GF_ASSERT(expired == NULL);
    GF_ASSERT(agent_appsync_pending_request(NULL, "web", ran, 1000, NULL) == NULL);
    json_decref(ran);
}

static void test_appsync__hash_ignores_revision_not_content(void)
{
    Gitfleet__App app = GITFLEET__APP__INIT;
    Gitfleet__Resource res = GITFLEET__RESOURCE__INIT, *rp = &res;
    char a[65], b[65], c[65];

    app.name = "web";
    app.revision = "abc";
    res.has_body = 1;
    res.body.data = (uint8_t *)"{\"kind\":\"ConfigMap\"}";
    res.body.len = strlen((char *)res.body.data);
    app.resources = &rp;
    app.n_resources = 1;
    GF_ASSERT_INT(agent_appsync_desired_hash(a, &app), 0);
    app.revision = "def"; /* another commit, same content */
    app.has_auto_sync_suspended = app.auto_sync_suspended = 1;
    GF_ASSERT_INT(gf_apphash_compute(b, &app), 0);
    GF_ASSERT_STR(a, b);
    GF_ASSERT_STR(app.revision, "def"); /* restored */
    res.body.data = (uint8_t *)"{\"kind\":\"Secret\"}";
    res.body.len = strlen((char *)res.body.data);
    GF_ASSERT_INT(gf_apphash_compute(c, &app), 0);
    GF_ASSERT(strcmp(a, c) != 0);
    app.content_hash = H1; /* the hub's value wins when it is one */
    GF_ASSERT_INT(agent_appsync_desired_hash(c, &app), 0);
    GF_ASSERT_STR(c, H1);
    app.content_hash = "not-a-hash";
    GF_ASSERT_INT(agent_appsync_desired_hash(c, &app), 0);
    GF_ASSERT(strcmp(c, "not-a-hash") != 0 && strlen(c) == 64);
}

static void test_appsync__store_round_trip(void)
{
    char dir[] = "/tmp/appsync_testXXXXXX", path[128];
    struct agent_appsync_store *s = NULL;

    GF_ASSERT(mkdtemp(dir) != NULL);
    GF_ASSERT_INT(agent_appsync_load(&s, dir), 0);
    json_object_set_new(agent_appsync_app(s, "web"), "syncedHash", json_string(H1));
    for (int i = 0; i < 1005; i++) {
        char id[32];
        snprintf(id, sizeof(id), "op-%d", i);
        agent_appsync_mark_ran(s, id, 1000 + i);
    }
    GF_ASSERT_INT(agent_appsync_save(s), 0);
    agent_appsync_free(s);
    GF_ASSERT_INT(agent_appsync_load(&s, dir), 0);
    GF_ASSERT_STR(agent_appsync_get(agent_appsync_app(s, "web"), "syncedHash"), H1);
    GF_ASSERT_STR(agent_appsync_get(agent_appsync_app(s, "new"), "syncedHash"), "");
    GF_ASSERT_INT(json_object_size(agent_appsync_ran(s)), 1000); /* the oldest went */
    GF_ASSERT(json_object_get(agent_appsync_ran(s), "op-4") == NULL);
    GF_ASSERT(json_object_get(agent_appsync_ran(s), "op-1004") != NULL);
    agent_appsync_forget(s, "web");
    GF_ASSERT_STR(agent_appsync_get(agent_appsync_app(s, "web"), "syncedHash"), "");
    agent_appsync_free(s);
    /* a damaged file is an empty store, not a failure */
    snprintf(path, sizeof(path), "%s/apps.json", dir);
    FILE *f = fopen(path, "w");
    GF_ASSERT(f != NULL);
    fputs("{\"apps\": [trunc", f);
    fclose(f);
    GF_ASSERT_INT(agent_appsync_load(&s, dir), 0);
    GF_ASSERT_STR(agent_appsync_get(agent_appsync_app(s, "web"), "syncedHash"), "");
    agent_appsync_free(s);
    unlink(path);
    rmdir(dir);
}

GF_TESTS(GF_TEST(test_appsync__automated_syncs_only_a_changed_state),
         GF_TEST(test_appsync__manual_apps_never_sync_by_themselves),
         GF_TEST(test_appsync__self_heal_when_drifted),
         GF_TEST(test_appsync__suspended_and_broken_apps_wait),
         GF_TEST(test_appsync__failed_state_is_not_retried_without_policy),
         GF_TEST(test_appsync__one_operation_at_a_time), GF_TEST(test_appsync__pending_requests),
         GF_TEST(test_appsync__hash_ignores_revision_not_content),
         GF_TEST(test_appsync__store_round_trip));
