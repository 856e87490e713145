/* sign.h -- Ed25519 keys, key ids, signatures (keys in OpenSSL 3, signatures in libsodium) */
#ifndef GITFLEET_SIGN_H
#define GITFLEET_SIGN_H

#include <stddef.h>

#define GF_SIGN_PUBLIC_KEY_LEN 32
#define GF_SIGN_SIGNATURE_LEN  64
#define GF_SIGN_KEY_ID_LEN     16 /* hex chars of SHA-256(public key) */

typedef struct gf_sign_key gf_sign_key; /* a private key, or only a public one */

/* Create a new private key. */
int gf_sign_key_generate(gf_sign_key **out);
/* Load a private key (PKCS#8 PEM) or a public key (SPKI PEM) from a file;
 * GF_ENOTFOUND when missing, GF_EPERM when unreadable, GF_EINVAL when not an
 * Ed25519 key. */
int gf_sign_key_load(gf_sign_key **out, const char *path);
/* Save the private key as PEM, mode 0600, written atomically. */
int gf_sign_key_save_private(const gf_sign_key *key, const char *path);
/* Save / format the public half as PEM. *out is malloc'd. */
int gf_sign_key_save_public(const gf_sign_key *key, const char *path);
int gf_sign_key_public_pem(char **out, const gf_sign_key *key);
/* Raw 32-byte public key in and out. */
int gf_sign_key_from_public(gf_sign_key **out, const unsigned char raw[GF_SIGN_PUBLIC_KEY_LEN]);
int gf_sign_key_public_raw(unsigned char out[GF_SIGN_PUBLIC_KEY_LEN], const gf_sign_key *key);
/* Key id: the first 16 hex chars of SHA-256 of the raw public key. */
void gf_sign_key_id(char out[GF_SIGN_KEY_ID_LEN + 1], const gf_sign_key *key);
int gf_sign_key_has_private(const gf_sign_key *key);
void gf_sign_key_free(gf_sign_key *key);

/* Sign `data`; GF_EINVAL for a public-only key. */
int gf_sign(unsigned char sig[GF_SIGN_SIGNATURE_LEN], const gf_sign_key *key, const void *data,
            size_t len);
/* 0 when `sig` is a valid signature of `data` by `key`; GF_EPERM otherwise. */
int gf_sign_verify(const gf_sign_key *key, const unsigned char *sig, size_t sig_len,
                   const void *data, size_t len);

#endif
