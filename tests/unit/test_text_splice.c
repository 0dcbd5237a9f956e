/* text_splice: only the changed characters of a text are written anew,
 * whatever encoding the codec reads (literal runs, atoms, markup). */
#include <stdlib.h>
#include <string.h>

#include "proto/text_splice.h"
#include "testlib.h"

/* A toy wire format: "\x" escapes one character (an atom), "|" is markup,
 * the rest literal. */
static bool unit_toy(void *arg, const uint8_t *raw, size_t len, size_t pos, struct text_unit *u,
		     struct bytebuf *text)
{
	(void)arg;
	u->ctx = 0;
	if (raw[pos] == '|') {
		u->raw_len = 1;
		u->kind = TEXT_MARKUP;
		return true;
	}
	if (raw[pos] == '\\') {
		if (len - pos < 2)
			return false;
		u->raw_len = 2;
		u->kind = TEXT_ATOM;
		return bytebuf_append_byte(text, raw[pos + 1]);
	}
	u->raw_len = 1;
	u->kind = TEXT_LITERAL;
	return bytebuf_append_byte(text, raw[pos]);
}

static bool encode_toy(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out)
{
	size_t i;

	(void)arg;
	(void)ctx;
	for (i = 0; i < n; i++)
		if ((text[i] == '|' || text[i] == '\\') && !bytebuf_append_byte(out, '\\'))
			return false;
		else if (!bytebuf_append_byte(out, (uint8_t)text[i]))
			return false;
	return true;
}

/* Splice raw (reading old) to new_text; want NULL for a refusal. */
static void splice(const char *raw, const char *old, const char *new_text, const char *want)
{
	struct text_codec c = { unit_toy, encode_toy, NULL };
	struct bytebuf out;
	int rc;

	bytebuf_init(&out);
	CHECK(bytebuf_append_str(&out, "head:"));
	rc = text_splice(&c, (const uint8_t *)raw, strlen(raw), old, strlen(old), new_text,
			 strlen(new_text), &out);
	CHECK(bytebuf_terminate(&out));
	if (want) {
		CHECK_INT_EQ(rc, 0);
		CHECK_STR_EQ((const char *)out.data + 5, want);
	} else {
		CHECK_INT_EQ(rc, -1);
		CHECK_STR_EQ((const char *)out.data, "head:"); /* out as it was */
	}
	bytebuf_free(&out);
}

static void test_same_length_runs(void)
{
	splice("a frak b frak c", "a frak b frak c", "a **** b **** c", "a **** b **** c");
	/* An escape outside the words keeps its bytes; one inside is rewritten whole. */
	splice("\\a fr\\ak |b| \\|", "a frak b |", "a **** b |", "\\a **** |b| \\|");
	splice("x|y", "xy", "**", "*|*");
	splice("same", "same", "same", "same");
}

static void test_length_change(void)
{
	splice("ab|cd", "abcd", "abXXcd", "ab|XXcd");
	splice("abcd|", "abcd", "abcd!", "abcd!|");
	/* A change around markup cannot say where the mark goes. */
	splice("ab|cd", "abcd", "aXd", NULL);
}

static void test_refusals(void)
{
	/* The codec reads something else than the caller's old text. */
	splice("abc", "abd", "xyz", NULL);
	/* A malformed unit. */
	splice("ab\\", "ab", "xy", NULL);
}

static void test_utf8_boundaries(void)
{
	struct text_codec c = { text_unit_latin1, text_encode_latin1, NULL };
	struct bytebuf out;

	/* Latin-1 "caf\xe9 frak": the word changes, the e-acute keeps its byte. */
	bytebuf_init(&out);
	CHECK_INT_EQ(text_splice(&c, (const uint8_t *)"caf\xe9 frak", 9, "caf\xc3\xa9 frak", 10,
				 "caf\xc3\xa9 ****", 10, &out),
		     0);
	CHECK_INT_EQ(out.len, 9);
	CHECK_MEM_EQ(out.data, "caf\xe9 ****", 9);
	/* A character Latin-1 cannot carry: refused, the caller re-encodes. */
	bytebuf_clear(&out);
	CHECK_INT_EQ(text_splice(&c, (const uint8_t *)"caf\xe9", 4, "caf\xc3\xa9", 5,
				 "caf\xc4\x9b", 5, &out),
		     -1);
	bytebuf_free(&out);
	/* UTF-16BE: two units changed, the others kept. */
	c.next = text_unit_utf16be;
	c.encode = text_encode_utf16be;
	bytebuf_init(&out);
	CHECK_INT_EQ(text_splice(&c, (const uint8_t *)"\0a\0b\0c", 6, "abc", 3, "a**", 3, &out), 0);
	CHECK_INT_EQ(out.len, 6);
	CHECK_MEM_EQ(out.data, "\0a\0*\0*", 6);
	bytebuf_free(&out);
}

int main(void)
{
	RUN_TEST(test_same_length_runs);
	RUN_TEST(test_length_change);
	RUN_TEST(test_refusals);
	RUN_TEST(test_utf8_boundaries);
	TEST_MAIN_END();
}
