/* syncopts_test.c -- Argo CD sync options: list, annotation, overrides, bad values */
#include "harness.h"

#include "syncopts.h"
#include "gitfleet/error.h"

static int parse_list(struct agent_syncopts *o, const char *json)
{
    json_t *j = json_loads(json, 0, NULL);
    int error = agent_syncopts_parse(o, j);
    json_decref(j);
    return error;
}

static void test_syncopts__defaults(void)
{
    struct agent_syncopts o;

    agent_syncopts_init(&o);
    GF_ASSERT_INT(o.validate, 1);
    GF_ASSERT_INT(o.prune, AGENT_SYNCOPTS_YES);
    GF_ASSERT_INT(o.del, AGENT_SYNCOPTS_YES);
    GF_ASSERT_INT(o.prune_last, 0);
    GF_ASSERT_INT(o.propagation, AGENT_SYNCOPTS_FOREGROUND);
    GF_ASSERT(o.warnings == NULL);
}

static void test_syncopts__every_known_option(void)
{
    struct agent_syncopts o;

    agent_syncopts_init(&o);
    GF_ASSERT_INT(
        parse_list(&o, "[\"CreateNamespace=true\",\"ServerSideApply=true\","
                       "\"Replace=true\",\"PruneLast=true\",\"ApplyOutOfSyncOnly=true\","
                       "\"Validate=false\",\"Prune=false\",\"Delete=confirm\","
                       "\"PrunePropagationPolicy=orphan\",\"RespectIgnoreDifferences=true\"]"),
        0);
    GF_ASSERT_INT(o.create_namespace, 1);
    GF_ASSERT_INT(o.server_side_apply, 1);
    GF_ASSERT_INT(o.replace, 1);
    GF_ASSERT_INT(o.prune_last, 1);
    GF_ASSERT_INT(o.apply_out_of_sync_only, 1);
    GF_ASSERT_INT(o.validate, 0);
    GF_ASSERT_INT(o.prune, AGENT_SYNCOPTS_NO);
    GF_ASSERT_INT(o.del, AGENT_SYNCOPTS_CONFIRM);
    GF_ASSERT_INT(o.propagation, AGENT_SYNCOPTS_ORPHAN);
    GF_ASSERT_INT(o.respect_ignore_differences, 1);
    GF_ASSERT(o.warnings == NULL);
}

static void test_syncopts__annotation_trims_and_overrides_app(void)
{
    struct agent_syncopts app, res;
    json_t *obj = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", AGENT_SYNCOPTS_ANNOTATION,
                            " Prune=false , PruneLast=false ");

    agent_syncopts_init(&app);
    GF_ASSERT_INT(parse_list(&app, "[\"PruneLast=true\"]"), 0);
    GF_ASSERT_INT(agent_syncopts_for_object(&res, &app, obj), 0);
    GF_ASSERT_INT(res.prune, AGENT_SYNCOPTS_NO);
    GF_ASSERT_INT(res.prune_last, 0);
    GF_ASSERT_INT(app.prune_last, 1); /* the app's options are untouched */
    agent_syncopts_clear(&res);
    json_decref(obj);
}

static void test_syncopts__bad_value_is_an_error(void)
{
    struct agent_syncopts o;

    agent_syncopts_init(&o);
    GF_ASSERT_INT(parse_list(&o, "[\"PruneLast=yes\"]"), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "PruneLast=yes");
    GF_ASSERT_HAS(gf_error_last(), "syncOptions[0]");
    GF_ASSERT_INT(agent_syncopts_parse_annotation(&o, "Prune=maybe"), GF_EINVAL);
    GF_ASSERT_INT(parse_list(&o, "[1]"), GF_EINVAL);
    GF_ASSERT_INT(parse_list(&o, "{}"), GF_EINVAL);
}

static void test_syncopts__unknown_option_is_a_warning(void)
{
    struct agent_syncopts o;

    agent_syncopts_init(&o);
    GF_ASSERT_INT(parse_list(&o, "[\"Frobnicate=true\",\"CreateNamespace\",\"Replace=true\"]"), 0);
    GF_ASSERT_HAS(o.warnings, "unknown sync option \"Frobnicate\"");
    GF_ASSERT_HAS(o.warnings, "\"CreateNamespace\" has no value");
    GF_ASSERT_INT(o.replace, 1);
    agent_syncopts_clear(&o);
    agent_syncopts_clear(NULL);
}

static void test_syncopts__names_are_case_sensitive(void)
{
    struct agent_syncopts o;

    agent_syncopts_init(&o);
    GF_ASSERT_INT(agent_syncopts_parse_annotation(&o, "prunelast=true"), 0);
    GF_ASSERT_INT(o.prune_last, 0);
    GF_ASSERT_HAS(o.warnings, "prunelast");
    agent_syncopts_clear(&o);
}

GF_TESTS(GF_TEST(test_syncopts__defaults), GF_TEST(test_syncopts__every_known_option),
         GF_TEST(test_syncopts__annotation_trims_and_overrides_app),
         GF_TEST(test_syncopts__bad_value_is_an_error),
         GF_TEST(test_syncopts__unknown_option_is_a_warning),
         GF_TEST(test_syncopts__names_are_case_sensitive));
