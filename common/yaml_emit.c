/* yaml_emit.c -- document trees written as YAML byte for byte as kubectl writes them */
#include "gitfleet/yaml_emit.h"

#include "gitfleet/error.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * kubectl prints every resource through go-yaml v2's Marshal (see
 * notes/kubernetes-facts.md §2). This file mirrors that emitter's state --
 * column, indent, "last write was whitespace", "we are in the indentation" --
 * because its line folding and sequence placement depend on them, and picks
 * scalar styles with v2's YAML 1.1 resolver, which decides what must be
 * quoted. Nodes are walked recursively instead of through an event queue;
 * the lookahead the event emitter needs (empty collection? simple key?) is
 * then just a look at the node.
 */

#define BEST_INDENT 2
#define BEST_WIDTH  80
#define MAX_KEY_LEN 128   /* longer keys are written as "? key" */
#define MAX_DEPTH   10000 /* recursion bound; parsers stop far earlier */

enum style { STYLE_PLAIN, STYLE_SINGLE, STYLE_DOUBLE, STYLE_LITERAL };

struct emitter {
    char *buf;
    size_t len, cap;
    int error;
    int column;      /* characters (not bytes) written on this line */
    int indent;      /* the current block indentation, -1 before the root */
    bool whitespace; /* the last thing written was whitespace or an opener */
    bool indention;  /* nothing but indentation written on this line */
    int depth;
};

/* ---- output primitives ---------------------------------------------------------------- */

static void put_bytes(struct emitter *e, const char *s, size_t n)
{
    if (e->error != 0)
        return;
    if (e->cap - e->len < n + 1) {
        size_t cap = e->cap ? e->cap : 1024;
        while (cap - e->len < n + 1)
            cap *= 2;
        char *buf = realloc(e->buf, cap);
        if (buf == NULL) {
            e->error = gf_error_set(GF_ENOMEM, "yaml emit: out of memory");
            return;
        }
        e->buf = buf;
        e->cap = cap;
    }
    memcpy(e->buf + e->len, s, n);
    e->len += n;
}

static void put(struct emitter *e, char c)
{
    put_bytes(e, &c, 1);
    e->column++;
}

static void put_break(struct emitter *e)
{
    put_bytes(e, "\n", 1);
    e->column = 0;
    e->indention = true;
}

/* Length of the UTF-8 sequence led by byte c (input is valid UTF-8). */
static int utf8_width(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        return 2;
    if ((c & 0xF0) == 0xE0)
        return 3;
    return 4;
}

/* Copy one character; a column is one character, whatever its byte length. */
static void write_char(struct emitter *e, const char *s, size_t *i)
{
    int w = utf8_width((unsigned char)s[*i]);
    put_bytes(e, s + *i, (size_t)w);
    e->column++;
    *i += (size_t)w;
}

static void write_indent(struct emitter *e)
{
    int indent = e->indent < 0 ? 0 : e->indent;

    if (!e->indention || e->column > indent || (e->column == indent && !e->whitespace))
        put_break(e);
    while (e->column < indent)
        put(e, ' ');
    e->whitespace = true;
    e->indention = true;
}

static void write_indicator(struct emitter *e, const char *ind, bool need_whitespace,
                            bool is_whitespace, bool is_indention)
{
    if (need_whitespace && !e->whitespace)
        put(e, ' ');
    for (size_t i = 0; ind[i] != '\0';)
        write_char(e, ind, &i);
    e->whitespace = is_whitespace;
    e->indention = e->indention && is_indention;
}

/* ---- character classes (yaml.v2's, which are not quite the spec's) -------------------- */

static bool is_break_at(const char *s, size_t len, size_t i)
{
    const unsigned char *b = (const unsigned char *)s;

    if (i >= len)
        return false;
    if (b[i] == '\r' || b[i] == '\n')
        return true;
    if (b[i] == 0xC2 && i + 1 < len && b[i + 1] == 0x85)
        return true; /* NEL */
    return b[i] == 0xE2 && i + 2 < len && b[i + 1] == 0x80 &&
           (b[i + 2] == 0xA8 || b[i + 2] == 0xA9); /* LS, PS */
}

static bool is_space_at(const char *s, size_t len, size_t i)
{
    return i < len && s[i] == ' ';
}

static bool is_blank_at(const char *s, size_t len, size_t i)
{
    return i < len && (s[i] == ' ' || s[i] == '\t');
}

/* v2's printable set: no C0 controls but LF, no DEL, no C1, no surrogates,
 * no BOM/U+FFFE/U+FFFF and nothing outside the BMP. */
static bool is_printable_at(const char *s, size_t len, size_t i)
{
    const unsigned char *b = (const unsigned char *)s;
    unsigned char b1 = i + 1 < len ? b[i + 1] : 0, b2 = i + 2 < len ? b[i + 2] : 0;

    if (b[i] == 0x0A || (b[i] >= 0x20 && b[i] <= 0x7E))
        return true;
    if (b[i] == 0xC2)
        return b1 >= 0xA0;
    if (b[i] > 0xC2 && b[i] < 0xED)
        return true;
    if (b[i] == 0xED)
        return b1 < 0xA0;
    if (b[i] == 0xEE)
        return true;
    if (b[i] == 0xEF)
        return !(b1 == 0xBB && b2 == 0xBF) && !(b1 == 0xBF && (b2 == 0xBE || b2 == 0xBF));
    return false;
}

