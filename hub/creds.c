/* creds.c -- credentials for Git remotes: credentials file, settings, libgit2 callbacks,
 * known_hosts */
#include "creds.h"

#include "gitfleet/base64.h"
#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/log.h"
#include "gitfleet/redact.h"
#include "gitfleet/yaml_parse.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CREDS_MAX_SECRET     (64 << 10)
#define CREDS_MAX_FILE       (1 << 20)
#define CREDS_MAX_KNOWNHOSTS (8 << 20)
#define CREDS_URL_MAX        2048

struct creds_entry {
    char *prefix; /* the URL or URL prefix, without userinfo; "" matches all */
    char *origin; /* "creds.yaml: repositories[2]" or "settings", for messages */
    char *username;
    char *password, *bearer, *ssh_passphrase; /* secrets */
    char *ssh_key_file, *known_hosts_file;
    int insecure_ignore_host_key;
};

struct hub_creds {
    struct creds_entry *entries; /* file entries, then the settings' catch-all */
    size_t n;
};

/* ---- secrets by reference ---- */

static void wipe_free(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

/* A secret file's content without its trailing newline. */
static int read_secret_file(char **out, const char *path, const char *what)
{
    size_t len = 0;
    int error = gf_fs_read(out, &len, path, CREDS_MAX_SECRET);

    if (error < 0)
        return gf_error_wrap(error, "%s", what);
    while (len > 0 && ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r'))
        (*out)[--len] = '\0';
    return 0;
}

static int read_secret_env(char **out, const char *name, const char *what)
{
    const char *v = getenv(name);

    if (v == NULL)
        return gf_error_set(GF_EINVAL, "%s: environment variable %s is not set", what, name);
    return (*out = strdup(v)) ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
}

static void entry_clear(struct creds_entry *e)
{
    free(e->prefix);
    free(e->origin);
    free(e->username);
    wipe_free(e->password);
    wipe_free(e->bearer);
    wipe_free(e->ssh_passphrase);
    free(e->ssh_key_file);
    free(e->known_hosts_file);
}

void hub_creds_free(hub_creds *creds)
{
    if (creds == NULL)
        return;
    for (size_t i = 0; i < creds->n; i++)
        entry_clear(&creds->entries[i]);
    free(creds->entries);
    free(creds);
}

/* ---- the credentials file ---- */

/* A path relative to the credentials file's directory. */
static char *resolve_path(const char *base_file, const char *path)
{
    const char *slash = strrchr(base_file, '/');
    char *out = NULL;

    if (path[0] == '/' || slash == NULL)
        return strdup(path);
    if (asprintf(&out, "%.*s/%s", (int)(slash - base_file), base_file, path) < 0)
        return NULL;
    return out;
}

static int field_string(const json_t *obj, const char *key, const char *origin, const char **out)
{
    const json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return gf_error_set(GF_EINVAL, "%s: %s: expected a string", origin, key);
    *out = json_string_value(v);
    return 0;
}

/* One secret given as `<name>` (inline), `<name>File` or `<name>Env`. */
static int file_secret(char **out, const json_t *obj, const char *file, const char *origin,
                       const char *name)
{
    char kfile[64], kenv[64], what[512];
    const char *inline_v, *path, *env;
    int error, given;

    *out = NULL;
    snprintf(kfile, sizeof(kfile), "%sFile", name);
    snprintf(kenv, sizeof(kenv), "%sEnv", name);
    if ((error = field_string(obj, name, origin, &inline_v)) < 0 ||
        (error = field_string(obj, kfile, origin, &path)) < 0 ||
        (error = field_string(obj, kenv, origin, &env)) < 0)
        return error;
    given = (inline_v != NULL) + (path != NULL) + (env != NULL);
    if (given > 1)
        return gf_error_set(GF_EINVAL, "%s: give one of %s, %s and %s", origin, name, kfile, kenv);
    snprintf(what, sizeof(what), "%s: %s", origin, path ? kfile : kenv);
    if (inline_v != NULL)
        return (*out = strdup(inline_v)) ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
    if (env != NULL)
        return read_secret_env(out, env, what);
    if (path != NULL) {
        char *full = resolve_path(file, path);
        error = full ? read_secret_file(out, full, what) : gf_error_set(GF_ENOMEM, "out of memory");
        free(full);
        return error;
    }
    return 0;
}

static int file_path(char **out, const json_t *obj, const char *file, const char *origin,
                     const char *key)
{
    const char *v;
    int error;

    *out = NULL;
    if ((error = field_string(obj, key, origin, &v)) < 0 || v == NULL)
        return error;
    return (*out = resolve_path(file, v)) ? 0 : gf_error_set(GF_ENOMEM, "out of memory");
}

static int check_keys(const json_t *obj, const char *origin)
{
    static const char *const known[] = {"url",
                                        "username",
                                        "password",
                                        "passwordFile",
                                        "passwordEnv",
                                        "bearerToken",
                                        "bearerTokenFile",
                                        "bearerTokenEnv",
                                        "sshPrivateKeyFile",
                                        "sshPassphrase",
                                        "sshPassphraseFile",
                                        "sshPassphraseEnv",
                                        "knownHostsFile",
                                        "insecureIgnoreHostKey"};
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i = 0;
        while (i < sizeof(known) / sizeof(known[0]) && strcmp(known[i], key) != 0)
            i++;
        if (i == sizeof(known) / sizeof(known[0]))
            return gf_error_set(GF_EINVAL, "%s: unknown field '%s'", origin, key);
    }
    return 0;
}

static int parse_entry(struct creds_entry *e, const json_t *obj, const char *file, size_t index)
{
    char origin[600], prefix[CREDS_URL_MAX];
    const char *url, *user;
    const json_t *insecure;
    int error;

    snprintf(origin, sizeof(origin), "%s: repositories[%zu]", file, index);
    e->origin = strdup(origin);
    if (!json_is_object(obj))
        return gf_error_set(GF_EINVAL, "%s: expected a mapping", origin);
    if ((error = check_keys(obj, origin)) < 0 ||
        (error = field_string(obj, "url", origin, &url)) < 0 ||
        (error = field_string(obj, "username", origin, &user)) < 0)
        return error;
    if (url == NULL || url[0] == '\0')
        return gf_error_set(GF_EINVAL, "%s: url: missing (the repository URL or a URL prefix)",
                            origin);
    gf_redact_url_strip(prefix, sizeof(prefix), url);
    e->prefix = strdup(prefix);
    e->username = user ? strdup(user) : NULL;
    insecure = json_object_get(obj, "insecureIgnoreHostKey");
    if (insecure != NULL && !json_is_boolean(insecure))
        return gf_error_set(GF_EINVAL, "%s: insecureIgnoreHostKey: expected true or false", origin);
    e->insecure_ignore_host_key = json_is_true(insecure);
    if ((error = file_secret(&e->password, obj, file, origin, "password")) < 0 ||
        (error = file_secret(&e->bearer, obj, file, origin, "bearerToken")) < 0 ||
        (error = file_secret(&e->ssh_passphrase, obj, file, origin, "sshPassphrase")) < 0 ||
        (error = file_path(&e->ssh_key_file, obj, file, origin, "sshPrivateKeyFile")) < 0 ||
        (error = file_path(&e->known_hosts_file, obj, file, origin, "knownHostsFile")) < 0)
        return error;
    if (e->password != NULL && e->username == NULL)
        return gf_error_set(GF_EINVAL, "%s: a password needs a username", origin);
    if (e->password != NULL && e->bearer != NULL)
        return gf_error_set(GF_EINVAL, "%s: give a password or a bearer token, not both", origin);
    return 0;
}

static int load_file(hub_creds *c, const char *file)
{
    json_t *doc = NULL, *list, *item;
    struct stat st;
    size_t i;
    int error;

    if ((error = gf_yaml_parse_file(&doc, file, NULL, 0)) < 0)
        return gf_error_wrap(error, "credentials file");
    if (stat(file, &st) == 0 && (st.st_mode & 077) != 0)
        gf_log_warn("HUB-CREDS-MODE", "file=%s mode=%03o hint=\"readable by others: chmod 600 it\"",
                    file, (unsigned)(st.st_mode & 0777));
    json_t *root = json_array_size(doc) == 1 ? json_array_get(doc, 0) : NULL;
    list = json_object_get(root, "repositories");
    if (!json_is_object(root) || !json_is_array(list) || json_object_size(root) != 1) {
        json_decref(doc);
        return gf_error_set(GF_EINVAL, "%s: expected one document {repositories: [...]}", file);
    }
    c->entries = calloc(json_array_size(list) + 1, sizeof(*c->entries));
    if (c->entries == NULL) {
        json_decref(doc);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    json_array_foreach(list, i, item)
    {
        c->n++;
        if ((error = parse_entry(&c->entries[i], item, file, i)) < 0)
            break;
    }
    json_decref(doc);
    return error;
}

static int settings_secret(char **out, const char *path, const char *env, const char *what)
{
    *out = NULL;
    if (path != NULL)
        return read_secret_file(out, path, what);
    if (getenv(env) != NULL && getenv(env)[0] != '\0')
        return read_secret_env(out, env, what);
    return 0;
}

static int load_settings(hub_creds *c, const struct hub_creds_settings *s)
{
    struct creds_entry *grown = realloc(c->entries, (c->n + 1) * sizeof(*grown));
    int error;

    if (grown == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    c->entries = grown;
    struct creds_entry *e = &c->entries[c->n++];
    memset(e, 0, sizeof(*e));
    e->prefix = strdup("");
    e->origin = strdup("settings");
    e->username = s->username ? strdup(s->username) : NULL;
    e->ssh_key_file = s->ssh_key_file ? strdup(s->ssh_key_file) : NULL;
    e->known_hosts_file = s->known_hosts_file ? strdup(s->known_hosts_file) : NULL;
    e->insecure_ignore_host_key = s->insecure_ignore_host_key;
    if ((error = settings_secret(&e->password, s->password_file, "GITFLEET_REPO_PASSWORD",
                                 "repo-password-file")) < 0 ||
        (error = settings_secret(&e->bearer, s->bearer_token_file, "GITFLEET_REPO_BEARER_TOKEN",
                                 "repo-bearer-token-file")) < 0 ||
        (error = settings_secret(&e->ssh_passphrase, s->ssh_passphrase_file,
                                 "GITFLEET_REPO_SSH_PASSPHRASE", "repo-ssh-passphrase-file")) < 0)
        return error;
    if (e->password != NULL && e->username == NULL)
        return gf_error_set(GF_EINVAL, "repo-password-file (or $GITFLEET_REPO_PASSWORD) needs "
                                       "repo-username");
    return 0;
}

int hub_creds_load(hub_creds **out, const struct hub_creds_settings *settings)
{
    hub_creds *c = calloc(1, sizeof(*c));
    static const struct hub_creds_settings none = {0};
    int error = 0;

    *out = NULL;
    if (c == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    if (settings == NULL)
        settings = &none;
    if (settings->file != NULL)
        error = load_file(c, settings->file);
    if (error == 0)
        error = load_settings(c, settings);
    if (error < 0) {
        hub_creds_free(c);
        return error;
    }
    *out = c;
    return 0;
}

/* ---- URLs ---- */

int hub_creds_is_remote(const char *location)
{
    const char *colon = strchr(location, ':');
    const char *slash = strchr(location, '/');

    if (strstr(location, "://") != NULL)
        return 1;
    /* scp-style, as git: a colon before any slash, after at least two
     * characters (so "C:" is a drive letter) and not "./x:y". */
    return colon != NULL && (slash == NULL || colon < slash) && colon - location > 1 &&
           location[0] != '.';
}

/* The entry whose prefix is the longest that starts the URL; the settings'
 * entry ("" prefix) matches everything. */
static const struct creds_entry *find_entry(const hub_creds *c, const char *stripped)
{
    const struct creds_entry *best = NULL;

    for (size_t i = 0; c != NULL && i < c->n; i++) {
        size_t n = strlen(c->entries[i].prefix);
        if (strncmp(stripped, c->entries[i].prefix, n) == 0 &&
            (best == NULL || n > strlen(best->prefix)))
            best = &c->entries[i];
    }
    return best;
}

struct ssh_target {
    char user[128];
    char host[256];
    int port;
};

/* User, host and port of an ssh:// or scp-style URL. */
static int ssh_target(struct ssh_target *t, const char *url)
{
    const char *p = url, *end;

    memset(t, 0, sizeof(*t));
    t->port = 22;
    int scp = strstr(url, "://") == NULL;
    if (!scp)
        p = strstr(url, "://") + 3;
    end = p + strcspn(p, scp ? ":" : "/");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at != NULL) {
        size_t ulen = strcspn(p, ":@");
        snprintf(t->user, sizeof(t->user), "%.*s", (int)ulen, p);
        p = at + 1;
    }
    const char *hend = end;
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (close == NULL)
            return -1;
        snprintf(t->host, sizeof(t->host), "%.*s", (int)(close - p - 1), p + 1);
        hend = close + 1;
    } else {
        const char *colon = scp ? NULL : memchr(p, ':', (size_t)(end - p));
        if (colon != NULL)
            hend = colon;
        snprintf(t->host, sizeof(t->host), "%.*s", (int)(hend - p), p);
    }
    if (!scp && hend < end && *hend == ':')
        t->port = atoi(hend + 1);
    return t->host[0] && t->port > 0 && t->port < 65536 ? 0 : -1;
}

static int is_ssh_url(const char *url)
{
    return strncmp(url, "ssh://", 6) == 0 || strncmp(url, "ssh+git://", 10) == 0 ||
           strncmp(url, "git+ssh://", 10) == 0 || strstr(url, "://") == NULL;
}

/* ---- known_hosts ---- */

/* "|1|salt|hash": HMAC-SHA1 of the host name keyed by the salt. */
static int hashed_match(const char *pattern, const char *name)
{
    const char *salt = pattern + 3, *bar = strchr(salt, '|');
    unsigned char *key = NULL, *want = NULL, mac[EVP_MAX_MD_SIZE];
    size_t klen = 0, wlen = 0;
    unsigned int mlen = 0;
    int match = 0;

    if (bar == NULL || gf_base64_decode(&key, &klen, salt, (size_t)(bar - salt)) < 0)
        return 0;
    if (gf_base64_decode(&want, &wlen, bar + 1, strlen(bar + 1)) == 0 &&
        HMAC(EVP_sha1(), key, (int)klen, (const unsigned char *)name, strlen(name), mac, &mlen) &&
        mlen == wlen)
        match = CRYPTO_memcmp(mac, want, mlen) == 0;
    free(key);
    free(want);
    return match;
}

/* OpenSSH's wildcards: '*' any run, '?' one character, nothing else special
 * (so "[host]:port" is literal), case-insensitive. */
static int wild_match(const char *pat, const char *s)
{
    if (*pat == '\0')
        return *s == '\0';
    if (*pat == '*')
        return wild_match(pat + 1, s) || (*s && wild_match(pat, s + 1));
    if (*s == '\0')
        return 0;
    if (*pat != '?' && tolower((unsigned char)*pat) != tolower((unsigned char)*s))
        return 0;
    return wild_match(pat + 1, s + 1);
}

/* OpenSSH's host patterns: comma-separated, '*' and '?', '!' negates. */
static int hosts_match(const char *patterns, const char *name)
{
    char buf[1024];
    int matched = 0;

    if (strncmp(patterns, "|1|", 3) == 0)
        return hashed_match(patterns, name);
    snprintf(buf, sizeof(buf), "%s", patterns);
    for (char *save = NULL, *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        int neg = p[0] == '!';
        if (wild_match(p + neg, name)) {
            if (neg)
                return 0;
            matched = 1;
        }
    }
    return matched;
}

enum kh_result { KH_UNKNOWN, KH_MATCH, KH_MISMATCH, KH_REVOKED };

/* One known_hosts line against the host `name` and its key blob. */
static enum kh_result kh_line(char *line, const char *name, const unsigned char *key, size_t klen)
{
    char *save = NULL, *marker = NULL, *hosts, *type, *b64;
    unsigned char *blob = NULL;
    size_t blen = 0;
    enum kh_result r;

    hosts = strtok_r(line, " \t", &save);
    if (hosts == NULL || hosts[0] == '#')
        return KH_UNKNOWN;
    if (hosts[0] == '@') {
        marker = hosts;
        hosts = strtok_r(NULL, " \t", &save);
    }
    type = strtok_r(NULL, " \t", &save);
    b64 = strtok_r(NULL, " \t\r\n", &save);
    if (hosts == NULL || type == NULL || b64 == NULL || !hosts_match(hosts, name) ||
        (marker != NULL && strcmp(marker, "@revoked") != 0) ||
        gf_base64_decode(&blob, &blen, b64, strlen(b64)) < 0)
        return KH_UNKNOWN;
    if (blen == klen && memcmp(blob, key, klen) == 0)
        r = marker ? KH_REVOKED : KH_MATCH;
    else
        r = marker ? KH_UNKNOWN : KH_MISMATCH;
    free(blob);
    return r;
}

/* Check a host key: KH_MATCH when a line names the host with this key. */
static int kh_check(enum kh_result *out, const char *file, const char *name,
                    const unsigned char *key, size_t klen)
{
    char *text = NULL;
    int error, mismatch = 0;

    *out = KH_UNKNOWN;
    if ((error = gf_fs_read(&text, NULL, file, CREDS_MAX_KNOWNHOSTS)) < 0)
        return error;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        enum kh_result r = kh_line(l, name, key, klen);
        if (r == KH_REVOKED) {
            *out = KH_REVOKED;
            break;
        }
        if (r == KH_MATCH)
            *out = KH_MATCH;
        mismatch |= r == KH_MISMATCH;
    }
    if (*out == KH_UNKNOWN && mismatch)
        *out = KH_MISMATCH;
    free(text);
    return 0;
}

/* ---- sessions ---- */

struct hub_creds_session {
    const struct creds_entry *entry; /* may be NULL */
    char url[CREDS_URL_MAX];         /* redacted, for messages */
    struct ssh_target ssh;
    int is_ssh;
    int url_has_creds; /* libgit2 tries the URL's own user:password first */
    int attempts;
    char *header; /* "Authorization: Bearer ..." */
    char *header_list[1];
    char error[1024];
};

int hub_creds_session_new(hub_creds_session **out, const hub_creds *creds, const char *url)
{
    hub_creds_session *s = calloc(1, sizeof(*s));
    char stripped[CREDS_URL_MAX];

    *out = NULL;
    if (s == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    s->url_has_creds = gf_redact_text(s->url, sizeof(s->url), url);
    gf_redact_url_strip(stripped, sizeof(stripped), url);
    s->entry = find_entry(creds, stripped);
    s->is_ssh = is_ssh_url(url);
    if (s->is_ssh && ssh_target(&s->ssh, url) < 0) {
        free(s);
        return gf_error_set(GF_EINVAL, "%s: cannot read the host of this SSH URL", stripped);
    }
    if (!s->is_ssh && s->entry && s->entry->bearer &&
        asprintf(&s->header, "Authorization: Bearer %s", s->entry->bearer) < 0) {
        free(s);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    *out = s;
    return 0;
}

const char *hub_creds_session_error(const hub_creds_session *s)
{
    return s && s->error[0] ? s->error : NULL;
}

void hub_creds_session_free(hub_creds_session *s)
{
    if (s == NULL)
        return;
    wipe_free(s->header);
    free(s);
}

static int session_fail(hub_creds_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int session_fail(hub_creds_session *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->error, sizeof(s->error), fmt, ap);
    va_end(ap);
    git_error_set_str(GIT_ERROR_NET, s->error);
    return GIT_EUSER;
}

static const char *ssh_user(const hub_creds_session *s, const char *from_url)
{
    if (from_url != NULL && from_url[0])
        return from_url;
    if (s->ssh.user[0])
        return s->ssh.user;
    return s->entry && s->entry->username ? s->entry->username : "git";
}

static int on_credentials(git_credential **out, const char *url, const char *user_from_url,
                          unsigned int allowed, void *payload)
{
    hub_creds_session *s = payload;
    const struct creds_entry *e = s->entry;

    (void)url;
    /* libgit2 asks again after a refusal: once is enough to know. */
    if (++s->attempts > 2)
        return session_fail(s, "%s: authentication failed with the credentials of %s", s->url,
                            e ? e->origin : "(none)");
    if ((allowed & GIT_CREDENTIAL_SSH_KEY) && e && e->ssh_key_file)
        return git_credential_ssh_key_new(out, ssh_user(s, user_from_url), NULL, e->ssh_key_file,
                                          e->ssh_passphrase);
    if (allowed & GIT_CREDENTIAL_USERNAME)
        return git_credential_username_new(out, ssh_user(s, user_from_url));
    if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && e && e->username && e->password)
        return git_credential_userpass_plaintext_new(out, e->username, e->password);
    if (s->url_has_creds)
        return session_fail(s, "%s: authentication failed with the credentials in the URL", s->url);
    return session_fail(s,
                        "%s: the server asks for credentials and none are configured for it "
                        "(%s; a credentials file entry or the repo-* settings)",
                        s->url,
                        s->is_ssh ? "an SSH key: sshPrivateKeyFile / repo-ssh-key"
                                  : "username and password or a bearer token");
}

static int on_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
    hub_creds_session *s = payload;
    const struct creds_entry *e = s->entry;
    char name[300], file[4096];
    enum kh_result r = KH_UNKNOWN;

    if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
        return valid ? 0 : GIT_PASSTHROUGH; /* TLS: libgit2's own verification */
    if (e && e->insecure_ignore_host_key)
        return 0;
    const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
    if (!(hk->type & GIT_CERT_SSH_RAW))
        return session_fail(s, "%s: the SSH library gave no host key to check", s->url);
    if (s->ssh.port == 22)
        snprintf(name, sizeof(name), "%s", host);
    else
        snprintf(name, sizeof(name), "[%s]:%d", host, s->ssh.port);
    if (e && e->known_hosts_file)
        snprintf(file, sizeof(file), "%s", e->known_hosts_file);
    else
        snprintf(file, sizeof(file), "%s/.ssh/known_hosts", getenv("HOME") ? getenv("HOME") : "");
    if (kh_check(&r, file, name, (const unsigned char *)hk->hostkey, hk->hostkey_len) < 0)
        return session_fail(s, "%s: host key not checked: %s (knownHostsFile / repo-known-hosts)",
                            s->url, gf_error_last());
    if (r == KH_MATCH)
        return 0;
    if (r == KH_REVOKED)
        return session_fail(s, "%s: the host key of %s is marked @revoked in %s", s->url, name,
                            file);
    if (r == KH_MISMATCH)
        return session_fail(s,
                            "%s: the host key of %s does not match %s: refusing to connect "
                            "(someone may be in the middle, or the key changed)",
                            s->url, name, file);
    return session_fail(s, "%s: %s is not in %s (add it: ssh-keyscan -p %d %s >> %s)", s->url, name,
                        file, s->ssh.port, host, file);
}

void hub_creds_session_apply(hub_creds_session *s, git_remote_callbacks *cbs, git_strarray *headers)
{
    cbs->credentials = on_credentials;
    cbs->certificate_check = on_certificate;
    cbs->payload = s;
    s->attempts = 0;
    s->error[0] = '\0';
    if (s->header != NULL) {
        s->header_list[0] = s->header;
        headers->strings = s->header_list;
        headers->count = 1;
    } else {
        headers->strings = NULL;
        headers->count = 0;
    }
}
