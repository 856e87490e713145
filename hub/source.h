/* source.h -- the fleet's Git repository: open or clone, fetch, resolve, read trees */
#ifndef HUB_SOURCE_H
#define HUB_SOURCE_H

#include "filesrc.h"

#include <stdint.h>

/*
 * A Git source is either a local repository opened in place (a path) or a
 * bare clone of a URL (file://, git://, http(s)://, ssh://) kept in a cache
 * directory. The clone's remote fetches every branch into refs/heads/ and
 * every tag into refs/tags/, so branch names resolve the same way in both
 * kinds. Nothing is ever checked out: trees are read from the object
 * database. A source and its trees may be used from many threads (one lock
 * serializes their use of libgit2); trees it hands out keep it alive. A
 * tree looks up each directory object once, however many paths go through it.
 */
typedef struct hub_source hub_source;

/* Open `location`. A URL is cloned into `cache_dir` (required for URLs,
 * ignored for paths) on first use and fetched on later opens. A path must be
 * a Git repository (its root, bare or not). */
int hub_source_open(hub_source **out, const char *location, const char *cache_dir);

/* As hub_source_open(), connecting with `creds` (see creds.h; may be NULL,
 * must outlive the source). A URL may be scp-style (git@host:org/repo.git).
 * Messages and descriptions show the URL with its credentials redacted. */
struct hub_creds;
int hub_source_open_creds(hub_source **out, const char *location, const char *cache_dir,
                          const struct hub_creds *creds);

/* Fetch new commits from the remote; a no-op for a local path. */
/* The bound of libgit2's object cache (process-wide), set at open. */
#define HUB_SOURCE_GIT_CACHE_BYTES ((int64_t)16 << 20)

/* What libgit2's object cache holds now and may hold (for /metrics). */
void hub_source_cache_bytes(int64_t *used_out, int64_t *allowed_out);

int hub_source_fetch(hub_source *src);

/* Resolve a branch, tag, commit id (full or abbreviated) or NULL/"HEAD" to a
 * commit id (40 hex + NUL). GF_ENOTFOUND when nothing matches. */
int hub_source_resolve(char out[41], hub_source *src, const char *revision);

/* The tree of `commit` (a full commit id) as a file source; the description
 * is "location@abcdef1". content_id gives tree/blob oids. */
int hub_source_tree(hub_filesrc **out, hub_source *src, const char *commit);

/* What the source was opened with (the path or URL). Borrowed. */
const char *hub_source_location(const hub_source *src);

/* The URL this repository is known by: the URL it was cloned from, or a
 * local repository's remote.origin.url. *out is malloc'd, NULL when none. */
int hub_source_url(char **out, hub_source *src);

/* Tree and blob objects read so far through this source's trees (for tests:
 * rendering must cost a bounded number of reads per cluster). */
uint64_t hub_source_object_reads(const hub_source *src);

void hub_source_free(hub_source *src);

#endif
