/* retry.h -- syncPolicy.retry as Argo CD reads it: when to retry a failed sync, and after how long
 */
#ifndef GF_AGENT_RETRY_H
#define GF_AGENT_RETRY_H

#include <jansson.h>

/* Argo CD's defaults when `backoff` or one of its fields is absent. */
#define AGENT_RETRY_DEFAULT_DURATION     5.0 /* seconds */
#define AGENT_RETRY_DEFAULT_FACTOR       2
#define AGENT_RETRY_DEFAULT_MAX_DURATION 180.0 /* seconds (3m) */

struct agent_retry {
    long long limit;     /* retries allowed after a failed attempt; < 0: no limit; 0: none */
    double duration;     /* backoff.duration in seconds: the wait before the first retry */
    long long factor;    /* backoff.factor: each retry waits factor times longer */
    double max_duration; /* backoff.maxDuration in seconds; 0: no cap */
};

/*
 * Read an Argo CD `retry` object ({"limit": 5, "backoff": {"duration":
 * "5s", "factor": 2, "maxDuration": "3m"}}), borrowed. NULL or JSON null
 * means no retry policy: limit 0. Durations are Argo CD's: a bare integer is
 * seconds ("30"), otherwise a Go duration ("1m30s", "1.5h", "300ms").
 * Returns 0 or GF_EINVAL with the offending field in the message (unknown
 * fields, a non-integer factor < 1, a negative or malformed duration).
 */
int agent_retry_parse(struct agent_retry *out, const json_t *retry);

/* Parse one Argo CD duration into seconds. 0 or GF_EINVAL. */
int agent_retry_parse_duration(double *out, const char *text);

/*
 * Seconds to wait before the next attempt when `retries_done` retries have
 * already run (0 for the first retry): duration * factor^retries_done,
 * capped at max_duration when that is > 0 (Argo CD's NextRetryAt).
 */
double agent_retry_delay(const struct agent_retry *retry, long long retries_done);

/* 1 when another retry is allowed after `retries_done` retries (limit < 0
 * or retries_done < limit), 0 when the sync has to give up. */
int agent_retry_allowed(const struct agent_retry *retry, long long retries_done);

#endif
