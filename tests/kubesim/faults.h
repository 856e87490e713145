/* faults.h -- injected failures: status codes, delays and dropped connections per verb/resource */
#ifndef KUBESIM_FAULTS_H
#define KUBESIM_FAULTS_H

#include <jansson.h>

struct ks_fault_action {
    int status;      /* 0: none; else answer with this code (a Status body) */
    int retry_after; /* seconds for Retry-After, 0: none */
    int delay_ms;    /* sleep before handling (or before the status) */
    int drop;        /* close the connection without an answer */
};

/*
 * Add a rule from JSON: {"verb": "get"|"list"|"watch"|"create"|"update"|"patch"|
 * "delete"|"deletecollection"|HTTP method|"*", "resource": plural or "*",
 * "count": N (0 or absent: every time), and the action, at the top level or
 * under "action": "status", "retryAfterSeconds", "delayMs", "drop"}. Returns
 * 0 or GF_EINVAL with a message.
 */
int ks_faults_add(const json_t *rule);
void ks_faults_clear(void);

/* The active rules (new reference). */
json_t *ks_faults_list(void);

/* 1 (and *out filled, the rule's count used up) when a rule matches a
 * request with Kubernetes verb `verb`, HTTP `method` and `resource`. */
int ks_faults_match(struct ks_fault_action *out, const char *verb, const char *method,
                    const char *resource);

#endif
