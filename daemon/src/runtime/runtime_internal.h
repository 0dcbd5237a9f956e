/* Between the runtime's files: state.c (load, reload, set-up), workers.c
 * (queue workers), tap.c (the passive decoder). */
#ifndef IMW_RUNTIME_INTERNAL_H
#define IMW_RUNTIME_INTERNAL_H

#include "runtime/runtime.h"

/* SIGHUP: a new configuration, or a logged reason to keep the old one. */
void runtime_reload(struct runtime *rt);

double runtime_now(void);

#endif
