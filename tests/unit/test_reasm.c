/* TCP reassembly: every test records what the callbacks saw and checks
 * bytes, offsets, gaps and counters. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream/reasm.h"
#include "testlib.h"

#define OUT_MAX    (1 << 16)
#define MAX_EVENTS 8192

struct recorded_event {
	char kind; /* 'D' deliver, 'G' gap */
	uint64_t offset;
	uint64_t len;
	const uint8_t *data;
	double ts;
};

/* What the callbacks saw: the stream laid out by offset (each byte marked
 * delivered or gap), plus the event sequence itself. */
struct recorder {
	uint8_t out[OUT_MAX];
	char state[OUT_MAX];
	uint64_t next; /* where the next event must start */
	int order_errors;
	int range_errors;
	int deliveries;
	int gaps;
	int nevents;
	struct recorded_event events[MAX_EVENTS];
};

static struct recorder rec;

static void record(char kind, uint64_t offset, uint64_t len, const uint8_t *data, double ts)
{
	uint64_t i;

	if (offset != rec.next)
		rec.order_errors++;
	if (len == 0 || offset + len > OUT_MAX) {
		rec.range_errors++;
	} else {
		for (i = 0; i < len; i++) {
			rec.state[offset + i] = kind;
			rec.out[offset + i] = data ? data[i] : 0;
		}
	}
	rec.next = offset + len;
	if (rec.nevents < MAX_EVENTS)
		rec.events[rec.nevents++] = (struct recorded_event){ kind, offset, len, data, ts };
}

static void on_deliver(void *arg, const uint8_t *data, size_t len, uint64_t offset, double ts)
{
	(void)arg;
	rec.deliveries++;
	record('D', offset, len, data, ts);
}

static void on_gap(void *arg, uint64_t offset, uint64_t len)
{
	(void)arg;
	rec.gaps++;
	record('G', offset, len, NULL, 0);
}

/* One reassembler at a time: its context and counters live here, and
 * every call is given the context in use. */
static struct reasm_stats counters;
static struct reasm_context context;
static const struct reasm_context *in_use = &context;

static void setup(struct reasm *r, size_t max_bytes, size_t max_segments)
{
	context = (struct reasm_context){ { max_bytes, max_segments }, { on_deliver, on_gap },
					  &counters };
	memset(&counters, 0, sizeof(counters));
	memset(&rec, 0, sizeof(rec));
	in_use = &context;
	reasm_init(r);
}

static int feed(struct reasm *r, uint32_t seq, const char *s)
{
	return reasm_segment(r, in_use, NULL, seq, (const uint8_t *)s, strlen(s), false, 0);
}

/* The stream seen so far, one character per byte, '_' for gap bytes. */
static bool stream_is(const char *expect)
{
	size_t n = strlen(expect), i;
	bool ok = rec.next == n && !rec.order_errors && !rec.range_errors;

	for (i = 0; ok && i < n; i++) {
		if (expect[i] == '_')
			ok = rec.state[i] == 'G';
		else
			ok = rec.state[i] == 'D' && rec.out[i] == (uint8_t)expect[i];
	}
	if (!ok) {
		fprintf(stderr, "  expected \"%s\"\n  got      \"", expect);
		for (i = 0; i < rec.next && i < OUT_MAX; i++)
			fputc(rec.state[i] == 'G' ? '_' : rec.state[i] == 'D' ? rec.out[i] : '?',
			      stderr);
		fprintf(stderr, "\" (order errors %d, range errors %d)\n", rec.order_errors,
			rec.range_errors);
	}
	return ok;
}

static bool event_is(int i, char kind, uint64_t offset, uint64_t len)
{
	const struct recorded_event *e = &rec.events[i];

	if (i < rec.nevents && e->kind == kind && e->offset == offset && e->len == len)
		return true;
	if (i < rec.nevents)
		fprintf(stderr, "  event %d is %c %llu+%llu, expected %c %llu+%llu\n", i, e->kind,
			(unsigned long long)e->offset, (unsigned long long)e->len, kind,
			(unsigned long long)offset, (unsigned long long)len);
	else
		fprintf(stderr, "  event %d missing (%d events)\n", i, rec.nevents);
	return false;
}

static char *repeat(char c, size_t n)
{
	static char bufs[8][256];
	static int which;
	char *b = bufs[which++ % 8];

	memset(b, c, n);
	b[n] = '\0';
	return b;
}

static void test_in_order(void)
{
	struct reasm r;
	const char *hello = "hello";

	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 1000);
	CHECK(r.started);
	CHECK_INT_EQ(r.next_seq, 1001);
	reasm_segment(&r, in_use, NULL, 1001, (const uint8_t *)hello, 5, false, 1.5);
	feed(&r, 1006, " world");
	CHECK(stream_is("hello world"));
	CHECK_INT_EQ(rec.nevents, 2);
	CHECK(event_is(0, 'D', 0, 5));
	CHECK(event_is(1, 'D', 5, 6));
	CHECK(rec.events[0].data == (const uint8_t *)hello); /* no copy */
	CHECK(rec.events[0].ts == 1.5);
	CHECK_INT_EQ(counters.segments, 2);
	CHECK_INT_EQ(counters.bytes_delivered, 11);
	CHECK_INT_EQ(counters.retransmitted, 0);
	CHECK_INT_EQ(counters.overlaps, 0);
	CHECK_INT_EQ(counters.out_of_order, 0);
	CHECK_INT_EQ(counters.gaps, 0);
	CHECK_INT_EQ(r.next_seq, 1012);
	CHECK_INT_EQ(r.offset, 11);
	CHECK(!r.closed);
	reasm_free(&r);
}

