/* http_test.c -- the HTTP server layer over real sockets: replies, deferred replies, SSE streams */
#include "harness.h"

#include "gitfleet/error.h"
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct fixture {
    hub_http *server;
    hub_http_stream *stream; /* the last one opened */
    pthread_mutex_t lock;
    int streams_opened;
};

static void *answer_later(void *arg)
{
    hub_http_call *c = arg;

    usleep(200 * 1000);
    hub_http_reply_json(c, 200, json_pack("{s:s}", "later", "yes"));
    return NULL;
}

static void handler(hub_http_call *c, void *arg)
{
    struct fixture *f = arg;
    const char *path = hub_http_path(c);
    char buf[64];

    if (strcmp(path, "/echo") == 0) {
        size_t len;
        const void *body = hub_http_body(c, &len);
        hub_http_reply(c, 200, "text/plain", body, len);
    } else if (strcmp(path, "/query") == 0) {
        const char *v = hub_http_query_param(c, "name", buf, sizeof(buf));
        hub_http_reply_json(c, 200, json_pack("{s:s?}", "name", v));
    } else if (strcmp(path, "/later") == 0) {
        pthread_t t;
        hub_http_defer(c);
        pthread_create(&t, NULL, answer_later, c);
        pthread_detach(t);
    } else if (strcmp(path, "/stream") == 0) {
        hub_http_stream *st = NULL;
        if (hub_http_stream_start(&st, c, "text/event-stream") < 0) {
            hub_http_reply_error(c, GF_ERROR);
            return;
        }
        pthread_mutex_lock(&f->lock);
        f->stream = st;
        f->streams_opened++;
        pthread_mutex_unlock(&f->lock);
    } else {
        gf_error_set(GF_ENOTFOUND, "no route for %s", path);
        hub_http_reply_error(c, GF_ENOTFOUND);
    }
}

static void start(struct fixture *f, size_t stream_buffer)
{
    struct hub_http_limits limits;

    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    hub_http_limits_default(&limits);
    limits.stream_buffer = stream_buffer;
    limits.idle_timeout_s = 5;
    GF_ASSERT_INT(hub_http_start(&f->server, "http://127.0.0.1:0", &limits, handler, f), 0);
    GF_ASSERT(hub_http_port(f->server) > 0);
}

static int connect_to(struct fixture *f)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(hub_http_port(f->server))};
    struct timeval tv = {.tv_sec = 5};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    GF_ASSERT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Read until `want` appears (or the peer closes / 5 s pass) into buf. */
static size_t read_until(int fd, char *buf, size_t cap, const char *want)
{
    size_t n = 0;

    buf[0] = '\0';
    while (n + 1 < cap && strstr(buf, want) == NULL) {
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
    }
    return n;
}

static void send_text(int fd, const char *text)
{
    GF_ASSERT(send(fd, text, strlen(text), MSG_NOSIGNAL) == (ssize_t)strlen(text));
}

