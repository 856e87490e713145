/* retry.c -- syncPolicy.retry: Argo CD's backoff formula and Go duration strings */
#include "retry.h"
#include "gitfleet/error.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Go's time.ParseDuration units, in seconds. "µs" is two bytes in UTF-8. */
static const struct {
    const char *name;
    double seconds;
} units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"\xce\xbcs", 1e-6},
             {"ms", 1e-3}, {"s", 1.0},   {"m", 60.0},         {"h", 3600.0}};

/* The unit at `p` (longest match first: "ms" before "m"); its length in *len. */
static double unit_at(const char *p, size_t *len)
{
    double best = 0;

    *len = 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        size_t n = strlen(units[i].name);
        if (n > *len && strncmp(p, units[i].name, n) == 0 && !isalpha((unsigned char)p[n])) {
            *len = n;
            best = units[i].seconds;
        }
    }
    return best;
}

/* A Go duration without sign: one or more <decimal><unit> pairs, or "0". */
static int parse_go_duration(double *out, const char *text)
{
    const char *p = text;
    double total = 0;

    if (strcmp(text, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (*p == '\0')
        return -1;
    while (*p != '\0') {
        char *end;
        size_t ulen;
        double unit, value;

        if (!isdigit((unsigned char)*p) && *p != '.')
            return -1;
        value = strtod(p, &end);
        if (end == p || (end - p == 1 && *p == '.'))
            return -1;
        unit = unit_at(end, &ulen);
        if (ulen == 0)
            return -1;
        total += value * unit;
        p = end + ulen;
    }
    *out = total;
    return 0;
}

int agent_retry_parse_duration(double *out, const char *text)
{
    char *end;
    long long secs;

    if (text == NULL)
        return gf_error_set(GF_EINVAL, "duration: expected a string");
    /* Argo CD tries a plain integer (seconds) before time.ParseDuration. */
    secs = strtoll(text, &end, 10);
    if (end != text && *end == '\0' && isdigit((unsigned char)text[strlen(text) - 1])) {
        if (secs < 0)
            return gf_error_set(GF_EINVAL, "duration \"%s\": negative", text);
        *out = (double)secs;
        return 0;
    }
    if (text[0] == '-')
        return gf_error_set(GF_EINVAL, "duration \"%s\": negative", text);
    if (parse_go_duration(out, text[0] == '+' ? text + 1 : text) < 0 || !isfinite(*out))
        return gf_error_set(
            GF_EINVAL, "duration \"%s\": expected seconds (\"30\") or a Go duration (\"1m30s\")",
            text);
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
