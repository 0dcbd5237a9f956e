/* util/numfmt.c against snprintf on many values: edge cases, timestamps
 * as capture files and clocks give them, exact ties (which printf rounds
 * to even), random bit patterns, and every integer width. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/numfmt.h"
#include "testlib.h"
#include "xorshift.h"

static struct xorshift64 rng = { 0x9E3779B97F4A7C15ull };

static uint64_t rnd(void)
{
	return xorshift64_next(&rng);
}

static int fixed6_mismatches;

static void check_fixed6(double v)
{
	char want[64], got[NUMFMT_FIXED6_MAX + 1];
	size_t n;

	snprintf(want, sizeof(want), "%.6f", v);
	n = numfmt_fixed6(got, v);
	if (n == 0 && fabs(v) >= 9007199254740992.0)
		return; /* out of its range: the caller formats it with snprintf */
	if (n == 0 || n > NUMFMT_FIXED6_MAX) {
		if (fixed6_mismatches++ < 10)
			fprintf(stderr, "  fixed6(%a): no output (want %s)\n", v, want);
		return;
	}
	got[n] = '\0';
	if (strcmp(want, got) != 0 && fixed6_mismatches++ < 10)
		fprintf(stderr, "  fixed6(%a): got %s want %s\n", v, got, want);
}

static int int_mismatches;

static void check_u64(uint64_t v)
{
	char want[32], got[NUMFMT_U64_MAX + 1], gotp[NUMFMT_U64_MAX + 1], wantp[32];
	size_t n;
	unsigned width = (unsigned)(v % 21);

	snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
	n = numfmt_u64(got, v);
	got[n] = '\0';
	if (strcmp(want, got) != 0 && int_mismatches++ < 10)
		fprintf(stderr, "  u64: got %s want %s\n", got, want);
	snprintf(wantp, sizeof(wantp), "%0*llu", (int)width, (unsigned long long)v);
	n = numfmt_u64_pad(gotp, v, width);
	gotp[n] = '\0';
	if (strcmp(wantp, gotp) != 0 && int_mismatches++ < 10)
		fprintf(stderr, "  u64_pad %u: got %s want %s\n", width, gotp, wantp);
}

static void check_i64(int64_t v)
{
	char want[32], got[NUMFMT_I64_MAX + 1];
	size_t n;

	snprintf(want, sizeof(want), "%lld", (long long)v);
	n = numfmt_i64(got, v);
	got[n] = '\0';
	if (strcmp(want, got) != 0 && int_mismatches++ < 10)
		fprintf(stderr, "  i64: got %s want %s\n", got, want);
}

static void test_integers(void)
{
	static const uint64_t edges[] = { 0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65535, 65536,
					  4294967295ull, 4294967296ull, 9999999999999999999ull,
					  10000000000000000000ull, UINT64_MAX - 1, UINT64_MAX };
	uint64_t p;
	size_t i;

	int_mismatches = 0;
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		check_u64(edges[i]);
		check_i64((int64_t)edges[i]);
	}
	check_i64(INT64_MIN);
	check_i64(INT64_MIN + 1);
	check_i64(INT64_MAX);
	check_i64(-1);
	for (p = 1; p && p <= UINT64_MAX / 10; p *= 10) {
		check_u64(p - 1);
		check_u64(p);
		check_u64(p + 1);
		check_i64(-(int64_t)p);
	}
	for (i = 0; i < 200000; i++) {
		uint64_t r = rnd();

		check_u64(r >> (r & 63));
		check_i64((int64_t)(rnd() >> (r & 63)) * ((r & 64) ? -1 : 1));
	}
	CHECK_INT_EQ(int_mismatches, 0);
}

static void test_fixed6_edges(void)
{
	static const double edges[] = {
		0.0, -0.0, 1.0, -1.0, 0.5, 0.0000005, 0.0000015, 0.0000025, 0.9999995, 0.99999949999,
		0.9999999, 1.9999999, 1e-7, -1e-9, 1e-300, 4.9e-324, 123.456, 1700000000.5,
		1700000000.123456, 1700000000.1234565, 1700000000.9999995, 1700000000.999999,
		4294967295.999999, 9007199254740991.0, 9007199254740990.5, 4503599627370495.5,
		1234567890.0000005, 0.0078125, /* 7812.5 millionths: a tie, to even */
		0.0234375, /* 23437.5 */ 0.5000005, 2.0000005,
	};
	size_t i;
	int k;

	fixed6_mismatches = 0;
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		check_fixed6(edges[i]);
		check_fixed6(-edges[i]);
		check_fixed6(nextafter(edges[i], 0));
		check_fixed6(nextafter(edges[i], INFINITY));
	}
	/* Every exact tie n/2^k millionths for small k. */
	for (k = 1; k <= 12; k++) {
		unsigned n;

		for (n = 1; n < 4096; n += 2)
			check_fixed6(ldexp((double)n, -k) / 1e6 * 1e6 / 1e6);
		for (n = 1; n < 64; n++)
			check_fixed6(ldexp((double)n, -(k + 6)));
	}
	CHECK_INT_EQ(fixed6_mismatches, 0);
	{
		char out[NUMFMT_FIXED6_MAX];

		CHECK_INT_EQ(numfmt_fixed6(out, NAN), 0);
		CHECK_INT_EQ(numfmt_fixed6(out, INFINITY), 0);
		CHECK_INT_EQ(numfmt_fixed6(out, 9007199254740992.0), 0);
		CHECK_INT_EQ(numfmt_fixed6(out, -1e300), 0);
	}
}

