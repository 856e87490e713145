/* kube.c -- a small Kubernetes API client over libcurl: kubeconfig, discovery, apply, get, delete
 */
#include "kube.h"

#include "gitfleet/base64.h"
#include "gitfleet/doc.h"
#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/k8s_schema.h"
#include "gitfleet/yaml_parse.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KUBE_MAX_RESPONSE ((size_t)256 << 20)
#define KUBE_HANDLES      4

struct agent_kube {
    char *server;        /* https://host:port, no trailing slash */
    char *token;         /* bearer token, or NULL */
    struct curl_blob ca; /* PEM CA bundle, or empty */
    struct curl_blob cert;
    struct curl_blob key;
    int insecure;
    /* A few handles, each keeping its connection, so that syncs of several
     * apps do not queue behind one slow request; a request takes an idle
     * one or waits for one. */
    CURL *curl[KUBE_HANDLES];
    int busy[KUBE_HANDLES];
    pthread_mutex_t lock; /* guards busy, the discovery cache and writes */
    pthread_cond_t idle;
    json_t *discovery; /* "group/version" -> APIResourceList */
    long long writes;  /* requests that change something */
};

/* ---- loading credentials ---- */

static int blob_from_base64(struct curl_blob *blob, const char *text, const char *what)
{
    unsigned char *data = NULL;
    size_t len = 0;

    if (gf_base64_decode(&data, &len, text, strlen(text)) < 0)
        return gf_error_wrap(GF_EINVAL, "kubeconfig: %s", what);
    blob->data = data;
    blob->len = len;
    blob->flags = CURL_BLOB_COPY;
    return 0;
}

static int blob_from_file(struct curl_blob *blob, const char *path, const char *what)
{
    char *data = NULL;
    size_t len = 0;
    int error;

    if ((error = gf_fs_read(&data, &len, path, 1 << 20)) < 0)
        return gf_error_wrap(error, "kubeconfig: %s", what);
    blob->data = data;
    blob->len = len;
    blob->flags = CURL_BLOB_COPY;
    return 0;
}

/* Either FIELD-data (base64) or FIELD (a file path) of a kubeconfig entry. */
static int load_blob(struct curl_blob *blob, const json_t *entry, const char *data_key,
                     const char *file_key)
{
    const char *data = json_string_value(json_object_get(entry, data_key));
    const char *file = json_string_value(json_object_get(entry, file_key));

    if (data)
        return blob_from_base64(blob, data, data_key);
    if (file)
        return blob_from_file(blob, file, file_key);
    return 0;
}

/* The `key` member of the item named `name` in kubeconfig list `list`. */
static const json_t *named_entry(const json_t *config, const char *list, const char *name,
                                 const char *key)
{
    size_t i;
    json_t *item;

    json_array_foreach(json_object_get(config, list), i, item)
    {
        const char *n = json_string_value(json_object_get(item, "name"));
        if (n && name && strcmp(n, name) == 0)
            return json_object_get(item, key);
    }
    return NULL;
}

