/* http.c -- a small HTTP/1.1 server: thread per connection, keep-alive, chunked streams, TLS */
#include "http.h"

#include "gitfleet/error.h"
#include "gitfleet/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX  (64 * 1024)
#define BODY_MAX  ((size_t)64 << 20)
#define MAX_CONNS 1024

struct ks_http_conn {
    struct ks_http_server *srv;
    int fd;
    SSL *ssl;
    char buf[16384]; /* read buffer */
    size_t len, off;
    int dropped;
    int slot;
};

struct ks_http_server {
    struct ks_http_config cfg;
    int lfd;
    int port;
    SSL_CTX *ctx;
    volatile int *stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ks_http_conn *conns[MAX_CONNS];
    int nconns;
};

/* ---- server set-up ------------------------------------------------------------------------ */

static int tls_setup(struct ks_http_server *srv)
{
    srv->ctx = SSL_CTX_new(TLS_server_method());
    if (srv->ctx == NULL)
        return gf_error_set(GF_EIO, "TLS: cannot create a context");
    if (SSL_CTX_use_certificate_chain_file(srv->ctx, srv->cfg.tls_cert) != 1)
        return gf_error_set(GF_EINVAL, "TLS: cannot load certificate %s", srv->cfg.tls_cert);
    if (SSL_CTX_use_PrivateKey_file(srv->ctx, srv->cfg.tls_key, SSL_FILETYPE_PEM) != 1)
        return gf_error_set(GF_EINVAL, "TLS: cannot load key %s", srv->cfg.tls_key);
    if (SSL_CTX_check_private_key(srv->ctx) != 1)
        return gf_error_set(GF_EINVAL, "TLS: the key does not match the certificate");
    return 0;
}

static int listen_on(struct ks_http_server *srv)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof(sa);
    int one = 1;

    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)srv->cfg.port);
    if (inet_pton(AF_INET, srv->cfg.host, &sa.sin_addr) != 1)
        return gf_error_set(GF_EINVAL, "--listen: %s is not an IPv4 address", srv->cfg.host);
    srv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (srv->lfd < 0)
        return gf_error_set(GF_EIO, "socket: %s", strerror(errno));
    setsockopt(srv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(srv->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(srv->lfd, 256) < 0)
        return gf_error_set(GF_EIO, "listen %s:%d: %s", srv->cfg.host, srv->cfg.port,
                            strerror(errno));
    getsockname(srv->lfd, (struct sockaddr *)&sa, &sl);
    srv->port = ntohs(sa.sin_port);
    return 0;
}

int ks_http_start(struct ks_http_server **out, const struct ks_http_config *cfg)
{
    struct ks_http_server *srv = calloc(1, sizeof(*srv));
    int error;

    if (srv == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    srv->cfg = *cfg;
    srv->lfd = -1;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->cv, NULL);
    if ((cfg->tls_cert != NULL && (error = tls_setup(srv)) < 0) || (error = listen_on(srv)) < 0) {
        ks_http_free(srv);
        return error;
    }
    *out = srv;
    return 0;
}

int ks_http_port(const struct ks_http_server *srv)
{
    return srv->port;
}

void ks_http_free(struct ks_http_server *srv)
{
    if (srv == NULL)
        return;
    if (srv->lfd >= 0)
        close(srv->lfd);
    if (srv->ctx != NULL)
        SSL_CTX_free(srv->ctx);
    pthread_mutex_destroy(&srv->mu);
    pthread_cond_destroy(&srv->cv);
    free(srv);
}

/* ---- raw I/O -------------------------------------------------------------------------------- */

