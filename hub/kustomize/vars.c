/* vars.c -- the legacy vars field: $(VAR) substitution after name references are fixed */
#include "internal.h"

#include "gitfleet/error.h"

int kz_vars_resolve(struct kz_resmap *m, const json_t *vars, const struct kz_tconfig *tc)
{
    if (json_array_size(vars) == 0)
        return 0;
    return gf_error_set(GF_EUNSUPPORTED, "field 'vars' is not supported yet");
}
