/* wire.c -- the signed envelopes hub and agents exchange, and nng TLS set-up */
#include "gitfleet/wire.h"

#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"

#include <arpa/inet.h>
#include <nng/supplemental/tls/tls.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t gf_wire_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int gf_wire_random(unsigned char *buf, size_t len)
{
    if (RAND_bytes(buf, (int)len) != 1)
        return gf_error_set(GF_ERROR, "no random bytes available");
    return 0;
}

/* Pack a protobuf message into a malloc'd buffer. */
static int pack_message(unsigned char **out, size_t *len_out, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    unsigned char *buf = malloc(len ? len : 1);

    if (buf == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    protobuf_c_message_pack(msg, buf);
    *out = buf;
    *len_out = len;
    return 0;
}

/* What both signed envelopes hold: the inner message's exact bytes, their
 * Ed25519 signature and the signer's key id. */
struct sealed {
    unsigned char *bytes; /* malloc'd */
    size_t len;
    unsigned char sig[GF_SIGN_SIGNATURE_LEN];
    char key_id[GF_SIGN_KEY_ID_LEN + 1];
};

static int seal_message(struct sealed *out, const ProtobufCMessage *inner, const gf_sign_key *key)
{
    int error;

    if ((error = pack_message(&out->bytes, &out->len, inner)) < 0)
        return error;
    if ((error = gf_sign(out->sig, key, out->bytes, out->len)) < 0) {
        free(out->bytes);
        out->bytes = NULL;
        return error;
    }
    gf_sign_key_id(out->key_id, key);
    return 0;
}

int gf_wire_request_seal(unsigned char **out, size_t *len_out,
                         const Gitfleet__AgentRequestBody *body, const gf_sign_key *key)
{
    Gitfleet__AgentRequest env = GITFLEET__AGENT_REQUEST__INIT;
    struct sealed s;
    int error;

    *out = NULL;
    if ((error = seal_message(&s, &body->base, key)) < 0)
        return error;
    env.has_body = env.has_signature = 1;
    env.body = (ProtobufCBinaryData){s.len, s.bytes};
    env.signature = (ProtobufCBinaryData){sizeof(s.sig), s.sig};
    env.key_id = s.key_id;
    error = pack_message(out, len_out, &env.base);
    free(s.bytes);
    return error;
}

int gf_wire_request_decode(struct gf_wire_request *out, const void *data, size_t len)
{
    memset(out, 0, sizeof(*out));
    out->envelope = gitfleet__agent_request__unpack(NULL, len, data);
    if (out->envelope == NULL || !out->envelope->has_body || !out->envelope->has_signature) {
        gf_wire_request_clear(out);
        return gf_error_set(GF_EINVAL, "malformed agent request (not a signed envelope)");
    }
    out->body = gitfleet__agent_request_body__unpack(NULL, out->envelope->body.len,
                                                     out->envelope->body.data);
    if (out->body == NULL) {
        gf_wire_request_clear(out);
        return gf_error_set(GF_EINVAL, "malformed agent request body");
    }
    return 0;
}

int gf_wire_request_verify(const struct gf_wire_request *req, const gf_sign_key *key)
{
    const Gitfleet__AgentRequest *env = req->envelope;

    if (gf_sign_verify(key, env->signature.data, env->signature.len, env->body.data,
                       env->body.len) < 0)
        return gf_error_set(GF_EPERM, "agent request signature does not verify");
    return 0;
}

void gf_wire_request_clear(struct gf_wire_request *req)
{
    if (req->body)
        gitfleet__agent_request_body__free_unpacked(req->body, NULL);
    if (req->envelope)
        gitfleet__agent_request__free_unpacked(req->envelope, NULL);
    req->body = NULL;
    req->envelope = NULL;
}

int gf_wire_bundle_seal(unsigned char **out, size_t *len_out, const Gitfleet__Bundle *bundle,
                        const gf_sign_key *key)
{
    Gitfleet__SignedBundle sb = GITFLEET__SIGNED_BUNDLE__INIT;
    struct sealed s;
    int error;

    *out = NULL;
    if ((error = seal_message(&s, &bundle->base, key)) < 0)
        return error;
    sb.has_bundle = sb.has_signature = 1;
    sb.bundle = (ProtobufCBinaryData){s.len, s.bytes};
    sb.signature = (ProtobufCBinaryData){sizeof(s.sig), s.sig};
    sb.key_id = s.key_id;
    error = pack_message(out, len_out, &sb.base);
    free(s.bytes);
    return error;
}

int gf_wire_bundle_open(Gitfleet__Bundle **out, const void *data, size_t len,
                        const gf_sign_key *hub_key)
{
    Gitfleet__SignedBundle *sb = NULL;
    int error = 0;

    *out = NULL;
    if (len > GF_LIMIT_BUNDLE_BYTES) /* the hub never signs one this large */
        return gf_error_set(GF_ETOOBIG, "signed bundle of %zu bytes is over the %zu-byte limit",
                            len, GF_LIMIT_BUNDLE_BYTES);
    sb = gitfleet__signed_bundle__unpack(NULL, len, data);
    if (sb == NULL || !sb->has_bundle || !sb->has_signature)
        error = gf_error_set(GF_EINVAL, "malformed signed bundle");
    else if (gf_sign_verify(hub_key, sb->signature.data, sb->signature.len, sb->bundle.data,
                            sb->bundle.len) < 0)
        error = gf_error_set(GF_EPERM, "bundle signature does not verify with the pinned hub "
                                       "key");
    else if ((*out = gitfleet__bundle__unpack(NULL, sb->bundle.len, sb->bundle.data)) == NULL)
        error = gf_error_set(GF_EINVAL, "signed bundle holds a malformed bundle");
    if (sb)
        gitfleet__signed_bundle__free_unpacked(sb, NULL);
    return error;
}

int gf_wire_response_encode(unsigned char **out, size_t *len_out, const Gitfleet__HubResponse *resp)
{
    return pack_message(out, len_out, &resp->base);
}

/* Load a PEM file into a string for nng's TLS calls. */
static int read_pem(char **out, const char *path)
{
    int error = gf_fs_read(out, NULL, path, 1 << 20);
    return error < 0 ? gf_error_wrap(error, "TLS") : 0;
}

static int tls_config(nng_tls_config **out, nng_tls_mode mode, const struct gf_wire_tls *tls)
{
    char *cert = NULL, *key = NULL, *ca = NULL;
    nng_tls_config *cfg = NULL;
    int error = 0, rv;

    *out = NULL;
    if ((rv = nng_tls_config_alloc(&cfg, mode)) != 0)
        return gf_error_set(GF_ERROR, "TLS: %s", nng_strerror(rv));
    if (tls->cert_file && tls->cert_file[0]) {
        if ((error = read_pem(&cert, tls->cert_file)) < 0 ||
            (error = read_pem(&key, tls->key_file ? tls->key_file : tls->cert_file)) < 0)
            goto out;
        if ((rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0) {
            error = gf_error_set(GF_EINVAL, "TLS: certificate %s: %s", tls->cert_file,
                                 nng_strerror(rv));
            goto out;
        }
    }
    if (tls->ca_file && tls->ca_file[0]) {
        if ((error = read_pem(&ca, tls->ca_file)) < 0)
            goto out;
        if ((rv = nng_tls_config_ca_chain(cfg, ca, NULL)) != 0) {
            error = gf_error_set(GF_EINVAL, "TLS: CA %s: %s", tls->ca_file, nng_strerror(rv));
            goto out;
        }
        nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
    } else if (mode == NNG_TLS_MODE_CLIENT) {
        error = gf_error_set(GF_EINVAL, "TLS: a client needs the hub's CA (ca_file)");
        goto out;
    }
    if (tls->server_name && tls->server_name[0])
        nng_tls_config_server_name(cfg, tls->server_name);
    *out = cfg;
    cfg = NULL;
out:
    if (cfg)
        nng_tls_config_free(cfg);
    free(cert);
    free(key);
    free(ca);
    return error;
}

int gf_wire_tls_listener(nng_listener listener, const struct gf_wire_tls *tls)
{
    nng_tls_config *cfg;
    int error, rv;

    if (tls->cert_file == NULL || tls->cert_file[0] == '\0')
        return gf_error_set(GF_EINVAL, "TLS: a tls+tcp:// listener needs a certificate");
    if ((error = tls_config(&cfg, NNG_TLS_MODE_SERVER, tls)) < 0)
        return error;
    rv = nng_listener_set_ptr(listener, NNG_OPT_TLS_CONFIG, cfg);
    nng_tls_config_free(cfg); /* the listener holds its own reference */
    return rv ? gf_error_set(GF_ERROR, "TLS: %s", nng_strerror(rv)) : 0;
}

/* The name to verify in the hub's certificate: the one given, else the URL's
 * host. nng 1.5 verifies nothing when no name is set (any certificate from
 * the CA would pass, an agent's own included), and its mbedTLS matches DNS
 * names only, so a URL with an IP address needs the name given. */
static int server_name(char *buf, size_t len, nng_dialer dialer, const struct gf_wire_tls *tls)
{
    char *url = NULL;
    nng_url *u = NULL;
    unsigned char addr[16];
    int error = 0;

    if (tls->server_name && tls->server_name[0]) {
        snprintf(buf, len, "%s", tls->server_name);
        return 0;
    }
    if (nng_dialer_get_string(dialer, NNG_OPT_URL, &url) != 0 || nng_url_parse(&u, url) != 0)
        error = gf_error_set(GF_EINVAL, "TLS: cannot read the hub URL's host name");
    else if (inet_pton(AF_INET, u->u_hostname, addr) == 1 ||
             inet_pton(AF_INET6, u->u_hostname, addr) == 1 || u->u_hostname[0] == '\0')
        error = gf_error_set(GF_EINVAL,
                             "TLS: the hub URL %s names no host to verify: give the DNS name in "
                             "the hub's certificate with --tls-server-name (IP addresses cannot "
                             "be verified)",
                             url);
    else
        snprintf(buf, len, "%s", u->u_hostname);
    if (u)
        nng_url_free(u);
    nng_strfree(url);
    return error;
}

int gf_wire_tls_dialer(nng_dialer dialer, const struct gf_wire_tls *tls)
{
    struct gf_wire_tls verified = *tls;
    char name[256];
    nng_tls_config *cfg;
    int error, rv;

    if ((error = server_name(name, sizeof(name), dialer, tls)) < 0)
        return error;
    verified.server_name = name;
    if ((error = tls_config(&cfg, NNG_TLS_MODE_CLIENT, &verified)) < 0)
        return error;
    rv = nng_dialer_set_ptr(dialer, NNG_OPT_TLS_CONFIG, cfg);
    nng_tls_config_free(cfg);
    return rv ? gf_error_set(GF_ERROR, "TLS: %s", nng_strerror(rv)) : 0;
}
