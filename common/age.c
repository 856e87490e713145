/* age.c -- the age file format (age-encryption.org/v1) with X25519 recipients, on OpenSSL 3 */
#include "gitfleet/age.h"
#include "gitfleet/base64.h"
#include "gitfleet/error.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION_LINE  "age-encryption.org/v1\n"
#define X25519_INFO   "age-encryption.org/v1/X25519"
#define FILE_KEY_LEN  16
#define TAG_LEN       16
#define NONCE_LEN     16
#define CHUNK_LEN     65536
#define MAC_LEN       32
#define WRAPPED_LEN   (FILE_KEY_LEN + TAG_LEN)
#define BODY_LINE_MAX 64

/* ---- Bech32 (BIP 173, no length limit) ---- */

static const char bech32_charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t bech32_polymod(const unsigned char *v, size_t n)
{
    static const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    uint32_t chk = 1;

    for (size_t i = 0; i < n; i++) {
        uint32_t top = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ v[i];
        for (int j = 0; j < 5; j++)
            if ((top >> j) & 1)
                chk ^= gen[j];
    }
    return chk;
}

/* hrp expanded, then the data values: what the checksum is computed over. */
static size_t bech32_expand(unsigned char *buf, const char *hrp, const unsigned char *data,
                            size_t n)
{
    size_t h = strlen(hrp), k = 0;

    for (size_t i = 0; i < h; i++)
        buf[k++] = (unsigned char)tolower((unsigned char)hrp[i]) >> 5;
    buf[k++] = 0;
    for (size_t i = 0; i < h; i++)
        buf[k++] = (unsigned char)tolower((unsigned char)hrp[i]) & 31;
    memcpy(buf + k, data, n);
    return k + n;
}

/* Encode 32 bytes under `hrp`; upper case when `upper`. */
static void bech32_encode(char *out, size_t cap, const char *hrp, const unsigned char key[32],
                          int upper)
{
    unsigned char data[64], buf[160];
    size_t n = 0, len;
    uint32_t acc = 0;
    int bits = 0;

    for (size_t i = 0; i < 32; i++) {
        acc = (acc << 8) | key[i];
        for (bits += 8; bits >= 5; bits -= 5)
            data[n++] = (acc >> (bits - 5)) & 31;
    }
    if (bits > 0)
        data[n++] = (acc << (5 - bits)) & 31;
    len = bech32_expand(buf, hrp, data, n);
    memset(buf + len, 0, 6);
    uint32_t mod = bech32_polymod(buf, len + 6) ^ 1;
    for (int i = 0; i < 6; i++)
        data[n + i] = (mod >> (5 * (5 - i))) & 31;
    size_t k = (size_t)snprintf(out, cap, "%s1", hrp);
    for (size_t i = 0; i < n + 6 && k + 1 < cap; i++)
        out[k++] = bech32_charset[data[i]];
    out[k] = '\0';
    for (size_t i = 0; upper && out[i]; i++)
        out[i] = (char)toupper((unsigned char)out[i]);
}

/* Decode a Bech32 string whose hrp must be `want_hrp` (compared without case)
 * and whose data is exactly 32 bytes. */
