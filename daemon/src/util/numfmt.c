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

/* x < 10^8 as eight ASCII digits, the first in the low byte (the order
 * they go to memory in on a little-endian machine; store_le puts them
 * there on any): both halves of four digits at once in the lanes of one
 * word, each divided by 100 and then by 10 by a multiply and a shift
 * (exact below 10000 and 100). Checked for every x < 10^8. */
static inline uint64_t eight_digits(uint32_t x)
{
	uint64_t hi = x / 10000, lo = x - hi * 10000, v, q, t;

	v = hi | lo << 32;                                 /* 2 lanes of 4 digits */
	q = ((v * 10486) >> 20) & UINT64_C(0x0000007F0000007F);
	v = q | (v - q * 100) << 16;                       /* 4 lanes of 2 digits */
	t = ((v * 103) >> 10) & UINT64_C(0x000F000F000F000F);
	v = t | (v - t * 10) << 8;                         /* 8 lanes of 1 digit */
	return v + UINT64_C(0x3030303030303030);
}

static inline void store_le(char *out, uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	memcpy(out, &w, sizeof(w));
}

/* Eight digits a word, the last words first, the first word shifted to
 * drop its leading zeros and stored before them (the later stores
 * overlap what it wrote past its digits). */
size_t numfmt_u64(char *out, uint64_t v)
{
	size_t n;
	uint64_t hi, lo;

	if (v < 100) {
		if (v < 10) {
			out[0] = (char)('0' + v);
			return 1;
		}
		memcpy(out, digit_pairs + 2 * v, 2);
		return 2;
	}
	if (v < 10000) { /* a pair or a digit, then a pair */
		uint32_t top = (uint32_t)v / 100, low = (uint32_t)v - top * 100;

		n = top < 10 ? 1 : 2;
		if (top < 10)
			out[0] = (char)('0' + top);
		else
			memcpy(out, digit_pairs + 2 * top, 2);
		memcpy(out + n, digit_pairs + 2 * low, 2);
		return n + 2;
	}
	n = digit_count(v);
	if (n <= 8) {
		store_le(out, eight_digits((uint32_t)v) >> (8 * (8 - n)));
		return n;
	}
	hi = v / 100000000;
	lo = v - hi * 100000000;
	if (n <= 16) {
		store_le(out, eight_digits((uint32_t)hi) >> (8 * (16 - n)));
		store_le(out + n - 8, eight_digits((uint32_t)lo));
		return n;
	}
	store_le(out, eight_digits((uint32_t)(hi / 100000000)) >> (8 * (24 - n)));
	store_le(out + n - 16, eight_digits((uint32_t)(hi % 100000000)));
	store_le(out + n - 8, eight_digits((uint32_t)lo));
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

/* '.' and v < 10^6 as six digits: seven bytes, by two overlapping
 * four-byte stores (an eight-byte one would pass NUMFMT_FIXED6_MAX). */
static void dot_six_digits(char *out, uint32_t v)
{
	/* "00dddddd" >> 8 is "0dddddd" and a zero; the '0' becomes the '.' */
	uint64_t w = ((eight_digits(v) >> 8) & ~UINT64_C(0xFF)) | '.';
	uint32_t a = (uint32_t)w, b = (uint32_t)(w >> 24);

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	a = __builtin_bswap32(a);
	b = __builtin_bswap32(b);
#endif
	memcpy(out, &a, sizeof(a));
	memcpy(out + 3, &b, sizeof(b));
}

/* |v| = m / 2^s with 4 <= |v| < 2^53 (s from 1 to 50): the whole part and
 * the millionths, rounded to the nearest, ties to even, in 64-bit
 * arithmetic. The fraction's bits f < 2^s, so f * 10^6 / 2^s =
 * f * 15625 / 2^(s - 6) and f * 15625 < 2^64. Timestamps take this way;
 * micro_part, in 128 bits, takes the rest. */
static void split_fast(uint64_t m, unsigned s, uint64_t *whole, uint64_t *micro)
{
	uint64_t f = m & ((UINT64_C(1) << s) - 1), prod = f * 15625u, q, rest, half;
	unsigned shift;

	*whole = m >> s;
	if (s <= 6) { /* exact: a multiple of 2^-6 */
		*micro = prod << (6 - s);
		return;
	}
	shift = s - 6;
	q = prod >> shift;
	rest = prod & ((UINT64_C(1) << shift) - 1);
	half = UINT64_C(1) << (shift - 1);
	if (rest > half || (rest == half && (q & 1)))
		q++;
	*micro = q;
}

/* The whole part of the last value this thread formatted, in digits:
 * timestamps come in order, many to a second, so most share their whole
 * seconds with the one before and only the decimals need formatting. */
static _Thread_local struct {
	uint64_t whole; /* UINT64_MAX: none yet (never a whole part here) */
	size_t n;
	char digits[NUMFMT_U64_MAX];
} last_whole = { .whole = UINT64_MAX };

/* A value as "%.6f" prints it: sign, whole part, millionths (which may
 * reach 10^6 before the carry into the whole part). */
struct fixed6 {
	uint64_t whole, micro;
	bool neg;
	bool ok; /* false: not finite, or not below 2^53 */
};

/* |v| < 4, and the other values numfmt_fixed6 takes, none of them a
 * timestamp: in 128 bits from a - floor(a). Out of line, so the usual
 * way saves no registers for it. */
static __attribute__((noinline)) struct fixed6 split_slow(double v)
{
	struct fixed6 r = { .ok = false };
	double a, ip;

	if (!isfinite(v) || fabs(v) >= 9007199254740992.0)
		return r;
	r.ok = true;
	r.neg = signbit(v);
	a = fabs(v);
	r.whole = (uint64_t)a; /* floor: a >= 0 and below 2^53, so exact */
	ip = (double)r.whole;
	/* a - ip is exact: both lie in one binade or ip is 0. */
	r.micro = micro_part(a - ip);
	return r;
}

/* last_whole made the digits of whole (a cache miss, once a second). */
static __attribute__((noinline)) void last_whole_set(uint64_t whole)
{
	last_whole.n = numfmt_u64(last_whole.digits, whole);
	last_whole.whole = whole;
}

size_t numfmt_fixed6(char *out, double v)
{
	struct fixed6 r;
	uint64_t bits;
	unsigned biased;
	size_t n;

	memcpy(&bits, &v, sizeof(bits));
	biased = (unsigned)((bits >> 52) & 0x7FF);
	if (biased >= 1025 && biased <= 1074) { /* 4 <= |v| < 2^52 */
		r.neg = bits >> 63;
		split_fast((bits & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1) << 52),
			   1075 - biased, &r.whole, &r.micro);
	} else {
		r = split_slow(v);
		if (!r.ok)
			return 0;
	}
	n = 0;
	if (r.neg)
		out[n++] = '-';
	if (r.micro >= 1000000) {
		r.micro -= 1000000;
		r.whole++;
	}
	if (r.whole != last_whole.whole)
		last_whole_set(r.whole);
	/* whole < 2^53: at most 16 digits, copied as one block (out has room) */
	memcpy(out + n, last_whole.digits, 16);
	n += last_whole.n;
	dot_six_digits(out + n, (uint32_t)r.micro);
	return n + 7;
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
