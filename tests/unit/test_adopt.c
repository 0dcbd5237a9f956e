/* Taking a flow over from a predecessor without a kernel: the state
 * file's record of a flow (handover.h) written and read back, and what a
 * successor rebuilds from it and from the classifier's xlate entries
 * (adopt.h), in particular where it may start decoding again. */
#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"
#include "inline/adopt.h"
#include "inline/handover.h"
#include "packet/packet.h"
#include "test_packet.h"
#include "testlib.h"

#define CLIENT_PORT 40000
#define SERVER_PORT 6667

static void no_event(void *arg, const struct im_event *ev)
{
	(void)arg;
	(void)ev;
}

/* A flow of the table met on a data packet of the server (10.0.0.2:6667)
 * to the client (10.0.0.1:40000) at seq; pkt (over buf) describes it. */
static struct flow *server_packet(struct flow_table *t, uint8_t *buf, struct packet *pkt,
				  uint32_t seq, uint32_t ack, const char *payload)
{
	struct test_tcp4 tp = {
		.src = 2, .dst = 1, .sport = SERVER_PORT, .dport = CLIENT_PORT,
		.seq = seq, .ack = ack, .flags = TCP_FLAG_ACK | TCP_FLAG_PSH,
		.payload = payload, .payload_len = strlen(payload),
	};
	size_t n = test_tcp4_build(buf, &tp);
	enum im_dir dir;
	const char *why;

	memset(pkt, 0, sizeof(*pkt));
	CHECK_INT_EQ(packet_parse_ip(buf, n, n, pkt, &why), PACKET_OK);
	return flow_table_get(t, pkt, &dir);
}

/* The predecessor's map of the server's direction: stream offset 0 at seq
 * 1000, "secret" at [20, 26) became "secret-secret" (+7), and the flow's
 * record as it would write it. */
static void predecessor_record(struct flow_table *t, struct bytebuf *rec)
{
	uint8_t buf[256];
	struct packet pkt;
	struct flow *f = server_packet(t, buf, &pkt, 1000, 5000, "PRIVMSG b :x\r\n");
	struct flow_state *fs;
	enum im_dir in;

	CHECK(f != NULL);
	if (!f)
		return;
	fs = flow_state_new(f);
	CHECK(fs != NULL);
	if (!fs)
		return;
	/* the flow may have been guessed either way round: the server's
	 * direction is the one its port sends */
	in = f->port[IM_DIR_IN] == SERVER_PORT ? IM_DIR_IN : IM_DIR_OUT;
	flow_dir_start(&fs->dir[in], 1000);
	CHECK_INT_EQ(seqmap_add_edit(&fs->dir[in].map, 20, 6, (const uint8_t *)"secret-secret", 13),
		     0);
	fs->dir[in].peer_mss = 1460;
	/* the receiver acknowledged it: the predecessor folded it away */
	seqmap_acknowledge(&fs->dir[in].map, 100);
	CHECK_INT_EQ(fs->dir[in].map.n_edits, 0);
	CHECK(handover_encode(rec, fs, IMW_PROTO_IRC, 1.0));
	flow_state_free(fs);
	f->ext = NULL;
}

/* A record carries how far its directions were decided, even once every
 * edit was acknowledged and dropped out of it. */
static void test_record_keeps_the_decided_mark(void)
{
	struct flow_table t;
	struct flow_config cfg;
	struct bytebuf rec;
	struct handover_record r;
	int d, marked = 0;

	flow_config_defaults(&cfg);
	CHECK_INT_EQ(flow_table_init(&t, &cfg, no_event, NULL), 0);
	bytebuf_init(&rec);
	predecessor_record(&t, &rec);
	CHECK_INT_EQ(handover_parse(rec.data, rec.len, &r), 0);
	for (d = 0; d < 2; d++) {
		if (!r.dir[d].started)
			continue;
		CHECK_INT_EQ(r.dir[d].n_edits, 0);
		CHECK(r.dir[d].has_decided);
		CHECK_INT_EQ(r.dir[d].decided_seq, 1026); /* past "secret" at 1020 */
		CHECK_INT_EQ(r.dir[d].peer_mss, 1460);
		marked++;
	}
	CHECK_INT_EQ(marked, 1);
	handover_record_free(&r);
	/* cut short anywhere, it does not parse */
	CHECK_INT_EQ(handover_parse(rec.data, rec.len - 1, &r), -1);
	bytebuf_free(&rec);
	flow_table_destroy(&t);
}

/* A version 1 record (a predecessor before the mark) still parses, with
 * no mark. */
