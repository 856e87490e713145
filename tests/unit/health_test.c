/* health_test.c -- Argo CD health rules: own fixtures, the shared corpus, aggregation */
#include "harness.h"

#include "health.h"
#include "gitfleet/error.h"
#include "gitfleet/yaml_parse.h"

#include <stdio.h>
#include <stdlib.h>

#define EXPECT  "test.gitfleet.io/expect"
#define MESSAGE "test.gitfleet.io/message"

static json_t *load_docs(const char *path)
{
    json_t *docs = NULL;

    if (gf_yaml_parse_file(&docs, path, NULL, 0) < 0)
        gf_test_fail(__FILE__, __LINE__, "%s: %s", path, gf_error_last());
    return docs;
}

/* "None" for no result, else the status name. */
static const char *shown(enum agent_health_status s)
{
    return s == AGENT_HEALTH_NONE ? "None" : agent_health_status_name(s);
}

static const char *note(const json_t *doc, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(doc, "metadata"), "annotations"), key));
}

/* One fixture document against its annotations in one variant. */
static void check_fixture(const json_t *doc, enum agent_health_variant variant, const char *file)
{
    /* A legacy expectation, when given, comes with its own message. */
    const int legacy = variant == AGENT_HEALTH_LEGACY && note(doc, EXPECT "-legacy") != NULL;
    const char *want = legacy ? note(doc, EXPECT "-legacy") : note(doc, EXPECT);
    const char *msg = legacy ? note(doc, MESSAGE "-legacy") : note(doc, MESSAGE);
    const char *name = json_string_value(json_object_get(json_object_get(doc, "metadata"), "name"));
    struct agent_health h = {0};

    if (want == NULL)
        gf_test_fail(__FILE__, __LINE__, "%s: %s has no " EXPECT, file, name);
    GF_ASSERT_INT(agent_health_assess_variant(&h, doc, variant), 0);
    if (strcmp(shown(h.status), want) != 0 || strcmp(h.message, msg ? msg : "") != 0)
        gf_test_fail(__FILE__, __LINE__, "%s: %s %s (%s): got %s \"%s\", expected %s \"%s\"", file,
                     json_string_value(json_object_get(doc, "kind")), name,
                     variant == AGENT_HEALTH_LEGACY ? "legacy" : "argocd", shown(h.status),
                     h.message, want, msg ? msg : "");
    agent_health_clear(&h);
}

static int run_fixture_file(const char *name)
{
    char path[1024];
    json_t *docs, *doc;
    size_t i;

    snprintf(path, sizeof(path), "%s/tests/fixtures/health/%s", gf_test_source_dir(), name);
    docs = load_docs(path);
    json_array_foreach(docs, i, doc)
    {
        check_fixture(doc, AGENT_HEALTH_ARGOCD, name);
        check_fixture(doc, AGENT_HEALTH_LEGACY, name);
    }
    json_decref(docs);
    return (int)i;
}

static void test_health__fixtures_workloads(void)
{
    GF_ASSERT(run_fixture_file("workloads.yaml") >= 25);
}

static void test_health__fixtures_pods(void)
{
    GF_ASSERT(run_fixture_file("pods.yaml") >= 20);
}

static void test_health__fixtures_other_kinds(void)
{
    GF_ASSERT(run_fixture_file("other.yaml") >= 30);
}

/* --- the shared corpus ------------------------------------------------------ */

/* Undo cases.tsv's escapes (\t, \n, \\) in place. */
static void unescape(char *s)
{
    char *o = s;

    for (; *s != '\0'; s++) {
        if (*s == '\\' && (s[1] == 't' || s[1] == 'n' || s[1] == '\\')) {
            s++;
            *o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : '\\';
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

struct row {
    char *field[6]; /* file kind expected_status expected_message api_version derived */
};

static int split_row(struct row *r, char *line)
{
    static char empty[6][1];

    for (int i = 0; i < 6; i++) {
        r->field[i] = line;
        line = line ? strchr(line, '\t') : NULL;
        if (line != NULL)
            *line++ = '\0';
        if (r->field[i] == NULL)
            r->field[i] = empty[i];
        unescape(r->field[i]);
    }
    return r->field[0][0] != '\0';
}

struct tally {
    int cases, status, legacy_only, asserted, asserted_ok, derived, derived_ok;
};

/* The argocd answer for a corpus row listed in corpus-legacy-rows.tsv (rows
 * whose expectation came from the standalone gitops-engine), or NULL. The
 * returned row's fields: file, argocd status, argocd message, why. */
static const struct row *legacy_row(const char *file)
{
    static struct row rows[16];
    static int n = -1;
    static char *text;

    if (n < 0) {
        char path[1024], *line, *next;
        snprintf(path, sizeof(path), "%s/tests/fixtures/health/corpus-legacy-rows.tsv",
                 gf_test_source_dir());
        GF_ASSERT((text = gf_test_read_file(path, NULL)) != NULL);
        for (n = 0, line = text; line != NULL && *line != '\0' && n < 16; line = next) {
            next = strchr(line, '\n');
            if (next != NULL)
                *next++ = '\0';
            if (line[0] != '#' && split_row(&rows[n], line))
                n++;
        }
    }
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].field[0], file) == 0)
            return &rows[i];
    return NULL;
}

