/* appstate.h -- the states each cluster's apps were published and synced at, kept to roll back to
 */
#ifndef HUB_APPSTATE_H
#define HUB_APPSTATE_H

#include "gitfleet.pb-c.h"
#include "store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every app the hub publishes is remembered by its content hash
 * (gitfleet/apphash.h): the packed App (resources, sync policy, project
 * rules; no revision) once per hash in `app_contents`, shared by every
 * cluster that got the same state, and per (cluster, app) a row in
 * `app_states` with the revision and generation it was first published at
 * and, once an agent reported it synced, when and at which generation.
 * `app_git` names Git's current state of each (cluster, app), so that a
 * pinned app can be given back its rendered state without a render.
 *
 * Bounded: per (cluster, app) the newest HUB_APPSTATE_KEEP synced states
 * and HUB_APPSTATE_KEEP states never synced are kept; a publish that finds
 * more than HUB_APPSTATE_SLACK states beyond those trims back to them (so at
 * most 2 * KEEP + SLACK + 1 states exist); contents nobody names go.
 */
#define HUB_APPSTATE_KEEP  10
#define HUB_APPSTATE_SLACK 8

struct hub_appstate_ref {
    char hash[65];
    char revision[64];
    uint64_t generation;        /* first published at */
    uint64_t synced_generation; /* 0: never synced */
    int64_t published_ms, synced_ms;
};

int hub_appstate_init(hub_store *store);

/* Remember `app` (content_hash set, revision the commit it was rendered
 * at) as Git's state of (cluster, app->name), published in `generation`.
 * Apps that failed to render are not states: ignored. */
int hub_appstate_put_git(hub_store *store, const char *cluster, const Gitfleet__App *app,
                         uint64_t generation, int64_t now_ms);

/* Git's state of (cluster, app) as last published; GF_ENOTFOUND if none. */
int hub_appstate_git(hub_store *store, const char *cluster, const char *app,
                     struct hub_appstate_ref *out);

/* Git's state of every app of `cluster`: {"app": {"hash", "revision"}}. */
int hub_appstate_git_all(hub_store *store, const char *cluster, json_t **out);

/* An agent reported (cluster, app) synced at `hash` in `generation`:
 * record it as a state one may roll back to (a state synced again moves
 * to the top). Unknown hashes are ignored (*known_out 0). */
int hub_appstate_mark_synced(hub_store *store, const char *cluster, const char *app,
                             const char *hash, uint64_t generation, int64_t time_ms,
                             int *known_out);

/* The App stored under `hash` (unpacked with protobuf-c's default
 * allocator: free with gitfleet__app__free_unpacked(*out, NULL)). Its
 * revision and content_hash are not set. GF_ENOTFOUND when not kept. */
int hub_appstate_load(Gitfleet__App **out, hub_store *store, const char *hash);

/* The newest HUB_APPSTATE_KEEP synced states of (cluster, app), newest sync
 * first; *out malloc'd. */
int hub_appstate_synced(hub_store *store, const char *cluster, const char *app,
                        struct hub_appstate_ref **out, size_t *count_out);

/*
 * The state a rollback of (cluster, app) goes to. `to` NULL: the newest
 * synced state other than `current_hash` (what the agent runs now, may be
 * ""); else a generation (digits: the state synced at that generation), a
 * revision or a content hash (a prefix of at least 4 characters).
 * GF_ENOTFOUND with what exists when nothing fits.
 */
int hub_appstate_pick(hub_store *store, const char *cluster, const char *app, const char *to,
                      const char *current_hash, struct hub_appstate_ref *out);

/* The JSON form of a state: {"hash","revision","generation","syncedGeneration",
 * "publishedAt","syncedAt"} (times Unix ms). */
json_t *hub_appstate_json(const struct hub_appstate_ref *ref);

#endif
