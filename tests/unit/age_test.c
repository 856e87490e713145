/* age_test.c -- the age format: keys, round trips, tampering, extra stanzas, Debian's age both ways
 */
#include "harness.h"

#include "gitfleet/age.h"
#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static gf_age_identity new_identity(void)
{
    gf_age_identity id;

    GF_ASSERT_INT(gf_age_identity_generate(&id), 0);
    return id;
}

static unsigned char *pattern(size_t len)
{
    unsigned char *p = malloc(len + 1);

    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(i * 31 + 7);
    return p;
}

/* The example key pair of the age specification (c2sp.org/age). */
static void test_age__spec_key_vector(void)
{
    gf_age_identity id;
    char text[GF_AGE_IDENTITY_MAX], rcpt[GF_AGE_RECIPIENT_MAX];

    GF_ASSERT_INT(
        gf_age_identity_parse(
            &id, "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"),
        0);
    gf_age_recipient_format(rcpt, &id.recipient);
    GF_ASSERT_STR(rcpt, "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj");
    gf_age_identity_format(text, &id);
    GF_ASSERT_STR(text,
                  "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX");
    gf_age_recipient r;
    GF_ASSERT_INT(gf_age_recipient_parse(&r, rcpt), 0);
    GF_ASSERT(memcmp(r.key, id.recipient.key, 32) == 0);
}

static void test_age__bad_keys_refused(void)
{
    gf_age_recipient r;
    gf_age_identity id;
    const char *good = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";
    char buf[128];

    GF_ASSERT_INT(gf_age_recipient_parse(&r, ""), GF_EINVAL);
    GF_ASSERT_INT(gf_age_recipient_parse(&r, "age1"), GF_EINVAL);
    snprintf(buf, sizeof(buf), "%s", good);
    buf[10] = buf[10] == 'q' ? 'p' : 'q'; /* one character off: checksum */
    GF_ASSERT_INT(gf_age_recipient_parse(&r, buf), GF_EINVAL);
    GF_ASSERT_HAS(gf_error_last(), "checksum");
    snprintf(buf, sizeof(buf), "%s", good);
    buf[5] = 'Z'; /* mixed case */
    GF_ASSERT_INT(gf_age_recipient_parse(&r, buf), GF_EINVAL);
    snprintf(buf, sizeof(buf), "%sq", good); /* too long */
    GF_ASSERT_INT(gf_age_recipient_parse(&r, buf), GF_EINVAL);
    snprintf(buf, sizeof(buf), "%s", good);
    buf[strlen(buf) - 3] = 'b'; /* 'b' is not in the alphabet */
    GF_ASSERT_INT(gf_age_recipient_parse(&r, buf), GF_EINVAL);
    /* An identity is not a recipient, nor the other way round. */
    GF_ASSERT_INT(gf_age_identity_parse(&id, good), GF_EINVAL);
    GF_ASSERT_INT(gf_age_recipient_parse(&r, "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZG"
                                             "FPYYSJZGFPYYSJZGFPQ4EGAEX"),
                  GF_EINVAL);
}

static void round_trip(size_t len)
{
    gf_age_identity id = new_identity();
    unsigned char *plain = pattern(len), *ct = NULL, *back = NULL;
    size_t ct_len = 0, back_len = 0;

    GF_ASSERT_INT(gf_age_encrypt(&ct, &ct_len, &id.recipient, 1, NULL, plain, len), 0);
    GF_ASSERT_INT(gf_age_decrypt(&back, &back_len, NULL, NULL, &id, 1, ct, ct_len), 0);
    GF_ASSERT_INT(back_len, len);
    GF_ASSERT(len == 0 || memcmp(back, plain, len) == 0);
    gf_age_plain_free(back, back_len);
    free(ct);
    free(plain);
}

static void test_age__round_trip_sizes(void)
{
    size_t sizes[] = {0, 1, 15, 16, 17, 1000, 65535, 65536, 65537, 2 * 65536, 200000};

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        round_trip(sizes[i]);
}

static void test_age__multi_recipient(void)
{
    gf_age_identity ids[3] = {new_identity(), new_identity(), new_identity()};
    gf_age_identity other = new_identity();
    gf_age_recipient r[3] = {ids[0].recipient, ids[1].recipient, ids[2].recipient};
    unsigned char *ct = NULL, *back = NULL;
    size_t ct_len, back_len, which;

    GF_ASSERT_INT(gf_age_encrypt(&ct, &ct_len, r, 3, NULL, "s3cr3t", 6), 0);
    for (size_t i = 0; i < 3; i++) {
        GF_ASSERT_INT(gf_age_decrypt(&back, &back_len, NULL, NULL, &ids[i], 1, ct, ct_len), 0);
        GF_ASSERT_INT(back_len, 6);
        GF_ASSERT(memcmp(back, "s3cr3t", 6) == 0);
        gf_age_plain_free(back, back_len);
    }
    /* A key that is not a recipient opens nothing; with a list, the one
     * that matches is found and named. */
    GF_ASSERT_INT(gf_age_decrypt(&back, &back_len, NULL, NULL, &other, 1, ct, ct_len), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "no identity matches");
    GF_ASSERT(back == NULL);
    gf_age_identity two[2] = {other, ids[2]};
    GF_ASSERT_INT(gf_age_decrypt(&back, &back_len, NULL, &which, two, 2, ct, ct_len), 0);
    GF_ASSERT_INT(which, 1);
    gf_age_plain_free(back, back_len);
    free(ct);
    GF_ASSERT_INT(gf_age_encrypt(&ct, &ct_len, r, 0, NULL, "x", 1), GF_EINVAL);
}

