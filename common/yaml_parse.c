/* yaml_parse.c -- YAML streams into jansson trees: libyaml events, an iterative builder, go-yaml v3
 * typing */
#include "gitfleet/yaml_parse.h"
#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"

#include <yaml.h>

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_MAX_INPUT     ((size_t)64 << 20)
#define DEFAULT_MAX_DEPTH     512
#define DEFAULT_MAX_SCALAR    ((size_t)16 << 20)
#define DEFAULT_MAX_NODES     4000000
#define DEFAULT_MAX_DOCUMENTS 100000
#define YAML_TAG_PREFIX       "tag:yaml.org,2002:"

/* One open collection. Frames are reused across the parse, so `kbuf` (the
 * pending key of a mapping) keeps its allocation from one mapping to the next. */
struct frame {
    json_t *node;      /* object or array being filled */
    char *anchor;      /* registered when the collection ends */
    size_t nodes;      /* nodes in this subtree, itself included */
    size_t height;     /* collection levels in this subtree, itself included */
    size_t lines_base; /* mappings: first of its key lines in builder.lines */
    yaml_mark_t start;
    int have_key, key_is_merge, had_merge, key_replaces;
    char *kbuf;
    size_t klen, kcap, key_line;
    json_t *merged; /* keys copied in by `<<` and not overridden yet: key -> slot */
};

struct builder {
    const char *name;
    const char *data;
    size_t len;
    struct gf_yaml_limits lim;
    int flags;
    yaml_parser_t parser;
    struct frame *stack;
    size_t depth, cap;
    /* Line of each key of the open mappings, in insertion order: frames
     * nest, so one array used as a stack serves them all. Only read to
     * name the first line of a duplicate key. */
    size_t *lines;
    size_t nlines, lines_cap;
    json_t *anchors; /* name -> [value, nodes, height], for this document */
    json_t *root;    /* the document being built */
    json_t *out;     /* the array of documents */
    int shared;      /* aliases or merges shared nodes in this document */
    size_t nodes, documents;
};

static const char *display_name(const struct builder *b)
{
    return b->name ? b->name : "<input>";
}

/* Set an error located at a libyaml mark (0-based line and column). */
static int fail_at(struct builder *b, int code, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(struct builder *b, int code, yaml_mark_t mark, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return gf_error_set(code, "%s:%zu:%zu: %s", display_name(b), mark.line + 1, mark.column + 1,
                        msg);
}

static int out_of_memory(struct builder *b)
{
    return gf_error_set(GF_ENOMEM, "%s: out of memory while parsing YAML", display_name(b));
}

/* "tag:yaml.org,2002:int" reads better as "!!int" in messages. */
static const char *short_tag(const char *tag, char *buf, size_t size)
{
    if (strncmp(tag, YAML_TAG_PREFIX, strlen(YAML_TAG_PREFIX)) == 0) {
        snprintf(buf, size, "!!%s", tag + strlen(YAML_TAG_PREFIX));
        return buf;
    }
    return tag;
}

/* Text from the input for a message: at most 60 bytes, control bytes as
 * \xNN, so that a NUL or an escape sequence cannot garble the line. */
static const char *excerpt(const char *s, size_t n, char *buf, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; i < n && o + 8 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 60) {
            o += (size_t)snprintf(buf + o, size - o, "...");
            break;
        }
        if (c < 0x20 || c == 0x7F || c == '"' || c == '\\')
            o += (size_t)snprintf(buf + o, size - o, "\\x%02X", c);
        else
            buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return buf;
}

/* ---- errors reported by libyaml ---------------------------------------- */

/* Byte offset of a 0-based line and column (columns count characters). */
static size_t offset_of(const struct builder *b, size_t line, size_t column)
{
    size_t off = 0;

    for (; line > 0 && off < b->len; off++)
        if (b->data[off] == '\n')
            line--;
    for (; column > 0 && off < b->len; column--) {
        off++;
        while (off < b->len && ((unsigned char)b->data[off] & 0xC0) == 0x80)
            off++;
    }
    return off;
}

/* Does the indentation of the line holding `off` contain a tab? libyaml
 * reports those as "cannot start any token", which helps nobody. */
static int tab_in_indent(const struct builder *b, size_t off)
{
    size_t start = off;

    while (start > 0 && b->data[start - 1] != '\n')
        start--;
    for (size_t i = start; i < b->len && (b->data[i] == ' ' || b->data[i] == '\t'); i++)
        if (b->data[i] == '\t')
            return 1;
    return 0;
}

static int reader_error(struct builder *b)
{
    yaml_parser_t *p = &b->parser;
    yaml_mark_t mark = {0, 0, 0};
    size_t off = p->problem_offset < b->len ? p->problem_offset : b->len;

    for (size_t i = 0; i < off; i++) {
        if (b->data[i] == '\n') {
            mark.line++;
            mark.column = 0;
        } else if (((unsigned char)b->data[i] & 0xC0) != 0x80) {
            mark.column++;
        }
    }
    if (p->problem_value != -1)
        return fail_at(b, GF_EINVAL, mark, "%s (byte 0x%02X); expected UTF-8 text", p->problem,
                       (unsigned)p->problem_value & 0xFF);
    return fail_at(b, GF_EINVAL, mark, "%s", p->problem);
}

static int parser_error(struct builder *b)
{
    yaml_parser_t *p = &b->parser;
    yaml_mark_t m = p->problem_mark;
    char ctx[256] = "";

    if (p->error == YAML_MEMORY_ERROR)
        return out_of_memory(b);
    if (p->error == YAML_READER_ERROR)
        return reader_error(b);
    size_t off = offset_of(b, m.line, m.column);
    if (tab_in_indent(b, off) || (p->problem && strstr(p->problem, "tab") != NULL))
        return fail_at(b, GF_EINVAL, m,
                       "tab character in indentation (YAML indents with spaces only): %s",
                       p->problem ? p->problem : "syntax error");
    if (off < b->len && b->data[off] == '\t')
        return fail_at(b, GF_EINVAL, m, "tab character where YAML expects a space: %s",
                       p->problem ? p->problem : "syntax error");
    if (p->context)
        snprintf(ctx, sizeof(ctx), " (%s started at line %zu, column %zu)", p->context,
                 p->context_mark.line + 1, p->context_mark.column + 1);
    return fail_at(b, GF_EINVAL, m, "%s%s", p->problem ? p->problem : "syntax error", ctx);
}