static void expect_result(const char *file, const json_t *doc, enum agent_health_variant v,
                          const char *status, const char *message, struct agent_health *h)
{
    GF_ASSERT_INT(agent_health_assess_variant(h, doc, v), 0);
    if (strcmp(shown(h->status), status) != 0 || (message && strcmp(h->message, message) != 0))
        gf_test_fail(__FILE__, __LINE__, "%s (%s): got %s \"%s\", expected %s \"%s\"", file,
                     v == AGENT_HEALTH_LEGACY ? "legacy" : "argocd", shown(h->status), h->message,
                     status, message ? message : "(any)");
}

/* A row's expected status and asserted message must be what gitfleet gives,
 * except for listed legacy rows: there gitfleet must give the listed argocd
 * answer, and the legacy variant the row's expectation. */
static void check_row(struct tally *t, const char *dir, struct row *r)
{
    const char *file = r->field[0], *asserted = r->field[3][0] ? r->field[3] : NULL;
    const struct row *legacy = legacy_row(file);
    struct agent_health h = {0};
    char path[1024];
    json_t *docs;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    docs = load_docs(path);
    t->cases++;
    if (legacy != NULL) {
        expect_result(file, json_array_get(docs, 0), AGENT_HEALTH_ARGOCD, legacy->field[1],
                      legacy->field[2], &h);
        agent_health_clear(&h);
        t->legacy_only++;
    }
    expect_result(file, json_array_get(docs, 0), legacy ? AGENT_HEALTH_LEGACY : AGENT_HEALTH_ARGOCD,
                  r->field[2], asserted, &h);
    t->status++;
    t->asserted += asserted != NULL;
    t->asserted_ok += asserted != NULL;
    t->derived++;
    if (strcmp(h.message, r->field[5]) == 0)
        t->derived_ok++;
    else
        fprintf(stderr, "    %s: derived message differs: \"%s\" vs \"%s\"\n", file, h.message,
                r->field[5]);
    agent_health_clear(&h);
    json_decref(docs);
}

static void test_health__shared_corpus(void)
{
    const char *shared = gf_test_shared_dir();
    char dir[1024], path[1100], *text, *line, *next;
    struct tally t = {0};
    struct row r;

    if (shared == NULL) {
        fprintf(stderr, "    (no shared dir: corpus skipped)\n");
        return;
    }
    snprintf(dir, sizeof(dir), "%s/corpus/health", shared);
    snprintf(path, sizeof(path), "%s/cases.tsv", dir);
    if ((text = gf_test_read_file(path, NULL)) == NULL) {
        fprintf(stderr, "    (no %s: corpus skipped)\n", path);
        return;
    }
    for (line = strchr(text, '\n') + 1; line != NULL && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (split_row(&r, line))
            check_row(&t, dir, &r);
    }
    free(text);
    fprintf(stderr,
            "    corpus: %d cases; status %d/%d (%d legacy rows); asserted messages %d/%d; "
            "derived messages %d/%d\n",
            t.cases, t.status, t.cases, t.legacy_only, t.asserted_ok, t.asserted, t.derived_ok,
            t.derived);
    GF_ASSERT(t.cases >= 30);
}

/* --- API ------------------------------------------------------------------- */

static void test_health__worst_follows_argo_order(void)
{
    static const enum agent_health_status order[] = {
        AGENT_HEALTH_HEALTHY, AGENT_HEALTH_SUSPENDED, AGENT_HEALTH_PROGRESSING,
        AGENT_HEALTH_MISSING, AGENT_HEALTH_DEGRADED,  AGENT_HEALTH_UNKNOWN};
    enum agent_health_status acc = AGENT_HEALTH_NONE;

    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < 6; j++)
            GF_ASSERT_INT(agent_health_worst(order[i], order[j]), order[i > j ? i : j]);
    for (size_t i = 0; i < 6; i++) {
        GF_ASSERT_INT(agent_health_worst(AGENT_HEALTH_NONE, order[i]), order[i]);
        GF_ASSERT_INT(agent_health_worst(order[i], AGENT_HEALTH_NONE), order[i]);
    }
    /* A fold over an app's resources. */
    acc = agent_health_worst(acc, AGENT_HEALTH_HEALTHY);
    acc = agent_health_worst(acc, AGENT_HEALTH_MISSING);
    acc = agent_health_worst(acc, AGENT_HEALTH_SUSPENDED);
    GF_ASSERT_INT(acc, AGENT_HEALTH_MISSING);
}