static json_t *scope_stanza(const char *ns, const char *name)
{
    return json_pack("[[s,s,s,s]]", "gitfleet.io/scope", "strict", ns, name);
}

static void test_age__extra_stanza_authenticated(void)
{
    gf_age_identity id = new_identity();
    json_t *extra = scope_stanza("prod", "db"), *got = NULL;
    unsigned char *ct = NULL, *back = NULL;
    size_t ct_len, back_len;

    GF_ASSERT_INT(gf_age_encrypt(&ct, &ct_len, &id.recipient, 1, extra, "pw", 2), 0);
    GF_ASSERT_INT(gf_age_decrypt(&back, &back_len, &got, NULL, &id, 1, ct, ct_len), 0);
    GF_ASSERT(json_equal(got, extra));
    gf_age_plain_free(back, back_len);
    json_decref(got);
    /* Rename the scope in place (same length): the MAC refuses it. */
    char *at = memmem(ct, ct_len, " prod db", 8);
    GF_ASSERT(at != NULL);
    memcpy(at, " dev1 db", 8);
    GF_ASSERT_INT(gf_age_decrypt(&back, &back_len, &got, NULL, &id, 1, ct, ct_len), GF_EPERM);
    GF_ASSERT_HAS(gf_error_last(), "MAC");
    free(ct);
    /* Bad arguments are refused when encrypting. */
    json_decref(extra);
    extra = json_pack("[[s,s]]", "gitfleet.io/scope", "two words");
    GF_ASSERT_INT(gf_age_encrypt(&ct, &ct_len, &id.recipient, 1, extra, "pw", 2), GF_EINVAL);
    json_decref(extra);
}

/* Flip every bit position's byte, truncate at every length, append a byte:
 * each one refused, and nothing handed back. */
static void test_age__every_tampering_refused(void)
{
    gf_age_identity id = new_identity();
    json_t *extra = scope_stanza("ns", "name");
    unsigned char *ct = NULL, *back = NULL, *copy;
    size_t ct_len, back_len;

    GF_ASSERT_INT(gf_age_encrypt(&ct, &ct_len, &id.recipient, 1, extra, "hunter2", 7), 0);
    copy = malloc(ct_len + 1);
    for (size_t i = 0; i < ct_len; i++) {
        memcpy(copy, ct, ct_len);
        copy[i] ^= 0x01;
        int error = gf_age_decrypt(&back, &back_len, NULL, NULL, &id, 1, copy, ct_len);
        if (error == 0)
            gf_test_fail(__FILE__, __LINE__, "flipping byte %zu of %zu was not noticed", i, ct_len);
        GF_ASSERT(back == NULL);
    }
    for (size_t n = 0; n < ct_len; n++) {
        int error = gf_age_decrypt(&back, &back_len, NULL, NULL, &id, 1, ct, n);
        if (error == 0)
            gf_test_fail(__FILE__, __LINE__, "truncation to %zu bytes was not noticed", n);
    }
    memcpy(copy, ct, ct_len);
    copy[ct_len] = 'x';
    GF_ASSERT(gf_age_decrypt(&back, &back_len, NULL, NULL, &id, 1, copy, ct_len + 1) < 0);
    free(copy);
    free(ct);
    json_decref(extra);
}

/* Hand-made hostile headers: each refused with a reason, none crashes. */
static void test_age__hostile_headers(void)
{
    gf_age_identity id = new_identity();
    static const char *cases[] = {
        "",
        "age-encryption.org/v2\n-> X25519 a\nb\n--- x\n",
        "age-encryption.org/v1\n",
        "age-encryption.org/v1\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
        "age-encryption.org/v1\n-> \n\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
        "age-encryption.org/v1\n-> X25519  a\n\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
        "age-encryption.org/v1\n-> X25519 AAAA\nAAAA\n--- "
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
        "age-encryption.org/v1\n-> X25519 a\n"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
        "--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
        "age-encryption.org/v1\n-> x\nAA==\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
        "age-encryption.org/v1\n-> x\n\n--- short\n",
        "age-encryption.org/v1\n-> x\n\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    unsigned char *back = NULL;
    size_t back_len;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int error = gf_age_decrypt(&back, &back_len, NULL, NULL, &id, 1,
                                   (const unsigned char *)cases[i], strlen(cases[i]));
        if (error == 0)
            gf_test_fail(__FILE__, __LINE__, "hostile header %zu was accepted", i);
        GF_ASSERT(gf_error_last()[0] != '\0');
    }
}

/* ---- Debian's age, both ways ---- */