/* ---- scalar typing (go-yaml v3, which is what kubectl/kustomize use) ---- */

/* strconv.ParseUint(s, base, 64): base 0 reads 0x, 0o, 0b and 0 prefixes.
 * Returns 0, -1 for bad syntax, -2 when out of range. */
static int go_parse_uint(const char *s, size_t n, int base, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0)
        return -1;
    if (base == 0) {
        base = 10;
        if (s[0] == '0') {
            char c = n >= 3 ? (char)(s[1] | 0x20) : 0;
            size_t skip = (c == 'b' || c == 'o' || c == 'x') ? 2 : 1;
            base = c == 'b' ? 2 : c == 'o' ? 8 : c == 'x' ? 16 : 8;
            s += skip;
            n -= skip;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        if (d >= base)
            return -1;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return -2;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    return 0;
}

/* strconv.ParseInt(s, base, 64): an optional sign, then ParseUint. */
static int go_parse_int(const char *s, size_t n, int base, int64_t *out)
{
    int neg = 0, rc;
    uint64_t u;

    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        s++;
        n--;
    }
    if ((rc = go_parse_uint(s, n, base, &u)) < 0)
        return rc;
    if (!neg && u > (uint64_t)INT64_MAX)
        return -2;
    if (neg && u > (uint64_t)INT64_MAX + 1)
        return -2;
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}

static size_t count_digits(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static int yaml_style_float(const char *s, size_t n)
{
    size_t i = 0, d;

    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i < n && s[i] == '.') {
        if ((d = count_digits(s + i + 1, n - i - 1)) == 0)
            return 0;
        i += 1 + d;
    } else {
        if ((d = count_digits(s + i, n - i)) == 0)
            return 0;
        i += d;
        if (i < n && s[i] == '.')
            i += 1 + count_digits(s + i + 1, n - i - 1);
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if ((d = count_digits(s + i, n - i)) == 0)
            return 0;
        i += d;
    }
    return i == n;
}

/* A finite double from text that yaml_style_float() accepted (NUL-terminated).
 * Go's ParseFloat fails on overflow, and go-yaml then keeps the string. */
static json_t *finite_real(const char *s)
{
    double d = strtod(s, NULL);

    return isinf(d) ? NULL : json_real(d);
}

/* The `0b`/`0o` fallbacks of go-yaml's resolver, after base-0 parsing failed:
 * they read "0b-101" as -5 and "-0o17" as -15. `s` is writable. */
static json_t *prefixed_int(char *s, size_t n, int v2)
{
    int64_t iv;
    uint64_t uv;
    int base = 0;

    if (n > 2 && s[0] == '0' && (s[1] == 'b' || (s[1] == 'o' && !v2))) {
        base = s[1] == 'b' ? 2 : 8;
        if (go_parse_int(s + 2, n - 2, base, &iv) == 0)
            return json_integer(iv);
        if (go_parse_uint(s + 2, n - 2, base, &uv) == 0)
            return json_real((double)uv);
    } else if (n > 3 && s[0] == '-' && s[1] == '0' && (s[2] == 'b' || (s[2] == 'o' && !v2))) {
        base = s[2] == 'b' ? 2 : 8;
        s[2] = '-';
        if (go_parse_int(s + 2, n - 2, base, &iv) == 0)
            return json_integer(iv);
    }
    return NULL;
}

/* A plain scalar starting with a digit or sign: int, float, or NULL for a
 * string. Integers beyond int64 become reals (json_int_t cannot hold them;
 * kubectl keeps uint64 exact, so 12345678901234567890 loses precision). */
static json_t *resolve_number(const char *in, size_t n, int v2)
{
    char small[96], *s = n < sizeof(small) ? small : malloc(n + 1);
    json_t *v = NULL;
    size_t len = 0;
    int64_t iv;
    uint64_t uv;

    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (in[i] != '_')
            s[len++] = in[i];
    s[len] = '\0';
    if (go_parse_int(s, len, 0, &iv) == 0)
        v = json_integer(iv);
    else if (go_parse_uint(s, len, 0, &uv) == 0)
        v = json_real((double)uv);
    else if (yaml_style_float(s, len))
        v = finite_real(s);
    if (v == NULL)
        v = prefixed_int(s, len, v2);
    if (s != small)
        free(s);
    return v;
}

/* A plain scalar starting with '.': Go's ParseFloat, which allows no '_'. */
static json_t *resolve_dot(const char *s, size_t n)
{
    char buf[96];

    if (n >= sizeof(buf) || !yaml_style_float(s, n))
        return NULL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return finite_real(buf);
}

/* ---- timestamps: go-yaml v3 reads these and kubectl prints them as
 * RFC 3339 (Go's time.Time JSON), so `2024-01-01` becomes
 * "2024-01-01T00:00:00Z". Layouts accepted, as Go's time.Parse reads them:
 * "2006-1-2T15:4:5.999999999Z07:00" (also with 't'),
 * "2006-1-2 15:4:5.999999999" (UTC) and "2006-1-2". ---- */

struct timestamp {
    int year, month, day, hour, minute, second, offset; /* offset in minutes */
    long nsec;
};

/* Go's getnum: one or two digits (exactly two when `fixed`). */
static int ts_num(const char **p, const char *end, int fixed, int *out)
{
    const char *s = *p;

    if (s >= end || s[0] < '0' || s[0] > '9')
        return -1;
    if (s + 1 >= end || s[1] < '0' || s[1] > '9') {
        if (fixed)
            return -1;
        *out = s[0] - '0';
        *p = s + 1;
        return 0;
    }
    *out = (s[0] - '0') * 10 + (s[1] - '0');
    *p = s + 2;
    return 0;
}

