/* faults.c -- injected failures: status codes, delays and dropped connections per verb/resource */
#include "faults.h"

#include "gitfleet/error.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *rules; /* array of rule objects with a "remaining" member (-1: unlimited) */

static int get_int(const json_t *rule, const json_t *action, const char *key)
{
    json_t *v = json_object_get(action, key);
    if (v == NULL)
        v = json_object_get(rule, key);
    return (int)json_integer_value(v);
}

int ks_faults_add(const json_t *rule)
{
    const json_t *action = json_object_get(rule, "action");
    if (!json_is_object(rule))
        return gf_error_set(GF_EINVAL, "a fault rule must be a JSON object");
    if (!json_is_object(action))
        action = rule;
    json_t *r = json_pack("{s:s,s:s,s:i,s:i,s:i,s:b,s:i}", "verb",
                          json_string_value(json_object_get(rule, "verb")) != NULL
                              ? json_string_value(json_object_get(rule, "verb"))
                              : "*",
                          "resource",
                          json_string_value(json_object_get(rule, "resource")) != NULL
                              ? json_string_value(json_object_get(rule, "resource"))
                              : "*",
                          "status", get_int(rule, action, "status"), "retryAfterSeconds",
                          get_int(rule, action, "retryAfterSeconds"), "delayMs",
                          get_int(rule, action, "delayMs"), "drop",
                          json_is_true(json_object_get(action, "drop")) ||
                              json_is_true(json_object_get(rule, "drop")),
                          "remaining",
                          get_int(rule, action, "count") > 0 ? get_int(rule, action, "count") : -1);
    int status = (int)json_integer_value(json_object_get(r, "status"));
    if ((status != 0 && (status < 100 || status > 599)) ||
        (status == 0 && !json_is_true(json_object_get(r, "drop")) &&
         json_integer_value(json_object_get(r, "delayMs")) <= 0)) {
        json_decref(r);
        return gf_error_set(GF_EINVAL, "a fault needs a status (100-599), delayMs or drop");
    }
    pthread_mutex_lock(&mu);
    if (rules == NULL)
        rules = json_array();
    json_array_append_new(rules, r);
    pthread_mutex_unlock(&mu);
    return 0;
}

void ks_faults_clear(void)
{
    pthread_mutex_lock(&mu);
    json_decref(rules);
    rules = NULL;
    pthread_mutex_unlock(&mu);
}

json_t *ks_faults_list(void)
{
    pthread_mutex_lock(&mu);
    json_t *out = rules != NULL ? json_deep_copy(rules) : json_array();
    pthread_mutex_unlock(&mu);
    return out;
}

static int field_matches(const json_t *r, const char *key, const char *a, const char *b)
{
    const char *want = json_string_value(json_object_get(r, key));
    return strcmp(want, "*") == 0 || strcasecmp(want, a) == 0 ||
           (b != NULL && strcasecmp(want, b) == 0);
}

int ks_faults_match(struct ks_fault_action *out, const char *verb, const char *method,
                    const char *resource)
{
    size_t i;
    json_t *r;
    int hit = 0;

    pthread_mutex_lock(&mu);
    json_array_foreach(rules, i, r)
    {
        if (!field_matches(r, "verb", verb, method) ||
            !field_matches(r, "resource", resource, NULL))
            continue;
        json_int_t left = json_integer_value(json_object_get(r, "remaining"));
        out->status = (int)json_integer_value(json_object_get(r, "status"));
        out->retry_after = (int)json_integer_value(json_object_get(r, "retryAfterSeconds"));
        out->delay_ms = (int)json_integer_value(json_object_get(r, "delayMs"));
        out->drop = json_is_true(json_object_get(r, "drop"));
        if (left > 0)
            json_object_set_new(r, "remaining", json_integer(left - 1));
        if (left == 1)
            json_array_remove(rules, i);
        hit = 1;
        break;
    }
    pthread_mutex_unlock(&mu);
    return hit;
}
