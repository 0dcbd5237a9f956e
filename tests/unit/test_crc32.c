/* util/crc32.c (libdeflate's CRC-32) against zlib's crc32: the check
 * value, every length to 1200 bytes (past the widths its folding works
 * in) at every alignment, chained calls, a large buffer: the log's
 * frames must read back under either. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/crc32.h"
#include "testlib.h"
#include "xorshift.h"

static struct xorshift64 rng = { 0x243F6A8885A308D3ull };

static uint64_t rnd(void)
{
	return xorshift64_next(&rng);
}

static void fill(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(rnd() >> 56);
}

static uint32_t zlib_crc(uint32_t crc, const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(crc, p, (uInt)n);
}

static void test_check_value(void)
{
	const char *s = "123456789";

	CHECK_INT_EQ(imw_crc32(0, (const uint8_t *)s, 9), 0xCBF43926u);
	CHECK_INT_EQ(imw_crc32(0, NULL, 0), 0);
	CHECK_INT_EQ(imw_crc32(0x12345678u, NULL, 0), 0x12345678u);
}

static void test_lengths_and_alignments(void)
{
	enum { MAX = 1200, ALIGN = 16 };
	uint8_t *buf = malloc(MAX + ALIGN);
	size_t len, off;
	int bad = 0;

	CHECK(buf != NULL);
	if (!buf)
		return;
	fill(buf, MAX + ALIGN);
	for (off = 0; off < ALIGN; off++)
		for (len = 0; len <= MAX; len++) {
			uint32_t seed = (uint32_t)rnd();

			if (imw_crc32(0, buf + off, len) != zlib_crc(0, buf + off, len) ||
			    imw_crc32(seed, buf + off, len) != zlib_crc(seed, buf + off, len))
				bad++;
		}
	CHECK_INT_EQ(bad, 0);
	/* all ones and all zeros, where a wrong fold shows as a constant */
	memset(buf, 0xFF, MAX);
	CHECK_INT_EQ(imw_crc32(0, buf, MAX), zlib_crc(0, buf, MAX));
	memset(buf, 0, MAX);
	CHECK_INT_EQ(imw_crc32(0, buf, MAX), zlib_crc(0, buf, MAX));
	free(buf);
}

static void test_chained_and_large(void)
{
	size_t n = 3u * 1024 * 1024 + 7, cut;
	uint8_t *buf = malloc(n);
	uint32_t whole, c;
	int i;

	CHECK(buf != NULL);
	if (!buf)
		return;
	fill(buf, n);
	whole = zlib_crc(0, buf, n);
	CHECK_INT_EQ(imw_crc32(0, buf, n), whole);
	for (i = 0; i < 50; i++) {
		cut = (size_t)(rnd() % n);
		c = imw_crc32(0, buf, cut);
		CHECK_INT_EQ(imw_crc32(c, buf + cut, n - cut), whole);
	}
	free(buf);
}

int main(void)
{
	RUN_TEST(test_check_value);
	RUN_TEST(test_lengths_and_alignments);
	RUN_TEST(test_chained_and_large);
	TEST_MAIN_END();
}
