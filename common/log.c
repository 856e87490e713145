/* log.c -- leveled logging with stable event ids, as text or JSON lines */
#include "gitfleet/log.h"

#include "gitfleet/error.h"
#include "gitfleet/redact.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum gf_log_level gf_log_threshold = GF_LOG_INFO;
static enum gf_log_format log_format = GF_LOG_TEXT;
static FILE *log_out;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void gf_log_configure(enum gf_log_level level, enum gf_log_format format, FILE *out)
{
    gf_log_threshold = level;
    log_format = format;
    log_out = out;
}

int gf_log_configure_names(const char *level, const char *format, FILE *out)
{
    int l = gf_log_level_parse(level), f = gf_log_format_parse(format);

    if (l < 0)
        return gf_error_set(GF_EINVAL, "unknown log level '%s' (debug, info, warn, error)", level);
    if (f < 0)
        return gf_error_set(GF_EINVAL, "unknown log format '%s' (text, json)", format);
    gf_log_configure(l, f, out);
    return 0;
}

int gf_log_level_parse(const char *name)
{
    for (int i = 0; i <= GF_LOG_OFF; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    if (strcmp(name, "warning") == 0)
        return GF_LOG_WARN;
    return -1;
}

int gf_log_format_parse(const char *name)
{
    if (strcmp(name, "text") == 0)
        return GF_LOG_TEXT;
    if (strcmp(name, "json") == 0)
        return GF_LOG_JSON;
    return -1;
}

static void format_timestamp(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Copy one value token starting at *p: a "quoted" string (with \" and \\
 * escapes) or a run of non-space characters. Advances *p past it. */
static char *take_value(const char **p)
{
    const char *s = *p;
    size_t cap = strlen(s) + 1, n = 0;
    char *out = malloc(cap);

    if (out == NULL)
        return NULL;
    if (*s == '"') {
        s++;
        while (*s && *s != '"') {
            unsigned hex;
            if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
                s++;
            else if (*s == '\\' && (s[1] == 'n' || s[1] == 'r' || s[1] == 't')) {
                out[n++] = s[1] == 'n' ? '\n' : s[1] == 'r' ? '\r' : '\t';
                s += 2;
                continue;
            } else if (*s == '\\' && s[1] == 'x' && sscanf(s + 2, "%2x", &hex) == 1 && hex < 0x80) {
                out[n++] = (char)hex; /* a control byte; jansson escapes it */
                s += 4;
                continue;
            }
            out[n++] = *s++;
        }
        if (*s == '"')
            s++;
    } else {
        while (*s && *s != ' ')
            out[n++] = *s++;
    }
    out[n] = '\0';
    *p = s;
    return out;
}

/* Turn "k1=v1 k2=\"v 2\" free text" into JSON members; words that are not
 * key=value pairs are gathered into "msg". */
static void add_pairs(json_t *obj, const char *text)
{
    const char *p = text;
    char msg[1024] = "";

    while (*p) {
        while (*p == ' ')
            p++;
        const char *eq = p;
        while (*eq && *eq != ' ' && *eq != '=')
            eq++;
        if (*eq == '=' && eq > p) {
            char key[128];
            size_t klen = (size_t)(eq - p) < sizeof(key) - 1 ? (size_t)(eq - p) : sizeof(key) - 1;
            memcpy(key, p, klen);
            key[klen] = '\0';
            p = eq + 1;
            char *value = take_value(&p);
            if (value != NULL)
                json_object_set_new(obj, key, json_string(value));
            free(value);
        } else if (*p) {
            const char *end = p;
            while (*end && *end != ' ')
                end++;
            size_t used = strlen(msg);
            snprintf(msg + used, sizeof(msg) - used, "%s%.*s", used ? " " : "", (int)(end - p), p);
            p = end;
        }
    }
    if (msg[0] != '\0')
        json_object_set_new(obj, "msg", json_string(msg));
}

static void write_json(FILE *out, const char *ts, enum gf_log_level level, const char *event,
                       const char *text)
{
    json_t *obj = json_object();

    json_object_set_new(obj, "ts", json_string(ts));
    json_object_set_new(obj, "level", json_string(level_names[level]));
    json_object_set_new(obj, "event", json_string(event));
    add_pairs(obj, text);
    char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line != NULL)
        fprintf(out, "%s\n", line);
    free(line);
    json_decref(obj);
}

/* ---- formatting with every string value escaped ---- */

/* The growing text of one event; it stops at its capacity. */
struct text {
    char *buf;
    size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (t->len + n >= t->cap)
        n = t->cap - 1 - t->len;
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

/* Length of the valid UTF-8 sequence at s (2-4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4  ? 4
               : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
               : s[0] >= 0xc2 && s[0] < 0xe0 ? 2
                                             : 0;

    if (n == 0 || n > avail)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* Does `v` need quotes to stay one value (a space, '=', a quote, a
 * backslash, a control byte or a non-ASCII byte)? */
static int needs_quotes(const char *v, size_t n)
{
    if (n == 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c >= 0x7f)
            return 1;
    }
    return 0;
}

/* A string value as one token: \" \\ \n \r \t, and \xNN for other control
 * bytes and invalid UTF-8, so that nothing a peer sends can end the line,
 * the value, or the quoted string it is in. */
static void put_escaped(struct text *t, const char *v, size_t n)
{
    char esc[8];

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        size_t u;
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            put(t, esc, 2);
        } else if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\', esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            put(t, esc, 2);
        } else if (c >= 0x80 && (u = utf8_len((const unsigned char *)v + i, n - i)) > 0) {
            put(t, v + i, u);
            i += u - 1;
        } else if (c < ' ' || c >= 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", c);
            put(t, esc, 4);
        } else {
            put(t, v + i, 1);
        }
    }
}