static int bech32_decode(unsigned char key[32], const char *text, const char *want_hrp,
                         const char *what)
{
    size_t len = strlen(text), sep, h = strlen(want_hrp), n = 0;
    unsigned char data[128] = {0}, buf[256];
    int lower = 0, upper = 0, bits = 0;
    uint32_t acc = 0;

    for (size_t i = 0; i < len; i++) {
        lower |= islower((unsigned char)text[i]) != 0;
        upper |= isupper((unsigned char)text[i]) != 0;
    }
    if (lower && upper)
        return gf_error_set(GF_EINVAL, "%s: mixed case", what);
    if (len < h + 1 + 6 || len > h + 1 + sizeof(data) || strncasecmp(text, want_hrp, h) != 0 ||
        text[h] != '1' || strchr(text + h + 1, '1') != NULL)
        return gf_error_set(GF_EINVAL, "%s: expected a Bech32 string starting with %s1", what,
                            want_hrp);
    sep = h;
    for (size_t i = sep + 1; i < len; i++) {
        const char *p = strchr(bech32_charset, tolower((unsigned char)text[i]));
        if (p == NULL || text[i] == '\0')
            return gf_error_set(GF_EINVAL, "%s: invalid character '%c'", what, text[i]);
        data[n++] = (unsigned char)(p - bech32_charset);
    }
    if (bech32_polymod(buf, bech32_expand(buf, want_hrp, data, n)) != 1)
        return gf_error_set(GF_EINVAL, "%s: bad checksum", what);
    n -= 6;
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 5) | data[i];
        for (bits += 5; bits >= 8; bits -= 8) {
            if (out == 32)
                return gf_error_set(GF_EINVAL, "%s: longer than a 32-byte key", what);
            key[out++] = (acc >> (bits - 8)) & 0xff;
        }
    }
    if (out != 32 || bits >= 5 || (acc & ((1u << bits) - 1)) != 0)
        return gf_error_set(GF_EINVAL, "%s: not a 32-byte key", what);
    return 0;
}

/* ---- primitives ---- */

/* X25519(secret, peer) into `out`; GF_EPERM for an all-zero result. */
static int x25519(unsigned char out[32], const unsigned char secret[32],
                  const unsigned char peer[32])
{
    EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, secret, 32);
    EVP_PKEY *pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
    EVP_PKEY_CTX *ctx = priv ? EVP_PKEY_CTX_new(priv, NULL) : NULL;
    size_t len = 32;
    int ok = ctx && pub && EVP_PKEY_derive_init(ctx) == 1 &&
             EVP_PKEY_derive_set_peer(ctx, pub) == 1 && EVP_PKEY_derive(ctx, out, &len) == 1 &&
             len == 32;
    unsigned char zero = 0;

    for (size_t i = 0; ok && i < 32; i++)
        zero |= out[i];
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(priv);
    if (!ok || zero == 0)
        return gf_error_set(GF_EPERM, "X25519 exchange failed (low-order point)");
    return 0;
}

static int x25519_public(unsigned char out[32], const unsigned char secret[32])
{
    EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, secret, 32);
    size_t len = 32;
    int ok = priv && EVP_PKEY_get_raw_public_key(priv, out, &len) == 1 && len == 32;

    EVP_PKEY_free(priv);
    return ok ? 0 : gf_error_set(GF_ERROR, "X25519: cannot compute a public key");
}

/* Fetching an algorithm costs more than using it: fetch HKDF once. */
static EVP_KDF *hkdf_alg;
static pthread_once_t hkdf_once = PTHREAD_ONCE_INIT;

static void fetch_hkdf(void)
{
    hkdf_alg = EVP_KDF_fetch(NULL, "HKDF", NULL);
}

/* HKDF-SHA-256 to 32 bytes; salt may be empty. */
static int hkdf(unsigned char out[32], const void *ikm, size_t ikm_len, const void *salt,
                size_t salt_len, const char *info)
{
    EVP_KDF_CTX *ctx;
    OSSL_PARAM params[5], *p = params;
    int ok;

    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    if (salt_len > 0)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
    *p = OSSL_PARAM_construct_end();
    pthread_once(&hkdf_once, fetch_hkdf);
    ctx = hkdf_alg ? EVP_KDF_CTX_new(hkdf_alg) : NULL;
    ok = ctx && EVP_KDF_derive(ctx, out, 32, params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok ? 0 : gf_error_set(GF_ERROR, "HKDF-SHA-256 failed");
}

/* ChaCha20-Poly1305 seal (out = ciphertext || tag) or open (in = ciphertext
 * || tag). Open fails with GF_EPERM when the tag does not verify. */
static int aead(unsigned char *out, const unsigned char key[32], const unsigned char nonce[12],
                const unsigned char *in, size_t len, int seal)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    size_t body = seal ? len : len - TAG_LEN;
    int n = 0, fin = 0, ok;

    ok = ctx && (seal || len >= TAG_LEN) &&
         EVP_CipherInit_ex2(ctx, EVP_chacha20_poly1305(), key, nonce, seal, NULL) == 1 &&
         (body == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)body) == 1) &&
         (seal ||
          EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, (void *)(in + body)) == 1) &&
         EVP_CipherFinal_ex(ctx, out + n, &fin) == 1 &&
         (!seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, out + body) == 1);
    EVP_CIPHER_CTX_free(ctx);
    if (!ok && !seal)
        OPENSSL_cleanse(out, body);
    return ok ? 0
              : gf_error_set(seal ? GF_ERROR : GF_EPERM, "ChaCha20-Poly1305 %s failed",
                             seal ? "encryption" : "authentication");
}