static void test_fixed6_timestamps(void)
{
	unsigned i;

	fixed6_mismatches = 0;
	/* What capture files give: seconds + microseconds / 1e6. */
	for (i = 0; i < 300000; i++) {
		uint64_t s = 946684800 + rnd() % 2000000000ull, us = rnd() % 1000000;

		check_fixed6((double)s + (double)us / 1e6);
	}
	/* What clock_gettime gives: nanoseconds. */
	for (i = 0; i < 300000; i++) {
		uint64_t s = rnd() % 4000000000ull, ns = rnd() % 1000000000ull;

		check_fixed6((double)s + (double)ns / 1e9);
	}
	CHECK_INT_EQ(fixed6_mismatches, 0);
}

/* In order, as a capture gives them: many to a second (numfmt keeps the
 * last whole part's digits), a carry into the next second by rounding,
 * the same whole part with the other sign, the slow way (|v| < 4) between
 * two of the same second. */
static void test_fixed6_in_order(void)
{
	static const double seq[] = { 1700000000.000001, 1700000000.5, 1700000000.9999994,
				      1700000000.9999996, 1700000001.0, 1700000001.25,
				      -1700000001.25, 1700000001.75, 3.5, 1700000001.875,
				      99999999.9999996, 100000000.0, 0.0, -0.0, 1700000001.5 };
	uint64_t s, us;
	size_t i;

	fixed6_mismatches = 0;
	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		check_fixed6(seq[i]);
	for (s = 1699999990, us = 0; s < 1700000010; us += 1 + rnd() % 50000) {
		if (us >= 1000000) {
			us -= 1000000;
			s++;
		}
		check_fixed6((double)s + (double)us / 1e6);
	}
	CHECK_INT_EQ(fixed6_mismatches, 0);
}

static void test_fixed6_random_bits(void)
{
	unsigned i;

	fixed6_mismatches = 0;
	for (i = 0; i < 500000; i++) {
		double v;
		uint64_t bits = rnd();

		memcpy(&v, &bits, sizeof(v));
		if (!isfinite(v) || fabs(v) >= 9007199254740992.0) {
			/* Keep the mantissa, bring the exponent into range. */
			v = ldexp(frexp(v, &(int){ 0 }), (int)(rnd() % 80) - 30);
			if (!isfinite(v))
				continue;
		}
		check_fixed6(v);
	}
	CHECK_INT_EQ(fixed6_mismatches, 0);
}

/* Every byte value, at every position of a 32-byte hash, as "%02x". */
static void test_hex(void)
{
	uint8_t h[32];
	char got[2 * sizeof(h) + 1], want[2 * sizeof(h) + 1];
	int round, i, bad = 0;

	for (round = 0; round < 64; round++) {
		for (i = 0; i < (int)sizeof(h); i++)
			h[i] = round < 8 ? (uint8_t)(round * 32 + i) : (uint8_t)(rnd() >> 56);
		for (i = 0; i < (int)sizeof(h); i++)
			snprintf(want + 2 * i, 3, "%02x", h[i]);
		memset(got, 'X', sizeof(got));
		CHECK_INT_EQ(numfmt_hex(got, h, sizeof(h)), 2 * sizeof(h));
		if (memcmp(got, want, sizeof(got)) != 0)
			bad++;
	}
	CHECK_INT_EQ(bad, 0);
	CHECK_INT_EQ(numfmt_hex(got, h, 0), 0);
	CHECK_INT_EQ(got[0], '\0');
}

int main(void)
{
	RUN_TEST(test_integers);
	RUN_TEST(test_fixed6_edges);
	RUN_TEST(test_fixed6_timestamps);
	RUN_TEST(test_fixed6_in_order);
	RUN_TEST(test_fixed6_random_bits);
	RUN_TEST(test_hex);
	TEST_MAIN_END();
}
