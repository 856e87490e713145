/* selector.c -- Kubernetes label selectors in their string form (kubectl -l), for status filters */
#include "selector.h"

#include "gitfleet/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define SELECTOR_MAX_TEXT   4096
#define SELECTOR_MAX_VALUES 64

enum op { OP_EQ, OP_NE, OP_EXISTS, OP_ABSENT, OP_IN, OP_NOTIN };

struct requirement {
    enum op op;
    char *key;
    char *values[SELECTOR_MAX_VALUES];
    size_t n_values;
};

struct hub_selector {
    struct requirement *reqs;
    size_t n;
};

struct parser {
    const char *text, *p;
};

static void skip_space(struct parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t')
        ps->p++;
}

static int is_word(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' || c == '/';
}

/* A key or value: letters, digits, - _ . / (values may be empty). */
static char *word(struct parser *ps)
{
    const char *start;

    skip_space(ps);
    start = ps->p;
    while (is_word(*ps->p))
        ps->p++;
    return strndup(start, (size_t)(ps->p - start));
}

static int fail(struct parser *ps, const char *what)
{
    return gf_error_set(GF_EINVAL, "selector '%s': %s at position %zu", ps->text, what,
                        (size_t)(ps->p - ps->text) + 1);
}

static int parse_set(struct parser *ps, struct requirement *r)
{
    skip_space(ps);
    if (*ps->p != '(')
        return fail(ps, "expected '('");
    ps->p++;
    for (;;) {
        if (r->n_values == SELECTOR_MAX_VALUES)
            return fail(ps, "too many values");
        r->values[r->n_values++] = word(ps);
        skip_space(ps);
        if (*ps->p == ')') {
            ps->p++;
            return 0;
        }
        if (*ps->p != ',')
            return fail(ps, "expected ',' or ')'");
        ps->p++;
    }
}

static int parse_operator(struct parser *ps, struct requirement *r)
{
    skip_space(ps);
    if (*ps->p == '\0' || *ps->p == ',') {
        r->op = OP_EXISTS;
        return 0;
    }
    if (strncmp(ps->p, "!=", 2) == 0 || strncmp(ps->p, "==", 2) == 0 || *ps->p == '=') {
        r->op = *ps->p == '!' ? OP_NE : OP_EQ;
        ps->p += *ps->p == '=' && ps->p[1] != '=' ? 1 : 2;
        r->values[r->n_values++] = word(ps);
        return 0;
    }
    if (strncmp(ps->p, "notin", 5) == 0 && !is_word(ps->p[5])) {
        r->op = OP_NOTIN;
        ps->p += 5;
        return parse_set(ps, r);
    }
    if (strncmp(ps->p, "in", 2) == 0 && !is_word(ps->p[2])) {
        r->op = OP_IN;
        ps->p += 2;
        return parse_set(ps, r);
    }
    return fail(ps, "expected =, ==, !=, in or notin");
}

static int parse_requirement(struct parser *ps, struct requirement *r)
{
    skip_space(ps);
    int absent = *ps->p == '!';
    if (absent)
        ps->p++;
    r->key = word(ps);
    if (r->key == NULL || r->key[0] == '\0')
        return fail(ps, "expected a label key");
    if (absent) {
        r->op = OP_ABSENT;
        return 0;
    }
    return parse_operator(ps, r);
}

int hub_selector_parse(hub_selector **out, const char *text)
{
    struct parser ps = {.text = text, .p = text};
    hub_selector *sel;
    int error = 0;

    *out = NULL;
    if (strlen(text) > SELECTOR_MAX_TEXT)
        return gf_error_set(GF_EINVAL, "selector: longer than %d bytes", SELECTOR_MAX_TEXT);
    if ((sel = calloc(1, sizeof(*sel))) == NULL ||
        (sel->reqs = calloc(strlen(text) / 2 + 1, sizeof(*sel->reqs))) == NULL) {
        free(sel);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    skip_space(&ps);
    while (error == 0 && *ps.p != '\0') {
        error = parse_requirement(&ps, &sel->reqs[sel->n++]);
        skip_space(&ps);
        if (error == 0 && *ps.p == ',') {
            ps.p++;
            skip_space(&ps);
            if (*ps.p == '\0')
                error = fail(&ps, "expected a requirement after ','");
        } else if (error == 0 && *ps.p != '\0')
            error = fail(&ps, "expected ','");
    }
    if (error < 0) {
        hub_selector_free(sel);
        return error;
    }
    *out = sel;
    return 0;
}

static int in_values(const struct requirement *r, const char *v)
{
    for (size_t i = 0; i < r->n_values; i++)
        if (strcmp(r->values[i], v) == 0)
            return 1;
    return 0;
}

int hub_selector_matches(const hub_selector *sel, const json_t *labels)
{
    for (size_t i = 0; sel && i < sel->n; i++) {
        const struct requirement *r = &sel->reqs[i];
        const char *v = json_string_value(json_object_get(labels, r->key));
        int ok;
        switch (r->op) {
        case OP_EQ:
        case OP_IN:
            ok = v != NULL && in_values(r, v);
            break;
        case OP_NE:
        case OP_NOTIN:
            ok = v == NULL || !in_values(r, v);
            break;
        case OP_EXISTS:
            ok = v != NULL;
            break;
        default:
            ok = v == NULL;
        }
        if (!ok)
            return 0;
    }
    return 1;
}

void hub_selector_free(hub_selector *sel)
{
    if (sel == NULL)
        return;
    for (size_t i = 0; i < sel->n; i++) {
        free(sel->reqs[i].key);
        for (size_t k = 0; k < sel->reqs[i].n_values; k++)
            free(sel->reqs[i].values[k]);
    }
    free(sel->reqs);
    free(sel);
}
