/* sealed.c -- gitfleet's SealedSecret: a Kubernetes Secret whose values are age files bound to a
 * scope */
#include "gitfleet/sealed.h"
#include "gitfleet/base64.h"
#include "gitfleet/doc.h"
#include "gitfleet/error.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCOPE_STANZA "gitfleet.io/scope"
/* A Secret holds at most 1 MiB; a sealed value is a little larger. */
#define VALUE_MAX (2u << 20)

int gf_sealed_is_sealed(const json_t *obj)
{
    const char *av = gf_doc_string(obj, "apiVersion"), *kind = gf_doc_string(obj, "kind");

    return av && kind && strcmp(av, GF_SEALED_API_VERSION) == 0 &&
           strcmp(kind, GF_SEALED_KIND) == 0;
}

int gf_sealed_is_plain_secret_with_data(const json_t *obj)
{
    const char *av = gf_doc_string(obj, "apiVersion"), *kind = gf_doc_string(obj, "kind");

    return av && kind && strcmp(av, "v1") == 0 && strcmp(kind, "Secret") == 0 &&
           (json_object_size(json_object_get(obj, "data")) > 0 ||
            json_object_size(json_object_get(obj, "stringData")) > 0);
}

/* Kubernetes' rule for Secret keys: [-._a-zA-Z0-9]+, not "." or "..". */
static int valid_key(const char *k)
{
    if (k[0] == '\0' || strcmp(k, ".") == 0 || strcmp(k, "..") == 0 || strlen(k) > 253)
        return 0;
    for (; *k; k++)
        if (!(*k == '-' || *k == '.' || *k == '_' || (*k >= 'a' && *k <= 'z') ||
              (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9')))
            return 0;
    return 1;
}

static int scope_known(const char *scope)
{
    return strcmp(scope, "strict") == 0 || strcmp(scope, "namespace") == 0 ||
           strcmp(scope, "cluster") == 0;
}

/* The stanza that binds a value: [type, mode, namespace?, name?]. */
static json_t *scope_stanza(const char *scope, const char *ns, const char *name)
{
    if (strcmp(scope, "strict") == 0)
        return json_pack("[[s,s,s,s]]", SCOPE_STANZA, scope, ns, name);
    if (strcmp(scope, "namespace") == 0)
        return json_pack("[[s,s,s]]", SCOPE_STANZA, scope, ns);
    return json_pack("[[s,s]]", SCOPE_STANZA, scope);
}

/* The Secret's values as plain bytes: data (base64) and stringData (which
 * wins, as the API server merges it). */
static int plain_values(json_t **out, const json_t *secret)
{
    json_t *values = json_object(), *v;
    const char *key;

    json_object_foreach(json_object_get(secret, "data"), key, v)
    {
        unsigned char *raw = NULL;
        size_t len = 0;
        const char *s = json_string_value(v);
        if (!valid_key(key) || s == NULL || gf_base64_decode(&raw, &len, s, strlen(s)) < 0) {
            json_decref(values);
            return gf_error_set(GF_EINVAL, "Secret data \"%s\": %s", key,
                                valid_key(key) ? "not base64" : "not a valid key");
        }
        json_object_set_new(values, key, json_stringn((const char *)raw, len));
        OPENSSL_cleanse(raw, len);
        free(raw);
    }
    json_object_foreach(json_object_get(secret, "stringData"), key, v)
    {
        if (!valid_key(key) || !json_is_string(v)) {
            json_decref(values);
            return gf_error_set(GF_EINVAL, "Secret stringData \"%s\": not a valid key or string",
                                key);
        }
        json_object_set(values, key, v);
    }
    *out = values;
    return 0;
}

static int seal_value(char **out, const char *plain, size_t len,
                      const struct gf_sealed_recipient *r, size_t n, const json_t *stanza)
{
    gf_age_recipient *keys = calloc(n + 1, sizeof(*keys));
    unsigned char *ct = NULL;
    size_t ct_len = 0;
    int error;

    if (keys == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        keys[i] = r[i].recipient;
    if ((error = gf_age_encrypt(&ct, &ct_len, keys, n, stanza, plain, len)) == 0)
        error = gf_base64_encode(out, NULL, ct, ct_len);
    free(ct);
    free(keys);
    return error;
}

/* metadata of the sealed object: name, namespace, labels, annotations. */
static json_t *sealed_metadata(const json_t *secret, const char *ns, const char *name)
{
    json_t *md = json_object(), *src = json_object_get(secret, "metadata");

    json_object_set_new(md, "name", json_string(name));
    if (ns && ns[0])
        json_object_set_new(md, "namespace", json_string(ns));
    if (json_object_size(json_object_get(src, "labels")))
        json_object_set(md, "labels", json_object_get(src, "labels"));
    if (json_object_size(json_object_get(src, "annotations")))
        json_object_set(md, "annotations", json_object_get(src, "annotations"));
    return md;
}

static json_t *recipients_json(const struct gf_sealed_recipient *r, size_t n)
{
    json_t *list = json_array();

    for (size_t i = 0; i < n; i++) {
        char text[GF_AGE_RECIPIENT_MAX];
        gf_age_recipient_format(text, &r[i].recipient);
        json_array_append_new(list, json_pack("{s:s, s:s}", "cluster",
                                              r[i].cluster ? r[i].cluster : "", "recipient", text));
    }
    return list;
}

static int check_seal_args(const json_t *secret, const char *scope, const char *ns,
                           const char *name, size_t n_recipients)
{
    const char *av = gf_doc_string(secret, "apiVersion"), *kind = gf_doc_string(secret, "kind");

    if (av == NULL || kind == NULL || strcmp(av, "v1") != 0 || strcmp(kind, "Secret") != 0)
        return gf_error_set(GF_EINVAL, "only a v1 Secret can be sealed (got %s %s)",
                            av ? av : "no apiVersion", kind ? kind : "no kind");
    if (!scope_known(scope))
        return gf_error_set(GF_EINVAL, "scope \"%s\": expected strict, namespace or cluster",
                            scope);
    if (name == NULL || name[0] == '\0')
        return gf_error_set(GF_EINVAL, "the Secret has no metadata.name");
    if (strcmp(scope, "cluster") != 0 && (ns == NULL || ns[0] == '\0'))
        return gf_error_set(GF_EINVAL,
                            "%s scope binds to the namespace the Secret ends up in: set "
                            "metadata.namespace or give --namespace (or use --scope cluster)",
                            scope);
    if (n_recipients == 0)
        return gf_error_set(GF_EINVAL, "no recipients: no cluster would be able to open it");
    return 0;
}

int gf_sealed_seal(json_t **out, const json_t *secret, const struct gf_sealed_recipient *recipients,
                   size_t n_recipients, const char *scope, const char *namespace_, const char *name)
{
    const char *ns = namespace_ ? namespace_ : gf_doc_string(secret, "metadata.namespace");
    const char *key;
    json_t *values = NULL, *enc, *stanza, *v, *spec;
    int error;

    *out = NULL;
    scope = scope ? scope : "strict";
    name = name ? name : gf_doc_string(secret, "metadata.name");
    if ((error = check_seal_args(secret, scope, ns, name, n_recipients)) < 0 ||
        (error = plain_values(&values, secret)) < 0)
        return error;
    stanza = scope_stanza(scope, ns, name);
    enc = json_object();
    json_object_foreach(values, key, v)
    {
        char *text = NULL;
        if ((error = seal_value(&text, json_string_value(v), json_string_length(v), recipients,
                                n_recipients, stanza)) < 0)
            break;
        json_object_set_new(enc, key, json_string(text));
        free(text);
    }
    json_decref(stanza);
    json_decref(values);
    if (error < 0) {
        json_decref(enc);
        return error;
    }
    spec = json_pack("{s:s, s:s}", "scope", scope, "type",
                     gf_doc_string(secret, "type") ? gf_doc_string(secret, "type") : "Opaque");
    if (json_is_boolean(json_object_get(secret, "immutable")))
        json_object_set(spec, "immutable", json_object_get(secret, "immutable"));
    json_object_set_new(spec, "recipients", recipients_json(recipients, n_recipients));
    json_object_set_new(spec, "encryptedData", enc);
    *out = json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", GF_SEALED_API_VERSION, "kind",
                     GF_SEALED_KIND, "metadata", sealed_metadata(secret, ns, name), "spec", spec);
    return 0;
}

/* ---- opening ---- */

/* Does the authenticated scope stanza allow this value at ns/name? No
 * stanza at all (a value encrypted with plain `age`) binds nothing, so it is
 * accepted only where the object declares cluster scope. */
static int check_scope(const json_t *extra, const char *declared, const char *ns, const char *name,
                       const char *key)
{
    json_t *st = NULL, *s;
    size_t i;

    json_array_foreach(extra, i,
                       s) if (strcmp(json_string_value(json_array_get(s, 0)), SCOPE_STANZA) == 0)
    {
        if (st != NULL)
            return gf_error_set(GF_EPERM, "value \"%s\": two scope stanzas", key);
        st = s;
    }
    if (st == NULL)
        return strcmp(declared, "cluster") == 0
                   ? 0
                   : gf_error_set(GF_EPERM,
                                  "value \"%s\" is not bound to a scope (encrypted without "
                                  "`gitfleet seal`?): only a cluster-scoped SealedSecret takes "
                                  "such values",
                                  key);
    const char *mode = json_string_value(json_array_get(st, 1));
    const char *sns = json_string_value(json_array_get(st, 2));
    const char *sname = json_string_value(json_array_get(st, 3));
    size_t n = json_array_size(st);
    if (mode && strcmp(mode, "cluster") == 0 && n == 2)
        return 0;
    if (mode && strcmp(mode, "namespace") == 0 && n == 3 && strcmp(sns, ns) == 0)
        return 0;
    if (mode && strcmp(mode, "strict") == 0 && n == 4 && strcmp(sns, ns) == 0 &&
        strcmp(sname, name) == 0)
        return 0;
    return gf_error_set(GF_EPERM, "value \"%s\" was sealed for %s scope %s%s%s, not for %s/%s", key,
                        mode ? mode : "an unknown", sns ? sns : "", sname ? "/" : "",
                        sname ? sname : "", ns, name);
}

static int open_value(json_t **b64_out, const char *text, const gf_age_identity *ids, size_t n,
                      const char *declared, const char *ns, const char *name, const char *key)
{
    unsigned char *ct = NULL, *plain = NULL;
    size_t ct_len = 0, len = 0;
    json_t *extra = NULL;
    char *b64 = NULL;
    int error;

    if (text == NULL || strlen(text) > VALUE_MAX ||
        gf_base64_decode(&ct, &ct_len, text, strlen(text)) < 0)
        return gf_error_set(GF_EINVAL, "value \"%s\": not base64 of an age file", key);
    if ((error = gf_age_decrypt(&plain, &len, &extra, NULL, ids, n, ct, ct_len)) < 0) {
        free(ct);
        return gf_error_wrap(error == GF_EINVAL ? GF_EPERM : error, "value \"%s\"", key);
    }
    free(ct);
    if ((error = check_scope(extra, declared, ns, name, key)) == 0 &&
        (error = gf_base64_encode(&b64, NULL, plain, len)) == 0)
        *b64_out = json_string(b64);
    if (b64) {
        OPENSSL_cleanse(b64, strlen(b64));
        free(b64);
    }
    gf_age_plain_free(plain, len);
    json_decref(extra);
    return error;
}

/* The Secret's metadata: the sealed object's, less what was about it. */
static json_t *secret_metadata(const json_t *sealed, const char *ns)
{
    json_t *md = json_deep_copy(json_object_get(sealed, "metadata"));

    if (ns[0])
        json_object_set_new(md, "namespace", json_string(ns));
    return md;
}

static int check_sealed(const json_t *sealed, const char **scope, const char **name)
{
    const json_t *enc = gf_doc_get(sealed, "spec.encryptedData");

    *scope = gf_doc_string(sealed, "spec.scope");
    *name = gf_doc_string(sealed, "metadata.name");
    if (!gf_sealed_is_sealed(sealed))
        return gf_error_set(GF_EINVAL, "not a %s %s", GF_SEALED_API_VERSION, GF_SEALED_KIND);
    if (*name == NULL)
        return gf_error_set(GF_EINVAL, "SealedSecret: no metadata.name");
    if (*scope == NULL)
        *scope = "strict";
    if (!scope_known(*scope))
        return gf_error_set(GF_EINVAL,
                            "SealedSecret %s: spec.scope \"%s\" is not strict, "
                            "namespace or cluster",
                            *name, *scope);
    if (enc != NULL && !json_is_object(enc))
        return gf_error_set(GF_EINVAL, "SealedSecret %s: spec.encryptedData is not a map", *name);
    return 0;
}

int gf_sealed_open(json_t **out, const json_t *sealed, const gf_age_identity *identities,
                   size_t n_identities, const char *default_namespace)
{
    const char *scope, *name, *key, *ns = gf_doc_string(sealed, "metadata.namespace");
    json_t *data, *v, *secret;
    int error;

    *out = NULL;
    if ((error = check_sealed(sealed, &scope, &name)) < 0)
        return error;
    ns = ns && ns[0] ? ns : default_namespace ? default_namespace : "";
    data = json_object();
    json_object_foreach(gf_doc_get(sealed, "spec.encryptedData"), key, v)
    {
        json_t *b64 = NULL;
        if (!valid_key(key))
            error = gf_error_set(GF_EINVAL, "key \"%s\" is not a valid Secret key", key);
        else
            error = open_value(&b64, json_string_value(v), identities, n_identities, scope, ns,
                               name, key);
        if (error < 0) {
            json_decref(data);
            return gf_error_wrap(error, "SealedSecret %s/%s", ns, name);
        }
        json_object_set_new(data, key, b64);
    }
    secret = json_pack("{s:s, s:s, s:o, s:s, s:o}", "apiVersion", "v1", "kind", "Secret",
                       "metadata", secret_metadata(sealed, ns), "type",
                       gf_doc_string(sealed, "spec.type") ? gf_doc_string(sealed, "spec.type")
                                                          : "Opaque",
                       "data", data);
    if (json_is_boolean(gf_doc_get(sealed, "spec.immutable")))
        json_object_set(secret, "immutable", gf_doc_get(sealed, "spec.immutable"));
    *out = secret;
    return 0;
}

int gf_sealed_reseal(json_t **out, const json_t *sealed, const gf_age_identity *identities,
                     size_t n_identities, const struct gf_sealed_recipient *recipients,
                     size_t n_recipients)
{
    const char *ns = gf_doc_string(sealed, "metadata.namespace");
    const char *scope = gf_doc_string(sealed, "spec.scope");
    json_t *secret = NULL;
    int error;

    *out = NULL;
    if ((error = gf_sealed_open(&secret, sealed, identities, n_identities, ns)) < 0)
        return error;
    error =
        gf_sealed_seal(out, secret, recipients, n_recipients, scope ? scope : "strict", ns, NULL);
    json_decref(secret);
    return error;
}
