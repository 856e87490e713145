/* drift.c -- compare the fields Git sets with the live object, as Kubernetes sees equality */
#include "drift.h"
#include "gitfleet/base64.h"
#include "gitfleet/error.h"
#include "gitfleet/k8s_schema.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH  100
#define MAX_DIGITS 96

/* --- quantities --------------------------------------------------------- */

/* A quantity as sign * digits * 10^exp, digits without leading or trailing zeros. */
struct qty {
    int neg;
    char digits[MAX_DIGITS + 8];
    int exp;
};

/* digits *= 1024, in place (decimal string). */
static int times_1024(char *digits)
{
    size_t n = strlen(digits);
    unsigned carry = 0;
    char tmp[MAX_DIGITS + 8];
    size_t len = 0;

    for (size_t i = n; i-- > 0;) {
        unsigned v = (unsigned)(digits[i] - '0') * 1024 + carry;
        tmp[len++] = (char)('0' + v % 10);
        carry = v / 10;
    }
    for (; carry; carry /= 10)
        tmp[len++] = (char)('0' + carry % 10);
    if (len > MAX_DIGITS)
        return -1;
    for (size_t i = 0; i < len; i++)
        digits[i] = tmp[len - 1 - i];
    digits[len] = '\0';
    return 0;
}

static void normalize(struct qty *q)
{
    char *d = q->digits;
    size_t lead = strspn(d, "0"), n;

    memmove(d, d + lead, strlen(d + lead) + 1);
    n = strlen(d);
    while (n > 0 && d[n - 1] == '0') {
        d[--n] = '\0';
        q->exp++;
    }
    if (n == 0) {
        q->neg = 0;
        q->exp = 0;
    }
}

/* The suffix after the number: binary (Ki..Ei), decimal (n..E) or e<int>. */
static int parse_suffix(struct qty *q, const char *s)
{
    static const char bin[] = "KMGTPE", dec[] = "num kMGTPE";
    static const int dec_exp[] = {-9, -6, -3, 0, 3, 6, 9, 12, 15, 18};
    const char *p;

    if (*s == '\0')
        return 0;
    if (s[1] == 'i' && s[2] == '\0' && (p = strchr(bin, s[0])) != NULL) {
        for (long k = 0; k <= p - bin; k++)
            if (times_1024(q->digits) < 0)
                return -1;
        return 0;
    }
    if (s[1] == '\0' && s[0] != ' ' && (p = strchr(dec, s[0])) != NULL) {
        q->exp += dec_exp[p - dec];
        return 0;
    }
    if (s[0] == 'e' || s[0] == 'E') {
        char *end;
        long e = strtol(s + 1, &end, 10);
        if (end == s + 1 || *end != '\0' || !isdigit((unsigned char)end[-1]) || e < -1000 ||
            e > 1000)
            return -1;
        q->exp += (int)e;
        return 0;
    }
    return -1;
}

static int parse_quantity(struct qty *q, const char *s)
{
    size_t n = 0, frac = 0;
    int seen_dot = 0;

    memset(q, 0, sizeof(*q));
    if (*s == '+' || *s == '-')
        q->neg = *s++ == '-';
    for (; isdigit((unsigned char)*s) || (*s == '.' && !seen_dot); s++) {
        if (*s == '.') {
            seen_dot = 1;
            continue;
        }
        if (n >= MAX_DIGITS)
            return -1;
        q->digits[n++] = *s;
        frac += seen_dot;
    }
    if (n == 0)
        return -1;
    q->digits[n] = '\0';
    q->exp = -(int)frac;
    if (parse_suffix(q, s) < 0)
        return -1;
    normalize(q);
    return 0;
}

/* A JSON string or number as a quantity. */
static int json_quantity(struct qty *q, const json_t *v)
{
    char buf[64];

    if (json_is_string(v))
        return parse_quantity(q, json_string_value(v));
    if (json_is_integer(v))
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
    else
        return -1;
    return parse_quantity(q, buf);
}

static int qty_equal(const struct qty *a, const struct qty *b)
{
    return a->neg == b->neg && a->exp == b->exp && strcmp(a->digits, b->digits) == 0;
}

int agent_drift_quantity_equal(const char *a, const char *b)
{
    struct qty qa, qb;

    if (parse_quantity(&qa, a) < 0 || parse_quantity(&qb, b) < 0)
        return -1;
    return qty_equal(&qa, &qb);
}

/* --- where the walk is ---------------------------------------------------- */

enum seg_kind { SEG_FIELD, SEG_KEYED, SEG_INDEX, SEG_SETVAL };

struct seg {
    enum seg_kind kind;
    const char *name;        /* SEG_FIELD */
    size_t index;            /* list items: the index in the desired list */
    const json_t *desired;   /* the desired value at this segment */
    const json_t *live;      /* the live value here, NULL if none */
    const char *const *keys; /* SEG_KEYED: merge keys */
};

/* One compiled ignore path: a chain of steps. */
enum step_kind { STEP_FIELD, STEP_INDEX, STEP_ALL, STEP_SELECT };

struct step {
    enum step_kind kind;
    char *name;    /* STEP_FIELD; also matches the item at index atoi(name) when numeric */
    size_t index;  /* STEP_INDEX */
    char **sub;    /* STEP_SELECT: field chain, NULL-terminated */
    json_t *value; /* STEP_SELECT: the literal */
};

struct pattern {
    struct step *steps;
    size_t n;
};

struct rule {
    char *group, *kind, *name, *namespace_;
    struct pattern *patterns;
    size_t n_patterns;
    char **managers;
    size_t n_managers;
};