static bool valid_utf8(const char *s, size_t len)
{
    const unsigned char *b = (const unsigned char *)s;

    for (size_t i = 0; i < len;) {
        int w = utf8_width(b[i]);
        uint32_t cp;
        if (b[i] >= 0x80 && ((b[i] & 0xC0) == 0x80 || b[i] >= 0xF5 || b[i] < 0xC2))
            return false;
        if (i + (size_t)w > len)
            return false;
        cp = w == 1 ? b[i] : (uint32_t)(b[i] & (0xFF >> (w + 1)));
        for (int k = 1; k < w; k++) {
            if ((b[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (b[i + k] & 0x3F);
        }
        if ((w == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (w == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += (size_t)w;
    }
    return true;
}

/* ---- what the plain text would mean to a YAML 1.1 reader (yaml.v2 resolve) ----------- */

static bool all_digits(const char *s, size_t n, int base)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return false;
        if (d >= base)
            return false;
    }
    return true;
}

/* Magnitude of digits in `base`, false when it does not fit in 64 bits. */
static bool digits_value(uint64_t *out, const char *s, size_t n, int base)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        int d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    return true;
}

/* Go's strconv.ParseInt(s, 0, 64) or ParseUint(s, 0, 64) would succeed. */
static bool go_parses_as_int(const char *s, size_t n)
{
    bool neg = false, plus = false;
    int base = 10;
    uint64_t mag;

    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        plus = s[0] == '+';
        s++, n--;
    }
    if (n >= 2 && s[0] == '0' && (s[1] | 0x20) == 'x')
        base = 16, s += 2, n -= 2;
    else if (n >= 2 && s[0] == '0' && (s[1] | 0x20) == 'o')
        base = 8, s += 2, n -= 2;
    else if (n >= 2 && s[0] == '0' && (s[1] | 0x20) == 'b')
        base = 2, s += 2, n -= 2;
    else if (n >= 2 && s[0] == '0')
        base = 8, s += 1, n -= 1;
    if (!all_digits(s, n, base) || !digits_value(&mag, s, n, base))
        return false;
    if (neg)
        return mag <= (uint64_t)INT64_MAX + 1;
    return plus ? mag <= (uint64_t)INT64_MAX : true;
}

/* Go's ParseFloat says "out of range" when the value rounds to infinity. */
static bool float_in_range(const char *s, size_t n)
{
    char tmp[128];
    char *clean = n < sizeof(tmp) ? tmp : malloc(n + 1);
    size_t k = 0;
    double v;

    if (clean == NULL)
        return true;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_')
            clean[k++] = s[i];
    clean[k] = '\0';
    v = strtod(clean, NULL);
    if (clean != tmp)
        free(clean);
    return !isinf(v);
}

static size_t span_digits(const char *s, size_t n, size_t i)
{
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s, size_t n)
{
    size_t i = 0, j;

    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    if (i < n && s[i] == '.') {
        j = span_digits(s, n, i + 1);
        if (j == i + 1)
            return false;
        i = j;
    } else {
        j = span_digits(s, n, i);
        if (j == i)
            return false;
        i = j;
        if (i < n && s[i] == '.')
            i = span_digits(s, n, i + 1);
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        j = span_digits(s, n, i);
        if (j == i)
            return false;
        i = j;
    }
    return i == n;
}

/* Go's ParseFloat on text that starts with '.': digits with single
 * underscores between them, then an optional exponent. */
static bool go_parses_dot_float(const char *s, size_t n)
{
    size_t i = 1;
    bool digit = false;

    for (; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++) {
        if (s[i] == '_' && (!digit || i + 1 >= n || s[i + 1] < '0' || s[i + 1] > '9'))
            return false;
        digit = true;
    }
    if (!digit)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j;
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        j = i;
        for (; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++)
            if (s[i] == '_' && (i == j || i + 1 >= n || s[i + 1] < '0' || s[i + 1] > '9'))
                return false;
        if (i == j)
            return false;
    }
    return i == n && float_in_range(s, n);
}

/* Go's time getnum: one or two digits (exactly two when `fixed`). */
static bool getnum(int *out, const char *s, size_t n, size_t *i, bool fixed)
{
    if (*i >= n || s[*i] < '0' || s[*i] > '9')
        return false;
    if (*i + 1 >= n || s[*i + 1] < '0' || s[*i + 1] > '9') {
        if (fixed)
            return false;
        *out = s[(*i)++] - '0';
        return true;
    }
    *out = (s[*i] - '0') * 10 + (s[*i + 1] - '0');
    *i += 2;
    return true;
}

static bool days_ok(int year, int month, int day)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int max = days[month - 1] + (month == 2 && leap);

    return day >= 1 && day <= max;
}

/* "15:4:5" then an optional fraction, as Go's time.Parse reads the layout. */
static bool parse_clock(const char *s, size_t n, size_t *i)
{
    int h, m, sec;

    if (!getnum(&h, s, n, i, false) || h >= 24 || *i >= n || s[(*i)++] != ':')
        return false;
    if (!getnum(&m, s, n, i, false) || m >= 60 || *i >= n || s[(*i)++] != ':')
        return false;
    if (!getnum(&sec, s, n, i, false) || sec >= 60)
        return false;
    if (*i + 1 < n && (s[*i] == '.' || s[*i] == ',') && s[*i + 1] >= '0' && s[*i + 1] <= '9')
        *i = span_digits(s, n, *i + 1);
    return true;
}

/* Z07:00 */
static bool parse_zone(const char *s, size_t n, size_t i)
{
    int h, m;

    if (i < n && s[i] == 'Z')
        return i + 1 == n;
    if (n - i < 6 || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':')
        return false;
    i++;
    if (!getnum(&h, s, n, &i, true) || h > 24)
        return false;
    i++;
    if (!getnum(&m, s, n, &i, true) || m > 60)
        return false;
    return i == n;
}

/* yaml.v2's parseTimestamp: the layouts "2006-1-2T15:4:5.999999999Z07:00"
 * (also with 't'), "2006-1-2 15:4:5.999999999" and "2006-1-2". */
static bool is_timestamp(const char *s, size_t n)
{
    size_t i = 0;
    int month, day;

    if (span_digits(s, n, 0) != 4 || n == 4 || s[4] != '-')
        return false;
    i = 5;
    if (!getnum(&month, s, n, &i, false) || month < 1 || month > 12)
        return false;
    if (i >= n || s[i++] != '-' || !getnum(&day, s, n, &i, false))
        return false;
    if (!days_ok(atoi(s), month, day))
        return false;
    if (i == n)
        return true;
    if (s[i] == 'T' || s[i] == 't') {
        i++;
        return parse_clock(s, n, &i) && parse_zone(s, n, i);
    }
    if (s[i] == ' ') {
        i++;
        return parse_clock(s, n, &i) && i == n;
    }
    return false;
}

/* ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ -- quoted for old parsers. */
static bool is_base60_float(const char *s, size_t n)
{
    size_t i = 0, groups = 0;

    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    if (i >= n || s[i] < '0' || s[i] > '9')
        return false;
    while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
        i++;
    while (i < n && s[i] == ':') {
        size_t j = span_digits(s, n, i + 1), run = j - (i + 1);
        if (run == 0 || run > 2 || (run == 2 && s[i + 1] > '5'))
            return false;
        i = j;
        groups++;
    }
    if (groups == 0)
        return false;
    if (i < n && s[i] == '.')
        for (i++; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_');)
            i++;
    return i == n;
}

/* The resolver's word list. Its "<<" (merge) is left out: kubectl prints
 * the string "<<" plain. */
static bool in_resolve_map(const char *s, size_t n)
{
    static const char *const words[] = {
        "y",    "Y",    "yes",  "Yes",   "YES",   "true",  "True",  "TRUE",  "on",    "On",
        "ON",   "n",    "N",    "no",    "No",    "NO",    "false", "False", "FALSE", "off",
        "Off",  "OFF",  "",     "~",     "null",  "Null",  "NULL",  ".nan",  ".NaN",  ".NAN",
        ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"};

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strlen(words[i]) == n && memcmp(words[i], s, n) == 0)
            return true;
    return false;
}

/* Int, float or "0b" forms after a digit or sign (underscores dropped). */
static bool resolves_as_number(const char *s, size_t n)
{
    char tmp[128];
    char *plain = n < sizeof(tmp) ? tmp : malloc(n + 1);
    size_t k = 0;
    bool yes;

    if (plain == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_')
            plain[k++] = s[i];
    yes = go_parses_as_int(plain, k) || (yaml_style_float(plain, k) && float_in_range(plain, k));
    /* Base-0 parsing already covers "0b…" and "-0b…", the resolver's last tries. */
    if (plain != tmp)
        free(plain);
    return yes;
}

/* Would yaml.v2 read this text, unquoted, as something other than a string? */
static bool resolves_non_string(const char *s, size_t n)
{
    unsigned char c = n > 0 ? (unsigned char)s[0] : 0;

    if (n == 0 || in_resolve_map(s, n))
        return true;
    if (c == '.')
        return go_parses_dot_float(s, n);
    if ((c >= '0' && c <= '9') || c == '-' || c == '+')
        return is_timestamp(s, n) || resolves_as_number(s, n);
    return false;
}

/* ---- scalar analysis and writers ------------------------------------------------------- */

struct scalar_info {
    bool multiline, plain_allowed, single_allowed, block_allowed;
};

static void analyze_indicators(const char *s, size_t n, size_t i, bool preceded_by_ws,
                               bool *block_ind)
{
    bool followed_by_ws = i + (size_t)utf8_width((unsigned char)s[i]) >= n ||
                          is_blank_at(s, n, i + (size_t)utf8_width((unsigned char)s[i]));

    if (i == 0) {
        if (strchr("#,[]{}&*!|>'\"%@`", s[i]) != NULL && s[i] != '\0')
            *block_ind = true;
        else if ((s[i] == '?' || s[i] == ':' || s[i] == '-') && followed_by_ws)
            *block_ind = true;
    } else if ((s[i] == ':' && followed_by_ws) || (s[i] == '#' && preceded_by_ws)) {
        *block_ind = true;
    }
}

/* yaml.v2's analyze_scalar, for block context (flow collections here are
 * always empty, so no scalar is ever written inside one). */
static struct scalar_info analyze_scalar(const char *s, size_t n)
{
    struct scalar_info r = {false, true, true, false};
    bool block_ind = false, special = false, line_breaks = false;
    bool leading_space = false, leading_break = false, trailing_space = false;
    bool trailing_break = false, break_space = false, space_break = false;
    bool prev_space = false, prev_break = false, preceded_by_ws = true;

    if (n == 0)
        return r;
    if (n >= 3 && (memcmp(s, "---", 3) == 0 || memcmp(s, "...", 3) == 0))
        block_ind = true;
    for (size_t i = 0; i < n; i += (size_t)utf8_width((unsigned char)s[i])) {
        size_t w = (size_t)utf8_width((unsigned char)s[i]);
        analyze_indicators(s, n, i, preceded_by_ws, &block_ind);
        if (!is_printable_at(s, n, i))
            special = true;
        if (is_space_at(s, n, i)) {
            leading_space |= i == 0;
            trailing_space |= i + w == n;
            break_space |= prev_break;
            prev_space = true, prev_break = false;
        } else if (is_break_at(s, n, i)) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= i + w == n;
            space_break |= prev_space;
            prev_space = false, prev_break = true;
        } else {
            prev_space = prev_break = false;
        }
        preceded_by_ws = s[i] == '\0' || is_blank_at(s, n, i) || is_break_at(s, n, i);
    }
    r.multiline = line_breaks;
    r.block_allowed = true;
    if (leading_space || leading_break || trailing_space || trailing_break || line_breaks ||
        block_ind)
        r.plain_allowed = false;
    if (trailing_space)
        r.block_allowed = false;
    if (break_space)
        r.plain_allowed = r.single_allowed = false;
    if (space_break || special)
        r.plain_allowed = r.single_allowed = r.block_allowed = false;
    return r;
}

static void write_break_char(struct emitter *e, const char *s, size_t *i)
{
    if (s[*i] == '\n') {
        put_break(e);
        (*i)++;
        return;
    }
    write_char(e, s, i);
    e->column = 0;
    e->indention = true;
}

static void write_plain(struct emitter *e, const char *s, size_t n, bool allow_breaks)
{
    bool spaces = false, breaks = false;

    if (!e->whitespace)
        put(e, ' ');
    for (size_t i = 0; i < n;) {
        if (s[i] == ' ') {
            if (allow_breaks && !spaces && e->column > BEST_WIDTH && !is_space_at(s, n, i + 1)) {
                write_indent(e);
                i++;
            } else {
                write_char(e, s, &i);
            }
            spaces = true;
        } else if (is_break_at(s, n, i)) {
            if (!breaks && s[i] == '\n')
                put_break(e);
            write_break_char(e, s, &i);
            breaks = true;
        } else {
            if (breaks)
                write_indent(e);
            write_char(e, s, &i);
            e->indention = false;
            spaces = breaks = false;
        }
    }
    e->whitespace = false;
    e->indention = false;
}

static void write_single(struct emitter *e, const char *s, size_t n, bool allow_breaks)
{
    bool spaces = false, breaks = false;

    write_indicator(e, "'", true, false, false);
    for (size_t i = 0; i < n;) {
        if (s[i] == ' ') {
            if (allow_breaks && !spaces && e->column > BEST_WIDTH && i > 0 && i < n - 1 &&
                !is_space_at(s, n, i + 1)) {
                write_indent(e);
                i++;
            } else {
                write_char(e, s, &i);
            }
            spaces = true;
        } else if (is_break_at(s, n, i)) {
            if (!breaks && s[i] == '\n')
                put_break(e);
            write_break_char(e, s, &i);
            breaks = true;
        } else {
            if (breaks)
                write_indent(e);
            if (s[i] == '\'')
                put(e, '\'');
            write_char(e, s, &i);
            e->indention = false;
            spaces = breaks = false;
        }
    }
    write_indicator(e, "'", false, false, false);
    e->whitespace = false;
    e->indention = false;
}

/* yaml.v2's short escapes; anything else is \xXX, \uXXXX or \UXXXXXXXX. */
static const struct {
    uint32_t cp;
    char c;
} short_escapes[] = {
    {0x00, '0'},  {0x07, 'a'}, {0x08, 'b'}, {0x09, 't'},   {0x0A, 'n'},
    {0x0B, 'v'},  {0x0C, 'f'}, {0x0D, 'r'}, {0x1B, 'e'},   {0x22, '"'},
    {0x5C, '\\'}, {0x85, 'N'}, {0xA0, '_'}, {0x2028, 'L'}, {0x2029, 'P'},
};

/* One escaped character; returns the bytes it consumed. */
static size_t write_escape(struct emitter *e, const char *s, size_t i)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *b = (const unsigned char *)s;
    int w = utf8_width(b[i]), digits;
    uint32_t v = w == 1 ? b[i] : (uint32_t)(b[i] & (0xFF >> (w + 1)));

    for (int k = 1; k < w; k++)
        v = (v << 6) | (b[i + k] & 0x3F);
    put(e, '\\');
    for (size_t k = 0; k < sizeof(short_escapes) / sizeof(short_escapes[0]); k++) {
        if (short_escapes[k].cp == v) {
            put(e, short_escapes[k].c);
            return (size_t)w;
        }
    }
    digits = v <= 0xFF ? 2 : v <= 0xFFFF ? 4 : 8;
    put(e, digits == 2 ? 'x' : digits == 4 ? 'u' : 'U');
    for (int k = (digits - 1) * 4; k >= 0; k -= 4)
        put(e, hex[(v >> k) & 0x0F]);
    return (size_t)w;
}

