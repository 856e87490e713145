/* deadlines.h -- the earliest of many deadlines: a min-heap over numbered slots */
#ifndef HUB_DEADLINES_H
#define HUB_DEADLINES_H

#include <stddef.h>
#include <stdint.h>

/*
 * The agent endpoint holds up to one long-poll per context, each with its
 * deadline. nng 1.5.2 keeps aio timeouts in an unsorted list that its expire
 * thread scans whole, under the lock every aio operation takes, each time
 * the earliest deadline passes: with 10,000 held long-polls that scan ran
 * many times per commit. Here a slot (a context's index) has at most one
 * deadline; set, clear and the earliest are O(log n) / O(1). Not
 * thread-safe: the caller's lock guards it.
 */
typedef struct hub_deadlines hub_deadlines;

/* Slots 0 .. capacity-1. */
int hub_deadlines_new(hub_deadlines **out, size_t capacity);
void hub_deadlines_free(hub_deadlines *d);

/* Give `slot` the deadline `when` (replacing the one it had). */
void hub_deadlines_set(hub_deadlines *d, size_t slot, int64_t when);
/* Take the slot's deadline away (nothing when it has none). */
void hub_deadlines_clear(hub_deadlines *d, size_t slot);
/* The earliest deadline: 1 with *slot and *when set, 0 when none is set. */
int hub_deadlines_first(const hub_deadlines *d, size_t *slot, int64_t *when);
size_t hub_deadlines_count(const hub_deadlines *d);

#endif
