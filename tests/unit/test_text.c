/* util/text.c's UTF-8 checks, which look at eight bytes at a time, against
 * a byte-at-a-time reference on many inputs: ASCII runs of every length
 * around the word size, every kind of invalid sequence (overlong,
 * surrogate, above U+10FFFF, truncated, stray continuation) at every
 * offset, and random mixtures. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "util/text.h"
#include "testlib.h"

static uint64_t rng = 0x243F6A8885A308D3ull;

static uint32_t rnd(void)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng >> 33);
}

/* The reference: one byte at a time, the rules of RFC 3629. */
static size_t ref_seq_len(const uint8_t *p, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		len = 2, cp = p[0] & 0x1F;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		len = 3, cp = p[0] & 0x0F;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

static bool ref_valid(const uint8_t *p, size_t n)
{
	size_t i = 0, l;

	while (i < n) {
		l = ref_seq_len(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

/* Valid bytes as they are, each byte of an invalid sequence as Latin-1. */
static size_t ref_or_latin1(const uint8_t *p, size_t n, uint8_t *out)
{
	size_t i = 0, o = 0, l;

	while (i < n) {
		l = ref_seq_len(p + i, n - i);
		if (l) {
			memcpy(out + o, p + i, l);
			o += l;
			i += l;
		} else {
			out[o++] = (uint8_t)(0xC0 | (p[i] >> 6));
			out[o++] = (uint8_t)(0x80 | (p[i] & 0x3F));
			i++;
		}
	}
	return o;
}

static const char *const pieces[] = {
	"a", "hello ", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", /* valid */
	"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", /* invalid */
	"\x80", "\xbf", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xff", "\xfe", "\x7f", "\x01",
	"01234567", "abcdefghijklmnop",
};

static int mismatches;

static void compare(const uint8_t *p, size_t n)
{
	uint8_t *want = malloc(2 * n + 1);
	size_t wn = ref_or_latin1(p, n, want);
	char *got = text_utf8_or_latin1(p, n), *field = NULL;

	if (text_is_valid_utf8(p, n) != ref_valid(p, n) && mismatches++ < 5)
		fprintf(stderr, "  valid_utf8 differs on %zu bytes\n", n);
	if ((!got || strlen(got) != wn || memcmp(got, want, wn) != 0) && mismatches++ < 5)
		fprintf(stderr, "  utf8_or_latin1 differs on %zu bytes\n", n);
	if (got && !text_is_valid_utf8((const uint8_t *)got, strlen(got)) && mismatches++ < 5)
		fprintf(stderr, "  utf8_or_latin1 made invalid UTF-8\n");
	/* the same through an event field (the scratch block, or the heap) */
	if ((!event_set_text_brief(&field, p, n) || strlen(field) != wn ||
	     memcmp(field, want, wn) != 0) &&
	    mismatches++ < 5)
		fprintf(stderr, "  event_set_text_brief differs on %zu bytes\n", n);
	event_take(&field, NULL);
	free(got);
	free(want);
}

static void test_every_piece_at_every_offset(void)
{
	uint8_t buf[64];
	size_t k, off, pl;

	mismatches = 0;
	for (k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		pl = strlen(pieces[k]);
		for (off = 0; off < 24; off++) {
			memset(buf, 'x', off);
			memcpy(buf + off, pieces[k], pl);
			memset(buf + off + pl, 'y', 9);
			compare(buf, off + pl);
			compare(buf, off + pl + 9);
		}
	}
	CHECK_INT_EQ(mismatches, 0);
}

static void test_random_mixtures(void)
{
	uint8_t buf[512];
	unsigned round;

	mismatches = 0;
	for (round = 0; round < 100000; round++) {
		size_t n = 0, pl;

		while (n < 200) {
			const char *piece = pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))];

			if (rnd() % 8 == 0) {
				buf[n++] = (uint8_t)(rnd() % 255 + 1); /* any byte but NUL (C strings) */
				continue;
			}
			pl = strlen(piece);
			memcpy(buf + n, piece, pl);
			n += pl;
		}
		compare(buf, n - rnd() % 8);
	}
	CHECK_INT_EQ(mismatches, 0);
}

int main(void)
{
	RUN_TEST(test_every_piece_at_every_offset);
	RUN_TEST(test_random_mixtures);
	TEST_MAIN_END();
}
