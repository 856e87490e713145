/* source.c -- the fleet's Git repository (libgit2): open or clone, fetch, resolve, read trees */
#include "source.h"

#include "creds.h"
#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/hash.h"
#include "gitfleet/redact.h"

#include <git2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define SOURCE_MAX_FILE    ((size_t)64 << 20)
#define SOURCE_MAX_SYMLINK 40 /* hops, as Linux's MAXSYMLINKS */
#define SOURCE_MAX_REV     256

struct hub_source {
    git_repository *repo;
    char *location; /* for messages: URL credentials redacted */
    char *url;      /* what libgit2 connects to, as given */
    const hub_creds *creds;
    int is_remote; /* a clone in the cache that fetch updates */
    int refs;      /* the owner plus every tree handed out (atomic) */
    /* libgit2 objects are used by one thread at a time (its THREADING.md):
     * every use of `repo` and of the trees' caches holds this lock. */
    pthread_mutex_t lock;
    uint64_t object_reads; /* tree and blob lookups (atomic), for tests */
};

uint64_t hub_source_object_reads(const hub_source *src)
{
    return __atomic_load_n(&src->object_reads, __ATOMIC_RELAXED);
}

static void count_read(hub_source *src)
{
    __atomic_add_fetch(&src->object_reads, 1, __ATOMIC_RELAXED);
}