static int ts_char(const char **p, const char *end, char c)
{
    if (*p >= end || **p != c)
        return -1;
    (*p)++;
    return 0;
}

static int days_in(int month, int year)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

/* Fraction (Go takes any number of digits and truncates to nanoseconds)
 * and, for the 'T' layouts, the zone: Z or +hh:mm. */
static int ts_frac_zone(const char **p, const char *end, int zone, struct timestamp *t)
{
    const char *s = *p;
    int hh, mm;

    if (end - s >= 2 && (s[0] == '.' || s[0] == ',') && s[1] >= '0' && s[1] <= '9') {
        long scale = 100000000;
        for (s++; s < end && *s >= '0' && *s <= '9'; s++, scale /= 10)
            t->nsec += (*s - '0') * scale;
    }
    if (zone && s < end && *s == 'Z') {
        s++;
    } else if (zone) {
        if (end - s < 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
            return -1;
        const char *q = s + 1, *r = s + 4;
        if (ts_num(&q, end, 1, &hh) < 0 || ts_num(&r, end, 1, &mm) < 0 || hh > 24 || mm > 60)
            return -1;
        t->offset = (s[0] == '-' ? -1 : 1) * (hh * 60 + mm);
        s += 6;
    }
    *p = s;
    return 0;
}

static int ts_parse(const char *s, size_t n, struct timestamp *t)
{
    const char *p = s + 4, *end = s + n;
    int zone = 0;

    memset(t, 0, sizeof(*t));
    if (n < 5 || count_digits(s, n) != 4 || s[4] != '-')
        return -1;
    t->year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    if (ts_char(&p, end, '-') < 0 || ts_num(&p, end, 0, &t->month) < 0 ||
        ts_char(&p, end, '-') < 0 || ts_num(&p, end, 0, &t->day) < 0)
        return -1;
    if (p < end) {
        if (*p == 'T' || *p == 't') {
            zone = 1;
            p++;
        } else if (*p == ' ') {
            while (p < end && *p == ' ') /* Go matches a layout space to a run of them */
                p++;
        } else {
            return -1;
        }
        if (ts_num(&p, end, 0, &t->hour) < 0 || ts_char(&p, end, ':') < 0 ||
            ts_num(&p, end, 0, &t->minute) < 0 || ts_char(&p, end, ':') < 0 ||
            ts_num(&p, end, 0, &t->second) < 0 || ts_frac_zone(&p, end, zone, t) < 0)
            return -1;
    }
    if (p != end || t->month < 1 || t->month > 12 || t->day < 1 ||
        t->day > days_in(t->month, t->year) || t->hour > 23 || t->minute > 59 || t->second > 59)
        return -1;
    return 0;
}

/* Go's RFC3339Nano: trailing zeros of the fraction dropped, Z for UTC. */
static json_t *ts_json(const struct timestamp *t)
{
    char buf[64];
    int len = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", t->year, t->month, t->day,
                       t->hour, t->minute, t->second);

    if (t->nsec > 0) {
        char frac[16];
        int fl = snprintf(frac, sizeof(frac), "%09ld", t->nsec);
        while (fl > 0 && frac[fl - 1] == '0')
            frac[--fl] = '\0';
        len += snprintf(buf + len, sizeof(buf) - (size_t)len, ".%s", frac);
    }
    if (t->offset == 0)
        snprintf(buf + len, sizeof(buf) - (size_t)len, "Z");
    else
        snprintf(buf + len, sizeof(buf) - (size_t)len, "%c%02d:%02d", t->offset < 0 ? '-' : '+',
                 abs(t->offset) / 60, abs(t->offset) % 60);
    return json_string(buf);
}

/* The RFC 3339 string of a timestamp; *out stays NULL when `s` is none. */
static int resolve_timestamp(struct builder *b, const yaml_event_t *ev, json_t **out)
{
    const char *s = (const char *)ev->data.scalar.value;
    struct timestamp t;

    *out = NULL;
    if (ts_parse(s, ev->data.scalar.length, &t) < 0)
        return 0;
    if (abs(t.offset) >= 24 * 60)
        return fail_at(b, GF_EINVAL, ev->start_mark,
                       "timestamp %s has a zone offset of 24 hours or more, which RFC 3339 "
                       "cannot write (kubectl fails on it too)",
                       s);
    *out = ts_json(&t);
    return *out ? 0 : out_of_memory(b);
}

enum special { SP_NONE, SP_NULL, SP_TRUE, SP_FALSE, SP_INF, SP_NAN, SP_MERGE };

/* go-yaml's resolve map: the exact spellings with a fixed meaning. */
static enum special special_value(const char *s, size_t n, int v2)
{
    static const char *const v2_true[] = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON"};
    static const char *const v2_false[] = {"n", "N", "no", "No", "NO", "off", "Off", "OFF"};

    static const struct {
        const char *text;
        enum special kind;
    } table[] = {
        {"", SP_NULL},       {"~", SP_NULL},      {"null", SP_NULL},   {"Null", SP_NULL},
        {"NULL", SP_NULL},   {"true", SP_TRUE},   {"True", SP_TRUE},   {"TRUE", SP_TRUE},
        {"false", SP_FALSE}, {"False", SP_FALSE}, {"FALSE", SP_FALSE}, {".nan", SP_NAN},
        {".NaN", SP_NAN},    {".NAN", SP_NAN},    {".inf", SP_INF},    {".Inf", SP_INF},
        {".INF", SP_INF},    {"+.inf", SP_INF},   {"+.Inf", SP_INF},   {"+.INF", SP_INF},
        {"-.inf", SP_INF},   {"-.Inf", SP_INF},   {"-.INF", SP_INF},   {"<<", SP_MERGE},
    };

