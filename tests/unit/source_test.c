/* source_test.c -- Git sources: local path, file:// and git:// clones, revisions, tree reads */
#include "harness.h"

#include "source.h"
#include "gitfleet/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIT "git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main "

/* A repository with two commits on main, a tag, a branch and symlinks. */
static const char *make_repo(void)
{
    static char repo[512];

    snprintf(repo, sizeof(repo), "%s/repo", gf_test_tmpdir());
    GF_ASSERT_INT(gf_test_sh("set -e; mkdir -p %s && cd %s && " GIT "init -q . && "
                             "mkdir -p apps/web sub && echo 'a: 1' > apps/web/a.yaml && "
                             "echo 'b: 2' > b.yaml && echo secret > ../outside && "
                             "ln -s ../b.yaml apps/up && ln -s ../../outside apps/escape && "
                             "ln -s /etc/passwd apps/abs && ln -s web apps/webdir && "
                             "ln -s loop2 loop1 && ln -s loop1 loop2 && " GIT "add -A && " GIT
                             "commit -qm one && " GIT "tag v1 && " GIT "branch feature && "
                             "echo 'a: 3' > apps/web/a.yaml && " GIT "commit -qam two",
                             repo, repo),
                  0);
    return repo;
}

static char *read_at(hub_filesrc *tree, const char *path)
{
    char *data = NULL;
    size_t len = 0;

    GF_ASSERT_INT(hub_filesrc_read(tree, path, &data, &len), 0);
    GF_ASSERT_INT(len, strlen(data));
    return data;
}

static void test_source__local_resolve_and_read(void)
{
    const char *repo = make_repo();
    hub_source *src = NULL;
    hub_filesrc *tree = NULL;
    char head[41], v1[41], feature[41], shortrev[8];
    char *data;

    GF_ASSERT_INT(hub_source_open(&src, repo, NULL), 0);
    GF_ASSERT_INT(hub_source_resolve(head, src, NULL), 0);
    GF_ASSERT_INT(strlen(head), 40);
    GF_ASSERT_INT(hub_source_resolve(v1, src, "v1"), 0);
    GF_ASSERT_INT(hub_source_resolve(feature, src, "feature"), 0);
    GF_ASSERT_STR(v1, feature);
    GF_ASSERT(strcmp(head, v1) != 0);
    snprintf(shortrev, sizeof(shortrev), "%.7s", v1);
    GF_ASSERT_INT(hub_source_resolve(feature, src, shortrev), 0);
    GF_ASSERT_STR(feature, v1);
    GF_ASSERT_INT(hub_source_resolve(feature, src, "main"), 0);
    GF_ASSERT_STR(feature, head);
    GF_ASSERT_INT(hub_source_resolve(feature, src, "nope"), GF_ENOTFOUND);
    GF_ASSERT_HAS(gf_error_last(), "revision 'nope' not found");

    GF_ASSERT_INT(hub_source_tree(&tree, src, v1), 0);
    hub_source_free(src); /* the tree keeps the source alive */
    data = read_at(tree, "apps/web/a.yaml");
    GF_ASSERT_STR(data, "a: 1\n");
    free(data);
    hub_filesrc_free(tree);
}

