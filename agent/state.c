/* state.c -- what the agent keeps on disk: its key, the pinned hub key, the last good bundle */
#include "state.h"

#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/limits.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void state_path(char *buf, size_t len, const struct agent_state *state, const char *name)
{
    snprintf(buf, len, "%s/%s", state->dir, name);
}

int agent_state_init(struct agent_state *state, const char *dir)
{
    char path[4096];
    int error;

    memset(state, 0, sizeof(*state));
    if ((state->dir = strdup(dir)) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    if ((error = gf_fs_mkdirs(dir, 0700)) < 0)
        return error;
    chmod(dir, 0700);
    state_path(path, sizeof(path), state, "agent.key");
    if (access(path, F_OK) == 0)
        return gf_sign_key_load(&state->agent_key, path);
    if ((error = gf_sign_key_generate(&state->agent_key)) < 0)
        return error;
    return gf_sign_key_save_private(state->agent_key, path);
}

/* An absolute form of a path given at join ("" for none). */
static void absolute(char *buf, size_t len, const char *path)
{
    char resolved[PATH_MAX];

    if (path == NULL || path[0] == '\0')
        buf[0] = '\0';
    else
        snprintf(buf, len, "%s", realpath(path, resolved) ? resolved : path);
}

int agent_state_save_join(struct agent_state *state, const char *cluster, const char *hub_url,
                          const unsigned char hub_key[GF_SIGN_PUBLIC_KEY_LEN],
                          const struct gf_wire_tls *tls)
{
    char path[4096], *text;
    json_t *identity;
    int error;

    gf_sign_key_free(state->hub_key);
    state->hub_key = NULL;
    if ((error = gf_sign_key_from_public(&state->hub_key, hub_key)) < 0)
        return error;
    state_path(path, sizeof(path), state, "hub.pub");
    if ((error = gf_sign_key_save_public(state->hub_key, path)) < 0)
        return error;
    absolute(state->tls_ca, sizeof(state->tls_ca), tls ? tls->ca_file : NULL);
    absolute(state->tls_cert, sizeof(state->tls_cert), tls ? tls->cert_file : NULL);
    absolute(state->tls_key, sizeof(state->tls_key), tls ? tls->key_file : NULL);
    snprintf(state->tls_server_name, sizeof(state->tls_server_name), "%s",
             tls && tls->server_name ? tls->server_name : "");
    identity = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "cluster", cluster, "hub", hub_url,
                         "tls", "ca", state->tls_ca, "cert", state->tls_cert, "key", state->tls_key,
                         "serverName", state->tls_server_name);
    text = json_dumps(identity, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(identity);
    if (text == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    state_path(path, sizeof(path), state, "identity.json");
    error = gf_fs_write_atomic(path, text, strlen(text), 0600);
    free(text);
    snprintf(state->cluster, sizeof(state->cluster), "%s", cluster);
    snprintf(state->hub_url, sizeof(state->hub_url), "%s", hub_url);
    return error;
}

static int load_identity(struct agent_state *state)
{
    char path[4096];
    json_t *identity;
    json_error_t jerr;

    state_path(path, sizeof(path), state, "identity.json");
    if (access(path, F_OK) != 0)
        return gf_error_set(
            GF_ENOTFOUND, "%s is not joined to a hub: run `gitfleet-agent join` first", state->dir);
    if ((identity = json_load_file(path, 0, &jerr)) == NULL)
        return gf_error_set(GF_EINVAL, "%s:%d: %s", path, jerr.line, jerr.text);
    const char *cluster = json_string_value(json_object_get(identity, "cluster"));
    const char *hub = json_string_value(json_object_get(identity, "hub"));
    if (cluster == NULL || hub == NULL) {
        json_decref(identity);
        return gf_error_set(GF_EINVAL, "%s: needs \"cluster\" and \"hub\"", path);
    }
    snprintf(state->cluster, sizeof(state->cluster), "%s", cluster);
    snprintf(state->hub_url, sizeof(state->hub_url), "%s", hub);
    const json_t *tls = json_object_get(identity, "tls");
    const char *v;
    if ((v = json_string_value(json_object_get(tls, "ca"))) != NULL)
        snprintf(state->tls_ca, sizeof(state->tls_ca), "%s", v);
    if ((v = json_string_value(json_object_get(tls, "cert"))) != NULL)
        snprintf(state->tls_cert, sizeof(state->tls_cert), "%s", v);
    if ((v = json_string_value(json_object_get(tls, "key"))) != NULL)
        snprintf(state->tls_key, sizeof(state->tls_key), "%s", v);
    if ((v = json_string_value(json_object_get(tls, "serverName"))) != NULL)
        snprintf(state->tls_server_name, sizeof(state->tls_server_name), "%s", v);
    json_decref(identity);
    return 0;
}

int agent_state_load(struct agent_state *state, const char *dir)
{
    char path[4096];
    int error;

    if ((error = agent_state_init(state, dir)) < 0 || (error = load_identity(state)) < 0)
        return error;
    state_path(path, sizeof(path), state, "hub.pub");
    return gf_sign_key_load(&state->hub_key, path);
}

int agent_state_read_bundle(const struct agent_state *state, unsigned char **out, size_t *len_out)
{
    char path[4096];

    state_path(path, sizeof(path), state, "bundle.signed");
    return gf_fs_read((char **)out, len_out, path, GF_LIMIT_BUNDLE_BYTES);
}

int agent_state_write_bundle(const struct agent_state *state, const void *data, size_t len)
{
    char path[4096];

    state_path(path, sizeof(path), state, "bundle.signed");
    return gf_fs_write_atomic(path, data, len, 0600);
}

int agent_state_read_high_water(const struct agent_state *state, uint64_t *out)
{
    char path[4096], *text = NULL, *end = NULL;
    int error;

    *out = 0;
    state_path(path, sizeof(path), state, "generation");
    if ((error = gf_fs_read(&text, NULL, path, 64)) < 0)
        return error == GF_ENOTFOUND ? 0 : error;
    unsigned long long n = strtoull(text, &end, 10);
    if (end == text || (*end != '\0' && *end != '\n'))
        error = gf_error_set(GF_EINVAL, "%s: not a generation number", path);
    else
        *out = n;
    free(text);
    return error;
}

int agent_state_write_high_water(const struct agent_state *state, uint64_t generation)
{
    char path[4096], text[32];
    uint64_t now = 0;
    int error;

    if ((error = agent_state_read_high_water(state, &now)) < 0)
        return error;
    if (generation <= now)
        return 0;
    state_path(path, sizeof(path), state, "generation");
    snprintf(text, sizeof(text), "%llu\n", (unsigned long long)generation);
    return gf_fs_write_atomic(path, text, strlen(text), 0600);
}

int agent_state_read_report(const struct agent_state *state, json_t **out)
{
    char path[4096];
    json_error_t jerr;

    state_path(path, sizeof(path), state, "report.json");
    *out = json_load_file(path, 0, &jerr);
    if (*out == NULL)
        return gf_error_set(GF_ENOTFOUND, "%s: %s", path, jerr.text);
    return 0;
}

int agent_state_write_report(const struct agent_state *state, const json_t *report)
{
    char path[4096], *text = json_dumps(report, JSON_COMPACT);
    int error;

    if (text == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    state_path(path, sizeof(path), state, "report.json");
    error = gf_fs_write_atomic(path, text, strlen(text), 0600);
    free(text);
    return error;
}

int agent_state_append_history(const struct agent_state *state, json_t *entry, size_t keep)
{
    char path[4096], *text;
    json_t *history;
    int error;

    state_path(path, sizeof(path), state, "history.json");
    history = json_load_file(path, 0, NULL);
    if (!json_is_array(history)) {
        json_decref(history);
        history = json_array();
    }
    json_array_append(history, entry);
    while (json_array_size(history) > keep)
        json_array_remove(history, 0);
    text = json_dumps(history, JSON_COMPACT);
    json_decref(history);
    if (text == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    error = gf_fs_write_atomic(path, text, strlen(text), 0600);
    free(text);
    return error;
}

void agent_state_heartbeat(const struct agent_state *state)
{
    char path[4096];
    int fd;

    state_path(path, sizeof(path), state, "heartbeat");
    if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0) {
        futimens(fd, NULL);
        close(fd);
    }
}

int agent_state_heartbeat_age(const char *dir, int64_t *age_ms_out)
{
    char path[4096];
    struct stat st;
    struct timespec now;

    snprintf(path, sizeof(path), "%s/heartbeat", dir);
    if (stat(path, &st) != 0)
        return gf_error_set(GF_ENOTFOUND, "%s: the agent has not run yet", path);
    clock_gettime(CLOCK_REALTIME, &now);
    *age_ms_out = (int64_t)(now.tv_sec - st.st_mtim.tv_sec) * 1000 +
                  (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
    return 0;
}

void agent_state_clear(struct agent_state *state)
{
    free(state->dir);
    gf_sign_key_free(state->agent_key);
    gf_sign_key_free(state->hub_key);
    memset(state, 0, sizeof(*state));
}