struct agent_drift_rules {
    struct rule *rules;
    size_t n;
};

struct walk {
    struct seg segs[MAX_DEPTH];
    size_t depth;
    const char *group, *kind;
    int builtin, secret;
    const struct pattern **patterns; /* of the rules matching this object */
    size_t n_patterns;
    const json_t **owned; /* fieldsV1 trees of the ignored managers */
    size_t n_owned;
    const json_t *root; /* the desired object */
    struct agent_drift *out;
    int error;
};

static int plain_key(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return 0;
    return 1;
}

static char *dump(const json_t *v)
{
    return v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
}

/* [name="web"] or [containerPort=80,protocol="TCP"]: the keys the desired item has. */
static void print_keyed(FILE *f, const struct seg *s)
{
    const char *sep = "";

    fputc('[', f);
    for (size_t k = 0; s->keys[k] != NULL; k++) {
        char *v = dump(json_object_get(s->desired, s->keys[k]));
        if (v == NULL)
            continue;
        fprintf(f, "%s%s=%s", sep, s->keys[k], v);
        sep = ",";
        free(v);
    }
    fputc(']', f);
}

static char *path_text(const struct walk *w)
{
    char *buf = NULL, *v;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (f == NULL)
        return NULL;
    for (size_t i = 0; i < w->depth; i++) {
        const struct seg *s = &w->segs[i];
        switch (s->kind) {
        case SEG_FIELD:
            if (plain_key(s->name)) {
                fprintf(f, ".%s", s->name);
            } else {
                json_t *k = json_string(s->name);
                v = dump(k);
                fprintf(f, "[%s]", v ? v : "?");
                free(v);
                json_decref(k);
            }
            break;
        case SEG_KEYED:
            print_keyed(f, s);
            break;
        case SEG_INDEX:
            fprintf(f, "[%zu]", s->index);
            break;
        case SEG_SETVAL:
            v = dump(s->desired);
            fprintf(f, "[=%s]", v ? v : "?");
            free(v);
            break;
        }
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int push(struct walk *w, enum seg_kind kind, const char *name, size_t index, const json_t *d,
                const json_t *l)
{
    struct seg *s;

    if (w->depth >= MAX_DEPTH) {
        w->error =
            gf_error_set(GF_ETOOBIG, "drift: object nested deeper than %d levels", MAX_DEPTH);
        return -1;
    }
    s = &w->segs[w->depth++];
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->name = name;
    s->index = index;
    s->desired = d;
    s->live = l;
    return 0;
}

static int report(struct walk *w, const json_t *d, const json_t *l)
{
    struct agent_drift *out = w->out;
    struct agent_drift_field *f;
    int redacted =
        w->secret && w->depth > 0 && w->segs[0].kind == SEG_FIELD &&
        (strcmp(w->segs[0].name, "data") == 0 || strcmp(w->segs[0].name, "stringData") == 0);

    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 8;
        struct agent_drift_field *fields = realloc(out->fields, cap * sizeof(*fields));
        if (fields == NULL)
            return w->error = gf_error_set(GF_ENOMEM, "out of memory");
        out->fields = fields;
        out->cap = cap;
    }
    f = &out->fields[out->n];
    memset(f, 0, sizeof(*f));
    f->path = path_text(w);
    f->redacted = redacted;
    if (!redacted) {
        f->desired = dump(d);
        f->live = dump(l);
    }
    if (f->path == NULL || (!redacted && ((d && !f->desired) || (l && !f->live)))) {
        free(f->path);
        free(f->desired);
        free(f->live);
        return w->error = gf_error_set(GF_ENOMEM, "out of memory");
    }
    out->n++;
    return 0;
}

/* --- equality ------------------------------------------------------------- */

static int is_empty(const json_t *v)
{
    return v == NULL || json_is_null(v) || json_is_false(v) ||
           (json_is_number(v) && json_number_value(v) == 0) ||
           (json_is_string(v) && json_string_length(v) == 0) ||
           (json_is_object(v) && json_object_size(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0);
}

/* Equal as JSON, as numbers (1 == 1.0), or as an int-or-string (80 == "80"). */
static int loose_equal(const json_t *a, const json_t *b)
{
    char buf[64];

    if (a == NULL || b == NULL)
        return a == b;
    if (json_equal(a, b))
        return 1;
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_is_string(a) && json_is_integer(b)) {
        const json_t *t = a;
        a = b;
        b = t;
    }
    if (json_is_integer(a) && json_is_string(b)) {
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(a));
        return strcmp(buf, json_string_value(b)) == 0;
    }
    return 0;
}

/* Is the value at the walk's position a quantity field of a built-in kind? */
static int in_quantity_field(const struct walk *w)
{
    static const char *const maps[] = {
        "limits", "requests", "hard",    "capacity",       "allocatable",          "overhead",
        "max",    "min",      "default", "defaultRequest", "maxLimitRequestRatio", NULL};
    const struct seg *leaf, *parent;

    if (!w->builtin || w->depth == 0)
        return 0;
    leaf = &w->segs[w->depth - 1];
    if (leaf->kind == SEG_FIELD && strcmp(leaf->name, "sizeLimit") == 0)
        return 1;
    if (w->depth < 2 || leaf->kind != SEG_FIELD)
        return 0;
    parent = &w->segs[w->depth - 2];
    if (parent->kind != SEG_FIELD)
        return 0;
    for (size_t i = 0; maps[i] != NULL; i++)
        if (strcmp(parent->name, maps[i]) == 0)
            return 1;
    return 0;
}

