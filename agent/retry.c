/* retry.c -- syncPolicy.retry: Argo CD's backoff formula and Go duration strings */
#include "retry.h"

#include "gitfleet/config.h"
#include "gitfleet/error.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int agent_retry_parse_duration(double *out, const char *text)
{
    double ms;

    if (text == NULL)
        return gf_error_set(GF_EINVAL, "duration: expected a string");
    if (gf_duration_parse_argo(&ms, text) < 0)
        return gf_error_set(
            GF_EINVAL, "duration \"%s\": expected seconds (\"30\") or a Go duration (\"1m30s\")",
            text);
    *out = ms / 1000.0;
    return 0;
}

static int parse_duration_field(double *out, const json_t *backoff, const char *name)
{
    const json_t *v = json_object_get(backoff, name);

    if (v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return 0; /* keep the default, as Argo CD does for "" */
    if (!json_is_string(v))
        return gf_error_set(GF_EINVAL, "retry.backoff.%s: expected a duration string", name);
    if (agent_retry_parse_duration(out, json_string_value(v)) < 0)
        return gf_error_wrap(GF_EINVAL, "retry.backoff.%s", name);
    return 0;
}

static int check_keys(const json_t *obj, const char *where, const char *const *known)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v)
    {
        int ok = 0;
        for (size_t i = 0; known[i] != NULL; i++)
            ok |= strcmp(key, known[i]) == 0;
        if (!ok)
            return gf_error_set(GF_EINVAL, "%s: unknown field \"%s\"", where, key);
    }
    return 0;
}

static int parse_backoff(struct agent_retry *out, const json_t *backoff)
{
    static const char *const known[] = {"duration", "factor", "maxDuration", NULL};
    const json_t *factor;

    if (backoff == NULL || json_is_null(backoff))
        return 0;
    if (!json_is_object(backoff))
        return gf_error_set(GF_EINVAL, "retry.backoff: expected an object");
    if (check_keys(backoff, "retry.backoff", known) < 0 ||
        parse_duration_field(&out->duration, backoff, "duration") < 0 ||
        parse_duration_field(&out->max_duration, backoff, "maxDuration") < 0)
        return GF_EINVAL;
    factor = json_object_get(backoff, "factor");
    if (factor == NULL || json_is_null(factor))
        return 0;
    /* Argo CD's factor is an int64; 0 or negative would shrink or flip the delay. */
    if (!json_is_integer(factor) || json_integer_value(factor) < 1)
        return gf_error_set(GF_EINVAL, "retry.backoff.factor: expected an integer >= 1");
    out->factor = json_integer_value(factor);
    return 0;
}

int agent_retry_parse(struct agent_retry *out, const json_t *retry)
{
    static const char *const known[] = {"limit", "backoff", "refresh", NULL};
    const json_t *limit;

    out->limit = 0;
    out->duration = AGENT_RETRY_DEFAULT_DURATION;
    out->factor = AGENT_RETRY_DEFAULT_FACTOR;
    out->max_duration = AGENT_RETRY_DEFAULT_MAX_DURATION;
    if (retry == NULL || json_is_null(retry))
        return 0;
    if (!json_is_object(retry))
        return gf_error_set(GF_EINVAL, "retry: expected an object");
    if (check_keys(retry, "retry", known) < 0)
        return GF_EINVAL;
    limit = json_object_get(retry, "limit");
    if (limit != NULL && !json_is_null(limit)) {
        if (!json_is_integer(limit))
            return gf_error_set(GF_EINVAL, "retry.limit: expected an integer");
        out->limit = json_integer_value(limit);
    }
    return parse_backoff(out, json_object_get(retry, "backoff"));
}

double agent_retry_delay(const struct agent_retry *retry, long long retries_done)
{
    double wait;

    if (retries_done < 0)
        retries_done = 0;
    /* duration * factor^n without libm; stop early once past any cap, since
     * Go's time.Duration tops out near 292 years (9.2e9 s) anyway. */
    wait = retry->duration;
    for (long long i = 0; i < retries_done && wait <= 9.2e9; i++)
        wait *= (double)retry->factor;
    if (retry->max_duration > 0 && wait > retry->max_duration)
        wait = retry->max_duration;
    if (wait > 9.2e9)
        wait = 9.2e9;
    return wait;
}

int agent_retry_allowed(const struct agent_retry *retry, long long retries_done)
{
    return retry->limit < 0 || retries_done < retry->limit;
}