static void write_double(struct emitter *e, const char *s, size_t n, bool allow_breaks)
{
    const unsigned char *b = (const unsigned char *)s;
    /* v2 quirk: its BOM test looks at the start of the string, not at i, so a
     * leading BOM gets every character escaped. */
    bool bom = n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF;
    bool spaces = false;

    write_indicator(e, "\"", true, false, false);
    for (size_t i = 0; i < n;) {
        if (!is_printable_at(s, n, i) || bom || is_break_at(s, n, i) || s[i] == '"' ||
            s[i] == '\\') {
            i += write_escape(e, s, i);
            spaces = false;
        } else if (s[i] == ' ') {
            if (allow_breaks && !spaces && e->column > BEST_WIDTH && i > 0 && i < n - 1) {
                write_indent(e);
                if (is_space_at(s, n, i + 1))
                    put(e, '\\');
                i++;
            } else {
                write_char(e, s, &i);
            }
            spaces = true;
        } else {
            write_char(e, s, &i);
            spaces = false;
        }
    }
    write_indicator(e, "\"", false, false, false);
    e->whitespace = false;
    e->indention = false;
}

/* The header's indentation and chomping indicators. */
static void write_block_hints(struct emitter *e, const char *s, size_t n)
{
    size_t i;

    if (is_space_at(s, n, 0) || is_break_at(s, n, 0)) {
        char hint[2] = {(char)('0' + BEST_INDENT), '\0'};
        write_indicator(e, hint, false, false, false);
    }
    if (n == 0) {
        write_indicator(e, "-", false, false, false);
        return;
    }
    i = n - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    if (!is_break_at(s, n, i)) {
        write_indicator(e, "-", false, false, false);
    } else if (i == 0) {
        write_indicator(e, "+", false, false, false);
    } else {
        i--;
        while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
            i--;
        if (is_break_at(s, n, i))
            write_indicator(e, "+", false, false, false);
    }
}

static void write_literal(struct emitter *e, const char *s, size_t n)
{
    bool breaks = true;

    write_indicator(e, "|", true, false, false);
    write_block_hints(e, s, n);
    put_break(e);
    e->indention = true;
    e->whitespace = true;
    for (size_t i = 0; i < n;) {
        if (is_break_at(s, n, i)) {
            write_break_char(e, s, &i);
            breaks = true;
        } else {
            if (breaks)
                write_indent(e);
            write_char(e, s, &i);
            e->indention = false;
            breaks = false;
        }
    }
}

/* Pick the final style as v2's select_scalar_style does, then write. */
static void emit_scalar(struct emitter *e, const char *s, size_t n, enum style style,
                        bool simple_key)
{
    struct scalar_info info = analyze_scalar(s, n);
    int saved = e->indent;

    if (simple_key && info.multiline)
        style = STYLE_DOUBLE;
    if (style == STYLE_PLAIN && (!info.plain_allowed || (n == 0 && simple_key)))
        style = STYLE_SINGLE;
    if (style == STYLE_SINGLE && !info.single_allowed)
        style = STYLE_DOUBLE;
    if (style == STYLE_LITERAL && (!info.block_allowed || simple_key))
        style = STYLE_DOUBLE;
    e->indent = e->indent < 0 ? BEST_INDENT : e->indent + BEST_INDENT;
    switch (style) {
    case STYLE_PLAIN:
        write_plain(e, s, n, !simple_key);
        break;
    case STYLE_SINGLE:
        write_single(e, s, n, !simple_key);
        break;
    case STYLE_DOUBLE:
        write_double(e, s, n, !simple_key);
        break;
    case STYLE_LITERAL:
        write_literal(e, s, n);
        break;
    }
    e->indent = saved;
}

/* yaml.v2's encoder: newlines ask for a literal block, text that would
 * read back as another type asks for double quotes. */
static void emit_string(struct emitter *e, const char *s, size_t n, bool simple_key)
{
    enum style style = STYLE_PLAIN;

    if (!valid_utf8(s, n)) {
        if (e->error == 0)
            e->error = gf_error_set(GF_EINVAL, "yaml emit: string is not valid UTF-8");
        return;
    }
    if (memchr(s, '\n', n) != NULL)
        style = STYLE_LITERAL;
    else if (resolves_non_string(s, n) || is_base60_float(s, n))
        style = STYLE_DOUBLE;
    emit_scalar(e, s, n, style, simple_key);
}

/* ---- numbers ---------------------------------------------------------------------------- */

/* Shortest decimal digits that read back as v (Go's 'shortest' mode):
 * digits into `digits` (no dot, no sign) and the decimal exponent such that
 * v = 0.DIGITS x 10^dp. */
static void shortest_digits(char *digits, int *dp, double v)
{
    char tmp[40];

    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v || prec == 17)
            break;
    }
    /* tmp is "d.ddde±XX" */
    size_t k = 0;
    char *p = tmp;
    for (; *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[k++] = *p;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    *dp = atoi(p + 1) + 1;
}

/* strconv.FormatFloat(v, 'g', -1, 64) for v != 0: %e form when the
 * decimal exponent is below -4 or at least 6 (precision 6 in shortest mode). */
static void format_go_float(char *out, size_t cap, double v)
{
    char digits[32];
    int dp, nd, exp;
    const char *sign = v < 0 ? "-" : "";

    shortest_digits(digits, &dp, fabs(v));
    nd = (int)strlen(digits);
    exp = dp - 1;
    if (exp < -4 || exp >= 6)
        snprintf(out, cap, "%s%c%s%se%c%02d", sign, digits[0], nd > 1 ? "." : "", digits + 1,
                 exp < 0 ? '-' : '+', abs(exp));
    else if (dp <= 0)
        snprintf(out, cap, "%s0.%.*s%s", sign, -dp, "0000", digits);
    else if (dp >= nd)
        snprintf(out, cap, "%s%s%.*s", sign, digits, dp - nd, "000000");
    else
        snprintf(out, cap, "%s%.*s.%s", sign, dp, digits, digits + dp);
}