static int scalar_equal(const struct walk *w, const json_t *d, const json_t *l)
{
    struct qty qd, ql;

    if (loose_equal(d, l))
        return 1;
    return in_quantity_field(w) && (json_is_string(d) || json_is_string(l)) &&
           json_quantity(&qd, d) == 0 && json_quantity(&ql, l) == 0 && qty_equal(&qd, &ql);
}

/* --- ignoreDifferences at the walk's position ----------------------------- */

static const json_t *field_chain(const json_t *node, char *const *chain)
{
    for (size_t i = 0; node != NULL && chain[i] != NULL; i++)
        node = json_object_get(node, chain[i]);
    return node;
}

static int step_matches_seg(const struct step *st, const struct seg *s)
{
    char *end;
    unsigned long idx;

    switch (st->kind) {
    case STEP_FIELD:
        if (s->kind == SEG_FIELD)
            return strcmp(st->name, s->name) == 0;
        idx = strtoul(st->name, &end, 10);
        return isdigit((unsigned char)st->name[0]) && *end == '\0' && idx == s->index;
    case STEP_INDEX:
        return s->kind != SEG_FIELD && st->index == s->index;
    case STEP_ALL:
        return s->kind != SEG_FIELD;
    case STEP_SELECT:
        break;
    }
    return 0;
}

/* Does the pattern cover the current path (or an ancestor of it)? */
static int pattern_matches(const struct walk *w, const struct pattern *p)
{
    size_t si = 0;

    for (size_t pi = 0; pi < p->n; pi++) {
        const struct step *st = &p->steps[pi];
        if (st->kind == STEP_SELECT) {
            const json_t *node = si == 0 ? w->root : w->segs[si - 1].desired;
            if (!loose_equal(field_chain(node, st->sub), st->value))
                return 0;
            continue;
        }
        if (si == w->depth || !step_matches_seg(st, &w->segs[si]))
            return 0;
        si++;
    }
    return 1;
}

static int fields_leaf(const json_t *node)
{
    return json_is_object(node) &&
           (json_object_size(node) == 0 ||
            (json_object_size(node) == 1 && json_object_get(node, ".") != NULL));
}

/* The child of a fieldsV1 node for a "k:{...}" or "v:..." element. */
static const json_t *fields_element(const json_t *node, const struct seg *s)
{
    const json_t *item = s->live ? s->live : s->desired;
    const char *key;
    json_t *child;

    json_object_foreach((json_t *)node, key, child)
    {
        json_t *parsed;
        int match = 0;
        if (strncmp(key, s->kind == SEG_KEYED ? "k:" : "v:", 2) != 0)
            continue;
        parsed = json_loads(key + 2, JSON_DECODE_ANY, NULL);
        if (parsed != NULL && s->kind == SEG_SETVAL) {
            match = loose_equal(parsed, s->desired);
        } else if (json_is_object(parsed)) {
            const char *k;
            json_t *v;
            match = 1;
            json_object_foreach(parsed, k, v) match &= loose_equal(v, json_object_get(item, k));
        }
        json_decref(parsed);
        if (match)
            return child;
    }
    return NULL;
}

/* Is the current path inside a field the fieldsV1 tree `tree` owns? */
static int owned_by(const struct walk *w, const json_t *tree)
{
    const json_t *node = tree;
    char key[300];

    for (size_t si = 0; si < w->depth; si++) {
        const struct seg *s = &w->segs[si];
        if (si > 0 && fields_leaf(node))
            return 1; /* an atomic ancestor */
        if (s->kind == SEG_FIELD) {
            snprintf(key, sizeof(key), "f:%s", s->name);
            node = json_object_get(node, key);
        } else if (s->kind == SEG_INDEX) {
            snprintf(key, sizeof(key), "i:%zu", s->index);
            node = json_object_get(node, key);
        } else {
            node = fields_element(node, s);
        }
        if (node == NULL)
            return 0;
    }
    return w->depth > 0 && fields_leaf(node);
}

static int ignored(const struct walk *w)
{
    for (size_t i = 0; i < w->n_patterns; i++)
        if (pattern_matches(w, w->patterns[i]))
            return 1;
    for (size_t i = 0; i < w->n_owned; i++)
        if (owned_by(w, w->owned[i]))
            return 1;
    return 0;
}

/* --- the walk --------------------------------------------------------------- */

static void cmp_value(struct walk *w, const json_t *d, const json_t *l);

/* "spec.template.spec.containers": field names from the root, list items skipped. */
static void schema_path(const struct walk *w, char *buf, size_t len)
{
    size_t at = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < w->depth && at < len; i++)
        if (w->segs[i].kind == SEG_FIELD)
            at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? "." : "", w->segs[i].name);
}

static void cmp_object(struct walk *w, const json_t *d, const json_t *l)
{
    const char *key;
    json_t *dv;

    json_object_foreach((json_t *)d, key, dv)
    {
        if (w->depth == 0 && strcmp(key, "status") == 0)
            continue; /* the API server ignores status on apply */
        if (push(w, SEG_FIELD, key, 0, dv, json_object_get(l, key)) < 0)
            return;
        cmp_value(w, dv, json_object_get(l, key));
        w->depth--;
        if (w->error)
            return;
    }
}

