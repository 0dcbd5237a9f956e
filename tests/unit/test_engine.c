/* The inline engine without a kernel: synthetic IPv4 segments go in,
 * verdicts come out, and a model receiver on each side reassembles what it
 * would get. Asserts the bytes each side receives, the acks each sender
 * sees, checksums, holding and release, and invisibility of untouched
 * flows. */
#include <bpf/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imwire/bpf_maps.h"
#include "imwire/byteorder.h"
#include "inline/bpf_publish.h"
#include "inline/engine.h"
#include "inline/handover.h"
#include "packet/tcp_edit.h"
#include "test_packet.h"
#include "test_table.h"
#include "testlib.h"

#define CLIENT_PORT 40000
#define SERVER_PORT 6667

struct side {
	uint32_t isn;
	uint32_t next_seq; /* next input seq this side sends */
	/* what this side received from the other, by output seq */
	uint32_t rcv_base;
	uint8_t rcv[8192];
	size_t rcv_len;  /* contiguous bytes received */
	uint32_t last_ack_seen; /* last ack field this side got (its own seq space) */
	bool have_rcv_base;
};

struct harness {
	struct engine e;
	struct route_table *table;
	struct test_inject_rule inject;
	struct engine_outq q;
	struct side c, s;
	uint32_t next_id;
	double now;
	int verdicts_accept, verdicts_modified, verdicts_drop;
	int events;
	char last_text[256];
	int policy_failures;
	char last_failure[256];
	bool bad_checksum;
	/* Packets go in with the queue's link facts (port, source MAC), so the
	 * engine can send segments of its own; those it sent, in order. */
	bool linked;
	int origins;
	uint8_t origin[8][2048];
	size_t origin_len[8];
};

static void on_log(void *arg, const struct im_event *ev)
{
	struct harness *h = arg;

	if (ev->kind == IM_KIND_POLICY_FAILURE) {
		h->policy_failures++;
		snprintf(h->last_failure, sizeof(h->last_failure), "%s", ev->text ? ev->text : "");
		return;
	}
	h->events++;
	snprintf(h->last_text, sizeof(h->last_text), "%s", ev->text ? ev->text : "");
}

/* An IPv4 header's checksum is right: its words sum to 0xFFFF. */
static bool ip_header_ok(const uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 0x0F) * 4, i;
	uint32_t sum = 0;

	for (i = 0; i < ihl; i += 2)
		sum += imw_load_be16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return sum == 0xFFFF;
}

static uint16_t checksum_of(const uint8_t *ip, size_t len)
{
	uint8_t copy[2048];
	size_t ihl = (size_t)(ip[0] & 0x0F) * 4;

	memcpy(copy, ip, len);
	tcp_edit_fix_checksums(copy, len, 4, ihl);
	return imw_load_be16(copy + ihl + 16);
}

static size_t make_packet(uint8_t *p, bool from_client, uint32_t seq, uint32_t ack, uint8_t flags,
			  const char *payload, size_t plen, uint16_t mss)
{
	uint8_t opt[4];
	struct test_tcp4 t = {
		.src = from_client ? 1 : 2, .dst = from_client ? 2 : 1,
		.sport = from_client ? CLIENT_PORT : SERVER_PORT,
		.dport = from_client ? SERVER_PORT : CLIENT_PORT,
		.seq = seq, .ack = ack, .flags = flags,
		.options = opt, .options_len = mss ? 4 : 0,
		.payload = payload, .payload_len = plen,
	};

	test_mss_option(opt, mss);
	return test_tcp4_build(p, &t);
}

/* Deliver one verdict's packet to the side it travels to. */
static void deliver(struct harness *h, const uint8_t *pkt, size_t len)
{
	bool to_server = imw_load_be16(pkt + 22) == SERVER_PORT;
	struct side *dst = to_server ? &h->s : &h->c;
	size_t hl = (size_t)(pkt[32] >> 4) * 4, plen = len - 20 - hl;
	uint32_t seq = imw_load_be32(pkt + 24);
	uint8_t flags = pkt[33];

	if (checksum_of(pkt, len) != imw_load_be16(pkt + 36) || !ip_header_ok(pkt) ||
	    imw_load_be16(pkt + 2) != len)
		h->bad_checksum = true;
	if (flags & TCP_FLAG_ACK)
		dst->last_ack_seen = imw_load_be32(pkt + 28);
	if (flags & TCP_FLAG_SYN) {
		dst->rcv_base = seq + 1;
		dst->have_rcv_base = true;
		return;
	}
	if (!plen || !dst->have_rcv_base)
		return;
	/* place by output seq; later copies of a byte must agree */
	{
		uint32_t off = seq - dst->rcv_base;
		size_t i;

		if (off + plen > sizeof(dst->rcv))
			return;
		for (i = 0; i < plen; i++) {
			if (off + i < dst->rcv_len && dst->rcv[off + i] != pkt[20 + hl + i])
				h->bad_checksum = true; /* conflicting bytes: flag as corruption */
			dst->rcv[off + i] = pkt[20 + hl + i];
		}
		if (off <= dst->rcv_len && off + plen > dst->rcv_len)
			dst->rcv_len = off + plen;
	}
}

