/* Between the runtime's files: state.c (load, reload, set-up), workers.c
 * (queue workers), tap.c (the passive decoder). */
#ifndef IMW_RUNTIME_INTERNAL_H
#define IMW_RUNTIME_INTERNAL_H

#include "runtime/runtime.h"

/* SIGHUP or `imwire reload`: a new configuration, or the old one kept. 0,
 * or -1; msg says which and why. */
int runtime_reload(struct runtime *rt, char *msg, size_t msg_size);

/* A copy of the workers' last snapshots (the service's source). */
int runtime_snapshots(void *arg, struct stats_snapshot **out, size_t *n);

double runtime_now(void);

/* Take the prepared claim on the classifier's pin directory (the queues
 * are bound): edited flows come to us from the next packet on. 0 (also
 * without a classifier), or -1 (logged). */
int runtime_claim(struct runtime *rt);

#endif