/* The live item whose merge keys equal those the desired item sets. */
static const json_t *find_keyed(const json_t *live, const json_t *item, const char *const *keys)
{
    size_t i;
    json_t *li;

    json_array_foreach((json_t *)live, i, li)
    {
        int match = json_is_object(li), any = 0;
        for (size_t k = 0; match && keys[k] != NULL; k++) {
            const json_t *dv = json_object_get(item, keys[k]);
            if (dv == NULL)
                continue;
            any = 1;
            match = loose_equal(dv, json_object_get(li, keys[k]));
        }
        if (match && any)
            return li;
    }
    return NULL;
}

static int all_objects(const json_t *list)
{
    size_t i;
    json_t *v;

    json_array_foreach((json_t *)list, i, v) if (!json_is_object(v)) return 0;
    return 1;
}

static void cmp_keyed(struct walk *w, const json_t *d, const json_t *l, const char *const *keys)
{
    size_t i;
    json_t *item;

    json_array_foreach((json_t *)d, i, item)
    {
        const json_t *li = find_keyed(l, item, keys);
        if (push(w, SEG_KEYED, NULL, i, item, li) < 0)
            return;
        w->segs[w->depth - 1].keys = keys;
        cmp_value(w, item, li);
        w->depth--;
        if (w->error)
            return;
    }
}

static void cmp_set(struct walk *w, const json_t *d, const json_t *l)
{
    size_t i, j;
    json_t *item, *lv;

    json_array_foreach((json_t *)d, i, item)
    {
        int found = 0;
        json_array_foreach((json_t *)l, j, lv) found |= loose_equal(item, lv);
        if (found)
            continue;
        if (push(w, SEG_SETVAL, NULL, i, item, NULL) < 0)
            return;
        if (!ignored(w))
            report(w, item, NULL);
        w->depth--;
        if (w->error)
            return;
    }
}

static void cmp_atomic(struct walk *w, const json_t *d, const json_t *l)
{
    if (json_array_size(d) != json_array_size(l)) {
        report(w, d, l);
        return;
    }
    for (size_t i = 0; i < json_array_size(d) && !w->error; i++) {
        if (push(w, SEG_INDEX, NULL, i, json_array_get(d, i), json_array_get(l, i)) < 0)
            return;
        cmp_value(w, json_array_get(d, i), json_array_get(l, i));
        w->depth--;
    }
}

static void cmp_list(struct walk *w, const json_t *d, const json_t *l)
{
    struct gf_k8s_list_info info = {GF_K8S_LIST_ATOMIC, {NULL}, 0};
    char path[1024];

    if (w->builtin) {
        schema_path(w, path, sizeof(path));
        info = gf_k8s_list_info(w->group, w->kind, path);
    }
    if (info.type == GF_K8S_LIST_MAP && all_objects(d)) {
        cmp_keyed(w, d, l, info.keys); /* info outlives the walk below it */
    } else if (info.type == GF_K8S_LIST_SET) {
        cmp_set(w, d, l);
    } else {
        cmp_atomic(w, d, l);
    }
}

static void cmp_value(struct walk *w, const json_t *d, const json_t *l)
{
    /* an explicit null in Git claims nothing: apply drops it */
    if (w->error || json_is_null(d) || ignored(w))
        return;
    if (l == NULL || json_is_null(l)) {
        if (!is_empty(d))
            report(w, d, NULL);
    } else if (json_is_object(d)) {
        if (json_is_object(l))
            cmp_object(w, d, l);
        else
            report(w, d, l);
    } else if (json_is_array(d)) {
        if (json_is_array(l))
            cmp_list(w, d, l);
        else if (!(is_empty(d) && is_empty(l)))
            report(w, d, l);
    } else if (!scalar_equal(w, d, l)) {
        report(w, d, l);
    }
}

/* --- compiling ignoreDifferences ----------------------------------------- */

static void pattern_clear(struct pattern *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->steps[i].name);
        for (size_t k = 0; p->steps[i].sub && p->steps[i].sub[k]; k++)
            free(p->steps[i].sub[k]);
        free(p->steps[i].sub);
        json_decref(p->steps[i].value);
    }
    free(p->steps);
}

void agent_drift_rules_free(struct agent_drift_rules *rules)
{
    if (rules == NULL)
        return;
    for (size_t i = 0; i < rules->n; i++) {
        struct rule *r = &rules->rules[i];
        free(r->group);
        free(r->kind);
        free(r->name);
        free(r->namespace_);
        for (size_t k = 0; k < r->n_patterns; k++)
            pattern_clear(&r->patterns[k]);
        free(r->patterns);
        for (size_t k = 0; k < r->n_managers; k++)
            free(r->managers[k]);
        free(r->managers);
    }
    free(rules->rules);
    free(rules);
}

static struct step *add_step(struct pattern *p, enum step_kind kind)
{
    struct step *steps = realloc(p->steps, (p->n + 1) * sizeof(*steps));

    if (steps == NULL)
        return NULL;
    p->steps = steps;
    memset(&steps[p->n], 0, sizeof(steps[0]));
    steps[p->n].kind = kind;
    return &steps[p->n++];
}