static void drain(struct harness *h, const uint8_t **orig, const size_t *orig_len,
		  size_t n_orig)
{
	size_t i;

	for (i = 0; i < h->q.n; i++) {
		struct verdict *o = &h->q.v[i];

		if (o->kind == VERDICT_DROP) {
			h->verdicts_drop++;
			continue;
		}
		if (o->kind == VERDICT_ACCEPT_MODIFIED) {
			h->verdicts_modified++;
			deliver(h, h->q.bytes.data + o->offset, o->len);
			continue;
		}
		h->verdicts_accept++;
		if (o->id < n_orig && orig[o->id])
			deliver(h, orig[o->id], orig_len[o->id]);
	}
	/* our own segments leave after the verdicts (runtime/workers.c) */
	for (i = 0; i < h->q.n_orig; i++) {
		const struct engine_origin *o = &h->q.orig[i];
		const uint8_t *p = h->q.bytes.data + o->offset;

		if (h->origins < 8 && o->len <= sizeof(h->origin[0])) {
			memcpy(h->origin[h->origins], p, o->len);
			h->origin_len[h->origins] = o->len;
		}
		h->origins++;
		deliver(h, p, o->len);
	}
	engine_outq_clear(&h->q);
}

/* Keep every packet sent so plain accepts (possibly of held packets,
 * released later) can be delivered from the original bytes. */
static uint8_t *sent[512];
static size_t sent_len[512];

/* One packet into the engine, with the link the queue would tell when
 * the harness is linked: the bridge port towards its receiver and its
 * sender's MAC. */
static void engine_in(struct harness *h, bool from_client, uint32_t id, const uint8_t *buf,
		      size_t n)
{
	struct engine_packet_link link;

	if (!h->linked) {
		engine_packet(&h->e, id, buf, n, false, h->now, &h->q);
		return;
	}
	memset(&link, 0, sizeof(link));
	link.outdev = 9;
	link.physoutdev = from_client ? 3 : 4;
	link.has_mac = true;
	memcpy(link.src_mac, from_client ? "\x02\0\0\0\0\x01" : "\x02\0\0\0\0\x02", 6);
	engine_packet_with_link(&h->e, id, buf, n, false, &link, h->now, &h->q);
}

static void send_pkt(struct harness *h, bool from_client, uint8_t flags, const char *payload,
		     size_t plen, uint16_t mss)
{
	struct side *src = from_client ? &h->c : &h->s, *dst = from_client ? &h->s : &h->c;
	uint8_t buf[2048];
	size_t n;
	uint32_t id = h->next_id++;
	uint32_t ack = dst->next_seq;

	n = make_packet(buf, from_client, src->next_seq, (flags & TCP_FLAG_ACK) ? ack : 0, flags,
			payload, plen, mss);
	sent[id] = malloc(n);
	memcpy(sent[id], buf, n);
	sent_len[id] = n;
	src->next_seq += (uint32_t)plen + ((flags & (TCP_FLAG_SYN | TCP_FLAG_FIN)) ? 1 : 0);
	engine_in(h, from_client, id, buf, n);
	drain(h, (const uint8_t **)sent, sent_len, 512);
}

/* A receiver acks everything it got so far (in its received output space). */
static void ack_from(struct harness *h, bool from_client)
{
	struct side *src = from_client ? &h->c : &h->s;
	uint8_t buf[128];
	uint32_t id = h->next_id++;
	size_t n = make_packet(buf, from_client, src->next_seq, src->rcv_base + (uint32_t)src->rcv_len,
			       TCP_FLAG_ACK, "", 0, 0);

	sent[id] = malloc(n);
	memcpy(sent[id], buf, n);
	sent_len[id] = n;
	engine_in(h, from_client, id, buf, n);
	drain(h, (const uint8_t **)sent, sent_len, 512);
}

/* The rules as public configuration: a rewrite and a deletion are regex
 * rules; the insertion after a trigger is the test-only handler. */
static void setup_as(struct harness *h, bool linked, const char *rewrite_from,
		     const char *rewrite_to, const char *drop, const char *inject_word,
		     const char *inject_text)
{
	struct engine_config cfg;
	char rules[512] = "";
	size_t n = 0;

	memset(h, 0, sizeof(*h));
	h->linked = linked;
	engine_config_defaults(&cfg);
	if (rewrite_from)
		n += (size_t)snprintf(rules + n, sizeof(rules) - n, "regex_replace=/%s/%s/\n",
				      rewrite_from, rewrite_to);
	if (drop)
		n += (size_t)snprintf(rules + n, sizeof(rules) - n, "regex_replace=/%s//b\n", drop);
	if (n || inject_word) {
		h->table = test_table(rules, NULL);
		CHECK(h->table != NULL);
	}
	if (inject_word && h->table) {
		h->inject.word = inject_word;
		h->inject.text = inject_text;
		CHECK_INT_EQ(test_inject_add(h->table, &h->inject), 0);
	}
	cfg.table = h->table;
	CHECK_INT_EQ(engine_init(&h->e, &cfg, on_log, h), 0);
	engine_outq_init(&h->q);
	h->c.isn = h->c.next_seq = 0xFFFFFFF0u; /* wraps during the test */
	h->s.isn = h->s.next_seq = 5000;
	h->now = 1000.0;
	send_pkt(h, true, TCP_FLAG_SYN, "", 0, 1460);
	send_pkt(h, false, TCP_FLAG_SYN | TCP_FLAG_ACK, "", 0, 1460);
	send_pkt(h, true, TCP_FLAG_ACK, "", 0, 0);
}