static bool next_permutation(int *a, int n)
{
	int i = n - 2, j, t;

	while (i >= 0 && a[i] >= a[i + 1])
		i--;
	if (i < 0)
		return false;
	j = n - 1;
	while (a[j] <= a[i])
		j--;
	t = a[i], a[i] = a[j], a[j] = t;
	for (i++, j = n - 1; i < j; i++, j--)
		t = a[i], a[i] = a[j], a[j] = t;
	return true;
}

/* Every arrival order of five segments, with the ts of each delivery
 * checked against the segment it came from. */
static void test_reorder_all_permutations(void)
{
	static const char text[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx";
	static const size_t start[5] = { 0, 7, 20, 25, 40 };
	static const size_t len[5] = { 7, 13, 5, 15, 10 };
	int order[5] = { 0, 1, 2, 3, 4 };
	int permutations = 0;

	do {
		struct reasm r;
		bool arrived[5] = { false };
		int contiguous = 0, expected_ooo = 0, i, k;

		setup(&r, 1 << 20, 100);
		reasm_syn(&r, 5000);
		for (k = 0; k < 5; k++) {
			i = order[k];
			if (i > contiguous)
				expected_ooo++;
			arrived[i] = true;
			while (contiguous < 5 && arrived[contiguous])
				contiguous++;
			reasm_segment(&r, in_use, NULL, 5001 + (uint32_t)start[i], (const uint8_t *)text + start[i],
				      len[i], false, 10 + i);
		}
		CHECK(stream_is(text));
		CHECK_INT_EQ(rec.nevents, 5);
		for (i = 0; i < 5 && i < rec.nevents; i++) {
			CHECK(event_is(i, 'D', start[i], len[i]));
			CHECK(rec.events[i].ts == 10 + i);
		}
		CHECK_INT_EQ(counters.out_of_order, expected_ooo);
		CHECK_INT_EQ(counters.overlaps, 0);
		CHECK_INT_EQ(counters.gaps, 0);
		CHECK_INT_EQ(reasm_held_segments(&r), 0);
		CHECK_INT_EQ(reasm_held_bytes(&r), 0);
		CHECK(r.held == NULL);
		if (order[0] == 4 && order[1] == 0 && order[2] == 1 && order[3] == 2)
			CHECK_INT_EQ(counters.out_of_order, 1); /* last first, then in order */
		if (order[0] == 4 && order[1] == 3 && order[2] == 2 && order[3] == 1)
			CHECK_INT_EQ(counters.out_of_order, 4); /* reversed */
		reasm_free(&r);
		permutations++;
	} while (next_permutation(order, 5));
	CHECK_INT_EQ(permutations, 120);
}

static void test_duplicates(void)
{
	struct reasm r;

	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0);
	feed(&r, 1, "abcde");
	feed(&r, 1, "abcde");
	CHECK_INT_EQ(counters.retransmitted, 1);
	feed(&r, 11, "klmno");
	feed(&r, 11, "KLMNO"); /* duplicate of held data: first copy wins */
	CHECK_INT_EQ(counters.out_of_order, 1);
	CHECK_INT_EQ(counters.overlaps, 1);
	CHECK_INT_EQ(reasm_held_segments(&r), 1);
	CHECK_INT_EQ(reasm_held_bytes(&r), 5);
	feed(&r, 6, "fghij");
	feed(&r, 3, "cd");
	CHECK(stream_is("abcdefghijklmno"));
	CHECK_INT_EQ(counters.retransmitted, 2);
	CHECK_INT_EQ(counters.segments, 6);
	CHECK_INT_EQ(counters.bytes_delivered, 15);
	CHECK_INT_EQ(reasm_held_segments(&r), 0);
	reasm_free(&r);
}

static void test_overlap_with_delivered(void)
{
	struct reasm r;

	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0);
	feed(&r, 1, "AAAAAAAAAA");
	feed(&r, 6, "BBBBBBBBBB");
	CHECK(stream_is("AAAAAAAAAABBBBB"));
	CHECK(event_is(1, 'D', 10, 5));
	CHECK_INT_EQ(counters.overlaps, 1);
	CHECK_INT_EQ(counters.retransmitted, 0);
	reasm_free(&r);
}

