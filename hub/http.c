/* http.c -- the hub's HTTP/1.1 server layer (libmicrohttpd): limits, JSON errors, deferred and
 * streamed replies */
#include "http.h"

#include "gitfleet/error.h"
#include "gitfleet/log.h"
#include "gitfleet/os.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The buffer libmicrohttpd gives each connection for its request line and
 * headers. Anything longer is refused by libmicrohttpd itself (414/431). */
#define HTTP_CONNECTION_MEMORY (32 * 1024)
#define HTTP_THREADS           4
#define STREAM_KEEPALIVE_S     15

struct hub_http {
    struct MHD_Daemon *daemon;
    struct hub_http_limits limits;
    hub_http_handler handler;
    void *arg;
    int port;

    pthread_mutex_t lock; /* `deferred` and `stopping` */
    pthread_cond_t wake;
    pthread_t ticker;
    int stopping;
    hub_http_call *deferred;  /* calls waiting for a reply from another thread */
    size_t body_bytes;        /* held by request bodies now (atomic) */
    int trim;                 /* big bodies were freed: give memory back (atomic) */
    hub_http_stream *streams; /* under streams_lock */
};

struct header {
    struct header *next;
    char *name, *value;
};

struct hub_http_call {
    hub_http *server;
    struct MHD_Connection *conn;
    pthread_mutex_t lock;
    int refs; /* the connection's, and a deferred handler's */
    char *uri;
    const char *query;
    char *path;
    char method[16];
    char *body;
    size_t len, cap, discarded;
    int started, dispatched, deferred, suspended, too_big, busy;
    unsigned status;
    struct MHD_Response *response; /* ready to queue */
    struct header *headers;
    hub_http_call *next_deferred;
};

/* Guards every server's stream list, each stream's `server` and `refs`: a
 * stream may outlive its server (an owner still holds it after stop). */
static pthread_mutex_t streams_lock = PTHREAD_MUTEX_INITIALIZER;

struct hub_http_stream {
    hub_http *server;            /* NULL once the server stopped */
    struct MHD_Connection *conn; /* NULL once the connection is gone */
    pthread_mutex_t lock;        /* the buffer, the flags and `conn` */
    int refs;                    /* the owner's and the response's */
    size_t limit;                /* of unsent bytes */
    char *buf;
    size_t len, cap, off;
    int suspended, closed, gone;
    time_t last_write;
    hub_http_stream *next;
};

void hub_http_limits_default(struct hub_http_limits *out)
{
    out->max_connections = 1024;
    out->max_connections_per_ip = 256;
    out->idle_timeout_s = 30;
    out->max_body = 1 << 20;
    out->max_body_total = 32 << 20;
    out->max_url = 8 << 10;
    out->stream_buffer = 1 << 20;
}

unsigned hub_http_status_of(int code)
{
    switch (code) {
    case GF_EINVAL:
        return 400;
    case GF_EPERM:
        return 403;
    case GF_ENOTFOUND:
        return 404;
    case GF_EEXISTS:
    case GF_ECONFLICT:
        return 409;
    case GF_ETOOBIG:
        return 413;
    case GF_EUNSUPPORTED:
        return 501;
    case GF_ETIMEDOUT:
        return 504;
    default:
        return 500;
    }
}

/* ---- calls ---- */

static void call_release(hub_http_call *c)
{
    pthread_mutex_lock(&c->lock);
    int last = --c->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (!last)
        return;
    if (c->response)
        MHD_destroy_response(c->response);
    if (c->cap) {
        __atomic_sub_fetch(&c->server->body_bytes, c->cap, __ATOMIC_RELAXED);
        if (c->cap >= 128 * 1024)
            __atomic_store_n(&c->server->trim, 1, __ATOMIC_RELAXED);
    }
    while (c->headers) {
        struct header *h = c->headers;
        c->headers = h->next;
        free(h->name);
        free(h->value);
        free(h);
    }
    pthread_mutex_destroy(&c->lock);
    free(c->uri);
    free(c->path);
    free(c->body);
    free(c);
}