    if (n > 5 || (n > 0 && strchr(v2 ? "~nNtTfF.+-<yYoO" : "~nNtTfF.+-<", s[0]) == NULL))
        return SP_NONE; /* the hot path: most scalars start otherwise */
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strlen(table[i].text) == n && memcmp(table[i].text, s, n) == 0)
            return table[i].kind;
    for (size_t i = 0; v2 && i < sizeof(v2_true) / sizeof(v2_true[0]); i++) {
        if (strlen(v2_true[i]) == n && memcmp(v2_true[i], s, n) == 0)
            return SP_TRUE;
        if (strlen(v2_false[i]) == n && memcmp(v2_false[i], s, n) == 0)
            return SP_FALSE;
    }
    return SP_NONE;
}

/* Type a plain untagged scalar. *out is NULL with 0 for "it is a string". */
static int resolve_plain(struct builder *b, const yaml_event_t *ev, json_t **out)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    char c = n ? s[0] : '\0';

    *out = NULL;
    int v2 = (b->flags & GF_YAML_V2_TYPING) != 0;

    switch (special_value(s, n, v2)) {
    case SP_NULL:
        *out = json_null();
        return 0;
    case SP_TRUE:
        *out = json_true();
        return 0;
    case SP_FALSE:
        *out = json_false();
        return 0;
    case SP_INF:
    case SP_NAN:
        return fail_at(b, GF_EINVAL, ev->start_mark,
                       "%.*s cannot be represented in JSON (kubectl fails on it too); "
                       "quote it to keep it as a string",
                       (int)n, s);
    default:
        break;
    }
    if (c >= '0' && c <= '9' && !v2) {
        int error = resolve_timestamp(b, ev, out);
        if (error < 0 || *out != NULL)
            return error;
    }
    if ((c >= '0' && c <= '9') || c == '+' || c == '-')
        *out = resolve_number(s, n, v2);
    else if (c == '.')
        *out = resolve_dot(s, n);
    return 0;
}

static int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64 with padding; CR and LF are ignored, as Go's decoder does. */
static char *base64_decode(const char *s, size_t n, size_t *len_out)
{
    char *out = malloc(n / 4 * 3 + 3);
    size_t len = 0, quad = 0, pad = 0;
    uint32_t acc = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int v = base64_value(s[i]);
        if (s[i] == '\r' || s[i] == '\n')
            continue;
        if (pad > 0 && quad == 0)
            goto bad; /* something after the padded final group */
        if (s[i] == '=' && quad >= 2)
            pad++;
        else if (v < 0 || pad > 0)
            goto bad;
        acc = acc << 6 | (uint32_t)(v < 0 ? 0 : v);
        if (++quad < 4)
            continue;
        out[len++] = (char)(acc >> 16);
        if (pad < 2)
            out[len++] = (char)(acc >> 8);
        if (pad < 1)
            out[len++] = (char)acc;
        quad = 0;
        acc = 0;
    }
    if (quad == 0) {
        *len_out = len;
        return out;
    }
bad:
    free(out);
    return NULL;
}

static int resolve_binary(struct builder *b, const yaml_event_t *ev, json_t **out)
{
    size_t len;
    char *raw = base64_decode((const char *)ev->data.scalar.value, ev->data.scalar.length, &len);

    if (raw == NULL)
        return fail_at(b, GF_EINVAL, ev->start_mark, "!!binary value is not valid base64");
    *out = json_stringn(raw, len);
    free(raw);
    if (*out == NULL)
        return fail_at(b, GF_EINVAL, ev->start_mark,
                       "!!binary data is not UTF-8 text, which a JSON string cannot hold");
    return 0;
}

/* !!int and !!float: an integer for !!int (beyond int64 is refused, as it
 * cannot be one here), any number for !!float. NULL when it is none. */
static json_t *tagged_number(const char *s, size_t n, int is_int, int v2)
{
    char c = n ? s[0] : '\0';
    json_t *v = NULL, *r;

    if (c == '.')
        v = resolve_dot(s, n);
    else if ((c >= '0' && c <= '9') || c == '+' || c == '-')
        v = resolve_number(s, n, v2);
    if (v == NULL || is_int == json_is_integer(v))
        return v;
    if (is_int) {
        json_decref(v);
        return NULL;
    }
    r = json_real((double)json_integer_value(v));
    json_decref(v);
    return r;
}

/* A scalar with an explicit !!tag: the value must read as that type. */
static int resolve_tagged(struct builder *b, const yaml_event_t *ev, const char *type, json_t **out)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    int v2 = (b->flags & GF_YAML_V2_TYPING) != 0, error;
    enum special sp = special_value(s, n, v2);
    json_t *v = NULL;
    char buf[256];

    *out = NULL;
    if (strcmp(type, "str") == 0)
        return 0;
    if (strcmp(type, "binary") == 0)
        return resolve_binary(b, ev, out);
    if (strcmp(type, "timestamp") == 0) {
        if ((error = resolve_timestamp(b, ev, &v)) < 0)
            return error;
        if (v != NULL && v2) { /* go-yaml v2 hands timestamps over as written */
            json_decref(v);
            v = json_stringn_nocheck(s, n);
        }
    } else if (strcmp(type, "null") == 0) {
        v = sp == SP_NULL ? json_null() : NULL;
    } else if (strcmp(type, "bool") == 0) {
        v = sp == SP_TRUE || sp == SP_FALSE ? json_boolean(sp == SP_TRUE) : NULL;
    } else {
        v = tagged_number(s, n, strcmp(type, "int") == 0, v2);
    }
    if (v == NULL)
        return fail_at(b, GF_EINVAL, ev->start_mark, "cannot read \"%s\" as !!%s",
                       excerpt(s, n, buf, sizeof(buf)), type);
    *out = v;
    return 0;
}

/* Is `tag` one we honour on a scalar? Sets *type to the !!name, or NULL for
 * none. A lone "!" means "no specific tag": go-yaml still types the scalar. */
