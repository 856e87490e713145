/* age.h -- the age file format (age-encryption.org/v1) with X25519 recipients, on OpenSSL 3 */
#ifndef GITFLEET_AGE_H
#define GITFLEET_AGE_H

#include <jansson.h>

#include <stddef.h>

/*
 * Written from the public specification (c2sp.org/age): a 16-byte file key
 * wrapped per recipient in an "X25519" stanza (HKDF-SHA-256,
 * ChaCha20-Poly1305), an HMAC-SHA-256 over the header keyed from the file
 * key, and a STREAM payload of 64 KiB ChaCha20-Poly1305 chunks. Output is
 * the binary format; `age -d` reads it as it is.
 *
 * Besides X25519 stanzas the header may carry extra stanzas with arguments
 * only (an empty body). age implementations ignore stanzas they do not
 * recognise, but the header MAC covers them: nobody without the file key
 * can add, change or remove one. gitfleet binds a sealed value to its scope
 * this way (common/sealed.c).
 */

#define GF_AGE_KEY_LEN 32
/* "age1" + 52 data characters + 6 checksum characters, and a NUL. */
#define GF_AGE_RECIPIENT_MAX 64
/* "AGE-SECRET-KEY-1" + 58 characters, and a NUL. */
#define GF_AGE_IDENTITY_MAX 80
/* Bounds on what a header may hold: more is refused as hostile. */
#define GF_AGE_MAX_STANZAS 256
#define GF_AGE_MAX_ARGS    16

typedef struct gf_age_recipient {
    unsigned char key[GF_AGE_KEY_LEN]; /* X25519 public key */
} gf_age_recipient;

typedef struct gf_age_identity {
    unsigned char secret[GF_AGE_KEY_LEN]; /* X25519 private scalar */
    gf_age_recipient recipient;           /* its public half */
} gf_age_identity;

/* A new identity from the CSPRNG. */
int gf_age_identity_generate(gf_age_identity *out);
/* Parse "AGE-SECRET-KEY-1..." (Bech32, upper case as age-keygen writes it;
 * lower case is accepted too). GF_EINVAL with the reason otherwise. */
int gf_age_identity_parse(gf_age_identity *out, const char *text);
/* Format the identity as age-keygen does (upper case). */
int gf_age_identity_format(char out[GF_AGE_IDENTITY_MAX], const gf_age_identity *id);
/* Parse / format a recipient "age1...". */
int gf_age_recipient_parse(gf_age_recipient *out, const char *text);
int gf_age_recipient_format(char out[GF_AGE_RECIPIENT_MAX], const gf_age_recipient *r);
/* Wipe an identity's secret. */
void gf_age_identity_wipe(gf_age_identity *id);

/*
 * Encrypt `plain` to every recipient. `extra` (may be NULL) is a JSON array
 * of extra stanzas, each an array of argument strings (printable ASCII, no
 * spaces; the first names the stanza type, e.g. "gitfleet.io/scope").
 * *out is the binary age file (malloc'd).
 */
int gf_age_encrypt(unsigned char **out, size_t *len_out, const gf_age_recipient *recipients,
                   size_t n_recipients, const json_t *extra, const void *plain, size_t len);

/*
 * Decrypt with the first identity whose X25519 stanza opens. Refuses
 * (GF_EINVAL) a malformed header, non-canonical base64, an X25519 stanza
 * with the wrong shape; refuses (GF_EPERM) a file no identity opens, a
 * header MAC that does not verify, a payload chunk that does not
 * authenticate, truncation or trailing data. *plain_out is malloc'd (free it
 * with gf_age_plain_free); *extra_out (may be NULL) receives the non-X25519
 * stanzas' arguments as a JSON array of arrays, authenticated by the MAC.
 * *which_out (may be NULL) receives the index of the identity that opened.
 */
int gf_age_decrypt(unsigned char **plain_out, size_t *len_out, json_t **extra_out,
                   size_t *which_out, const gf_age_identity *identities, size_t n_identities,
                   const unsigned char *data, size_t len);

/* Wipe and free a plaintext from gf_age_decrypt (NULL is fine). */
void gf_age_plain_free(unsigned char *plain, size_t len);

#endif