/* libmicrohttpd calls this once the request line is read: the raw target is
 * only visible here, and what it returns becomes the request's state. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    hub_http_call *c = calloc(1, sizeof(*c));

    (void)conn;
    if (c == NULL)
        return NULL;
    c->server = cls;
    c->refs = 1;
    pthread_mutex_init(&c->lock, NULL);
    if ((c->uri = strdup(uri)) == NULL) {
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
    }
    const char *q = strchr(c->uri, '?');
    c->query = q ? q + 1 : "";
    return c;
}

static void unlist_deferred(hub_http_call *c)
{
    hub_http *s = c->server;

    pthread_mutex_lock(&s->lock);
    for (hub_http_call **p = &s->deferred; *p; p = &(*p)->next_deferred)
        if (*p == c) {
            *p = c->next_deferred;
            break;
        }
    pthread_mutex_unlock(&s->lock);
}

/* At stop: the deferred calls not answered yet, each with an extra
 * reference (set_response drops the deferral's). A call whose answer is
 * being set right now is left to it: it is no longer marked deferred, only
 * still listed, and a second answer would have kept the extra reference
 * and the call for ever. The list's lock keeps every listed call alive.
 * (A call's lock inside the list's: hub_http_defer() nests them the other
 * way, but only for a call not listed yet, whose lock this never takes.) */
static hub_http_call *take_unanswered(hub_http *s)
{
    hub_http_call *unanswered = NULL;

    pthread_mutex_lock(&s->lock);
    hub_http_call *c = s->deferred;
    s->deferred = NULL;
    while (c) {
        hub_http_call *next = c->next_deferred;
        pthread_mutex_lock(&c->lock);
        if (c->deferred) {
            c->refs++;
            c->next_deferred = unanswered;
            unanswered = c;
        }
        pthread_mutex_unlock(&c->lock);
        c = next;
    }
    pthread_mutex_unlock(&s->lock);
    return unanswered;
}

/* Hand the finished response to the call; wake its connection if it waits. */
static void set_response(hub_http_call *c, unsigned status, struct MHD_Response *res)
{
    int was_deferred;

    pthread_mutex_lock(&c->lock);
    if (c->response != NULL || res == NULL) { /* a second answer (after stop): dropped */
        pthread_mutex_unlock(&c->lock);
        if (res)
            MHD_destroy_response(res);
        return;
    }
    for (struct header *h = c->headers; h; h = h->next)
        MHD_add_response_header(res, h->name, h->value);
    c->status = status;
    c->response = res;
    was_deferred = c->deferred;
    c->deferred = 0;
    if (c->suspended) {
        c->suspended = 0;
        MHD_resume_connection(c->conn);
    }
    pthread_mutex_unlock(&c->lock);
    if (was_deferred) {
        unlist_deferred(c);
        call_release(c);
    }
}

void hub_http_reply(hub_http_call *c, unsigned status, const char *content_type, const void *body,
                    size_t len)
{
    struct MHD_Response *res =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);

    if (res != NULL) {
        MHD_add_response_header(res, "Content-Type", content_type);
        MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
    }
    set_response(c, status, res);
}

void hub_http_reply_json(hub_http_call *c, unsigned status, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

    if (text == NULL)
        hub_http_reply(c, 500, "application/json",
                       "{\"error\":\"out of memory\",\"code\":\"ENOMEM\"}", 41);
    else
        hub_http_reply(c, status, "application/json", text, strlen(text));
    free(text);
    json_decref(doc);
}

void hub_http_reply_error(hub_http_call *c, int code)
{
    hub_http_reply_json(
        c, hub_http_status_of(code),
        json_pack("{s:s, s:s}", "error", gf_error_last(), "code", gf_error_name(code)));
}

