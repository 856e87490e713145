/* filesrc.c -- the file-tree interface's dispatchers, path joining, and the on-disk source */
#include "filesrc.h"

#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILESRC_DEFAULT_MAX ((size_t)64 << 20)

int hub_filesrc_stat(hub_filesrc *src, const char *path, enum hub_filesrc_type *type_out)
{
    return src->ops->stat(src, path, type_out);
}

int hub_filesrc_read(hub_filesrc *src, const char *path, char **out, size_t *len_out)
{
    return src->ops->read(src, path, out, len_out);
}

int hub_filesrc_list(hub_filesrc *src, const char *dir, char ***names_out, size_t *count_out)
{
    return src->ops->list(src, dir, names_out, count_out);
}

int hub_filesrc_content_id(hub_filesrc *src, const char *path, char out[65])
{
    if (src->ops->content_id == NULL)
        return gf_error_set(GF_EUNSUPPORTED, "%s: no content ids", src->description);
    return src->ops->content_id(src, path, out);
}

void hub_filesrc_free(hub_filesrc *src)
{
    if (src != NULL)
        src->ops->free(src);
}

void hub_filesrc_names_free(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* Append one path segment to the normalized path in buf, handling "." and "..". */
static int push_segment(char *buf, size_t *len, const char *seg, size_t seglen)
{
    if (seglen == 0 || (seglen == 1 && seg[0] == '.'))
        return 0;
    if (seglen == 2 && seg[0] == '.' && seg[1] == '.') {
        if (*len == 0)
            return GF_EPERM;
        while (*len > 0 && buf[*len - 1] != '/')
            (*len)--;
        if (*len > 0)
            (*len)--; /* the slash */
        buf[*len] = '\0';
        return 0;
    }
    if (*len > 0)
        buf[(*len)++] = '/';
    memcpy(buf + *len, seg, seglen);
    *len += seglen;
    buf[*len] = '\0';
    return 0;
}

static int push_path(char *buf, size_t *len, const char *path)
{
    const char *p = path;

    while (*p) {
        const char *end = strchr(p, '/');
        size_t seglen = end ? (size_t)(end - p) : strlen(p);
        if (push_segment(buf, len, p, seglen) < 0)
            return GF_EPERM;
        p += seglen;
        if (*p == '/')
            p++;
    }
    return 0;
}

int hub_filesrc_join(char **out, const char *base, const char *path)
{
    size_t cap = strlen(base) + strlen(path) + 2, len = 0;
    char *buf;

    *out = NULL;
    if (path[0] == '/' || base[0] == '/')
        return gf_error_set(GF_EPERM, "'%s': absolute paths are not allowed", path);
    if ((buf = malloc(cap)) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    buf[0] = '\0';
    if (push_path(buf, &len, base) < 0 || push_path(buf, &len, path) < 0) {
        free(buf);
        return gf_error_set(GF_EPERM, "'%s' (from '%s') leaves the repository root", path,
                            base[0] ? base : ".");
    }
    *out = buf;
    return 0;
}

/* ---- the on-disk source ---- */

struct dir_source {
    hub_filesrc base;
    char *root; /* realpath of the root */
    size_t max_file;
};

/* Resolve `path` under the root into an absolute path that is still inside
 * it once symlinks are followed. NONE (not an error) when it does not exist. */
static int dir_resolve(struct dir_source *ds, const char *path, char resolved[PATH_MAX],
                       int *exists)
{
    char *rel = NULL;
    char joined[PATH_MAX];
    int error;

    *exists = 0;
    if ((error = hub_filesrc_join(&rel, "", path)) < 0)
        return error;
    snprintf(joined, sizeof(joined), "%s%s%s", ds->root, rel[0] ? "/" : "", rel);
    free(rel);
    if (realpath(joined, resolved) == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return gf_error_set(GF_EIO, "%s: %s", joined, strerror(errno));
    }
    size_t rootlen = strlen(ds->root);
    if (strcmp(ds->root, "/") == 0)
        rootlen = 0; /* the whole file system (gitfleet kustomize without --root) */
    if (strncmp(resolved, ds->root, rootlen) != 0 ||
        (resolved[rootlen] != '\0' && resolved[rootlen] != '/'))
        return gf_error_set(GF_EPERM, "'%s' is a symlink that leaves the root %s", path, ds->root);
    *exists = 1;
    return 0;
}

static int dir_stat(hub_filesrc *src, const char *path, enum hub_filesrc_type *type_out)
{
    struct dir_source *ds = (struct dir_source *)src;
    char resolved[PATH_MAX];
    struct stat st;
    int exists, error;

    *type_out = HUB_FILESRC_NONE;
    if ((error = dir_resolve(ds, path, resolved, &exists)) < 0 || !exists)
        return error;
    if (stat(resolved, &st) != 0)
        return 0;
    *type_out = S_ISDIR(st.st_mode) ? HUB_FILESRC_DIR : HUB_FILESRC_FILE;
    return 0;
}

static int dir_read(hub_filesrc *src, const char *path, char **out, size_t *len_out)
{
    struct dir_source *ds = (struct dir_source *)src;
    char resolved[PATH_MAX];
    int exists, error;

    *out = NULL;
    if ((error = dir_resolve(ds, path, resolved, &exists)) < 0)
        return error;
    if (!exists)
        return gf_error_set(GF_ENOTFOUND, "%s/%s: no such file", ds->root, path);
    return gf_fs_read(out, len_out, resolved, ds->max_file);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int dir_list(hub_filesrc *src, const char *dir, char ***names_out, size_t *count_out)
{
    struct dir_source *ds = (struct dir_source *)src;
    char resolved[PATH_MAX];
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *ent;
    DIR *d;
    int exists, error;

    *names_out = NULL;
    *count_out = 0;
    if ((error = dir_resolve(ds, dir, resolved, &exists)) < 0)
        return error;
    if (!exists || (d = opendir(resolved)) == NULL)
        return gf_error_set(GF_ENOTFOUND, "%s/%s: no such directory", ds->root, dir);
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL)
                break;
            names = grown;
        }
        names[count++] = strdup(ent->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof(*names), compare_names);
    *names_out = names;
    *count_out = count;
    return 0;
}

static void dir_free(hub_filesrc *src)
{
    struct dir_source *ds = (struct dir_source *)src;

    free(ds->root);
    free(ds->base.description);
    free(ds);
}

static const struct hub_filesrc_ops dir_ops = {
    .stat = dir_stat,
    .read = dir_read,
    .list = dir_list,
    .content_id = NULL,
    .free = dir_free,
};

int hub_filesrc_open_dir(hub_filesrc **out, const char *root, size_t max_file)
{
    char resolved[PATH_MAX];
    struct dir_source *ds;
    struct stat st;

    *out = NULL;
    if (realpath(root, resolved) == NULL || stat(resolved, &st) != 0)
        return gf_error_set(GF_ENOTFOUND, "%s: %s", root, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return gf_error_set(GF_EINVAL, "%s: not a directory", root);
    if ((ds = calloc(1, sizeof(*ds))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    ds->base.ops = &dir_ops;
    ds->root = strdup(resolved);
    ds->base.description = strdup(resolved);
    ds->max_file = max_file ? max_file : FILESRC_DEFAULT_MAX;
    *out = &ds->base;
    return 0;
}
