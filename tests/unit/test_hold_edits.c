/* The hold and edits units without an engine: held packets in stream
 * order, what may leave and when, copies of the packet in hand, and one
 * stream edit cut at the boundaries of the held packets it touches. */
#include <stdlib.h>
#include <string.h>

#include "inline/edits.h"
#include "inline/hold.h"
#include "testlib.h"

/* A held packet of payload_len bytes at input [start, start + len),
 * borrowing data (a fake packet: only the payload fields matter here). */
static struct held_packet *held(uint32_t id, uint8_t *data, size_t len, uint64_t start,
				double since)
{
	struct packet p;

	memset(&p, 0, sizeof(p));
	p.payload = data;
	p.payload_len = len;
	p.l4_header_len = 20;
	return hold_new(id, data, len, false, &p, start, start + len, since);
}

static void test_order_pop_and_holes(void)
{
	struct hold_queue q;
	struct hold_totals tot = { 0, 0 };
	uint8_t a[10], b[10], c[10];
	struct held_packet *h;

	memset(&q, 0, sizeof(q));
	hold_insert(&q, held(1, a, 10, 0, 1.0));
	hold_insert(&q, held(3, c, 10, 20, 1.0)); /* after a hole */
	hold_insert(&q, held(2, b, 10, 10, 1.0)); /* fills it: goes between */
	CHECK_INT_EQ(q.n, 3);
	CHECK_INT_EQ(q.bytes, 30);
	CHECK_INT_EQ(q.head->id, 1);
	CHECK_INT_EQ(q.head->next->id, 2);
	CHECK_INT_EQ(q.tail->id, 3);
	/* Only up to the end asked, and only what was decoded. */
	CHECK(hold_pop(&q, &tot, 5, UINT64_MAX) == NULL);
	h = hold_pop(&q, &tot, 30, 15);
	CHECK(h && h->id == 1);
	hold_free(h);
	CHECK(hold_pop(&q, &tot, 30, 15) == NULL); /* 2 ends at 20: not decoded */
	h = hold_pop(&q, &tot, 30, UINT64_MAX);
	CHECK(h && h->id == 2);
	hold_free(h);
	CHECK_INT_EQ(q.n, 1);
	hold_drop_all(&q, &tot);
	CHECK(q.head == NULL && q.tail == NULL && q.n == 0 && q.bytes == 0);
}

static void test_own_copies_the_packet_in_hand(void)
{
	struct hold_queue q;
	struct hold_totals tot = { 0, 0 };
	uint8_t *buf = malloc(10);
	struct held_packet *h;
	uint32_t id = 0;

	memset(&q, 0, sizeof(q));
	memcpy(buf, "abcdefghij", 10);
	hold_insert(&q, held(7, buf, 10, 0, 1.0));
	CHECK_INT_EQ(hold_own(&q, &tot), 1);
	CHECK_INT_EQ(hold_own(&q, &tot), 0); /* owned already */
	CHECK_INT_EQ(tot.packets, 1);
	CHECK_INT_EQ(tot.bytes, 10);
	/* The caller's buffer may go now. */
	memset(buf, 'z', 10);
	free(buf);
	CHECK(q.head->owned);
	CHECK_MEM_EQ(q.head->data, "abcdefghij", 10);
	CHECK(q.head->pkt.payload == q.head->data);
	CHECK(hold_lowest_id(&q, false, &id) && id == 7);
	id = 3;
	CHECK(hold_lowest_id(&q, true, &id) && id == 3);
	h = hold_pop(&q, &tot, UINT64_MAX, UINT64_MAX);
	CHECK_INT_EQ(tot.packets, 0);
	CHECK_INT_EQ(tot.bytes, 0);
	hold_free(h);
	CHECK(!hold_lowest_id(&q, false, &id));
}

/* The packet in hand in the caller's own record (no allocation): let go
 * at once it is never copied; still held when the caller is done, its
 * record and bytes move to the heap in its place, and the caller's record
 * is free for the next packet. */
