/* sign.c -- Ed25519 keys (PEM files, raw public keys, key ids) and signatures */
/* Keys are read and written with OpenSSL (PEM, PKCS#8, SPKI); signing and
 * verification run in libsodium, which does both in well under half of
 * OpenSSL 3's time (41 against 100 us per verification on our machines) —
 * the hub verifies two agent requests and signs one bundle per cluster and
 * commit. */
#include "gitfleet/sign.h"
#include "gitfleet/doc.h"
#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A key file is a few hundred bytes; anything much larger is not one. */
#define GF_SIGN_KEY_FILE_MAX 65536

struct gf_sign_key {
    EVP_PKEY *pkey; /* NULL for a key made from raw public bytes: made when PEM is asked for */
    int has_private;
    unsigned char public_raw[crypto_sign_PUBLICKEYBYTES];
    unsigned char secret[crypto_sign_SECRETKEYBYTES]; /* libsodium's: seed + public key */
};

/* The first queued OpenSSL error as text, and the queue emptied, so that a
 * later failure does not report a stale reason. */
static const char *ossl_reason(char *buf, size_t size)
{
    unsigned long e = ERR_get_error();

    if (e == 0)
        snprintf(buf, size, "unknown OpenSSL error");
    else
        ERR_error_string_n(e, buf, size);
    ERR_clear_error();
    return buf;
}

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ready;

static void sodium_start(void)
{
    sodium_ready = sodium_init() >= 0;
}

/* libsodium set up once: sodium_init() takes a global lock on every call. */
static int sodium_check(void)
{
    pthread_once(&sodium_once, sodium_start);
    return sodium_ready ? 0 : gf_error_set(GF_ERROR, "libsodium cannot start");
}

/* The raw halves libsodium works with, taken from OpenSSL's key. */
static int key_raw(gf_sign_key *key)
{
    unsigned char seed[crypto_sign_SEEDBYTES], public_raw[crypto_sign_PUBLICKEYBYTES];
    size_t len = sizeof(key->public_raw), seed_len = sizeof(seed);
    char why[256];
    int error = 0;

    if ((error = sodium_check()) < 0)
        return error;
    if (EVP_PKEY_get_raw_public_key(key->pkey, key->public_raw, &len) != 1 ||
        len != sizeof(key->public_raw))
        return gf_error_set(GF_ERROR, "reading the raw public key: %s",
                            ossl_reason(why, sizeof(why)));
    if (!key->has_private)
        return 0;
    if (EVP_PKEY_get_raw_private_key(key->pkey, seed, &seed_len) != 1 || seed_len != sizeof(seed))
        error = gf_error_set(GF_ERROR, "reading the raw private key: %s",
                             ossl_reason(why, sizeof(why)));
    else if (crypto_sign_seed_keypair(public_raw, key->secret, seed) != 0 ||
             memcmp(public_raw, key->public_raw, sizeof(public_raw)) != 0)
        error = gf_error_set(GF_ERROR, "the private key does not match its public half");
    sodium_memzero(seed, sizeof(seed));
    return error;
}

static int key_wrap(gf_sign_key **out, EVP_PKEY *pkey, int has_private)
{
    gf_sign_key *key = calloc(1, sizeof(*key));
    int error;

    if (key == NULL) {
        EVP_PKEY_free(pkey);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    key->pkey = pkey;
    key->has_private = has_private;
    if ((error = key_raw(key)) < 0) {
        gf_sign_key_free(key);
        return error;
    }
    *out = key;
    return 0;
}

int gf_sign_key_generate(gf_sign_key **out)
{
    char why[256];
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

    *out = NULL;
    if (pkey == NULL)
        return gf_error_set(GF_ERROR, "generating an Ed25519 key: %s",
                            ossl_reason(why, sizeof(why)));
    return key_wrap(out, pkey, 1);
}

/* Never prompt for a passphrase: an encrypted key simply fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

/* Parse PEM text as a private key, else as a public key. */
static EVP_PKEY *parse_pem(const char *pem, size_t len, int *has_private)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey;

    if (bio == NULL)
        return NULL;
    *has_private = 1;
    pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    if (pkey == NULL) {
        ERR_clear_error();
        *has_private = 0;
        BIO_free(bio);
        if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
            return NULL;
        pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    }
    BIO_free(bio);
    return pkey;
}

int gf_sign_key_load(gf_sign_key **out, const char *path)
{
    char *pem = NULL;
    size_t len = 0;
    int has_private = 0, error;
    EVP_PKEY *pkey;

    *out = NULL;
    if ((error = gf_fs_read(&pem, &len, path, GF_SIGN_KEY_FILE_MAX)) < 0)
        return gf_error_wrap(error == GF_ETOOBIG ? GF_EINVAL : error, "loading key");
    pkey = parse_pem(pem, len, &has_private);
    if (pkey == NULL) {
        error = strstr(pem, "ENCRYPTED") != NULL
                    ? gf_error_set(GF_EINVAL, "%s: encrypted private keys are not supported", path)
                    : gf_error_set(GF_EINVAL,
                                   "%s: not a PEM private key (PKCS#8) or public key (SPKI)", path);
        ERR_clear_error();
    } else if (!EVP_PKEY_is_a(pkey, "ED25519")) {
        error = gf_error_set(GF_EINVAL, "%s: a %s key, not an Ed25519 key", path,
                             EVP_PKEY_get0_type_name(pkey));
        EVP_PKEY_free(pkey);
    } else {
        error = key_wrap(out, pkey, has_private);
    }
    OPENSSL_cleanse(pem, len);
    free(pem);
    return error;
}