static ssize_t conn_read(struct ks_http_conn *c, void *buf, size_t n)
{
    if (c->ssl != NULL) {
        int r = SSL_read(c->ssl, buf, (int)n);
        return r > 0 ? r : -1;
    }
    for (;;) {
        ssize_t r = recv(c->fd, buf, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        return r > 0 ? r : -1;
    }
}

static int conn_write(struct ks_http_conn *c, const char *data, size_t n)
{
    while (n > 0 && !c->dropped) {
        ssize_t w;
        if (c->ssl != NULL) {
            int r = SSL_write(c->ssl, data, (int)n);
            w = r > 0 ? r : -1;
        } else {
            w = send(c->fd, data, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
        }
        if (w <= 0) {
            c->dropped = 1;
            return -1;
        }
        data += w;
        n -= (size_t)w;
    }
    return c->dropped ? -1 : 0;
}

/* Make sure at least one unread byte is buffered; -1 on EOF. */
static int fill(struct ks_http_conn *c)
{
    if (c->off < c->len)
        return 0;
    ssize_t r = conn_read(c, c->buf, sizeof(c->buf));
    if (r <= 0)
        return -1;
    c->off = 0;
    c->len = (size_t)r;
    return 0;
}

/* One line without its CRLF into a bounded buffer; -1 on EOF or overlong. */
static int read_line(struct ks_http_conn *c, char *line, size_t max)
{
    size_t n = 0;
    for (;;) {
        if (fill(c) < 0)
            return -1;
        char ch = c->buf[c->off++];
        if (ch == '\n')
            break;
        if (n + 1 >= max)
            return -1;
        line[n++] = ch;
    }
    if (n > 0 && line[n - 1] == '\r')
        n--;
    line[n] = '\0';
    return (int)n;
}

static int read_exact(struct ks_http_conn *c, char *out, size_t n)
{
    while (n > 0) {
        if (fill(c) < 0)
            return -1;
        size_t take = c->len - c->off < n ? c->len - c->off : n;
        memcpy(out, c->buf + c->off, take);
        c->off += take;
        out += take;
        n -= take;
    }
    return 0;
}

/* ---- request parsing ---------------------------------------------------------------------- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decode (and '+' to space in queries) into a new string. */
static char *url_decode(const char *s, size_t n, int plus)
{
    char *out = malloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else if (s[i] == '+' && plus) {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static void parse_query(struct ks_http_req *req, const char *q)
{
    while (*q != '\0' && req->nparams < KS_HTTP_MAX_PARAMS) {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        size_t kn = eq != NULL ? (size_t)(eq - q) : n;
        if (kn > 0) {
            struct ks_http_kv *kv = &req->params[req->nparams++];
            kv->name = url_decode(q, kn, 1);
            kv->value = eq != NULL ? url_decode(eq + 1, n - kn - 1, 1) : strdup("");
        }
        q += n;
        if (*q == '&')
            q++;
    }
}

static int parse_request_line(struct ks_http_req *req, char *line)
{
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
    if (sp1 == NULL || sp2 == NULL || (size_t)(sp1 - line) >= sizeof(req->method))
        return -1;
    memcpy(req->method, line, (size_t)(sp1 - line));
    req->method[sp1 - line] = '\0';
    *sp2 = '\0';
    char *target = sp1 + 1;
    char *qm = strchr(target, '?');
    if (qm != NULL) {
        *qm = '\0';
        parse_query(req, qm + 1);
    }
    req->path = url_decode(target, strlen(target), 0);
    return 0;
}

static int read_headers(struct ks_http_conn *c, struct ks_http_req *req)
{
    char line[8192];
    size_t total = 0;
    int n;

    while ((n = read_line(c, line, sizeof(line))) > 0) {
        total += (size_t)n;
        char *colon = strchr(line, ':');
        if (total > HEAD_MAX || colon == NULL)
            return -1;
        if (req->nheaders == KS_HTTP_MAX_HEADERS)
            continue;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        req->headers[req->nheaders].name = strdup(line);
        req->headers[req->nheaders++].value = strdup(v);
    }
    return n < 0 ? -1 : 0;
}

static int read_chunked_body(struct ks_http_conn *c, struct ks_http_req *req)
{
    char line[256];
    size_t cap = 0;

    for (;;) {
        if (read_line(c, line, sizeof(line)) < 0)
            return -1;
        size_t n = strtoul(line, NULL, 16);
        if (n == 0)
            break;
        if (req->body_len + n > BODY_MAX)
            return -1;
        if (req->body_len + n + 1 > cap) {
            cap = (req->body_len + n + 1) * 2;
            req->body = realloc(req->body, cap);
        }
        if (read_exact(c, req->body + req->body_len, n) < 0 || read_line(c, line, 4) < 0)
            return -1;
        req->body_len += n;
    }
    while (read_line(c, line, sizeof(line)) > 0) /* trailers */
        ;
    return 0;
}

static int read_body(struct ks_http_conn *c, struct ks_http_req *req)
{
    const char *te = ks_http_header(req, "Transfer-Encoding");
    const char *cl = ks_http_header(req, "Content-Length");

    if (te != NULL && strcasestr(te, "chunked") != NULL) {
        if (read_chunked_body(c, req) < 0)
            return -1;
    } else if (cl != NULL) {
        size_t n = strtoul(cl, NULL, 10);
        if (n > BODY_MAX)
            return -1;
        req->body = malloc(n + 1);
        if (read_exact(c, req->body, n) < 0)
            return -1;
        req->body_len = n;
    }
    if (req->body == NULL)
        req->body = malloc(1);
    req->body[req->body_len] = '\0';
    return 0;
}

static void req_clear(struct ks_http_req *req)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    for (size_t i = 0; i < req->nparams; i++) {
        free(req->params[i].name);
        free(req->params[i].value);
    }
    free(req->path);
    free(req->body);
    memset(req, 0, sizeof(*req));
}

static int read_request(struct ks_http_conn *c, struct ks_http_req *req)
{
    char line[16384];
    int n;

    while ((n = read_line(c, line, sizeof(line))) == 0) /* tolerate stray CRLF */
        ;
    if (n < 0 || parse_request_line(req, line) < 0 || read_headers(c, req) < 0)
        return -1;
    const char *expect = ks_http_header(req, "Expect");
    if (expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
        conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
        return -1;
    return read_body(c, req);
}

const char *ks_http_header(const struct ks_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

const char *ks_http_param(const struct ks_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}

/* ---- responses ------------------------------------------------------------------------------ */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Status";
    }
}

static void http_date(char *buf, size_t n)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

int ks_http_respond(struct ks_http_conn *conn, int status, const char *content_type,
                    const char *body, size_t len, const char *extra)
{
    char head[1024], date[64];
    http_date(date, sizeof(date));
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Date: %s\r\nCache-Control: no-cache, private\r\n%s\r\n",
                     status, reason_phrase(status), content_type, len, date,
                     extra != NULL ? extra : "");
    if (conn_write(conn, head, (size_t)n) < 0)
        return -1;
    return conn_write(conn, body, len);
}

int ks_http_chunked_begin(struct ks_http_conn *conn, int status, const char *content_type)
{
    char head[512], date[64];
    http_date(date, sizeof(date));
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
                     "Date: %s\r\nCache-Control: no-cache, private\r\n\r\n",
                     status, reason_phrase(status), content_type, date);
    return conn_write(conn, head, (size_t)n);
}

int ks_http_chunk(struct ks_http_conn *conn, const char *data, size_t len)
{
    char head[32];
    if (len == 0)
        return 0;
    int n = snprintf(head, sizeof(head), "%zx\r\n", len);
    if (conn_write(conn, head, (size_t)n) < 0 || conn_write(conn, data, len) < 0)
        return -1;
    return conn_write(conn, "\r\n", 2);
}

int ks_http_chunked_end(struct ks_http_conn *conn)
{
    return conn_write(conn, "0\r\n\r\n", 5);
}

void ks_http_drop(struct ks_http_conn *conn)
{
    conn->dropped = 1;
    shutdown(conn->fd, SHUT_RDWR);
}

int ks_http_closing(struct ks_http_conn *conn)
{
    struct pollfd p = {.fd = conn->fd, .events = POLLIN | POLLRDHUP};
    char b;

    if (conn->dropped || *conn->srv->stop)
        return 1;
    if (poll(&p, 1, 0) <= 0)
        return 0;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
        return 1;
    return recv(conn->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* ---- connections -------------------------------------------------------------------------- */

static void conn_register(struct ks_http_server *srv, struct ks_http_conn *c)
{
    pthread_mutex_lock(&srv->mu);
    c->slot = -1;
    for (int i = 0; i < MAX_CONNS; i++)
        if (srv->conns[i] == NULL) {
            srv->conns[i] = c;
            c->slot = i;
            break;
        }
    srv->nconns++;
    pthread_mutex_unlock(&srv->mu);
}

static void conn_unregister(struct ks_http_server *srv, struct ks_http_conn *c)
{
    pthread_mutex_lock(&srv->mu);
    if (c->slot >= 0)
        srv->conns[c->slot] = NULL;
    srv->nconns--;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
}

static int wants_close(const struct ks_http_req *req)
{
    const char *v = ks_http_header(req, "Connection");
    return v != NULL && strcasecmp(v, "close") == 0;
}

static void *conn_main(void *arg)
{
    struct ks_http_conn *c = arg;
    struct ks_http_server *srv = c->srv;
    struct ks_http_req req;

    memset(&req, 0, sizeof(req));
    if (c->ssl != NULL && SSL_accept(c->ssl) != 1)
        goto out;
    while (!*srv->stop && !c->dropped && read_request(c, &req) == 0) {
        srv->cfg.handler(c, &req, srv->cfg.arg);
        int close_it = wants_close(&req);
        req_clear(&req);
        if (close_it)
            break;
    }
out:
    req_clear(&req);
    if (c->ssl != NULL) {
        if (!c->dropped)
            SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    close(c->fd);
    conn_unregister(srv, c);
    free(c);
    return NULL;
}

static void accept_one(struct ks_http_server *srv)
{
    int fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC);
    int one = 1;
    pthread_t th;
    pthread_attr_t attr;

    if (fd < 0)
        return;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct ks_http_conn *c = calloc(1, sizeof(*c));
    c->srv = srv;
    c->fd = fd;
    if (srv->ctx != NULL) {
        c->ssl = SSL_new(srv->ctx);
        SSL_set_fd(c->ssl, fd);
    }
    conn_register(srv, c);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, conn_main, c) != 0) {
        gf_log_warn("KUBESIM-THREAD-FAIL", "error=%s", strerror(errno));
        if (c->ssl != NULL)
            SSL_free(c->ssl);
        close(fd);
        conn_unregister(srv, c);
        free(c);
    }
    pthread_attr_destroy(&attr);
}

static void close_all(struct ks_http_server *srv)
{
    struct timespec until;

    pthread_mutex_lock(&srv->mu);
    for (int i = 0; i < MAX_CONNS; i++)
        if (srv->conns[i] != NULL)
            shutdown(srv->conns[i]->fd, SHUT_RDWR);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 3;
    while (srv->nconns > 0)
        if (pthread_cond_timedwait(&srv->cv, &srv->mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&srv->mu);
}

void ks_http_run(struct ks_http_server *srv, volatile int *stop)
{
    srv->stop = stop;
    while (!*stop) {
        struct pollfd p = {.fd = srv->lfd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0)
            accept_one(srv);
    }
    close(srv->lfd);
    srv->lfd = -1;
    close_all(srv);
}
