/* base64.c -- RFC 4648 base64 encoding and strict decoding */
#include "gitfleet/base64.h"
#include "gitfleet/error.h"

#include <stdint.h>
#include <stdlib.h>

/* Written here rather than with EVP_EncodeBlock/EVP_DecodeBlock: those skip
 * leading/trailing whitespace, return padding bytes as decoded zeros and
 * give no reason on failure, and the decoder must point at what is wrong. */

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int gf_base64_encode(char **out, size_t *len_out, const void *data, size_t len)
{
    const unsigned char *in = data;
    size_t n = (len + 2) / 3 * 4, o = 0;
    char *text;

    *out = NULL;
    if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
        return gf_error_set(GF_ETOOBIG, "base64: %zu bytes is too much to encode", len);
    if ((text = malloc(n + 1)) == NULL)
        return gf_error_set(GF_ENOMEM, "base64: out of memory");
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        text[o++] = alphabet[v >> 18 & 63];
        text[o++] = alphabet[v >> 12 & 63];
        text[o++] = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
        text[o++] = i + 2 < len ? alphabet[v & 63] : '=';
    }
    text[o] = '\0';
    *out = text;
    if (len_out)
        *len_out = o;
    return 0;
}

/* The 6-bit value of an alphabet character, or -1. */
static int sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* How many '=' end the text (0..2); GF_EINVAL for '=' anywhere else. */
static int padding(size_t *out, const char *text, size_t len)
{
    size_t pad = 0;

    while (pad < len && pad < 2 && text[len - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < len - pad; i++)
        if (text[i] == '=')
            return gf_error_set(GF_EINVAL, "base64: '=' at offset %zu before the end", i);
    *out = pad;
    return 0;
}

static int bad_char(const char *text, size_t i)
{
    unsigned char c = (unsigned char)text[i];

    if (c >= 0x21 && c < 0x7f)
        return gf_error_set(GF_EINVAL, "base64: invalid character '%c' at offset %zu", c, i);
    return gf_error_set(GF_EINVAL, "base64: invalid byte 0x%02x at offset %zu", c, i);
}

int gf_base64_decode(unsigned char **out, size_t *len_out, const char *text, size_t len)
{
    size_t pad = 0, n, o = 0;
    unsigned char *bytes;
    int error;

    *out = NULL;
    if (len % 4 != 0)
        return gf_error_set(GF_EINVAL, "base64: length %zu is not a multiple of 4", len);
    if ((error = padding(&pad, text, len)) < 0)
        return error;
    n = len / 4 * 3 - pad;
    if ((bytes = malloc(n + 1)) == NULL)
        return gf_error_set(GF_ENOMEM, "base64: out of memory");
    for (size_t i = 0; i < len; i += 4) {
        uint32_t v = 0;
        size_t chars = i + 4 == len ? 4 - pad : 4;
        for (size_t k = 0; k < chars; k++) {
            int s = sextet((unsigned char)text[i + k]);
            if (s < 0) {
                free(bytes);
                return bad_char(text, i + k);
            }
            v |= (uint32_t)s << (18 - 6 * k);
        }
        if ((chars == 3 && (v & 0xff)) || (chars == 2 && (v & 0xffff))) {
            free(bytes);
            return gf_error_set(GF_EINVAL, "base64: non-zero unused bits at offset %zu",
                                i + chars - 1);
        }
        bytes[o++] = (unsigned char)(v >> 16);
        if (chars > 2)
            bytes[o++] = (unsigned char)(v >> 8);
        if (chars > 3)
            bytes[o++] = (unsigned char)v;
    }
    bytes[o] = '\0';
    *out = bytes;
    if (len_out)
        *len_out = o;
    return 0;
}