/* Held X[10,20); Y[5,15) overlaps its front, Z[15,25) its back. */
static void test_overlap_with_held_either_side(void)
{
	struct reasm r;

	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0);
	feed(&r, 11, repeat('X', 10));
	feed(&r, 6, repeat('Y', 10));
	feed(&r, 16, repeat('Z', 10));
	CHECK_INT_EQ(reasm_held_segments(&r), 3);
	CHECK_INT_EQ(reasm_held_bytes(&r), 20);
	CHECK_INT_EQ(counters.overlaps, 2);
	CHECK_INT_EQ(counters.out_of_order, 3);
	CHECK_INT_EQ(rec.nevents, 0);
	feed(&r, 1, "AAAAA");
	CHECK(stream_is("AAAAAYYYYYXXXXXXXXXXZZZZZ"));
	CHECK_INT_EQ(counters.overlaps, 2);
	CHECK_INT_EQ(reasm_held_segments(&r), 0);
	CHECK_INT_EQ(reasm_held_bytes(&r), 0);
	reasm_free(&r);
}

/* S[5,40) arrives over held P[10,15), Q[20,25), R[30,35) and is split
 * into the four pieces between them. */
static void test_overlap_covering_several_held(void)
{
	struct reasm r;

	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0);
	feed(&r, 11, "PPPPP");
	feed(&r, 21, "QQQQQ");
	feed(&r, 31, "RRRRR");
	feed(&r, 6, repeat('S', 35));
	CHECK_INT_EQ(reasm_held_segments(&r), 7);
	CHECK_INT_EQ(reasm_held_bytes(&r), 35);
	CHECK_INT_EQ(counters.overlaps, 1);
	CHECK_INT_EQ(counters.out_of_order, 4);
	feed(&r, 1, "AAAAA");
	CHECK(stream_is("AAAAASSSSSPPPPPSSSSSQQQQQSSSSSRRRRRSSSSS"));
	CHECK_INT_EQ(reasm_held_segments(&r), 0);
	reasm_free(&r);
}

/* An in-order segment over held data: its own bytes go out uncopied,
 * the held copies win where they exist. */
static void test_overlap_in_order_over_held(void)
{
	struct reasm r;
	char s[31];

	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0);
	feed(&r, 11, "PPPPP");
	feed(&r, 21, "QQQQQ");
	memcpy(s, repeat('S', 30), 31);
	feed(&r, 1, s);
	CHECK(stream_is("SSSSSSSSSSPPPPPSSSSSQQQQQSSSSS"));
	CHECK_INT_EQ(rec.nevents, 5);
	CHECK(event_is(0, 'D', 0, 10));
	CHECK(event_is(1, 'D', 10, 5));
	CHECK(event_is(2, 'D', 15, 5));
	CHECK(event_is(3, 'D', 20, 5));
	CHECK(event_is(4, 'D', 25, 5));
	CHECK(rec.events[0].data == (const uint8_t *)s);
	CHECK(rec.events[2].data == (const uint8_t *)s + 15);
	CHECK(rec.events[4].data == (const uint8_t *)s + 25);
	CHECK_INT_EQ(counters.overlaps, 1);
	CHECK_INT_EQ(reasm_held_segments(&r), 0);
	reasm_free(&r);

	/* Starting behind the delivery point and running over held data. */
	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0);
	feed(&r, 1, repeat('A', 10));
	feed(&r, 16, "PPPPP");
	feed(&r, 6, repeat('S', 20));
	CHECK(stream_is("AAAAAAAAAASSSSSPPPPPSSSSS"));
	CHECK_INT_EQ(counters.overlaps, 1);
	CHECK_INT_EQ(counters.retransmitted, 0);
	reasm_free(&r);
}

static void test_gap_via_peer_ack(void)
{
	struct reasm r;

	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 100);
	feed(&r, 101, repeat('a', 10));
	reasm_peer_ack(&r, in_use, NULL, 106, 0); /* behind: nothing */
	reasm_peer_ack(&r, in_use, NULL, 111, 0); /* exactly at: nothing */
	CHECK_INT_EQ(rec.gaps, 0);
	feed(&r, 121, repeat('c', 10));
	reasm_peer_ack(&r, in_use, NULL, 126, 0);
	CHECK(stream_is("aaaaaaaaaa__________cccccccccc"));
	CHECK(event_is(1, 'G', 10, 10));
	CHECK(event_is(2, 'D', 20, 10));
	CHECK_INT_EQ(counters.gaps, 1);
	CHECK_INT_EQ(counters.gap_bytes, 10);
	/* Nothing held: the gap runs up to the ack. */
	reasm_peer_ack(&r, in_use, NULL, 141, 0);
	CHECK(event_is(3, 'G', 30, 10));
	CHECK_INT_EQ(r.offset, 40);
	CHECK_INT_EQ(r.next_seq, 141);
	/* Absurdly far ahead: not believed. */
	reasm_peer_ack(&r, in_use, NULL, 141 + REASM_MAX_AHEAD + 1, 0);
	CHECK_INT_EQ(r.offset, 40);
	CHECK_INT_EQ(counters.gaps, 2);
	CHECK_INT_EQ(counters.gap_bytes, 20);
	reasm_free(&r);

	/* A stream that has not started ignores acks. */
	setup(&r, 1 << 20, 100);
	reasm_peer_ack(&r, in_use, NULL, 5000, 0);
	CHECK(!r.started);
	CHECK_INT_EQ(rec.nevents, 0);
	reasm_free(&r);
}

