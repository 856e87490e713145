/* kustomize.h -- the native kustomize engine: build a kustomization into resources */
#ifndef HUB_KUSTOMIZE_H
#define HUB_KUSTOMIZE_H

#include "filesrc.h"

#include <jansson.h>

/*
 * A build session caches what does not change between builds of one file
 * tree: parsed files and built bases (a directory used as a resource). The
 * hub renders many overlays of one base with one session, so the base is
 * read and built once. Entries are keyed by the source's content ids when it
 * has them (Git trees), so one session can serve several commits; for a
 * source without content ids (a directory on disk) entries are keyed by
 * source and path, and the files must not change while the session lives.
 * A session that reaches 200,000 cached files or 20,000 bases is flushed
 * whole, which bounds the memory of a long-lived one (the hub's). A session
 * is not thread-safe: use one per thread.
 */
typedef struct hub_kustomize_session hub_kustomize_session;

int hub_kustomize_session_new(hub_kustomize_session **out);
void hub_kustomize_session_free(hub_kustomize_session *s);
/* Keep for later builds only what the builds since the last sweep used, and
 * only entries keyed by content: a session kept from one hub pass to the
 * next serves the unchanged overlays of the fleet and holds nothing else. */
void hub_kustomize_session_sweep(hub_kustomize_session *s);
/* Give `dst` the parsed files `src` holds and it lacks (shared, not copied:
 * cached documents are never changed). Renders on many threads each take
 * whichever session is free, so without this a file parsed by one thread's
 * session is parsed again by another's. Neither session may be in use. */
void hub_kustomize_session_share_files(hub_kustomize_session *dst,
                                       const hub_kustomize_session *src);

/* What a session's caches did so far (for benchmarks and tests). */
struct hub_kustomize_stats {
    unsigned long file_hits, file_misses; /* parsed YAML files */
    unsigned long base_hits, base_builds; /* kustomization directories used as resources */
};

void hub_kustomize_session_stats(const hub_kustomize_session *s, struct hub_kustomize_stats *out);

struct hub_kustomize_options {
    hub_kustomize_session *session; /* NULL: a private session for this build */
};

/*
 * Build the kustomization in `dir` (relative to the root of `src`) as
 * `kubectl kustomize` (kustomize v5.5) does, reading only through `src`.
 * *out_docs is a new JSON array of the resources in kubectl's output order;
 * write it with gf_yaml_emit_stream(). `opts` may be NULL. Returns 0 or a
 * negative GF_E* code with a message naming the file and the reason:
 * GF_ENOTFOUND (missing file), GF_EPERM (a path leaving the root),
 * GF_EUNSUPPORTED (helm charts, remote resources, plugins), GF_EINVAL.
 */
int hub_kustomize_build(json_t **out_docs, hub_filesrc *src, const char *dir,
                        const struct hub_kustomize_options *opts);

#endif
