/* os.h -- the few operating-system specifics, behind one header */
#ifndef GITFLEET_OS_H
#define GITFLEET_OS_H

#include <stddef.h>

/* Give freed heap memory back to the system; glibc keeps it otherwise, in
 * every thread's arena. For daemons that handle bursts (a relist of
 * thousands of objects) and then rest. A no-op elsewhere, and where the
 * program links jemalloc, which gives it back by itself. */
void gf_os_release_memory(void);

/* Bytes the allocator has handed out and not got back (jemalloc's
 * stats.allocated when the program links jemalloc, else glibc's mallinfo2; 0
 * where unknown). RSS minus this is memory the allocator keeps
 * for reuse: growth here is data, growth only in RSS is fragmentation. */
size_t gf_os_heap_in_use(void);

/* jemalloc's settings for a program that links it, as the value of its
 * global `malloc_conf` (read at the first allocation): freed pages are kept
 * a minute, not jemalloc's default 10 s. A sync pass allocates and frees a
 * whole fleet's renders; with 10 s the pages went back to the kernel
 * between commits and the next pass faulted every one in again (a quarter
 * of the render threads' time at 10,000 clusters). */
#define GF_OS_JEMALLOC_CONF "dirty_decay_ms:60000,muzzy_decay_ms:0"

/* CPUs this process may run on (at least 1): the default size of thread pools. */
int gf_os_cpu_count(void);

/* Lower the calling thread's CPU priority by `nice` steps (Linux: threads
 * have their own nice value), so that on a saturated machine the process's
 * other threads come first. A no-op where threads cannot be told apart. */
void gf_os_thread_yield_priority(int nice);

/* Name the calling thread (Linux: 15 characters shown by top -H, ps -L and
 * perf), so that a busy hub's time can be told apart per thread kind. */
void gf_os_thread_name(const char *name);

/* This process's CPU seconds (user + system) and peak resident set in KiB,
 * for benchmarks and metrics. */
void gf_os_usage(double *cpu_seconds_out, long *peak_rss_kib_out);

#endif
