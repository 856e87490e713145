/* handlers.h -- the API server's request entry point: auth, faults, discovery and resource routing
 */
#ifndef KUBESIM_HANDLERS_H
#define KUBESIM_HANDLERS_H

#include "http.h"

/* `token` (may be NULL) is required as "Authorization: Bearer <token>". */
void ks_handlers_init(const char *token);

/* The ks_http_handler of the server. */
void ks_handle(struct ks_http_conn *conn, struct ks_http_req *req, void *arg);

#endif