/* One %s value. Inside quotes of the format (error=\"%s\") it is escaped
 * in place; bare (cluster=%s), it is also quoted when it has to be. */
static void put_value(struct text *t, const char *v, size_t n, int in_quotes)
{
    if (in_quotes || !needs_quotes(v, n)) {
        put_escaped(t, v, n);
        return;
    }
    put(t, "\"", 1);
    put_escaped(t, v, n);
    put(t, "\"", 1);
}

/* Copy one conversion spec ("%-08.3llu") from *p into spec; its last char
 * is the conversion. Returns the conversion, 0 when malformed. */
static char take_spec(const char **p, char spec[32])
{
    size_t n = 0;
    const char *s = *p;

    spec[n++] = *s++;
    while (*s && strchr("-+ #0123456789.*hlLzjt", *s) && n < 30)
        spec[n++] = *s++;
    if (*s == '\0')
        return 0;
    spec[n++] = *s;
    spec[n] = '\0';
    *p = s + 1;
    return spec[n - 1];
}

/* Format one numeric conversion, its argument taken by its type. The spec
 * comes from a format that the compiler checked against its arguments
 * (gf_log_write's format attribute). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void put_number(struct text *t, const char *spec, char conv, va_list *ap)
{
    char buf[128], one[40];
    int n = 0;

    /* '*' widths: take the int, write it into the spec */
    if (strchr(spec, '*')) {
        const char *star = strchr(spec, '*');
        snprintf(one, sizeof(one), "%.*s%d%s", (int)(star - spec), spec, va_arg(*ap, int),
                 star + 1);
        spec = one;
    }
    if (strchr("diouxXc", conv)) {
        if (strstr(spec, "ll") || strchr(spec, 'j'))
            n = snprintf(buf, sizeof(buf), spec, va_arg(*ap, long long));
        else if (strchr(spec, 'l') || strchr(spec, 'z') || strchr(spec, 't'))
            n = snprintf(buf, sizeof(buf), spec, va_arg(*ap, long));
        else
            n = snprintf(buf, sizeof(buf), spec, va_arg(*ap, int));
    } else if (strchr("fFeEgGaA", conv)) {
        n = strchr(spec, 'L') ? snprintf(buf, sizeof(buf), spec, va_arg(*ap, long double))
                              : snprintf(buf, sizeof(buf), spec, va_arg(*ap, double));
    } else if (conv == 'p') {
        n = snprintf(buf, sizeof(buf), "%p", va_arg(*ap, void *));
    }
    put(t, buf, n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}
#pragma GCC diagnostic pop

/*
 * printf, except that every %s argument is escaped (put_value): log lines
 * carry names and errors that peers choose (a cluster name from an
 * unauthenticated request), and a newline or a quote in them must not forge
 * a line or a key=value pair, in text or in JSON output.
 */
static void format_event(struct text *t, const char *fmt, va_list ap)
{
    int in_quotes = 0;
    va_list args;

    va_copy(args, ap);
    for (const char *p = fmt; *p && t->len + 1 < t->cap;) {
        char spec[32], conv;
        if (*p != '%' || p[1] == '%') {
            if (*p == '"')
                in_quotes = !in_quotes;
            put(t, p, 1);
            p += *p == '%' ? 2 : 1;
            continue;
        }
        if ((conv = take_spec(&p, spec)) == 0)
            break;
        if (conv != 's') {
            put_number(t, spec, conv, &args);
            continue;
        }
        const char *prec = strchr(spec, '.');
        int max = prec && prec[1] == '*' ? va_arg(args, int) : prec ? atoi(prec + 1) : -1;
        const char *v = va_arg(args, const char *);
        v = v ? v : "(null)";
        put_value(t, v, max >= 0 ? strnlen(v, (size_t)max) : strlen(v), in_quotes);
    }
    va_end(args);
}

void gf_log_write(enum gf_log_level level, const char *event, const char *fmt, ...)
{
    char raw[2048], text[2048 + 64];
    char ts[40];
    va_list ap;
    FILE *out = log_out ? log_out : stderr;
    struct text t = {raw, 0, sizeof(raw)};

    if (level < gf_log_threshold || level >= GF_LOG_OFF)
        return;
    raw[0] = '\0';
    va_start(ap, fmt);
    format_event(&t, fmt, ap);
    va_end(ap);
    /* The last line of defence: no URL credentials reach a log line. */
    gf_redact_text(text, sizeof(text), raw);
    format_timestamp(ts, sizeof(ts));

    pthread_mutex_lock(&log_lock);
    if (log_format == GF_LOG_JSON)
        write_json(out, ts, level, event, text);
    else
        fprintf(out, "%s %-5s %s %s\n", ts, level_names[level], event, text);
    fflush(out);
    pthread_mutex_unlock(&log_lock);
}
