/* The sequence map: translation both ways, output construction for new
 * and retransmitted segments, acknowledgement and collapse, wrap-around. */
#include <stdlib.h>
#include <string.h>

#include "seqmap/seqmap.h"
#include "testlib.h"

static void build(const struct seqmap *m, uint64_t in, const char *data, size_t len,
		  uint64_t *out_start, struct bytebuf *b)
{
	bytebuf_clear(b);
	CHECK_INT_EQ(seqmap_build_output(m, in, (const uint8_t *)data, len, out_start, b), 0);
}

static void test_identity(void)
{
	struct seqmap m;

	seqmap_init(&m, 1000);
	CHECK(seqmap_is_identity(&m));
	CHECK_INT_EQ(seqmap_out_of_in(&m, 50), 50);
	CHECK_INT_EQ(seqmap_in_of_out(&m, 50), 50);
	CHECK_INT_EQ(seqmap_in_offset(&m, 1010), 10);
	CHECK_INT_EQ(seqmap_seq_of(&m, 10), 1010);
	seqmap_free(&m);
}

static void test_replace_longer_then_shorter(void)
{
	/* input:  "hello world, bye" ; "world" -> "WORLD!!" ; "bye" -> "b" */
	const char *in = "hello world, bye";
	struct seqmap m;
	struct bytebuf b;
	uint64_t os;

	bytebuf_init(&b);
	seqmap_init(&m, 0);
	CHECK_INT_EQ(seqmap_add_edit(&m, 6, 5, (const uint8_t *)"WORLD!!", 7), 0);
	CHECK_INT_EQ(seqmap_add_edit(&m, 13, 3, (const uint8_t *)"b", 1), 0);
	CHECK(!seqmap_is_identity(&m));
	/* an edit before the last one is refused */
	CHECK_INT_EQ(seqmap_add_edit(&m, 2, 1, (const uint8_t *)"x", 1), -1);

	build(&m, 0, in, 16, &os, &b);
	CHECK_INT_EQ(os, 0);
	CHECK_INT_EQ(b.len, 16);
	CHECK_MEM_EQ(b.data, "hello WORLD!!, b", 16);

	/* Segments that cut through an edit each carry its whole replacement
	 * at the same output place: overlapping copies are identical. */
	build(&m, 0, in, 8, &os, &b);
	CHECK_INT_EQ(os, 0);
	CHECK_INT_EQ(b.len, 13);
	CHECK_MEM_EQ(b.data, "hello WORLD!!", 13);
	build(&m, 8, in + 8, 6, &os, &b);
	CHECK_INT_EQ(os, 6);
	CHECK_INT_EQ(b.len, 10);
	CHECK_MEM_EQ(b.data, "WORLD!!, b", 10);
	build(&m, 11, in + 11, 2, &os, &b);
	CHECK_INT_EQ(os, 13);
	CHECK_MEM_EQ(b.data, ", ", 2);
	build(&m, 14, in + 14, 2, &os, &b);
	CHECK_INT_EQ(os, 15);
	CHECK_INT_EQ(b.len, 1);
	CHECK_MEM_EQ(b.data, "b", 1);

	CHECK_INT_EQ(seqmap_out_of_in(&m, 11), 13);
	CHECK_INT_EQ(seqmap_out_of_in(&m, 16), 16);
	CHECK_INT_EQ(seqmap_out_of_in(&m, 20), 20);
	CHECK_INT_EQ(seqmap_in_of_out(&m, 13), 11);
	CHECK_INT_EQ(seqmap_in_of_out(&m, 20), 20);
	/* an ack inside a replacement maps proportionally into the edit's
	 * input, never to its end; a SACK right edge maps to its start */
	CHECK_INT_EQ(seqmap_in_of_out(&m, 9), 8);
	CHECK_INT_EQ(seqmap_in_of_out(&m, 12), 10);
	CHECK_INT_EQ(seqmap_in_of_out(&m, 6), 6);
	CHECK_INT_EQ(seqmap_in_of_out_right(&m, 9), 6);
	CHECK_INT_EQ(seqmap_in_of_out_left(&m, 9), 11);
	seqmap_free(&m);
	bytebuf_free(&b);
}