void hub_http_reply_status(hub_http_call *c, unsigned status, int code, const char *fmt, ...)
{
    char message[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    hub_http_reply_json(c, status,
                        json_pack("{s:s, s:s}", "error", message, "code", gf_error_name(code)));
}

void hub_http_add_header(hub_http_call *c, const char *name, const char *value)
{
    struct header *h = calloc(1, sizeof(*h));

    if (h == NULL || (h->name = strdup(name)) == NULL || (h->value = strdup(value)) == NULL) {
        if (h)
            free(h->name);
        free(h);
        return;
    }
    pthread_mutex_lock(&c->lock);
    h->next = c->headers;
    c->headers = h;
    pthread_mutex_unlock(&c->lock);
}

void hub_http_defer(hub_http_call *c)
{
    hub_http *s = c->server;

    pthread_mutex_lock(&c->lock);
    if (c->response == NULL && !c->deferred) {
        c->deferred = 1;
        c->refs++;
        pthread_mutex_lock(&s->lock);
        c->next_deferred = s->deferred;
        s->deferred = c;
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&c->lock);
}

/* ---- request accessors ---- */

const char *hub_http_method(const hub_http_call *c)
{
    return c->method;
}

const char *hub_http_path(const hub_http_call *c)
{
    return c->path;
}

const char *hub_http_query(const hub_http_call *c)
{
    return c->query;
}

const char *hub_http_header(const hub_http_call *c, const char *name)
{
    return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

const void *hub_http_body(const hub_http_call *c, size_t *len_out)
{
    *len_out = c->len;
    return c->body ? c->body : "";
}

const char *hub_http_query_param(const hub_http_call *c, const char *key, char *buf, size_t len)
{
    size_t klen = strlen(key);
    const char *p = c->query;

    while (*p) {
        const char *end = strchr(p, '&');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        if (plen >= klen && strncmp(p, key, klen) == 0 && (plen == klen || p[klen] == '=')) {
            size_t o = 0;
            for (size_t i = klen + 1; i < plen && o + 1 < len; i++) {
                unsigned hex;
                if (p[i] == '%' && i + 2 < plen && sscanf(p + i + 1, "%2x", &hex) == 1) {
                    buf[o++] = (char)hex;
                    i += 2;
                } else {
                    buf[o++] = p[i] == '+' ? ' ' : p[i];
                }
            }
            buf[o] = '\0';
            return buf;
        }
        p += plen + (end ? 1 : 0);
    }
    return NULL;
}

int hub_http_request_json(const hub_http_call *c, json_t **out)
{
    json_error_t err;

    *out = NULL;
    if (c->len == 0)
        return 0;
    if ((*out = json_loadb(c->body, c->len, JSON_REJECT_DUPLICATES, &err)) == NULL)
        return gf_error_set(GF_EINVAL, "request body: %s at line %d column %d", err.text, err.line,
                            err.column);
    return 0;
}

/* ---- request processing ---- */

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    (void)value;
    if (strcasecmp(key, "Content-Length") == 0)
        (*(int *)cls)++;
    return MHD_YES;
}

/* Refusals decided from the request line and headers alone, before any of
 * the body is read (libmicrohttpd then closes the connection after the
 * answer, so an unread body can never be taken for the next request). */
static void check_head(hub_http_call *c)
{
    const struct hub_http_limits *l = &c->server->limits;
    const char *te = hub_http_header(c, "Transfer-Encoding");
    const char *cl = hub_http_header(c, "Content-Length");
    int lengths = 0;

    MHD_get_connection_values(c->conn, MHD_HEADER_KIND, count_header, &lengths);
    if (strlen(c->uri) > l->max_url)
        hub_http_reply_status(c, 414, GF_ETOOBIG,
                              "request target of %zu bytes is over the limit of %zu",
                              strlen(c->uri), l->max_url);
    else if (te && cl)
        hub_http_reply_status(c, 400, GF_EINVAL,
                              "a request may not carry both Transfer-Encoding and Content-Length");
    else if (te && strcasecmp(te, "chunked") != 0)
        hub_http_reply_status(c, 501, GF_EUNSUPPORTED,
                              "Transfer-Encoding '%.64s' is not supported (only chunked)", te);
    else if (lengths > 1)
        hub_http_reply_status(c, 400, GF_EINVAL, "more than one Content-Length header");
    else if (cl && strtoull(cl, NULL, 10) > l->max_body)
        hub_http_reply_status(c, 413, GF_ETOOBIG,
                              "request body of %.32s bytes is over the limit of %zu", cl,
                              l->max_body);
}

/* Grow the body buffer to hold `need` bytes, within the server's budget for
 * all bodies together: clients that send slowly cannot add up to more. */
static int grow_body(hub_http_call *c, size_t need)
{
    hub_http *s = c->server;
    size_t max = s->limits.max_body, cap = c->cap ? c->cap : 4096;

    while (cap < need)
        cap *= 2;
    if (cap > max)
        cap = max;
    size_t total = __atomic_add_fetch(&s->body_bytes, cap - c->cap, __ATOMIC_RELAXED);
    char *grown = total <= s->limits.max_body_total ? realloc(c->body, cap) : NULL;
    if (grown == NULL) {
        __atomic_sub_fetch(&s->body_bytes, cap - c->cap, __ATOMIC_RELAXED);
        return -1;
    }
    c->body = grown;
    c->cap = cap;
    return 0;
}

/* Take a piece of the body; past the limit (or the budget), count and drop
 * it (answered 413 or 503 once it ends), and give up on a client that keeps
 * sending far past it. */
static int take_body(hub_http_call *c, const char *data, size_t size)
{
    size_t max = c->server->limits.max_body;

    if (!c->too_big && !c->busy && c->len + size > max)
        c->too_big = 1;
    if (!c->too_big && !c->busy && c->len + size > c->cap && grow_body(c, c->len + size) < 0)
        c->busy = 1;
    if (c->too_big || c->busy) {
        c->discarded += size;
        return c->discarded <= max ? 0 : -1;
    }
    memcpy(c->body + c->len, data, size);
    c->len += size;
    return 0;
}

/* Queue the response if there is one, else park the connection until a
 * reply (or stream data) wakes it. */
static enum MHD_Result queue_or_wait(hub_http_call *c)
{
    enum MHD_Result r = MHD_YES;

    pthread_mutex_lock(&c->lock);
    if (c->response != NULL) {
        r = MHD_queue_response(c->conn, c->status, c->response);
        MHD_destroy_response(c->response);
        c->response = NULL;
        c->status = 0;
    } else if (!c->suspended) {
        c->suspended = 1;
        MHD_suspend_connection(c->conn);
    }
    pthread_mutex_unlock(&c->lock);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    hub_http *s = cls;
    hub_http_call *c = *con_cls;

    (void)version;
    if (c == NULL)
        return MHD_NO; /* out of memory in on_uri */
    if (!c->started) {
        c->started = 1;
        c->conn = conn;
        snprintf(c->method, sizeof(c->method), "%s", method);
        if ((c->path = strdup(url)) == NULL)
            return MHD_NO;
        check_head(c);
        return c->response ? queue_or_wait(c) : MHD_YES;
    }
    if (*upload_data_size != 0) {
        int error = take_body(c, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return error < 0 ? MHD_NO : MHD_YES;
    }
    if (!c->dispatched) {
        c->dispatched = 1;
        if (c->too_big)
            hub_http_reply_status(c, 413, GF_ETOOBIG, "request body is over the limit of %zu bytes",
                                  s->limits.max_body);
        else if (c->busy)
            hub_http_reply_status(c, 503, GF_ETOOBIG,
                                  "the hub holds %zu bytes of request bodies; try again",
                                  s->limits.max_body_total);
        else
            s->handler(c, s->arg);
    }
    return queue_or_wait(c);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    hub_http_call *c = *con_cls;

    (void)cls;
    (void)conn;
    (void)why;
    if (c == NULL)
        return;
    *con_cls = NULL;
    pthread_mutex_lock(&c->lock);
    c->conn = NULL;
    pthread_mutex_unlock(&c->lock);
    call_release(c);
}

/* ---- streams ---- */

static void stream_release(hub_http_stream *st)
{
    pthread_mutex_lock(&streams_lock);
    if (--st->refs > 0) {
        pthread_mutex_unlock(&streams_lock);
        return;
    }
    if (st->server)
        for (hub_http_stream **p = &st->server->streams; *p; p = &(*p)->next)
            if (*p == st) {
                *p = st->next;
                break;
            }
    pthread_mutex_unlock(&streams_lock);
    pthread_mutex_destroy(&st->lock);
    free(st->buf);
    free(st);
}

/* Called with st->lock held. */
static void stream_wake(hub_http_stream *st)
{
    if (st->suspended && st->conn) {
        st->suspended = 0;
        MHD_resume_connection(st->conn);
    }
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    hub_http_stream *st = cls;
    ssize_t n = 0;

    (void)pos;
    pthread_mutex_lock(&st->lock);
    if (st->gone) {
        n = MHD_CONTENT_READER_END_WITH_ERROR;
    } else if (st->len > st->off) {
        size_t have = st->len - st->off;
        n = (ssize_t)(have < max ? have : max);
        memcpy(out, st->buf + st->off, (size_t)n);
        st->off += (size_t)n;
        if (st->off == st->len)
            st->off = st->len = 0;
    } else if (st->closed) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else if (!st->suspended) {
        /* Nothing to send: park the connection rather than be polled again. */
        st->suspended = 1;
        MHD_suspend_connection(st->conn);
    }
    pthread_mutex_unlock(&st->lock);
    return n;
}

static void stream_response_freed(void *cls)
{
    hub_http_stream *st = cls;

    pthread_mutex_lock(&st->lock);
    st->gone = 1;
    st->conn = NULL;
    pthread_mutex_unlock(&st->lock);
    stream_release(st);
}

int hub_http_stream_start(hub_http_stream **out, hub_http_call *c, const char *content_type)
{
    hub_http *s = c->server;
    hub_http_stream *st = calloc(1, sizeof(*st));
    struct MHD_Response *res;

    *out = NULL;
    if (st == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    st->server = s;
    st->conn = c->conn;
    st->refs = 2;
    st->limit = s->limits.stream_buffer;
    st->last_write = time(NULL);
    pthread_mutex_init(&st->lock, NULL);
    res = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, st,
                                            stream_response_freed);
    if (res == NULL) {
        pthread_mutex_destroy(&st->lock);
        free(st);
        return gf_error_set(GF_ENOMEM, "cannot create a streaming response");
    }
    MHD_add_response_header(res, "Content-Type", content_type);
    MHD_add_response_header(res, "Cache-Control", "no-cache");
    MHD_add_response_header(res, "X-Accel-Buffering", "no");
    pthread_mutex_lock(&streams_lock);
    st->next = s->streams;
    s->streams = st;
    pthread_mutex_unlock(&streams_lock);
    set_response(c, 200, res);
    *out = st;
    return 0;
}

/* Called with st->lock held. */
static int stream_append(hub_http_stream *st, const void *data, size_t len)
{
    if (st->len + len > st->cap) {
        size_t cap = st->cap ? st->cap : 4096;
        while (cap < st->len + len)
            cap *= 2;
        char *grown = realloc(st->buf, cap);
        if (grown == NULL)
            return -1;
        st->buf = grown;
        st->cap = cap;
    }
    memcpy(st->buf + st->len, data, len);
    st->len += len;
    st->last_write = time(NULL);
    return 0;
}

int hub_http_stream_write(hub_http_stream *st, const void *data, size_t len)
{
    int error = 0;

    pthread_mutex_lock(&st->lock);
    if (st->gone || st->closed) {
        error = gf_error_set(GF_EIO, "the stream's client is gone");
    } else if (st->len - st->off + len > st->limit) {
        st->gone = 1; /* a client that does not read loses its stream */
        error = gf_error_set(GF_EIO, "the stream's client does not read (%zu bytes waiting)",
                             st->len - st->off);
        stream_wake(st);
    } else if (stream_append(st, data, len) < 0) {
        error = gf_error_set(GF_ENOMEM, "out of memory");
    } else {
        stream_wake(st);
    }
    pthread_mutex_unlock(&st->lock);
    return error;
}

int hub_http_stream_event(hub_http_stream *st, const char *event, const char *data)
{
    size_t cap = (event ? strlen(event) + 8 : 0) + strlen(data) * 2 + 16, n = 0;
    char *text = malloc(cap);
    int error;

    if (text == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    if (event)
        n += (size_t)snprintf(text, cap, "event: %s\n", event);
    /* every line of data is its own "data:" field; "\n" alone ends the event */
    for (const char *p = data;;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        n += (size_t)snprintf(text + n, cap - n, "data: %.*s\n", (int)l, p);
        if (nl == NULL)
            break;
        p = nl + 1;
        if (n + strlen(p) + 8 > cap)
            break;
    }
    n += (size_t)snprintf(text + n, cap - n, "\n");
    error = hub_http_stream_write(st, text, n);
    free(text);
    return error;
}

void hub_http_stream_close(hub_http_stream *st)
{
    if (st == NULL)
        return;
    pthread_mutex_lock(&st->lock);
    st->closed = 1;
    stream_wake(st);
    pthread_mutex_unlock(&st->lock);
    stream_release(st);
}

/* Every few seconds: a comment on each quiet stream, so that a client that
 * went away is noticed (a parked connection sees no hang-up by itself). */
static void *ticker(void *arg)
{
    hub_http *s = arg;

    gf_os_thread_name("gf-http-tick");
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 5;
        pthread_cond_timedwait(&s->wake, &s->lock, &until);
        time_t now = time(NULL);
        pthread_mutex_lock(&streams_lock);
        for (hub_http_stream *st = s->streams; st; st = st->next) {
            pthread_mutex_lock(&st->lock);
            if (!st->gone && !st->closed && now - st->last_write >= STREAM_KEEPALIVE_S &&
                st->len - st->off + 3 <= st->limit) {
                if (stream_append(st, ":\n\n", 3) == 0)
                    stream_wake(st);
            }
            pthread_mutex_unlock(&st->lock);
        }
        pthread_mutex_unlock(&streams_lock);
        if (__atomic_exchange_n(&s->trim, 0, __ATOMIC_RELAXED))
            gf_os_release_memory();
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- the server ---- */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char text[512];

    (void)cls;
    vsnprintf(text, sizeof(text), fmt, ap);
    text[strcspn(text, "\r\n")] = '\0';
    gf_log_debug("HUB-HTTP", "msg=\"%s\"", text);
}

/* http://HOST:PORT -> a bound, listening, non-blocking socket. */
static int listen_on(const char *url, int *fd_out)
{
    char host[256], port[16];
    const char *p, *colon;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *ai = NULL;
    int fd = -1, one = 1, rv;

    if (strncmp(url, "http://", 7) != 0)
        return gf_error_set(GF_EINVAL,
                            "API address %s: only http://HOST:PORT is served "
                            "(put a TLS proxy in front for https)",
                            url);
    p = url + 7;
    if (*p == '[') {
        const char *end = strchr(p, ']');
        if (end == NULL || end[1] != ':')
            return gf_error_set(GF_EINVAL, "API address %s: expected http://[V6]:PORT", url);
        snprintf(host, sizeof(host), "%.*s", (int)(end - p - 1), p + 1);
        colon = end + 1;
    } else if ((colon = strrchr(p, ':')) == NULL) {
        return gf_error_set(GF_EINVAL, "API address %s: expected http://HOST:PORT", url);
    } else {
        snprintf(host, sizeof(host), "%.*s", (int)(colon - p), p);
    }
    snprintf(port, sizeof(port), "%.*s", (int)strcspn(colon + 1, "/"), colon + 1);
    if ((rv = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai)) != 0)
        return gf_error_set(GF_EINVAL, "API address %s: %s", url, gai_strerror(rv));
    if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 512) < 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        rv = gf_error_set(GF_EIO, "API on %s: %s", url, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return rv;
    }
    freeaddrinfo(ai);
    *fd_out = fd;
    return 0;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return 0;
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

int hub_http_start(hub_http **out, const char *url, const struct hub_http_limits *limits,
                   hub_http_handler handler, void *arg)
{
    hub_http *s = calloc(1, sizeof(*s));
    int fd = -1, error;

    *out = NULL;
    if (s == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    if ((error = listen_on(url, &fd)) < 0) {
        free(s);
        return error;
    }
    s->limits = *limits;
    s->handler = handler;
    s->arg = arg;
    s->port = bound_port(fd);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)HTTP_THREADS, MHD_OPTION_CONNECTION_LIMIT, limits->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits->max_connections_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, limits->idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HTTP_CONNECTION_MEMORY, MHD_OPTION_STRICT_FOR_CLIENT, 1,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_END);
    if (s->daemon == NULL) {
        close(fd);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return gf_error_set(GF_EIO, "API on %s: libmicrohttpd did not start", url);
    }
    if (pthread_create(&s->ticker, NULL, ticker, s) != 0) {
        MHD_stop_daemon(s->daemon);
        close(fd);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return gf_error_set(GF_ERROR, "API on %s: cannot start a thread", url);
    }
    *out = s;
    return 0;
}

int hub_http_port(const hub_http *s)
{
    return s->port;
}

void hub_http_stop(hub_http *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->ticker, NULL);

    /* libmicrohttpd refuses to stop with parked connections: end every
     * stream and answer every call still waiting for another thread. */
    pthread_mutex_lock(&streams_lock);
    for (hub_http_stream *st = s->streams; st; st = st->next) {
        pthread_mutex_lock(&st->lock);
        st->gone = 1;
        stream_wake(st);
        pthread_mutex_unlock(&st->lock);
        st->server = NULL;
    }
    s->streams = NULL;
    pthread_mutex_unlock(&streams_lock);
    hub_http_call *waiting = take_unanswered(s);
    while (waiting) {
        hub_http_call *c = waiting;
        waiting = c->next_deferred;
        hub_http_reply_status(c, 503, GF_ERROR, "the hub is stopping");
        /* the extra reference stays: the handler's thread may still answer */
    }
    int fd = (int)MHD_quiesce_daemon(s->daemon);
    MHD_stop_daemon(s->daemon);
    if (fd >= 0)
        close(fd);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
