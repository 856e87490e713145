/* strategy.c -- an ApplicationSet's rollout strategy: Argo CD's RollingSync plus gitfleet's gates
 */
#include "strategy.h"

#include "gitfleet/config.h"
#include "gitfleet/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRATEGY_MAX_STEPS 64
#define ANNOTATION_PREFIX  "gitfleet.io/rollout-"

void hub_strategy_clear(struct hub_strategy *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_steps; i++)
        json_decref(s->steps[i].match_expressions);
    free(s->steps);
    memset(s, 0, sizeof(*s));
}

/* "25%" or 3 (or "3"): Argo CD's IntOrString. */
static int parse_quantity(struct hub_quantity *out, const json_t *v, const char *field)
{
    const char *text;
    char *end;
    long long n;

    if (json_is_integer(v)) {
        out->percent = 0;
        out->value = json_integer_value(v);
        if (out->value < 0)
            return gf_error_set(GF_EINVAL, "%s: %lld is negative", field, (long long)out->value);
        return 0;
    }
    if (!json_is_string(v))
        return gf_error_set(GF_EINVAL, "%s: expected an integer or a percentage", field);
    text = json_string_value(v);
    errno = 0;
    n = strtoll(text, &end, 10);
    if (end == text || errno != 0 || n < 0 || (*end != '\0' && strcmp(end, "%") != 0))
        return gf_error_set(GF_EINVAL, "%s: '%s' is not an integer or a percentage", field, text);
    out->percent = *end == '%';
    out->value = n;
    if (out->percent && n > 100)
        return gf_error_set(GF_EINVAL, "%s: '%s' is over 100%%", field, text);
    return 0;
}

static int check_expression(const json_t *expr, const char *field)
{
    const char *key = json_string_value(json_object_get(expr, "key"));
    const char *op = json_string_value(json_object_get(expr, "operator"));
    const json_t *values = json_object_get(expr, "values"), *v;
    size_t i;

    if (!json_is_object(expr) || key == NULL || op == NULL)
        return gf_error_set(GF_EINVAL, "%s: key and operator are needed", field);
    if (strcmp(op, "In") != 0 && strcmp(op, "NotIn") != 0)
        return gf_error_set(GF_EINVAL, "%s.operator: '%s', expected In or NotIn", field, op);
    if (!json_is_array(values))
        return gf_error_set(GF_EINVAL, "%s.values: expected a list", field);
    json_array_foreach(values, i, v)
    {
        if (!json_is_string(v))
            return gf_error_set(GF_EINVAL, "%s.values[%zu]: expected a string", field, i);
    }
    return 0;
}

static int parse_step(struct hub_rollout_step *step, const json_t *obj, size_t index)
{
    const json_t *exprs = json_object_get(obj, "matchExpressions"), *e, *max;
    char field[160];
    size_t i;
    int error;

    snprintf(field, sizeof(field), "spec.strategy.rollingSync.steps[%zu]", index);
    if (!json_is_object(obj))
        return gf_error_set(GF_EINVAL, "%s: expected a mapping", field);
    if (exprs != NULL && !json_is_array(exprs))
        return gf_error_set(GF_EINVAL, "%s.matchExpressions: expected a list", field);
    json_array_foreach(exprs, i, e)
    {
        char sub[200];
        snprintf(sub, sizeof(sub), "%s.matchExpressions[%zu]", field, i);
        if ((error = check_expression(e, sub)) < 0)
            return error;
    }
    step->match_expressions = exprs ? json_incref((json_t *)exprs) : json_array();
    step->max_update = (struct hub_quantity){.percent = 1, .value = 100};
    if ((max = json_object_get(obj, "maxUpdate")) != NULL) {
        strncat(field, ".maxUpdate", sizeof(field) - strlen(field) - 1);
        if ((error = parse_quantity(&step->max_update, max, field)) < 0)
            return error;
    }
    return 0;
}

