/* xorshift64* (xorshift.h): Marsaglia's xorshift with Vigna's
 * multiplier, the shifts 12, 25, 27. */
#include "xorshift.h"

uint64_t xorshift64_next(struct xorshift64 *x)
{
	x->state ^= x->state >> 12;
	x->state ^= x->state << 25;
	x->state ^= x->state >> 27;
	return x->state * 0x2545F4914F6CDD1Dull;
}