static void test_gap_via_peer_ack_several_holes(void)
{
	struct reasm r;

	/* The ack stops inside the second hole: only up to it is a gap. */
	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0);
	feed(&r, 1, repeat('a', 10));
	feed(&r, 21, repeat('c', 10));
	feed(&r, 41, repeat('e', 10));
	reasm_peer_ack(&r, in_use, NULL, 36, 0);
	CHECK(event_is(1, 'G', 10, 10));
	CHECK(event_is(2, 'D', 20, 10));
	CHECK(event_is(3, 'G', 30, 5));
	CHECK_INT_EQ(r.offset, 35);
	CHECK_INT_EQ(reasm_held_segments(&r), 1);
	feed(&r, 36, "ddddd");
	CHECK(stream_is("aaaaaaaaaa__________cccccccccc_____dddddeeeeeeeeee"));
	CHECK_INT_EQ(counters.gaps, 2);
	CHECK_INT_EQ(counters.gap_bytes, 15);
	reasm_free(&r);

	/* The ack covers both holes. */
	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0);
	feed(&r, 1, repeat('a', 10));
	feed(&r, 21, repeat('c', 10));
	feed(&r, 41, repeat('e', 10));
	reasm_peer_ack(&r, in_use, NULL, 46, 0);
	CHECK(stream_is("aaaaaaaaaa__________cccccccccc__________eeeeeeeeee"));
	CHECK_INT_EQ(counters.gaps, 2);
	CHECK_INT_EQ(reasm_held_segments(&r), 0);
	reasm_free(&r);
}

static void test_gap_via_byte_limit(void)
{
	struct reasm r;

	setup(&r, 20, 100);
	reasm_syn(&r, 0);
	feed(&r, 1, repeat('a', 10));
	feed(&r, 21, repeat('c', 10));
	feed(&r, 41, repeat('e', 10));
	CHECK_INT_EQ(reasm_held_bytes(&r), 20);
	CHECK_INT_EQ(counters.bound_hits, 0);
	feed(&r, 61, "ggggg"); /* 25 bytes would be held */
	CHECK_INT_EQ(counters.bound_hits, 1);
	CHECK(event_is(1, 'G', 10, 10));
	CHECK(event_is(2, 'D', 20, 10));
	CHECK_INT_EQ(reasm_held_bytes(&r), 15);
	CHECK_INT_EQ(reasm_held_segments(&r), 2);
	reasm_flush(&r, in_use, NULL);
	CHECK(stream_is("aaaaaaaaaa__________cccccccccc__________eeeeeeeeee__________ggggg"));
	CHECK_INT_EQ(counters.gaps, 3);
	CHECK_INT_EQ(counters.gap_bytes, 30);
	CHECK_INT_EQ(counters.bound_hits, 1);
	CHECK_INT_EQ(reasm_held_bytes(&r), 0);
	reasm_free(&r);
}

static void test_gap_via_segment_limit(void)
{
	struct reasm r;

	setup(&r, 1 << 20, 2);
	reasm_syn(&r, 0);
	feed(&r, 1, repeat('a', 10));
	feed(&r, 21, repeat('c', 10));
	feed(&r, 41, repeat('e', 10));
	feed(&r, 61, "ggggg");
	CHECK_INT_EQ(counters.bound_hits, 1);
	CHECK_INT_EQ(reasm_held_segments(&r), 2);
	CHECK(stream_is("aaaaaaaaaa__________cccccccccc"));
	/* Filling the hole after the skip still works normally. */
	feed(&r, 31, repeat('d', 10));
	feed(&r, 51, repeat('f', 10));
	CHECK(stream_is("aaaaaaaaaa__________ccccccccccddddddddddeeeeeeeeeeffffffffffggggg"));
	CHECK_INT_EQ(counters.gaps, 1);
	reasm_free(&r);
}

static void test_limit_zero_means_no_buffering(void)
{
	struct reasm r;

	setup(&r, 0, 0);
	reasm_syn(&r, 0);
	feed(&r, 1, "aaaaa");
	feed(&r, 11, "ccccc");
	CHECK(stream_is("aaaaa_____ccccc"));
	CHECK_INT_EQ(counters.bound_hits, 1);
	CHECK_INT_EQ(reasm_held_segments(&r), 0);
	CHECK_INT_EQ(reasm_held_bytes(&r), 0);
	feed(&r, 6, "bbbbb"); /* too late */
	CHECK_INT_EQ(counters.retransmitted, 1);
	reasm_free(&r);
}