/* A float as kubectl prints it: it went through Go's encoding/json, which
 * writes integral values below 1e21 as shortest digits padded with zeros
 * and no dot, and yaml.v2 reads that text back as an integer when it fits
 * in int64 or uint64. Everything else is Go's %g. */
static int format_number(char *out, size_t cap, double v)
{
    char digits[32], text[32];
    int dp, nd;
    uint64_t mag;

    if (isnan(v) || isinf(v))
        return gf_error_set(GF_EINVAL, "yaml emit: %s cannot be written (kubectl refuses it too)",
                            isnan(v) ? "NaN" : "an infinite number");
    if (v == 0) {
        snprintf(out, cap, "0"); /* -0 too: "-0" reads back as the int 0 */
        return 0;
    }
    if (v == floor(v) && fabs(v) < 1e21) {
        shortest_digits(digits, &dp, fabs(v));
        nd = (int)strlen(digits);
        memcpy(text, digits, (size_t)nd);
        for (int k = nd; k < dp; k++)
            text[k] = '0';
        text[dp] = '\0';
        if (digits_value(&mag, text, (size_t)dp, 10) && (v > 0 || mag <= (uint64_t)INT64_MAX + 1)) {
            snprintf(out, cap, "%s%s", v < 0 ? "-" : "", text);
            return 0;
        }
    }
    format_go_float(out, cap, v);
    return 0;
}

/* ---- natural key order (yaml.v2 sorter.go) ---------------------------------------------- */

struct rune_range {
    uint32_t lo, hi;
};

/* Generated from the Unicode 14 character database: categories L* (Go's
 * unicode.IsLetter) and Nd (unicode.IsDigit) above U+007F, with ranges
 * merged across unassigned code points. */