/* libgit2's last error as our message. */
static int git_fail(int code, const char *what)
{
    const git_error *e = git_error_last();
    return gf_error_set(code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

/* The clone's directory: a readable form of the URL plus a hash, so that
 * URLs differing only in punctuation do not share a clone. Both are taken
 * from the URL without its credentials: a password never names a path. */
static void cache_path(char *buf, size_t len, const char *cache_dir, const char *given)
{
    char name[64], url[4096];
    size_t n = 0;

    gf_redact_url_strip(url, sizeof(url), given);
    for (const char *p = url; *p; p++) {
        if (n < sizeof(name) - 1)
            name[n++] = ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                         (*p >= '0' && *p <= '9') || *p == '.' || *p == '-')
                            ? *p
                            : '_';
    }
    name[n] = '\0';
    snprintf(buf, len, "%s/%s-%016llx.git", cache_dir, name,
             (unsigned long long)gf_hash_string(url));
}

static void source_rele(hub_source *src)
{
    if (src == NULL || __atomic_sub_fetch(&src->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    git_repository_free(src->repo);
    pthread_mutex_destroy(&src->lock);
    free(src->location);
    free(src->url);
    free(src);
    git_libgit2_shutdown();
}

void hub_source_free(hub_source *src)
{
    source_rele(src);
}

const char *hub_source_location(const hub_source *src)
{
    return src->location;
}

static int url_locked(char **out, hub_source *src)
{
    git_config *cfg = NULL;
    git_buf url = {0};

    *out = NULL;
    if (src->is_remote) {
        char stripped[4096];
        gf_redact_url_strip(stripped, sizeof(stripped), src->url);
        *out = strdup(stripped);
        return *out ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
    }
    if (git_repository_config_snapshot(&cfg, src->repo) < 0)
        return git_fail(GF_EIO, src->location);
    if (git_config_get_string_buf(&url, cfg, "remote.origin.url") == 0)
        *out = strdup(url.ptr);
    git_buf_dispose(&url);
    git_config_free(cfg);
    return 0;
}

/* Every branch and tag of the remote, under the same names: the clone is a
 * mirror of what the server has, so "main" resolves the same way as locally. */
static char *mirror_specs[] = {"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"};

static int open_remote(hub_source *src, const char *url, const char *cache_dir)
{
    char dir[4096];
    struct stat st;

    if (cache_dir == NULL || cache_dir[0] == '\0')
        return gf_error_set(GF_EINVAL, "%s: a cache directory is needed to clone a URL",
                            src->location);
    if (gf_fs_mkdirs(cache_dir, 0700) < 0)
        return gf_error_wrap(GF_EIO, "cache directory");
    cache_path(dir, sizeof(dir), cache_dir, url);
    src->is_remote = 1;
    if (stat(dir, &st) == 0) {
        if (git_repository_open_bare(&src->repo, dir) < 0)
            return git_fail(GF_EIO, dir);
    } else if (git_repository_init(&src->repo, dir, 1) < 0) {
        return git_fail(GF_EIO, dir);
    }
    return hub_source_fetch(src);
}

static int open_local(hub_source *src, const char *path)
{
    if (git_repository_open_ext(&src->repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
        return git_fail(GF_ENOTFOUND, path);
    return 0;
}

int hub_source_open(hub_source **out, const char *location, const char *cache_dir)
{
    return hub_source_open_creds(out, location, cache_dir, NULL);
}

int hub_source_open_creds(hub_source **out, const char *location, const char *cache_dir,
                          const hub_creds *creds)
{
    char shown[4096];
    hub_source *src;
    int error;

    *out = NULL;
    if ((src = calloc(1, sizeof(*src))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    git_libgit2_init();
    /* libgit2 caches parsed commits and trees process-wide up to 256 MiB by
     * default: with a commit per pass the hub's memory grew by a few KB a
     * pass for hours (issue 13). A pass reads one commit's trees; this
     * bound holds a large fleet repository's trees and stops the growth. */
    git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)HUB_SOURCE_GIT_CACHE_BYTES);
    pthread_mutex_init(&src->lock, NULL);
    src->refs = 1;
    gf_redact_url(shown, sizeof(shown), location);
    src->location = strdup(shown);
    src->url = strdup(location);
    src->creds = creds;
    error = hub_creds_is_remote(location) ? open_remote(src, location, cache_dir)
                                          : open_local(src, location);
    if (error < 0) {
        source_rele(src);
        return error;
    }
    *out = src;
    return 0;
}

/* Point HEAD at the remote's default branch, so "HEAD" means what it means
 * on the server. Best effort: a server that does not say keeps our HEAD. */
static void follow_remote_head(hub_source *src, git_remote *remote, hub_creds_session *session)
{
    git_remote_callbacks cbs;
    git_strarray headers;
    git_buf branch = {0};

    git_remote_init_callbacks(&cbs, GIT_REMOTE_CALLBACKS_VERSION);
    hub_creds_session_apply(session, &cbs, &headers);
    if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &cbs, NULL, &headers) < 0)
        return;
    if (git_remote_default_branch(&branch, remote) == 0)
        git_repository_set_head(src->repo, branch.ptr);
    git_buf_dispose(&branch);
    git_remote_disconnect(remote);
}

static int fetch_locked(hub_source *src)
{
    git_strarray specs = {mirror_specs, 2};
    git_remote_create_options create;
    git_fetch_options opts;
    git_remote *remote = NULL;
    hub_creds_session *session = NULL;
    int error = 0;

    /* A local repository is read in place: "fetching" it is finding it
     * still there, so that a repository gone counts as a failed fetch. */
    if (!src->is_remote)
        return access(git_repository_path(src->repo), R_OK) == 0
                   ? 0
                   : gf_error_set(GF_ENOTFOUND, "repository %s: %s", src->location,
                                  strerror(errno));
    if ((error = hub_creds_session_new(&session, src->creds, src->url)) < 0)
        return error;
    git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
    git_remote_create_options_init(&create, GIT_REMOTE_CREATE_OPTIONS_VERSION);
    /* An anonymous remote with explicit refspecs, and no url.insteadOf: the
     * cache repo has no such config, and libgit2 1.5 leaks the regex match
     * data of that config lookup on every call. */
    create.repository = src->repo;
    create.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
    if (git_remote_create_with_opts(&remote, src->url, &create) < 0) {
        hub_creds_session_free(session);
        return git_fail(GF_EIO, src->location);
    }
    follow_remote_head(src, remote, session);
    opts.prune = GIT_FETCH_PRUNE;
    opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
    opts.update_fetchhead = 0; /* FETCH_HEAD would record the URL, credentials and all */
    hub_creds_session_apply(session, &opts.callbacks, &opts.custom_headers);
    if (git_remote_fetch(remote, &specs, &opts, "gitfleet fetch") < 0)
        error = hub_creds_session_error(session)
                    ? gf_error_set(GF_EPERM, "%s", hub_creds_session_error(session))
                    : git_fail(GF_EIO, src->location);
    git_remote_free(remote);
    hub_creds_session_free(session);
    return error;
}

static int resolve_locked(char out[41], hub_source *src, const char *revision)
{
    char spec[SOURCE_MAX_REV + 16];
    git_object *obj = NULL;

    out[0] = '\0';
    if (revision == NULL || revision[0] == '\0')
        revision = "HEAD";
    if (strlen(revision) > SOURCE_MAX_REV || revision[0] == '-')
        return gf_error_set(GF_EINVAL, "'%.40s...': not a revision", revision);
    snprintf(spec, sizeof(spec), "%s^{commit}", revision);
    if (git_revparse_single(&obj, src->repo, spec) < 0)
        return gf_error_set(GF_ENOTFOUND, "revision '%s' not found in %s", revision, src->location);
    git_oid_tostr(out, 41, git_object_id(obj));
    git_object_free(obj);
    return 0;
}

void hub_source_cache_bytes(int64_t *used_out, int64_t *allowed_out)
{
    ssize_t used = 0, allowed = 0;

    git_libgit2_opts(GIT_OPT_GET_CACHED_MEMORY, &used, &allowed);
    *used_out = used;
    *allowed_out = allowed;
}

int hub_source_fetch(hub_source *src)
{
    pthread_mutex_lock(&src->lock);
    int error = fetch_locked(src);
    pthread_mutex_unlock(&src->lock);
    return error;
}

int hub_source_resolve(char out[41], hub_source *src, const char *revision)
{
    pthread_mutex_lock(&src->lock);
    int error = resolve_locked(out, src, revision);
    pthread_mutex_unlock(&src->lock);
    return error;
}

int hub_source_url(char **out, hub_source *src)
{
    pthread_mutex_lock(&src->lock);
    int error = url_locked(out, src);
    pthread_mutex_unlock(&src->lock);
    return error;
}

/* ---- the tree of one commit as a hub_filesrc ---- */

/* A directory of the tree, looked up once: every later path through it is
 * a hash lookup, so reading N overlays of a 10,000-entry directory costs N
 * entry lookups, not N inflations of that directory (libgit2 caches no tree
 * object over 4 KiB by default, and caching would still copy). */
struct dir_entry {
    struct dir_entry *next;
    git_tree *tree;
    char path[]; /* normalized, "" for the root */
};

struct tree_source {
    hub_filesrc base;
    hub_source *src;
    git_tree *root;
    struct dir_entry **dirs; /* buckets; guarded by src->lock */
    size_t n_dirs, n_buckets;
};

static void dirs_grow(struct tree_source *ts)
{
    size_t n = ts->n_buckets ? ts->n_buckets * 2 : 256;
    struct dir_entry **b = calloc(n, sizeof(*b));

    if (b == NULL)
        return; /* keep the old table: longer chains, still correct */
    for (size_t i = 0; i < ts->n_buckets; i++)
        while (ts->dirs[i]) {
            struct dir_entry *e = ts->dirs[i];
            ts->dirs[i] = e->next;
            size_t k = gf_hash_bytes(e->path, strlen(e->path)) % n;
            e->next = b[k];
            b[k] = e;
        }
    free(ts->dirs);
    ts->dirs = b;
    ts->n_buckets = n;
}

/* The tree of directory `path` (its first len bytes), whose entry in the
 * parent names `oid`; looked up once per tree source. Borrowed. */
static git_tree *dir_tree(struct tree_source *ts, const char *path, size_t len, const git_oid *oid)
{
    if (ts->n_dirs >= ts->n_buckets)
        dirs_grow(ts);
    size_t k = gf_hash_bytes(path, len) % ts->n_buckets;
    for (struct dir_entry *e = ts->dirs[k]; e; e = e->next)
        if (strncmp(e->path, path, len) == 0 && e->path[len] == '\0')
            return e->tree;
    struct dir_entry *e = malloc(sizeof(*e) + len + 1);
    if (e == NULL)
        return NULL;
    count_read(ts->src);
    if (git_tree_lookup(&e->tree, ts->src->repo, oid) < 0) {
        free(e);
        return NULL;
    }
    memcpy(e->path, path, len);
    e->path[len] = '\0';
    e->next = ts->dirs[k];
    ts->dirs[k] = e;
    ts->n_dirs++;
    return e->tree;
}

/* What a path names inside the tree, symlinks followed. */
struct tree_hit {
    enum hub_filesrc_type type;
    git_oid oid;
};

/* Read a symlink blob's target into a malloc'd string. */
static int link_target(char **out, hub_source *src, const git_oid *oid)
{
    git_repository *repo = src->repo;
    git_blob *blob = NULL;

    count_read(src);
    if (git_blob_lookup(&blob, repo, oid) < 0)
        return git_fail(GF_EIO, "symlink");
    size_t len = (size_t)git_blob_rawsize(blob);
    if (len > 4096 || (*out = malloc(len + 1)) == NULL) {
        git_blob_free(blob);
        return gf_error_set(GF_ETOOBIG, "symlink target too long");
    }
    memcpy(*out, git_blob_rawcontent(blob), len);
    (*out)[len] = '\0';
    git_blob_free(blob);
    return 0;
}

/* Where the symlink `link` (the first linklen bytes of the walked path,
 * whose directory is the first dirlen) leads, with `rest` appended.
 * GF_EPERM when that leaves the tree. */
static int follow_link(char **out, struct tree_source *ts, const char *link, size_t linklen,
                       size_t dirlen, const git_oid *oid, const char *rest)
{
    char *target = NULL, *dir = NULL, *joined = NULL;
    int error;

    if ((error = link_target(&target, ts->src, oid)) < 0)
        return error;
    dir = strndup(link, dirlen);
    if (target[0] == '/' || hub_filesrc_join(&joined, dir, target) < 0)
        error = gf_error_set(GF_EPERM, "'%.*s' is a symlink that leaves the repository tree",
                             (int)linklen, link);
    else if (rest[0] != '\0')
        error = hub_filesrc_join(out, joined, rest);
    else {
        *out = joined;
        joined = NULL;
    }
    free(target);
    free(dir);
    free(joined);
    return error;
}

/* Walk normalized `path` from the root. *next_out is set (malloc'd) when a
 * symlink was met: the walk restarts from the root with that path. */
static int walk(struct tree_source *ts, const char *path, struct tree_hit *hit, char **next_out)
{
    git_tree *tree = ts->root;
    const char *p = path;
    int error = 0;

    hit->type = HUB_FILESRC_DIR;
    git_oid_cpy(&hit->oid, git_tree_id(ts->root));
    while (*p != '\0') {
        const char *slash = strchr(p, '/');
        size_t seglen = slash ? (size_t)(slash - p) : strlen(p);
        const char *rest = slash ? slash + 1 : "";
        char seg[1024];

        if (hit->type != HUB_FILESRC_DIR || seglen >= sizeof(seg)) {
            hit->type = HUB_FILESRC_NONE;
            break;
        }
        memcpy(seg, p, seglen);
        seg[seglen] = '\0';
        const git_tree_entry *ent = git_tree_entry_byname(tree, seg);
        git_object_t otype = ent ? git_tree_entry_type(ent) : GIT_OBJECT_INVALID;
        if (otype == GIT_OBJECT_BLOB && git_tree_entry_filemode(ent) == GIT_FILEMODE_LINK) {
            size_t dirlen = p > path ? (size_t)(p - path) - 1 : 0; /* without the '/' */
            error = follow_link(next_out, ts, path, (size_t)(p - path) + seglen, dirlen,
                                git_tree_entry_id(ent), rest);
            break;
        }
        if (otype == GIT_OBJECT_TREE) {
            /* Only a directory the path goes through needs its tree. */
            if (*rest != '\0' && (tree = dir_tree(ts, path, (size_t)(p - path) + seglen,
                                                  git_tree_entry_id(ent))) == NULL) {
                error = git_fail(GF_EIO, path);
                break;
            }
            hit->type = HUB_FILESRC_DIR;
        } else if (otype == GIT_OBJECT_BLOB) {
            hit->type = HUB_FILESRC_FILE;
        } else {
            hit->type = HUB_FILESRC_NONE; /* missing, or a submodule */
            break;
        }
        git_oid_cpy(&hit->oid, git_tree_entry_id(ent));
        p = rest;
    }
    return error;
}

static int tree_lookup(struct tree_source *ts, const char *path, struct tree_hit *hit)
{
    char *cur = NULL, *next = NULL;
    int error;

    if ((error = hub_filesrc_join(&cur, "", path)) < 0)
        return error;
    for (int hops = 0;; hops++) {
        if (hops > SOURCE_MAX_SYMLINK) {
            error = gf_error_set(GF_EINVAL, "'%s': too many levels of symlinks", path);
            break;
        }
        next = NULL;
        if ((error = walk(ts, cur, hit, &next)) < 0 || next == NULL)
            break;
        free(cur);
        cur = next;
    }
    free(cur);
    return error;
}

static int tree_stat_locked(hub_filesrc *src, const char *path, enum hub_filesrc_type *type_out)
{
    struct tree_hit hit;
    int error;

    *type_out = HUB_FILESRC_NONE;
    if ((error = tree_lookup((struct tree_source *)src, path, &hit)) < 0)
        return error;
    *type_out = hit.type;
    return 0;
}

static int tree_read_locked(hub_filesrc *src, const char *path, char **out, size_t *len_out)
{
    struct tree_source *ts = (struct tree_source *)src;
    struct tree_hit hit;
    git_blob *blob = NULL;
    int error;

    *out = NULL;
    if ((error = tree_lookup(ts, path, &hit)) < 0)
        return error;
    if (hit.type != HUB_FILESRC_FILE)
        return gf_error_set(GF_ENOTFOUND, "%s: %s: no such file", src->description, path);
    count_read(ts->src);
    if (git_blob_lookup(&blob, ts->src->repo, &hit.oid) < 0)
        return git_fail(GF_EIO, path);
    size_t len = (size_t)git_blob_rawsize(blob);
    if (len > SOURCE_MAX_FILE)
        error = gf_error_set(GF_ETOOBIG, "%s: %zu bytes, over the limit", path, len);
    else if ((*out = malloc(len + 1)) == NULL)
        error = gf_error_set(GF_ENOMEM, "out of memory");
    else {
        memcpy(*out, git_blob_rawcontent(blob), len);
        (*out)[len] = '\0';
        if (len_out != NULL)
            *len_out = len;
    }
    git_blob_free(blob);
    return error;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int tree_list_locked(hub_filesrc *src, const char *dir, char ***names_out, size_t *count_out)
{
    struct tree_source *ts = (struct tree_source *)src;
    struct tree_hit hit;
    git_tree *tree = NULL;
    int error;

    *names_out = NULL;
    *count_out = 0;
    if ((error = tree_lookup(ts, dir, &hit)) < 0)
        return error;
    if (hit.type != HUB_FILESRC_DIR)
        return gf_error_set(GF_ENOTFOUND, "%s: %s: no such directory", src->description, dir);
    const char *norm = NULL;
    char *joined = NULL;
    if ((error = hub_filesrc_join(&joined, "", dir)) < 0)
        return error;
    norm = joined;
    /* The directory's own path after symlinks is not known here; its oid
     * is, and a listed directory is usually walked through next anyway. */
    tree = norm[0] == '\0' ? ts->root : dir_tree(ts, norm, strlen(norm), &hit.oid);
    if (tree != NULL && git_oid_cmp(git_tree_id(tree), &hit.oid) != 0)
        tree = NULL; /* `dir` went through a symlink: its path names another tree */
    git_tree *owned = NULL;
    if (tree == NULL) {
        count_read(ts->src);
        if (git_tree_lookup(&owned, ts->src->repo, &hit.oid) < 0) {
            free(joined);
            return git_fail(GF_EIO, dir);
        }
        tree = owned;
    }
    free(joined);
    size_t n = git_tree_entrycount(tree);
    char **names = calloc(n ? n : 1, sizeof(*names));
    if (names == NULL) {
        git_tree_free(owned);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        names[i] = strdup(git_tree_entry_name(git_tree_entry_byindex(tree, i)));
    git_tree_free(owned);
    /* Git orders a directory as if its name ended in '/'; we promise bytewise. */
    qsort(names, n, sizeof(*names), compare_names);
    *names_out = names;
    *count_out = n;
    return 0;
}

static int tree_content_id_locked(hub_filesrc *src, const char *path, char out[65])
{
    struct tree_hit hit;
    int error;

    out[0] = '\0';
    if ((error = tree_lookup((struct tree_source *)src, path, &hit)) < 0)
        return error;
    if (hit.type == HUB_FILESRC_NONE)
        return gf_error_set(GF_ENOTFOUND, "%s: %s: no such file or directory", src->description,
                            path);
    git_oid_tostr(out, 41, &hit.oid);
    return 0;
}

#define LOCKED(name, proto, args)                                                                  \
    static int name proto                                                                          \
    {                                                                                              \
        hub_source *s = ((struct tree_source *)src)->src;                                          \
        pthread_mutex_lock(&s->lock);                                                              \
        int error = name##_locked args;                                                            \
        pthread_mutex_unlock(&s->lock);                                                            \
        return error;                                                                              \
    }

LOCKED(tree_stat, (hub_filesrc * src, const char *path, enum hub_filesrc_type *type_out),
       (src, path, type_out))
LOCKED(tree_read, (hub_filesrc * src, const char *path, char **out, size_t *len_out),
       (src, path, out, len_out))
LOCKED(tree_list, (hub_filesrc * src, const char *dir, char ***names_out, size_t *count_out),
       (src, dir, names_out, count_out))
LOCKED(tree_content_id, (hub_filesrc * src, const char *path, char out[65]), (src, path, out))

static void tree_free(hub_filesrc *src)
{
    struct tree_source *ts = (struct tree_source *)src;

    pthread_mutex_lock(&ts->src->lock);
    for (size_t i = 0; i < ts->n_buckets; i++)
        while (ts->dirs[i]) {
            struct dir_entry *e = ts->dirs[i];
            ts->dirs[i] = e->next;
            git_tree_free(e->tree);
            free(e);
        }
    free(ts->dirs);
    git_tree_free(ts->root);
    pthread_mutex_unlock(&ts->src->lock);
    free(ts->base.description);
    source_rele(ts->src);
    free(ts);
}

static const struct hub_filesrc_ops tree_ops = {
    .stat = tree_stat,
    .read = tree_read,
    .list = tree_list,
    .content_id = tree_content_id,
    .free = tree_free,
};

static int tree_open_locked(hub_filesrc **out, hub_source *src, const char *commit)
{
    git_oid oid;
    git_commit *c = NULL;
    struct tree_source *ts;
    char desc[4200];

    *out = NULL;
    if (git_oid_fromstr(&oid, commit) < 0 || git_commit_lookup(&c, src->repo, &oid) < 0)
        return gf_error_set(GF_ENOTFOUND, "commit '%s' not found in %s", commit, src->location);
    if ((ts = calloc(1, sizeof(*ts))) == NULL) {
        git_commit_free(c);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    if (git_commit_tree(&ts->root, c) < 0) {
        git_commit_free(c);
        free(ts);
        return git_fail(GF_EIO, commit);
    }
    git_commit_free(c);
    ts->base.ops = &tree_ops;
    snprintf(desc, sizeof(desc), "%s@%.7s", src->location, commit);
    ts->base.description = strdup(desc);
    ts->src = src;
    __atomic_add_fetch(&src->refs, 1, __ATOMIC_RELAXED);
    *out = &ts->base;
    return 0;
}

int hub_source_tree(hub_filesrc **out, hub_source *src, const char *commit)
{
    pthread_mutex_lock(&src->lock);
    int error = tree_open_locked(out, src, commit);
    pthread_mutex_unlock(&src->lock);
    return error;
}