static void setup(struct harness *h, const char *rewrite_from, const char *rewrite_to,
		  const char *drop, const char *inject_word, const char *inject_text)
{
	setup_as(h, false, rewrite_from, rewrite_to, drop, inject_word, inject_text);
}

static void teardown(struct harness *h)
{
	size_t i;

	engine_destroy(&h->e, &h->q);
	drain(h, (const uint8_t **)sent, sent_len, 512);
	engine_outq_free(&h->q);
	route_table_unref(h->table);
	for (i = 0; i < 512; i++) {
		free(sent[i]);
		sent[i] = NULL;
	}
}

#define SEND(h, c, s) send_pkt((h), (c), TCP_FLAG_ACK | TCP_FLAG_PSH, (s), strlen(s), 0)

static void test_untouched_flow_is_invisible(void)
{
	struct harness h;

	setup(&h, NULL, NULL, NULL, NULL, NULL);
	/* the two SYNs had their MSS clamped: modified; nothing else may be */
	CHECK_INT_EQ(h.verdicts_modified, 2);
	SEND(&h, true, "NICK alice\r\nUSER a 0 * :A\r\n");
	SEND(&h, false, ":srv 001 alice :Welcome\r\n");
	SEND(&h, true, "PRIVMSG bob :hello there\r\n");
	ack_from(&h, false);
	SEND(&h, false, ":bob!b@h PRIVMSG alice :hi alice\r\n");
	ack_from(&h, true);
	CHECK_INT_EQ(h.verdicts_modified, 2);
	CHECK_INT_EQ(h.verdicts_drop, 0);
	CHECK_INT_EQ(h.s.rcv_len, strlen("NICK alice\r\nUSER a 0 * :A\r\nPRIVMSG bob :hello there\r\n"));
	CHECK(h.events >= 2);
	CHECK_STR_EQ(h.last_text, "hi alice");
	CHECK(!h.bad_checksum);
	teardown(&h);
}

static void check_stream(struct side *s, const char *expect)
{
	CHECK_INT_EQ(s->rcv_len, strlen(expect));
	CHECK(s->rcv_len == strlen(expect) && memcmp(s->rcv, expect, s->rcv_len) == 0);
	if (s->rcv_len != strlen(expect) || memcmp(s->rcv, expect, s->rcv_len) != 0)
		fprintf(stderr, "  got: \"%.*s\"\n", (int)s->rcv_len, s->rcv);
}

static void test_rewrite_longer_both_directions_and_acks(void)
{
	struct harness h;

	setup(&h, "secret", "[censored words]", NULL, NULL, NULL);
	SEND(&h, true, "NICK alice\r\n");
	SEND(&h, true, "PRIVMSG bob :the secret is out\r\n");
	SEND(&h, true, "PRIVMSG bob :after\r\n");
	check_stream(&h.s, "NICK alice\r\nPRIVMSG bob :the [censored words] is out\r\nPRIVMSG bob :after\r\n");
	/* the server acks what it got; the client sees an ack of what it sent */
	ack_from(&h, false);
	CHECK_INT_EQ(h.c.last_ack_seen, h.c.next_seq);
	SEND(&h, false, ":bob!b@h PRIVMSG alice :my secret too\r\n");
	SEND(&h, false, ":bob!b@h PRIVMSG alice :bye\r\n");
	check_stream(&h.c, ":bob!b@h PRIVMSG alice :my [censored words] too\r\n:bob!b@h PRIVMSG alice :bye\r\n");
	ack_from(&h, true);
	CHECK_INT_EQ(h.s.last_ack_seen, h.s.next_seq);
	/* the logs keep the original text */
	CHECK_STR_EQ(h.last_text, "bye");
	CHECK(!h.bad_checksum);
	teardown(&h);
}

static void test_two_edits_in_one_segment(void)
{
	struct harness h;

	setup(&h, "secret", "[censored words]", NULL, NULL, NULL);
	SEND(&h, true, "NICK alice\r\n");
	SEND(&h, true, "PRIVMSG bob :the secret is out\r\nPRIVMSG bob :secret secret twice\r\n");
	check_stream(&h.s, "NICK alice\r\nPRIVMSG bob :the [censored words] is out\r\n"
			   "PRIVMSG bob :[censored words] [censored words] twice\r\n");
	ack_from(&h, false);
	CHECK_INT_EQ(h.c.last_ack_seen, h.c.next_seq);
	teardown(&h);
}