static int scalar_tag(struct builder *b, const yaml_event_t *ev, const char **type)
{
    static const char *known[] = {"str", "int", "float", "bool", "null", "binary", "timestamp"};
    const char *tag = (const char *)ev->data.scalar.tag;
    char buf[128];

    *type = NULL;
    if (tag == NULL || strcmp(tag, "!") == 0)
        return 0;
    if (strncmp(tag, YAML_TAG_PREFIX, strlen(YAML_TAG_PREFIX)) == 0) {
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            if (strcmp(tag + strlen(YAML_TAG_PREFIX), known[i]) == 0) {
                *type = known[i];
                return 0;
            }
    }
    return fail_at(b, GF_EINVAL, ev->start_mark,
                   "unknown tag %s on a scalar; expected one of !!str !!int !!float !!bool "
                   "!!null !!binary !!timestamp",
                   short_tag(tag, buf, sizeof(buf)));
}

/* The JSON value of a scalar event (a new reference). */
static int resolve_scalar(struct builder *b, const yaml_event_t *ev, json_t **out)
{
    const char *type;
    int error;

    *out = NULL;
    if ((error = scalar_tag(b, ev, &type)) < 0)
        return error;
    if (type != NULL)
        error = resolve_tagged(b, ev, type, out);
    else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        error = resolve_plain(b, ev, out);
    if (error < 0)
        return error;
    if (*out == NULL)
        *out = json_stringn_nocheck((const char *)ev->data.scalar.value, ev->data.scalar.length);
    return *out ? 0 : out_of_memory(b);
}

/* ---- the tree builder ---------------------------------------------------- */

static struct frame *top_frame(struct builder *b)
{
    return b->depth ? &b->stack[b->depth - 1] : NULL;
}

/* In a mapping that waits for a key? */
static int wants_key(const struct frame *f)
{
    return f != NULL && json_is_object(f->node) && !f->have_key;
}

static int count_nodes(struct builder *b, size_t n, yaml_mark_t mark)
{
    if (n > b->lim.max_nodes || b->nodes > b->lim.max_nodes - n)
        return fail_at(b, GF_ETOOBIG, mark,
                       "document expands to more than %zu nodes (aliases included); "
                       "refusing it (alias bomb?)",
                       b->lim.max_nodes);
    b->nodes += n;
    return 0;
}

static int push_line(struct builder *b, size_t line)
{
    if (b->nlines == b->lines_cap) {
        size_t ncap = b->lines_cap ? b->lines_cap * 2 : 256;
        size_t *nl = realloc(b->lines, ncap * sizeof(*nl));
        if (nl == NULL)
            return out_of_memory(b);
        b->lines = nl;
        b->lines_cap = ncap;
    }
    b->lines[b->nlines++] = line;
    return 0;
}

static int register_anchor(struct builder *b, const char *name, json_t *value, size_t nodes,
                           size_t height)
{
    json_t *entry = json_pack("[OII]", value, (json_int_t)nodes, (json_int_t)height);

    if (entry == NULL || json_object_set_new(b->anchors, name, entry) < 0)
        return out_of_memory(b);
    return 0;
}

/* Copy the pairs of `src` that `f`'s mapping lacks: explicit keys and earlier
 * merges win, as the YAML merge-key spec says. */
static int merge_map(struct builder *b, struct frame *f, json_t *src)
{
    const char *key;
    size_t klen;
    json_t *value;

    if (f->merged == NULL && (f->merged = json_object()) == NULL)
        return out_of_memory(b);
    json_object_keylen_foreach(src, key, klen, value)
    {
        if (json_object_getn(f->node, key, klen) != NULL)
            continue;
        json_t *slot = json_integer((json_int_t)json_object_size(f->node));
        if (slot == NULL || json_object_setn_new_nocheck(f->merged, key, klen, slot) < 0 ||
            push_line(b, f->key_line) < 0 ||
            json_object_setn_nocheck(f->node, key, klen, value) < 0)
            return out_of_memory(b);
    }
    b->shared = 1;
    return 0;
}

static const char *kind_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "mapping";
    case JSON_ARRAY:
        return "sequence";
    case JSON_STRING:
        return "string";
    case JSON_NULL:
        return "null";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "number";
    }
}

static int apply_merge(struct builder *b, struct frame *f, json_t *value, yaml_mark_t mark)
{
    size_t i;
    json_t *item;

    if (json_is_object(value))
        return merge_map(b, f, value);
    if (!json_is_array(value))
        return fail_at(b, GF_EINVAL, mark,
                       "the << merge key expects a mapping or a sequence of mappings, found a %s",
                       kind_name(value));
    json_array_foreach(value, i, item)
    {
        if (!json_is_object(item))
            return fail_at(b, GF_EINVAL, mark,
                           "the << merge key expects a sequence of mappings, item %zu is a %s",
                           i + 1, kind_name(item));
    }
    json_array_foreach(value, i, item)
    {
        int error = merge_map(b, f, item);
        if (error < 0)
            return error;
    }
    return 0;
}

/* Store `value` (owned) under the pending key of mapping frame `f`. */
static int insert_pair(struct builder *b, struct frame *f, json_t *value, yaml_mark_t mark)
{
    json_t *slot;
    int error = 0;

    f->have_key = 0;
    if (f->key_is_merge) {
        error = apply_merge(b, f, value, mark);
        json_decref(value);
        return error;
    }
    if (f->merged && (slot = json_object_getn(f->merged, f->kbuf, f->klen)) != NULL) {
        /* An explicit key overrides a merged one, in the merged one's place. */
        b->lines[f->lines_base + (size_t)json_integer_value(slot)] = f->key_line;
        json_object_deln(f->merged, f->kbuf, f->klen);
    } else if (!f->key_replaces && (error = push_line(b, f->key_line)) < 0) {
        json_decref(value);
        return error;
    }
    if (json_object_setn_new_nocheck(f->node, f->kbuf, f->klen, value) < 0)
        return out_of_memory(b);
    return 0;
}

/* A finished node (owned): register its anchor, then hang it in its parent
 * or make it the document's root. */
