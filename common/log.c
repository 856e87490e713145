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
            if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
                s++;
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

void gf_log_write(enum gf_log_level level, const char *event, const char *fmt, ...)
{
    char raw[2048], text[2048 + 64];
    char ts[40];
    va_list ap;
    FILE *out = log_out ? log_out : stderr;

    if (level < gf_log_threshold || level >= GF_LOG_OFF)
        return;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
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
