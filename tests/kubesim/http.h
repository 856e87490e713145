/* http.h -- a small HTTP/1.1 server: thread per connection, keep-alive, chunked streams, TLS */
#ifndef KUBESIM_HTTP_H
#define KUBESIM_HTTP_H

#include <stddef.h>

#define KS_HTTP_MAX_HEADERS 64
#define KS_HTTP_MAX_PARAMS  32

struct ks_http_conn;

struct ks_http_kv {
    char *name;
    char *value;
};

/* One parsed request. Strings are owned by the request; query values are
 * percent-decoded, the path is decoded too (kubectl never escapes '/'). */
struct ks_http_req {
    char method[16];
    char *path;
    struct ks_http_kv headers[KS_HTTP_MAX_HEADERS];
    size_t nheaders;
    struct ks_http_kv params[KS_HTTP_MAX_PARAMS];
    size_t nparams;
    char *body;
    size_t body_len;
};

/* Called once per request on the connection's thread. It must answer with
 * ks_http_respond() or a chunked stream, or call ks_http_drop(). */
typedef void (*ks_http_handler)(struct ks_http_conn *conn, struct ks_http_req *req, void *arg);

struct ks_http_config {
    const char *host;
    int port; /* 0: any free port */
    const char *tls_cert;
    const char *tls_key;
    ks_http_handler handler;
    void *arg;
};

struct ks_http_server;

/* Bind and listen; *out is ready for ks_http_run(). */
int ks_http_start(struct ks_http_server **out, const struct ks_http_config *cfg);

/* The port actually bound. */
int ks_http_port(const struct ks_http_server *srv);

/* Accept connections until *stop becomes non-zero (checked every 100 ms),
 * then close every connection and wait (bounded) for their threads. */
void ks_http_run(struct ks_http_server *srv, volatile int *stop);

void ks_http_free(struct ks_http_server *srv);

/* Header (case-insensitive name) or query parameter; NULL when absent. */
const char *ks_http_header(const struct ks_http_req *req, const char *name);
const char *ks_http_param(const struct ks_http_req *req, const char *name);

/* A whole response with Content-Length. `extra` is NULL or CRLF-terminated
 * header lines. Returns 0 or -1 when the peer is gone. */
int ks_http_respond(struct ks_http_conn *conn, int status, const char *content_type,
                    const char *body, size_t len, const char *extra);

/* A chunked response: begin, any number of chunks, end. */
int ks_http_chunked_begin(struct ks_http_conn *conn, int status, const char *content_type);
int ks_http_chunk(struct ks_http_conn *conn, const char *data, size_t len);
int ks_http_chunked_end(struct ks_http_conn *conn);

/* Close the connection without an answer (fault injection). */
void ks_http_drop(struct ks_http_conn *conn);

/* 1 once the server is stopping or the peer closed (watch streams poll it). */
int ks_http_closing(struct ks_http_conn *conn);

#endif