static void test_source__tree_confinement_and_ids(void)
{
    const char *repo = make_repo();
    hub_source *src = NULL;
    hub_filesrc *one = NULL, *two = NULL;
    char c1[41], c2[41], id1[65], id2[65], **names = NULL, *data;
    size_t count = 0, len;
    enum hub_filesrc_type type;

    GF_ASSERT_INT(hub_source_open(&src, repo, NULL), 0);
    GF_ASSERT_INT(hub_source_resolve(c1, src, "v1"), 0);
    GF_ASSERT_INT(hub_source_resolve(c2, src, "main"), 0);
    GF_ASSERT_INT(hub_source_tree(&one, src, c1), 0);
    GF_ASSERT_INT(hub_source_tree(&two, src, c2), 0);

    data = read_at(one, "apps/up"); /* a symlink that stays inside */
    GF_ASSERT_STR(data, "b: 2\n");
    free(data);
    data = read_at(one, "apps/webdir/a.yaml"); /* a symlink to a directory */
    GF_ASSERT_STR(data, "a: 1\n");
    free(data);
    GF_ASSERT_INT(hub_filesrc_read(one, "apps/escape", &data, &len), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "leaves the repository tree");
    GF_ASSERT_INT(hub_filesrc_read(one, "apps/abs", &data, &len), GF_EPERM);
    GF_ASSERT_INT(hub_filesrc_read(one, "../outside", &data, &len), GF_EPERM);
    GF_ASSERT_INT(hub_filesrc_read(one, "/etc/passwd", &data, &len), GF_EPERM);
    GF_ASSERT_INT(hub_filesrc_read(one, "loop1", &data, &len), GF_EINVAL);
    GF_ASSERT_INT(hub_filesrc_read(one, "missing", &data, &len), GF_ENOTFOUND);
    GF_ASSERT_INT(hub_filesrc_read(one, "apps", &data, &len), GF_ENOTFOUND);

    GF_ASSERT_INT(hub_filesrc_stat(one, "apps/web", &type), 0);
    GF_ASSERT_INT(type, HUB_FILESRC_DIR);
    GF_ASSERT_INT(hub_filesrc_stat(one, "b.yaml/x", &type), 0);
    GF_ASSERT_INT(type, HUB_FILESRC_NONE);
    GF_ASSERT_INT(hub_filesrc_list(one, "apps", &names, &count), 0);
    GF_ASSERT_INT(count, 5);
    GF_ASSERT_STR(names[0], "abs");
    GF_ASSERT_STR(names[4], "webdir");
    hub_filesrc_names_free(names, count);

    /* The id of a subtree moves only when something under it changed. */
    GF_ASSERT_INT(hub_filesrc_content_id(one, "apps/web", id1), 0);
    GF_ASSERT_INT(hub_filesrc_content_id(two, "apps/web", id2), 0);
    GF_ASSERT(strcmp(id1, id2) != 0);
    GF_ASSERT_INT(hub_filesrc_content_id(one, "sub", id1), GF_ENOTFOUND);
    GF_ASSERT_INT(hub_filesrc_content_id(one, "b.yaml", id1), 0);
    GF_ASSERT_INT(hub_filesrc_content_id(two, "b.yaml", id2), 0);
    GF_ASSERT_STR(id1, id2);
    hub_filesrc_free(one);
    hub_filesrc_free(two);
    hub_source_free(src);
}

static void test_source__file_url_clone_and_fetch(void)
{
    const char *repo = make_repo();
    char url[600], cache[600], c[41], head[41];
    hub_source *src = NULL;
    hub_filesrc *tree = NULL;
    char *data;

    snprintf(url, sizeof(url), "file://%s", repo);
    snprintf(cache, sizeof(cache), "%s/cache", gf_test_tmpdir());
    GF_ASSERT_INT(hub_source_open(&src, url, NULL), GF_EINVAL);
    GF_ASSERT_INT(hub_source_open(&src, url, cache), 0);
    GF_ASSERT_INT(hub_source_resolve(head, src, "HEAD"), 0);
    GF_ASSERT_INT(hub_source_resolve(c, src, "main"), 0);
    GF_ASSERT_STR(c, head);
    GF_ASSERT_INT(hub_source_resolve(c, src, "v1"), 0);
    GF_ASSERT_INT(hub_source_resolve(c, src, "feature"), 0);

    /* A new commit upstream shows after a fetch, not before. */
    GF_ASSERT_INT(
        gf_test_sh("cd %s && echo 'a: 4' > apps/web/a.yaml && " GIT "commit -qam three", repo), 0);
    GF_ASSERT_INT(hub_source_resolve(c, src, "main"), 0);
    GF_ASSERT_STR(c, head);
    GF_ASSERT_INT(hub_source_fetch(src), 0);
    GF_ASSERT_INT(hub_source_resolve(c, src, "main"), 0);
    GF_ASSERT(strcmp(c, head) != 0);
    GF_ASSERT_INT(hub_source_tree(&tree, src, c), 0);
    data = read_at(tree, "apps/web/a.yaml");
    GF_ASSERT_STR(data, "a: 4\n");
    free(data);
    hub_filesrc_free(tree);

    /* A branch deleted upstream goes away here too; a moved tag follows. */
    GF_ASSERT_INT(
        gf_test_sh("cd %s && git branch -qD feature && " GIT "tag -f v1 >/dev/null", repo), 0);
    GF_ASSERT_INT(hub_source_fetch(src), 0);
    GF_ASSERT_INT(hub_source_resolve(head, src, "feature"), GF_ENOTFOUND);
    GF_ASSERT_INT(hub_source_resolve(head, src, "v1"), 0);
    GF_ASSERT_STR(head, c);
    hub_source_free(src);

    /* Reopening reuses the clone in the cache. */
    GF_ASSERT_INT(hub_source_open(&src, url, cache), 0);
    GF_ASSERT_INT(hub_source_resolve(head, src, "main"), 0);
    GF_ASSERT_STR(head, c);
    hub_source_free(src);
    GF_ASSERT_INT(gf_test_sh("test $(ls %s | wc -l) = 1", cache), 0);
}

