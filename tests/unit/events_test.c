/* events_test.c -- the dashboard's change feed over a real HTTP server: hello, coalesced changes,
 * rollout events, the "all" overflow, subscribers that leave */
#include "harness.h"

#include "events.h"
#include "gitfleet/error.h"
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void handler(hub_http_call *c, void *arg)
{
    if (hub_events_subscribe(arg, c) < 0)
        hub_http_reply_error(c, GF_ERROR);
}

static hub_http *start(hub_events *ev)
{
    struct hub_http_limits limits;
    hub_http *server = NULL;

    hub_http_limits_default(&limits);
    GF_ASSERT_INT(hub_http_start(&server, "http://127.0.0.1:0", &limits, handler, ev), 0);
    return server;
}

static int subscribe(hub_http *server)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(hub_http_port(server))};
    struct timeval tv = {.tv_sec = 5};
    const char *req = "GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    GF_ASSERT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    GF_ASSERT(send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req));
    return fd;
}

/* Append what arrives to buf until `want` is in it (or 5 s pass). */
static int read_until(int fd, char *buf, size_t cap, const char *want)
{
    size_t n = strlen(buf);

    while (n + 1 < cap && strstr(buf, want) == NULL) {
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
    }
    return strstr(buf, want) != NULL;
}

static int count(const char *s, const char *what)
{
    int n = 0;

    for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    return n;
}

static void test_events__hello_then_one_coalesced_change(void)
{
    hub_events *ev = NULL;
    char buf[8192] = "";

    GF_ASSERT_INT(hub_events_new(&ev), 0);
    hub_events_pass(ev, "0123456789012345678901234567890123456789", "");
    hub_http *server = start(ev);
    int fd = subscribe(server);
    GF_ASSERT(read_until(fd, buf, sizeof(buf), "event: hello\n"));
    GF_ASSERT(strstr(buf, "Content-Type: text/event-stream") != NULL);
    GF_ASSERT(read_until(fd, buf, sizeof(buf), "\"error\":\"\"}\n\n"));
    GF_ASSERT_INT(hub_events_subscribers(ev), 1);
    buf[0] = '\0';
    /* Three notes for two clusters and a pass in one window: one event. */
    hub_events_cluster(ev, "dev-1");
    hub_events_cluster(ev, "prod-1");
    hub_events_cluster(ev, "dev-1");
    hub_events_pass(ev, "abcdefabcdefabcdefabcdefabcdefabcdefabcd", "fetch failed");
    GF_ASSERT(read_until(fd, buf, sizeof(buf), "}\n\n"));
    usleep((HUB_EVENTS_WINDOW_MS + 300) * 1000);
    struct timeval tv = {.tv_usec = 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    read_until(fd, buf, sizeof(buf), "never");
    GF_ASSERT_INT(count(buf, "event: change\n"), 1);
    GF_ASSERT(strstr(buf, "\"clusters\":[\"dev-1\",\"prod-1\"],\"all\":false,"
                          "\"revision\":\"abcdefabcdefabcdefabcdefabcdefabcdefabcd\","
                          "\"error\":\"fetch failed\"}") != NULL);
    close(fd);
    hub_http_stop(server);
    hub_events_free(ev);
}

/* Rollout notes are their own event kind, coalesced like changes; a window
 * with rollout notes only sends no change event. */
static void test_events__rollouts_are_their_own_kind(void)
{
    hub_events *ev = NULL;
    char buf[8192] = "";

    GF_ASSERT_INT(hub_events_new(&ev), 0);
    hub_http *server = start(ev);
    int fd = subscribe(server);
    GF_ASSERT(read_until(fd, buf, sizeof(buf), "event: hello\n"));
    GF_ASSERT(read_until(fd, buf, sizeof(buf), "}\n\n"));
    buf[0] = '\0';
    hub_events_rollout(ev, "web");
    hub_events_rollout(ev, "api");
    hub_events_rollout(ev, "web");
    GF_ASSERT(read_until(fd, buf, sizeof(buf), "}\n\n"));
    usleep((HUB_EVENTS_WINDOW_MS + 300) * 1000);
    struct timeval tv = {.tv_usec = 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    read_until(fd, buf, sizeof(buf), "never");
    GF_ASSERT_INT(count(buf, "event: rollout\n"), 1);
    GF_ASSERT_INT(count(buf, "event: change\n"), 0);
    GF_ASSERT(strstr(buf, "\"rollouts\":[\"web\",\"api\"],\"all\":false") != NULL);
    /* A cluster and a rollout in one window: one of each. */
    buf[0] = '\0';
    hub_events_cluster(ev, "dev-1");
    hub_events_rollout(ev, "web");
    tv.tv_sec = 5;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    GF_ASSERT(read_until(fd, buf, sizeof(buf), "\"rollouts\":[\"web\"]"));
    GF_ASSERT_INT(count(buf, "event: change\n"), 1);
    GF_ASSERT(strstr(buf, "\"clusters\":[\"dev-1\"]") != NULL);
    hub_events_rollout(NULL, "web"); /* no feed: nothing */
    close(fd);
    hub_http_stop(server);
    hub_events_free(ev);
}

static void test_events__many_clusters_say_all(void)
{
    hub_events *ev = NULL;
    char buf[16384] = "", name[32];

    GF_ASSERT_INT(hub_events_new(&ev), 0);
    hub_http *server = start(ev);
    int fd = subscribe(server);
    GF_ASSERT(read_until(fd, buf, sizeof(buf), "event: hello\n"));
    GF_ASSERT(read_until(fd, buf, sizeof(buf), "}\n\n"));
    buf[0] = '\0';
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "c-%d", i);
        hub_events_cluster(ev, name);
    }
    GF_ASSERT(read_until(fd, buf, sizeof(buf), "}\n\n"));
    GF_ASSERT(strstr(buf, "\"clusters\":[],\"all\":true") != NULL);
    GF_ASSERT(strlen(buf) < 1000);
    close(fd);
    hub_http_stop(server);
    hub_events_free(ev);
}

