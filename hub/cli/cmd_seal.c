/* cmd_seal.c -- gitfleet seal: a Secret into a SealedSecret for chosen clusters (online or
 * offline), or reseal one */
#include "cli.h"
#include "hubapi.h"

#include "gitfleet/age.h"
#include "gitfleet/error.h"
#include "gitfleet/fsutil.h"
#include "gitfleet/sealed.h"
#include "gitfleet/yaml_emit.h"
#include "gitfleet/yaml_parse.h"

#include <openssl/crypto.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHOSEN 1024

struct seal_opts {
    const char *file, *scope, *namespace_, *name, *output, *selector, *recipients_file;
    const char *identity, *hub, *token_file;
    const char *clusters[64], *extra[16];
    size_t n_clusters, n_extra;
    int reseal, in_place;
};

static int parse_opts(struct seal_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {{"file", required_argument, NULL, 'f'},
                                             {"cluster", required_argument, NULL, 'c'},
                                             {"selector", required_argument, NULL, 'l'},
                                             {"scope", required_argument, NULL, 's'},
                                             {"namespace", required_argument, NULL, 'n'},
                                             {"name", required_argument, NULL, 'N'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"recipient", required_argument, NULL, 'r'},
                                             {"recipients-file", required_argument, NULL, 'R'},
                                             {"reseal", no_argument, NULL, 'x'},
                                             {"identity", required_argument, NULL, 'i'},
                                             {"in-place", no_argument, NULL, 'w'},
                                             {"hub", required_argument, NULL, 'H'},
                                             {"token-file", required_argument, NULL, 't'},
                                             {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof(*o));
    o->output = "yaml";
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "f:c:l:s:n:o:r:i:w", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            o->file = optarg;
            break;
        case 'c':
            if (o->n_clusters == 64)
                return -1;
            o->clusters[o->n_clusters++] = optarg;
            break;
        case 'l':
            o->selector = optarg;
            break;
        case 's':
            o->scope = optarg;
            break;
        case 'n':
            o->namespace_ = optarg;
            break;
        case 'N':
            o->name = optarg;
            break;
        case 'o':
            o->output = optarg;
            break;
        case 'r':
            if (o->n_extra == 16)
                return -1;
            o->extra[o->n_extra++] = optarg;
            break;
        case 'R':
            o->recipients_file = optarg;
            break;
        case 'x':
            o->reseal = 1;
            break;
        case 'i':
            o->identity = optarg;
            break;
        case 'w':
            o->in_place = 1;
            break;
        case 'H':
            o->hub = optarg;
            break;
        case 't':
            o->token_file = optarg;
            break;
        default:
            return -1;
        }
    }
    if (optind != argc || o->file == NULL ||
        (strcmp(o->output, "yaml") != 0 && strcmp(o->output, "json") != 0) ||
        (o->reseal && (o->identity == NULL || o->scope || o->namespace_ || o->name)) ||
        (!o->reseal && (o->identity || o->in_place)) || (o->n_clusters && o->selector))
        return -1;
    return 0;
}

/* ---- where recipients come from ---- */

/* "CLUSTER age1... [k=v,k=v]" lines (# comments) into the API's shape. */
static int parse_recipient_lines(json_t **out, char *text, const char *path)
{
    char *save = NULL;
    int n = 0;

    *out = json_array();
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char cluster[128] = "", rcpt[128] = "", labels[1024] = "";
        n++;
        if (line[0] == '#' || line[strspn(line, " \t\r")] == '\0')
            continue;
        if (sscanf(line, "%127s %127s %1023s", cluster, rcpt, labels) < 2) {
            json_decref(*out);
            return gf_error_set(GF_EINVAL, "%s:%d: expected \"CLUSTER age1... [k=v,...]\"", path,
                                n);
        }
        json_t *lab = json_object();
        char *lsave = NULL;
        for (char *kv = strtok_r(labels, ",", &lsave); kv; kv = strtok_r(NULL, ",", &lsave)) {
            char *eq = strchr(kv, '=');
            if (eq) {
                *eq = '\0';
                json_object_set_new(lab, kv, json_string(eq + 1));
            }
        }
        json_array_append_new(*out, json_pack("{s:s, s:s, s:b, s:o}", "cluster", cluster,
                                              "recipient", rcpt, "current", 1, "labels", lab));
    }
    return 0;
}