static int complete(struct builder *b, json_t *value, size_t nodes, size_t height,
                    const char *anchor, yaml_mark_t mark)
{
    struct frame *parent = top_frame(b);
    int error;

    if (anchor && (error = register_anchor(b, anchor, value, nodes, height)) < 0) {
        json_decref(value);
        return error;
    }
    if (parent == NULL) {
        b->root = value;
        return 0;
    }
    parent->nodes += nodes;
    if (height + 1 > parent->height)
        parent->height = height + 1;
    if (json_is_array(parent->node))
        return json_array_append_new(parent->node, value) < 0 ? out_of_memory(b) : 0;
    return insert_pair(b, parent, value, mark);
}

static int duplicate_key(struct builder *b, struct frame *f, const char *key, size_t klen,
                         yaml_mark_t mark)
{
    size_t i = 0, first = 0;
    char buf[256];

    for (void *it = json_object_iter(f->node); it; it = json_object_iter_next(f->node, it), i++)
        if (json_object_iter_key_len(it) == klen &&
            memcmp(json_object_iter_key(it), key, klen) == 0) {
            first = b->lines[f->lines_base + i];
            break;
        }
    return fail_at(b, GF_EINVAL, mark, "duplicate key \"%s\" (first at line %zu)",
                   excerpt(key, klen, buf, sizeof(buf)), first);
}

/* A key arrives for mapping frame `f`. */
static int set_key(struct builder *b, struct frame *f, const char *key, size_t klen, int is_merge,
                   yaml_mark_t mark)
{
    int last_wins = b->flags & GF_YAML_LAST_KEY_WINS;

    f->key_replaces = 0;
    if (is_merge) {
        if (f->had_merge && !last_wins)
            return fail_at(b, GF_EINVAL, mark, "duplicate key \"<<\" (merge key given twice)");
        f->had_merge = 1;
    } else if (json_object_getn(f->node, key, klen) != NULL &&
               (f->merged == NULL || json_object_getn(f->merged, key, klen) == NULL)) {
        if (!last_wins)
            return duplicate_key(b, f, key, klen, mark);
        f->key_replaces = 1;
    }
    if (klen + 1 > f->kcap) {
        size_t ncap = klen + 64;
        char *nb = realloc(f->kbuf, ncap);
        if (nb == NULL)
            return out_of_memory(b);
        f->kbuf = nb;
        f->kcap = ncap;
    }
    memcpy(f->kbuf, key, klen);
    f->kbuf[klen] = '\0';
    f->klen = klen;
    f->have_key = 1;
    f->key_is_merge = is_merge;
    f->key_line = mark.line + 1;
    return 0;
}

/* Go's strconv.FormatFloat(f, 'g', -1, 32): the fewest digits that read
 * back as the same float32; exponent form below 1e-4 and from 1e6 up. */
static void float32_text(char *buf, size_t size, double d)
{
    float f;
    int digits = 1, exp;

    if (fabs(d) > FLT_MAX) { /* Go's float32() makes it infinite, sigs.k8s.io/yaml ".inf" */
        snprintf(buf, size, "%s", d < 0 ? "-.inf" : ".inf");
        return;
    }
    f = (float)d;

    for (; digits < 9; digits++) {
        snprintf(buf, size, "%.*e", digits - 1, (double)f);
        if ((float)strtod(buf, NULL) == f)
            break;
    }
    snprintf(buf, size, "%.*e", digits - 1, (double)f);
    exp = atoi(strchr(buf, 'e') + 1);
    if (f != 0 && (exp < -4 || exp >= 6))
        return;
    snprintf(buf, size, "%.*f", digits - 1 - exp > 0 ? digits - 1 - exp : 0, (double)f);
}

/* The JSON key for a typed scalar that is no string: what sigs.k8s.io/yaml
 * makes of it in v2 mode (kustomization.yaml), else its JSON text. */
static int key_text(struct builder *b, const json_t *v, char *buf, size_t size, yaml_mark_t mark)
{
    int v2 = (b->flags & GF_YAML_V2_TYPING) != 0;

    if (json_is_object(v) || json_is_array(v))
        return fail_at(b, GF_EINVAL, mark,
                       "a mapping key must be a scalar, this alias is a %s (Kubernetes keys "
                       "are strings)",
                       kind_name(v));
    if (json_is_null(v) && v2)
        return fail_at(b, GF_EINVAL, mark, "a null mapping key has no JSON spelling");
    if (json_is_integer(v))
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v) && v2)
        float32_text(buf, size, json_real_value(v));
    else if (json_is_real(v))
        snprintf(buf, size, "%.17g", json_real_value(v));
    else
        snprintf(buf, size, "%s", json_is_null(v) ? "null" : json_is_true(v) ? "true" : "false");
    return 0;
}

/* A scalar or alias in key position. Strings are used as they are; other
 * types keep their source text (go-yaml v3 mode) or are converted. */
static int typed_key(struct builder *b, struct frame *f, const json_t *v, const char *text,
                     size_t len, yaml_mark_t mark)
{
    char buf[64];
    int error;

    if (text != NULL && !(b->flags & GF_YAML_V2_TYPING))
        return set_key(b, f, text, len, 0, mark);
    if (json_is_string(v))
        return set_key(b, f, json_string_value(v), json_string_length(v), 0, mark);
    if ((error = key_text(b, v, buf, sizeof(buf), mark)) < 0)
        return error;
    return set_key(b, f, buf, strlen(buf), 0, mark);
}