static void test_http__reply_and_errors(void)
{
    struct fixture f;
    char buf[4096];
    int fd;

    start(&f, 1 << 20);
    fd = connect_to(&f);
    send_text(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    read_until(fd, buf, sizeof(buf), "hello world");
    GF_ASSERT_HAS(buf, "HTTP/1.1 200");
    GF_ASSERT_HAS(buf, "\r\n\r\nhello world");
    send_text(fd, "GET /query?name=a%2Fb+c HTTP/1.1\r\nHost: x\r\n\r\n");
    read_until(fd, buf, sizeof(buf), "}");
    GF_ASSERT_HAS(buf, "{\"name\":\"a/b c\"}");
    send_text(fd, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n");
    read_until(fd, buf, sizeof(buf), "}");
    GF_ASSERT_HAS(buf, "HTTP/1.1 404");
    GF_ASSERT_HAS(buf, "{\"error\":\"no route for /nothing\",\"code\":\"ENOTFOUND\"}");
    close(fd);
    hub_http_stop(f.server);
}

static void test_http__deferred_reply(void)
{
    struct fixture f;
    char buf[4096];
    int fd;

    start(&f, 1 << 20);
    fd = connect_to(&f);
    send_text(fd, "GET /later HTTP/1.1\r\nHost: x\r\n\r\nGET /query?name=next HTTP/1.1\r\n"
                  "Host: x\r\n\r\n");
    read_until(fd, buf, sizeof(buf), "next\"}");
    GF_ASSERT_HAS(buf, "{\"later\":\"yes\"}");
    GF_ASSERT(strstr(buf, "later") < strstr(buf, "next")); /* in order */
    close(fd);
    hub_http_stop(f.server);
}

static hub_http_stream *wait_stream(struct fixture *f, int opened)
{
    hub_http_stream *st = NULL;

    for (int i = 0; i < 500 && st == NULL; i++) {
        pthread_mutex_lock(&f->lock);
        if (f->streams_opened == opened)
            st = f->stream;
        pthread_mutex_unlock(&f->lock);
        if (st == NULL)
            usleep(10 * 1000);
    }
    GF_ASSERT(st != NULL);
    return st;
}

static void test_http__stream_events(void)
{
    struct fixture f;
    char buf[8192];
    int fd;

    start(&f, 1 << 20);
    fd = connect_to(&f);
    send_text(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    hub_http_stream *st = wait_stream(&f, 1);
    read_until(fd, buf, sizeof(buf), "\r\n\r\n");
    GF_ASSERT_HAS(buf, "HTTP/1.1 200");
    GF_ASSERT_HAS(buf, "text/event-stream");
    GF_ASSERT_HAS(buf, "Transfer-Encoding: chunked");
    /* events written from this thread, some time apart, arrive as written */
    GF_ASSERT_INT(hub_http_stream_event(st, "status", "{\"a\":1}"), 0);
    read_until(fd, buf, sizeof(buf), "\n\n");
    GF_ASSERT_HAS(buf, "event: status\ndata: {\"a\":1}\n\n");
    usleep(100 * 1000);
    GF_ASSERT_INT(hub_http_stream_event(st, NULL, "two\nlines"), 0);
    read_until(fd, buf, sizeof(buf), "lines\n\n");
    GF_ASSERT_HAS(buf, "data: two\ndata: lines\n\n");
    hub_http_stream_close(st);
    read_until(fd, buf, sizeof(buf), "0\r\n\r\n");
    GF_ASSERT_HAS(buf, "0\r\n\r\n"); /* the chunked body ends */
    close(fd);
    hub_http_stop(f.server);
}

static void test_http__stream_client_gone(void)
{
    struct fixture f;
    char buf[4096];
    int fd, error = 0;

    start(&f, 64 * 1024);
    fd = connect_to(&f);
    send_text(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    hub_http_stream *st = wait_stream(&f, 1);
    read_until(fd, buf, sizeof(buf), "\r\n\r\n");
    close(fd);
    /* the writer learns that the client is gone, and stops */
    char line[1024];
    memset(line, 'x', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    for (int i = 0; i < 2000 && error == 0; i++) {
        error = hub_http_stream_event(st, NULL, line);
        usleep(1000);
    }
    GF_ASSERT_INT(error, GF_EIO);
    hub_http_stream_close(st);

    /* a client that never reads is dropped once 64 KiB wait for it */
    fd = connect_to(&f);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    send_text(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    st = wait_stream(&f, 2);
    error = 0;
    int sent = 0;
    for (; sent < 100000 && error == 0; sent++)
        error = hub_http_stream_event(st, NULL, line);
    GF_ASSERT_INT(error, GF_EIO);
    GF_ASSERT(sent < 100000);
    hub_http_stream_close(st);
    close(fd);
    hub_http_stop(f.server);
}

static void test_http__stop_with_parked_streams(void)
{
    struct fixture f;
    char buf[4096];
    int fd;

    start(&f, 1 << 20);
    fd = connect_to(&f);
    send_text(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    hub_http_stream *st = wait_stream(&f, 1);
    read_until(fd, buf, sizeof(buf), "\r\n\r\n");
    usleep(100 * 1000); /* parked: nothing to send */
    hub_http_stop(f.server);
    GF_ASSERT_INT(hub_http_stream_write(st, "x", 1), GF_EIO);
    hub_http_stream_close(st);
    close(fd);
}

GF_TESTS(GF_TEST(test_http__reply_and_errors), GF_TEST(test_http__deferred_reply),
         GF_TEST(test_http__stream_events), GF_TEST(test_http__stream_client_gone),
         GF_TEST(test_http__stop_with_parked_streams));
