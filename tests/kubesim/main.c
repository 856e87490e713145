/* main.c -- kubesim: a Kubernetes API server emulator for gitfleet's tests (argument parsing and
 * start-up only) */
#include "controllers.h"
#include "discovery.h"
#include "handlers.h"
#include "http.h"
#include "store.h"

#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/log.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENT_LOG_SIZE 20000

static const char usage[] =
    "usage: kubesim --listen HOST:PORT [--tls-cert FILE --tls-key FILE] [--token T]\n"
    "               [--kubeconfig-out FILE] [--state FILE] [--controller-delay MS]\n"
    "               [--log-level debug|info|warn|error]\n";

struct options {
    char host[64];
    int port;
    const char *tls_cert, *tls_key, *token, *kubeconfig, *state;
    int controller_delay;
};

static volatile int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int parse_listen(struct options *o, const char *v)
{
    const char *colon = strrchr(v, ':');
    if (colon == NULL || (size_t)(colon - v) >= sizeof(o->host))
        return -1;
    snprintf(o->host, sizeof(o->host), "%.*s", (int)(colon - v), v);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535)
        return -1;
    o->port = (int)port;
    return 0;
}

static int parse_args(struct options *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->controller_delay = 1000;
    snprintf(o->host, sizeof(o->host), "127.0.0.1");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (v == NULL)
            return -1;
        if (strcmp(a, "--listen") == 0 && parse_listen(o, v) == 0)
            ;
        else if (strcmp(a, "--tls-cert") == 0)
            o->tls_cert = v;
        else if (strcmp(a, "--tls-key") == 0)
            o->tls_key = v;
        else if (strcmp(a, "--token") == 0)
            o->token = v;
        else if (strcmp(a, "--kubeconfig-out") == 0)
            o->kubeconfig = v;
        else if (strcmp(a, "--state") == 0)
            o->state = v;
        else if (strcmp(a, "--controller-delay") == 0 && atoi(v) >= 0)
            o->controller_delay = atoi(v);
        else if (strcmp(a, "--log-level") == 0 && gf_log_level_parse(v) >= 0)
            gf_log_configure((enum gf_log_level)gf_log_level_parse(v), GF_LOG_TEXT, stderr);
        else
            return -1;
        i++;
    }
    return (o->tls_cert == NULL) != (o->tls_key == NULL) ? -1 : 0;
}

/* ---- kubeconfig ------------------------------------------------------------------------- */

static char *base64_file(const char *path)
{
    char *data;
    size_t len;
    if (gf_fs_read(&data, &len, path, 1 << 20) < 0)
        return NULL;
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, (unsigned char *)data, (int)len);
    free(data);
    return out;
}

static int write_kubeconfig(const struct options *o, int port)
{
    char buf[16384], ca[128 + 8192] = "";
    char *b64 = NULL;

    if (o->tls_cert != NULL) {
        if ((b64 = base64_file(o->tls_cert)) == NULL)
            return gf_error_wrap(GF_EIO, "reading %s", o->tls_cert);
        if (strlen(b64) > 8000) {
            free(b64);
            return gf_error_set(GF_ETOOBIG, "%s is too large for a kubeconfig", o->tls_cert);
        }
        snprintf(ca, sizeof(ca), "    certificate-authority-data: %s\n", b64);
        free(b64);
    }
    int n = snprintf(buf, sizeof(buf),
                     "apiVersion: v1\nkind: Config\nclusters:\n- name: kubesim\n  cluster:\n"
                     "    server: %s://%s:%d\n%scontexts:\n- name: kubesim\n  context:\n"
                     "    cluster: kubesim\n    user: kubesim\n    namespace: default\n"
                     "current-context: kubesim\nusers:\n- name: kubesim\n  user:%s%s%s\n",
                     o->tls_cert ? "https" : "http", o->host, port, ca,
                     o->token ? "\n    token: \"" : " {}", o->token ? o->token : "",
                     o->token ? "\"" : "");
    return gf_fs_write_atomic(o->kubeconfig, buf, (size_t)n, 0600);
}

/* ---- state ------------------------------------------------------------------------------ */

static void register_crds(void)
{
    json_t *list = ks_store_list("customresourcedefinitions.apiextensions.k8s.io", NULL, NULL);
    size_t i;
    json_t *crd;
    json_array_foreach(list, i, crd) ks_disc_add_crd(crd);
    json_decref(list);
}

static void ensure_namespaces(void)
{
    static const char *const names[] = {"default", "kube-system", "kube-public", "kube-node-lease"};
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (ks_store_get("namespaces", "", names[i]) != NULL)
            continue;
        char uid[64];
        snprintf(uid, sizeof(uid), "00000000-0000-4000-8000-%012zu", i + 1);
        ks_store_put("namespaces", "", names[i],
                     json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:{s:s}},s:{s:[s]},s:{s:s}}", "apiVersion",
                               "v1", "kind", "Namespace", "metadata", "name", names[i], "uid", uid,
                               "creationTimestamp", now, "labels", "kubernetes.io/metadata.name",
                               names[i], "spec", "finalizers", "kubernetes", "status", "phase",
                               "Active"));
    }
}

static const char *state_path;
static uint64_t saved_writes;

static void save_state(void)
{
    ks_store_lock();
    if (ks_store_writes() != saved_writes) {
        if (ks_store_save(state_path) < 0)
            gf_log_warn("KUBESIM-STATE-SAVE", "path=%s error=\"%s\"", state_path, gf_error_last());
        saved_writes = ks_store_writes();
    }
    ks_store_unlock();
}

static void *saver_main(void *arg)
{
    (void)arg;
    while (!stop_flag) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
        save_state();
    }
    return NULL;
}

/* ---- main ------------------------------------------------------------------------------- */

static int start(const struct options *o, struct ks_http_server **srv)
{
    struct ks_http_config cfg = {o->host, o->port, o->tls_cert, o->tls_key, ks_handle, NULL};
    int error;

    ks_store_init(EVENT_LOG_SIZE);
    ks_disc_init();
    if (o->state != NULL && (error = ks_store_load(o->state)) < 0)
        return error;
    ks_store_lock();
    register_crds();
    ensure_namespaces();
    saved_writes = ks_store_writes();
    ks_store_unlock();
    ks_handlers_init(o->token);
    if ((error = ks_http_start(srv, &cfg)) < 0)
        return error;
    if (o->kubeconfig != NULL && (error = write_kubeconfig(o, ks_http_port(*srv))) < 0)
        return error;
    return ks_ctrl_start(o->controller_delay);
}

int main(int argc, char **argv)
{
    struct options o;
    struct ks_http_server *srv = NULL;
    struct sigaction sa;
    pthread_t saver;
    int error;

    if (parse_args(&o, argc, argv) < 0) {
        fputs(usage, stderr);
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((error = start(&o, &srv)) < 0) {
        fprintf(stderr, "kubesim: %s\n", gf_error_last());
        ks_http_free(srv);
        ks_store_shutdown();
        return 1;
    }
    printf("kubesim: listening on %s://%s:%d\n", o.tls_cert ? "https" : "http", o.host,
           ks_http_port(srv));
    fflush(stdout);
    state_path = o.state;
    if (state_path != NULL)
        pthread_create(&saver, NULL, saver_main, NULL);
    ks_http_run(srv, &stop_flag);
    ks_ctrl_stop();
    if (state_path != NULL) {
        pthread_join(saver, NULL);
        saved_writes = (uint64_t)-1; /* always write the final state */
        save_state();
    }
    ks_http_free(srv);
    ks_store_shutdown();
    return 0;
}