static int add_field(struct pattern *p, const char *name, size_t len)
{
    struct step *st = add_step(p, STEP_FIELD);

    if (st == NULL || (st->name = strndup(name, len)) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    return 0;
}

/* RFC 6901: "/spec/template/spec/containers/0/image", ~1 is '/', ~0 is '~'. */
static int compile_pointer(struct pattern *p, const char *ptr)
{
    char tok[512];

    if (*ptr != '\0' && *ptr != '/')
        return gf_error_set(GF_EINVAL, "\"%s\": a JSON pointer starts with /", ptr);
    while (*ptr == '/') {
        size_t n = 0;
        for (ptr++; *ptr != '\0' && *ptr != '/'; ptr++) {
            if (n + 1 >= sizeof(tok))
                return gf_error_set(GF_EINVAL, "JSON pointer token too long");
            if (*ptr == '~' && (ptr[1] == '0' || ptr[1] == '1'))
                tok[n++] = *++ptr == '1' ? '/' : '~';
            else if (*ptr == '~')
                return gf_error_set(GF_EINVAL, "JSON pointer: bad escape");
            else
                tok[n++] = *ptr;
        }
        if (add_field(p, tok, n) < 0)
            return GF_ENOMEM;
    }
    return 0;
}

/* --- the jq subset -------------------------------------------------------- */

struct jq {
    const char *s;
    size_t pos;
};

static void jq_space(struct jq *q)
{
    while (isspace((unsigned char)q->s[q->pos]))
        q->pos++;
}

/* A JSON string literal at q->pos, decoded (malloc'd). */
static char *jq_string(struct jq *q)
{
    size_t start = q->pos, i = q->pos + 1;
    json_t *v;
    char *out = NULL;

    while (q->s[i] != '\0' && q->s[i] != '"')
        i += q->s[i] == '\\' && q->s[i + 1] != '\0' ? 2 : 1;
    if (q->s[i] != '"')
        return NULL;
    q->pos = i + 1;
    v = json_loadb(q->s + start, i + 1 - start, JSON_DECODE_ANY, NULL);
    if (json_is_string(v))
        out = strdup(json_string_value(v));
    json_decref(v);
    return out;
}

static int jq_fail(struct jq *q, const char *what)
{
    return gf_error_set(GF_EUNSUPPORTED,
                        "\"%s\" at %zu: %s (supported: .a.b, .a[\"k\"], .a[], .a[N], "
                        "select(.f == LITERAL), joined with |)",
                        q->s, q->pos, what);
}

/* One bracket suffix: [] [N] ["k"]. */
static int jq_bracket(struct jq *q, struct pattern *p)
{
    char *end, *name;
    unsigned long n;

    q->pos++;
    if (q->s[q->pos] == ']') {
        q->pos++;
        return add_step(p, STEP_ALL) ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
    }
    if (q->s[q->pos] == '"') {
        int error;
        if ((name = jq_string(q)) == NULL || q->s[q->pos] != ']') {
            free(name);
            return jq_fail(q, "expected a string and ]");
        }
        q->pos++;
        error = add_field(p, name, strlen(name));
        free(name);
        return error;
    }
    n = strtoul(q->s + q->pos, &end, 10);
    if (!isdigit((unsigned char)q->s[q->pos]) || *end != ']')
        return jq_fail(q, "expected [], [N] or [\"key\"]");
    q->pos = (size_t)(end + 1 - q->s);
    struct step *st = add_step(p, STEP_INDEX);
    if (st == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    st->index = n;
    return 0;
}

/* A path: '.' then fields (.a, ."a") and brackets; "." alone is the identity. */
static int jq_path(struct jq *q, struct pattern *p)
{
    int first = 1;

    while (q->s[q->pos] == '.' || (q->s[q->pos] == '[' && !first)) {
        int error = 0;
        if (q->s[q->pos] == '[') {
            error = jq_bracket(q, p);
        } else if (isalpha((unsigned char)q->s[++q->pos]) || q->s[q->pos] == '_') {
            size_t start = q->pos;
            while (isalnum((unsigned char)q->s[q->pos]) || q->s[q->pos] == '_')
                q->pos++;
            error = add_field(p, q->s + start, q->pos - start);
        } else if (q->s[q->pos] == '"') {
            char *name = jq_string(q);
            error = name ? add_field(p, name, strlen(name)) : jq_fail(q, "bad string");
            free(name);
        } else if (q->s[q->pos] == '[') {
            error = jq_bracket(q, p);
        } else if (!first) {
            return jq_fail(q, "expected a field name after .");
        }
        if (error < 0)
            return error;
        first = 0;
    }
    return first ? jq_fail(q, "expected a path starting with .") : 0;
}

/* The JSON literal up to the closing ")" of a select (strings may hold ")"). */
static int jq_literal(struct jq *q, json_t **out)
{
    size_t start = q->pos;

    while (q->s[q->pos] != '\0' && q->s[q->pos] != ')') {
        char *skip;
        if (q->s[q->pos] != '"') {
            q->pos++;
            continue;
        }
        if ((skip = jq_string(q)) == NULL)
            return jq_fail(q, "unterminated string");
        free(skip);
    }
    if (q->s[q->pos] != ')')
        return jq_fail(q, "expected )");
    *out = json_loadb(q->s + start, q->pos - start, JSON_DECODE_ANY, NULL);
    if (*out == NULL)
        return jq_fail(q, "expected a JSON literal");
    q->pos++;
    return 0;
}

/* select(.a.b == LITERAL) */
static int jq_select(struct jq *q, struct pattern *p)
{
    struct pattern sub = {0};
    struct step *st;
    json_t *value = NULL;
    int error;

    q->pos += strlen("select(");
    jq_space(q);
    if ((error = jq_path(q, &sub)) < 0)
        goto out;
    for (size_t i = 0; i < sub.n && error == 0; i++)
        if (sub.steps[i].kind != STEP_FIELD)
            error = jq_fail(q, "select() takes a chain of fields");
    jq_space(q);
    if (error == 0 && strncmp(q->s + q->pos, "==", 2) != 0)
        error = jq_fail(q, "expected ==");
    if (error < 0)
        goto out;
    q->pos += 2;
    jq_space(q);
    if ((error = jq_literal(q, &value)) < 0)
        goto out;
    if ((st = add_step(p, STEP_SELECT)) == NULL ||
        (st->sub = calloc(sub.n + 1, sizeof(char *))) == NULL) {
        error = gf_error_set(GF_ENOMEM, "out of memory");
        goto out;
    }
    st->value = value;
    value = NULL;
    for (size_t i = 0; i < sub.n; i++) {
        st->sub[i] = sub.steps[i].name;
        sub.steps[i].name = NULL;
    }
out:
    json_decref(value);
    pattern_clear(&sub);
    return error;
}

static int compile_jq(struct pattern *p, const char *expr)
{
    struct jq q = {expr, 0};
    int error;

    for (;;) {
        jq_space(&q);
        if (strncmp(q.s + q.pos, "select(", 7) == 0)
            error = jq_select(&q, p);
        else
            error = jq_path(&q, p);
        if (error < 0)
            return error;
        jq_space(&q);
        if (q.s[q.pos] == '\0')
            return 0;
        if (q.s[q.pos] != '|')
            return jq_fail(&q, "expected | or the end");
        q.pos++;
    }
}

/* --- rules ------------------------------------------------------------------ */

static int dup_opt(char **out, const json_t *entry, const char *key)
{
    const json_t *v = json_object_get(entry, key);

    if (v != NULL && !json_is_null(v) && !json_is_string(v))
        return gf_error_set(GF_EINVAL, "%s: expected a string", key);
    *out = strdup(json_is_string(v) ? json_string_value(v) : "");
    return *out ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
}

/* Each string of entry[key] through `fn`. */
static int each_string(const json_t *entry, const char *key, int (*fn)(struct rule *, const char *),
                       struct rule *r)
{
    const json_t *list = json_object_get(entry, key);
    size_t i;
    json_t *v;

    if (list == NULL || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return gf_error_set(GF_EINVAL, "%s: expected a list of strings", key);
    json_array_foreach(list, i, v)
    {
        int error;
        if (!json_is_string(v))
            return gf_error_set(GF_EINVAL, "%s[%zu]: expected a string", key, i);
        if ((error = fn(r, json_string_value(v))) < 0)
            return gf_error_wrap(error, "%s[%zu]", key, i);
    }
    return 0;
}

static struct pattern *new_pattern(struct rule *r)
{
    struct pattern *p = realloc(r->patterns, (r->n_patterns + 1) * sizeof(*p));

    if (p == NULL)
        return NULL;
    r->patterns = p;
    memset(&p[r->n_patterns], 0, sizeof(*p));
    return &p[r->n_patterns++];
}

static int add_pointer(struct rule *r, const char *text)
{
    struct pattern *p = new_pattern(r);
    return p ? compile_pointer(p, text) : gf_error_set(GF_ENOMEM, "out of memory");
}

static int add_jq(struct rule *r, const char *text)
{
    struct pattern *p = new_pattern(r);
    return p ? compile_jq(p, text) : gf_error_set(GF_ENOMEM, "out of memory");
}

static int add_manager(struct rule *r, const char *name)
{
    char **m = realloc(r->managers, (r->n_managers + 1) * sizeof(*m));

    if (m == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    r->managers = m;
    if ((m[r->n_managers] = strdup(name)) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    r->n_managers++;
    return 0;
}

static int parse_rule(struct rule *r, const json_t *entry)
{
    static const char *const known[] = {"group",
                                        "kind",
                                        "name",
                                        "namespace",
                                        "jsonPointers",
                                        "jqPathExpressions",
                                        "managedFieldsManagers",
                                        NULL};
    const char *key;
    json_t *v;
    int error;

    if (!json_is_object(entry))
        return gf_error_set(GF_EINVAL, "expected an object");
    json_object_foreach((json_t *)entry, key, v)
    {
        size_t k = 0;
        while (known[k] != NULL && strcmp(known[k], key) != 0)
            k++;
        if (known[k] == NULL)
            return gf_error_set(GF_EINVAL, "unknown field \"%s\"", key);
    }
    if ((error = dup_opt(&r->group, entry, "group")) < 0 ||
        (error = dup_opt(&r->kind, entry, "kind")) < 0 ||
        (error = dup_opt(&r->name, entry, "name")) < 0 ||
        (error = dup_opt(&r->namespace_, entry, "namespace")) < 0)
        return error;
    if (r->kind[0] == '\0')
        return gf_error_set(GF_EINVAL, "kind is required");
    if ((error = each_string(entry, "jsonPointers", add_pointer, r)) < 0 ||
        (error = each_string(entry, "jqPathExpressions", add_jq, r)) < 0 ||
        (error = each_string(entry, "managedFieldsManagers", add_manager, r)) < 0)
        return error;
    return 0;
}

int agent_drift_rules_parse(struct agent_drift_rules **out, const json_t *list)
{
    struct agent_drift_rules *rules = calloc(1, sizeof(*rules));
    size_t i;
    json_t *entry;
    int error = 0;

    *out = NULL;
    if (rules == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    if (list != NULL && !json_is_null(list) && !json_is_array(list))
        error = gf_error_set(GF_EINVAL, "ignoreDifferences: expected a list");
    if (error == 0 && json_is_array(list) &&
        (rules->rules = calloc(json_array_size(list) + 1, sizeof(struct rule))) == NULL)
        error = gf_error_set(GF_ENOMEM, "out of memory");
    json_array_foreach(list, i, entry)
    {
        if (error < 0)
            break;
        rules->n++;
        if ((error = parse_rule(&rules->rules[i], entry)) < 0)
            error = gf_error_wrap(error, "ignoreDifferences[%zu]", i);
    }
    if (error < 0) {
        agent_drift_rules_free(rules);
        return error;
    }
    *out = rules;
    return 0;
}

/* --- the comparison ----------------------------------------------------------- */

static int rule_applies(const struct rule *r, const struct walk *w, const json_t *desired)
{
    const json_t *meta = json_object_get(desired, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));

    return fnmatch(r->group, w->group, 0) == 0 && fnmatch(r->kind, w->kind, 0) == 0 &&
           (r->name[0] == '\0' || (name && strcmp(r->name, name) == 0)) &&
           (r->namespace_[0] == '\0' || (ns && strcmp(r->namespace_, ns) == 0));
}

/* The fieldsV1 trees of the managers the rule ignores. */
static int collect_owned(struct walk *w, const struct rule *r, const json_t *live)
{
    const json_t *mf = json_object_get(json_object_get(live, "metadata"), "managedFields");
    size_t i;
    json_t *e;

    json_array_foreach(mf, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "manager"));
        const json_t *fields = json_object_get(e, "fieldsV1");
        for (size_t k = 0; m && json_is_object(fields) && k < r->n_managers; k++) {
            if (strcmp(m, r->managers[k]) != 0)
                continue;
            const json_t **owned = realloc(w->owned, (w->n_owned + 1) * sizeof(*owned));
            if (owned == NULL)
                return gf_error_set(GF_ENOMEM, "out of memory");
            w->owned = owned;
            owned[w->n_owned++] = fields;
            break;
        }
    }
    return 0;
}

static int select_rules(struct walk *w, const struct agent_drift_rules *rules,
                        const json_t *desired, const json_t *live)
{
    for (size_t i = 0; rules != NULL && i < rules->n; i++) {
        const struct rule *r = &rules->rules[i];
        if (!rule_applies(r, w, desired))
            continue;
        for (size_t k = 0; k < r->n_patterns; k++) {
            const struct pattern **p = realloc(w->patterns, (w->n_patterns + 1) * sizeof(*p));
            if (p == NULL)
                return gf_error_set(GF_ENOMEM, "out of memory");
            w->patterns = p;
            p[w->n_patterns++] = &r->patterns[k];
        }
        if (live != NULL && collect_owned(w, r, live) < 0)
            return GF_ENOMEM;
    }
    return 0;
}

/* A Secret's stringData as the base64 data it becomes (new reference). */
static json_t *secret_as_stored(const json_t *desired)
{
    const json_t *sd = json_object_get(desired, "stringData");
    json_t *copy, *data;
    const char *key;
    json_t *v;

    if (!json_is_object(sd))
        return json_incref((json_t *)desired);
    copy = json_deep_copy(desired);
    data = json_object_get(copy, "data");
    if (!json_is_object(data)) {
        data = json_object();
        json_object_set_new(copy, "data", data);
    }
    json_object_foreach((json_t *)sd, key, v)
    {
        char *b64 = NULL;
        if (!json_is_string(v) ||
            gf_base64_encode(&b64, NULL, json_string_value(v), json_string_length(v)) < 0)
            continue;
        json_object_set_new(data, key, json_string(b64));
        free(b64);
    }
    json_object_del(copy, "stringData");
    return copy;
}

int agent_drift_compare(struct agent_drift *out, const json_t *desired, const json_t *live,
                        const struct agent_drift_rules *rules)
{
    struct walk *w;
    const char *version;
    char buf[256];
    json_t *stored;
    int error;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(desired))
        return gf_error_set(GF_EINVAL, "drift: the desired object is not a JSON object");
    if ((w = calloc(1, sizeof(*w))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    gf_k8s_split_api_version(json_string_value(json_object_get(desired, "apiVersion"))
                                 ? json_string_value(json_object_get(desired, "apiVersion"))
                                 : "",
                             buf, sizeof(buf), &w->group, &version);
    w->kind = json_string_value(json_object_get(desired, "kind"));
    w->kind = w->kind ? w->kind : "";
    w->builtin = gf_k8s_is_builtin(w->group, w->kind);
    w->secret = w->group[0] == '\0' && strcmp(w->kind, "Secret") == 0;
    w->out = out;
    stored = w->secret ? secret_as_stored(desired) : json_incref((json_t *)desired);
    w->root = stored;
    if ((error = select_rules(w, rules, desired, live)) == 0) {
        if (live == NULL)
            report(w, NULL, NULL);
        else
            cmp_value(w, stored, live);
        error = w->error;
    }
    json_decref(stored);
    free(w->patterns);
    free(w->owned);
    free(w);
    if (error < 0)
        agent_drift_clear(out);
    return error;
}

/* --- RespectIgnoreDifferences: leave ignored fields out of an apply ------ */

static void strip_value(struct walk *w, json_t *d, const json_t *l, int atomic);

/* The identity of an object is never left out, whatever a rule says. */
static int identity_field(const struct walk *w)
{
    const struct seg *s = &w->segs[w->depth - 1];

    if (w->depth == 1)
        return strcmp(s->name, "apiVersion") == 0 || strcmp(s->name, "kind") == 0 ||
               strcmp(s->name, "metadata") == 0;
    return w->depth == 2 && w->segs[0].kind == SEG_FIELD &&
           strcmp(w->segs[0].name, "metadata") == 0 && s->kind == SEG_FIELD &&
           (strcmp(s->name, "name") == 0 || strcmp(s->name, "namespace") == 0);
}

static void strip_object(struct walk *w, json_t *d, const json_t *l, int atomic)
{
    json_t *drop = json_array(), *take = json_object(), *dv, *v;
    const char *key;
    size_t i;

    json_object_foreach(d, key, dv)
    {
        const json_t *lv = json_object_get(l, key);
        if (push(w, SEG_FIELD, key, 0, dv, lv) < 0)
            break;
        if (!identity_field(w) && ignored(w)) {
            /* inside an atomic list the whole list is sent: keep the live value */
            if (atomic && lv != NULL)
                json_object_set(take, key, (json_t *)lv);
            else
                json_array_append_new(drop, json_string(key));
        } else {
            strip_value(w, dv, lv, atomic);
        }
        w->depth--;
        if (w->error)
            break;
    }
    json_array_foreach(drop, i, v) json_object_del(d, json_string_value(v));
    json_object_foreach(take, key, v) json_object_set_new(d, key, json_deep_copy(v));
    json_decref(drop);
    json_decref(take);
}

static void strip_list(struct walk *w, json_t *d, const json_t *l, int atomic)
{
    struct gf_k8s_list_info info = {GF_K8S_LIST_ATOMIC, {NULL}, 0};
    char path[1024];
    size_t n = json_array_size(d);
    char *drop = calloc(n + 1, 1);

    if (drop == NULL) {
        w->error = gf_error_set(GF_ENOMEM, "out of memory");
        return;
    }
    if (w->builtin) {
        schema_path(w, path, sizeof(path));
        info = gf_k8s_list_info(w->group, w->kind, path);
    }
    for (size_t i = 0; i < n && !w->error; i++) {
        json_t *item = json_array_get(d, i);
        const json_t *li = NULL;
        enum seg_kind kind = SEG_INDEX;
        if (info.type == GF_K8S_LIST_MAP && all_objects(d)) {
            li = find_keyed(l, item, info.keys);
            kind = SEG_KEYED;
        } else if (info.type == GF_K8S_LIST_SET) {
            kind = SEG_SETVAL;
        } else {
            li = json_array_get(l, i);
        }
        if (push(w, kind, NULL, i, item, li) < 0)
            break;
        w->segs[w->depth - 1].keys = kind == SEG_KEYED ? info.keys : NULL;
        if (ignored(w)) {
            if (kind == SEG_INDEX && li != NULL) /* atomic: send the live item */
                json_array_set_new(d, i, json_deep_copy(li));
            else if (kind != SEG_INDEX || !atomic)
                drop[i] = 1;
        } else {
            strip_value(w, item, li, atomic || kind == SEG_INDEX);
        }
        w->depth--;
    }
    for (size_t i = n; i-- > 0;)
        if (drop[i])
            json_array_remove(d, i);
    free(drop);
}

static void strip_value(struct walk *w, json_t *d, const json_t *l, int atomic)
{
    if (w->error)
        return;
    if (json_is_object(d))
        strip_object(w, d, json_is_object(l) ? l : NULL, atomic);
    else if (json_is_array(d))
        strip_list(w, d, json_is_array(l) ? l : NULL, atomic);
}

int agent_drift_strip(json_t **out, const json_t *desired, const json_t *live,
                      const struct agent_drift_rules *rules)
{
    struct walk *w;
    const char *version;
    char buf[256];
    json_t *copy;
    int error;

    *out = NULL;
    if (!json_is_object(desired))
        return gf_error_set(GF_EINVAL, "drift: the desired object is not a JSON object");
    if ((w = calloc(1, sizeof(*w))) == NULL || (copy = json_deep_copy(desired)) == NULL) {
        free(w);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    gf_k8s_split_api_version(json_string_value(json_object_get(desired, "apiVersion"))
                                 ? json_string_value(json_object_get(desired, "apiVersion"))
                                 : "",
                             buf, sizeof(buf), &w->group, &version);
    w->kind = json_string_value(json_object_get(desired, "kind"));
    w->kind = w->kind ? w->kind : "";
    w->builtin = gf_k8s_is_builtin(w->group, w->kind);
    w->root = copy;
    if ((error = select_rules(w, rules, desired, live)) == 0) {
        strip_value(w, copy, live, 0);
        error = w->error;
    }
    free(w->patterns);
    free(w->owned);
    free(w);
    if (error < 0) {
        json_decref(copy);
        return error;
    }
    *out = copy;
    return 0;
}

void agent_drift_clear(struct agent_drift *drift)
{
    if (drift == NULL)
        return;
    for (size_t i = 0; i < drift->n; i++) {
        free(drift->fields[i].path);
        free(drift->fields[i].desired);
        free(drift->fields[i].live);
    }
    free(drift->fields);
    memset(drift, 0, sizeof(*drift));
}

json_t *agent_drift_to_json(const struct agent_drift *drift)
{
    json_t *list = json_array();

    for (size_t i = 0; list != NULL && i < drift->n; i++) {
        const struct agent_drift_field *f = &drift->fields[i];
        json_t *o = json_pack("{s:s,s:b}", "path", f->path, "redacted", f->redacted);
        if (o != NULL && f->desired)
            json_object_set_new(o, "desired", json_string(f->desired));
        if (o != NULL && f->live)
            json_object_set_new(o, "live", json_string(f->live));
        if (json_array_append_new(list, o) < 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}