static void test_record_in_hand(void)
{
	struct hold_queue q;
	struct hold_totals tot = { 0, 0 };
	struct held_packet in_hand, *h;
	struct packet p;
	uint8_t a[10], b[10], c[10];

	memset(&q, 0, sizeof(q));
	memset(&p, 0, sizeof(p));
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	memcpy(c, "0123456789", 10);
	p.payload_len = 10;
	p.payload = a;
	hold_in_hand(&in_hand, 1, a, 10, false, &p, 0, 10, 1.0);
	hold_insert(&q, &in_hand);
	h = hold_pop(&q, &tot, UINT64_MAX, UINT64_MAX);
	CHECK(h == &in_hand);
	hold_free(h); /* the caller's record: nothing to free (ASan) */
	/* held behind another packet, and in the middle of the queue */
	hold_insert(&q, held(2, b, 10, 10, 1.0));
	hold_insert(&q, held(4, b, 10, 30, 1.0));
	p.payload = c;
	hold_in_hand(&in_hand, 3, c, 10, false, &p, 20, 30, 1.0);
	hold_insert(&q, &in_hand);
	CHECK_INT_EQ(hold_own(&q, &tot), 3);
	CHECK(q.head->next->id == 3 && q.head->next != &in_hand && !q.head->next->in_hand);
	CHECK_MEM_EQ(q.head->next->data, "0123456789", 10);
	CHECK(q.tail->id == 4);
	memset(&in_hand, 0xEE, sizeof(in_hand)); /* reused by the next packet */
	memset(c, 'z', sizeof(c));
	/* the tail too */
	p.payload = a;
	hold_in_hand(&in_hand, 5, a, 10, false, &p, 40, 50, 1.0);
	hold_insert(&q, &in_hand);
	CHECK_INT_EQ(hold_own(&q, &tot), 1);
	CHECK(q.tail->id == 5 && q.tail != &in_hand);
	CHECK_INT_EQ(q.n, 4);
	hold_drop_all(&q, &tot);
	CHECK_INT_EQ(tot.packets, 0);
}

static void test_deadline(void)
{
	struct hold_queue q;
	struct hold_totals tot = { 0, 0 };
	uint8_t a[10], b[10];

	memset(&q, 0, sizeof(q));
	hold_insert(&q, held(1, a, 10, 0, 1.00));
	hold_insert(&q, held(2, b, 10, 10, 1.04));
	bool past;

	CHECK_INT_EQ(hold_expired_end(&q, 1.03, 0.05, 3.0, &past), 0);
	CHECK_INT_EQ(hold_expired_end(&q, 1.06, 0.05, 3.0, &past), 10);
	CHECK(!past);
	CHECK_INT_EQ(hold_expired_end(&q, 1.10, 0.05, 3.0, &past), 20);
	CHECK(!past);
	hold_drop_all(&q, &tot);
}

/* Behind a hole the deadline does not run: a segment lost after the bridge
 * comes back after an RTO (200 ms or more), and the receiver could not
 * deliver what follows the hole anyway. From the moment the hole fills,
 * the packets wait no longer than the deadline; behind a hole, at most
 * the hole bound, and that is said. */
static void test_no_deadline_behind_a_hole(void)
{
	struct hold_queue q;
	struct hold_totals tot = { 0, 0 };
	struct held_packet *h, *first;
	uint8_t a[10], b[10];
	bool past;

	memset(&q, 0, sizeof(q));
	hold_insert(&q, held(1, a, 10, 0, 1.00));   /* [0, 10): in order */
	h = held(2, b, 10, 20, 1.00);               /* [20, 30): [10, 20) is missing */
	hold_mark_behind_hole(h);
	hold_insert(&q, h);
	/* The first goes at its deadline, the one behind the hole stays. */
	CHECK_INT_EQ(hold_expired_end(&q, 1.06, 0.05, 3.0, &past), 10);
	CHECK(!past);
	first = hold_pop(&q, &tot, 10, UINT64_MAX);
	CHECK(first != NULL);
	if (first)
		hold_free(first);
	CHECK(q.head == h);
	CHECK_INT_EQ(hold_expired_end(&q, 1.30, 0.05, 3.0, &past), 0);
	/* The retransmission fills the hole at 1.40: the deadline runs from then. */
	hold_prefix_complete(&q, 10, 1.40); /* not yet: the hole is [10, 20) */
	CHECK(h->behind_hole);
	hold_prefix_complete(&q, 20, 1.40);
	CHECK(!h->behind_hole);
	CHECK_INT_EQ(hold_expired_end(&q, 1.44, 0.05, 3.0, &past), 0);
	CHECK_INT_EQ(hold_expired_end(&q, 1.46, 0.05, 3.0, &past), 30);
	CHECK(!past);
	/* A hole that never fills: the bound, said. */
	h->behind_hole = true;
	CHECK_INT_EQ(hold_expired_end(&q, 3.99, 0.05, 3.0, &past), 0);
	CHECK_INT_EQ(hold_expired_end(&q, 4.00, 0.05, 3.0, &past), 30);
	CHECK(past);
	hold_drop_all(&q, &tot);
}

