/* fsutil.c -- small file helpers: bounded reads and atomic writes */
#include "gitfleet/fsutil.h"
#include "gitfleet/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GF_FS_DEFAULT_MAX ((size_t)256 << 20)

static int errno_code(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
        return GF_ENOTFOUND;
    case EACCES:
    case EPERM:
        return GF_EPERM;
    default:
        return GF_EIO;
    }
}

int gf_fs_read(char **out, size_t *len_out, const char *path, size_t max)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int fd, error = 0;

    *out = NULL;
    if (max == 0)
        max = GF_FS_DEFAULT_MAX;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return gf_error_set(errno_code(errno), "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return gf_error_set(GF_EINVAL, "%s: is a directory", path);
    }
    for (;;) {
        if (cap - len < 4096) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nbuf = realloc(buf, ncap + 1);
            if (nbuf == NULL) {
                error = gf_error_set(GF_ENOMEM, "%s: out of memory", path);
                goto out;
            }
            buf = nbuf;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            error = gf_error_set(errno_code(errno), "%s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            error = gf_error_set(GF_ETOOBIG, "%s: larger than the limit of %zu bytes", path, max);
            goto out;
        }
    }
    buf[len] = '\0';
    *out = buf;
    buf = NULL;
    if (len_out)
        *len_out = len;
out:
    free(buf);
    close(fd);
    return error;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int gf_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[PATH_MAX];
    int fd;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
        return gf_error_set(GF_EINVAL, "%s: path too long", path);
    if ((fd = mkstemp(tmp)) < 0)
        return gf_error_set(errno_code(errno), "%s: cannot create temporary file: %s", path,
                            strerror(errno));
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        int err = errno;
        close(fd);
        unlink(tmp);
        return gf_error_set(errno_code(err), "%s: %s", path, strerror(err));
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return gf_error_set(errno_code(err), "%s: %s", path, strerror(err));
    }
    return 0;
}

int gf_fs_mkdirs(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf))
        return gf_error_set(GF_EINVAL, "invalid directory path '%s'", path);
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, mode) != 0 && errno != EEXIST)
                return gf_error_set(errno_code(errno), "mkdir %s: %s", buf, strerror(errno));
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    return 0;
}
