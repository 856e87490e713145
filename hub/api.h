/* api.h -- the hub's HTTP/JSON API for the CLI, dashboards, scripts and Git webhooks */
#ifndef HUB_API_H
#define HUB_API_H

#include <stddef.h>

struct hub;
struct hub_api;
struct hub_http_limits;

/*
 * Serve the API on `url` (http://127.0.0.1:8080). Routes (docs/api.md):
 *   GET  /healthz, /metrics
 *   GET  /api/v1/status[?cluster=C], /api/v1/status/C (with resources)
 *   GET  /api/v1/clusters, /api/v1/apps[?cluster=C], /api/v1/history[?cluster&app&limit]
 *   POST /api/v1/clusters {"name"} -> join token        (admin)
 *   DELETE /api/v1/clusters/C -> revoke                 (admin)
 *   POST /api/v1/sync -> fetch and render now          (admin)
 *   POST /api/v1/webhook/git                            (GitHub, GitLab, Gitea signatures)
 *   GET  /, /ui/... (the dashboard), /api/v1/ui/fleet, /api/v1/ui/apps/APP,
 *        /api/v1/events (server-sent events)                (issue 14, hub/ui.c, hub/events.c)
 * Mutating calls need "Authorization: Bearer <admin token>". The server layer
 * (limits, timeouts, JSON errors, streams) is hub/http.c.
 */
int hub_api_start(struct hub_api **out, struct hub *h, const char *url,
                  const struct hub_http_limits *limits);
void hub_api_stop(struct hub_api *api);

/* Webhook authenticity for one request: 0 when the secret checks out (or no
 * secret is configured), GF_EPERM otherwise. `header` looks up a request
 * header by name. Exposed for tests. */
int hub_api_check_webhook(const char *secret, const char *(*header)(void *, const char *),
                          void *arg, const void *body, size_t len);

#endif
