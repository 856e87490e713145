/* sign_test.c -- Ed25519 keys, PEM files, key ids, signatures */
#include "harness.h"

#include "gitfleet/doc.h"
#include "gitfleet/error.h"
#include "gitfleet/sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/wait.h>
#include <unistd.h>

static const char msg[] = "{\"cluster\":\"dev-1\",\"generation\":42}";

static gf_sign_key *new_key(void)
{
    gf_sign_key *key = NULL;

    GF_ASSERT_INT(gf_sign_key_generate(&key), 0);
    GF_ASSERT(key != NULL);
    return key;
}

static char *tmp_path(const char *name)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];

    snprintf(p, sizeof(path[0]), "%s/%s", gf_test_tmpdir(), name);
    return p;
}

static void test_sign__round_trip(void)
{
    gf_sign_key *key = new_key();
    unsigned char sig[GF_SIGN_SIGNATURE_LEN], sig2[GF_SIGN_SIGNATURE_LEN];

    GF_ASSERT(gf_sign_key_has_private(key));
    GF_ASSERT_INT(gf_sign(sig, key, msg, strlen(msg)), 0);
    GF_ASSERT_INT(gf_sign_verify(key, sig, sizeof(sig), msg, strlen(msg)), 0);
    /* Ed25519 is deterministic: same key and message, same signature. */
    GF_ASSERT_INT(gf_sign(sig2, key, msg, strlen(msg)), 0);
    GF_ASSERT(memcmp(sig, sig2, sizeof(sig)) == 0);
    /* The empty message is a message too. */
    GF_ASSERT_INT(gf_sign(sig, key, NULL, 0), 0);
    GF_ASSERT_INT(gf_sign_verify(key, sig, sizeof(sig), "", 0), 0);
    gf_sign_key_free(key);
    gf_sign_key_free(NULL);
}

static void test_sign__tampered_bytes_rejected(void)
{
    gf_sign_key *key = new_key();
    unsigned char sig[GF_SIGN_SIGNATURE_LEN];
    char data[sizeof(msg)];
    size_t n = strlen(msg);

    GF_ASSERT_INT(gf_sign(sig, key, msg, n), 0);
    for (size_t i = 0; i < n; i++) {
        memcpy(data, msg, sizeof(msg));
        data[i] ^= 0x01;
        GF_ASSERT_INT(gf_sign_verify(key, sig, sizeof(sig), data, n), GF_EPERM);
    }
    GF_ASSERT_HAS(gf_error_last(), "does not verify");
    for (size_t i = 0; i < sizeof(sig); i++) {
        sig[i] ^= 0x80;
        GF_ASSERT_INT(gf_sign_verify(key, sig, sizeof(sig), msg, n), GF_EPERM);
        sig[i] ^= 0x80;
    }
    /* One byte more or less of data. */
    GF_ASSERT_INT(gf_sign_verify(key, sig, sizeof(sig), msg, n - 1), GF_EPERM);
    GF_ASSERT_INT(gf_sign_verify(key, sig, sizeof(sig), msg, n + 1), GF_EPERM);
    GF_ASSERT_INT(gf_sign_verify(key, sig, sizeof(sig), msg, n), 0);
    gf_sign_key_free(key);
}

static void test_sign__wrong_key_rejected(void)
{
    gf_sign_key *a = new_key(), *b = new_key();
    unsigned char sig[GF_SIGN_SIGNATURE_LEN];
    char ida[GF_SIGN_KEY_ID_LEN + 1], idb[GF_SIGN_KEY_ID_LEN + 1];

    gf_sign_key_id(ida, a);
    gf_sign_key_id(idb, b);
    GF_ASSERT(strcmp(ida, idb) != 0);
    GF_ASSERT_INT(gf_sign(sig, a, msg, strlen(msg)), 0);
    GF_ASSERT_INT(gf_sign_verify(b, sig, sizeof(sig), msg, strlen(msg)), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), idb);
    gf_sign_key_free(a);
    gf_sign_key_free(b);
}

static void test_sign__truncated_signature_rejected(void)
{
    gf_sign_key *key = new_key();
    unsigned char sig[GF_SIGN_SIGNATURE_LEN + 1] = {0};

    GF_ASSERT_INT(gf_sign(sig, key, msg, strlen(msg)), 0);
    for (size_t len = 0; len < GF_SIGN_SIGNATURE_LEN; len++)
        GF_ASSERT_INT(gf_sign_verify(key, sig, len, msg, strlen(msg)), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "expected 64");
    GF_ASSERT_INT(gf_sign_verify(key, sig, sizeof(sig), msg, strlen(msg)), GF_EPERM);
    GF_ASSERT_INT(gf_sign_verify(key, NULL, 64, msg, strlen(msg)), GF_EPERM);
    gf_sign_key_free(key);
}