static const struct rune_range letter_ranges[] = {
    {0x00AA, 0x00AA},   {0x00B5, 0x00B5},   {0x00BA, 0x00BA},   {0x00C0, 0x00D6},
    {0x00D8, 0x00F6},   {0x00F8, 0x02C1},   {0x02C6, 0x02D1},   {0x02E0, 0x02E4},
    {0x02EC, 0x02EC},   {0x02EE, 0x02EE},   {0x0370, 0x0374},   {0x0376, 0x037D},
    {0x037F, 0x037F},   {0x0386, 0x0386},   {0x0388, 0x03F5},   {0x03F7, 0x0481},
    {0x048A, 0x0559},   {0x0560, 0x0588},   {0x05D0, 0x05F2},   {0x0620, 0x064A},
    {0x066E, 0x066F},   {0x0671, 0x06D3},   {0x06D5, 0x06D5},   {0x06E5, 0x06E6},
    {0x06EE, 0x06EF},   {0x06FA, 0x06FC},   {0x06FF, 0x06FF},   {0x0710, 0x0710},
    {0x0712, 0x072F},   {0x074D, 0x07A5},   {0x07B1, 0x07B1},   {0x07CA, 0x07EA},
    {0x07F4, 0x07F5},   {0x07FA, 0x07FA},   {0x0800, 0x0815},   {0x081A, 0x081A},
    {0x0824, 0x0824},   {0x0828, 0x0828},   {0x0840, 0x0858},   {0x0860, 0x0887},
    {0x0889, 0x088E},   {0x08A0, 0x08C9},   {0x0904, 0x0939},   {0x093D, 0x093D},
    {0x0950, 0x0950},   {0x0958, 0x0961},   {0x0971, 0x0980},   {0x0985, 0x09B9},
    {0x09BD, 0x09BD},   {0x09CE, 0x09CE},   {0x09DC, 0x09E1},   {0x09F0, 0x09F1},
    {0x09FC, 0x09FC},   {0x0A05, 0x0A39},   {0x0A59, 0x0A5E},   {0x0A72, 0x0A74},
    {0x0A85, 0x0AB9},   {0x0ABD, 0x0ABD},   {0x0AD0, 0x0AE1},   {0x0AF9, 0x0AF9},
    {0x0B05, 0x0B39},   {0x0B3D, 0x0B3D},   {0x0B5C, 0x0B61},   {0x0B71, 0x0B71},
    {0x0B83, 0x0BB9},   {0x0BD0, 0x0BD0},   {0x0C05, 0x0C39},   {0x0C3D, 0x0C3D},
    {0x0C58, 0x0C61},   {0x0C80, 0x0C80},   {0x0C85, 0x0CB9},   {0x0CBD, 0x0CBD},
    {0x0CDD, 0x0CE1},   {0x0CF1, 0x0CF2},   {0x0D04, 0x0D3A},   {0x0D3D, 0x0D3D},
    {0x0D4E, 0x0D4E},   {0x0D54, 0x0D56},   {0x0D5F, 0x0D61},   {0x0D7A, 0x0D7F},
    {0x0D85, 0x0DC6},   {0x0E01, 0x0E30},   {0x0E32, 0x0E33},   {0x0E40, 0x0E46},
    {0x0E81, 0x0EB0},   {0x0EB2, 0x0EB3},   {0x0EBD, 0x0EC6},   {0x0EDC, 0x0F00},
    {0x0F40, 0x0F6C},   {0x0F88, 0x0F8C},   {0x1000, 0x102A},   {0x103F, 0x103F},
    {0x1050, 0x1055},   {0x105A, 0x105D},   {0x1061, 0x1061},   {0x1065, 0x1066},
    {0x106E, 0x1070},   {0x1075, 0x1081},   {0x108E, 0x108E},   {0x10A0, 0x10FA},
    {0x10FC, 0x135A},   {0x1380, 0x138F},   {0x13A0, 0x13FD},   {0x1401, 0x166C},
    {0x166F, 0x167F},   {0x1681, 0x169A},   {0x16A0, 0x16EA},   {0x16F1, 0x1711},
    {0x171F, 0x1731},   {0x1740, 0x1751},   {0x1760, 0x1770},   {0x1780, 0x17B3},
    {0x17D7, 0x17D7},   {0x17DC, 0x17DC},   {0x1820, 0x1884},   {0x1887, 0x18A8},
    {0x18AA, 0x191E},   {0x1950, 0x19C9},   {0x1A00, 0x1A16},   {0x1A20, 0x1A54},
    {0x1AA7, 0x1AA7},   {0x1B05, 0x1B33},   {0x1B45, 0x1B4C},   {0x1B83, 0x1BA0},
    {0x1BAE, 0x1BAF},   {0x1BBA, 0x1BE5},   {0x1C00, 0x1C23},   {0x1C4D, 0x1C4F},
    {0x1C5A, 0x1C7D},   {0x1C80, 0x1CBF},   {0x1CE9, 0x1CEC},   {0x1CEE, 0x1CF3},
    {0x1CF5, 0x1CF6},   {0x1CFA, 0x1DBF},   {0x1E00, 0x1FBC},   {0x1FBE, 0x1FBE},
    {0x1FC2, 0x1FCC},   {0x1FD0, 0x1FDB},   {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FFC},
    {0x2071, 0x2071},   {0x207F, 0x207F},   {0x2090, 0x209C},   {0x2102, 0x2102},
    {0x2107, 0x2107},   {0x210A, 0x2113},   {0x2115, 0x2115},   {0x2119, 0x211D},
    {0x2124, 0x2124},   {0x2126, 0x2126},   {0x2128, 0x2128},   {0x212A, 0x212D},
    {0x212F, 0x2139},   {0x213C, 0x213F},   {0x2145, 0x2149},   {0x214E, 0x214E},
    {0x2183, 0x2184},   {0x2C00, 0x2CE4},   {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},
    {0x2D00, 0x2D6F},   {0x2D80, 0x2DDE},   {0x2E2F, 0x2E2F},   {0x3005, 0x3006},
    {0x3031, 0x3035},   {0x303B, 0x303C},   {0x3041, 0x3096},   {0x309D, 0x309F},
    {0x30A1, 0x30FA},   {0x30FC, 0x318E},   {0x31A0, 0x31BF},   {0x31F0, 0x31FF},
    {0x3400, 0x4DBF},   {0x4E00, 0xA48C},   {0xA4D0, 0xA4FD},   {0xA500, 0xA60C},
    {0xA610, 0xA61F},   {0xA62A, 0xA66E},   {0xA67F, 0xA69D},   {0xA6A0, 0xA6E5},
    {0xA717, 0xA71F},   {0xA722, 0xA788},   {0xA78B, 0xA801},   {0xA803, 0xA805},
    {0xA807, 0xA80A},   {0xA80C, 0xA822},   {0xA840, 0xA873},   {0xA882, 0xA8B3},
    {0xA8F2, 0xA8F7},   {0xA8FB, 0xA8FB},   {0xA8FD, 0xA8FE},   {0xA90A, 0xA925},
    {0xA930, 0xA946},   {0xA960, 0xA97C},   {0xA984, 0xA9B2},   {0xA9CF, 0xA9CF},
    {0xA9E0, 0xA9E4},   {0xA9E6, 0xA9EF},   {0xA9FA, 0xAA28},   {0xAA40, 0xAA42},
    {0xAA44, 0xAA4B},   {0xAA60, 0xAA76},   {0xAA7A, 0xAA7A},   {0xAA7E, 0xAAAF},
    {0xAAB1, 0xAAB1},   {0xAAB5, 0xAAB6},   {0xAAB9, 0xAABD},   {0xAAC0, 0xAAC0},
    {0xAAC2, 0xAADD},   {0xAAE0, 0xAAEA},   {0xAAF2, 0xAAF4},   {0xAB01, 0xAB5A},
    {0xAB5C, 0xAB69},   {0xAB70, 0xABE2},   {0xAC00, 0xD7FB},   {0xF900, 0xFB1D},
    {0xFB1F, 0xFB28},   {0xFB2A, 0xFBB1},   {0xFBD3, 0xFD3D},   {0xFD50, 0xFDC7},
    {0xFDF0, 0xFDFB},   {0xFE70, 0xFEFC},   {0xFF21, 0xFF3A},   {0xFF41, 0xFF5A},
    {0xFF66, 0xFFDC},   {0x10000, 0x100FA}, {0x10280, 0x102D0}, {0x10300, 0x1031F},
    {0x1032D, 0x10340}, {0x10342, 0x10349}, {0x10350, 0x10375}, {0x10380, 0x1039D},
    {0x103A0, 0x103CF}, {0x10400, 0x1049D}, {0x104B0, 0x10563}, {0x10570, 0x10855},
    {0x10860, 0x10876}, {0x10880, 0x1089E}, {0x108E0, 0x108F5}, {0x10900, 0x10915},
    {0x10920, 0x10939}, {0x10980, 0x109B7}, {0x109BE, 0x109BF}, {0x10A00, 0x10A00},
    {0x10A10, 0x10A35}, {0x10A60, 0x10A7C}, {0x10A80, 0x10A9C}, {0x10AC0, 0x10AC7},
    {0x10AC9, 0x10AE4}, {0x10B00, 0x10B35}, {0x10B40, 0x10B55}, {0x10B60, 0x10B72},
    {0x10B80, 0x10B91}, {0x10C00, 0x10CF2}, {0x10D00, 0x10D23}, {0x10E80, 0x10EA9},
    {0x10EB0, 0x10F1C}, {0x10F27, 0x10F45}, {0x10F70, 0x10F81}, {0x10FB0, 0x10FC4},
    {0x10FE0, 0x10FF6}, {0x11003, 0x11037}, {0x11071, 0x11072}, {0x11075, 0x11075},
    {0x11083, 0x110AF}, {0x110D0, 0x110E8}, {0x11103, 0x11126}, {0x11144, 0x11144},
    {0x11147, 0x11172}, {0x11176, 0x11176}, {0x11183, 0x111B2}, {0x111C1, 0x111C4},
    {0x111DA, 0x111DA}, {0x111DC, 0x111DC}, {0x11200, 0x1122B}, {0x11280, 0x112A8},
    {0x112B0, 0x112DE}, {0x11305, 0x11339}, {0x1133D, 0x1133D}, {0x11350, 0x11350},
    {0x1135D, 0x11361}, {0x11400, 0x11434}, {0x11447, 0x1144A}, {0x1145F, 0x114AF},
    {0x114C4, 0x114C5}, {0x114C7, 0x114C7}, {0x11580, 0x115AE}, {0x115D8, 0x115DB},
    {0x11600, 0x1162F}, {0x11644, 0x11644}, {0x11680, 0x116AA}, {0x116B8, 0x116B8},
    {0x11700, 0x1171A}, {0x11740, 0x1182B}, {0x118A0, 0x118DF}, {0x118FF, 0x1192F},
    {0x1193F, 0x1193F}, {0x11941, 0x11941}, {0x119A0, 0x119D0}, {0x119E1, 0x119E1},
    {0x119E3, 0x119E3}, {0x11A00, 0x11A00}, {0x11A0B, 0x11A32}, {0x11A3A, 0x11A3A},
    {0x11A50, 0x11A50}, {0x11A5C, 0x11A89}, {0x11A9D, 0x11A9D}, {0x11AB0, 0x11C2E},
    {0x11C40, 0x11C40}, {0x11C72, 0x11C8F}, {0x11D00, 0x11D30}, {0x11D46, 0x11D46},
    {0x11D60, 0x11D89}, {0x11D98, 0x11D98}, {0x11EE0, 0x11EF2}, {0x11FB0, 0x11FB0},
    {0x12000, 0x12399}, {0x12480, 0x12FF0}, {0x13000, 0x1342E}, {0x14400, 0x16A5E},
    {0x16A70, 0x16ABE}, {0x16AD0, 0x16AED}, {0x16B00, 0x16B2F}, {0x16B40, 0x16B43},
    {0x16B63, 0x16E7F}, {0x16F00, 0x16F4A}, {0x16F50, 0x16F50}, {0x16F93, 0x16FE1},
    {0x16FE3, 0x16FE3}, {0x17000, 0x1BC99}, {0x1D400, 0x1D6C0}, {0x1D6C2, 0x1D6DA},
    {0x1D6DC, 0x1D6FA}, {0x1D6FC, 0x1D714}, {0x1D716, 0x1D734}, {0x1D736, 0x1D74E},
    {0x1D750, 0x1D76E}, {0x1D770, 0x1D788}, {0x1D78A, 0x1D7A8}, {0x1D7AA, 0x1D7C2},
    {0x1D7C4, 0x1D7CB}, {0x1DF00, 0x1DF1E}, {0x1E100, 0x1E12C}, {0x1E137, 0x1E13D},
    {0x1E14E, 0x1E14E}, {0x1E290, 0x1E2AD}, {0x1E2C0, 0x1E2EB}, {0x1E7E0, 0x1E8C4},
    {0x1E900, 0x1E943}, {0x1E94B, 0x1E94B}, {0x1EE00, 0x1EEBB}, {0x20000, 0x3134A},
};
static const struct rune_range digit_ranges[] = {
    {0x0660, 0x0669},   {0x06F0, 0x06F9},   {0x07C0, 0x07C9},   {0x0966, 0x096F},
    {0x09E6, 0x09EF},   {0x0A66, 0x0A6F},   {0x0AE6, 0x0AEF},   {0x0B66, 0x0B6F},
    {0x0BE6, 0x0BEF},   {0x0C66, 0x0C6F},   {0x0CE6, 0x0CEF},   {0x0D66, 0x0D6F},
    {0x0DE6, 0x0DEF},   {0x0E50, 0x0E59},   {0x0ED0, 0x0ED9},   {0x0F20, 0x0F29},
    {0x1040, 0x1049},   {0x1090, 0x1099},   {0x17E0, 0x17E9},   {0x1810, 0x1819},
    {0x1946, 0x194F},   {0x19D0, 0x19D9},   {0x1A80, 0x1A99},   {0x1B50, 0x1B59},
    {0x1BB0, 0x1BB9},   {0x1C40, 0x1C49},   {0x1C50, 0x1C59},   {0xA620, 0xA629},
    {0xA8D0, 0xA8D9},   {0xA900, 0xA909},   {0xA9D0, 0xA9D9},   {0xA9F0, 0xA9F9},
    {0xAA50, 0xAA59},   {0xABF0, 0xABF9},   {0xFF10, 0xFF19},   {0x104A0, 0x104A9},
    {0x10D30, 0x10D39}, {0x11066, 0x1106F}, {0x110F0, 0x110F9}, {0x11136, 0x1113F},
    {0x111D0, 0x111D9}, {0x112F0, 0x112F9}, {0x11450, 0x11459}, {0x114D0, 0x114D9},
    {0x11650, 0x11659}, {0x116C0, 0x116C9}, {0x11730, 0x11739}, {0x118E0, 0x118E9},
    {0x11950, 0x11959}, {0x11C50, 0x11C59}, {0x11D50, 0x11D59}, {0x11DA0, 0x11DA9},
    {0x16A60, 0x16A69}, {0x16AC0, 0x16AC9}, {0x16B50, 0x16B59}, {0x1D7CE, 0x1D7FF},
    {0x1E140, 0x1E149}, {0x1E2F0, 0x1E2F9}, {0x1E950, 0x1E959}, {0x1FBF0, 0x1FBF9},
};

