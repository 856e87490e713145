/* syncopts.h -- Argo CD sync options (syncPolicy.syncOptions and the sync-options annotation) */
#ifndef GF_AGENT_SYNCOPTS_H
#define GF_AGENT_SYNCOPTS_H

#include <jansson.h>

#define AGENT_SYNCOPTS_ANNOTATION "argocd.argoproj.io/sync-options"

/* Prune= and Delete= take true, false or confirm (Argo CD >= 2.12). */
enum agent_syncopts_gate {
    AGENT_SYNCOPTS_YES = 0, /* the default */
    AGENT_SYNCOPTS_NO,      /* never: keep the object */
    AGENT_SYNCOPTS_CONFIRM  /* only once allowed (gitfleet: `gitfleet sync --allow-prune APP`) */
};

enum agent_syncopts_propagation {
    AGENT_SYNCOPTS_FOREGROUND = 0, /* Argo CD's default */
    AGENT_SYNCOPTS_BACKGROUND,
    AGENT_SYNCOPTS_ORPHAN
};

struct agent_syncopts {
    int create_namespace;           /* CreateNamespace=true */
    int server_side_apply;          /* ServerSideApply=true (gitfleet always applies server-side) */
    int replace;                    /* Replace=true */
    int force;                      /* Force=true (with Replace: delete and recreate) */
    int prune_last;                 /* PruneLast=true: prune after every wave */
    int apply_out_of_sync_only;     /* ApplyOutOfSyncOnly=true */
    int validate;                   /* Validate=false clears it; default 1 */
    int skip_dry_run_on_missing;    /* SkipDryRunOnMissingResource=true */
    int respect_ignore_differences; /* RespectIgnoreDifferences=true */
    int fail_on_shared_resource;    /* FailOnSharedResource=true */
    enum agent_syncopts_gate prune; /* Prune=false|confirm */
    enum agent_syncopts_gate del;   /* Delete=false|confirm (when the app is deleted) */
    enum agent_syncopts_propagation propagation; /* PrunePropagationPolicy= */
    char *warnings; /* owned, NULL when none: "; "-joined notes about ignored options */
};

/* Argo CD's defaults (everything off, Validate on, Prune/Delete allowed). */
void agent_syncopts_init(struct agent_syncopts *opts);

/*
 * Apply the options of `list` (borrowed JSON array of "Name=value" strings,
 * as syncPolicy.syncOptions; NULL or null is empty) on top of *opts, so
 * that app-level options can be read first and a resource's annotation
 * (agent_syncopts_parse_annotation) over a copy of them. Option names and
 * values are case-sensitive as in Argo CD; whitespace around them is
 * trimmed. A known option with a value it does not take ("PruneLast=yes")
 * is GF_EINVAL; an unknown option name is not an error (Argo CD ignores
 * them and newer Argo CDs add options) but is noted in opts->warnings.
 */
int agent_syncopts_parse(struct agent_syncopts *opts, const json_t *list);

/* The same for one annotation value: options separated by ",". */
int agent_syncopts_parse_annotation(struct agent_syncopts *opts, const char *value);

/* The options of a resource: a copy of `app` (borrowed; warnings not
 * copied) with the object's sync-options annotation applied on top. Free
 * with agent_syncopts_clear(). 0 or GF_EINVAL. */
int agent_syncopts_for_object(struct agent_syncopts *out, const struct agent_syncopts *app,
                              const json_t *obj);

/* Free the warnings. */
void agent_syncopts_clear(struct agent_syncopts *opts);

#endif