static void test_rewrite_shorter_and_same_length(void)
{
	struct harness h;

	setup(&h, "swordfish", "x", NULL, NULL, NULL);
	SEND(&h, true, "PRIVMSG bob :swordfish swordfish\r\n");
	SEND(&h, true, "PRIVMSG bob :ok\r\n");
	check_stream(&h.s, "PRIVMSG bob :x x\r\nPRIVMSG bob :ok\r\n");
	ack_from(&h, false);
	CHECK_INT_EQ(h.c.last_ack_seen, h.c.next_seq);
	teardown(&h);

	setup(&h, "cat", "dog", NULL, NULL, NULL);
	SEND(&h, true, "PRIVMSG bob :cat\r\n");
	check_stream(&h.s, "PRIVMSG bob :dog\r\n");
	teardown(&h);
}

static void test_delete_and_insert(void)
{
	struct harness h;

	setup(&h, NULL, NULL, "forbidden", "ping-me", "INJECTED");
	SEND(&h, true, "PRIVMSG bob :one\r\n");
	SEND(&h, true, "PRIVMSG bob :forbidden two\r\n");
	CHECK_INT_EQ(h.verdicts_drop, 1);
	SEND(&h, true, "PRIVMSG bob :three ping-me\r\n");
	SEND(&h, true, "PRIVMSG bob :four\r\n");
	check_stream(&h.s, "PRIVMSG bob :one\r\nPRIVMSG bob :three ping-me\r\nPRIVMSG bob :INJECTED\r\n"
			   "PRIVMSG bob :four\r\n");
	ack_from(&h, false);
	CHECK_INT_EQ(h.c.last_ack_seen, h.c.next_seq);
	CHECK(!h.bad_checksum);
	teardown(&h);
}

static void test_pdu_split_over_three_segments_is_held(void)
{
	struct harness h;
	size_t before;

	setup(&h, "secret", "SECRETS!", NULL, NULL, NULL);
	SEND(&h, true, "PRIVMSG bob :a sec");
	before = h.s.rcv_len;
	CHECK_INT_EQ(before, 0); /* held: policy may change its length */
	SEND(&h, true, "ret in three ");
	CHECK_INT_EQ(h.s.rcv_len, 0);
	SEND(&h, true, "parts\r\nPRIVMSG bob :next\r\n");
	check_stream(&h.s, "PRIVMSG bob :a SECRETS! in three parts\r\nPRIVMSG bob :next\r\n");
	ack_from(&h, false);
	CHECK_INT_EQ(h.c.last_ack_seen, h.c.next_seq);
	teardown(&h);
}

static void test_deadline_releases_and_commits(void)
{
	struct harness h;

	setup(&h, "secret", "longer-secret", NULL, NULL, NULL);
	SEND(&h, true, "PRIVMSG bob :my sec");
	CHECK_INT_EQ(h.s.rcv_len, 0);
	h.now += 0.060;
	engine_tick(&h.e, h.now, &h.q);
	drain(&h, (const uint8_t **)sent, sent_len, 512);
	CHECK_INT_EQ(h.s.rcv_len, strlen("PRIVMSG bob :my sec"));
	CHECK_INT_EQ(h.e.stats.deadline_releases, 1);
	/* the rest completes a PDU whose start is committed: no length change,
	 * but the rule is not bypassed: the rule's text fitted to the
	 * original's length ("my longer") goes as far as it is not sent yet,
	 * and the failure is an event of its own */
	SEND(&h, true, "ret\r\n");
	check_stream(&h.s, "PRIVMSG bob :my secger\r\n");
	CHECK_INT_EQ(h.e.stats.edits_refused_committed, 1);
	CHECK_INT_EQ(h.e.stats.policy_fallbacks, 1);
	CHECK_INT_EQ(h.e.stats.policy_unenforced, 0);
	CHECK_INT_EQ(h.policy_failures, 1);
	CHECK(strncmp(h.last_failure, "edit refused (part of the message had gone out)", 47) == 0);
	CHECK(strstr(h.last_failure, ": my secret") != NULL);
	CHECK_STR_EQ(h.last_text, "my secret"); /* the message itself, logged as ever */
	teardown(&h);
}

/* A segment lost after the bridge comes back after an RTO, well past the
 * 50 ms deadline; what arrived behind the hole waits for it (the
 * receiver could not deliver it anyway), so the edit is made. */
static void test_hole_holds_past_the_deadline(void)
{
	struct harness h;
	const char *a = "PRIVMSG bob :my sec", *b = "ret and more\r\n";
	uint32_t base;

	setup(&h, "secret", "longer-secret", NULL, NULL, NULL);
	SEND(&h, true, "NICK alice\r\n");
	base = h.c.next_seq;
	h.c.next_seq = base + (uint32_t)strlen(a);
	SEND(&h, true, b); /* a was lost after the bridge */
	h.now += 0.300;    /* an RTO */
	engine_tick(&h.e, h.now, &h.q);
	drain(&h, (const uint8_t **)sent, sent_len, 512);
	CHECK_INT_EQ(h.s.rcv_len, strlen("NICK alice\r\n"));
	CHECK_INT_EQ(h.e.stats.deadline_releases, 0);
	h.c.next_seq = base;
	SEND(&h, true, a); /* the retransmission */
	h.c.next_seq = base + (uint32_t)(strlen(a) + strlen(b));
	check_stream(&h.s, "NICK alice\r\nPRIVMSG bob :my longer-secret and more\r\n");
	CHECK_INT_EQ(h.e.stats.edits_refused_committed, 0);
	CHECK_INT_EQ(h.policy_failures, 0);
	/* a hole that never fills: held no longer than hold_hole_ms, said */
	base = h.c.next_seq;
	h.c.next_seq = base + 5;
	SEND(&h, true, "PRIVMSG bob :x\r\n");
	h.now += 1.0;
	engine_tick(&h.e, h.now, &h.q);
	CHECK_INT_EQ(h.e.stats.hole_bound_releases, 0);
	h.now += 2.1;
	engine_tick(&h.e, h.now, &h.q);
	drain(&h, (const uint8_t **)sent, sent_len, 512);
	CHECK_INT_EQ(h.e.stats.hole_bound_releases, 1);
	CHECK_INT_EQ(h.e.held.packets, 0);
	CHECK(!h.bad_checksum);
	teardown(&h);
}

