/* deadlines.c -- the earliest of many deadlines: a binary min-heap with each slot's position */
#include "deadlines.h"

#include "gitfleet/error.h"

#include <stdlib.h>

#define NO_POSITION SIZE_MAX

struct hub_deadlines {
    size_t capacity, count;
    size_t *heap;     /* positions 0 .. count-1: slots, earliest first at 0 */
    size_t *position; /* slot -> its position in heap, or NO_POSITION */
    int64_t *when;    /* slot -> its deadline */
};

int hub_deadlines_new(hub_deadlines **out, size_t capacity)
{
    hub_deadlines *d = calloc(1, sizeof(*d));

    *out = NULL;
    if (d == NULL || (d->heap = calloc(capacity + 1, sizeof(*d->heap))) == NULL ||
        (d->position = malloc((capacity + 1) * sizeof(*d->position))) == NULL ||
        (d->when = calloc(capacity + 1, sizeof(*d->when))) == NULL) {
        hub_deadlines_free(d);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    d->capacity = capacity;
    for (size_t i = 0; i < capacity; i++)
        d->position[i] = NO_POSITION;
    *out = d;
    return 0;
}

void hub_deadlines_free(hub_deadlines *d)
{
    if (d == NULL)
        return;
    free(d->heap);
    free(d->position);
    free(d->when);
    free(d);
}

static int earlier(const hub_deadlines *d, size_t a, size_t b)
{
    return d->when[d->heap[a]] < d->when[d->heap[b]];
}

static void swap(hub_deadlines *d, size_t a, size_t b)
{
    size_t slot = d->heap[a];

    d->heap[a] = d->heap[b];
    d->heap[b] = slot;
    d->position[d->heap[a]] = a;
    d->position[d->heap[b]] = b;
}

static void sift_up(hub_deadlines *d, size_t i)
{
    while (i > 0 && earlier(d, i, (i - 1) / 2)) {
        swap(d, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void sift_down(hub_deadlines *d, size_t i)
{
    for (;;) {
        size_t least = i, left = 2 * i + 1, right = left + 1;
        if (left < d->count && earlier(d, left, least))
            least = left;
        if (right < d->count && earlier(d, right, least))
            least = right;
        if (least == i)
            return;
        swap(d, i, least);
        i = least;
    }
}

void hub_deadlines_set(hub_deadlines *d, size_t slot, int64_t when)
{
    if (slot >= d->capacity)
        return;
    if (d->position[slot] == NO_POSITION) {
        d->heap[d->count] = slot;
        d->position[slot] = d->count++;
    }
    d->when[slot] = when;
    /* The new value may be earlier or later than the old: one of the two moves it. */
    sift_up(d, d->position[slot]);
    sift_down(d, d->position[slot]);
}

void hub_deadlines_clear(hub_deadlines *d, size_t slot)
{
    if (slot >= d->capacity || d->position[slot] == NO_POSITION)
        return;
    size_t i = d->position[slot], last = --d->count;
    d->position[slot] = NO_POSITION;
    if (i == last)
        return;
    size_t moved = d->heap[last]; /* the last fills the gap, then finds its place */
    d->heap[i] = moved;
    d->position[moved] = i;
    sift_up(d, i);
    sift_down(d, d->position[moved]);
}

int hub_deadlines_first(const hub_deadlines *d, size_t *slot, int64_t *when)
{
    if (d->count == 0)
        return 0;
    *slot = d->heap[0];
    *when = d->when[d->heap[0]];
    return 1;
}

size_t hub_deadlines_count(const hub_deadlines *d)
{
    return d->count;
}
