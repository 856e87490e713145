/* fetch.h -- the thread that long-polls the hub for newer bundles and verifies them */
#ifndef AGENT_FETCH_H
#define AGENT_FETCH_H

#include "gitfleet.pb-c.h"
#include "link.h"
#include "state.h"

#include <stddef.h>
#include <stdint.h>

/*
 * One thread asks the hub for "a bundle newer than G", which the hub holds
 * until one exists. A bundle that verifies (agent/verify.h) waits in a
 * one-slot mailbox (a newer one replaces it) and `notify` is called; one
 * that does not is refused and its reason kept for the next report. When
 * the hub is unreachable the thread retries with backoff and jitter, and
 * the agent goes on enforcing what it has.
 */
struct agent_fetch;

int agent_fetch_start(struct agent_fetch **out, agent_link *link, const struct agent_state *state,
                      uint64_t after, int64_t wait_ms, void (*notify)(void *arg), void *arg);

/* 1 when a verified bundle waits: *bundle_out and *bytes_out (the signed
 * bytes, for the cache) become the caller's. 0 otherwise. */
int agent_fetch_take(struct agent_fetch *f, Gitfleet__Bundle **bundle_out,
                     unsigned char **bytes_out, size_t *len_out);

/* Why the last bundle was refused ("" when the last one was fine). */
void agent_fetch_refusal(struct agent_fetch *f, char *buf, size_t len);

/* Interrupt the long-poll (closes the link's socket) and join the thread. */
void agent_fetch_stop(struct agent_fetch *f);

#endif