static void test_oversized_segment(void)
{
	struct reasm r;
	char big[101];

	memcpy(big, repeat('X', 100), 101);
	setup(&r, 10, 100);
	reasm_syn(&r, 0);
	feed(&r, 1, "aaaaa");
	feed(&r, 11, "ccccc");
	feed(&r, 21, big);
	CHECK_INT_EQ(counters.bound_hits, 2);
	CHECK(event_is(1, 'G', 5, 5));
	CHECK(event_is(2, 'D', 10, 5));
	CHECK(event_is(3, 'G', 15, 5));
	CHECK(event_is(4, 'D', 20, 100));
	CHECK_INT_EQ(r.offset, 120);
	CHECK_INT_EQ(reasm_held_bytes(&r), 0);
	reasm_free(&r);
}

static void test_gap_via_flush(void)
{
	struct reasm r;

	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0);
	feed(&r, 6, "bbbbb");
	feed(&r, 16, "ddddd");
	CHECK_INT_EQ(rec.nevents, 0);
	reasm_flush(&r, in_use, NULL);
	CHECK(stream_is("_____bbbbb_____ddddd"));
	CHECK_INT_EQ(counters.gaps, 2);
	CHECK_INT_EQ(reasm_held_segments(&r), 0);
	CHECK(r.held == NULL);
	CHECK(!r.closed);
	reasm_flush(&r, in_use, NULL); /* idempotent */
	CHECK_INT_EQ(rec.nevents, 4);
	reasm_free(&r);

	/* A FIN seen ahead of a hole: flush reports the tail and closes. */
	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0);
	feed(&r, 1, "aaaaa");
	feed(&r, 11, "ccccc");
	reasm_segment(&r, in_use, NULL, 21, NULL, 0, true, 0);
	CHECK(r.fin_seen);
	CHECK(!r.closed);
	reasm_flush(&r, in_use, NULL);
	CHECK(stream_is("aaaaa_____ccccc_____"));
	CHECK(r.closed);
	reasm_free(&r);
}

static void test_sequence_wrap(void)
{
	const uint32_t isn = 0xFFFFFF00u;
	static const int order[10] = { 7, 5, 6, 9, 8, 0, 1, 2, 4, 3 };
	char text[501];
	struct reasm r;
	int i, k;

	for (i = 0; i < 500; i++)
		text[i] = (char)('a' + (i * 7) % 26);
	text[500] = '\0';
	setup(&r, 1 << 20, 100);
	reasm_syn(&r, isn);
	CHECK_INT_EQ(r.next_seq, 0xFFFFFF01u);
	/* Segment 5 starts 5 bytes before 2^32 and crosses it. */
	for (k = 0; k < 10; k++) {
		i = order[k];
		reasm_segment(&r, in_use, NULL, isn + 1 + (uint32_t)(50 * i), (const uint8_t *)text + 50 * i, 50,
			      i == 9, 0);
	}
	CHECK(stream_is(text));
	CHECK_INT_EQ(r.next_seq, 0xF5u);
	CHECK_INT_EQ(r.offset, 500);
	CHECK(r.closed);
	CHECK_INT_EQ(counters.out_of_order, 6); /* 7, 5, 6, 9, 8 and 4 */
	CHECK_INT_EQ(counters.gaps, 0);
	reasm_free(&r);

	/* A hole across the wrap, closed by an ack from past it. */
	setup(&r, 1 << 20, 100);
	reasm_syn(&r, isn);
	for (i = 0; i < 5; i++)
		reasm_segment(&r, in_use, NULL, isn + 1 + (uint32_t)(50 * i), (const uint8_t *)text + 50 * i,
			      50, false, 0);
	reasm_segment(&r, in_use, NULL, isn + 1 + 300, (const uint8_t *)text + 300, 50, false, 0);
	reasm_peer_ack(&r, in_use, NULL, isn + 1 + 320, 0);
	CHECK(event_is(5, 'G', 250, 50));
	CHECK(event_is(6, 'D', 300, 50));
	/* The missing segment turns up late: behind, ignored. */
	reasm_segment(&r, in_use, NULL, isn + 1 + 250, (const uint8_t *)text + 250, 50, false, 0);
	CHECK_INT_EQ(counters.retransmitted, 1);
	CHECK_INT_EQ(r.offset, 350);
	reasm_free(&r);

	/* ISN 0xFFFFFFFF: data starts at sequence 0. */
	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0xFFFFFFFFu);
	CHECK_INT_EQ(r.next_seq, 0);
	feed(&r, 5, "fghij");
	feed(&r, 0, "abcde");
	CHECK(stream_is("abcdefghij"));
	reasm_free(&r);
}

static void test_midstream_pickup(void)
{
	struct reasm r;

	setup(&r, 1 << 20, 100);
	reasm_segment(&r, in_use, NULL, 7, NULL, 0, false, 0); /* empty: does not start */
	reasm_segment(&r, in_use, NULL, 7, NULL, 0, true, 0);  /* pure FIN: does not start */
	CHECK(!r.started);
	CHECK(!r.fin_seen);
	feed(&r, 5000, "abc");
	CHECK(r.started);
	CHECK(event_is(0, 'D', 0, 3));
	feed(&r, 4990, "0123456789");
	CHECK_INT_EQ(counters.retransmitted, 1);
	feed(&r, 4995, "01234abcdef"); /* starts behind, ends ahead */
	CHECK(stream_is("abcdef"));
	CHECK_INT_EQ(counters.overlaps, 1);
	CHECK_INT_EQ(r.next_seq, 5006);
	reasm_free(&r);
}