static int header_mac(unsigned char out[MAC_LEN], const unsigned char file_key[FILE_KEY_LEN],
                      const char *header, size_t len)
{
    unsigned char key[32];
    size_t n = 0;
    int error = hkdf(key, file_key, FILE_KEY_LEN, NULL, 0, "header");

    if (error == 0 && (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, sizeof(key),
                                 (const unsigned char *)header, len, out, MAC_LEN, &n) == NULL ||
                       n != MAC_LEN))
        error = gf_error_set(GF_ERROR, "HMAC-SHA-256 failed");
    OPENSSL_cleanse(key, sizeof(key));
    return error;
}

/* Unpadded base64, as age writes it. */
static int b64_encode(char **out, const void *data, size_t len)
{
    size_t n;
    int error = gf_base64_encode(out, &n, data, len);

    while (error == 0 && n > 0 && (*out)[n - 1] == '=')
        (*out)[--n] = '\0';
    return error;
}

/* Strict unpadded base64: canonical, no '='. */
static int b64_decode(unsigned char **out, size_t *len_out, const char *text, size_t len)
{
    char *padded;
    int error;

    if (len % 4 == 1 || memchr(text, '=', len) != NULL)
        return gf_error_set(GF_EINVAL, "non-canonical base64");
    if ((padded = malloc(len + 3)) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    memcpy(padded, text, len);
    while (len % 4 != 0)
        padded[len++] = '=';
    error = gf_base64_decode(out, len_out, padded, len);
    free(padded);
    return error;
}

/* ---- keys ---- */

int gf_age_identity_generate(gf_age_identity *out)
{
    if (RAND_bytes(out->secret, GF_AGE_KEY_LEN) != 1)
        return gf_error_set(GF_ERROR, "the CSPRNG failed");
    return x25519_public(out->recipient.key, out->secret);
}

int gf_age_identity_parse(gf_age_identity *out, const char *text)
{
    int error = bech32_decode(out->secret, text, "AGE-SECRET-KEY-", "age identity");

    if (error == 0)
        error = x25519_public(out->recipient.key, out->secret);
    if (error < 0)
        OPENSSL_cleanse(out->secret, sizeof(out->secret));
    return error;
}

int gf_age_identity_format(char out[GF_AGE_IDENTITY_MAX], const gf_age_identity *id)
{
    bech32_encode(out, GF_AGE_IDENTITY_MAX, "age-secret-key-", id->secret, 1);
    return 0;
}

int gf_age_recipient_parse(gf_age_recipient *out, const char *text)
{
    return bech32_decode(out->key, text, "age", "age recipient");
}

int gf_age_recipient_format(char out[GF_AGE_RECIPIENT_MAX], const gf_age_recipient *r)
{
    bech32_encode(out, GF_AGE_RECIPIENT_MAX, "age", r->key, 0);
    return 0;
}

void gf_age_identity_wipe(gf_age_identity *id)
{
    if (id)
        OPENSSL_cleanse(id, sizeof(*id));
}

void gf_age_plain_free(unsigned char *plain, size_t len)
{
    if (plain)
        OPENSSL_cleanse(plain, len);
    free(plain);
}

/* ---- encryption ---- */

/* "-> X25519 <share>\n<body>\n" for one recipient. */
static int x25519_stanza(FILE *f, const gf_age_recipient *r, const unsigned char file_key[16])
{
    unsigned char eph[32], share[32], shared[32], salt[64], wrap[32], body[WRAPPED_LEN];
    static const unsigned char zero_nonce[12];
    char *share64 = NULL, *body64 = NULL;
    int error;

    if (RAND_bytes(eph, sizeof(eph)) != 1)
        return gf_error_set(GF_ERROR, "the CSPRNG failed");
    if ((error = x25519_public(share, eph)) < 0 || (error = x25519(shared, eph, r->key)) < 0)
        goto out;
    memcpy(salt, share, 32);
    memcpy(salt + 32, r->key, 32);
    if ((error = hkdf(wrap, shared, 32, salt, 64, X25519_INFO)) < 0 ||
        (error = aead(body, wrap, zero_nonce, file_key, FILE_KEY_LEN, 1)) < 0 ||
        (error = b64_encode(&share64, share, 32)) < 0 ||
        (error = b64_encode(&body64, body, sizeof(body))) < 0)
        goto out;
    fprintf(f, "-> X25519 %s\n%s\n", share64, body64);
out:
    OPENSSL_cleanse(eph, sizeof(eph));
    OPENSSL_cleanse(shared, sizeof(shared));
    OPENSSL_cleanse(wrap, sizeof(wrap));
    free(share64);
    free(body64);
    return error;
}

static int valid_arg(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s; s++)
        if (*s < 0x21 || *s > 0x7e)
            return 0;
    return 1;
}