static bool in_ranges(const struct rune_range *r, size_t n, uint32_t c)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < r[mid].lo)
            hi = mid;
        else if (c > r[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

static bool rune_is_letter(uint32_t c)
{
    if (c < 0x80)
        return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    return in_ranges(letter_ranges, sizeof(letter_ranges) / sizeof(letter_ranges[0]), c);
}

static bool rune_is_digit(uint32_t c)
{
    if (c < 0x80)
        return c >= '0' && c <= '9';
    return in_ranges(digit_ranges, sizeof(digit_ranges) / sizeof(digit_ranges[0]), c);
}

/* UTF-8 (valid: jansson checks it) to runes, as Go's []rune(s). */
static size_t to_runes(uint32_t *out, const char *s)
{
    const unsigned char *b = (const unsigned char *)s;
    size_t n = 0, len = strlen(s);

    for (size_t i = 0; i < len;) {
        int w = utf8_width(b[i]);
        uint32_t v = w == 1 ? b[i] : (uint32_t)(b[i] & (0xFF >> (w + 1)));
        for (int k = 1; k < w && i + (size_t)k < len; k++)
            v = (v << 6) | (b[i + k] & 0x3F);
        out[n++] = v;
        i += (size_t)w;
    }
    return n;
}

/* Digit runs at position i compared as numbers (Go int64 arithmetic, so
 * wrapping included), then by run length, then by the runes themselves. */
static int compare_digit_runs(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, size_t i)
{
    uint64_t an = 0, bn = 0;
    size_t ai, bi;

    if (a[i] == '0' || b[i] == '0') {
        for (size_t j = i; j-- > 0 && rune_is_digit(a[j]);) {
            if (a[j] != '0') {
                an = bn = 1;
                break;
            }
        }
    }
    for (ai = i; ai < na && rune_is_digit(a[ai]); ai++)
        an = an * 10 + (uint64_t)(int64_t)((int32_t)a[ai] - '0');
    for (bi = i; bi < nb && rune_is_digit(b[bi]); bi++)
        bn = bn * 10 + (uint64_t)(int64_t)((int32_t)b[bi] - '0');
    if (an != bn)
        return (int64_t)an < (int64_t)bn ? -1 : 1;
    if (ai != bi)
        return ai < bi ? -1 : 1;
    return a[i] < b[i] ? -1 : 1;
}

/* At the first differing rune: two letters compare as code points, a
 * letter sorts after a non-letter, and otherwise the digit runs decide.
 * This order is not transitive ("a10" < "a1b" < "a01b" < "a9" < "a10"): for
 * such key sets kubectl's own output changes from run to run (Go map order
 * feeds its sort), so no order can match it every time. */
static int compare_runes(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    for (size_t i = 0; i < na && i < nb; i++) {
        bool al, bl;
        if (a[i] == b[i])
            continue;
        al = rune_is_letter(a[i]);
        bl = rune_is_letter(b[i]);
        if (al && bl)
            return a[i] < b[i] ? -1 : 1;
        if (al || bl)
            return bl ? -1 : 1;
        return compare_digit_runs(a, na, b, nb, i);
    }
    return na < nb ? -1 : na > nb ? 1 : 0;
}

int gf_yaml_key_compare(const char *a, const char *b)
{
    size_t la = strlen(a) + 1, lb = strlen(b) + 1;
    uint32_t sa[64], sb[64];
    uint32_t *ra = la <= 64 ? sa : malloc(la * sizeof(uint32_t));
    uint32_t *rb = lb <= 64 ? sb : malloc(lb * sizeof(uint32_t));
    int r;

    if (ra == NULL || rb == NULL) {
        r = strcmp(a, b); /* out of memory: still a total order */
    } else {
        size_t na = to_runes(ra, a), nb = to_runes(rb, b);
        r = compare_runes(ra, na, rb, nb);
    }
    if (ra != sa)
        free(ra);
    if (rb != sb)
        free(rb);
    return r;
}

/* ---- collections ------------------------------------------------------------------------ */

static int emit_node(struct emitter *e, const json_t *node, bool mapping_ctx);

static int compare_keys(const void *a, const void *b)
{
    return gf_yaml_key_compare(*(const char *const *)a, *(const char *const *)b);
}

/* Keys up to 128 bytes on one line are "simple": `key: value`. Longer or
 * multi-line keys take the explicit form `? key` / `: value`. */
static int emit_pair(struct emitter *e, const char *key, const json_t *value)
{
    size_t klen = strlen(key);
    bool simple = klen <= MAX_KEY_LEN && !analyze_scalar(key, klen).multiline;

    write_indent(e);
    if (simple) {
        emit_string(e, key, klen, true);
        write_indicator(e, ":", false, false, false);
    } else {
        write_indicator(e, "?", true, false, true);
        emit_string(e, key, klen, false);
        write_indent(e);
        write_indicator(e, ":", true, false, true);
    }
    return emit_node(e, value, true);
}

static int emit_mapping(struct emitter *e, const json_t *obj)
{
    size_t n = json_object_size(obj), k = 0;
    const char **keys = malloc(n * sizeof(*keys));
    const char *key;
    json_t *value;
    int saved = e->indent, error = 0;

    if (keys == NULL)
        return gf_error_set(GF_ENOMEM, "yaml emit: out of memory");
    json_object_foreach((json_t *)obj, key, value)
    {
        keys[k++] = key;
    }
    qsort(keys, n, sizeof(*keys), compare_keys);
    e->indent = e->indent < 0 ? 0 : e->indent + BEST_INDENT;
    for (k = 0; k < n && error == 0; k++)
        error = emit_pair(e, keys[k], json_object_get(obj, keys[k]));
    e->indent = saved;
    free(keys);
    return error;
}

/* Under a mapping key the dash sits in the key's column ("indentless"). */
static int emit_sequence(struct emitter *e, const json_t *arr, bool mapping_ctx)
{
    bool indentless = mapping_ctx && !e->indention;
    int saved = e->indent, error = 0;

    if (e->indent < 0)
        e->indent = 0;
    else if (!indentless)
        e->indent += BEST_INDENT;
    for (size_t i = 0; i < json_array_size(arr) && error == 0; i++) {
        write_indent(e);
        write_indicator(e, "-", true, false, true);
        error = emit_node(e, json_array_get(arr, i), false);
    }
    e->indent = saved;
    return error;
}

static int emit_number(struct emitter *e, const json_t *node)
{
    char text[64];
    int error;

    if (json_is_integer(node)) {
        snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(node));
    } else if ((error = format_number(text, sizeof(text), json_real_value(node))) < 0) {
        return error;
    }
    emit_scalar(e, text, strlen(text), STYLE_PLAIN, false);
    return 0;
}

static int emit_node(struct emitter *e, const json_t *node, bool mapping_ctx)
{
    int error = 0;

    if (++e->depth > MAX_DEPTH) {
        e->depth--;
        return gf_error_set(GF_EINVAL, "yaml emit: document nested deeper than %d", MAX_DEPTH);
    }
    switch (json_typeof(node)) {
    case JSON_OBJECT:
        if (json_object_size(node) == 0) {
            write_indicator(e, "{", true, true, false);
            write_indicator(e, "}", false, false, false);
        } else {
            error = emit_mapping(e, node);
        }
        break;
    case JSON_ARRAY:
        if (json_array_size(node) == 0) {
            write_indicator(e, "[", true, true, false);
            write_indicator(e, "]", false, false, false);
        } else {
            error = emit_sequence(e, node, mapping_ctx);
        }
        break;
    case JSON_STRING:
        emit_string(e, json_string_value(node), json_string_length(node), false);
        break;
    case JSON_INTEGER:
    case JSON_REAL:
        error = emit_number(e, node);
        break;
    case JSON_TRUE:
        emit_scalar(e, "true", 4, STYLE_PLAIN, false);
        break;
    case JSON_FALSE:
        emit_scalar(e, "false", 5, STYLE_PLAIN, false);
        break;
    case JSON_NULL:
        emit_scalar(e, "null", 4, STYLE_PLAIN, false);
        break;
    }
    e->depth--;
    return error < 0 ? error : e->error;
}

/* One document at the end of e->buf, starting on a fresh line. */
static int emit_document(struct emitter *e, const json_t *doc)
{
    int error;

    e->indent = -1;
    e->column = 0;
    e->whitespace = true;
    e->indention = true;
    if ((error = emit_node(e, doc, false)) < 0)
        return error;
    write_indent(e); /* the document end: finish the last line */
    return e->error;
}

/* Hand the buffer over NUL-terminated (an empty stream still gets one). */
static int finish(char **out, size_t *len_out, struct emitter *e, int error)
{
    if (error == 0 && e->buf == NULL) {
        put_bytes(e, "", 0);
        error = e->error;
    }
    if (error < 0) {
        free(e->buf);
        return error;
    }
    e->buf[e->len] = '\0';
    *out = e->buf;
    if (len_out != NULL)
        *len_out = e->len;
    return 0;
}

int gf_yaml_emit(char **out, size_t *len_out, const json_t *doc)
{
    struct emitter e = {0};

    if (out == NULL || doc == NULL)
        return gf_error_set(GF_EINVAL, "yaml emit: no document");
    *out = NULL;
    return finish(out, len_out, &e, emit_document(&e, doc));
}

int gf_yaml_emit_stream(char **out, size_t *len_out, const json_t *docs)
{
    struct emitter e = {0};
    int error = 0;

    if (out == NULL || !json_is_array(docs))
        return gf_error_set(GF_EINVAL, "yaml emit: a stream is a JSON array of documents");
    *out = NULL;
    for (size_t i = 0; i < json_array_size(docs) && error == 0; i++) {
        if (i > 0)
            put_bytes(&e, "---\n", 4);
        error = emit_document(&e, json_array_get(docs, i));
        if (error < 0)
            gf_error_wrap(error, "document %zu", i + 1);
    }
    return finish(out, len_out, &e, error);
}
