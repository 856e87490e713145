/* os.h -- the few operating-system specifics, behind one header */
#ifndef GITFLEET_OS_H
#define GITFLEET_OS_H

/* Give freed heap memory back to the system; glibc keeps it otherwise, in
 * every thread's arena. For daemons that handle bursts (a relist of
 * thousands of objects) and then rest. A no-op elsewhere. */
void gf_os_release_memory(void);

#endif