/* Extra stanzas: arguments only, an empty body line. */
static int extra_stanzas(FILE *f, const json_t *extra)
{
    size_t i, j;
    json_t *st, *arg;

    json_array_foreach(extra, i, st)
    {
        if (!json_is_array(st) || json_array_size(st) == 0 || json_array_size(st) > GF_AGE_MAX_ARGS)
            return gf_error_set(GF_EINVAL, "an extra stanza needs 1 to %d arguments",
                                GF_AGE_MAX_ARGS);
        fputs("->", f);
        json_array_foreach(st, j, arg)
        {
            if (!valid_arg(json_string_value(arg)))
                return gf_error_set(GF_EINVAL, "a stanza argument must be printable ASCII "
                                               "without spaces");
            fprintf(f, " %s", json_string_value(arg));
        }
        fputs("\n\n", f);
    }
    return 0;
}

/* The header text up to and including "---", into *out. */
static int build_header(char **out, size_t *len_out, const gf_age_recipient *rcpts, size_t n,
                        const json_t *extra, const unsigned char file_key[16])
{
    FILE *f = open_memstream(out, len_out);
    int error = 0;

    if (f == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    fputs(VERSION_LINE, f);
    for (size_t i = 0; i < n && error == 0; i++)
        error = x25519_stanza(f, &rcpts[i], file_key);
    if (error == 0)
        error = extra_stanzas(f, extra);
    fputs("---", f);
    if (fclose(f) != 0 && error == 0)
        error = gf_error_set(GF_ENOMEM, "out of memory");
    if (error < 0) {
        free(*out);
        *out = NULL;
    }
    return error;
}

/* The STREAM payload of `plain` under `file_key`, appended at `out`. */
static int seal_payload(unsigned char *out, const unsigned char file_key[16], const void *plain,
                        size_t len)
{
    unsigned char key[32], nonce[12] = {0};
    size_t chunks = len == 0 ? 1 : (len + CHUNK_LEN - 1) / CHUNK_LEN;
    int error;

    if (RAND_bytes(out, NONCE_LEN) != 1)
        return gf_error_set(GF_ERROR, "the CSPRNG failed");
    if ((error = hkdf(key, file_key, FILE_KEY_LEN, out, NONCE_LEN, "payload")) < 0)
        return error;
    out += NONCE_LEN;
    for (size_t c = 0; c < chunks && error == 0; c++) {
        size_t off = c * CHUNK_LEN, n = len - off < CHUNK_LEN ? len - off : CHUNK_LEN;
        for (int b = 0; b < 8; b++)
            nonce[10 - b] = (unsigned char)((uint64_t)c >> (8 * b));
        nonce[11] = c + 1 == chunks;
        error = aead(out, key, nonce, (const unsigned char *)plain + off, n, 1);
        out += n + TAG_LEN;
    }
    OPENSSL_cleanse(key, sizeof(key));
    return error;
}

int gf_age_encrypt(unsigned char **out, size_t *len_out, const gf_age_recipient *recipients,
                   size_t n_recipients, const json_t *extra, const void *plain, size_t len)
{
    unsigned char file_key[FILE_KEY_LEN], mac[MAC_LEN];
    char *header = NULL, *mac64 = NULL;
    size_t hlen = 0, chunks = len == 0 ? 1 : (len + CHUNK_LEN - 1) / CHUNK_LEN, total;
    int error;

    *out = NULL;
    if (n_recipients == 0)
        return gf_error_set(GF_EINVAL, "no recipients to encrypt to");
    if (RAND_bytes(file_key, sizeof(file_key)) != 1)
        return gf_error_set(GF_ERROR, "the CSPRNG failed");
    if ((error = build_header(&header, &hlen, recipients, n_recipients, extra, file_key)) < 0 ||
        (error = header_mac(mac, file_key, header, hlen)) < 0 ||
        (error = b64_encode(&mac64, mac, sizeof(mac))) < 0)
        goto out;
    total = hlen + 1 + strlen(mac64) + 1 + NONCE_LEN + len + chunks * TAG_LEN;
    if ((*out = malloc(total)) == NULL) {
        error = gf_error_set(GF_ENOMEM, "out of memory");
        goto out;
    }
    size_t k = (size_t)sprintf((char *)*out, "%s %s\n", header, mac64);
    if ((error = seal_payload(*out + k, file_key, plain, len)) < 0) {
        free(*out);
        *out = NULL;
        goto out;
    }
    *len_out = total;
out:
    OPENSSL_cleanse(file_key, sizeof(file_key));
    free(header);
    free(mac64);
    return error;
}

/* ---- decryption ---- */

struct stanza {
    json_t *args;        /* array of strings */
    unsigned char *body; /* decoded */
    size_t body_len;
};

struct header {
    struct stanza st[GF_AGE_MAX_STANZAS];
    size_t n;
    size_t mac_at; /* offset of the MAC text (after "--- ") */
    size_t end;    /* offset of the payload */
};

static void header_clear(struct header *h)
{
    for (size_t i = 0; i < h->n; i++) {
        json_decref(h->st[i].args);
        free(h->st[i].body);
    }
    h->n = 0;
}

/* The line at `*pos` (without its LF); GF_EINVAL when no LF ends it. */
static int next_line(const char **line, size_t *len, const unsigned char *d, size_t n, size_t *pos)
{
    const unsigned char *lf = memchr(d + *pos, '\n', n - *pos);

    if (lf == NULL)
        return gf_error_set(GF_EINVAL, "age header: truncated (a line has no end)");
    *line = (const char *)d + *pos;
    *len = (size_t)(lf - (d + *pos));
    *pos += *len + 1;
    return 0;
}

static int parse_args(json_t **out, const char *line, size_t len)
{
    json_t *args = json_array();
    size_t i = 0;

    while (i < len) {
        size_t j = i;
        while (j < len && line[j] != ' ')
            j++;
        for (size_t k = i; k < j; k++)
            if (line[k] < 0x21 || line[k] > 0x7e)
                j = 0;
        if (j <= i || json_array_size(args) >= GF_AGE_MAX_ARGS) {
            json_decref(args);
            return gf_error_set(GF_EINVAL, "age header: a stanza has an empty, non-printable "
                                           "or excess argument");
        }
        json_array_append_new(args, json_stringn(line + i, j - i));
        i = j + 1;
        if (j + 1 == len) { /* a trailing space */
            json_decref(args);
            return gf_error_set(GF_EINVAL, "age header: a stanza argument is empty");
        }
    }
    *out = args;
    return 0;
}

/* Body lines: full 64-column lines, then one shorter (maybe empty) line. */
static int parse_body(struct stanza *st, const unsigned char *d, size_t n, size_t *pos)
{
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    const char *line = NULL;
    size_t len = 0;
    int error = 0;

    if (f == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    do {
        if ((error = next_line(&line, &len, d, n, pos)) < 0)
            break;
        if (len > BODY_LINE_MAX) {
            error = gf_error_set(GF_EINVAL, "age header: a stanza body line is too long");
            break;
        }
        fwrite(line, 1, len, f);
    } while (len == BODY_LINE_MAX);
    fclose(f);
    if (error == 0 && (error = b64_decode(&st->body, &st->body_len, text, tlen)) < 0)
        gf_error_wrap(error, "age header: stanza body");
    free(text);
    return error;
}

static int parse_header(struct header *h, const unsigned char *d, size_t n)
{
    size_t pos = strlen(VERSION_LINE), len = 0;
    const char *line = NULL;
    int error;

    memset(h, 0, sizeof(*h));
    if (n < pos || memcmp(d, VERSION_LINE, pos) != 0)
        return gf_error_set(GF_EINVAL, "not an age file (expected \"age-encryption.org/v1\")");
    for (;;) {
        size_t start = pos;
        if ((error = next_line(&line, &len, d, n, &pos)) < 0)
            return error;
        if (len >= 3 && memcmp(line, "---", 3) == 0) {
            if (len != 4 + 43 || line[3] != ' ')
                return gf_error_set(GF_EINVAL, "age header: malformed MAC line");
            h->mac_at = start + 4;
            h->end = pos;
            return h->n == 0 ? gf_error_set(GF_EINVAL, "age header: no recipient stanza") : 0;
        }
        if (len < 3 || memcmp(line, "-> ", 3) != 0)
            return gf_error_set(GF_EINVAL, "age header: expected a stanza or the MAC line");
        if (h->n == GF_AGE_MAX_STANZAS)
            return gf_error_set(GF_ETOOBIG, "age header: more than %d stanzas", GF_AGE_MAX_STANZAS);
        struct stanza *st = &h->st[h->n++];
        if ((error = parse_args(&st->args, line + 3, len - 3)) < 0)
            return error;
        if (json_array_size(st->args) == 0)
            return gf_error_set(GF_EINVAL, "age header: a stanza has no arguments");
        if ((error = parse_body(st, d, n, &pos)) < 0)
            return error;
    }
}

static const char *arg_at(const struct stanza *st, size_t i)
{
    return json_string_value(json_array_get(st->args, i));
}

/* Try `id` on an X25519 stanza: 0 and the file key, GF_ENOTFOUND when it is
 * not for this identity, GF_EINVAL when the stanza is malformed. */
static int x25519_unwrap(unsigned char file_key[16], const struct stanza *st,
                         const gf_age_identity *id)
{
    static const unsigned char zero_nonce[12];
    unsigned char *share = NULL, shared[32], salt[64], wrap[32];
    size_t share_len = 0;
    const char *a1 = arg_at(st, 1);
    int error;

    if (json_array_size(st->args) != 2 || b64_decode(&share, &share_len, a1, strlen(a1)) < 0 ||
        share_len != 32 || st->body_len != WRAPPED_LEN) {
        free(share);
        return gf_error_set(GF_EINVAL, "age header: malformed X25519 stanza");
    }
    if ((error = x25519(shared, id->secret, share)) == 0) {
        memcpy(salt, share, 32);
        memcpy(salt + 32, id->recipient.key, 32);
        error = hkdf(wrap, shared, 32, salt, 64, X25519_INFO);
        if (error == 0 && aead(file_key, wrap, zero_nonce, st->body, WRAPPED_LEN, 0) < 0)
            error = GF_ENOTFOUND;
    }
    OPENSSL_cleanse(shared, sizeof(shared));
    OPENSSL_cleanse(wrap, sizeof(wrap));
    free(share);
    return error == GF_EPERM ? GF_ENOTFOUND : error;
}

/* Find the file key among the X25519 stanzas. */
static int unwrap_file_key(unsigned char file_key[16], size_t *which, const struct header *h,
                           const gf_age_identity *ids, size_t n_ids)
{
    for (size_t i = 0; i < h->n; i++) {
        if (strcmp(arg_at(&h->st[i], 0), "X25519") != 0)
            continue;
        for (size_t j = 0; j < n_ids; j++) {
            int error = x25519_unwrap(file_key, &h->st[i], &ids[j]);
            if (error == 0) {
                *which = j;
                return 0;
            }
            if (error != GF_ENOTFOUND)
                return error;
        }
    }
    return gf_error_set(GF_EPERM, "no identity matches any recipient of this age file");
}

static int open_payload(unsigned char **out, size_t *len_out, const unsigned char file_key[16],
                        const unsigned char *d, size_t n)
{
    unsigned char key[32], nonce[12] = {0};
    size_t plain_max, w = 0;
    int error;

    if (n < NONCE_LEN + TAG_LEN)
        return gf_error_set(GF_EPERM, "age payload: truncated");
    if ((error = hkdf(key, file_key, FILE_KEY_LEN, d, NONCE_LEN, "payload")) < 0)
        return error;
    d += NONCE_LEN;
    n -= NONCE_LEN;
    plain_max = n; /* more than enough */
    if ((*out = malloc(plain_max + 1)) == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (uint64_t c = 0; error == 0; c++) {
        int last = n <= CHUNK_LEN + TAG_LEN;
        size_t clen = last ? n : CHUNK_LEN + TAG_LEN;
        for (int b = 0; b < 8; b++)
            nonce[10 - b] = (unsigned char)(c >> (8 * b));
        nonce[11] = (unsigned char)last;
        if (clen < TAG_LEN || aead(*out + w, key, nonce, d, clen, 0) < 0)
            error = gf_error_set(GF_EPERM,
                                 "age payload: chunk %llu does not authenticate "
                                 "(tampered or truncated)",
                                 (unsigned long long)c);
        else if (last && clen == TAG_LEN && c > 0)
            error = gf_error_set(GF_EPERM, "age payload: an empty final chunk");
        w += clen - TAG_LEN;
        d += clen;
        n -= clen;
        if (last)
            break;
    }
    OPENSSL_cleanse(key, sizeof(key));
    if (error < 0) {
        gf_age_plain_free(*out, plain_max + 1);
        *out = NULL;
        return error;
    }
    (*out)[w] = '\0';
    *len_out = w;
    return 0;
}

static json_t *extra_of(const struct header *h)
{
    json_t *extra = json_array();

    for (size_t i = 0; i < h->n; i++)
        if (strcmp(arg_at(&h->st[i], 0), "X25519") != 0)
            json_array_append(extra, h->st[i].args);
    return extra;
}

int gf_age_decrypt(unsigned char **plain_out, size_t *len_out, json_t **extra_out,
                   size_t *which_out, const gf_age_identity *identities, size_t n_identities,
                   const unsigned char *data, size_t len)
{
    struct header *h = calloc(1, sizeof(*h));
    unsigned char file_key[FILE_KEY_LEN], mac[MAC_LEN], *want = NULL;
    size_t want_len = 0, which = 0;
    int error;

    *plain_out = NULL;
    if (extra_out)
        *extra_out = NULL;
    if (h == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    if ((error = parse_header(h, data, len)) < 0 ||
        (error = unwrap_file_key(file_key, &which, h, identities, n_identities)) < 0)
        goto out;
    if ((error = header_mac(mac, file_key, (const char *)data, h->mac_at - 1)) < 0)
        goto out;
    if (b64_decode(&want, &want_len, (const char *)data + h->mac_at, 43) < 0 ||
        want_len != MAC_LEN || CRYPTO_memcmp(want, mac, MAC_LEN) != 0) {
        error = gf_error_set(GF_EPERM, "age header: the MAC does not verify (tampered header)");
        goto out;
    }
    if ((error = open_payload(plain_out, len_out, file_key, data + h->end, len - h->end)) < 0)
        goto out;
    if (extra_out)
        *extra_out = extra_of(h);
    if (which_out)
        *which_out = which;
out:
    OPENSSL_cleanse(file_key, sizeof(file_key));
    free(want);
    header_clear(h);
    free(h);
    return error;
}