/* The path of dir takes mss bytes a segment (as if its SYN said so). */
static void set_peer_mss(struct harness *h, enum im_dir dir, uint16_t mss)
{
	struct flow_state *fs = NULL;
	size_t b;

	for (b = 0; b < h->e.flows.n_buckets; b++)
		if (h->e.flows.buckets[b])
			fs = h->e.flows.buckets[b]->ext;
	CHECK(fs != NULL);
	if (fs)
		fs->dir[dir].peer_mss = mss;
}

/* An edit that cannot fit the path goes as its same-length fallback, and
 * the failure is logged: never the original text silently. */
static void test_too_big_falls_back(void)
{
	struct harness h;

	setup(&h, "secret",
	      "a-much-much-much-much-much-much-much-much-much-much-much-longer-replacement", NULL,
	      NULL, NULL);
	SEND(&h, true, "NICK alice\r\n");
	/* the server takes 40 bytes a segment, and without a link we send
	 * no segment of our own: the message may grow to two segments (the
	 * sender's retransmission brings the second), not to three */
	set_peer_mss(&h, IM_DIR_OUT, 40);
	SEND(&h, true, "PRIVMSG bob :a secret\r\n");
	check_stream(&h.s, "NICK alice\r\nPRIVMSG bob :a a-much\r\n");
	CHECK_INT_EQ(h.e.stats.edits_refused_size, 1);
	CHECK_INT_EQ(h.e.stats.policy_fallbacks, 1);
	CHECK_INT_EQ(h.policy_failures, 1);
	CHECK(strncmp(h.last_failure, "edit refused (it would not fit the path)", 40) == 0);
	teardown(&h);
}

#define LONG_REPLACEMENT \
	"a-much-much-much-much-much-much-much-much-much-much-much-longer-replacement"

/* An edit grows a segment past its path (40 bytes a segment): the packet
 * goes cut to the path and the rest follows at once as segments of ours,
 * each where it belongs, with the packet's ack, window, TTL and
 * timestamps, PSH on the last, checksums right. */
static void test_oversized_segment_split(void)
{
	struct harness h;
	const char *expect = "NICK alice\r\nPRIVMSG bob :a " LONG_REPLACEMENT "\r\n";
	const uint8_t *orig;
	uint32_t id;
	int k;

	setup_as(&h, true, "secret", LONG_REPLACEMENT, NULL, NULL, NULL);
	SEND(&h, true, "NICK alice\r\n");
	ack_from(&h, false); /* the server's port and MAC are known now */
	set_peer_mss(&h, IM_DIR_OUT, 40);
	id = h.next_id;
	SEND(&h, true, "PRIVMSG bob :a secret\r\n");
	orig = sent[id];
	/* 92 bytes: 40 in the packet's verdict, 40 and 12 of ours */
	check_stream(&h.s, expect);
	CHECK_INT_EQ(h.origins, 2);
	CHECK_INT_EQ(h.e.stats.segments_split, 1);
	CHECK_INT_EQ(h.e.stats.segments_capped, 0);
	CHECK_INT_EQ(h.e.stats.edits_refused_size, 0);
	CHECK_INT_EQ(h.policy_failures, 0);
	for (k = 0; k < 2 && k < h.origins; k++) {
		const uint8_t *p = h.origin[k];
		size_t hl = (size_t)(p[32] >> 4) * 4, plen = h.origin_len[k] - 20 - hl;
		size_t at = strlen("NICK alice\r\n") + 40 * (size_t)(k + 1);

		CHECK_INT_EQ(plen, k == 0 ? 40 : 12);
		CHECK_INT_EQ(imw_load_be32(p + 24), h.s.rcv_base + (uint32_t)at);
		CHECK_INT_EQ(imw_load_be32(p + 28), imw_load_be32(orig + 28)); /* its ack */
		CHECK_INT_EQ(p[33], k == 0 ? TCP_FLAG_ACK : TCP_FLAG_ACK | TCP_FLAG_PSH);
		CHECK_INT_EQ(imw_load_be16(p + 34), imw_load_be16(orig + 34)); /* window */
		CHECK_INT_EQ(p[8], orig[8]);                                   /* TTL */
		CHECK_MEM_EQ(p + 20 + hl, expect + at, plen);
		CHECK(memcmp(p + 12, orig + 12, 8) == 0); /* addresses */
		CHECK(memcmp(p + 20, orig + 20, 4) == 0); /* ports */
	}
	/* the server acknowledges all of it: the client, everything it sent */
	ack_from(&h, false);
	CHECK_INT_EQ(h.c.last_ack_seen, h.c.next_seq);
	CHECK(!h.bad_checksum);
	teardown(&h);
}