static int kube_alloc(agent_kube **out)
{
    agent_kube *kube = calloc(1, sizeof(*kube));

    if (kube == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (int i = 0; i < KUBE_HANDLES; i++)
        if ((kube->curl[i] = curl_easy_init()) == NULL) {
            while (i-- > 0)
                curl_easy_cleanup(kube->curl[i]);
            free(kube);
            return gf_error_set(GF_ENOMEM, "cannot start libcurl");
        }
    pthread_mutex_init(&kube->lock, NULL);
    pthread_cond_init(&kube->idle, NULL);
    kube->discovery = json_object();
    *out = kube;
    return 0;
}

static int set_server(agent_kube *kube, const char *server)
{
    size_t len = strlen(server);

    while (len > 0 && server[len - 1] == '/')
        len--;
    if ((kube->server = strndup(server, len)) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    return 0;
}

static int apply_user(agent_kube *kube, const json_t *user)
{
    const char *token = json_string_value(json_object_get(user, "token"));
    const char *token_file = json_string_value(json_object_get(user, "tokenFile"));
    int error;

    if (token_file && !token) {
        char *text = NULL;
        if ((error = gf_fs_read(&text, NULL, token_file, 1 << 20)) < 0)
            return gf_error_wrap(error, "kubeconfig: tokenFile");
        text[strcspn(text, "\r\n")] = '\0';
        kube->token = text;
    } else if (token && (kube->token = strdup(token)) == NULL) {
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    if ((error = load_blob(&kube->cert, user, "client-certificate-data", "client-certificate")) <
            0 ||
        (error = load_blob(&kube->key, user, "client-key-data", "client-key")) < 0)
        return error;
    if (json_object_get(user, "exec") || json_object_get(user, "auth-provider"))
        return gf_error_set(GF_EUNSUPPORTED,
                            "kubeconfig: exec and auth-provider credentials are not supported");
    return 0;
}

static int apply_kubeconfig(agent_kube *kube, const json_t *config, const char *context_name)
{
    const char *name = context_name;
    const json_t *context, *cluster, *user;
    int error;

    if (name == NULL)
        name = json_string_value(json_object_get(config, "current-context"));
    if (name == NULL)
        return gf_error_set(GF_EINVAL, "kubeconfig: no current-context and no --context given");
    if ((context = named_entry(config, "contexts", name, "context")) == NULL)
        return gf_error_set(GF_ENOTFOUND, "kubeconfig: context '%s' not found", name);
    cluster = named_entry(config, "clusters",
                          json_string_value(json_object_get(context, "cluster")), "cluster");
    if (cluster == NULL || !json_is_string(json_object_get(cluster, "server")))
        return gf_error_set(GF_EINVAL, "kubeconfig: context '%s' has no cluster with a server",
                            name);
    if ((error = set_server(kube, json_string_value(json_object_get(cluster, "server")))) < 0 ||
        (error = load_blob(&kube->ca, cluster, "certificate-authority-data",
                           "certificate-authority")) < 0)
        return error;
    kube->insecure = json_is_true(json_object_get(cluster, "insecure-skip-tls-verify"));
    user =
        named_entry(config, "users", json_string_value(json_object_get(context, "user")), "user");
    return user ? apply_user(kube, user) : 0;
}

int agent_kube_open_kubeconfig(agent_kube **out, const char *path, const char *context)
{
    json_t *docs = NULL;
    agent_kube *kube = NULL;
    int error;

    *out = NULL;
    if ((error = gf_yaml_parse_file(&docs, path, NULL, 0)) < 0)
        return error;
    if (!json_is_object(json_array_get(docs, 0))) {
        json_decref(docs);
        return gf_error_set(GF_EINVAL, "%s: not a kubeconfig", path);
    }
    if ((error = kube_alloc(&kube)) == 0 &&
        (error = apply_kubeconfig(kube, json_array_get(docs, 0), context)) < 0)
        gf_error_wrap(error, "%s", path);
    json_decref(docs);
    if (error < 0) {
        agent_kube_close(kube);
        return error;
    }
    *out = kube;
    return 0;
}

int agent_kube_open_in_cluster(agent_kube **out)
{
    static const char dir[] = "/var/run/secrets/kubernetes.io/serviceaccount";
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    char server[512], path[256];
    json_t *user;
    agent_kube *kube = NULL;
    int error;

    *out = NULL;
    if (host == NULL || port == NULL)
        return gf_error_set(GF_ENOTFOUND, "not running in a cluster: KUBERNETES_SERVICE_HOST "
                                          "and KUBERNETES_SERVICE_PORT are unset");
    snprintf(server, sizeof(server), strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
             port);
    snprintf(path, sizeof(path), "%s/token", dir);
    user = json_pack("{s:s}", "tokenFile", path);
    if ((error = kube_alloc(&kube)) == 0 && (error = set_server(kube, server)) == 0 &&
        (error = apply_user(kube, user)) == 0) {
        snprintf(path, sizeof(path), "%s/ca.crt", dir);
        error = blob_from_file(&kube->ca, path, "ca.crt");
    }
    json_decref(user);
    if (error < 0) {
        agent_kube_close(kube);
        return error;
    }
    *out = kube;
    return 0;
}

void agent_kube_close(agent_kube *kube)
{
    if (kube == NULL)
        return;
    for (int i = 0; i < KUBE_HANDLES; i++)
        if (kube->curl[i])
            curl_easy_cleanup(kube->curl[i]);
    pthread_cond_destroy(&kube->idle);
    free(kube->server);
    free(kube->token);
    free(kube->ca.data);
    free(kube->cert.data);
    free(kube->key.data);
    json_decref(kube->discovery);
    pthread_mutex_destroy(&kube->lock);
    free(kube);
}

const char *agent_kube_server(const agent_kube *kube)
{
    return kube->server;
}

/* ---- requests ---- */

struct response {
    char *data;
    size_t len;
    int too_big;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct response *r = arg;
    size_t n = size * nmemb;

    if (r->len + n > KUBE_MAX_RESPONSE) {
        r->too_big = 1;
        return 0;
    }
    char *grown = realloc(r->data, r->len + n + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + r->len, ptr, n);
    r->data = grown;
    r->len += n;
    r->data[r->len] = '\0';
    return n;
}

static int code_for_status(long status)
{
    switch (status) {
    case 404:
        return GF_ENOTFOUND;
    case 409:
        return GF_ECONFLICT;
    case 401:
    case 403:
        return GF_EPERM;
    case 400:
    case 422:
        return GF_EINVAL;
    case 405:
    case 415:
        return GF_EUNSUPPORTED;
    default:
        return GF_EIO; /* 429, 5xx: worth retrying */
    }
}

/* Turn a non-2xx answer into an error carrying the Status message. */
static int status_error(long status, const char *method, const char *path, const json_t *body)
{
    const char *message = json_string_value(json_object_get(body, "message"));

    if (message == NULL)
        message = status == 0 ? "no response" : "no Status message";
    return gf_error_set(code_for_status(status), "%s %s: %ld: %s", method, path, status, message);
}

/* Credentials, TLS and timeouts of every request; the caller adds the rest. */
static void setup_connection(agent_kube *kube, CURL *c)
{
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "gitfleet-agent/" GF_VERSION);
    if (kube->token) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, kube->token);
    }
    if (kube->ca.len)
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &kube->ca);
    if (kube->cert.len)
        curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &kube->cert);
    if (kube->key.len)
        curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &kube->key);
    if (kube->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

static void setup_request(agent_kube *kube, CURL *c, const char *method, const char *url,
                          struct curl_slist *headers, const char *body, struct response *resp)
{
    curl_easy_reset(c);
    setup_connection(kube, c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
}

/* One request on handle `c`, which the caller took (take_handle). */
static int perform(agent_kube *kube, CURL *c, const char *method, const char *path,
                   const char *content_type, const char *body, long *status_out, json_t **out)
{
    struct response resp = {0};
    struct curl_slist *headers = NULL;
    char url[4096], header[256];
    json_t *parsed = NULL;
    long status = 0;
    CURLcode rc;

    snprintf(url, sizeof(url), "%s%s", kube->server, path);
    headers = curl_slist_append(headers, "Accept: application/json");
    if (content_type) {
        snprintf(header, sizeof(header), "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, header);
    }
    setup_request(kube, c, method, url, headers, body, &resp);
    rc = curl_easy_perform(c);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        free(resp.data);
        return gf_error_set(GF_EIO, "%s %s: %s", method, url,
                            resp.too_big ? "response too large" : curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (resp.len > 0)
        parsed = json_loadb(resp.data, resp.len, 0, NULL);
    free(resp.data);
    if (status_out)
        *status_out = status;
    if (status < 200 || status > 299) {
        int error = status_error(status, method, path, parsed);
        json_decref(parsed);
        return error;
    }
    if (out)
        *out = parsed;
    else
        json_decref(parsed);
    return 0;
}

/* An idle handle (waiting for one when all are busy); counts writes. */
static int take_handle(agent_kube *kube, const char *method)
{
    pthread_mutex_lock(&kube->lock);
    if (strcmp(method, "GET") != 0)
        kube->writes++;
    for (;;) {
        for (int i = 0; i < KUBE_HANDLES; i++)
            if (!kube->busy[i]) {
                kube->busy[i] = 1;
                pthread_mutex_unlock(&kube->lock);
                return i;
            }
        pthread_cond_wait(&kube->idle, &kube->lock);
    }
}

static void give_handle(agent_kube *kube, int slot)
{
    pthread_mutex_lock(&kube->lock);
    kube->busy[slot] = 0;
    pthread_cond_signal(&kube->idle);
    pthread_mutex_unlock(&kube->lock);
}

int agent_kube_request(agent_kube *kube, const char *method, const char *path,
                       const char *content_type, const char *body, long *status_out, json_t **out)
{
    int slot, error;

    if (out)
        *out = NULL;
    slot = take_handle(kube, method);
    error = perform(kube, kube->curl[slot], method, path, content_type, body, status_out, out);
    give_handle(kube, slot);
    return error;
}

long long agent_kube_writes(agent_kube *kube)
{
    long long n;

    pthread_mutex_lock(&kube->lock);
    n = kube->writes;
    pthread_mutex_unlock(&kube->lock);
    return n;
}

/* ---- discovery ---- */

static int find_kind(const json_t *list, const char *kind, struct agent_kube_resource *out)
{
    size_t i;
    json_t *res;

    json_array_foreach(json_object_get(list, "resources"), i, res)
    {
        const char *name = json_string_value(json_object_get(res, "name"));
        const char *k = json_string_value(json_object_get(res, "kind"));
        if (name && k && strcmp(k, kind) == 0 && strchr(name, '/') == NULL) {
            snprintf(out->plural, sizeof(out->plural), "%s", name);
            out->namespaced = json_is_true(json_object_get(res, "namespaced"));
            return 0;
        }
    }
    return GF_ENOTFOUND;
}

/* Find `kind` in the cached list of key: 0, GF_ENOTFOUND, or 1 when the
 * list is not cached. The cache is only read under the lock. */
static int cached_kind(agent_kube *kube, const char *key, const char *kind,
                       struct agent_kube_resource *out)
{
    const json_t *list;
    int found;

    pthread_mutex_lock(&kube->lock);
    list = json_object_get(kube->discovery, key);
    found = list ? find_kind(list, kind, out) : 1;
    pthread_mutex_unlock(&kube->lock);
    return found;
}

int agent_kube_resource(agent_kube *kube, const char *api_version, const char *kind,
                        struct agent_kube_resource *out)
{
    char buf[256], key[256], path[300];
    const char *group, *version;
    json_t *list = NULL;
    int error;

    memset(out, 0, sizeof(*out));
    gf_k8s_split_api_version(api_version, buf, sizeof(buf), &group, &version);
    snprintf(out->group, sizeof(out->group), "%s", group);
    snprintf(out->version, sizeof(out->version), "%s", version);
    snprintf(out->kind, sizeof(out->kind), "%s", kind);
    snprintf(key, sizeof(key), "%s/%s", group, version);
    if (cached_kind(kube, key, kind, out) == 0)
        return 0;
    /* Not cached, or a miss: (re)fetch once -- the kind may come from a CRD
     * applied just now. */
    if (group[0] == '\0')
        snprintf(path, sizeof(path), "/api/%s", version);
    else
        snprintf(path, sizeof(path), "/apis/%s/%s", group, version);
    error = agent_kube_request(kube, "GET", path, NULL, NULL, NULL, &list);
    if (error < 0 && error != GF_ENOTFOUND)
        return error; /* the server failed: say why, not "no such kind" */
    if (error == 0) {
        pthread_mutex_lock(&kube->lock);
        json_object_set_new(kube->discovery, key, list);
        error = find_kind(list, kind, out);
        pthread_mutex_unlock(&kube->lock);
    }
    if (error == GF_ENOTFOUND)
        return gf_error_set(GF_ENOTFOUND, "the server has no kind %s in %s", kind, api_version);
    return error;
}

int agent_kube_path(char *buf, size_t len, const struct agent_kube_resource *res,
                    const char *namespace_, const char *name)
{
    int n;

    if (res->group[0] == '\0')
        n = snprintf(buf, len, "/api/%s", res->version);
    else
        n = snprintf(buf, len, "/apis/%s/%s", res->group, res->version);
    if (res->namespaced) {
        if (namespace_ == NULL || namespace_[0] == '\0')
            return gf_error_set(GF_EINVAL, "%s %s needs a namespace", res->kind, name ? name : "");
        n += snprintf(buf + n, len - (size_t)n, "/namespaces/%s", namespace_);
    }
    n += snprintf(buf + n, len - (size_t)n, "/%s", res->plural);
    if (name)
        n += snprintf(buf + n, len - (size_t)n, "/%s", name);
    return (size_t)n < len ? 0 : gf_error_set(GF_EINVAL, "object path too long");
}

/* ---- objects ---- */

static int object_path(agent_kube *kube, char *buf, size_t len, const char *api_version,
                       const char *kind, const char *namespace_, const char *name)
{
    struct agent_kube_resource res;
    int error;

    if (api_version == NULL || kind == NULL || name == NULL)
        return gf_error_set(GF_EINVAL, "object needs apiVersion, kind and metadata.name");
    if ((error = agent_kube_resource(kube, api_version, kind, &res)) < 0)
        return error;
    return agent_kube_path(buf, len, &res, namespace_, name);
}

int agent_kube_apply(agent_kube *kube, const json_t *obj, const char *field_manager, int force,
                     json_t **live_out)
{
    char path[2048], *body = NULL;
    size_t body_len;
    int error, n;

    if ((error = object_path(kube, path, sizeof(path), gf_doc_string(obj, "apiVersion"),
                             gf_doc_string(obj, "kind"), gf_doc_string(obj, "metadata.namespace"),
                             gf_doc_string(obj, "metadata.name"))) < 0)
        return error;
    n = (int)strlen(path);
    snprintf(path + n, sizeof(path) - (size_t)n, "?fieldManager=%s&force=%s", field_manager,
             force ? "true" : "false");
    if ((error = gf_doc_canonical(&body, &body_len, obj)) < 0)
        return error;
    error = agent_kube_request(kube, "PATCH", path, "application/apply-patch+yaml", body, NULL,
                               live_out);
    free(body);
    return error;
}

int agent_kube_get(agent_kube *kube, const char *api_version, const char *kind,
                   const char *namespace_, const char *name, json_t **out)
{
    char path[2048];
    int error;

    *out = NULL;
    if ((error = object_path(kube, path, sizeof(path), api_version, kind, namespace_, name)) < 0)
        return error;
    return agent_kube_request(kube, "GET", path, NULL, NULL, NULL, out);
}

int agent_kube_delete(agent_kube *kube, const char *api_version, const char *kind,
                      const char *namespace_, const char *name)
{
    char path[2048];
    int error;

    if ((error = object_path(kube, path, sizeof(path), api_version, kind, namespace_, name)) < 0)
        return error;
    error = agent_kube_request(kube, "DELETE", path, "application/json",
                               "{\"propagationPolicy\":\"Background\"}", NULL, NULL);
    return error == GF_ENOTFOUND ? 0 : error;
}

/* ---- streams ---- */

struct stream {
    agent_kube_line_fn fn;
    void *arg;
    volatile int *stop;
    char *line;
    size_t len, cap;
    int failed;
};

/* Reassemble lines: chunk boundaries are not event boundaries. */
static size_t stream_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct stream *st = arg;
    size_t n = size * nmemb;

    for (size_t i = 0; i < n; i++) {
        if (ptr[i] == '\n') {
            if (st->len > 0 && st->fn(st->arg, st->line, st->len) < 0) {
                st->failed = 1;
                return 0;
            }
            st->len = 0;
            continue;
        }
        if (st->len + 1 >= st->cap) {
            size_t cap = st->cap ? st->cap * 2 : 4096;
            char *grown = cap <= KUBE_MAX_RESPONSE ? realloc(st->line, cap) : NULL;
            if (grown == NULL)
                return 0;
            st->line = grown;
            st->cap = cap;
        }
        st->line[st->len++] = ptr[i];
        st->line[st->len] = '\0';
    }
    return n;
}

static int stream_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                           curl_off_t ulnow)
{
    struct stream *st = arg;

    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return *st->stop ? 1 : 0;
}

int agent_kube_stream(agent_kube *kube, const char *path, agent_kube_line_fn fn, void *arg,
                      volatile int *stop, long idle_seconds)
{
    struct stream st = {.fn = fn, .arg = arg, .stop = stop};
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    char url[4096];
    long status = 0;
    CURL *c = curl_easy_init();
    CURLcode rc;

    if (c == NULL)
        return gf_error_set(GF_ENOMEM, "cannot start libcurl");
    snprintf(url, sizeof(url), "%s%s", kube->server, path);
    setup_connection(kube, c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stream_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &st);
    /* A stream that says nothing for this long is dead (bookmarks and the
     * server's timeoutSeconds keep a live one talking). */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, idle_seconds);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    free(st.line);
    if (*stop)
        return 0;
    if (st.failed)
        return gf_error_set(GF_EINVAL, "GET %s: stream handler refused an event", path);
    if (rc != CURLE_OK)
        return gf_error_set(GF_EIO, "GET %s: %s", path, curl_easy_strerror(rc));
    if (status < 200 || status > 299)
        return gf_error_set(code_for_status(status), "GET %s: %ld", path, status);
    return 0;
}