static void test_delete_and_insert(void)
{
	const char *in = "AAAABBBBCCCC";
	struct seqmap m;
	struct bytebuf b;
	uint64_t os;

	bytebuf_init(&b);
	seqmap_init(&m, 0);
	CHECK_INT_EQ(seqmap_add_edit(&m, 4, 4, NULL, 0), 0);                    /* drop BBBB */
	CHECK_INT_EQ(seqmap_add_edit(&m, 12, 0, (const uint8_t *)"<ins>", 5), 0); /* after CCCC */
	build(&m, 0, in, 12, &os, &b);
	CHECK_INT_EQ(b.len, 13);
	CHECK_MEM_EQ(b.data, "AAAACCCC<ins>", 13);
	/* the segment that starts at the insertion point does not carry it */
	build(&m, 12, "DD", 2, &os, &b);
	CHECK_INT_EQ(os, 13);
	CHECK_MEM_EQ(b.data, "DD", 2);
	/* ack at the deletion point covers the deleted bytes */
	CHECK_INT_EQ(seqmap_in_of_out(&m, 4), 8);
	/* ack at or inside the insertion: the byte before it stays
	 * unacknowledged, so the segment carrying the insertion goes again */
	CHECK_INT_EQ(seqmap_in_of_out(&m, 8), 11);
	CHECK_INT_EQ(seqmap_in_of_out(&m, 10), 11);
	CHECK_INT_EQ(seqmap_in_of_out(&m, 13), 12);
	CHECK_INT_EQ(seqmap_in_of_out(&m, 15), 14);
	seqmap_free(&m);
	bytebuf_free(&b);
}

/* Found by fuzz_seqmap: two insertions at one place; bytes after them
 * must land after both. */
static void test_two_insertions_at_one_offset(void)
{
	struct seqmap m;
	struct bytebuf b;
	uint64_t os;

	bytebuf_init(&b);
	seqmap_init(&m, 0);
	CHECK_INT_EQ(seqmap_add_edit(&m, 4, 0, (const uint8_t *)"<a>", 3), 0);
	CHECK_INT_EQ(seqmap_add_edit(&m, 4, 0, (const uint8_t *)"<bb>", 4), 0);
	CHECK_INT_EQ(seqmap_out_of_in(&m, 4), 11);
	CHECK_INT_EQ(seqmap_out_of_in(&m, 6), 13);
	build(&m, 0, "AAAA", 4, &os, &b);
	CHECK_INT_EQ(os, 0);
	CHECK_INT_EQ(b.len, 11);
	CHECK_MEM_EQ(b.data, "AAAA<a><bb>", 11);
	build(&m, 4, "BB", 2, &os, &b);
	CHECK_INT_EQ(os, 11);
	CHECK_MEM_EQ(b.data, "BB", 2);
	CHECK_INT_EQ(seqmap_in_of_out(&m, 13), 6);
	seqmap_free(&m);
	bytebuf_free(&b);
}

static void test_acknowledge_collapses(void)
{
	struct seqmap m;
	struct bytebuf b;
	uint64_t os;

	bytebuf_init(&b);
	seqmap_init(&m, 0);
	CHECK_INT_EQ(seqmap_add_edit(&m, 2, 2, (const uint8_t *)"xxxx", 4), 0); /* +2 */
	CHECK_INT_EQ(seqmap_add_edit(&m, 10, 4, (const uint8_t *)"y", 1), 0);  /* -3 */
	CHECK_INT_EQ(m.held_bytes, 5);
	seqmap_acknowledge(&m, 5); /* inside the first replacement: nothing goes */
	CHECK_INT_EQ(m.n_edits, 2);
	seqmap_acknowledge(&m, 6);
	CHECK_INT_EQ(m.n_edits, 1);
	CHECK_INT_EQ(m.base_delta, 2);
	CHECK_INT_EQ(seqmap_out_of_in(&m, 8), 10);
	CHECK_INT_EQ(seqmap_out_of_in(&m, 20), 19);
	/* a retransmission of the second edit's range carries the same byte */
	build(&m, 10, "zzzz", 4, &os, &b);
	CHECK_INT_EQ(os, 12);
	CHECK_INT_EQ(b.len, 1);
	CHECK_MEM_EQ(b.data, "y", 1);
	seqmap_acknowledge(&m, 100);
	CHECK_INT_EQ(m.n_edits, 0);
	CHECK_INT_EQ(m.base_delta, -1);
	CHECK_INT_EQ(m.held_bytes, 0);
	CHECK(!seqmap_is_identity(&m));
	CHECK_INT_EQ(seqmap_in_of_out(&m, 99), 100);
	seqmap_free(&m);
	bytebuf_free(&b);
}

static void test_wraparound(void)
{
	struct seqmap m;
	uint64_t off;

	seqmap_init(&m, 0xFFFFFF00u);
	off = seqmap_in_offset(&m, 0x00000010u);
	CHECK_INT_EQ(off, 0x110);
	CHECK_INT_EQ(seqmap_seq_of(&m, off), 0x10);
	CHECK_INT_EQ(seqmap_add_edit(&m, 0x100, 0x10, (const uint8_t *)"ab", 2), 0);
	/* input seq 0x20 (offset 0x120) goes out at offset 0x112: seq 0x12 */
	CHECK_INT_EQ(seqmap_seq_of(&m, seqmap_out_of_in(&m, seqmap_in_offset(&m, 0x20))), 0x12);
	CHECK_INT_EQ(seqmap_seq_of(&m, seqmap_in_of_out(&m, seqmap_out_offset(&m, 0x12))), 0x20);
	/* an old seq before the base does not underflow */
	seqmap_free(&m);
	seqmap_init(&m, 100);
	CHECK_INT_EQ(seqmap_in_offset(&m, 50), 0);
	seqmap_free(&m);
}

