/* The translate unit on single packets: seq through the packet's own
 * direction's map, ack and SACK blocks through the other's, the payload
 * rebuilt from the edit list, as nf_ct_seq_adjust does for one packet.
 * Maps are set up by hand (seqmap_add_edit); each check is on the numbers
 * and bytes of one translated packet. */
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "inline/translate.h"
#include "test_packet.h"
#include "testlib.h"

#define ISN_A 1000u       /* first data seq of direction a (client to server) */
#define ISN_B 0xFFFFFFF0u /* of direction b: wraps past zero */

struct pkt {
	uint8_t ip[1600];
	size_t len;
	struct packet p;
};

/* An IPv4/TCP packet from a (client) or b; sack: n blocks of left,right. */
static void build(struct pkt *k, bool from_a, uint32_t seq, uint32_t ack, const char *payload,
		  const uint32_t *sack, int n_sack)
{
	uint8_t opt[4 + 8 * 4];
	struct test_tcp4 t = {
		.src = from_a ? 1 : 2, .dst = from_a ? 2 : 1,
		.sport = from_a ? 40000 : 6667, .dport = from_a ? 6667 : 40000,
		.seq = seq, .ack = ack,
		.flags = TCP_FLAG_ACK | (payload[0] ? TCP_FLAG_PSH : 0),
		.options = opt, .options_len = n_sack ? 4 + 8 * (size_t)n_sack : 0,
		.payload = payload, .payload_len = strlen(payload),
	};
	const char *why;
	int i;

	memset(k, 0, sizeof(*k));
	opt[0] = 1, opt[1] = 1, opt[2] = 5, opt[3] = (uint8_t)(2 + 8 * n_sack);
	for (i = 0; i < 2 * n_sack; i++)
		imw_store_be32(opt + 4 + 4 * i, sack[i]);
	k->len = test_tcp4_build(k->ip, &t);
	CHECK_INT_EQ(packet_parse_ip(k->ip, k->len, k->len, &k->p, &why), PACKET_OK);
}

struct dirs {
	struct flow_dir_state a, b;
	struct bytebuf payload, out;
};

static void dirs_init(struct dirs *d)
{
	memset(d, 0, sizeof(*d));
	flow_dir_start(&d->a, ISN_A);
	flow_dir_start(&d->b, ISN_B);
	d->a.peer_mss = d->b.peer_mss = 1460;
	bytebuf_init(&d->payload);
	bytebuf_init(&d->out);
}

static void dirs_free(struct dirs *d)
{
	seqmap_free(&d->a.map);
	seqmap_free(&d->b.map);
	bytebuf_free(&d->payload);
	bytebuf_free(&d->out);
}

/* The translated packet parsed back: its seq, ack, payload, SACK edges. */
static void parse_out(struct dirs *d, uint32_t *seq, uint32_t *ack, char *payload, size_t cap,
		      uint32_t *sack, int n_sack)
{
	struct packet p;
	const char *why;
	int i;

	CHECK_INT_EQ(packet_parse_ip(d->out.data, d->out.len, d->out.len, &p, &why), PACKET_OK);
	*seq = p.seq;
	*ack = p.ack;
	CHECK(p.payload_len < cap);
	memcpy(payload, p.payload, p.payload_len < cap ? p.payload_len : 0);
	payload[p.payload_len < cap ? p.payload_len : 0] = '\0';
	for (i = 0; i < 2 * n_sack; i++)
		sack[i] = imw_load_be32(d->out.data + 20 + 24 + 4 * i);
}

static void test_untouched_packet_passes_unchanged(void)
{
	struct dirs d;
	struct pkt k;
	struct translation t;

	dirs_init(&d);
	build(&k, true, ISN_A, ISN_B, "PRIVMSG bob :hi\r\n", NULL, 0);
	CHECK_INT_EQ(translate_segment(&d.a, &d.b, &k.p, false, false, &d.payload, &t), 0);
	CHECK(!t.changed);
	CHECK(!t.emptied);
	CHECK_INT_EQ(t.seq, ISN_A);
	CHECK_INT_EQ(t.ack, ISN_B);
	CHECK_INT_EQ(t.payload_len, k.p.payload_len);
	/* The caller's own change (a clamped MSS) still makes a new packet. */
	CHECK_INT_EQ(translate_segment(&d.a, &d.b, &k.p, false, true, &d.payload, &t), 0);
	CHECK(t.changed);
	dirs_free(&d);
}

