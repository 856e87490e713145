/* doc.c -- canonical JSON bytes, SHA-256 of documents, dotted-path lookups */
#include "gitfleet/doc.h"
#include "gitfleet/error.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The canonical form is written here rather than with json_dumps() so that
 * every byte is ours to define (it is hashed and signed; a jansson upgrade
 * must not change it):
 * - objects: keys sorted bytewise (memcmp on the UTF-8 bytes, shorter key
 *   first on a common prefix), "k":v pairs separated by ',' with no spaces;
 * - strings: UTF-8 kept raw; only '"', '\\' and control bytes < 0x20 are
 *   escaped (\b \f \n \r \t, others as \u00xx in lowercase hex); '/' is not;
 * - integers: plain decimal;
 * - reals: the fewest significant digits (1..17) that strtod() reads back
 *   to the same double, laid out as ECMAScript's Number.toString() does
 *   (RFC 8785): plain decimal when the decimal exponent is in [-7, 21)
 *   ("0.1", "123.5", "0.000001", "100000000000000000000"), else
 *   d[.ddd]e[-]X without '+' or leading zeros ("1e21", "1e-7",
 *   "2.5e-300"); an integral value gets ".0" ("1.0", "100.0") so that it
 *   reads back through json_loads as a real, not an integer;
 * - true, false, null as such.
 */

#define GF_DOC_MAX_DEPTH 512

struct buf {
    char *data;
    size_t len, cap;
};

static int buf_put(struct buf *b, const char *s, size_t n)
{
    if (b->cap - b->len <= n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len <= n)
            cap *= 2;
        char *nd = realloc(b->data, cap);
        if (nd == NULL)
            return gf_error_set(GF_ENOMEM, "canonical JSON: out of memory");
        b->data = nd;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static int buf_puts(struct buf *b, const char *s)
{
    return buf_put(b, s, strlen(s));
}

static int put_string(struct buf *b, const char *s, size_t n)
{
    size_t run = 0;
    int error;

    if ((error = buf_put(b, "\"", 1)) < 0)
        return error;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        char esc[8];
        switch (c) {
        case '"':
        case '\\':
            snprintf(esc, sizeof(esc), "\\%c", c);
            break;
        case '\b':
            strcpy(esc, "\\b");
            break;
        case '\f':
            strcpy(esc, "\\f");
            break;
        case '\n':
            strcpy(esc, "\\n");
            break;
        case '\r':
            strcpy(esc, "\\r");
            break;
        case '\t':
            strcpy(esc, "\\t");
            break;
        default:
            snprintf(esc, sizeof(esc), "\\u%04x", c);
        }
        if ((error = buf_put(b, s + run, i - run)) < 0 || (error = buf_puts(b, esc)) < 0)
            return error;
        run = i + 1;
    }
    if ((error = buf_put(b, s + run, n - run)) < 0)
        return error;
    return buf_put(b, "\"", 1);
}

/* Shortest round-trip digits of a finite double: the digit string (no
 * trailing zeros) in `digits`, its count returned, the decimal exponent of
 * the first digit in *exp, and whether it is negative in *neg. */
static int shortest_digits(char digits[20], int *exp, int *neg, double v)
{
    char tmp[40];
    int prec, k = 0;
    const char *p;

    for (prec = 1; prec < 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
    p = tmp;
    *neg = *p == '-';
    if (*neg)
        p++;
    for (; *p != 'e'; p++)
        if (*p != '.')
            digits[k++] = *p;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    *exp = atoi(p + 1);
    return k;
}

static size_t put_zeros(char *out, int count)
{
    for (int i = 0; i < count; i++)
        out[i] = '0';
    return count > 0 ? (size_t)count : 0;
}

/* The double in ECMAScript's Number-to-String layout (as RFC 8785 uses),
 * with ".0" added to integral values; see the rules above. */
static void format_real(char out[48], double v)
{
    char digits[20];
    int exp, neg, k = shortest_digits(digits, &exp, &neg, v);
    int n = exp + 1; /* where the decimal point goes, counted from the first digit */
    size_t o = 0;

    if (neg)
        out[o++] = '-';
    if (n >= k && n <= 21) {
        memcpy(out + o, digits, (size_t)k);
        o += (size_t)k + put_zeros(out + o + k, n - k);
        memcpy(out + o, ".0", 3);
    } else if (n > 0 && n <= 21) {
        sprintf(out + o, "%.*s.%.*s", n, digits, k - n, digits + n);
    } else if (n > -6 && n <= 0) {
        memcpy(out + o, "0.", 2);
        o += 2 + put_zeros(out + o + 2, -n);
        sprintf(out + o, "%.*s", k, digits);
    } else {
        sprintf(out + o, "%c%s%.*se%d", digits[0], k > 1 ? "." : "", k - 1, digits + 1, exp);
    }
}

struct key {
    const char *s;
    size_t n;
    json_t *v;
};

static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);

    if (c != 0)
        return c;
    return (x->n > y->n) - (x->n < y->n);
}

static int put_value(struct buf *b, const json_t *v, int depth);