/* The index-th entry of a comma list ("30s,2m"), the last one past its end. */
static int list_entry(char *out, size_t cap, const char *list, size_t index)
{
    const char *p = list, *comma;
    size_t n = 0;

    while ((comma = strchr(p, ',')) != NULL && n < index) {
        p = comma + 1;
        n++;
    }
    comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    while (len > 0 && isspace((unsigned char)p[len - 1]))
        len--;
    while (len > 0 && isspace((unsigned char)*p)) {
        p++;
        len--;
    }
    if (len == 0 || len >= cap)
        return gf_error_set(GF_EINVAL, "empty or overlong entry");
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

static const char *annotation(const json_t *appset, const char *name)
{
    const json_t *ann = json_object_get(json_object_get(appset, "metadata"), "annotations");
    char key[96];

    snprintf(key, sizeof(key), ANNOTATION_PREFIX "%s", name);
    return json_string_value(json_object_get(ann, key));
}

/* A per-step duration annotation into each step's field at `offset`. */
static int per_step_durations(struct hub_strategy *s, const json_t *appset, const char *name,
                              size_t offset)
{
    const char *list = annotation(appset, name);
    char entry[64];
    int error;

    if (list == NULL)
        return 0;
    for (size_t i = 0; i < s->n_steps; i++) {
        int64_t *ms = (int64_t *)((char *)&s->steps[i] + offset);
        if ((error = list_entry(entry, sizeof(entry), list, i)) < 0 ||
            (error = gf_duration_parse(ms, entry)) < 0)
            return gf_error_set(GF_EINVAL,
                                "metadata.annotations." ANNOTATION_PREFIX "%s: '%s': %s "
                                "(durations such as 30s, 5m, 1h30m, comma-separated per step)",
                                name, list, gf_error_last());
    }
    return 0;
}

static int per_step_failures(struct hub_strategy *s, const json_t *appset)
{
    const char *list = annotation(appset, "max-failures");
    char entry[64];
    int error;

    if (list == NULL)
        return 0;
    for (size_t i = 0; i < s->n_steps; i++) {
        json_t *text;
        if ((error = list_entry(entry, sizeof(entry), list, i)) < 0)
            return gf_error_set(GF_EINVAL,
                                "metadata.annotations." ANNOTATION_PREFIX "max-failures: '%s': "
                                "empty entry",
                                list);
        text = json_string(entry);
        error = parse_quantity(&s->steps[i].max_failures, text,
                               "metadata.annotations." ANNOTATION_PREFIX "max-failures");
        json_decref(text);
        if (error < 0)
            return error;
    }
    return 0;
}

static int parse_annotations(struct hub_strategy *s, const json_t *appset)
{
    const char *policy = annotation(appset, "failure-policy");
    int error;

    for (size_t i = 0; i < s->n_steps; i++)
        s->steps[i].deadline_ms = HUB_STRATEGY_DEFAULT_DEADLINE_MS;
    if ((error = per_step_durations(s, appset, "bake-time",
                                    offsetof(struct hub_rollout_step, bake_ms))) < 0 ||
        (error = per_step_durations(s, appset, "progress-deadline",
                                    offsetof(struct hub_rollout_step, deadline_ms))) < 0 ||
        (error = per_step_failures(s, appset)) < 0)
        return error;
    if (policy == NULL || strcmp(policy, "halt") == 0)
        s->failure_policy = HUB_FAILURE_HALT;
    else if (strcmp(policy, "rollback") == 0)
        s->failure_policy = HUB_FAILURE_ROLLBACK;
    else
        return gf_error_set(GF_EINVAL,
                            "metadata.annotations." ANNOTATION_PREFIX
                            "failure-policy: '%s', expected halt or rollback",
                            policy);
    return 0;
}

static int parse_rolling(struct hub_strategy *s, const json_t *strategy, const json_t *appset)
{
    const json_t *steps = json_object_get(json_object_get(strategy, "rollingSync"), "steps"), *st;
    size_t i;
    int error;

    if (steps == NULL)
        return 0; /* RollingSync without steps: Argo CD treats it as AllAtOnce */
    if (!json_is_array(steps))
        return gf_error_set(GF_EINVAL, "spec.strategy.rollingSync.steps: expected a list");
    if (json_array_size(steps) > STRATEGY_MAX_STEPS)
        return gf_error_set(GF_ETOOBIG, "spec.strategy.rollingSync.steps: %zu steps, at most %d",
                            json_array_size(steps), STRATEGY_MAX_STEPS);
    if (json_array_size(steps) == 0)
        return 0;
    if ((s->steps = calloc(json_array_size(steps), sizeof(*s->steps))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    json_array_foreach(steps, i, st)
    {
        s->n_steps = i + 1;
        if ((error = parse_step(&s->steps[i], st, i)) < 0)
            return error;
    }
    s->rolling = 1;
    return parse_annotations(s, appset);
}

int hub_strategy_parse(struct hub_strategy *out, const json_t *appset)
{
    const json_t *strategy = json_object_get(json_object_get(appset, "spec"), "strategy");
    const char *type, *order;
    int error = 0;

    memset(out, 0, sizeof(*out));
    if (strategy == NULL)
        return 0;
    if (!json_is_object(strategy))
        return gf_error_set(GF_EINVAL, "spec.strategy: expected a mapping");
    type = json_string_value(json_object_get(strategy, "type"));
    order = json_string_value(json_object_get(strategy, "deletionOrder"));
    if (order != NULL && strcmp(order, "Reverse") != 0 && strcmp(order, "AllAtOnce") != 0)
        return gf_error_set(
            GF_EINVAL, "spec.strategy.deletionOrder: '%s', expected AllAtOnce or Reverse", order);
    if (type == NULL || strcmp(type, "AllAtOnce") == 0)
        return 0;
    if (strcmp(type, "RollingSync") != 0)
        return gf_error_set(GF_EINVAL,
                            "spec.strategy.type: '%s', expected AllAtOnce or RollingSync", type);
    if ((error = parse_rolling(out, strategy, appset)) < 0) {
        hub_strategy_clear(out);
        return error;
    }
    out->deletion_reverse = out->rolling && order != NULL && strcmp(order, "Reverse") == 0;
    return 0;
}

static int value_listed(const json_t *values, const char *have)
{
    const json_t *v;
    size_t i;

    json_array_foreach(values, i, v)
    {
        if (strcmp(json_string_value(v), have) == 0)
            return 1;
    }
    return 0;
}

static int step_selects(const struct hub_rollout_step *step, const json_t *labels)
{
    const json_t *e;
    size_t i;

    json_array_foreach(step->match_expressions, i, e)
    {
        const char *key = json_string_value(json_object_get(e, "key"));
        const char *have = json_string_value(json_object_get(labels, key));
        int in = strcmp(json_string_value(json_object_get(e, "operator")), "In") == 0;
        int listed = have != NULL && value_listed(json_object_get(e, "values"), have);
        if (in ? !listed : listed)
            return 0;
    }
    return 1;
}

int hub_strategy_step_of(const struct hub_strategy *s, const json_t *labels)
{
    for (size_t i = 0; i < s->n_steps; i++)
        if (step_selects(&s->steps[i], labels))
            return (int)i;
    return -1;
}

static size_t quantity_of(const struct hub_quantity *q, size_t n_apps, int floor_one)
{
    size_t n;

    if (!q->percent)
        return (size_t)q->value;
    n = (size_t)(n_apps * (uint64_t)q->value / 100);
    if (n == 0 && q->value > 0 && floor_one)
        n = 1;
    return n;
}

size_t hub_strategy_max_update(const struct hub_quantity *max_update, size_t n_apps)
{
    return quantity_of(max_update, n_apps, 1);
}

size_t hub_strategy_max_failures(const struct hub_quantity *max_failures, size_t n_apps)
{
    return quantity_of(max_failures, n_apps, 0);
}