static void dir_init(struct flow_dir_state *d, size_t mss)
{
	memset(d, 0, sizeof(*d));
	flow_dir_start(d, 1000);
	d->peer_mss = (uint16_t)mss;
}

/* Growth goes to the last packet of the edit while it has room, then to
 * the ones before. */
static void test_edit_cut_at_packet_boundaries(void)
{
	struct flow_dir_state d;
	struct hold_totals tot = { 0, 0 };
	uint8_t a[100], b[100];
	const struct seqmap_edit *e;

	dir_init(&d, 110);
	hold_insert(&d.held, held(1, a, 100, 0, 1.0));
	hold_insert(&d.held, held(2, b, 100, 100, 1.0));
	/* [90, 110) becomes 40 bytes: b has room for 10 more, a for 10 */
	CHECK_INT_EQ(edit_apply(&d, 90, 110, (const uint8_t *)"0123456789012345678901234567890123456789",
				40, 1),
		     EDIT_APPLIED);
	CHECK_INT_EQ(d.map.n_edits, 2);
	e = &d.map.edits[0];
	CHECK_INT_EQ(e->in_start, 90);
	CHECK_INT_EQ(e->in_len, 10);
	CHECK_INT_EQ(e->out_len, 20);
	e = &d.map.edits[1];
	CHECK_INT_EQ(e->in_start, 100);
	CHECK_INT_EQ(e->in_len, 10);
	CHECK_INT_EQ(e->out_len, 20);
	/* More than both could carry. */
	CHECK_INT_EQ(edit_apply(&d, 150, 151, (const uint8_t *)"x", 50, 1), EDIT_REFUSED_SIZE);
	seqmap_free(&d.map);
	hold_drop_all(&d.held, &tot);
}

/* A packet's room counts what earlier edits made of it: two edits that
 * each fit alone do not both fit one packet. */
static void test_room_counts_earlier_edits(void)
{
	struct flow_dir_state d;
	struct hold_totals tot = { 0, 0 };
	uint8_t a[100];

	dir_init(&d, 110);
	hold_insert(&d.held, held(1, a, 100, 0, 1.0));
	/* 6 bytes to 12: 6 of the 10 bytes of room */
	CHECK_INT_EQ(edit_apply(&d, 10, 16, (const uint8_t *)"AAAAAAAAAAAA", 12, 1), EDIT_APPLIED);
	/* another 6 to 12 would take the packet to 112 */
	CHECK_INT_EQ(edit_apply(&d, 50, 56, (const uint8_t *)"BBBBBBBBBBBB", 12, 1),
		     EDIT_REFUSED_SIZE);
	/* 4 more fit exactly: 110 */
	CHECK_INT_EQ(edit_apply(&d, 50, 56, (const uint8_t *)"BBBBBBBBBB", 10, 1), EDIT_APPLIED);
	CHECK_INT_EQ(seqmap_output_len(&d.map, 0, 100), 110);
	CHECK_INT_EQ(d.map.n_edits, 2);
	seqmap_free(&d.map);
	hold_drop_all(&d.held, &tot);
}

/* Past the room, the last packet of plain data may grow to `segments`
 * segments of its path (it leaves split); a FIN's packet may not, and
 * past the bound the edit is refused. */
