/* http.h -- the hub's HTTP/1.1 server layer (libmicrohttpd): limits, JSON errors, deferred and
 * streamed replies */
#ifndef HUB_HTTP_H
#define HUB_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hub_http hub_http;
typedef struct hub_http_call hub_http_call;
typedef struct hub_http_stream hub_http_stream;

/*
 * What any one client can hold. Every limit answers with the API's JSON error
 * shape ({"error", "code"}) where the server decides it; see docs/security.md.
 */
struct hub_http_limits {
    unsigned max_connections;        /* all clients together */
    unsigned max_connections_per_ip; /* one address */
    unsigned idle_timeout_s;         /* a connection silent this long is closed */
    size_t max_body;                 /* request body (after chunked decoding): 413 */
    size_t max_body_total;           /* all request bodies held at once: 503 past it */
    size_t max_url;                  /* request target (path and query): 414 */
    size_t stream_buffer;            /* unsent bytes one stream may queue before it is dropped */
};

/* The defaults: 1,024 connections, 256 per address, 30 s, 1 MiB, 32 MiB, 8 KiB, 1 MiB. */
void hub_http_limits_default(struct hub_http_limits *out);

/*
 * Called once per request, after the whole body has arrived (and was within
 * the limits), on one of the server's threads. It must not block for long:
 * answer with one hub_http_reply* call before returning, or hub_http_defer()
 * and answer later from any thread, or turn the call into a stream.
 */
typedef void (*hub_http_handler)(hub_http_call *c, void *arg);

/* Listen on `url` (http://HOST:PORT; HOST may be [v6]) and serve `handler`. */
int hub_http_start(hub_http **out, const char *url, const struct hub_http_limits *limits,
                   hub_http_handler handler, void *arg);
/* Close every connection (streams end) and stop. NULL is fine. */
void hub_http_stop(hub_http *s);
/* The port actually bound (for http://host:0). */
int hub_http_port(const hub_http *s);

/* ---- the request (borrowed from the call; valid until its reply) ---- */
const char *hub_http_method(const hub_http_call *c);
const char *hub_http_path(const hub_http_call *c);  /* decoded, without the query */
const char *hub_http_query(const hub_http_call *c); /* raw, after '?'; "" when none */
const char *hub_http_header(const hub_http_call *c, const char *name); /* NULL when absent */
const void *hub_http_body(const hub_http_call *c, size_t *len_out);
/* The decoded value of `key` in the query into buf; NULL if absent. */
const char *hub_http_query_param(const hub_http_call *c, const char *key, char *buf, size_t len);
/* The body as JSON. 0 with *out NULL for an empty body; GF_EINVAL with the
 * parser's line and column for malformed JSON. */
int hub_http_request_json(const hub_http_call *c, json_t **out);

/* ---- replies: exactly one per call, from the handler or after hub_http_defer() ---- */
void hub_http_reply(hub_http_call *c, unsigned status, const char *content_type, const void *body,
                    size_t len);
/* `doc` is released. */
void hub_http_reply_json(hub_http_call *c, unsigned status, json_t *doc);
/* {"error": gf_error_last(), "code": name of `code`} with the status the code maps to. */
void hub_http_reply_error(hub_http_call *c, int code);
/* The same shape with an explicit status (405, 413, 414, ...). */
void hub_http_reply_status(hub_http_call *c, unsigned status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Add a response header to the reply that follows (e.g. Allow for a 405). */
void hub_http_add_header(hub_http_call *c, const char *name, const char *value);
/* The HTTP status a gitfleet error code maps to (EINVAL 400, EPERM 403, ...). */
unsigned hub_http_status_of(int code);

/* The handler returns without answering; some other thread calls one
 * hub_http_reply* later. The call stays valid until then. */
void hub_http_defer(hub_http_call *c);

/*
 * Streaming responses (server-sent events and the like). Answers 200 with
 * `content_type` and no length (chunked on HTTP/1.1); the body is whatever
 * hub_http_stream_write adds, from any thread, until hub_http_stream_close.
 * The caller owns one reference to the stream; the connection owns another.
 * The server sends an SSE comment line (":\n\n") on a stream that has been
 * quiet for 15 s, so a gone client is noticed. A client that does not read
 * is dropped once `stream_buffer` bytes wait for it (or at the idle timeout).
 */
int hub_http_stream_start(hub_http_stream **out, hub_http_call *c, const char *content_type);
/* GF_EIO once the client is gone or was dropped: then just close it. */
int hub_http_stream_write(hub_http_stream *s, const void *data, size_t len);
/* One server-sent event: "event: NAME\n" (when not NULL) and "data: ..." lines. */
int hub_http_stream_event(hub_http_stream *s, const char *event, const char *data);
/* End the response and release the caller's reference. NULL is fine. */
void hub_http_stream_close(hub_http_stream *s);

#endif
