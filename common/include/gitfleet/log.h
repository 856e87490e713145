/* log.h -- leveled logging with stable event ids, as text or JSON lines */
#ifndef GITFLEET_LOG_H
#define GITFLEET_LOG_H

#include <stdio.h>

enum gf_log_level { GF_LOG_DEBUG = 0, GF_LOG_INFO, GF_LOG_WARN, GF_LOG_ERROR, GF_LOG_OFF };
enum gf_log_format { GF_LOG_TEXT = 0, GF_LOG_JSON };

/* Process-wide settings; defaults are INFO, text, stderr. Thread-safe to log
 * concurrently; configure once at start-up. `out` is borrowed. */
void gf_log_configure(enum gf_log_level level, enum gf_log_format format, FILE *out);

/* Configure from names ("info", "json") onto `out`; GF_EINVAL naming the
 * unknown one. */
int gf_log_configure_names(const char *level, const char *format, FILE *out);

/* Parse "debug|info|warn|error|off" and "text|json"; -1 when unknown. */
int gf_log_level_parse(const char *name);
int gf_log_format_parse(const char *name);

/* The current threshold: events below it are not formatted at all. */
extern enum gf_log_level gf_log_threshold;

/*
 * Write one event. `event` is a stable id such as "HUB-RENDER-FAIL" that
 * collectors can match on; `fmt` gives key=value pairs for people
 * ("cluster=%s gen=%d"). In JSON mode the pairs become members.
 */
void gf_log_write(enum gf_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define GF_LOG(level, event, ...)                                                                  \
    do {                                                                                           \
        if ((level) >= gf_log_threshold)                                                           \
            gf_log_write((level), (event), __VA_ARGS__);                                           \
    } while (0)
#define gf_log_debug(event, ...) GF_LOG(GF_LOG_DEBUG, event, __VA_ARGS__)
#define gf_log_info(event, ...)  GF_LOG(GF_LOG_INFO, event, __VA_ARGS__)
#define gf_log_warn(event, ...)  GF_LOG(GF_LOG_WARN, event, __VA_ARGS__)
#define gf_log_error(event, ...) GF_LOG(GF_LOG_ERROR, event, __VA_ARGS__)

#endif
