/* health.h -- Argo CD's health assessment of live Kubernetes objects */
#ifndef GF_AGENT_HEALTH_H
#define GF_AGENT_HEALTH_H

#include <jansson.h>
#include <stddef.h>

/*
 * Statuses in Argo CD's order from best to worst, so that a larger value is
 * worse. NONE means "no rule for this kind": it is not a status and never
 * wins an aggregation.
 */
enum agent_health_status {
    AGENT_HEALTH_NONE = 0,
    AGENT_HEALTH_HEALTHY,
    AGENT_HEALTH_SUSPENDED,
    AGENT_HEALTH_PROGRESSING,
    AGENT_HEALTH_MISSING,
    AGENT_HEALTH_DEGRADED,
    AGENT_HEALTH_UNKNOWN,
};

/*
 * Which copy of gitops-engine's rules to follow. ARGOCD is the in-tree copy
 * Argo CD ships today and what gitfleet uses; LEGACY is the standalone
 * gitops-engine repository, kept so that test corpora taken from either can
 * be checked (they differ for HPAs, suspended Jobs and the Pod
 * ignore-restart-policy annotation).
 */
enum agent_health_variant {
    AGENT_HEALTH_ARGOCD = 0,
    AGENT_HEALTH_LEGACY,
};

struct agent_health {
    enum agent_health_status status;
    char *message; /* owned; "" when Argo CD gives none, never NULL after assess */
};

/*
 * Assess the live object `obj` (borrowed) as Argo CD does: deletion in
 * progress first, then the built-in check for its group and kind, in the
 * ARGOCD variant. A NULL `obj` is an object absent from the cluster:
 * Missing. Checks that fail (an unsupported version, a field of the wrong
 * type) give Unknown with the reason as message, as Argo CD does. Fills *out
 * (release it with agent_health_clear()). Returns 0, GF_EINVAL when `obj` is
 * not a JSON object, or GF_ENOMEM.
 */
int agent_health_assess(struct agent_health *out, const json_t *obj);
int agent_health_assess_variant(struct agent_health *out, const json_t *obj,
                                enum agent_health_variant variant);

/* 1 when Argo CD leaves `obj` out of an application's health: a sync hook
 * (argocd.argoproj.io/hook, unless only "Skip"; or a helm.sh/hook other than
 * crd-install) or annotated argocd.argoproj.io/ignore-healthcheck: "true". */
int agent_health_ignored(const json_t *obj);

/*
 * Lua health scripts (issue 16). Install `scripts` (ownership passes; NULL
 * removes them) for every later agent_health_assess(): a script resolved for
 * the object's group and kind runs before the built-in check and, when there
 * is one, its result is final (as Argo CD's health overrides). Compiled
 * scripts are kept across installs. Thread-safe. Returns 0 or GF_ENOMEM.
 */
struct gf_healthscripts;
int agent_health_scripts_install(struct gf_healthscripts *scripts);
/* The compiled-script cache's size (tests, benchmarks). */
size_t agent_health_scripts_compiled(void);

/* Free the message and reset to NONE; accepts a zeroed struct. */
void agent_health_clear(struct agent_health *health);

/* The worse of two statuses (Healthy < Suspended < Progressing < Missing <
 * Degraded < Unknown); NONE loses to everything, so it can seed a fold. */
enum agent_health_status agent_health_worst(enum agent_health_status a, enum agent_health_status b);

/* "Healthy", ...; "" for NONE. */
const char *agent_health_status_name(enum agent_health_status status);
/* The status named `name` (exact case), or -1. */
int agent_health_status_parse(const char *name);

#endif