static void need_age(void)
{
    if (system("age --version >/dev/null 2>&1") != 0)
        gf_test_fail(__FILE__, __LINE__, "the age tool is missing: run scripts/deps.sh");
}

static char *tmp(const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];

    snprintf(p, sizeof(paths[0]), "%s/%s", gf_test_tmpdir(), name);
    return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
    GF_ASSERT_INT(gf_fs_write_atomic(path, data, len, 0600), 0);
}

/* Ours encrypts (with a gitfleet scope stanza), age -d opens. */
static void test_age__debian_age_opens_ours(void)
{
    gf_age_identity id = new_identity();
    char key[GF_AGE_IDENTITY_MAX + 1], cmd[2048], *out = NULL;
    size_t sizes[] = {0, 5, 65536, 70000}, out_len;
    json_t *extra = scope_stanza("prod", "db");

    need_age();
    gf_age_identity_format(key, &id);
    strcat(key, "\n");
    write_file(tmp("key.txt"), key, strlen(key));
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *plain = pattern(sizes[i]), *ct = NULL;
        size_t ct_len;
        GF_ASSERT_INT(gf_age_encrypt(&ct, &ct_len, &id.recipient, 1, extra, plain, sizes[i]), 0);
        write_file(tmp("ours.age"), ct, ct_len);
        /* (age -o creates no file for an empty plaintext: redirect instead) */
        snprintf(cmd, sizeof(cmd), "age -d -i %s %s > %s", tmp("key.txt"), tmp("ours.age"),
                 tmp("plain.out"));
        GF_ASSERT_INT(system(cmd), 0);
        GF_ASSERT_INT(gf_fs_read(&out, &out_len, tmp("plain.out"), 0), 0);
        GF_ASSERT_INT(out_len, sizes[i]);
        GF_ASSERT(sizes[i] == 0 || memcmp(out, plain, sizes[i]) == 0);
        free(out);
        free(ct);
        free(plain);
    }
    json_decref(extra);
}

/* age-keygen makes the key, age -r encrypts (two recipients), ours opens. */
static void test_age__ours_opens_debian_age(void)
{
    char cmd[4096], *keyfile = NULL, *ct = NULL, *line;
    size_t len, ct_len;
    gf_age_identity id, mine = new_identity();
    char rcpt[GF_AGE_RECIPIENT_MAX], mine_r[GF_AGE_RECIPIENT_MAX], want[GF_AGE_RECIPIENT_MAX];
    unsigned char *plain = pattern(100000), *back = NULL;
    size_t back_len;

    need_age();
    snprintf(cmd, sizeof(cmd), "age-keygen -o %s 2>/dev/null && age-keygen -y %s > %s",
             tmp("k.txt"), tmp("k.txt"), tmp("k.pub"));
    GF_ASSERT_INT(system(cmd), 0);
    GF_ASSERT_INT(gf_fs_read(&keyfile, &len, tmp("k.txt"), 0), 0);
    line = strstr(keyfile, "AGE-SECRET-KEY-");
    GF_ASSERT(line != NULL);
    line[strcspn(line, "\n")] = '\0';
    GF_ASSERT_INT(gf_age_identity_parse(&id, line), 0);
    /* The recipient we compute is the one age-keygen -y prints. */
    free(keyfile);
    GF_ASSERT_INT(gf_fs_read(&keyfile, &len, tmp("k.pub"), 0), 0);
    keyfile[strcspn(keyfile, "\n")] = '\0';
    gf_age_recipient_format(rcpt, &id.recipient);
    GF_ASSERT_STR(rcpt, keyfile);
    free(keyfile);
    gf_age_recipient_format(mine_r, &mine.recipient);
    write_file(tmp("plain"), plain, 100000);
    snprintf(cmd, sizeof(cmd), "age -r %s -r %s -o %s %s", mine_r, rcpt, tmp("theirs.age"),
             tmp("plain"));
    GF_ASSERT_INT(system(cmd), 0);
    GF_ASSERT_INT(gf_fs_read(&ct, &ct_len, tmp("theirs.age"), 0), 0);
    GF_ASSERT_INT(gf_age_decrypt(&back, &back_len, NULL, NULL, &id, 1, (unsigned char *)ct, ct_len),
                  0);
    GF_ASSERT_INT(back_len, 100000);
    GF_ASSERT(memcmp(back, plain, 100000) == 0);
    gf_age_plain_free(back, back_len);
    GF_ASSERT_INT(
        gf_age_decrypt(&back, &back_len, NULL, NULL, &mine, 1, (unsigned char *)ct, ct_len), 0);
    gf_age_plain_free(back, back_len);
    (void)want;
    free(ct);
    free(plain);
}

GF_TESTS(GF_TEST(test_age__spec_key_vector), GF_TEST(test_age__bad_keys_refused),
         GF_TEST(test_age__round_trip_sizes), GF_TEST(test_age__multi_recipient),
         GF_TEST(test_age__extra_stanza_authenticated), GF_TEST(test_age__every_tampering_refused),
         GF_TEST(test_age__hostile_headers), GF_TEST(test_age__debian_age_opens_ours),
         GF_TEST(test_age__ours_opens_debian_age));
