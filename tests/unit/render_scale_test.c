/* render_scale_test.c -- rendering a fleet costs a bounded number of Git object reads per cluster
 */
#include "harness.h"

#include "fleet.h"
#include "render.h"
#include "source.h"
#include "gitfleet/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTERS 2000

/* bench/make-scale-fleet.sh's fleet: one overlay per cluster under one
 * 2,000-entry directory, one ApplicationSet naming targetRevision: main. */
static const char *make_fleet(int n)
{
    static char repo[512];
    const char *src = gf_test_source_dir();

    GF_ASSERT(src != NULL);
    snprintf(repo, sizeof(repo), "%s/fleet%d", gf_test_tmpdir(), n);
    GF_ASSERT_INT(gf_test_sh("%s/bench/make-scale-fleet.sh %s %d >/dev/null", src, repo, n), 0);
    return repo;
}

struct world {
    hub_source *src;
    hub_filesrc *tree;
    struct hub_fleet *fleet;
    char commit[41];
};

static int tree_at(hub_filesrc **out, char commit_out[41], void *arg, const char *revision)
{
    struct world *w = arg;
    int error = hub_source_resolve(commit_out, w->src, revision);

    return error < 0 ? error : hub_source_tree(out, w->src, commit_out);
}

static void open_world(struct world *w, const char *repo)
{
    GF_ASSERT_INT(hub_source_open(&w->src, repo, NULL), 0);
    GF_ASSERT_INT(hub_source_resolve(w->commit, w->src, "main"), 0);
    GF_ASSERT_INT(hub_source_tree(&w->tree, w->src, w->commit), 0);
    GF_ASSERT_INT(hub_fleet_load(&w->fleet, w->tree, NULL), 0);
}

static void close_world(struct world *w)
{
    hub_fleet_free(w->fleet);
    hub_filesrc_free(w->tree);
    hub_source_free(w->src);
}

struct tally {
    pthread_mutex_t lock;
    size_t bundles, resources, failures;
};

static void count_bundle(void *arg, const char *cluster, struct hub_bundle *b)
{
    struct tally *t = arg;

    (void)cluster;
    pthread_mutex_lock(&t->lock);
    if (b == NULL || hub_bundle_failures(b) > 0)
        t->failures++;
    else {
        t->bundles++;
        t->resources += b->n_order;
    }
    pthread_mutex_unlock(&t->lock);
    hub_bundle_free(b);
}

/* Render the whole fleet (the ctx has no revision_ref, so every app's
 * targetRevision: main must be resolved: once per pass, not per cluster). */
static uint64_t render_pass(struct world *w, struct hub_render_cache *cache, int threads,
                            struct tally *t)
{
    struct hub_render_ctx ctx = {
        .tree = w->tree, .revision = w->commit, .tree_at = tree_at, .tree_arg = w, .cache = cache};
    uint64_t before = hub_source_object_reads(w->src);

    pthread_mutex_init(&t->lock, NULL);
    GF_ASSERT_INT(hub_render_fleet(&ctx, w->fleet, threads, count_bundle, t), 0);
    hub_render_cache_sweep(cache);
    pthread_mutex_destroy(&t->lock);
    return hub_source_object_reads(w->src) - before;
}

/* Each cluster reads its own overlay (a directory and a file) and nothing
 * fleet-sized: the 2,000-entry overlays/ tree is read once, not per cluster,
 * and the base is built once and shared. */
static void test_render_scale__object_reads_per_cluster_are_bounded(void)
{
    struct world w = {0};
    struct hub_render_cache *cache = NULL;
    struct tally t = {0};

    open_world(&w, make_fleet(CLUSTERS));
    GF_ASSERT_INT(w.fleet->n_clusters, CLUSTERS);
    GF_ASSERT_INT(w.fleet->n_apps, CLUSTERS);
    GF_ASSERT_INT(hub_render_cache_new(&cache), 0);
    uint64_t reads = render_pass(&w, cache, 4, &t);
    GF_ASSERT_INT(t.failures, 0);
    GF_ASSERT_INT(t.bundles, CLUSTERS);
    GF_ASSERT_INT(t.resources, 3 * CLUSTERS); /* Deployment, ConfigMap, generated ConfigMap */
    printf("# first pass: %llu object reads for %d clusters\n", (unsigned long long)reads,
           CLUSTERS);
    GF_ASSERT(reads <= 3 * CLUSTERS + 50);

    /* The same commit again: every app is a cache hit, and checking that
     * its inputs did not change costs no read of a fleet-sized object. */
    struct tally again = {0};
    reads = render_pass(&w, cache, 2, &again);
    printf("# second pass: %llu object reads\n", (unsigned long long)reads);
    GF_ASSERT_INT(again.bundles, CLUSTERS);
    GF_ASSERT(reads <= 3 * CLUSTERS + 50);
    unsigned long hits, misses;
    hub_render_cache_stats(cache, &hits, &misses);
    GF_ASSERT(hits >= CLUSTERS);
    hub_render_cache_free(cache);
    close_world(&w);
}

/* Serial and parallel renders produce the same bundles. */
static void test_render_scale__threads_do_not_change_results(void)
{
    struct world w = {0};
    struct hub_render_cache *c1 = NULL, *c4 = NULL;
    struct tally one = {0}, four = {0};

    open_world(&w, make_fleet(200));
    GF_ASSERT_INT(hub_render_cache_new(&c1), 0);
    GF_ASSERT_INT(hub_render_cache_new(&c4), 0);
    render_pass(&w, c1, 1, &one);
    render_pass(&w, c4, 4, &four);
    GF_ASSERT_INT(one.bundles, 200);
    GF_ASSERT_INT(four.bundles, 200);
    GF_ASSERT_INT(one.resources, four.resources);
    for (size_t i = 0; i < w.fleet->n_clusters; i += 37) {
        struct hub_render_ctx ctx = {
            .tree = w.tree, .revision = w.commit, .tree_at = tree_at, .tree_arg = &w, .cache = c4};
        struct hub_bundle *a = NULL, *b = NULL;
        GF_ASSERT_INT(hub_render_cluster(&a, &ctx, w.fleet, w.fleet->clusters[i].name, NULL), 0);
        ctx.cache = NULL;
        GF_ASSERT_INT(hub_render_cluster(&b, &ctx, w.fleet, w.fleet->clusters[i].name, NULL), 0);
        json_t *ja = hub_bundle_json(a), *jb = hub_bundle_json(b);
        GF_ASSERT(json_equal(ja, jb));
        json_decref(ja);
        json_decref(jb);
        hub_bundle_free(a);
        hub_bundle_free(b);
    }
    hub_render_cache_free(c1);
    hub_render_cache_free(c4);
    close_world(&w);
}

GF_TESTS(GF_TEST(test_render_scale__object_reads_per_cluster_are_bounded),
         GF_TEST(test_render_scale__threads_do_not_change_results));