static void test_version_1_record(void)
{
	struct bytebuf b;
	struct handover_record r;
	struct imw_flow_key key;
	uint32_t u32;
	uint16_t u16 = 0;
	uint8_t u8;
	double stamp = 1.0;
	int64_t delta = 7;
	int d;

	bytebuf_init(&b);
	memset(&key, 0, sizeof(key));
	u32 = 1;
	bytebuf_append(&b, &u32, 4);
	bytebuf_append(&b, &key, sizeof(key));
	u8 = 0;
	bytebuf_append(&b, &u8, 1); /* client side */
	u8 = (uint8_t)IMW_PROTO_IRC;
	bytebuf_append(&b, &u8, 1);
	bytebuf_append(&b, &u16, 2);
	bytebuf_append(&b, &stamp, sizeof(stamp));
	for (d = 0; d < 4; d++) /* three string lengths and a pad */
		bytebuf_append(&b, &u16, 2);
	for (d = 0; d < 2; d++) {
		u8 = 1;
		bytebuf_append(&b, &u8, 1); /* started */
		u8 = 0;
		bytebuf_append(&b, &u8, 1);
		u16 = 1460;
		bytebuf_append(&b, &u16, 2);
		u32 = 1000;
		bytebuf_append(&b, &u32, 4); /* base seq */
		bytebuf_append(&b, &delta, 8);
		u32 = 0;
		bytebuf_append(&b, &u32, 4); /* no edits */
	}
	CHECK_INT_EQ(handover_parse(b.data, b.len, &r), 0);
	CHECK(!r.dir[0].has_decided && !r.dir[1].has_decided);
	CHECK_INT_EQ(r.dir[1].peer_mss, 1460);
	CHECK_INT_EQ(r.dir[1].base_delta, 7);
	handover_record_free(&r);
	bytebuf_free(&b);
}

/* The predecessor edited "secret" at seq 1020 and the receiver
 * acknowledged it; the classifier folded the edit while no daemon ran
 * (its entry: +7, no live edit) and passed nothing of the direction. The
 * sender, whose ack was lost, resends [1000, 1040) to the successor: it
 * must not be decoded again (the edit would be made twice, and the
 * receiver's later bytes shifted by 7), whatever the classifier shows. */
static void test_successor_does_not_decode_what_was_decided(void)
{
	struct flow_table t;
	struct flow_config cfg;
	struct bytebuf rec;
	struct handover_record r;
	struct bpf_publish_state xl[2];
	bool found[2] = { false, false };
	struct adopt_counts c;
	uint8_t buf[256];
	struct packet pkt;
	struct flow *f;
	struct flow_state *fs;
	enum im_dir in;
	const char *resent = "PRIVMSG b :a secret line from before!\r\n";

	flow_config_defaults(&cfg);
	CHECK_INT_EQ(flow_table_init(&t, &cfg, no_event, NULL), 0);
	bytebuf_init(&rec);
	predecessor_record(&t, &rec);
	flow_table_destroy(&t);
	CHECK_INT_EQ(handover_parse(rec.data, rec.len, &r), 0);

	/* the successor's table meets the retransmission first */
	CHECK_INT_EQ(flow_table_init(&t, &cfg, no_event, NULL), 0);
	f = server_packet(&t, buf, &pkt, 1000, 5000, resent);
	CHECK(f != NULL);
	fs = f ? flow_state_new(f) : NULL;
	CHECK(fs != NULL);
	if (fs) {
		in = f->port[IM_DIR_IN] == SERVER_PORT ? IM_DIR_IN : IM_DIR_OUT;
		memset(xl, 0, sizeof(xl));
		xl[in].base_delta = 7;
		xl[in].proto = IMW_PROTO_IRC;
		found[in] = true;
		CHECK_INT_EQ(adopt_flow(fs, in, &pkt, 1000, xl, found, &r, 5.0, &c), 0);
		CHECK_INT_EQ(c.directions, 1);
		CHECK(fs->dir[in].adopted);
		/* decoding starts past the predecessor's edit, not at 1000 */
		CHECK_INT_EQ(seqmap_seq_of(&fs->dir[in].map, fs->dir[in].adopted_until), 1026);
		CHECK_INT_EQ(fs->dir[in].released_end, fs->dir[in].adopted_until);
		/* the retransmission still lands where the receiver has it */
		CHECK_INT_EQ(seqmap_seq_of(&fs->dir[in].map,
					   seqmap_out_of_in(&fs->dir[in].map,
							    seqmap_in_offset(&fs->dir[in].map, 1026))),
			     1033);
		seqmap_free(&fs->dir[in].map);
		memset(&fs->dir[in], 0, sizeof(fs->dir[in]));

		/* without the record's mark nothing told the successor: it
		 * would have decoded the retransmission from 1000 */
		r.dir[in].has_decided = false;
		CHECK_INT_EQ(adopt_flow(fs, in, &pkt, 1000, xl, found, &r, 5.0, &c), 0);
		CHECK_INT_EQ(fs->dir[in].adopted_until, 0);
		flow_state_free(fs);
		f->ext = NULL;
	}
	handover_record_free(&r);
	bytebuf_free(&rec);
	flow_table_destroy(&t);
}

int main(void)
{
	RUN_TEST(test_record_keeps_the_decided_mark);
	RUN_TEST(test_version_1_record);
	RUN_TEST(test_successor_does_not_decode_what_was_decided);
	TEST_MAIN_END();
}