/* The recipients file (JSON as the API gives it, or text lines), or the hub. */
static int load_recipients(json_t **out, const struct seal_opts *o)
{
    struct gf_cli_hubapi api;
    json_t *doc = NULL;
    char *text = NULL;
    size_t len;
    int error;

    if (o->recipients_file == NULL) {
        if ((error = gf_cli_hubapi_init(&api, o->hub, o->token_file)) < 0 ||
            (error = gf_cli_hubapi_call(&api, "GET", "/api/v1/recipients", NULL, &doc)) < 0)
            return gf_error_wrap(error, "asking the hub for recipients (or give "
                                        "--recipients-file to seal offline)");
        *out = json_incref(json_object_get(doc, "recipients"));
        json_decref(doc);
        return *out ? 0 : gf_error_set(GF_EINVAL, "the hub's answer has no recipients");
    }
    if ((error = gf_fs_read(&text, &len, o->recipients_file, 16 << 20)) < 0)
        return error;
    if (text[strspn(text, " \t\r\n")] == '{' || text[strspn(text, " \t\r\n")] == '[') {
        json_error_t jerr;
        doc = json_loadb(text, len, 0, &jerr);
        if (doc == NULL)
            error = gf_error_set(GF_EINVAL, "%s:%d: %s", o->recipients_file, jerr.line, jerr.text);
        else
            *out = json_incref(json_is_array(doc) ? doc : json_object_get(doc, "recipients"));
        json_decref(doc);
        if (error == 0 && !json_is_array(*out))
            error =
                gf_error_set(GF_EINVAL, "%s: expected {\"recipients\": [...]}", o->recipients_file);
    } else {
        error = parse_recipient_lines(out, text, o->recipients_file);
    }
    free(text);
    return error;
}

/* "k=v,k2=v2" against a labels object: every pair must match. */
static int selector_matches(const char *selector, const json_t *labels)
{
    char buf[1024], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", selector);
    for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        const char *have;
        if (eq == NULL)
            return json_object_get(labels, kv) != NULL; /* "key": the label exists */
        *eq = '\0';
        have = json_string_value(json_object_get(labels, kv));
        if (have == NULL || strcmp(have, eq[1] == '=' ? eq + 2 : eq + 1) != 0)
            return 0;
    }
    return 1;
}

static int add_chosen(struct gf_sealed_recipient *out, size_t *n, const char *cluster,
                      const char *text)
{
    if (*n == MAX_CHOSEN)
        return gf_error_set(GF_ETOOBIG, "more than %d recipients", MAX_CHOSEN);
    out[*n].cluster = cluster;
    if (gf_age_recipient_parse(&out[*n].recipient, text) < 0)
        return gf_error_wrap(GF_EINVAL, "recipient of %s", cluster[0] ? cluster : "--recipient");
    (*n)++;
    return 0;
}

/* The current recipient of each chosen cluster. */
static int choose(struct gf_sealed_recipient *out, size_t *n, const json_t *all,
                  const struct seal_opts *o, const char *const *names, size_t n_names)
{
    const json_t *row;
    size_t i;
    int error;

    for (size_t k = 0; k < n_names; k++) {
        int found = 0;
        json_array_foreach(all, i, row)
        {
            const char *c = json_string_value(json_object_get(row, "cluster"));
            if (c && strcmp(c, names[k]) == 0 && json_is_true(json_object_get(row, "current"))) {
                if ((error = add_chosen(out, n, c,
                                        json_string_value(json_object_get(row, "recipient")))) < 0)
                    return error;
                found = 1;
                break;
            }
        }
        if (!found)
            return gf_error_set(GF_ENOTFOUND,
                                "cluster %s has no recipient: not joined, or revoked (see "
                                "`gitfleet cluster key %s`)",
                                names[k], names[k]);
    }
    json_array_foreach(all, i, row)
    {
        const char *c = json_string_value(json_object_get(row, "cluster"));
        if (o->selector && c && json_is_true(json_object_get(row, "current")) &&
            selector_matches(o->selector, json_object_get(row, "labels")) &&
            (error = add_chosen(out, n, c, json_string_value(json_object_get(row, "recipient")))) <
                0)
            return error;
    }
    if (o->selector && *n == 0)
        return gf_error_set(GF_ENOTFOUND, "no joined cluster matches --selector %s", o->selector);
    for (size_t k = 0; k < o->n_extra; k++)
        if ((error = add_chosen(out, n, "", o->extra[k])) < 0)
            return error;
    return 0;
}

/* For --reseal without --cluster/--selector: the clusters it was sealed for. */
static size_t sealed_for(const char **names, size_t cap, const json_t *sealed)
{
    const json_t *row;
    size_t i, n = 0;

    json_array_foreach(json_object_get(json_object_get(sealed, "spec"), "recipients"), i, row)
    {
        const char *c = json_string_value(json_object_get(row, "cluster"));
        if (c && c[0] && n < cap)
            names[n++] = c;
    }
    return n;
}

/* ---- input and output ---- */

static int read_input(json_t **out, const char *file)
{
    char *data = NULL;
    size_t len = 0;
    int error;

    if (strcmp(file, "-") == 0) {
        FILE *mem = open_memstream(&data, &len);
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
            fwrite(buf, 1, n, mem);
        fclose(mem);
    } else if ((error = gf_fs_read(&data, &len, file, 16 << 20)) < 0) {
        return error;
    }
    error = gf_yaml_parse_one(out, data, len, strcmp(file, "-") == 0 ? "<stdin>" : file, NULL);
    OPENSSL_cleanse(data, len);
    free(data);
    if (error == 0 && !json_is_object(*out)) {
        json_decref(*out);
        return gf_error_set(GF_EINVAL, "%s: expected one Kubernetes object", file);
    }
    return error;
}

