/* request.h -- one API request as the handlers see it, and how they answer */
#ifndef KUBESIM_REQUEST_H
#define KUBESIM_REQUEST_H

#include "discovery.h"
#include "http.h"

#include <jansson.h>

struct ks_req {
    struct ks_http_conn *conn;
    struct ks_http_req *http;
    struct ks_type t; /* a copy: stays valid when CRDs change */
    char ns[256];     /* "" for cluster-scoped or every namespace */
    char name[256];   /* "" for the collection */
    char sub[32];     /* "", "status" or "scale" */
    int table;        /* the client accepts a meta.k8s.io Table */
};

/* Send `body` (stolen) as JSON with HTTP `code`. */
void ks_reply(struct ks_req *r, int code, json_t *body);

/* Send a Status object (stolen) with its own code. */
void ks_reply_status(struct ks_req *r, json_t *status);

/* Reads: GET of one object, a list (as a Table when asked) and watch streams. */
void ks_reads_get(struct ks_req *r);
void ks_reads_list(struct ks_req *r);
void ks_reads_watch(struct ks_req *r);

/* The autoscaling/v1 Scale of a workload object. */
json_t *ks_reads_scale(const json_t *obj, const struct ks_type *t);

/* Writes: POST, PUT, PATCH (four content types), DELETE and deletecollection. */
void ks_writes_create(struct ks_req *r);
void ks_writes_update(struct ks_req *r);
void ks_writes_patch(struct ks_req *r);
void ks_writes_delete(struct ks_req *r);
void ks_writes_delete_collection(struct ks_req *r);

#endif