static void test_source__bad_locations(void)
{
    hub_source *src = NULL;
    char path[600];

    snprintf(path, sizeof(path), "%s/none", gf_test_tmpdir());
    GF_ASSERT_INT(hub_source_open(&src, path, NULL), GF_ENOTFOUND);
    GF_ASSERT(src == NULL);
    snprintf(path, sizeof(path), "file://%s/none", gf_test_tmpdir());
    char cache[600];
    snprintf(cache, sizeof(cache), "%s/cache", gf_test_tmpdir());
    GF_ASSERT(hub_source_open(&src, path, cache) < 0);
    GF_ASSERT(src == NULL);
}

/* git:// through a real `git daemon` on loopback. */
static void test_source__git_daemon(void)
{
    const char *tmp = gf_test_tmpdir();
    char url[256], cache[600], pidfile[600], portfile[600], c[41];
    hub_source *src = NULL;
    char *port;
    int error;

    make_repo();
    snprintf(cache, sizeof(cache), "%s/cache", tmp);
    snprintf(pidfile, sizeof(pidfile), "%s/daemon.pid", tmp);
    snprintf(portfile, sizeof(portfile), "%s/port", tmp);
    GF_ASSERT_INT(gf_test_sh("python3 -c 'import socket; s=socket.socket(); "
                             "s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])' > %s",
                             portfile),
                  0);
    port = gf_test_read_file(portfile, NULL);
    port[strcspn(port, "\n")] = '\0';
    GF_ASSERT_INT(gf_test_sh("git daemon --reuseaddr --base-path=%s --export-all "
                             "--listen=127.0.0.1 --port=%s --detach --pid-file=%s %s",
                             tmp, port, pidfile, tmp),
                  0);
    /* The daemon detaches before it listens: wait until it answers. */
    gf_test_sh("for i in $(seq 50); do git ls-remote git://127.0.0.1:%s/repo >/dev/null 2>&1 "
               "&& exit 0; sleep 0.1; done; exit 1",
               port);
    snprintf(url, sizeof(url), "git://127.0.0.1:%s/repo", port);
    free(port);
    error = hub_source_open(&src, url, cache);
    if (error == 0)
        error = hub_source_resolve(c, src, "v1");
    hub_source_free(src);
    gf_test_sh("kill $(cat %s)", pidfile);
    GF_ASSERT_INT(error, 0);
}

/* Issue 13: the hub's memory grew a few KB per pass for as long as it ran:
 * libgit2's process-wide object cache (256 MiB by default) kept every
 * commit's trees. Opening a source bounds it. */
static void test_source__git_object_cache_is_bounded(void)
{
    const char *repo = make_repo();
    hub_source *src = NULL;
    int64_t used = 0, allowed = 0;
    char head[41];

    GF_ASSERT_INT(hub_source_open(&src, repo, NULL), 0);
    GF_ASSERT_INT(hub_source_resolve(head, src, NULL), 0);
    hub_source_cache_bytes(&used, &allowed);
    GF_ASSERT_INT(allowed, HUB_SOURCE_GIT_CACHE_BYTES);
    GF_ASSERT(used <= allowed);
    hub_source_free(src);
}

GF_TESTS(GF_TEST(test_source__local_resolve_and_read),
         GF_TEST(test_source__tree_confinement_and_ids),
         GF_TEST(test_source__file_url_clone_and_fetch), GF_TEST(test_source__bad_locations),
         GF_TEST(test_source__git_daemon), GF_TEST(test_source__git_object_cache_is_bounded));