static int put_object(struct buf *b, const json_t *obj, int depth)
{
    size_t n = json_object_size(obj), i = 0;
    struct key *keys = calloc(n ? n : 1, sizeof(*keys));
    void *it;
    int error = 0;

    if (keys == NULL)
        return gf_error_set(GF_ENOMEM, "canonical JSON: out of memory");
    for (it = json_object_iter((json_t *)obj); it && i < n;
         it = json_object_iter_next((json_t *)obj, it), i++) {
        keys[i].s = json_object_iter_key(it);
        keys[i].n = json_object_iter_key_len(it);
        keys[i].v = json_object_iter_value(it);
    }
    qsort(keys, i, sizeof(*keys), key_cmp);
    if ((error = buf_put(b, "{", 1)) < 0)
        goto out;
    for (size_t k = 0; k < i; k++) {
        if ((k > 0 && (error = buf_put(b, ",", 1)) < 0) ||
            (error = put_string(b, keys[k].s, keys[k].n)) < 0 || (error = buf_put(b, ":", 1)) < 0 ||
            (error = put_value(b, keys[k].v, depth + 1)) < 0)
            goto out;
    }
    error = buf_put(b, "}", 1);
out:
    free(keys);
    return error;
}

static int put_array(struct buf *b, const json_t *arr, int depth)
{
    int error;

    if ((error = buf_put(b, "[", 1)) < 0)
        return error;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        if ((i > 0 && (error = buf_put(b, ",", 1)) < 0) ||
            (error = put_value(b, json_array_get(arr, i), depth + 1)) < 0)
            return error;
    }
    return buf_put(b, "]", 1);
}

static int put_value(struct buf *b, const json_t *v, int depth)
{
    char num[48];

    if (depth > GF_DOC_MAX_DEPTH)
        return gf_error_set(GF_ETOOBIG, "canonical JSON: nested deeper than %d levels",
                            GF_DOC_MAX_DEPTH);
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return put_object(b, v, depth);
    case JSON_ARRAY:
        return put_array(b, v, depth);
    case JSON_STRING:
        return put_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf_puts(b, num);
    case JSON_REAL:
        format_real(num, json_real_value(v));
        return buf_puts(b, num);
    case JSON_TRUE:
        return buf_puts(b, "true");
    case JSON_FALSE:
        return buf_puts(b, "false");
    case JSON_NULL:
        return buf_puts(b, "null");
    }
    return gf_error_set(GF_EINVAL, "canonical JSON: unknown value type");
}

int gf_doc_canonical(char **out, size_t *len_out, const json_t *doc)
{
    struct buf b = {0};
    int error;

    *out = NULL;
    if (len_out)
        *len_out = 0;
    if (doc == NULL)
        return gf_error_set(GF_EINVAL, "canonical JSON: no document");
    if ((error = put_value(&b, doc, 0)) < 0) {
        free(b.data);
        return error;
    }
    *out = b.data;
    if (len_out)
        *len_out = b.len;
    return 0;
}

static int sha256(unsigned char out[32], const void *data, size_t len)
{
    unsigned int n = 0;

    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return gf_error_set(GF_ERROR, "SHA-256 failed (OpenSSL)");
    return 0;
}

static void to_hex(char *out, const unsigned char *bin, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bin[i] >> 4];
        out[2 * i + 1] = digits[bin[i] & 15];
    }
    out[2 * n] = '\0';
}

int gf_doc_sha256(unsigned char out[32], const json_t *doc)
{
    char *bytes;
    size_t len;
    int error;

    if ((error = gf_doc_canonical(&bytes, &len, doc)) < 0)
        return error;
    error = sha256(out, bytes, len);
    free(bytes);
    return error;
}

int gf_doc_sha256_hex(char out[65], const json_t *doc)
{
    unsigned char bin[32];
    int error;

    out[0] = '\0';
    if ((error = gf_doc_sha256(bin, doc)) < 0)
        return error;
    to_hex(out, bin, sizeof(bin));
    return 0;
}

void gf_sha256_hex(char out[65], const void *data, size_t len)
{
    unsigned char bin[32];

    /* EVP_Digest on SHA-256 fails only if OpenSSL is broken; leave "" then. */
    out[0] = '\0';
    if (sha256(bin, data, len) == 0)
        to_hex(out, bin, sizeof(bin));
}

/* An array index: all digits, no sign, no leading zero (except "0"). */
static int parse_index(const char *s, size_t n, size_t *out)
{
    size_t v = 0;

    if (n == 0 || n > 9 || (n > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

json_t *gf_doc_get(const json_t *doc, const char *path)
{
    json_t *cur = (json_t *)doc;
    const char *p = path;

    if (doc == NULL || path == NULL)
        return NULL;
    while (cur != NULL) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        size_t idx;

        if (json_is_object(cur))
            cur = json_object_getn(cur, p, n);
        else if (json_is_array(cur) && parse_index(p, n, &idx) == 0)
            cur = json_array_get(cur, idx);
        else
            return NULL;
        if (dot == NULL)
            return cur;
        p = dot + 1;
    }
    return NULL;
}

const char *gf_doc_string(const json_t *doc, const char *path)
{
    return json_string_value(gf_doc_get(doc, path));
}
