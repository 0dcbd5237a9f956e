#include "util/numfmt.h"

#include <math.h>
#include <string.h>

/* Two digits at a time: "00" "01" ... "99". */
static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

size_t numfmt_u64(char *out, uint64_t v)
{
	char tmp[NUMFMT_U64_MAX];
	size_t i = sizeof(tmp), n;

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;

		v /= 100;
		tmp[--i] = digit_pairs[d + 1];
		tmp[--i] = digit_pairs[d];
	}
	if (v >= 10) {
		tmp[--i] = digit_pairs[v * 2 + 1];
		tmp[--i] = digit_pairs[v * 2];
	} else {
		tmp[--i] = (char)('0' + v);
	}
	n = sizeof(tmp) - i;
	memcpy(out, tmp + i, n);
	return n;
}

size_t numfmt_i64(char *out, int64_t v)
{
	if (v >= 0)
		return numfmt_u64(out, (uint64_t)v);
	out[0] = '-';
	/* The magnitude of INT64_MIN does not fit in int64_t. */
	return 1 + numfmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
}

size_t numfmt_u64_pad(char *out, uint64_t v, unsigned width)
{
	char tmp[NUMFMT_U64_MAX];
	size_t n = numfmt_u64(tmp, v), pad;

	if (width > NUMFMT_U64_MAX)
		width = NUMFMT_U64_MAX;
	pad = n < width ? width - n : 0;
	memset(out, '0', pad);
	memcpy(out + pad, tmp, n);
	return pad + n;
}

/* The fraction f (0 <= f < 1, exact) times 10^6, rounded to the nearest
 * integer, ties to even, from f's exact binary value: f = m * 2^e with an
 * integer m of at most 53 bits, so f * 10^6 = m * 15625 * 2^(e + 6), whose
 * product fits in 128 bits. */
static uint64_t micro_part(double f)
{
	unsigned __int128 prod, rest, half;
	uint64_t m, q;
	int ex, shift;

	if (f == 0)
		return 0;
	m = (uint64_t)ldexp(frexp(f, &ex), 53); /* exact: 53 bits */
	prod = (unsigned __int128)m * 15625u;
	shift = -(ex - 53 + 6);
	if (shift <= 0) /* cannot happen for f < 1, kept for safety */
		return (uint64_t)(prod << -shift);
	if (shift >= 127) /* far below one millionth: rounds to 0 */
		return 0;
	q = (uint64_t)(prod >> shift);
	rest = prod & (((unsigned __int128)1 << shift) - 1);
	half = (unsigned __int128)1 << (shift - 1);
	if (rest > half || (rest == half && (q & 1)))
		q++;
	return q;
}

size_t numfmt_fixed6(char *out, double v)
{
	double a, ip;
	uint64_t whole, micro;
	size_t n = 0;

	if (!isfinite(v) || fabs(v) >= 9007199254740992.0)
		return 0;
	if (signbit(v))
		out[n++] = '-';
	a = fabs(v);
	ip = floor(a);
	whole = (uint64_t)ip;
	/* a - ip is exact: both lie in one binade or ip is 0. */
	micro = micro_part(a - ip);
	if (micro >= 1000000) {
		micro -= 1000000;
		whole++;
	}
	n += numfmt_u64(out + n, whole);
	out[n++] = '.';
	n += numfmt_u64_pad(out + n, micro, 6);
	return n;
}