static int on_key_scalar(struct builder *b, struct frame *f, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    const char *anchor = (const char *)ev->data.scalar.anchor;
    size_t n = ev->data.scalar.length;
    json_t *value;
    int error;

    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.tag == NULL && n == 2 &&
        memcmp(s, "<<", 2) == 0)
        return set_key(b, f, s, n, 1, ev->start_mark);
    if (!(b->flags & GF_YAML_V2_TYPING) && anchor == NULL) { /* the source text */
        const char *type;
        if ((error = scalar_tag(b, ev, &type)) < 0)
            return error;
        return set_key(b, f, s, n, 0, ev->start_mark);
    }
    if ((error = resolve_scalar(b, ev, &value)) < 0)
        return error;
    /* An anchored key may be aliased as a value later. */
    if (anchor == NULL || (error = register_anchor(b, anchor, value, 1, 0)) == 0)
        error = typed_key(b, f, value, s, n, ev->start_mark);
    json_decref(value);
    return error;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
    struct frame *f = top_frame(b);
    json_t *value;
    int error;

    if (ev->data.scalar.length > b->lim.max_scalar)
        return fail_at(b, GF_ETOOBIG, ev->start_mark,
                       "scalar of %zu bytes is over the limit of %zu", ev->data.scalar.length,
                       b->lim.max_scalar);
    if ((error = count_nodes(b, 1, ev->start_mark)) < 0)
        return error;
    if (wants_key(f))
        return on_key_scalar(b, f, ev);
    if ((error = resolve_scalar(b, ev, &value)) < 0)
        return error;
    return complete(b, value, 1, 0, (const char *)ev->data.scalar.anchor, ev->start_mark);
}

static int on_alias(struct builder *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    json_t *entry = json_object_get(b->anchors, name);
    struct frame *f = top_frame(b);
    json_t *value;
    size_t nodes, height;
    int error;

    if (entry == NULL)
        return fail_at(b, GF_EINVAL, ev->start_mark,
                       "alias *%s names no anchor; expected an &%s earlier in this document", name,
                       name);
    value = json_array_get(entry, 0);
    nodes = (size_t)json_integer_value(json_array_get(entry, 1));
    height = (size_t)json_integer_value(json_array_get(entry, 2));
    if ((error = count_nodes(b, nodes, ev->start_mark)) < 0)
        return error;
    if (wants_key(f))
        return typed_key(b, f, value, NULL, 0, ev->start_mark);
    if (b->depth + height > b->lim.max_depth)
        return fail_at(b, GF_ETOOBIG, ev->start_mark,
                       "alias *%s nests collections deeper than %zu levels", name,
                       b->lim.max_depth);
    b->shared = 1;
    return complete(b, json_incref(value), nodes, height, NULL, ev->start_mark);
}

/* Check the tag of a collection: none, "!", or the matching !!map / !!seq. */
static int collection_tag(struct builder *b, const yaml_event_t *ev, int is_map)
{
    const char *tag =
        (const char *)(is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
    const char *want = is_map ? YAML_TAG_PREFIX "map" : YAML_TAG_PREFIX "seq";
    char buf[128];

    if (tag == NULL || strcmp(tag, "!") == 0 || strcmp(tag, want) == 0)
        return 0;
    return fail_at(b, GF_EINVAL, ev->start_mark, "unknown tag %s on a %s; expected %s or none",
                   short_tag(tag, buf, sizeof(buf)), is_map ? "mapping" : "sequence",
                   is_map ? "!!map" : "!!seq");
}

static int push_frame(struct builder *b, json_t *node, const char *anchor, yaml_mark_t mark)
{
    struct frame *f;

    if (b->depth == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 32;
        struct frame *ns = realloc(b->stack, ncap * sizeof(*ns));
        if (ns == NULL)
            return out_of_memory(b);
        memset(ns + b->cap, 0, (ncap - b->cap) * sizeof(*ns));
        b->stack = ns;
        b->cap = ncap;
    }
    f = &b->stack[b->depth];
    if (anchor && (f->anchor = strdup(anchor)) == NULL)
        return out_of_memory(b);
    b->depth++;
    f->node = node;
    f->nodes = 1;
    f->height = 1;
    f->lines_base = b->nlines;
    f->start = mark;
    f->have_key = f->key_is_merge = f->had_merge = 0;
    f->merged = NULL;
    return 0;
}

static int begin_collection(struct builder *b, const yaml_event_t *ev, int is_map)
{
    const char *anchor =
        (const char *)(is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor);
    const char *kind = is_map ? "mapping" : "sequence";
    json_t *node;
    int error;

    if (wants_key(top_frame(b)))
        return fail_at(b, GF_EINVAL, ev->start_mark,
                       "a mapping key must be a scalar, found a %s (Kubernetes keys are strings)",
                       kind);
    if ((error = collection_tag(b, ev, is_map)) < 0)
        return error;
    if (b->depth >= b->lim.max_depth)
        return fail_at(b, GF_ETOOBIG, ev->start_mark, "collections nested deeper than %zu levels",
                       b->lim.max_depth);
    if ((error = count_nodes(b, 1, ev->start_mark)) < 0)
        return error;
    if ((node = is_map ? json_object() : json_array()) == NULL)
        return out_of_memory(b);
    if ((error = push_frame(b, node, anchor, ev->start_mark)) < 0)
        json_decref(node);
    return error;
}

static int end_collection(struct builder *b)
{
    struct frame *f = &b->stack[--b->depth];
    json_t *node = f->node;
    char *anchor = f->anchor;
    size_t nodes = f->nodes, height = f->height;
    yaml_mark_t start = f->start;
    int error;

    f->node = NULL;
    f->anchor = NULL;
    json_decref(f->merged);
    f->merged = NULL;
    b->nlines = f->lines_base;
    error = complete(b, node, nodes, height, anchor, start);
    free(anchor);
    return error;
}

/* Aliases and merges share nodes; give every place its own copy so that
 * callers may edit the tree. Iterative: the depth was bounded while building,
 * but keep the stack off the C stack anyway. */
static int unshare(struct builder *b, json_t *root)
{
    size_t n = 0, cap = 64;
    json_t **todo = malloc(cap * sizeof(*todo));
    int error = 0;

    if (todo == NULL)
        return out_of_memory(b);
    todo[n++] = root;
    while (n > 0 && error == 0) {
        json_t *node = todo[--n], *child, *copy;
        size_t count = json_is_object(node) ? json_object_size(node) : json_array_size(node);
        void *it = json_is_object(node) ? json_object_iter(node) : NULL;
        for (size_t i = 0; i < count && error == 0; i++) {
            child = it ? json_object_iter_value(it) : json_array_get(node, i);
            if (child->refcount > 1 && child->refcount != (size_t)-1) {
                if ((copy = json_deep_copy(child)) == NULL)
                    error = out_of_memory(b);
                else if (it)
                    json_object_iter_set_new(node, it, copy);
                else
                    json_array_set_new(node, i, copy);
            } else if (json_is_object(child) || json_is_array(child)) {
                if (n == cap) {
                    json_t **nt = realloc(todo, (cap *= 2) * sizeof(*todo));
                    if (nt == NULL) {
                        error = out_of_memory(b);
                        break;
                    }
                    todo = nt;
                }
                todo[n++] = child;
            }
            if (it)
                it = json_object_iter_next(node, it);
        }
    }
    free(todo);
    return error;
}

static int end_document(struct builder *b)
{
    json_t *root = b->root;
    int error = 0;

    b->root = NULL;
    json_object_clear(b->anchors);
    if (root == NULL)
        root = json_null();
    if (b->shared && (error = unshare(b, root)) < 0) {
        json_decref(root);
        return error;
    }
    b->shared = 0;
    if (json_is_null(root) && !(b->flags & GF_YAML_KEEP_EMPTY))
        return 0;
    return json_array_append_new(b->out, root) < 0 ? out_of_memory(b) : 0;
}

static int on_event(struct builder *b, const yaml_event_t *ev, int *done)
{
    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        *done = 1;
        return 0;
    case YAML_DOCUMENT_START_EVENT:
        if (++b->documents > b->lim.max_documents)
            return fail_at(b, GF_ETOOBIG, ev->start_mark, "more than %zu documents in one stream",
                           b->lim.max_documents);
        return 0;
    case YAML_DOCUMENT_END_EVENT:
        return end_document(b);
    case YAML_MAPPING_START_EVENT:
        return begin_collection(b, ev, 1);
    case YAML_SEQUENCE_START_EVENT:
        return begin_collection(b, ev, 0);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        return end_collection(b);
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev);
    default:
        return 0;
    }
}

