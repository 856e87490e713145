/* fsutil.h -- small file helpers: bounded reads and atomic writes */
#ifndef GITFLEET_FSUTIL_H
#define GITFLEET_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Read a whole file into a NUL-terminated malloc'd buffer. Files larger than
 * `max` bytes (0: 256 MiB) give GF_ETOOBIG; a missing file GF_ENOTFOUND; an
 * unreadable one GF_EPERM or GF_EIO. */
int gf_fs_read(char **out, size_t *len_out, const char *path, size_t max);

/* Write `data` to `path` atomically: a temporary file in the same directory,
 * fsync, chmod `mode`, rename over the target. */
int gf_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* mkdir -p with `mode` for the directories it creates. */
int gf_fs_mkdirs(const char *path, mode_t mode);

#endif