/* An edit that grows a's stream by 7 bytes: a later packet of a moves by
 * 7, the packet carrying the edit is rebuilt with it, b's ack of what it
 * received maps back into a's input space. */
static void test_seq_payload_and_ack(void)
{
	struct dirs d;
	struct pkt k;
	struct translation t;
	uint32_t seq, ack;
	char got[256];

	dirs_init(&d);
	/* "PRIVMSG bob :secret\r\n": "secret" at input offsets 13..19 */
	CHECK_INT_EQ(seqmap_add_edit(&d.a.map, 13, 6, (const uint8_t *)"[a secret]+", 11), 0);
	build(&k, true, ISN_A, ISN_B, "PRIVMSG bob :secret\r\n", NULL, 0);
	CHECK_INT_EQ(translate_segment(&d.a, &d.b, &k.p, false, false, &d.payload, &t), 0);
	CHECK(t.changed);
	CHECK_INT_EQ(t.seq, ISN_A);
	CHECK_INT_EQ(t.payload_len, 26);
	CHECK_INT_EQ(translate_build(&t, k.ip, &k.p, &d.out), 0);
	parse_out(&d, &seq, &ack, got, sizeof(got), NULL, 0);
	CHECK_STR_EQ(got, "PRIVMSG bob :[a secret]+\r\n");
	CHECK_INT_EQ(ack, ISN_B);

	/* The next line of a: same bytes, 5 further on. */
	build(&k, true, ISN_A + 21, ISN_B, "PING x\r\n", NULL, 0);
	CHECK_INT_EQ(translate_segment(&d.a, &d.b, &k.p, false, false, &d.payload, &t), 0);
	CHECK(t.changed);
	CHECK_INT_EQ(t.seq, ISN_A + 26);
	CHECK_INT_EQ(t.payload_len, 8);
	CHECK_MEM_EQ(t.payload, "PING x\r\n", 8);

	/* b acks all 34 output bytes: a's sender hears of its 29 input bytes. */
	build(&k, false, ISN_B, ISN_A + 34, "", NULL, 0);
	CHECK_INT_EQ(translate_ack_to_input(&d.a, ISN_A + 34), ISN_A + 29);
	CHECK_INT_EQ(translate_segment(&d.b, &d.a, &k.p, false, false, &d.payload, &t), 0);
	CHECK(t.changed);
	CHECK_INT_EQ(t.seq, ISN_B); /* b's own stream is untouched */
	CHECK_INT_EQ(t.ack, ISN_A + 29);
	dirs_free(&d);
}

/* SACK edges of b's ack go through a's map like the ack; an edge at or
 * below the cumulative ack (a D-SACK) becomes an empty block there. */
static void test_sack_blocks(void)
{
	struct dirs d;
	struct pkt k;
	struct translation t;
	uint32_t seq, ack, sack[4], in[4];
	char got[64];

	dirs_init(&d);
	/* a's input offset 10 gets 4 inserted bytes: output is input + 4 after it */
	CHECK_INT_EQ(seqmap_add_edit(&d.a.map, 10, 0, (const uint8_t *)"INS!", 4), 0);
	in[0] = ISN_A + 104, in[1] = ISN_A + 204; /* a block after the insertion */
	in[2] = ISN_A + 2, in[3] = ISN_A + 6;     /* D-SACK below the ack */
	build(&k, false, ISN_B, ISN_A + 54, "", in, 2);
	CHECK_INT_EQ(translate_segment(&d.b, &d.a, &k.p, false, false, &d.payload, &t), 0);
	CHECK(t.changed);
	CHECK(t.sack_map == &d.a.map);
	CHECK_INT_EQ(t.ack, ISN_A + 50);
	CHECK_INT_EQ(translate_build(&t, k.ip, &k.p, &d.out), 0);
	parse_out(&d, &seq, &ack, got, sizeof(got), sack, 2);
	CHECK_INT_EQ(ack, ISN_A + 50);
	CHECK_INT_EQ(sack[0], ISN_A + 100);
	CHECK_INT_EQ(sack[1], ISN_A + 200);
	CHECK_INT_EQ(sack[2], ISN_A + 50);
	CHECK_INT_EQ(sack[3], ISN_A + 50);
	dirs_free(&d);
}

