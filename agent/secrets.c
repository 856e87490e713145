/* secrets.c -- the agent's age identities for sealed secrets: created at join, rotated on request,
 * used to open */
#include "secrets.h"

#include "inventory.h"

#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/log.h"
#include "gitfleet/sealed.h"
#include "gitfleet/wire.h"

#include <openssl/crypto.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_FILE       "secret.key"
#define MAX_IDENTITIES 8

/* One identity and when it stops opening values (0: never, the current). */
struct held {
    gf_age_identity id;
    int64_t retires_ms;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct held held[MAX_IDENTITIES];
static size_t n_held;
static char rotation[64];
static char key_path[4096];

static void path_of(const char *state_dir)
{
    snprintf(key_path, sizeof(key_path), "%s/%s", state_dir, KEY_FILE);
}

/* The file text: a header, the rotation id, then each identity with its
 * public key (and retirement) as comments, as age-keygen writes them. */
static int save_locked(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int error;

    if (f == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    fputs("# gitfleet-agent: age identities for sealed secrets (the first is current).\n"
          "# Never copy this file off the machine; `age -d -i` reads it.\n",
          f);
    if (rotation[0])
        fprintf(f, "# rotation-id: %s\n", rotation);
    for (size_t i = 0; i < n_held; i++) {
        char r[GF_AGE_RECIPIENT_MAX], s[GF_AGE_IDENTITY_MAX];
        gf_age_recipient_format(r, &held[i].id.recipient);
        gf_age_identity_format(s, &held[i].id);
        if (held[i].retires_ms)
            fprintf(f, "# retires-unix-ms: %lld\n", (long long)held[i].retires_ms);
        fprintf(f, "# public key: %s\n%s\n", r, s);
        OPENSSL_cleanse(s, sizeof(s));
    }
    if (fclose(f) != 0) {
        free(text);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    error = gf_fs_write_atomic(key_path, text, len, 0600);
    OPENSSL_cleanse(text, len);
    free(text);
    return error;
}

static int add_new_locked(void)
{
    struct held h = {0};
    int error = gf_age_identity_generate(&h.id);

    if (error < 0)
        return error;
    if (n_held == MAX_IDENTITIES) /* drop the oldest to make room */
        n_held--;
    memmove(&held[1], &held[0], n_held * sizeof(held[0]));
    held[0] = h;
    n_held++;
    OPENSSL_cleanse(&h, sizeof(h));
    return 0;
}

int agent_secrets_create(const char *state_dir, char recipient_out[GF_AGE_RECIPIENT_MAX])
{
    int error;

    pthread_mutex_lock(&lock);
    path_of(state_dir);
    OPENSSL_cleanse(held, sizeof(held));
    n_held = 0;
    rotation[0] = '\0';
    if ((error = add_new_locked()) == 0 && (error = save_locked()) == 0)
        gf_age_recipient_format(recipient_out, &held[0].id.recipient);
    pthread_mutex_unlock(&lock);
    return error;
}

/* Parse the file; comments give the rotation id and retirements. */
static int parse_locked(char *text)
{
    int64_t retires = 0;
    char *save = NULL;

    n_held = 0;
    rotation[0] = '\0';
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# rotation-id: ", 15) == 0)
            snprintf(rotation, sizeof(rotation), "%s", line + 15);
        else if (strncmp(line, "# retires-unix-ms: ", 19) == 0)
            retires = strtoll(line + 19, NULL, 10);
        else if (line[0] != '#' && line[0] != '\0') {
            if (n_held == MAX_IDENTITIES)
                return gf_error_set(GF_ETOOBIG, "%s: more than %d identities", key_path,
                                    MAX_IDENTITIES);
            if (gf_age_identity_parse(&held[n_held].id, line) < 0)
                return gf_error_wrap(GF_EINVAL, "%s", key_path);
            held[n_held++].retires_ms = retires;
            retires = 0;
        }
    }
    return n_held ? 0 : gf_error_set(GF_EINVAL, "%s: no identity", key_path);
}

/* Drop identities whose grace has passed; 1 when something was dropped. */
static int expire_locked(int64_t now)
{
    size_t w = 0, before = n_held;

    for (size_t i = 0; i < n_held; i++)
        if (i == 0 || held[i].retires_ms == 0 || held[i].retires_ms > now)
            held[w++] = held[i];
    OPENSSL_cleanse(&held[w], (n_held - w) * sizeof(held[0]));
    n_held = w;
    return w != before;
}

int agent_secrets_load(const char *state_dir)
{
    char *text = NULL;
    size_t len = 0;
    int error;

    pthread_mutex_lock(&lock);
    path_of(state_dir);
    error = gf_fs_read(&text, &len, key_path, 1 << 16);
    if (error == GF_ENOTFOUND) { /* joined before sealed secrets existed */
        if ((error = add_new_locked()) == 0 && (error = save_locked()) == 0)
            gf_log_info("AGENT-SECRET-KEY-CREATED", "file=%s", key_path);
    } else if (error == 0) {
        error = parse_locked(text);
        if (error == 0 && expire_locked(gf_wire_now_ms()))
            error = save_locked();
    }
    if (text) {
        OPENSSL_cleanse(text, len);
        free(text);
    }
    pthread_mutex_unlock(&lock);
    return error;
}

void agent_secrets_recipient(char out[GF_AGE_RECIPIENT_MAX])
{
    pthread_mutex_lock(&lock);
    if (n_held)
        gf_age_recipient_format(out, &held[0].id.recipient);
    else
        out[0] = '\0';
    pthread_mutex_unlock(&lock);
}

void agent_secrets_rotation_id(char out[64])
{
    pthread_mutex_lock(&lock);
    snprintf(out, 64, "%s", rotation);
    pthread_mutex_unlock(&lock);
}

static int verify_rotation(Gitfleet__SecretKeyRotation **out,
                           const Gitfleet__SignedSecretKeyRotation *req, const gf_sign_key *hub_key,
                           const char *cluster)
{
    Gitfleet__SecretKeyRotation *r;

    *out = NULL;
    if (!req->has_rotation || !req->has_signature ||
        gf_sign_verify(hub_key, req->signature.data, req->signature.len, req->rotation.data,
                       req->rotation.len) < 0)
        return gf_error_set(GF_EPERM, "a key rotation request not signed by the hub was refused");
    if ((r = gitfleet__secret_key_rotation__unpack(NULL, req->rotation.len, req->rotation.data)) ==
        NULL)
        return gf_error_set(GF_EINVAL, "a malformed key rotation request was refused");
    if (r->cluster == NULL || strcmp(r->cluster, cluster) != 0 || r->id == NULL ||
        r->id[0] == '\0' || strlen(r->id) >= sizeof(rotation) || strchr(r->id, '\n')) {
        gitfleet__secret_key_rotation__free_unpacked(r, NULL);
        return gf_error_set(GF_EPERM, "a key rotation request for another cluster was refused");
    }
    *out = r;
    return 0;
}

int agent_secrets_rotate(const Gitfleet__SignedSecretKeyRotation *req, const gf_sign_key *hub_key,
                         const char *cluster)
{
    Gitfleet__SecretKeyRotation *r = NULL;
    int64_t now = gf_wire_now_ms(), grace;
    int error;

    if ((error = verify_rotation(&r, req, hub_key, cluster)) < 0)
        return error;
    grace = r->has_grace_ms && r->grace_ms > 0 ? r->grace_ms : 0;
    pthread_mutex_lock(&lock);
    if (strcmp(r->id, rotation) == 0) {
        pthread_mutex_unlock(&lock);
        gitfleet__secret_key_rotation__free_unpacked(r, NULL);
        return 0;
    }
    for (size_t i = 0; i < n_held; i++)
        if (held[i].retires_ms == 0 || held[i].retires_ms > now + grace)
            held[i].retires_ms = now + grace;
    if ((error = add_new_locked()) == 0) {
        snprintf(rotation, sizeof(rotation), "%s", r->id);
        expire_locked(now);
        error = save_locked();
    }
    pthread_mutex_unlock(&lock);
    if (error == 0)
        gf_log_info("AGENT-SECRET-KEY-ROTATED", "rotation=%s grace_ms=%lld", r->id,
                    (long long)grace);
    gitfleet__secret_key_rotation__free_unpacked(r, NULL);
    return error < 0 ? error : 1;
}

/* The hub's tracking id names the SealedSecret ("app:gitfleet.io/SealedSecret:
 * ns/name"); the object the agent owns is the Secret ("app:/Secret:ns/name"),
 * which is what prune's ownership check expects on the live object. */
static void retrack(json_t *secret)
{
    static const char from[] = ":gitfleet.io/" GF_SEALED_KIND ":", to[] = ":/Secret:";
    json_t *ann = json_object_get(json_object_get(secret, "metadata"), "annotations");
    const char *tid = json_string_value(json_object_get(ann, AGENT_INVENTORY_TRACKING_ANNOTATION));
    const char *at = tid ? strstr(tid, from) : NULL;
    char *fixed = NULL;

    if (at && asprintf(&fixed, "%.*s%s%s", (int)(at - tid), tid, to, at + strlen(from)) >= 0) {
        json_object_set_new(ann, AGENT_INVENTORY_TRACKING_ANNOTATION, json_string(fixed));
        free(fixed);
    }
}

int agent_secrets_unseal(json_t **obj, const char *default_namespace)
{
    gf_age_identity ids[MAX_IDENTITIES];
    size_t n = 0;
    int64_t now = gf_wire_now_ms();
    json_t *secret = NULL;
    int error;

    if (*obj == NULL || !gf_sealed_is_sealed(*obj))
        return 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_held; i++)
        if (i == 0 || held[i].retires_ms == 0 || held[i].retires_ms > now)
            ids[n++] = held[i].id;
    pthread_mutex_unlock(&lock);
    if (n == 0)
        return gf_error_set(GF_EPERM, "this agent has no secret key (%s)", key_path);
    error = gf_sealed_open(&secret, *obj, ids, n, default_namespace);
    OPENSSL_cleanse(ids, sizeof(ids));
    if (error < 0)
        return gf_error_wrap(error, "cannot open");
    retrack(secret);
    json_decref(*obj);
    *obj = secret;
    return 0;
}

static void set_string(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
}

void agent_secrets_retarget(Gitfleet__Bundle *bundle)
{
    for (size_t i = 0; i < bundle->n_apps; i++)
        for (size_t j = 0; j < bundle->apps[i]->n_resources; j++) {
            Gitfleet__ResourceId *id = bundle->apps[i]->resources[j]->id;
            if (id == NULL || id->group == NULL || id->kind == NULL ||
                strcmp(id->group, "gitfleet.io") != 0 || strcmp(id->kind, GF_SEALED_KIND) != 0)
                continue;
            set_string(&id->group, "");
            set_string(&id->version, "v1");
            set_string(&id->kind, "Secret");
        }
}

void agent_secrets_unload(void)
{
    pthread_mutex_lock(&lock);
    OPENSSL_cleanse(held, sizeof(held));
    n_held = 0;
    pthread_mutex_unlock(&lock);
}