/* A subscriber that hangs up is released at the next events (no leak in
 * a hub whose dashboards come and go). */
static void test_events__gone_subscribers_are_released(void)
{
    hub_events *ev = NULL;
    char buf[4096] = "";

    GF_ASSERT_INT(hub_events_new(&ev), 0);
    hub_http *server = start(ev);
    for (int i = 0; i < 5; i++) {
        int fd = subscribe(server);
        buf[0] = '\0';
        GF_ASSERT(read_until(fd, buf, sizeof(buf), "event: hello\n"));
        close(fd);
    }
    GF_ASSERT_INT(hub_events_subscribers(ev), 5);
    time_t deadline = time(NULL) + 10;
    while (hub_events_subscribers(ev) > 0 && time(NULL) < deadline) {
        hub_events_cluster(ev, "dev-1");
        usleep(300 * 1000);
    }
    GF_ASSERT_INT(hub_events_subscribers(ev), 0);
    hub_http_stop(server);
    hub_events_free(ev);
}

/* A report that repeats the last one (all but its time) is no news. */
static void test_events__repeated_reports_are_quiet(void)
{
    hub_events *ev = NULL;
    char buf[8192] = "";
    json_t *a = json_pack("{s:s, s:I, s:[{s:s, s:s}]}", "cluster", "dev-1", "time", (json_int_t)1,
                          "apps", "name", "web", "health", "Healthy");
    json_t *b = json_deep_copy(a), *c = json_deep_copy(a);

    json_object_set_new(b, "time", json_integer(2));
    json_object_set_new(json_array_get(json_object_get(c, "apps"), 0), "health",
                        json_string("Degraded"));
    GF_ASSERT_INT(hub_events_new(&ev), 0);
    hub_http *server = start(ev);
    int fd = subscribe(server);
    GF_ASSERT(read_until(fd, buf, sizeof(buf), "event: hello\n"));
    GF_ASSERT(read_until(fd, buf, sizeof(buf), "}\n\n"));
    buf[0] = '\0';
    hub_events_report(ev, "dev-1", a, b); /* the time alone moved */
    usleep((HUB_EVENTS_WINDOW_MS + 300) * 1000);
    hub_events_report(ev, "prod-1", a, c);   /* the health moved */
    hub_events_report(ev, "new-1", NULL, a); /* a first report */
    GF_ASSERT(read_until(fd, buf, sizeof(buf), "}\n\n"));
    GF_ASSERT_INT(count(buf, "event: change\n"), 1);
    GF_ASSERT(strstr(buf, "\"clusters\":[\"prod-1\",\"new-1\"]") != NULL);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    close(fd);
    hub_http_stop(server);
    hub_events_free(ev);
}

/* Streams still open when the hub stops end cleanly (ASan watches). */
static void test_events__free_with_subscribers(void)
{
    hub_events *ev = NULL;
    char buf[4096] = "";

    GF_ASSERT_INT(hub_events_new(&ev), 0);
    hub_http *server = start(ev);
    int fd = subscribe(server);
    GF_ASSERT(read_until(fd, buf, sizeof(buf), "event: hello\n"));
    hub_events_cluster(ev, "dev-1");
    hub_http_stop(server);
    hub_events_free(ev);
    close(fd);
}

GF_TESTS(GF_TEST(test_events__hello_then_one_coalesced_change),
         GF_TEST(test_events__rollouts_are_their_own_kind),
         GF_TEST(test_events__many_clusters_say_all),
         GF_TEST(test_events__gone_subscribers_are_released),
         GF_TEST(test_events__repeated_reports_are_quiet),
         GF_TEST(test_events__free_with_subscribers));
