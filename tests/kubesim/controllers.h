/* controllers.h -- simulated controllers: workload rollouts, Jobs, PVC binding, Service addresses,
 * and the garbage collector */
#ifndef KUBESIM_CONTROLLERS_H
#define KUBESIM_CONTROLLERS_H

/* Start the controller thread: a rollout (or a Job, a Pod) finishes
 * `delay_ms` after its generation was first seen. */
int ks_ctrl_start(int delay_ms);

/* Stop and join the thread. */
void ks_ctrl_stop(void);

/* One pass over every object at monotonic time `now_ms` (tests call it
 * directly; the thread calls it each tick). Takes the store lock. */
void ks_ctrl_tick(long long now_ms);

#endif
