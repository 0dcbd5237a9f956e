#include "util/numfmt.h"

#include <math.h>
#include <string.h>

/* Two digits at a time: "00" "01" ... "99". */
static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Decimal digits of v: from its bit length (log10(2) ~ 1233 / 4096), then
 * one comparison to settle the estimate. */
static size_t digit_count(uint64_t v)
{
	static const uint64_t pow10[20] = {
		1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
		100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
		10000000000000ull, 100000000000000ull, 1000000000000000ull,
		10000000000000000ull, 100000000000000000ull, 1000000000000000000ull,
		10000000000000000000ull,
	};
	unsigned bits = 64u - (unsigned)__builtin_clzll(v | 1);
	size_t n = (size_t)((bits * 1233u) >> 12); /* floor(log10(2^bits)) */

	if (v == 0)
		return 1;
	/* v has n or n + 1 digits */
	return n + (n < 20 && v >= pow10[n]);
}

/* The digits written from the last one back, straight into out: no
 * temporary and no copy of a length known only at run time. */
size_t numfmt_u64(char *out, uint64_t v)
{
	size_t n = digit_count(v);
	char *p = out + n;

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;

		v /= 100;
		*--p = digit_pairs[d + 1];
		*--p = digit_pairs[d];
	}
	if (v >= 10) {
		*--p = digit_pairs[v * 2 + 1];
		*--p = digit_pairs[v * 2];
	} else {
		*--p = (char)('0' + v);
	}
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
 * product fits in 128 bits. m and e come from the bits of the double
 * (IEEE 754 binary64) rather than frexp/ldexp: two library calls were
 * most of a timestamp's cost. */
static uint64_t micro_part(double f)
{
	unsigned __int128 prod, rest, half;
	uint64_t bits, m, q;
	int biased, shift;

	if (f == 0)
		return 0;
	memcpy(&bits, &f, sizeof(bits));
	biased = (int)((bits >> 52) & 0x7FF);
	m = bits & ((UINT64_C(1) << 52) - 1);
	if (biased) /* normal: the implicit leading 1; else subnormal */
		m |= UINT64_C(1) << 52;
	else
		biased = 1;
	/* f = m * 2^(biased - 1075); times 10^6 = m * 15625 * 2^(biased - 1069) */
	prod = (unsigned __int128)m * 15625u;
	shift = 1069 - biased;
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

/* v < 10^6 as exactly six digits, two at a time. */
static void six_digits(char *out, uint64_t v)
{
	unsigned hi = (unsigned)(v / 10000), mid = (unsigned)(v / 100 % 100),
		 lo = (unsigned)(v % 100);

	memcpy(out, digit_pairs + 2 * hi, 2);
	memcpy(out + 2, digit_pairs + 2 * mid, 2);
	memcpy(out + 4, digit_pairs + 2 * lo, 2);
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
	whole = (uint64_t)a; /* floor: a >= 0 and below 2^53, so exact */
	ip = (double)whole;
	/* a - ip is exact: both lie in one binade or ip is 0. */
	micro = micro_part(a - ip);
	if (micro >= 1000000) {
		micro -= 1000000;
		whole++;
	}
	n += numfmt_u64(out + n, whole);
	out[n++] = '.';
	six_digits(out + n, micro);
	return n + 6;
}

size_t numfmt_hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0F];
	}
	out[2 * n] = '\0';
	return 2 * n;
}