/* With no link to send a segment of ours by, the packet goes cut to the
 * path; the server's ack falls inside the edit, so the client sees
 * progress but resends the rest, which is rebuilt where it belongs. */
static void test_oversized_segment_rest_resent_by_sender(void)
{
	struct harness h;
	const char *msg = "PRIVMSG bob :a secret\r\n";
	uint32_t msg_seq, acked;

	setup(&h, "secret", "a-much-much-longer-replacement", NULL, NULL, NULL);
	SEND(&h, true, "NICK alice\r\n");
	set_peer_mss(&h, IM_DIR_OUT, 40);
	msg_seq = h.c.next_seq;
	SEND(&h, true, msg); /* 47 bytes rebuilt, 40 go */
	CHECK_INT_EQ(h.s.rcv_len, strlen("NICK alice\r\n") + 40);
	CHECK_INT_EQ(h.e.stats.segments_capped, 1);
	CHECK_INT_EQ(h.origins, 0);
	ack_from(&h, false);
	acked = h.c.last_ack_seen - msg_seq;
	CHECK(acked > 0 && acked < strlen(msg));
	h.c.next_seq = h.c.last_ack_seen;
	SEND(&h, true, msg + acked); /* its retransmission */
	check_stream(&h.s, "NICK alice\r\nPRIVMSG bob :a a-much-much-longer-replacement\r\n");
	CHECK_INT_EQ(h.e.stats.retransmissions_rebuilt, 1);
	CHECK_INT_EQ(h.e.stats.edits_refused_size, 0);
	CHECK_INT_EQ(h.policy_failures, 0);
	ack_from(&h, false);
	CHECK_INT_EQ(h.c.last_ack_seen, h.c.next_seq);
	CHECK(!h.bad_checksum);
	teardown(&h);
}

/* A retransmission gathers more edited bytes than one segment of the path
 * takes (the sender collapsed the segments that first carried them): it
 * goes as several, the receiver's copy byte for byte the same. */
static void test_collapsed_retransmission_split(void)
{
	struct harness h;
	const char *a = "PRIVMSG bob :secret 1\r\n", *b = "PRIVMSG bob :secret 2\r\n";
	const char *expect = "NICK alice\r\nPRIVMSG bob :classified-text 1\r\n"
			     "PRIVMSG bob :classified-text 2\r\n";
	char both[64];
	uint32_t seq;

	setup_as(&h, true, "secret", "classified-text", NULL, NULL, NULL);
	SEND(&h, true, "NICK alice\r\n");
	ack_from(&h, false);
	set_peer_mss(&h, IM_DIR_OUT, 40);
	seq = h.c.next_seq;
	SEND(&h, true, a); /* 24 bytes to 33 each: one segment each */
	SEND(&h, true, b);
	check_stream(&h.s, expect);
	CHECK_INT_EQ(h.origins, 0);
	/* the receiver's copy is wiped; the sender resends both in one */
	h.s.rcv_len = strlen("NICK alice\r\n");
	h.c.next_seq = seq;
	snprintf(both, sizeof(both), "%s%s", a, b);
	SEND(&h, true, both); /* 48 bytes to 66: 40 and 26 */
	check_stream(&h.s, expect);
	CHECK_INT_EQ(h.origins, 1);
	CHECK_INT_EQ(h.e.stats.segments_split, 1);
	CHECK_INT_EQ(h.e.stats.retransmissions_rebuilt, 1);
	ack_from(&h, false);
	CHECK_INT_EQ(h.c.last_ack_seen, h.c.next_seq);
	CHECK(!h.bad_checksum);
	teardown(&h);
}

static void test_retransmission_of_edited_bytes(void)
{
	struct harness h;
	uint32_t seq_before;
	const char *msg = "PRIVMSG bob :secret\r\n";

	setup(&h, "secret", "classified", NULL, NULL, NULL);
	seq_before = h.c.next_seq;
	SEND(&h, true, msg);
	check_stream(&h.s, "PRIVMSG bob :classified\r\n");
	/* the receiver's copy is wiped: the retransmission must carry the same
	 * edited bytes at the same place */
	h.s.rcv_len = 0;
	h.c.next_seq = seq_before;
	SEND(&h, true, msg);
	check_stream(&h.s, "PRIVMSG bob :classified\r\n");
	CHECK(h.e.stats.retransmissions_rebuilt >= 1);
	CHECK(!h.bad_checksum);
	teardown(&h);
}

/* Segments in any order, and twice: the receiver gets one consistent,
 * edited stream. */