static int run(struct builder *b)
{
    yaml_event_t ev;
    int done = 0, error = 0;

    while (!done && error == 0) {
        if (!yaml_parser_parse(&b->parser, &ev))
            return parser_error(b);
        error = on_event(b, &ev, &done);
        yaml_event_delete(&ev);
    }
    return error;
}

static void builder_free(struct builder *b)
{
    for (size_t i = 0; i < b->cap; i++) {
        json_decref(b->stack[i].node);
        json_decref(b->stack[i].merged);
        free(b->stack[i].anchor);
        free(b->stack[i].kbuf);
    }
    free(b->stack);
    free(b->lines);
    json_decref(b->anchors);
    json_decref(b->root);
    json_decref(b->out);
    yaml_parser_delete(&b->parser);
}

static void apply_limits(struct gf_yaml_limits *lim, const struct gf_yaml_limits *given)
{
    static const struct gf_yaml_limits none;

    if (given == NULL)
        given = &none;
    lim->max_input = given->max_input ? given->max_input : DEFAULT_MAX_INPUT;
    lim->max_depth = given->max_depth ? given->max_depth : DEFAULT_MAX_DEPTH;
    lim->max_scalar = given->max_scalar ? given->max_scalar : DEFAULT_MAX_SCALAR;
    lim->max_nodes = given->max_nodes ? given->max_nodes : DEFAULT_MAX_NODES;
    lim->max_documents = given->max_documents ? given->max_documents : DEFAULT_MAX_DOCUMENTS;
}

int gf_yaml_parse(json_t **out, const char *data, size_t len, const char *name,
                  const struct gf_yaml_limits *limits, int flags)
{
    struct builder b;
    int error;

    *out = NULL;
    memset(&b, 0, sizeof(b));
    b.name = name;
    b.data = data;
    b.len = len;
    b.flags = flags;
    apply_limits(&b.lim, limits);
    if (data == NULL && len > 0)
        return gf_error_set(GF_EINVAL, "%s: no input", display_name(&b));
    if (len > b.lim.max_input)
        return gf_error_set(GF_ETOOBIG, "%s: %zu bytes of YAML is over the limit of %zu",
                            display_name(&b), len, b.lim.max_input);
    if (!yaml_parser_initialize(&b.parser))
        return out_of_memory(&b);
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)(data ? data : ""), len);
    if ((b.anchors = json_object()) == NULL || (b.out = json_array()) == NULL)
        error = out_of_memory(&b);
    else
        error = run(&b);
    if (error == 0) {
        *out = b.out;
        b.out = NULL;
    }
    builder_free(&b);
    return error;
}

int gf_yaml_parse_one(json_t **out, const char *data, size_t len, const char *name,
                      const struct gf_yaml_limits *limits)
{
    json_t *docs;
    size_t n;
    int error;

    *out = NULL;
    if ((error = gf_yaml_parse(&docs, data, len, name, limits, 0)) < 0)
        return error;
    n = json_array_size(docs);
    if (n > 1) {
        json_decref(docs);
        return gf_error_set(GF_EINVAL, "%s: expected one YAML document, found %zu",
                            name ? name : "<input>", n);
    }
    *out = n == 1 ? json_incref(json_array_get(docs, 0)) : json_null();
    json_decref(docs);
    return 0;
}

int gf_yaml_parse_file(json_t **out, const char *path, const struct gf_yaml_limits *limits,
                       int flags)
{
    struct gf_yaml_limits lim;
    struct stat st;
    char *data;
    size_t len;
    int error;

    *out = NULL;
    apply_limits(&lim, limits);
    /* Refuse a big file before reading any of it (gf_fs_read would stop
     * at the limit too, but only after reading that much). */
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size > lim.max_input)
        return gf_error_set(GF_ETOOBIG, "%s: %jd bytes of YAML is over the limit of %zu", path,
                            (intmax_t)st.st_size, lim.max_input);
    if ((error = gf_fs_read(&data, &len, path, lim.max_input)) < 0)
        return error;
    error = gf_yaml_parse(out, data, len, path, &lim, flags);
    free(data);
    return error;
}
