/* replacements.c -- the replacements field: copy a source field into target fields */
#include "internal.h"

#include "gitfleet/error.h"

int kz_replacements_apply(struct kz_build *b, const char *kdir, const json_t *list,
                          struct kz_resmap *m)
{
    return gf_error_set(GF_EUNSUPPORTED, "field 'replacements' is not supported yet");
}