static void test_fin(void)
{
	struct reasm r;

	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0);
	reasm_segment(&r, in_use, NULL, 1, (const uint8_t *)"hello", 5, true, 0);
	CHECK(r.fin_seen);
	CHECK_INT_EQ(r.fin_seq, 6);
	CHECK(r.closed);
	feed(&r, 6, "more");
	CHECK_INT_EQ(counters.after_close, 1);
	feed(&r, 1, "hello");
	CHECK_INT_EQ(counters.retransmitted, 1);
	reasm_peer_ack(&r, in_use, NULL, 7, 0);
	reasm_flush(&r, in_use, NULL);
	CHECK(stream_is("hello"));
	CHECK_INT_EQ(rec.nevents, 1);
	reasm_free(&r);

	/* FIN before the data it ends. */
	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0);
	reasm_segment(&r, in_use, NULL, 11, NULL, 0, true, 0);
	CHECK(r.fin_seen);
	CHECK(!r.closed);
	feed(&r, 6, "fghij");
	CHECK(!r.closed);
	feed(&r, 1, "abcde");
	CHECK(r.closed);
	CHECK(stream_is("abcdefghij"));
	reasm_free(&r);

	/* A FIN cuts held data past it, and data running over it. */
	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0);
	feed(&r, 11, repeat('x', 10));
	reasm_segment(&r, in_use, NULL, 6, (const uint8_t *)"fgh", 3, true, 0);
	CHECK_INT_EQ(counters.after_close, 1);
	CHECK_INT_EQ(reasm_held_segments(&r), 1);
	CHECK_INT_EQ(reasm_held_bytes(&r), 3);
	feed(&r, 1, "abcdeFGHIJ");
	CHECK(stream_is("abcdefgh"));
	CHECK(r.closed);
	CHECK_INT_EQ(counters.after_close, 2);
	reasm_free(&r);

	/* Acking the FIN reports only the data bytes before it as gap. */
	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0);
	feed(&r, 1, "abc");
	reasm_segment(&r, in_use, NULL, 9, NULL, 0, true, 0);
	reasm_peer_ack(&r, in_use, NULL, 10, 0);
	CHECK(stream_is("abc_____"));
	CHECK(r.closed);
	reasm_free(&r);
}

static void test_rst(void)
{
	struct reasm r;

	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 0);
	feed(&r, 1, "aaaaa");
	feed(&r, 11, "ccccc");
	feed(&r, 21, "eeeee");
	reasm_reset(&r, in_use, NULL);
	CHECK(stream_is("aaaaa_____ccccc_____eeeee"));
	CHECK(r.closed);
	CHECK_INT_EQ(reasm_held_segments(&r), 0);
	CHECK_INT_EQ(counters.gaps, 2);
	feed(&r, 26, "fffff");
	CHECK_INT_EQ(counters.after_close, 1);
	reasm_syn(&r, 1234); /* a closed stream is not re-based */
	CHECK_INT_EQ(r.next_seq, 26);
	reasm_flush(&r, in_use, NULL);
	CHECK_INT_EQ(rec.nevents, 5);
	reasm_free(&r);
}

static void test_zero_length(void)
{
	struct reasm r;

	setup(&r, 0, 0);
	reasm_syn(&r, 0);
	reasm_segment(&r, in_use, NULL, 1, NULL, 0, false, 0);
	reasm_segment(&r, in_use, NULL, 100, (const uint8_t *)"x", 0, false, 0);
	reasm_segment(&r, in_use, NULL, 0xF0000000u, NULL, 0, false, 0);
	CHECK_INT_EQ(rec.nevents, 0);
	CHECK_INT_EQ(counters.segments, 0);
	CHECK_INT_EQ(r.offset, 0);
	CHECK_INT_EQ(r.next_seq, 1);
	feed(&r, 1, "ab");
	CHECK(stream_is("ab"));
	reasm_free(&r);
}

static void test_syn_repeat_and_rebase(void)
{
	struct reasm r;

	setup(&r, 1 << 20, 100);
	reasm_syn(&r, 100);
	reasm_syn(&r, 100);
	CHECK_INT_EQ(r.next_seq, 101);
	feed(&r, 106, "fghij");
	reasm_syn(&r, 100); /* retransmitted SYN keeps held data */
	CHECK_INT_EQ(reasm_held_segments(&r), 1);
	reasm_syn(&r, 200); /* new ISN before any delivery: re-base */
	CHECK_INT_EQ(r.next_seq, 201);
	CHECK_INT_EQ(r.offset, 0);
	CHECK_INT_EQ(reasm_held_segments(&r), 0);
	CHECK_INT_EQ(reasm_held_bytes(&r), 0);
	feed(&r, 201, "abc");
	CHECK(event_is(0, 'D', 0, 3));
	reasm_syn(&r, 300); /* after delivery: ignored */
	CHECK_INT_EQ(r.next_seq, 204);
	CHECK_INT_EQ(r.offset, 3);
	reasm_free(&r);
}

