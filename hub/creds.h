/* creds.h -- credentials for Git remotes: SSH keys checked against known_hosts, HTTPS basic and
 * bearer */
#ifndef HUB_CREDS_H
#define HUB_CREDS_H

#include <git2.h>

/*
 * Credentials never come from the URL alone: a credentials file (YAML, one
 * entry per repository URL or URL prefix, the longest matching prefix wins)
 * and the hub's settings (one entry that matches every URL, used last).
 * Every secret is given by reference: a file (`passwordFile`) or an
 * environment variable (`passwordEnv`); an inline value is accepted only in
 * the credentials file. Secrets are read once, at load, and never printed.
 *
 * SSH host keys are always checked against a known_hosts file (the entry's,
 * else ~/.ssh/known_hosts) unless the entry says insecureIgnoreHostKey.
 */
typedef struct hub_creds hub_creds;

/* The settings' catch-all entry (every member may be NULL). */
struct hub_creds_settings {
    const char *file; /* the credentials file */
    const char *username;
    const char *password_file;     /* else $GITFLEET_REPO_PASSWORD */
    const char *bearer_token_file; /* else $GITFLEET_REPO_BEARER_TOKEN */
    const char *ssh_key_file;
    const char *ssh_passphrase_file; /* else $GITFLEET_REPO_SSH_PASSPHRASE */
    const char *known_hosts_file;
    int insecure_ignore_host_key;
};

/* Read the credentials file and the settings' entry. Errors name the file,
 * the entry and the field, never a secret. */
int hub_creds_load(hub_creds **out, const struct hub_creds_settings *settings);
void hub_creds_free(hub_creds *creds);

/* Is `location` a remote URL (scheme:// or scp-style user@host:path)? */
int hub_creds_is_remote(const char *location);

/*
 * One connection to `url` (fetch or ls-remote): libgit2 callbacks for
 * credentials and the SSH host key, and the extra headers (a bearer token).
 * `creds` may be NULL (no credentials, host keys still checked); it must
 * outlive the session.
 */
typedef struct hub_creds_session hub_creds_session;

int hub_creds_session_new(hub_creds_session **out, const hub_creds *creds, const char *url);
/* Fill `cbs` (credentials, certificate_check, payload) and `headers`
 * (borrowed from the session). */
void hub_creds_session_apply(hub_creds_session *s, git_remote_callbacks *cbs,
                             git_strarray *headers);
/* Why the last connection failed, when the session knows better than
 * libgit2 (a host key refused, no credentials for the URL); NULL otherwise. */
const char *hub_creds_session_error(const hub_creds_session *s);
void hub_creds_session_free(hub_creds_session *s);

#endif
