/* os.c -- the few operating-system specifics, behind one header */
#include "gitfleet/os.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

#include <stdlib.h> /* defines __GLIBC__ where glibc is the C library */
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#endif

/* jemalloc's control interface, present when the program links jemalloc
 * (the hub does, outside sanitizer builds): then malloc is jemalloc's, and
 * glibc's statistics and trimming see none of it. */
extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));

static size_t jemalloc_allocated(void)
{
    uint64_t epoch = 1;
    size_t allocated = 0, len = sizeof(epoch);

    mallctl("epoch", &epoch, &len, &epoch, len); /* refresh the statistics */
    len = sizeof(allocated);
    return mallctl("stats.allocated", &allocated, &len, NULL, 0) == 0 ? allocated : 0;
}

size_t gf_os_heap_in_use(void)
{
    if (mallctl != NULL)
        return jemalloc_allocated();
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#else
    return 0;
#endif
}

void gf_os_release_memory(void)
{
    /* jemalloc gives unused pages back by itself, a few seconds after they
     * were freed (its dirty-page decay); purging here as well made the next
     * pass fault them in again. */
    if (mallctl != NULL)
        return;
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

int gf_os_cpu_count(void)
{
    cpu_set_t set;

    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void gf_os_thread_yield_priority(int nice)
{
#if defined(__linux__)
    /* Raising one's own nice value needs no privilege; failure leaves the
     * thread as it was, which is only slower to yield. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
#else
    (void)nice;
#endif
}

void gf_os_thread_name(const char *name)
{
#if defined(__linux__)
    char shown[16];

    snprintf(shown, sizeof(shown), "%s", name); /* the kernel keeps 15 and a NUL */
    (void)pthread_setname_np(pthread_self(), shown);
#else
    (void)name;
#endif
}

void gf_os_usage(double *cpu_seconds_out, long *peak_rss_kib_out)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    *cpu_seconds_out = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    *peak_rss_kib_out = ru.ru_maxrss;
}
