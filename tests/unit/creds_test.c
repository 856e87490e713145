/* creds_test.c -- repository credentials: the file's checks, URL matching, known_hosts */
#include "harness.h"

#include "creds.h"
#include "gitfleet/base64.h"
#include "gitfleet/error.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *write_tmp(const char *name, const char *text)
{
    static char path[4][512];
    static int i;
    char *p = path[i++ % 4];

    snprintf(p, 512, "%s/%s", gf_test_tmpdir(), name);
    gf_test_write_file(p, text, strlen(text));
    chmod(p, 0600);
    return p;
}

static void test_creds__is_remote(void)
{
    GF_ASSERT(hub_creds_is_remote("https://h/r.git"));
    GF_ASSERT(hub_creds_is_remote("ssh://git@h:22/r.git"));
    GF_ASSERT(hub_creds_is_remote("git@github.com:org/repo.git"));
    GF_ASSERT(hub_creds_is_remote("host:repo"));
    GF_ASSERT(!hub_creds_is_remote("/srv/repo"));
    GF_ASSERT(!hub_creds_is_remote("./a:b"));
    GF_ASSERT(!hub_creds_is_remote("dir/a:b"));
    GF_ASSERT(!hub_creds_is_remote("C:"));
}

static int load(const char *yaml)
{
    struct hub_creds_settings s = {.file = write_tmp("creds.yaml", yaml)};
    hub_creds *c = NULL;
    int error = hub_creds_load(&c, &s);

    hub_creds_free(c);
    return error;
}

static void test_creds__file_errors(void)
{
    GF_ASSERT_INT(load("repositories:\n- url: https://h/\n  username: u\n  password: p\n"), 0);
    GF_ASSERT_INT(load("repositories:\n- url: https://h/\n  pasword: p\n"), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "repositories[0]: unknown field 'pasword'");
    GF_ASSERT_INT(load("repositories:\n- url: https://h/\n  password: p\n"), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "a password needs a username");
    GF_ASSERT_INT(load("repositories:\n- {url: a}\n- url: https://h/\n  username: u\n"
                       "  password: p\n  passwordFile: f\n"),
                  GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "repositories[1]: give one of password, passwordFile");
    GF_ASSERT_INT(load("repositories:\n- url: https://h/\n  bearerTokenFile: missing\n"),
                  GF_ENOTFOUND);
    GF_ASSERT_HAS(gf_error_last(), "repositories[0]: bearerTokenFile");
    GF_ASSERT_INT(load("repositories:\n- username: u\n"), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "url: missing");
    GF_ASSERT_INT(load("repos: []\n"), GF_EINVAL);
    GF_ASSERT_INT(load("repositories:\n- url: https://h/\n  insecureIgnoreHostKey: yes\n"),
                  GF_EINVAL);
    /* a secret never appears in a message */
    GF_ASSERT_INT(load("repositories:\n- url: https://h/\n  username: u\n  password: TOPSECRET\n"
                       "  bearerToken: x\n"),
                  GF_EINVAL);
    GF_ASSERT(strstr(gf_error_last(), "TOPSECRET") == NULL);
}

/* A session's host key check, as libgit2 calls it. */
static int check_host(const char *known_hosts, const char *url, const char *host,
                      const unsigned char *key, size_t klen)
{
    char yaml[1024];
    struct hub_creds_settings s;
    hub_creds *c = NULL;
    hub_creds_session *sess = NULL;
    git_remote_callbacks cbs;
    git_strarray headers;
    git_cert_hostkey cert;
    int rc;

    const char *kh = write_tmp("known_hosts", known_hosts);
    snprintf(yaml, sizeof(yaml),
             "repositories:\n- url: ssh://\n  knownHostsFile: %s\n- url: git@\n"
             "  knownHostsFile: %s\n",
             kh, kh);
    s = (struct hub_creds_settings){.file = write_tmp("c.yaml", yaml)};
    GF_ASSERT_INT(hub_creds_load(&c, &s), 0);
    GF_ASSERT_INT(hub_creds_session_new(&sess, c, url), 0);
    git_remote_init_callbacks(&cbs, GIT_REMOTE_CALLBACKS_VERSION);
    hub_creds_session_apply(sess, &cbs, &headers);
    memset(&cert, 0, sizeof(cert));
    cert.parent.cert_type = GIT_CERT_HOSTKEY_LIBSSH2;
    cert.type = GIT_CERT_SSH_RAW;
    cert.hostkey = (const char *)key;
    cert.hostkey_len = klen;
    rc = cbs.certificate_check(&cert.parent, 0, host, cbs.payload);
    hub_creds_session_free(sess);
    hub_creds_free(c);
    return rc;
}

