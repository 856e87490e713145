/* filesrc.h -- read-only file trees: a directory on disk or a Git tree at a commit */
#ifndef HUB_FILESRC_H
#define HUB_FILESRC_H

#include <stddef.h>

/*
 * The kustomize engine and the fleet model read files only through this
 * interface, so the same code renders a directory (`gitfleet kustomize DIR`)
 * and a Git tree at a commit (the hub). Paths are relative to the source's
 * root, '/'-separated; "" or "." is the root. A path that would leave the root
 * ("..", an absolute path, a symlink pointing outside) is refused with
 * GF_EPERM by every implementation.
 */
typedef struct hub_filesrc hub_filesrc;

enum hub_filesrc_type { HUB_FILESRC_NONE = 0, HUB_FILESRC_FILE, HUB_FILESRC_DIR };

struct hub_filesrc_ops {
    /* What is at `path`: NONE when nothing (not an error). */
    int (*stat)(hub_filesrc *src, const char *path, enum hub_filesrc_type *type_out);
    /* Whole file, NUL-terminated, malloc'd; GF_ENOTFOUND, GF_ETOOBIG. */
    int (*read)(hub_filesrc *src, const char *path, char **out, size_t *len_out);
    /* Entry names of a directory, sorted bytewise; free with hub_filesrc_names_free. */
    int (*list)(hub_filesrc *src, const char *dir, char ***names_out, size_t *count_out);
    /* A content id of the subtree or file at `path` that changes whenever
     * anything under it changes (Git: the tree/blob oid). GF_EUNSUPPORTED
     * when the source has no such id (a plain directory). */
    int (*content_id)(hub_filesrc *src, const char *path, char out[65]);
    void (*free)(hub_filesrc *src);
};

struct hub_filesrc {
    const struct hub_filesrc_ops *ops;
    char *description; /* for messages: "/path/to/dir" or "repo@abc123" */
};

/* Dispatchers over src->ops. */
int hub_filesrc_stat(hub_filesrc *src, const char *path, enum hub_filesrc_type *type_out);
int hub_filesrc_read(hub_filesrc *src, const char *path, char **out, size_t *len_out);
int hub_filesrc_list(hub_filesrc *src, const char *dir, char ***names_out, size_t *count_out);
int hub_filesrc_content_id(hub_filesrc *src, const char *path, char out[65]);
void hub_filesrc_free(hub_filesrc *src);
void hub_filesrc_names_free(char **names, size_t count);

/*
 * Normalize `path` relative to directory `base` (both relative to the root):
 * join, drop "." and empty parts, resolve "..". *out is malloc'd ("" is the
 * root). An absolute path or one that climbs above the root is GF_EPERM.
 */
int hub_filesrc_join(char **out, const char *base, const char *path);

/* A directory on disk as a source. Symlinks are followed only while their
 * target stays under the root. Files are bounded to max_file bytes (0: 64 MiB). */
int hub_filesrc_open_dir(hub_filesrc **out, const char *root, size_t max_file);

#endif