/* Apply random edits to a random stream; cut into random segments; the
 * concatenated output equals the reference, and retransmissions of any
 * segment reproduce exactly the bytes sent first. */
static void test_random_model(void)
{
	unsigned touched = 0, untouched = 0;
	unsigned seed = 12345;
	int iter;

	for (iter = 0; iter < 300 && !testlib_failures_in_test; iter++) {
		size_t n = 200 + (size_t)(rand_r(&seed) % 800), pos = 0, i;
		uint8_t *input = malloc(n);
		struct bytebuf ref, out, seg;
		struct seqmap m;
		uint64_t os, expect_out = 0;
		bool ok = true;

		bytebuf_init(&ref);
		bytebuf_init(&out);
		bytebuf_init(&seg);
		for (i = 0; i < n; i++)
			input[i] = (uint8_t)('a' + rand_r(&seed) % 26);
		seqmap_init(&m, (uint32_t)rand_r(&seed));
		/* edits and the reference output */
		while (pos < n) {
			size_t skip = (size_t)(rand_r(&seed) % 60), del, ins, k;
			uint8_t rep[40];

			if (pos + skip > n)
				skip = n - pos;
			bytebuf_append(&ref, input + pos, skip);
			pos += skip;
			if (pos >= n)
				break;
			del = (size_t)(rand_r(&seed) % 12);
			if (pos + del > n)
				del = n - pos;
			ins = (size_t)(rand_r(&seed) % 12);
			for (k = 0; k < ins; k++)
				rep[k] = (uint8_t)('A' + rand_r(&seed) % 26);
			CHECK_INT_EQ(seqmap_add_edit(&m, pos, del, rep, ins), 0);
			bytebuf_append(&ref, rep, ins);
			pos += del;
		}
		/* Forward in random segments; the receiver writes each segment at
		 * its output offset. Overlapping copies must agree, the result
		 * must equal the reference, and a retransmission reproduces the
		 * segment exactly. */
		pos = 0;
		bytebuf_reserve(&out, ref.len + 64);
		memset(out.data, 0, ref.len + 64);
		while (pos < n) {
			size_t len = 1 + (size_t)(rand_r(&seed) % 50), k;
			struct bytebuf again;
			uint64_t os2;

			if (pos + len > n)
				len = n - pos;
			bytebuf_clear(&seg);
			seqmap_build_output(&m, pos, input + pos, len, &os, &seg);
			if (os > expect_out || os + seg.len > ref.len)
				ok = false;
			for (k = 0; ok && k < seg.len; k++) {
				if (os + k < expect_out && out.data[os + k] != seg.data[k])
					ok = false;
				out.data[os + k] = seg.data[k];
			}
			if (ok && os + seg.len > expect_out)
				expect_out = os + seg.len;
			bytebuf_init(&again);
			seqmap_build_output(&m, pos, input + pos, len, &os2, &again);
			if (os2 != os || again.len != seg.len ||
			    (seg.len && memcmp(again.data, seg.data, seg.len) != 0))
				ok = false;
			/* what the edits unit counts a held packet as carrying */
			if (seqmap_output_len(&m, pos, len) != seg.len)
				ok = false;
			bytebuf_free(&again);
			/* Untouched by any edit, a segment's output is its input
			 * (the engine then sends the packet's own bytes). */
			if (!seqmap_touches(&m, pos, len) &&
			    (seg.len != len || memcmp(seg.data, input + pos, len) != 0 ||
			     os != seqmap_out_of_in(&m, pos)))
				ok = false;
			if (seqmap_touches(&m, pos, len))
				touched++;
			else
				untouched++;
			pos += len;
		}
		out.len = expect_out;
		CHECK(ok);
		CHECK_INT_EQ(out.len, ref.len);
		CHECK(out.len == ref.len && (out.len == 0 || memcmp(out.data, ref.data, out.len) == 0));
		CHECK_INT_EQ(seqmap_in_of_out(&m, ref.len), n);
		seqmap_acknowledge(&m, ref.len);
		CHECK_INT_EQ(m.held_bytes, 0);
		/* only a deletion ending exactly at the ack may stay */
		CHECK(m.n_edits <= 1);
		CHECK_INT_EQ(seqmap_out_of_in(&m, n), ref.len);
		seqmap_free(&m);
		free(input);
		bytebuf_free(&ref);
		bytebuf_free(&out);
		bytebuf_free(&seg);
	}
	CHECK(touched > 0 && untouched > 0); /* both ways were tried */
}

int main(void)
{
	RUN_TEST(test_identity);
	RUN_TEST(test_replace_longer_then_shorter);
	RUN_TEST(test_delete_and_insert);
	RUN_TEST(test_two_insertions_at_one_offset);
	RUN_TEST(test_acknowledge_collapses);
	RUN_TEST(test_wraparound);
	RUN_TEST(test_random_model);
	TEST_MAIN_END();
}