static void test_absurd_jump(void)
{
	struct reasm r;

	setup(&r, 0, 0); /* would skip at once if it believed the segment */
	reasm_syn(&r, 0);
	feed(&r, 1, "abcde");
	feed(&r, 6 + REASM_MAX_AHEAD, "far");
	feed(&r, 6 + (REASM_MAX_AHEAD / 2) * 3, "farther");
	reasm_segment(&r, in_use, NULL, 6 + REASM_MAX_AHEAD + 10, NULL, 0, true, 0);
	CHECK_INT_EQ(counters.out_of_window, 3);
	CHECK_INT_EQ(counters.gaps, 0);
	CHECK(!r.fin_seen);
	CHECK_INT_EQ(r.offset, 5);
	feed(&r, 6, "fgh");
	CHECK(stream_is("abcdefgh"));
	reasm_free(&r);
}

static void test_defaults_and_no_callbacks(void)
{
	struct reasm r;

	static const struct reasm_context bare = { REASM_CONTEXT_LIMITS, { NULL, NULL }, &counters };

	memset(&counters, 0, sizeof(counters));
	reasm_init(&r);
	in_use = &bare;
	CHECK_INT_EQ(in_use->limits.max_buffered_bytes, REASM_DEFAULT_MAX_BYTES);
	CHECK_INT_EQ(in_use->limits.max_buffered_segments, REASM_DEFAULT_MAX_SEGMENTS);
	reasm_syn(&r, 0);
	feed(&r, 11, "later");
	feed(&r, 1, "first");
	reasm_flush(&r, in_use, NULL);
	CHECK_INT_EQ(counters.bytes_delivered, 10);
	CHECK_INT_EQ(counters.gaps, 1);
	reasm_free(&r);
	reasm_free(&r); /* twice is harmless */
	in_use = &context;
}

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

struct piece {
	size_t start;
	size_t len;
	bool fin;
};

#define MAX_TOTAL  4000
#define MAX_PIECES (2 * MAX_TOTAL + 2) /* cut() can make one per byte; duplicates as many again */

static void shuffle(struct piece *p, size_t n)
{
	size_t i, j;
	struct piece t;

	for (i = n; i > 1; i--) {
		j = rnd() % i;
		t = p[i - 1], p[i - 1] = p[j], p[j] = t;
	}
}

/* Cut [0, total) into pieces of 1..max_len bytes, appending to p. */
static size_t cut(struct piece *p, size_t total, size_t max_len)
{
	size_t n = 0, at = 0, len;

	while (at < total) {
		len = 1 + rnd() % max_len;
		if (len > total - at)
			len = total - at;
		p[n++] = (struct piece){ at, len, false };
		at += len;
	}
	return n;
}

/* Add n random ranges, copies of the same bytes: duplicates and overlaps. */
static size_t add_duplicates(struct piece *p, size_t n, size_t extra, size_t total)
{
	size_t start, len;

	while (extra-- > 0 && n < MAX_PIECES) {
		start = rnd() % total;
		len = 1 + rnd() % 300;
		if (len > total - start)
			len = total - start;
		p[n++] = (struct piece){ start, len, false };
	}
	return n;
}

static uint32_t random_isn(int iter)
{
	/* Every third stream starts just short of the wrap. */
	return iter % 3 == 0 ? 0xFFFFFFFFu - rnd() % 5000 : (rnd() << 8) ^ rnd();
}

/* Shuffled, duplicated, overlapping segments with nothing lost must
 * reproduce the buffer exactly. */
static void test_random_exact(void)
{
	static uint8_t buf[MAX_TOTAL];
	static struct piece p[MAX_PIECES];
	int iter, failures = 0;

	rng_state = 0x9E3779B97F4A7C15ull;
	for (iter = 0; iter < 300 && !failures; iter++) {
		struct reasm r;
		size_t total = 1 + rnd() % MAX_TOTAL, n, i;
		uint32_t isn = random_isn(iter);
		bool with_syn = iter % 4 != 0;

		for (i = 0; i < total; i++)
			buf[i] = (uint8_t)rnd();
		n = cut(p, total, 1 + rnd() % 200);
		p[n - 1].fin = true;
		n = add_duplicates(p, n, rnd() % (n + 1), total);
		/* Without a SYN the stream is picked up at the first segment,
		 * so that one has to arrive first. */
		shuffle(with_syn ? p : p + 1, with_syn ? n : n - 1);

		setup(&r, 1 << 20, 1 << 16);
		if (with_syn)
			reasm_syn(&r, isn);
		for (i = 0; i < n; i++) {
			if (rnd() % 8 == 0)
				reasm_segment(&r, in_use, NULL, isn + 1 + rnd() % (uint32_t)total, NULL, 0, false, 0);
			if (reasm_segment(&r, in_use, NULL, isn + 1 + (uint32_t)p[i].start, buf + p[i].start,
					  p[i].len, p[i].fin, 0) != 0)
				failures++;
		}
		if (!r.closed)
			failures++;
		reasm_flush(&r, in_use, NULL);
		if (rec.next != total || rec.gaps || rec.order_errors || rec.range_errors ||
		    memcmp(rec.out, buf, total) != 0 || counters.bytes_delivered != total ||
		    r.held || reasm_held_bytes(&r) || reasm_held_segments(&r) ||
		    r.next_seq != isn + 1 + (uint32_t)total)
			failures++;
		if (failures)
			fprintf(stderr, "  iteration %d (total %zu, isn %08x) failed\n", iter, total,
				isn);
		reasm_free(&r);
	}
	CHECK_INT_EQ(failures, 0);
	CHECK_INT_EQ(iter, 300);
}