static int read_identities(gf_age_identity *ids, size_t cap, size_t *n, const char *path)
{
    char *text = NULL, *save = NULL;
    size_t len = 0;
    int error;

    *n = 0;
    if ((error = gf_fs_read(&text, &len, path, 1 << 20)) < 0)
        return error;
    for (char *line = strtok_r(text, "\n", &save); line && error == 0;
         line = strtok_r(NULL, "\n", &save))
        if (strncmp(line, "AGE-SECRET-KEY-", 15) == 0 && *n < cap)
            error = gf_age_identity_parse(&ids[(*n)++], line);
    OPENSSL_cleanse(text, len);
    free(text);
    if (error == 0 && *n == 0)
        error = gf_error_set(GF_EINVAL, "%s: no AGE-SECRET-KEY-1... line", path);
    return error;
}

static int emit(const json_t *doc, const struct seal_opts *o)
{
    char *text = NULL;
    size_t len = 0;
    int error = 0;

    if (strcmp(o->output, "json") == 0) {
        text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        len = text ? strlen(text) : 0;
    } else if ((error = gf_yaml_emit(&text, &len, doc)) < 0) {
        return error;
    }
    if (text == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    if (o->in_place)
        error = gf_fs_write_atomic(o->file, text, len, 0644);
    else
        fwrite(text, 1, len, stdout);
    if (strcmp(o->output, "json") == 0 && !o->in_place)
        fputc('\n', stdout);
    free(text);
    return error;
}

static int do_seal(const struct seal_opts *o, const json_t *in, const json_t *all)
{
    struct gf_sealed_recipient *chosen = calloc(MAX_CHOSEN, sizeof(*chosen));
    gf_age_identity ids[8];
    const char *names[64];
    size_t n = 0, n_ids = 0, n_names = o->n_clusters;
    json_t *out = NULL;
    int error;

    memcpy(names, o->clusters, sizeof(names));
    if (o->reseal && n_names == 0 && o->selector == NULL)
        n_names = sealed_for(names, 64, in);
    if (chosen == NULL)
        return gf_error_set(GF_ENOMEM, "out of memory");
    if ((error = choose(chosen, &n, all, o, names, n_names)) < 0)
        goto out;
    if (o->reseal) {
        if ((error = read_identities(ids, 8, &n_ids, o->identity)) == 0)
            error = gf_sealed_reseal(&out, in, ids, n_ids, chosen, n);
        OPENSSL_cleanse(ids, sizeof(ids));
    } else {
        error = gf_sealed_seal(&out, in, chosen, n, o->scope, o->namespace_, o->name);
    }
    if (error == 0)
        error = emit(out, o);
out:
    json_decref(out);
    free(chosen);
    return error;
}

static int run_seal(int argc, char **argv)
{
    struct seal_opts o;
    json_t *in = NULL, *all = NULL;
    int error;

    if (parse_opts(&o, argc, argv) < 0)
        return gf_cli_usage(&gf_cmd_seal);
    if (o.n_clusters == 0 && o.selector == NULL && o.n_extra == 0 && !o.reseal)
        return gf_cli_error(GF_CLI_USAGE, "seal: name the clusters (--cluster C, --selector "
                                          "k=v) or give --recipient age1...");
    if ((error = read_input(&in, o.file)) < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    if (o.reseal != gf_sealed_is_sealed(in)) {
        json_decref(in);
        return gf_cli_error(GF_CLI_FAIL, "%s: %s", o.file,
                            o.reseal ? "--reseal takes a gitfleet.io/v1 SealedSecret"
                                     : "expected a v1 Secret (to reseal a SealedSecret, "
                                       "use --reseal)");
    }
    if ((o.n_clusters || o.selector || o.reseal) && (error = load_recipients(&all, &o)) < 0) {
        json_decref(in);
        return gf_cli_error(GF_CLI_FAIL, "%s", gf_error_last());
    }
    if (all == NULL)
        all = json_array();
    error = do_seal(&o, in, all);
    json_decref(in);
    json_decref(all);
    if (error < 0)
        return gf_cli_error(GF_CLI_FAIL, "%s: %s", o.file, gf_error_last());
    return GF_CLI_OK;
}

const struct gf_cli_command gf_cmd_seal = {
    .name = "seal",
    .usage = "seal -f SECRET.yaml (--cluster C ... | --selector k=v,... | --recipient age1...)\n"
             "            [--scope strict|namespace|cluster] [--namespace NS] [--name NAME]\n"
             "            [--recipients-file F] [-o yaml|json] [--hub URL]\n"
             "       seal --reseal -f SEALED.yaml --identity KEYFILE [--cluster C ... | "
             "--selector k=v] [-w]",
    .summary = "encrypt a Secret for chosen clusters (age); reseal to current keys",
    .run = run_seal,
};