static void test_reordered_and_duplicated_segments(void)
{
	struct harness h;
	const char *a = "PRIVMSG bob :first secret\r\n", *b = "PRIVMSG bob :second secret\r\n";
	const char *c = "PRIVMSG bob :third\r\n";
	uint32_t base;

	setup(&h, "secret", "[a longer word]", NULL, NULL, NULL);
	SEND(&h, true, "NICK alice\r\n");
	base = h.c.next_seq;
	/* b arrives before a: it waits for the hole, so a's edit stays possible */
	h.c.next_seq = base + (uint32_t)strlen(a);
	SEND(&h, true, b);
	CHECK_INT_EQ(h.s.rcv_len, strlen("NICK alice\r\n"));
	CHECK_INT_EQ(h.e.stats.out_of_order_held, 1);
	h.c.next_seq = base;
	SEND(&h, true, a);
	/* a again (a duplicate), then c, then b again */
	h.c.next_seq = base;
	SEND(&h, true, a);
	h.c.next_seq = base + (uint32_t)(strlen(a) + strlen(b));
	SEND(&h, true, c);
	h.c.next_seq = base + (uint32_t)strlen(a);
	SEND(&h, true, b);
	h.c.next_seq = base + (uint32_t)(strlen(a) + strlen(b) + strlen(c));
	check_stream(&h.s, "NICK alice\r\nPRIVMSG bob :first [a longer word]\r\n"
			   "PRIVMSG bob :second [a longer word]\r\nPRIVMSG bob :third\r\n");
	CHECK_INT_EQ(h.e.stats.edits, 2);
	ack_from(&h, false);
	CHECK_INT_EQ(h.c.last_ack_seen, h.c.next_seq);
	CHECK(!h.bad_checksum);
	teardown(&h);
}

/* Past the engine-wide cap on held bytes, a partial PDU is not held. */
static void test_global_hold_cap(void)
{
	struct harness h;

	setup(&h, "secret", "SECRET!", NULL, NULL, NULL);
	h.e.cfg.max_held_bytes_total = 10;
	SEND(&h, true, "NICK alice\r\n");
	SEND(&h, true, "PRIVMSG bob :a sec");
	CHECK_INT_EQ(h.s.rcv_len, strlen("NICK alice\r\nPRIVMSG bob :a sec"));
	CHECK_INT_EQ(h.e.stats.global_bound_releases, 1);
	CHECK_INT_EQ(h.e.held.packets, 0);
	CHECK_INT_EQ(h.e.held.bytes, 0);
	teardown(&h);
}

static void test_mss_clamped_in_syn(void)
{
	struct harness h;

	setup(&h, NULL, NULL, NULL, NULL, NULL);
	CHECK_INT_EQ(h.e.stats.mss_clamped, 2);
	CHECK(!h.bad_checksum);
	teardown(&h);
}

/* A classifier to publish to (an xlate map of its shape) and a state file
 * to write records to: what makes the engine's flows ones a successor
 * takes over. */
struct successor_kit {
	struct bpf_publish publish;
	struct handover ho;
	char dir[64];
	char path[96];
	int xlate;
};

static void kit_attach(struct harness *h, struct successor_kit *k)
{
	char err[256];

	memset(k, 0, sizeof(*k));
	k->xlate = bpf_map_create(BPF_MAP_TYPE_HASH, "test_xlate", sizeof(struct imw_xlate_key),
				  sizeof(struct imw_xlate), 64, NULL);
	CHECK(k->xlate >= 0);
	bpf_publish_use_fd(&k->publish, k->xlate);
	snprintf(k->dir, sizeof(k->dir), "/tmp/imw-test-engine-XXXXXX");
	CHECK(mkdtemp(k->dir) != NULL);
	snprintf(k->path, sizeof(k->path), "%s/handover", k->dir);
	CHECK_INT_EQ(handover_open(&k->ho, k->path, 1 << 20, 3600, err, sizeof(err)), 0);
	h->e.cfg.publish = &k->publish;
	h->e.cfg.handover = &k->ho;
	h->e.handing_over = true;
}

static void kit_free(struct successor_kit *k)
{
	handover_close(&k->ho);
	unlink(k->path);
	rmdir(k->dir);
	if (k->xlate >= 0)
		close(k->xlate);
}

/* The record a successor would read of the harness's flow (its client's
 * direction: the one sent to the server). */
static bool kit_record(struct harness *h, struct successor_kit *k, struct handover_dir *out)
{
	struct handover successor;
	struct handover_record rec;
	struct imw_flow_key key;
	struct flow *f = NULL;
	state_ref ref = 0;
	unsigned client_side, i;
	char err[256];
	bool got = false;

	for (i = 0; i < h->e.flows.n_buckets && !f; i++)
		f = h->e.flows.buckets[i];
	CHECK(f != NULL);
	if (!f)
		return false;
	bpf_publish_key(f, &key, &client_side);
	memset(&successor, 0, sizeof(successor));
	memset(out, 0, sizeof(*out));
	/* the harness's clock is not the wall's: no record is too old */
	CHECK_INT_EQ(handover_open(&successor, k->path, 1 << 20, 1e12, err, sizeof(err)), 0);
	if (handover_take(&successor, &key, &rec, &ref) == 1) {
		*out = rec.dir[client_side];
		out->edits = NULL;
		got = true;
		handover_record_free(&rec);
	}
	handover_close(&successor);
	return got;
}

/* A partial PDU let go at its deadline went out as its sender wrote it:
 * the flow's record says so before that verdict goes (a successor after a
 * crash must not decode those bytes again and lengthen them). */