static void test_sign__public_only_key_cannot_sign(void)
{
    gf_sign_key *key = new_key(), *pub = NULL, *loaded = NULL;
    unsigned char raw[GF_SIGN_PUBLIC_KEY_LEN], sig[GF_SIGN_SIGNATURE_LEN];
    char id[GF_SIGN_KEY_ID_LEN + 1], pid[GF_SIGN_KEY_ID_LEN + 1];
    const char *path = tmp_path("pub.pem");

    GF_ASSERT_INT(gf_sign_key_public_raw(raw, key), 0);
    GF_ASSERT_INT(gf_sign_key_from_public(&pub, raw), 0);
    GF_ASSERT(!gf_sign_key_has_private(pub));
    GF_ASSERT_INT(gf_sign(sig, pub, msg, strlen(msg)), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "public-only");
    GF_ASSERT_INT(gf_sign_key_save_private(pub, tmp_path("nope.pem")), GF_EINVAL);
    /* A public key still verifies what the private key signed. */
    GF_ASSERT_INT(gf_sign(sig, key, msg, strlen(msg)), 0);
    GF_ASSERT_INT(gf_sign_verify(pub, sig, sizeof(sig), msg, strlen(msg)), 0);
    gf_sign_key_id(id, key);
    gf_sign_key_id(pid, pub);
    GF_ASSERT_STR(pid, id);
    /* Same through a public PEM file. */
    GF_ASSERT_INT(gf_sign_key_save_public(key, path), 0);
    GF_ASSERT_INT(gf_sign_key_load(&loaded, path), 0);
    GF_ASSERT(!gf_sign_key_has_private(loaded));
    GF_ASSERT_INT(gf_sign(sig, loaded, msg, strlen(msg)), GF_EINVAL);
    GF_ASSERT_INT(gf_sign_key_public_raw(raw, loaded), 0);
    gf_sign_key_free(key);
    gf_sign_key_free(pub);
    gf_sign_key_free(loaded);
}

static void test_sign__key_id_is_sha256_prefix_of_raw_key(void)
{
    gf_sign_key *key = new_key();
    unsigned char raw[GF_SIGN_PUBLIC_KEY_LEN];
    char id[GF_SIGN_KEY_ID_LEN + 1], hex[65];

    GF_ASSERT_INT(gf_sign_key_public_raw(raw, key), 0);
    gf_sign_key_id(id, key);
    gf_sha256_hex(hex, raw, sizeof(raw));
    GF_ASSERT_INT(strlen(id), GF_SIGN_KEY_ID_LEN);
    GF_ASSERT(strncmp(id, hex, GF_SIGN_KEY_ID_LEN) == 0);
    gf_sign_key_free(key);
}