/* Write the private or public half as PEM into a secure-memory BIO. */
static int pem_bio(BIO **out, const gf_sign_key *key, int private_half)
{
    char why[256], id[GF_SIGN_KEY_ID_LEN + 1];
    BIO *bio;
    int ok;

    *out = NULL;
    if (private_half && !key->has_private) {
        gf_sign_key_id(id, key);
        return gf_error_set(GF_EINVAL, "key %s has no private half", id);
    }
    EVP_PKEY *pkey = key->pkey, *made = NULL;
    if (pkey == NULL &&
        (pkey = made = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key->public_raw,
                                                   sizeof(key->public_raw))) == NULL)
        return gf_error_set(GF_ERROR, "making the public key: %s", ossl_reason(why, sizeof(why)));
    if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
        EVP_PKEY_free(made);
        return gf_error_set(GF_ENOMEM, "out of memory");
    }
    if (private_half)
        ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
    else
        ok = PEM_write_bio_PUBKEY(bio, pkey);
    EVP_PKEY_free(made);
    if (ok != 1) {
        BIO_free(bio);
        return gf_error_set(GF_ERROR, "encoding the key as PEM: %s", ossl_reason(why, sizeof(why)));
    }
    *out = bio;
    return 0;
}

static int save_pem(const gf_sign_key *key, const char *path, int private_half, mode_t mode)
{
    BIO *bio;
    char *data;
    long len;
    int error;

    if ((error = pem_bio(&bio, key, private_half)) < 0)
        return gf_error_wrap(error, "saving %s", path);
    len = BIO_get_mem_data(bio, &data);
    error = gf_fs_write_atomic(path, data, (size_t)len, mode);
    BIO_free(bio);
    return error < 0 ? gf_error_wrap(error, "saving key") : 0;
}

int gf_sign_key_save_private(const gf_sign_key *key, const char *path)
{
    return save_pem(key, path, 1, 0600);
}

int gf_sign_key_save_public(const gf_sign_key *key, const char *path)
{
    return save_pem(key, path, 0, 0644);
}

int gf_sign_key_public_pem(char **out, const gf_sign_key *key)
{
    BIO *bio;
    char *data;
    long len;
    int error;

    *out = NULL;
    if ((error = pem_bio(&bio, key, 0)) < 0)
        return error;
    len = BIO_get_mem_data(bio, &data);
    if ((*out = malloc((size_t)len + 1)) == NULL)
        error = gf_error_set(GF_ENOMEM, "out of memory");
    else {
        memcpy(*out, data, (size_t)len);
        (*out)[len] = '\0';
    }
    BIO_free(bio);
    return error;
}

/* No OpenSSL key here: the hub makes one per agent request, and
 * EVP_PKEY_new_raw_public_key contends on OpenSSL's provider locks. Any 32
 * bytes are accepted, as OpenSSL accepts them; a key that is no curve point
 * verifies nothing. */
int gf_sign_key_from_public(gf_sign_key **out, const unsigned char raw[GF_SIGN_PUBLIC_KEY_LEN])
{
    gf_sign_key *key;
    int error;

    *out = NULL;
    if ((error = sodium_check()) < 0)
        return error;
    if ((key = calloc(1, sizeof(*key))) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    memcpy(key->public_raw, raw, sizeof(key->public_raw));
    *out = key;
    return 0;
}

int gf_sign_key_public_raw(unsigned char out[GF_SIGN_PUBLIC_KEY_LEN], const gf_sign_key *key)
{
    memcpy(out, key->public_raw, GF_SIGN_PUBLIC_KEY_LEN);
    return 0;
}

void gf_sign_key_id(char out[GF_SIGN_KEY_ID_LEN + 1], const gf_sign_key *key)
{
    unsigned char raw[GF_SIGN_PUBLIC_KEY_LEN];
    char hex[65];

    gf_sign_key_public_raw(raw, key);
    gf_sha256_hex(hex, raw, sizeof(raw));
    memcpy(out, hex, GF_SIGN_KEY_ID_LEN);
    out[GF_SIGN_KEY_ID_LEN] = '\0';
}

int gf_sign_key_has_private(const gf_sign_key *key)
{
    return key != NULL && key->has_private;
}

void gf_sign_key_free(gf_sign_key *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    sodium_memzero(key->secret, sizeof(key->secret));
    free(key);
}

int gf_sign(unsigned char sig[GF_SIGN_SIGNATURE_LEN], const gf_sign_key *key, const void *data,
            size_t len)
{
    char id[GF_SIGN_KEY_ID_LEN + 1];

    if (!key->has_private) {
        gf_sign_key_id(id, key);
        return gf_error_set(GF_EINVAL, "cannot sign with public-only key %s", id);
    }
    if (crypto_sign_detached(sig, NULL, len ? data : (const void *)"", len, key->secret) != 0)
        return gf_error_set(GF_ERROR, "signing failed");
    return 0;
}

int gf_sign_verify(const gf_sign_key *key, const unsigned char *sig, size_t sig_len,
                   const void *data, size_t len)
{
    char id[GF_SIGN_KEY_ID_LEN + 1];

    if (sig == NULL || sig_len != GF_SIGN_SIGNATURE_LEN) {
        gf_sign_key_id(id, key);
        return gf_error_set(GF_EPERM, "signature is %zu bytes, expected %d (key %s)", sig_len,
                            GF_SIGN_SIGNATURE_LEN, id);
    }
    if (crypto_sign_verify_detached(sig, len ? data : (const void *)"", len, key->public_raw) !=
        0) {
        gf_sign_key_id(id, key);
        return gf_error_set(GF_EPERM, "signature does not verify with key %s", id);
    }
    return 0;
}