static void test_deadline_release_is_recorded_as_decided(void)
{
	struct harness h;
	struct successor_kit k;
	struct handover_dir d;
	uint32_t partial_end;
	uint64_t written;

	setup(&h, "secret", "secret-secret", NULL, NULL, NULL);
	kit_attach(&h, &k);
	SEND(&h, true, "PRIVMSG bob :a secret\r\n"); /* an edit: a flow to hand over */
	CHECK_INT_EQ(h.e.stats.edits, 1);
	SEND(&h, true, "PRIVMSG bob :my sec");
	partial_end = h.c.next_seq;
	written = h.e.stats.records_written;
	h.now += 0.060;
	engine_tick(&h.e, h.now, &h.q);
	drain(&h, (const uint8_t **)sent, sent_len, 512);
	CHECK_INT_EQ(h.e.stats.deadline_releases, 1);
	check_stream(&h.s, "PRIVMSG bob :a secret-secret\r\nPRIVMSG bob :my sec");
	CHECK(h.e.stats.records_written > written);
	CHECK(kit_record(&h, &k, &d));
	CHECK(d.has_decided);
	CHECK_INT_EQ(d.decided_seq, partial_end);
	teardown(&h);
	kit_free(&k);
}

/* Once handed over (a planned stop), what the engine holds of a flow
 * handed over is undecided and in no record: no deadline lets it go, and
 * at the stop it is dropped (its sender resends it to the classifier or
 * the successor), never sent on as it came. */
static void test_handed_over_holds_are_dropped(void)
{
	struct harness h;
	struct successor_kit k;
	struct handover_dir d;
	size_t before;
	int drops;

	setup(&h, "secret", "secret-secret", NULL, NULL, NULL);
	kit_attach(&h, &k);
	SEND(&h, true, "PRIVMSG bob :a secret\r\n");
	SEND(&h, true, "PRIVMSG bob :my sec");
	before = h.s.rcv_len;
	CHECK_INT_EQ(before, strlen("PRIVMSG bob :a secret-secret\r\n"));
	engine_hand_over(&h.e, h.now);
	CHECK(h.e.frozen);
	h.now += 1.0;
	engine_tick(&h.e, h.now, &h.q);
	drain(&h, (const uint8_t **)sent, sent_len, 512);
	CHECK_INT_EQ(h.s.rcv_len, before);
	CHECK_INT_EQ(h.e.stats.deadline_releases, 0);
	drops = h.verdicts_drop;
	engine_release_all(&h.e, &h.q);
	drain(&h, (const uint8_t **)sent, sent_len, 512);
	CHECK_INT_EQ(h.verdicts_drop, drops + 1);
	CHECK_INT_EQ(h.e.stats.handed_held_dropped, 1);
	CHECK_INT_EQ(h.s.rcv_len, before);
	CHECK_INT_EQ(h.e.held.packets, 0);
	/* the record: decided up to the end of what went out, not past it */
	CHECK(kit_record(&h, &k, &d));
	CHECK(d.has_decided);
	CHECK_INT_EQ(d.decided_seq, h.c.next_seq - (uint32_t)strlen("PRIVMSG bob :my sec"));
	teardown(&h);
	kit_free(&k);
}

/* Without a hand-over (no classifier), a stop still sends every held
 * packet on: nobody would resend to a successor's translation. */
static void test_stop_without_hand_over_releases(void)
{
	struct harness h;

	setup(&h, "secret", "secret-secret", NULL, NULL, NULL);
	SEND(&h, true, "PRIVMSG bob :my sec");
	CHECK_INT_EQ(h.s.rcv_len, 0);
	engine_release_all(&h.e, &h.q);
	drain(&h, (const uint8_t **)sent, sent_len, 512);
	check_stream(&h.s, "PRIVMSG bob :my sec");
	CHECK_INT_EQ(h.e.stats.handed_held_dropped, 0);
	teardown(&h);
}

int main(void)
{
	RUN_TEST(test_untouched_flow_is_invisible);
	RUN_TEST(test_rewrite_longer_both_directions_and_acks);
	RUN_TEST(test_two_edits_in_one_segment);
	RUN_TEST(test_rewrite_shorter_and_same_length);
	RUN_TEST(test_delete_and_insert);
	RUN_TEST(test_pdu_split_over_three_segments_is_held);
	RUN_TEST(test_deadline_releases_and_commits);
	RUN_TEST(test_hole_holds_past_the_deadline);
	RUN_TEST(test_too_big_falls_back);
	RUN_TEST(test_oversized_segment_split);
	RUN_TEST(test_oversized_segment_rest_resent_by_sender);
	RUN_TEST(test_collapsed_retransmission_split);
	RUN_TEST(test_retransmission_of_edited_bytes);
	RUN_TEST(test_reordered_and_duplicated_segments);
	RUN_TEST(test_global_hold_cap);
	RUN_TEST(test_mss_clamped_in_syn);
	RUN_TEST(test_deadline_release_is_recorded_as_decided);
	RUN_TEST(test_handed_over_holds_are_dropped);
	RUN_TEST(test_stop_without_hand_over_releases);
	TEST_MAIN_END();
}