static void test_sign__private_pem_saved_0600_and_reloaded(void)
{
    gf_sign_key *key = new_key(), *other = new_key(), *loaded = NULL;
    const char *path = tmp_path("hub.key");
    char id[GF_SIGN_KEY_ID_LEN + 1], lid[GF_SIGN_KEY_ID_LEN + 1];
    unsigned char sig[GF_SIGN_SIGNATURE_LEN];
    struct stat st;
    char *text, *pem;

    /* Saving over an existing key replaces it whole. */
    GF_ASSERT_INT(gf_sign_key_save_private(other, path), 0);
    GF_ASSERT_INT(gf_sign_key_save_private(key, path), 0);
    GF_ASSERT_INT(stat(path, &st), 0);
    GF_ASSERT_INT(st.st_mode & 0777, 0600);
    text = gf_test_read_file(path, NULL);
    GF_ASSERT(strncmp(text, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
    free(text);
    GF_ASSERT_INT(gf_sign_key_load(&loaded, path), 0);
    GF_ASSERT(gf_sign_key_has_private(loaded));
    gf_sign_key_id(id, key);
    gf_sign_key_id(lid, loaded);
    GF_ASSERT_STR(lid, id);
    GF_ASSERT_INT(gf_sign(sig, loaded, msg, strlen(msg)), 0);
    GF_ASSERT_INT(gf_sign_verify(key, sig, sizeof(sig), msg, strlen(msg)), 0);
    GF_ASSERT_INT(gf_sign_key_public_pem(&pem, loaded), 0);
    GF_ASSERT(strncmp(pem, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);
    free(pem);
    gf_sign_key_free(key);
    gf_sign_key_free(other);
    gf_sign_key_free(loaded);
}

static void expect_load_error(const char *path, int code, const char *needle)
{
    gf_sign_key *key = (gf_sign_key *)1;

    GF_ASSERT_INT(gf_sign_key_load(&key, path), code);
    GF_ASSERT(key == NULL);
    GF_ASSERT_HAS(gf_error_last(), needle);
}

/* The code of gf_sign_key_load() in a child running as uid/gid 65534, or
 * 1 if the message lacks the path, 2 if privileges could not be dropped. */
static int load_as_nobody(const char *path)
{
    pid_t pid = fork();
    int status = 0;

    if (pid == 0) {
        gf_sign_key *k = NULL;
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(2);
        int code = gf_sign_key_load(&k, path);
        _exit(strstr(gf_error_last(), path) ? -code : 1);
    }
    GF_ASSERT(pid > 0 && waitpid(pid, &status, 0) == pid);
    GF_ASSERT(WIFEXITED(status));
    return WEXITSTATUS(status) > 2 ? -WEXITSTATUS(status) : WEXITSTATUS(status);
}

static void test_sign__load_errors_are_clear(void)
{
    const char *missing = tmp_path("missing.pem"), *junk = tmp_path("junk.pem");
    const char *locked = tmp_path("locked.pem");
    gf_sign_key *key = new_key();

    expect_load_error(missing, GF_ENOTFOUND, missing);
    expect_load_error(gf_test_tmpdir(), GF_EINVAL, "directory");
    gf_test_write_file(junk, "hello\n", 6);
    expect_load_error(junk, GF_EINVAL, "not a PEM private key");
    gf_test_write_file(junk, "", 0);
    expect_load_error(junk, GF_EINVAL, junk);
    /* A truncated key file is no key either. */
    GF_ASSERT_INT(gf_sign_key_save_private(key, junk), 0);
    GF_ASSERT_INT(truncate(junk, 60), 0);
    expect_load_error(junk, GF_EINVAL, "not a PEM");
    /* Unreadable: mode 000. Root reads through that, so as root the load
     * runs in a child that has dropped to uid/gid 65534 (nobody). */
    GF_ASSERT_INT(gf_sign_key_save_private(key, locked), 0);
    GF_ASSERT_INT(chmod(locked, 0), 0);
    if (geteuid() != 0)
        expect_load_error(locked, GF_EPERM, locked);
    else
        GF_ASSERT_INT(load_as_nobody(locked), GF_EPERM);
    gf_sign_key_free(key);
}

/* Keys made by the openssl CLI load; other key types and encrypted keys are
 * refused without prompting; our signatures verify with `openssl pkeyutl`. */
static void test_sign__interoperates_with_openssl_cli(void)
{
    const char *dir = gf_test_tmpdir();
    gf_sign_key *key = NULL;
    unsigned char sig[GF_SIGN_SIGNATURE_LEN];
    char path[600];
    FILE *f;

    if (gf_test_sh("command -v openssl >/dev/null") != 0) {
        fprintf(stderr, "    (no openssl CLI: skipped)\n");
        return;
    }
    GF_ASSERT_INT(gf_test_sh("cd %s && openssl genpkey -algorithm ed25519 -out ed.pem 2>/dev/null"
                             " && openssl pkey -in ed.pem -pubout -out ed.pub 2>/dev/null"
                             " && openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256"
                             " -out ec.pem 2>/dev/null && openssl genpkey -algorithm ed25519"
                             " -aes256 -pass pass:secret -out enc.pem 2>/dev/null",
                             dir),
                  0);
    snprintf(path, sizeof(path), "%s/ed.pem", dir);
    GF_ASSERT_INT(gf_sign_key_load(&key, path), 0);
    GF_ASSERT_INT(gf_sign(sig, key, msg, strlen(msg)), 0);
    gf_sign_key_free(key);
    snprintf(path, sizeof(path), "%s/msg", dir);
    gf_test_write_file(path, msg, strlen(msg));
    snprintf(path, sizeof(path), "%s/msg.sig", dir);
    f = fopen(path, "wb");
    GF_ASSERT(f != NULL && fwrite(sig, 1, sizeof(sig), f) == sizeof(sig));
    fclose(f);
    GF_ASSERT_INT(gf_test_sh("cd %s && openssl pkeyutl -verify -pubin -inkey ed.pub -rawin"
                             " -in msg -sigfile msg.sig >/dev/null",
                             dir),
                  0);
    snprintf(path, sizeof(path), "%s/ec.pem", dir);
    expect_load_error(path, GF_EINVAL, "not an Ed25519 key");
    snprintf(path, sizeof(path), "%s/enc.pem", dir);
    expect_load_error(path, GF_EINVAL, "encrypted");
}

GF_TESTS(GF_TEST(test_sign__round_trip), GF_TEST(test_sign__tampered_bytes_rejected),
         GF_TEST(test_sign__wrong_key_rejected), GF_TEST(test_sign__truncated_signature_rejected),
         GF_TEST(test_sign__public_only_key_cannot_sign),
         GF_TEST(test_sign__key_id_is_sha256_prefix_of_raw_key),
         GF_TEST(test_sign__private_pem_saved_0600_and_reloaded),
         GF_TEST(test_sign__load_errors_are_clear),
         GF_TEST(test_sign__interoperates_with_openssl_cli));