static void test_growth_past_one_segment(void)
{
	struct flow_dir_state d;
	struct hold_totals tot = { 0, 0 };
	uint8_t a[100], b[100], big[200];
	struct held_packet *fin;

	memset(big, 'x', sizeof(big));
	dir_init(&d, 110);
	hold_insert(&d.held, held(1, a, 100, 0, 1.0));
	hold_insert(&d.held, held(2, b, 100, 100, 1.0));
	/* [90, 110) becomes 100 bytes: 20 of room in the two packets, the
	 * other 60 make b two segments (its output 150 bytes) */
	CHECK_INT_EQ(edit_apply(&d, 90, 110, big, 100, 1), EDIT_REFUSED_SIZE);
	CHECK_INT_EQ(edit_apply(&d, 90, 110, big, 100, 2), EDIT_APPLIED);
	CHECK_INT_EQ(d.map.n_edits, 2);
	CHECK_INT_EQ(d.map.edits[0].in_start, 90);
	CHECK_INT_EQ(d.map.edits[0].out_len, 20); /* a took its room */
	CHECK_INT_EQ(d.map.edits[1].in_start, 100);
	CHECK_INT_EQ(d.map.edits[1].out_len, 80);
	CHECK_INT_EQ(seqmap_output_len(&d.map, 0, 100), 110);
	CHECK_INT_EQ(seqmap_output_len(&d.map, 100, 100), 170);
	/* b may grow 50 more bytes (to 220, two segments): one byte may become 51, not 52 */
	CHECK_INT_EQ(edit_apply(&d, 150, 151, big, 52, 2), EDIT_REFUSED_SIZE);
	CHECK_INT_EQ(edit_apply(&d, 150, 151, big, 51, 2), EDIT_APPLIED);
	CHECK_INT_EQ(seqmap_output_len(&d.map, 100, 100), 220);
	seqmap_free(&d.map);
	hold_drop_all(&d.held, &tot);

	/* A packet with FIN leaves as one: only its room. */
	dir_init(&d, 110);
	fin = held(3, a, 100, 0, 1.0);
	fin->pkt.tcp_flags = TCP_FLAG_ACK | TCP_FLAG_FIN;
	hold_insert(&d.held, fin);
	CHECK_INT_EQ(edit_apply(&d, 10, 11, big, 20, EDIT_SPLIT_SEGMENTS), EDIT_REFUSED_SIZE);
	CHECK_INT_EQ(edit_apply(&d, 10, 11, big, 11, EDIT_SPLIT_SEGMENTS), EDIT_APPLIED);
	seqmap_free(&d.map);
	hold_drop_all(&d.held, &tot);
}

static void test_edit_of_released_bytes(void)
{
	struct flow_dir_state d;
	struct hold_totals tot = { 0, 0 };
	uint8_t b[100];

	dir_init(&d, 1460);
	d.released_end = 100; /* [0, 100) went out */
	hold_insert(&d.held, held(2, b, 100, 100, 1.0));
	/* Growth of a PDU that began before: refused. */
	CHECK_INT_EQ(edit_apply(&d, 90, 110, (const uint8_t *)"0123456789012345678901", 22, 1),
		     EDIT_REFUSED_COMMITTED);
	/* The same length: the part not sent yet changes. */
	CHECK_INT_EQ(edit_apply(&d, 90, 110, (const uint8_t *)"ABCDEFGHIJabcdefghij", 20, 1),
		     EDIT_APPLIED);
	CHECK_INT_EQ(d.map.n_edits, 1);
	CHECK_INT_EQ(d.map.edits[0].in_start, 100);
	CHECK_MEM_EQ(d.map.edits[0].out, "abcdefghij", 10);
	/* Bytes no held packet carries any more. */
	CHECK_INT_EQ(edit_apply(&d, 10, 20, (const uint8_t *)"0123456789", 10, 1),
		     EDIT_REFUSED_COMMITTED);
	/* An insertion goes with the packet it ends. */
	CHECK_INT_EQ(edit_apply(&d, 200, 200, (const uint8_t *)"NEW", 3, 1), EDIT_APPLIED);
	CHECK_INT_EQ(d.map.n_edits, 2);
	CHECK_INT_EQ(d.map.edits[1].in_start, 200);
	CHECK_INT_EQ(d.map.edits[1].in_len, 0);
	seqmap_free(&d.map);
	hold_drop_all(&d.held, &tot);
}

int main(void)
{
	RUN_TEST(test_order_pop_and_holes);
	RUN_TEST(test_own_copies_the_packet_in_hand);
	RUN_TEST(test_record_in_hand);
	RUN_TEST(test_deadline);
	RUN_TEST(test_no_deadline_behind_a_hole);
	RUN_TEST(test_edit_cut_at_packet_boundaries);
	RUN_TEST(test_edit_of_released_bytes);
	RUN_TEST(test_room_counts_earlier_edits);
	RUN_TEST(test_growth_past_one_segment);
	TEST_MAIN_END();
}
