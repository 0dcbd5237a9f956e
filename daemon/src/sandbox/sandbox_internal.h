/* Between the sandbox's files: the two layers sandbox.c puts on. */
#ifndef IMW_SANDBOX_INTERNAL_H
#define IMW_SANDBOX_INTERNAL_H

#include "sandbox/sandbox.h"

/* 0 (also when the kernel has no Landlock: st->landlock_abi stays 0), or
 * -1 with a reason in err. */
int sandbox_landlock(const struct sandbox_rule *rules, size_t n, struct sandbox_state *st,
		     char *err, size_t err_size);
/* 0, or -1 with a reason in err. */
int sandbox_seccomp(struct sandbox_state *st, char *err, size_t err_size);

#endif
