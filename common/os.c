/* os.c -- the few operating-system specifics, behind one header */
#include "gitfleet/os.h"

#include <stdlib.h> /* defines __GLIBC__ where glibc is the C library */
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void gf_os_release_memory(void)
{
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