static void test_creds__known_hosts(void)
{
    const unsigned char key[] = "KEY-ONE-BLOB", other[] = "KEY-TWO-BLOB";
    char *b1 = NULL, *b2 = NULL, kh[2048];

    /* A refused key is reported through git_error_set_str(), whose
     * thread-local state only exists once libgit2 is initialized (the hub
     * initializes it; without this the test crashed outside ASan builds). */
    git_libgit2_init();
    GF_ASSERT_INT(gf_base64_encode(&b1, NULL, key, sizeof(key) - 1), 0);
    GF_ASSERT_INT(gf_base64_encode(&b2, NULL, other, sizeof(other) - 1), 0);
    snprintf(kh, sizeof(kh),
             "# comment\n[10.0.0.1]:2222 ssh-ed25519 %s\ngit.example.com,*.corp ssh-ed25519 %s\n"
             "*.example.org,!bad.example.org ssh-ed25519 %s\n@revoked evil.corp ssh-ed25519 %s\n",
             b1, b1, b1, b1);
    GF_ASSERT_INT(check_host(kh, "ssh://git@10.0.0.1:2222/r", "10.0.0.1", key, 12), 0);
    GF_ASSERT(check_host(kh, "ssh://git@10.0.0.1:2222/r", "10.0.0.1", other, 12) < 0);
    GF_ASSERT(check_host(kh, "ssh://git@10.0.0.1/r", "10.0.0.1", key, 12) < 0); /* port 22 */
    GF_ASSERT_INT(check_host(kh, "git@git.example.com:org/r.git", "git.example.com", key, 12), 0);
    GF_ASSERT_INT(check_host(kh, "git@a.corp:r.git", "a.corp", key, 12), 0);
    GF_ASSERT_INT(check_host(kh, "git@x.example.org:r.git", "x.example.org", key, 12), 0);
    GF_ASSERT(check_host(kh, "git@bad.example.org:r.git", "bad.example.org", key, 12) < 0);
    GF_ASSERT(check_host(kh, "git@evil.corp:r.git", "evil.corp", key, 12) < 0);
    GF_ASSERT(check_host(kh, "git@unknown.net:r.git", "unknown.net", key, 12) < 0);

    /* hashed names: |1|base64(salt)|base64(HMAC-SHA1(salt, name)) */
    unsigned char salt[20] = "0123456789abcdefghij", mac[20];
    unsigned int mlen = 0;
    char *bs = NULL, *bm = NULL;
    HMAC(EVP_sha1(), salt, 20, (const unsigned char *)"[h.example]:2200", 16, mac, &mlen);
    GF_ASSERT_INT(gf_base64_encode(&bs, NULL, salt, 20), 0);
    GF_ASSERT_INT(gf_base64_encode(&bm, NULL, mac, mlen), 0);
    snprintf(kh, sizeof(kh), "|1|%s|%s ssh-ed25519 %s\n", bs, bm, b1);
    GF_ASSERT_INT(check_host(kh, "ssh://h.example:2200/r", "h.example", key, 12), 0);
    GF_ASSERT(check_host(kh, "ssh://h.example:2201/r", "h.example", key, 12) < 0);
    free(bs);
    free(bm);
    free(b1);
    free(b2);
    git_libgit2_shutdown();
}

GF_TESTS(GF_TEST(test_creds__is_remote), GF_TEST(test_creds__file_errors),
         GF_TEST(test_creds__known_hosts));