/* With drops, small limits and acks from the peer, delivered bytes and
 * gaps must still tile [0, total) in order, and every delivered byte must
 * be the right one. */
static void test_random_drops(void)
{
	static uint8_t buf[MAX_TOTAL];
	static struct piece p[MAX_PIECES];
	int iter, failures = 0;
	uint64_t total_gaps = 0, total_bound_hits = 0;

	rng_state = 0x0123456789ABCDEFull;
	for (iter = 0; iter < 300 && !failures; iter++) {
		struct reasm r;
		size_t total = 1 + rnd() % MAX_TOTAL, n, kept, i, max_end = 0;
		size_t max_bytes = rnd() % 4 == 0 ? 1 << 20 : rnd() % 800;
		size_t max_segments = rnd() % 4 == 0 ? 1 << 16 : rnd() % 7;
		uint32_t isn = random_isn(iter);

		for (i = 0; i < total; i++)
			buf[i] = (uint8_t)rnd();
		n = cut(p, total, 1 + rnd() % 200);
		for (i = kept = 0; i < n; i++)
			if (rnd() % 5 != 0)
				p[kept++] = p[i];
		n = add_duplicates(p, kept, rnd() % (kept + 1), total);
		p[n++] = (struct piece){ total, 0, true };
		shuffle(p, n);

		setup(&r, max_bytes, max_segments);
		reasm_syn(&r, isn);
		for (i = 0; i < n; i++) {
			if (reasm_segment(&r, in_use, NULL, isn + 1 + (uint32_t)p[i].start, buf + p[i].start,
					  p[i].len, p[i].fin, 0) != 0)
				failures++;
			if (p[i].start + p[i].len > max_end)
				max_end = p[i].start + p[i].len;
			/* The peer can only ack what has been sent. */
			if (rnd() % 8 == 0)
				reasm_peer_ack(&r, in_use, NULL, isn + 1 + rnd() % (uint32_t)(max_end + 1), 0);
			if (reasm_held_bytes(&r) > max_bytes ||
			    reasm_held_segments(&r) > max_segments)
				failures++;
		}
		reasm_flush(&r, in_use, NULL);
		if (rec.next != total || rec.order_errors || rec.range_errors || !r.closed ||
		    counters.bytes_delivered + counters.gap_bytes != total || r.held ||
		    reasm_held_bytes(&r) || reasm_held_segments(&r))
			failures++;
		for (i = 0; i < total && !failures; i++)
			if (rec.state[i] != 'G' && (rec.state[i] != 'D' || rec.out[i] != buf[i]))
				failures++;
		if (failures)
			fprintf(stderr, "  iteration %d (total %zu, isn %08x, limits %zu/%zu) failed\n",
				iter, total, isn, max_bytes, max_segments);
		total_gaps += counters.gaps;
		total_bound_hits += counters.bound_hits;
		reasm_free(&r);
	}
	CHECK_INT_EQ(failures, 0);
	CHECK_INT_EQ(iter, 300);
	/* The test is only worth something if it exercised the skipping. */
	CHECK(total_gaps > 100);
	CHECK(total_bound_hits > 100);
}

int main(void)
{
	RUN_TEST(test_in_order);
	RUN_TEST(test_reorder_all_permutations);
	RUN_TEST(test_duplicates);
	RUN_TEST(test_overlap_with_delivered);
	RUN_TEST(test_overlap_with_held_either_side);
	RUN_TEST(test_overlap_covering_several_held);
	RUN_TEST(test_overlap_in_order_over_held);
	RUN_TEST(test_gap_via_peer_ack);
	RUN_TEST(test_gap_via_peer_ack_several_holes);
	RUN_TEST(test_gap_via_byte_limit);
	RUN_TEST(test_gap_via_segment_limit);
	RUN_TEST(test_limit_zero_means_no_buffering);
	RUN_TEST(test_oversized_segment);
	RUN_TEST(test_gap_via_flush);
	RUN_TEST(test_sequence_wrap);
	RUN_TEST(test_midstream_pickup);
	RUN_TEST(test_fin);
	RUN_TEST(test_rst);
	RUN_TEST(test_zero_length);
	RUN_TEST(test_syn_repeat_and_rebase);
	RUN_TEST(test_absurd_jump);
	RUN_TEST(test_defaults_and_no_callbacks);
	RUN_TEST(test_random_exact);
	RUN_TEST(test_random_drops);
	TEST_MAIN_END();
}
