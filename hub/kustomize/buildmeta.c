/* buildmeta.c -- buildMetadata: origin and transformation annotations, the managed-by label */
#include "internal.h"

#include "gitfleet/error.h"

#include <stdlib.h>
#include <string.h>

#define ORIGIN_ANNOTATION    "config.kubernetes.io/origin"
#define TRANSFORM_ANNOTATION "alpha.config.kubernetes.io/transformations"
#define MANAGED_BY_LABEL     "app.kubernetes.io/managed-by"
#define MANAGED_BY_VALUE     "kustomize-(devel)" /* kubectl v1.32 has no kustomize version */

json_t *kz_buildmeta_by(const char *kind, const char *name)
{
    json_t *by = json_pack("{s:s, s:s}", "apiVersion", "builtin", "kind", kind);
    if (name != NULL && name[0])
        json_object_set_new(by, "name", json_string(name));
    return by;
}

void kz_buildmeta_transformed(struct kz_resmap *m, const char *file, json_t *by)
{
    /* one immutable entry shared by every resource (cheap: builds always record this) */
    json_t *entry = json_pack("{s:s, s:o}", "configuredIn", file, "configuredBy", by);
    for (size_t i = 0; i < m->len; i++) {
        struct kz_res *r = m->items[i];
        if (r->transforms == NULL)
            r->transforms = json_array();
        json_array_append(r->transforms, entry);
    }
    json_decref(entry);
}

/* Number of '/'-separated segments of a normalized root-relative path. */
static size_t segments(const char *p)
{
    size_t n = p[0] ? 1 : 0;
    for (; *p; p++)
        n += *p == '/';
    return n;
}

/* `path` (root-relative) as seen from directory `dir` (root-relative). */
static char *relative(const char *dir, const char *path)
{
    size_t ndir = segments(dir), common = 0;
    const char *d = dir, *p = path;

    /* count the leading segments both share */
    while (common < ndir) {
        size_t dl = strcspn(d, "/"), pl = strcspn(p, "/");
        if (dl != pl || strncmp(d, p, dl) != 0 || p[pl] != '/')
            break;
        common++;
        d += dl + (d[dl] == '/');
        p += pl + 1;
    }
    size_t ups = ndir - common;
    char *out = calloc(1, ups * 3 + strlen(p) + 1);
    for (size_t k = 0; k < ups; k++)
        strcat(out, "../");
    strcat(out, p);
    return out;
}

static void append(char **buf, const char *s)
{
    size_t n = *buf ? strlen(*buf) : 0;
    *buf = realloc(*buf, n + strlen(s) + 1);
    strcpy(*buf + n, s);
}

/* "configuredIn: f\nconfiguredBy:\n  apiVersion: builtin\n  kind: K\n", indented. */
static void write_configured(char **buf, const json_t *o, const char *topdir, const char *first,
                             const char *indent)
{
    char *rel = relative(topdir, json_string_value(json_object_get(o, "configuredIn")));
    const json_t *by = json_object_get(o, "configuredBy");
    char *line =
        kz_printf("%sconfiguredIn: %s\n%sconfiguredBy:\n%s  apiVersion: %s\n%s  kind: %s\n", first,
                  rel, indent, indent, json_string_value(json_object_get(by, "apiVersion")), indent,
                  json_string_value(json_object_get(by, "kind")));
    append(buf, line);
    free(line);
    if (json_object_get(by, "name") != NULL) {
        line = kz_printf("%s  name: %s\n", indent, json_string_value(json_object_get(by, "name")));
        append(buf, line);
        free(line);
    }
    free(rel);
}

static json_t *annotations_of(struct kz_res *r)
{
    json_t *md = json_object_get(r->obj, "metadata");
    if (!json_is_object(md))
        json_object_set_new(r->obj, "metadata", md = json_object());
    json_t *a = json_object_get(md, "annotations");
    if (!json_is_object(a))
        json_object_set_new(md, "annotations", a = json_object());
    return a;
}

static void write_origin(struct kz_res *r, const char *topdir)
{
    char *text = NULL;
    const char *path = json_string_value(json_object_get(r->origin, "path"));

    if (r->origin == NULL)
        return;
    if (path != NULL) {
        char *rel = relative(topdir, path);
        text = kz_printf("path: %s\n", rel);
        free(rel);
    } else {
        write_configured(&text, r->origin, topdir, "", "");
    }
    json_object_set_new(annotations_of(r), ORIGIN_ANNOTATION, json_string(text));
    free(text);
}

static void write_transforms(struct kz_res *r, const char *topdir)
{
    char *text = NULL;
    size_t i;
    json_t *t;

    if (json_array_size(r->transforms) == 0)
        return;
    json_array_foreach(r->transforms, i, t) write_configured(&text, t, topdir, "- ", "  ");
    json_object_set_new(annotations_of(r), TRANSFORM_ANNOTATION, json_string(text));
    free(text);
}

static int has(const json_t *list, const char *what)
{
    size_t i;
    json_t *v;
    json_array_foreach((json_t *)list, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), what) == 0)
            return 1;
    }
    return 0;
}

int kz_buildmeta_apply(struct kz_resmap *m, const json_t *bm, const char *topdir)
{
    size_t i;
    json_t *v;

    if (bm == NULL || json_is_null(bm))
        return 0;
    if (!json_is_array(bm))
        return gf_error_set(GF_EINVAL, "buildMetadata must be a list");
    json_array_foreach((json_t *)bm, i, v)
    {
        if (!json_is_string(v) || (strcmp(json_string_value(v), "originAnnotations") != 0 &&
                                   strcmp(json_string_value(v), "transformerAnnotations") != 0 &&
                                   strcmp(json_string_value(v), "managedByLabel") != 0))
            return gf_error_set(GF_EINVAL,
                                "buildMetadata: unknown option (expected originAnnotations, "
                                "transformerAnnotations or managedByLabel)");
    }
    for (i = 0; i < m->len; i++) {
        struct kz_res *r = m->items[i];
        if (has(bm, "originAnnotations"))
            write_origin(r, topdir);
        if (has(bm, "transformerAnnotations"))
            write_transforms(r, topdir);
        if (has(bm, "managedByLabel")) {
            json_t *md = json_object_get(r->obj, "metadata");
            json_t *l = json_object_get(md, "labels");
            if (!json_is_object(l))
                json_object_set_new(md, "labels", l = json_object());
            json_object_set_new(l, MANAGED_BY_LABEL, json_string(MANAGED_BY_VALUE));
        }
    }
    return 0;
}