/* Every byte of a segment deleted: nothing to send; a bare ack of the same
 * direction still goes, translated. */
static void test_emptied_segment(void)
{
	struct dirs d;
	struct pkt k;
	struct translation t;

	dirs_init(&d);
	CHECK_INT_EQ(seqmap_add_edit(&d.a.map, 0, 9, NULL, 0), 0);
	build(&k, true, ISN_A, ISN_B, "QUIT :x\r\n", NULL, 0);
	CHECK_INT_EQ(translate_segment(&d.a, &d.b, &k.p, false, false, &d.payload, &t), 0);
	CHECK(t.changed);
	CHECK(t.emptied);
	CHECK_INT_EQ(t.payload_len, 0);
	build(&k, true, ISN_A + 9, ISN_B, "", NULL, 0);
	CHECK_INT_EQ(translate_segment(&d.a, &d.b, &k.p, false, false, &d.payload, &t), 0);
	CHECK(!t.emptied);
	CHECK_INT_EQ(t.seq, ISN_A);
	dirs_free(&d);
}

/* A retransmission covering more growth than fits the receiver's MSS is
 * cut; bytes the receiver acknowledged are not sent again. */
static void test_capped_and_acked_prefix(void)
{
	struct dirs d;
	struct pkt k;
	struct translation t;
	char big[1500];

	dirs_init(&d);
	d.a.peer_mss = 100;
	memset(big, 'x', 80);
	big[80] = '\0';
	memset(big + 100, 'y', 60);
	CHECK_INT_EQ(seqmap_add_edit(&d.a.map, 10, 1, (const uint8_t *)big + 100, 60), 0);
	build(&k, true, ISN_A, ISN_B, big, NULL, 0);
	CHECK_INT_EQ(translate_segment(&d.a, &d.b, &k.p, false, false, &d.payload, &t), 0);
	CHECK(t.capped);
	CHECK_INT_EQ(t.payload_len, 100);
	/* A GSO super-packet is cut by the kernel: not here. */
	CHECK_INT_EQ(translate_segment(&d.a, &d.b, &k.p, true, false, &d.payload, &t), 0);
	CHECK(!t.capped);
	CHECK_INT_EQ(t.payload_len, 139);
	/* The receiver has the first 50 output bytes. */
	d.a.peer_acked_out = 50;
	CHECK_INT_EQ(translate_segment(&d.a, &d.b, &k.p, true, false, &d.payload, &t), 0);
	CHECK_INT_EQ(t.seq, ISN_A + 50);
	CHECK_INT_EQ(t.payload_len, 89);
	dirs_free(&d);
}

/* Acknowledging folds edits away: the map is one offset, and says so once. */
static void test_acknowledge_collapses(void)
{
	struct dirs d;

	dirs_init(&d);
	CHECK_INT_EQ(seqmap_add_edit(&d.a.map, 10, 2, (const uint8_t *)"four", 4), 0);
	CHECK(!translate_acknowledge(&d.a, ISN_A + 10));
	CHECK_INT_EQ(d.a.peer_acked_out, 10);
	CHECK_INT_EQ(d.a.map.n_edits, 1);
	CHECK(translate_acknowledge(&d.a, ISN_A + 20));
	CHECK_INT_EQ(d.a.peer_acked_out, 20);
	CHECK_INT_EQ(d.a.map.n_edits, 0);
	CHECK_INT_EQ(d.a.map.base_delta, 2);
	CHECK(!translate_acknowledge(&d.a, ISN_A + 30));
	/* An older ack does not move the receiver's mark back. */
	CHECK(!translate_acknowledge(&d.a, ISN_A + 12));
	CHECK_INT_EQ(d.a.peer_acked_out, 30);
	dirs_free(&d);
}

int main(void)
{
	RUN_TEST(test_untouched_packet_passes_unchanged);
	RUN_TEST(test_seq_payload_and_ack);
	RUN_TEST(test_sack_blocks);
	RUN_TEST(test_emptied_segment);
	RUN_TEST(test_capped_and_acked_prefix);
	RUN_TEST(test_acknowledge_collapses);
	TEST_MAIN_END();
}
