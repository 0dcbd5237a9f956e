#include "util/crc32.h"

#include <zlib.h>

/* Below this the folding's set-up costs more than it saves. */
#define FOLD_MIN 256

static uint32_t crc32_tables(uint32_t crc, const uint8_t *p, size_t n)
{
	/* zlib's crc32 takes a uInt length: large buffers go in pieces. */
	while (n) {
		uInt part = n > (1u << 30) ? (1u << 30) : (uInt)n;

		crc = (uint32_t)crc32(crc, p, part);
		p += part;
		n -= part;
	}
	return crc;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* Folding (Intel, "Fast CRC Computation for Generic Polynomials Using
 * PCLMULQDQ Instruction", 2009), bit-reflected. The constants are powers
 * of x modulo the polynomial, bit-reflected and shifted left by one (the
 * unit test recomputes them): k1 = x^(4*128+32), k2 = x^(4*128-32) fold
 * 512 bits onto the next 512; k3 = x^(128+32), k4 = x^(128-32) fold 128
 * bits onto the next 128; k5 = x^64 reduces 64 bits to 32 + 32; then a
 * Barrett reduction by P = 0x1DB710641 with mu = floor(x^64 / P). */
#define K1 0x154442bd4ull
#define K2 0x1c6e41596ull
#define K3 0x1751997d0ull
#define K4 0x0ccaa009eull
#define K5 0x163cd6124ull
#define POLY 0x1db710641ull
#define MU 0x1f7011641ull

__attribute__((target("pclmul,sse4.1"))) static inline __m128i fold(__m128i x, __m128i k,
									 __m128i next)
{
	__m128i lo = _mm_clmulepi64_si128(x, k, 0x00);
	__m128i hi = _mm_clmulepi64_si128(x, k, 0x11);

	return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

/* The raw (not inverted) CRC state over p[0..n), n >= 64 and a multiple
 * of 16. */
__attribute__((target("pclmul,sse4.1"))) static uint32_t crc32_fold(uint32_t state,
								  const uint8_t *p, size_t n)
{
	const __m128i k12 = _mm_set_epi64x((long long)K2, (long long)K1);
	const __m128i k34 = _mm_set_epi64x((long long)K4, (long long)K3);
	const __m128i k5 = _mm_set_epi64x(0, (long long)K5);
	const __m128i pmu = _mm_set_epi64x((long long)MU, (long long)POLY);
	const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
	__m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
	__m128i x2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
	__m128i x3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
	__m128i t;

	x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)state));
	p += 64;
	n -= 64;
	while (n >= 64) {
		x0 = fold(x0, k12, _mm_loadu_si128((const __m128i *)(const void *)p));
		x1 = fold(x1, k12, _mm_loadu_si128((const __m128i *)(const void *)(p + 16)));
		x2 = fold(x2, k12, _mm_loadu_si128((const __m128i *)(const void *)(p + 32)));
		x3 = fold(x3, k12, _mm_loadu_si128((const __m128i *)(const void *)(p + 48)));
		p += 64;
		n -= 64;
	}
	x0 = fold(x0, k34, x1);
	x0 = fold(x0, k34, x2);
	x0 = fold(x0, k34, x3);
	while (n >= 16) {
		x0 = fold(x0, k34, _mm_loadu_si128((const __m128i *)(const void *)p));
		p += 16;
		n -= 16;
	}
	/* 128 bits to 64 (with 32 zero bits appended) */
	t = _mm_clmulepi64_si128(x0, k34, 0x10);
	x0 = _mm_xor_si128(_mm_srli_si128(x0, 8), t);
	/* 64 to 32 + 32 */
	t = _mm_srli_si128(x0, 4);
	x0 = _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), k5, 0x00);
	x0 = _mm_xor_si128(x0, t);
	/* Barrett: 64 to 32 */
	t = x0;
	x0 = _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), pmu, 0x10);
	x0 = _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), pmu, 0x00);
	x0 = _mm_xor_si128(x0, t);
	return (uint32_t)_mm_extract_epi32(x0, 1);
}

static int can_fold(void)
{
	return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}
#endif

uint32_t imw_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
#if defined(__x86_64__) || defined(__i386__)
	if (n >= FOLD_MIN && can_fold()) {
		size_t m = n & ~(size_t)15;

		/* zlib's value is the inverted state, in and out */
		crc = ~crc32_fold(~crc, p, m);
		return crc32_tables(crc, p + m, n - m);
	}
#endif
	return crc32_tables(crc, p, n);
}
