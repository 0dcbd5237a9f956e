/* xorshift64*: a reproducible pseudo-random sequence for tests (linked
 * into tests only), with its state in the caller's hands and none in
 * libc's: the same seed gives the same values on every machine. */
#ifndef IMW_TEST_XORSHIFT_H
#define IMW_TEST_XORSHIFT_H

#include <stdint.h>

struct xorshift64 {
	uint64_t state; /* the seed to start with; never 0 */
};

/* The next value of the sequence, state advanced. */
uint64_t xorshift64_next(struct xorshift64 *x);

#endif
