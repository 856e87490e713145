/* kubesim_bench.c -- load generator for kubesim: N keep-alive clients doing GETs or
 * server-side applies for a fixed time; prints the rate and latency percentiles */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct config {
    const char *server, *token, *mode, *ns;
    int clients, seconds, objects;
};

struct worker {
    const struct config *cfg;
    int id;
    long done, errors;
    double *lat; /* seconds per request */
    size_t nlat, cap;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static CURL *client(const struct config *cfg, struct curl_slist **headers, const char *ctype)
{
    CURL *c = curl_easy_init();
    char auth[512];
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L); /* the bench's self-signed server */
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    *headers = curl_slist_append(NULL, "Accept: application/json");
    if (ctype != NULL)
        *headers = curl_slist_append(*headers, ctype);
    if (cfg->token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cfg->token);
        *headers = curl_slist_append(*headers, auth);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
    return c;
}

static int one(struct worker *w, CURL *c, long i)
{
    const struct config *cfg = w->cfg;
    char url[1024], body[1024];
    long code = 0;
    int obj = (int)(i % cfg->objects);

    if (strcmp(cfg->mode, "get") == 0) {
        snprintf(url, sizeof(url), "%s/api/v1/namespaces/%s/configmaps/bench-%d", cfg->server,
                 cfg->ns, obj);
    } else {
        snprintf(url, sizeof(url),
                 "%s/api/v1/namespaces/%s/configmaps/agent%d-%d?fieldManager=agent-%d&force=true",
                 cfg->server, cfg->ns, w->id, obj, w->id);
        snprintf(body, sizeof(body),
                 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                 "\"agent%d-%d\",\"namespace\":\"%s\",\"labels\":{\"app\":\"bench\"}},"
                 "\"data\":{\"round\":\"%ld\",\"agent\":\"%d\"}}",
                 w->id, obj, cfg->ns, i / cfg->objects, w->id);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
        curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (curl_easy_perform(c) != CURLE_OK)
        return -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return code >= 200 && code < 300 ? 0 : -1;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    struct curl_slist *headers;
    int apply = strcmp(w->cfg->mode, "apply") == 0;
    CURL *c = client(w->cfg, &headers, apply ? "Content-Type: application/apply-patch+yaml" : NULL);
    double end = now_s() + w->cfg->seconds;

    for (long i = 0;; i++) {
        double t0 = now_s();
        if (t0 >= end)
            break;
        if (one(w, c, i) < 0)
            w->errors++;
        else
            w->done++;
        if (w->nlat == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 4096;
            w->lat = realloc(w->lat, w->cap * sizeof(*w->lat));
        }
        w->lat[w->nlat++] = now_s() - t0;
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const struct config *cfg, struct worker *ws, double elapsed)
{
    long done = 0, errors = 0;
    size_t n = 0, k = 0;
    for (int i = 0; i < cfg->clients; i++) {
        done += ws[i].done;
        errors += ws[i].errors;
        n += ws[i].nlat;
    }
    double *all = malloc((n + 1) * sizeof(*all));
    for (int i = 0; i < cfg->clients; i++)
        for (size_t j = 0; j < ws[i].nlat; j++)
            all[k++] = ws[i].lat[j];
    qsort(all, n, sizeof(*all), cmp_double);
    printf("mode=%s clients=%d seconds=%.1f requests=%ld errors=%ld rate=%.0f/s p50=%.2fms "
           "p99=%.2fms\n",
           cfg->mode, cfg->clients, elapsed, done, errors, (double)done / elapsed,
           n ? all[n / 2] * 1e3 : 0, n ? all[n * 99 / 100] * 1e3 : 0);
    free(all);
}

int main(int argc, char **argv)
{
    struct config cfg = {NULL, NULL, "get", "bench", 10, 5, 100};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--server") == 0)
            cfg.server = argv[i + 1];
        else if (strcmp(argv[i], "--token") == 0)
            cfg.token = argv[i + 1];
        else if (strcmp(argv[i], "--mode") == 0)
            cfg.mode = argv[i + 1];
        else if (strcmp(argv[i], "--namespace") == 0)
            cfg.ns = argv[i + 1];
        else if (strcmp(argv[i], "--clients") == 0)
            cfg.clients = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            cfg.seconds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--objects") == 0)
            cfg.objects = atoi(argv[i + 1]);
    }
    if (cfg.server == NULL || cfg.clients < 1 || cfg.objects < 1 ||
        (strcmp(cfg.mode, "get") != 0 && strcmp(cfg.mode, "apply") != 0)) {
        fprintf(stderr, "usage: kubesim-bench --server URL [--token T] [--mode get|apply] "
                        "[--clients N] [--seconds S] [--objects K] [--namespace NS]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_ALL);
    struct worker *ws = calloc((size_t)cfg.clients, sizeof(*ws));
    pthread_t *th = calloc((size_t)cfg.clients, sizeof(*th));
    double t0 = now_s();
    for (int i = 0; i < cfg.clients; i++) {
        ws[i].cfg = &cfg;
        ws[i].id = i;
        pthread_create(&th[i], NULL, run, &ws[i]);
    }
    for (int i = 0; i < cfg.clients; i++)
        pthread_join(th[i], NULL);
    report(&cfg, ws, now_s() - t0);
    for (int i = 0; i < cfg.clients; i++)
        free(ws[i].lat);
    free(ws);
    free(th);
    curl_global_cleanup();
    return 0;
}