static void test_health__names_round_trip(void)
{
    GF_ASSERT_STR(agent_health_status_name(AGENT_HEALTH_PROGRESSING), "Progressing");
    GF_ASSERT_STR(agent_health_status_name(AGENT_HEALTH_NONE), "");
    for (int s = AGENT_HEALTH_HEALTHY; s <= AGENT_HEALTH_UNKNOWN; s++)
        GF_ASSERT_INT(agent_health_status_parse(agent_health_status_name(s)), s);
    GF_ASSERT_INT(agent_health_status_parse("healthy"), -1);
    GF_ASSERT_INT(agent_health_status_parse(""), -1);
}

static void test_health__absent_object_is_missing(void)
{
    struct agent_health h = {0};
    json_t *list = json_array();

    GF_ASSERT_INT(agent_health_assess(&h, NULL), 0);
    GF_ASSERT_INT(h.status, AGENT_HEALTH_MISSING);
    GF_ASSERT_STR(h.message, "");
    agent_health_clear(&h);
    GF_ASSERT_INT(agent_health_assess(&h, list), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "mapping");
    GF_ASSERT(h.message == NULL);
    agent_health_clear(&h);
    agent_health_clear(NULL);
    json_decref(list);
}

/* Names in messages are quoted as Go's %q quotes them. */
static void test_health__go_quoting_of_names(void)
{
    json_t *d = json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:s, s:s}]}}", "apiVersion", "apps/v1",
                          "kind", "Deployment", "metadata", "name",
                          "a\tb\x01\x7f\xc3\xa9\xc2\xa0\xe6\x97\xa5", "status", "conditions",
                          "type", "Progressing", "reason", "ProgressDeadlineExceeded");
    struct agent_health h = {0};

    GF_ASSERT(d != NULL);
    GF_ASSERT_INT(agent_health_assess(&h, d), 0);
    GF_ASSERT_INT(h.status, AGENT_HEALTH_DEGRADED);
    GF_ASSERT_STR(h.message, "Deployment \"a\\tb\\x01\\x7f\xc3\xa9\\u00a0\xe6\x97\xa5\" exceeded "
                             "its progress deadline");
    agent_health_clear(&h);
    json_decref(d);
}

static int ignored(const char *yaml)
{
    json_t *doc = NULL;
    int r;

    GF_ASSERT_INT(gf_yaml_parse_one(&doc, yaml, strlen(yaml), "test", NULL), 0);
    r = agent_health_ignored(doc);
    json_decref(doc);
    return r;
}

/* What Argo CD leaves out of an application's health. */
static void test_health__ignored_for_app_health(void)
{
    GF_ASSERT_INT(ignored("kind: Pod\nmetadata: {name: a}\n"), 0);
    GF_ASSERT_INT(ignored("metadata: {annotations: {argocd.argoproj.io/hook: PreSync}}\n"), 1);
    GF_ASSERT_INT(ignored("metadata: {annotations: {argocd.argoproj.io/hook: Skip}}\n"), 0);
    GF_ASSERT_INT(ignored("metadata: {annotations: {argocd.argoproj.io/hook: 'Skip,PostSync'}}\n"),
                  1);
    GF_ASSERT_INT(ignored("metadata: {annotations: {helm.sh/hook: post-install}}\n"), 1);
    GF_ASSERT_INT(ignored("metadata: {annotations: {helm.sh/hook: crd-install}}\n"), 0);
    GF_ASSERT_INT(ignored("metadata: {annotations: {argocd.argoproj.io/ignore-healthcheck: "
                          "'true'}}\n"),
                  1);
    GF_ASSERT_INT(ignored("metadata: {annotations: {argocd.argoproj.io/ignore-healthcheck: "
                          "'false'}}\n"),
                  0);
    GF_ASSERT_INT(agent_health_ignored(NULL), 0);
}

GF_TESTS(GF_TEST(test_health__fixtures_workloads), GF_TEST(test_health__fixtures_pods),
         GF_TEST(test_health__fixtures_other_kinds), GF_TEST(test_health__shared_corpus),
         GF_TEST(test_health__worst_follows_argo_order), GF_TEST(test_health__names_round_trip),
         GF_TEST(test_health__absent_object_is_missing), GF_TEST(test_health__go_quoting_of_names),
         GF_TEST(test_health__ignored_for_app_health));
