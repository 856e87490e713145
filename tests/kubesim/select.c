/* select.c -- label selectors (=, ==, !=, in, notin, exists, !exists) and field selectors */
#include "select.h"

#include "gitfleet/error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TERM 1024

/* Copy the next comma-separated term (commas inside parentheses do not
 * split) into term; returns the rest or NULL at the end. */
static const char *next_term(const char *s, char *term, size_t n)
{
    size_t o = 0;
    int depth = 0;

    if (*s == '\0')
        return NULL;
    for (; *s != '\0' && (depth > 0 || *s != ','); s++) {
        if (*s == '(')
            depth++;
        else if (*s == ')')
            depth--;
        if (o + 1 < n)
            term[o++] = *s;
    }
    term[o] = '\0';
    return *s == ',' ? s + 1 : s;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Is `value` one of "(a, b, c)"? */
static int in_set(const char *set, const char *value)
{
    char buf[MAX_TERM];
    snprintf(buf, sizeof(buf), "%s", set);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
        if (strcmp(trim(tok), value) == 0)
            return 1;
    return 0;
}

static int set_term(char *t, const char *op_word, const char **value_out, char **key_out, int *neg)
{
    size_t wl = strlen(op_word);
    char *p = strstr(t, op_word);
    while (p != NULL && (p == t || !isspace((unsigned char)p[-1]) ||
                         !(isspace((unsigned char)p[wl]) || p[wl] == '(')))
        p = strstr(p + 1, op_word);
    if (p == NULL)
        return 0;
    *p = '\0';
    char *set = trim(p + wl);
    size_t n = strlen(set);
    if (n < 2 || set[0] != '(' || set[n - 1] != ')')
        return -1;
    set[n - 1] = '\0';
    *key_out = trim(t);
    *value_out = set + 1;
    *neg = op_word[0] == 'n';
    return 1;
}

static int match_term(char *t, const json_t *labels)
{
    const char *set;
    char *key;
    int neg, r;

    t = trim(t);
    if ((r = set_term(t, "notin", &set, &key, &neg)) != 0 ||
        (r = set_term(t, "in", &set, &key, &neg)) != 0) {
        if (r < 0)
            return gf_error_set(GF_EINVAL, "unable to parse requirement: %s", t);
        const char *v = json_string_value(json_object_get(labels, key));
        return neg ? v == NULL || !in_set(set, v) : v != NULL && in_set(set, v);
    }
    char *op = strpbrk(t, "!=");
    if (t[0] == '!')
        return json_object_get(labels, trim(t + 1)) == NULL;
    if (op == NULL)
        return json_object_get(labels, t) != NULL;
    neg = op[0] == '!';
    if (neg && op[1] != '=')
        return gf_error_set(GF_EINVAL, "unable to parse requirement: %s", t);
    char *val = op + (neg ? 2 : (op[1] == '=' ? 2 : 1));
    *op = '\0';
    key = trim(t);
    val = trim(val);
    const char *v = json_string_value(json_object_get(labels, key));
    return neg ? v == NULL || strcmp(v, val) != 0 : v != NULL && strcmp(v, val) == 0;
}

int ks_select_labels(const char *sel, const json_t *obj)
{
    char term[MAX_TERM];
    json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");

    if (sel == NULL)
        return 1;
    while ((sel = next_term(sel, term, sizeof(term))) != NULL) {
        if (trim(term)[0] == '\0')
            continue;
        int r = match_term(term, labels);
        if (r <= 0)
            return r;
    }
    return 1;
}

/* The value at a dotted path as text ("" when absent). */
static void field_text(char *out, size_t n, const json_t *obj, const char *path)
{
    char buf[MAX_TERM], *save = NULL;
    const json_t *cur = obj;

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *tok = strtok_r(buf, ".", &save); tok != NULL && cur != NULL;
         tok = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, tok);
    if (json_is_string(cur))
        snprintf(out, n, "%s", json_string_value(cur));
    else if (json_is_integer(cur))
        snprintf(out, n, "%lld", (long long)json_integer_value(cur));
    else if (json_is_boolean(cur))
        snprintf(out, n, "%s", json_is_true(cur) ? "true" : "false");
    else
        out[0] = '\0';
}

int ks_select_fields(const char *sel, const json_t *obj)
{
    char term[MAX_TERM], have[MAX_TERM];

    if (sel == NULL)
        return 1;
    while ((sel = next_term(sel, term, sizeof(term))) != NULL) {
        char *t = trim(term), *op = strpbrk(t, "!=");
        if (t[0] == '\0')
            continue;
        if (op == NULL)
            return gf_error_set(GF_EINVAL, "invalid selector: '%s'; can't understand '%s'", t, t);
        int neg = op[0] == '!';
        char *val = trim(op + (neg || op[1] == '=' ? 2 : 1));
        *op = '\0';
        field_text(have, sizeof(have), obj, trim(t));
        if ((strcmp(have, val) == 0) == neg)
            return 0;
    }
    return 1;
}

void ks_select_format(char *buf, size_t n, const json_t *selector)
{
    const char *k;
    json_t *v, *e;
    size_t o = 0, i;

    buf[0] = '\0';
    json_object_foreach(json_object_get(selector, "matchLabels"), k, v) if (o < n) o +=
        (size_t)snprintf(buf + o, n - o, "%s%s=%s", o ? "," : "", k, json_string_value(v));
    json_array_foreach(json_object_get(selector, "matchExpressions"), i, e)
    {
        const char *key = json_string_value(json_object_get(e, "key"));
        const char *op = json_string_value(json_object_get(e, "operator"));
        if (key == NULL || op == NULL || o >= n)
            continue;
        if (strcmp(op, "Exists") == 0) {
            o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? "," : "", key);
        } else if (strcmp(op, "DoesNotExist") == 0) {
            o += (size_t)snprintf(buf + o, n - o, "%s!%s", o ? "," : "", key);
        } else {
            size_t j;
            json_t *val;
            o += (size_t)snprintf(buf + o, n - o, "%s%s %s (", o ? "," : "", key,
                                  strcmp(op, "In") == 0 ? "in" : "notin");
            json_array_foreach(json_object_get(e, "values"), j, val) if (o < n) o +=
                (size_t)snprintf(buf + o, n - o, "%s%s", j ? "," : "", json_string_value(val));
            if (o < n)
                o += (size_t)snprintf(buf + o, n - o, ")");
        }
    }
}
