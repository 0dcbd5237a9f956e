/* Originated TCP segments: built, parsed back, every field and both
 * checksums checked with a verifier of our own; the timestamp reader on
 * built packets and on hand-made, malformed option lists. */
#include <pcap/pcap.h>
#include <stdint.h>
#include <string.h>

#include "packet/packet.h"
#include "packet/tcp_build.h"
#include "packet/tcp_edit.h"
#include "testlib.h"
#include "util/bytebuf.h"

static const uint8_t v4_src[4] = { 10, 77, 0, 2 };
static const uint8_t v4_dst[4] = { 10, 77, 0, 1 };
static const uint8_t v6_src[16] = { 0xfd, 0x77, [15] = 2 };
static const uint8_t v6_dst[16] = { 0xfd, 0x77, [15] = 1 };

/* RFC 1071, byte by byte in network order: deliberately not the
 * word-at-a-time sum the code under test uses. */
static uint32_t sum_bytes(const uint8_t *p, size_t n, uint32_t acc)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xFFFF) + (acc >> 16);
	return (uint16_t)acc;
}

/* True when the IPv4 header checksum (IPv4 only) and the TCP checksum
 * over the pseudo header and segment both sum to all ones. */
static bool checksums_ok(const uint8_t *ip, size_t len)
{
	uint32_t acc;
	size_t l3, l4_len;

	if (ip[0] >> 4 == 4) {
		l3 = (size_t)(ip[0] & 0x0F) * 4;
		if (fold(sum_bytes(ip, l3, 0)) != 0xFFFF)
			return false;
		l4_len = len - l3;
		acc = sum_bytes(ip + 12, 8, 0);
	} else {
		l3 = 40;
		l4_len = len - l3;
		acc = sum_bytes(ip + 8, 32, 0);
	}
	acc += 6;
	acc += (uint32_t)l4_len;
	return fold(sum_bytes(ip + l3, l4_len, acc)) == 0xFFFF;
}

static void base_spec(struct tcp_segment_spec *s, uint8_t version)
{
	memset(s, 0, sizeof(*s));
	s->ip_version = version;
	if (version == 4) {
		memcpy(s->src, v4_src, 4);
		memcpy(s->dst, v4_dst, 4);
	} else {
		memcpy(s->src, v6_src, 16);
		memcpy(s->dst, v6_dst, 16);
	}
	s->sport = 6667;
	s->dport = 51234;
	s->seq = 0xFFFFFFF0u; /* wraps inside the payload */
	s->ack = 0x12345678u;
	s->flags = TCP_FLAG_ACK | TCP_FLAG_PSH;
	s->window = 502;
	s->ip_id = 0xBEEF;
}

static void check_parsed(const struct tcp_segment_spec *s, const struct bytebuf *b,
			 const char *payload, size_t tcp_header)
{
	struct packet pkt;
	const char *why = NULL;
	size_t plen = strlen(payload);

	memset(&pkt, 0, sizeof(pkt));
	CHECK_INT_EQ(packet_parse_ip(b->data, b->len, b->len, &pkt, &why), PACKET_OK);
	CHECK_INT_EQ(pkt.ip_version, s->ip_version);
	CHECK_MEM_EQ(pkt.src, s->src, s->ip_version == 4 ? 4 : 16);
	CHECK_MEM_EQ(pkt.dst, s->dst, s->ip_version == 4 ? 4 : 16);
	CHECK_INT_EQ(pkt.sport, s->sport);
	CHECK_INT_EQ(pkt.dport, s->dport);
	CHECK_INT_EQ(pkt.seq, s->seq);
	CHECK_INT_EQ(pkt.ack, s->ack);
	CHECK_INT_EQ(pkt.tcp_flags, s->flags);
	CHECK_INT_EQ(pkt.window, s->window);
	CHECK_INT_EQ(pkt.l4_header_len, tcp_header);
	CHECK_INT_EQ(pkt.payload_len, plen);
	CHECK(!pkt.truncated);
	if (pkt.payload_len == plen)
		CHECK_MEM_EQ(pkt.payload, payload, plen);
	CHECK_INT_EQ(b->data[pkt.l4_offset + 18] << 8 | b->data[pkt.l4_offset + 19], 0); /* urg */
	CHECK(checksums_ok(b->data, b->len));
}

static void test_ipv4_without_timestamp(void)
{
	struct tcp_segment_spec s;
	struct bytebuf b;
	struct packet pkt;
	const char *why;
	const char *payload = "PRIVMSG alice :from the bridge\r\n";
	uint32_t tsval = 1, tsecr = 1;

	base_spec(&s, 4);
	s.tos = 0x10;
	bytebuf_init(&b);
	CHECK_INT_EQ(tcp_build_segment(&s, (const uint8_t *)payload, strlen(payload), &b), 0);
	CHECK_INT_EQ(b.len, 20 + 20 + strlen(payload));
	check_parsed(&s, &b, payload, 20);
	CHECK_INT_EQ(b.data[0], 0x45);
	CHECK_INT_EQ(b.data[1], 0x10);
	CHECK_INT_EQ(b.data[2] << 8 | b.data[3], b.len);
	CHECK_INT_EQ(b.data[4] << 8 | b.data[5], 0xBEEF);
	CHECK_INT_EQ(b.data[6] << 8 | b.data[7], 0x4000); /* DF, no fragment offset */
	CHECK_INT_EQ(b.data[8], 64);                       /* ttl 0 means 64 */
	CHECK_INT_EQ(b.data[9], 6);
	CHECK_INT_EQ(b.data[32], 0x50); /* data offset 5 words */
	CHECK_INT_EQ(packet_parse_ip(b.data, b.len, b.len, &pkt, &why), PACKET_OK);
	CHECK(!tcp_read_timestamp(b.data, &pkt, &tsval, &tsecr));
	/* the verifier itself notices a changed byte */
	b.data[b.len - 1] ^= 0x01;
	CHECK(!checksums_ok(b.data, b.len));
	bytebuf_free(&b);
}

static void test_ipv4_with_timestamp(void)
{
	struct tcp_segment_spec s;
	struct bytebuf b;
	struct packet pkt;
	const char *why;
	const char *payload = "x";
	uint32_t tsval = 0, tsecr = 0;

	base_spec(&s, 4);
	s.ttl = 7;
	s.has_timestamp = true;
	s.tsval = 0xA1B2C3D4u;
	s.tsecr = 0x01020304u;
	bytebuf_init(&b);
	CHECK_INT_EQ(tcp_build_segment(&s, (const uint8_t *)payload, 1, &b), 0);
	CHECK_INT_EQ(b.len, 20 + 32 + 1);
	check_parsed(&s, &b, payload, 32);
	CHECK_INT_EQ(b.data[8], 7);
	CHECK_INT_EQ(b.data[32], 0x80);
	CHECK_INT_EQ(b.data[40], 1);
	CHECK_INT_EQ(b.data[41], 1);
	CHECK_INT_EQ(b.data[42], 8);
	CHECK_INT_EQ(b.data[43], 10);
	CHECK_INT_EQ(packet_parse_ip(b.data, b.len, b.len, &pkt, &why), PACKET_OK);
	CHECK(tcp_read_timestamp(b.data, &pkt, &tsval, &tsecr));
	CHECK_INT_EQ(tsval, 0xA1B2C3D4u);
	CHECK_INT_EQ(tsecr, 0x01020304u);
	bytebuf_free(&b);
}

static void test_ipv6_with_timestamp(void)
{
	struct tcp_segment_spec s;
	struct bytebuf b;
	struct packet pkt;
	const char *why;
	const char *payload = "<message to='alice@example.org'><body>hi</body></message>";
	uint32_t tsval = 0, tsecr = 0;

	base_spec(&s, 6);
	s.tos = 0xB8;
	s.ttl = 255;
	s.has_timestamp = true;
	s.tsval = 42;
	s.tsecr = 0xFFFFFFFFu;
	bytebuf_init(&b);
	CHECK_INT_EQ(tcp_build_segment(&s, (const uint8_t *)payload, strlen(payload), &b), 0);
	CHECK_INT_EQ(b.len, 40 + 32 + strlen(payload));
	check_parsed(&s, &b, payload, 32);
	/* version 6, traffic class 0xB8, flow label 0 */
	CHECK_INT_EQ(b.data[0], 0x6B);
	CHECK_INT_EQ(b.data[1], 0x80);
	CHECK_INT_EQ(b.data[2], 0);
	CHECK_INT_EQ(b.data[3], 0);
	CHECK_INT_EQ(b.data[4] << 8 | b.data[5], 32 + strlen(payload));
	CHECK_INT_EQ(b.data[6], 6);
	CHECK_INT_EQ(b.data[7], 255);
	CHECK_INT_EQ(packet_parse_ip(b.data, b.len, b.len, &pkt, &why), PACKET_OK);
	CHECK(tcp_read_timestamp(b.data, &pkt, &tsval, &tsecr));
	CHECK_INT_EQ(tsval, 42);
	CHECK_INT_EQ(tsecr, 0xFFFFFFFFu);
	bytebuf_free(&b);
}

static void test_ipv6_pure_ack(void)
{
	struct tcp_segment_spec s;
	struct bytebuf b;
	struct packet pkt;
	const char *why;
	uint32_t tsval, tsecr;

	base_spec(&s, 6);
	s.flags = TCP_FLAG_ACK;
	bytebuf_init(&b);
	CHECK_INT_EQ(tcp_build_segment(&s, NULL, 0, &b), 0);
	CHECK_INT_EQ(b.len, 60);
	check_parsed(&s, &b, "", 20);
	CHECK_INT_EQ(b.data[7], 64);
	CHECK_INT_EQ(packet_parse_ip(b.data, b.len, b.len, &pkt, &why), PACKET_OK);
	CHECK(!tcp_read_timestamp(b.data, &pkt, &tsval, &tsecr));
	bytebuf_free(&b);
}

/* Two segments into one buffer: the second lands after the first, which
 * stays as it was. */
static void test_appends(void)
{
	struct tcp_segment_spec s;
	struct bytebuf b, first;
	size_t len1;

	base_spec(&s, 4);
	bytebuf_init(&b);
	bytebuf_init(&first);
	CHECK_INT_EQ(tcp_build_segment(&s, (const uint8_t *)"one", 3, &b), 0);
	len1 = b.len;
	CHECK(bytebuf_append(&first, b.data, b.len));
	s.seq += 3;
	s.ip_id++;
	CHECK_INT_EQ(tcp_build_segment(&s, (const uint8_t *)"two!", 4, &b), 0);
	CHECK_INT_EQ(b.len, len1 + 44);
	CHECK_MEM_EQ(b.data, first.data, len1);
	CHECK(checksums_ok(b.data, len1));
	CHECK(checksums_ok(b.data + len1, b.len - len1));
	CHECK_INT_EQ(b.data[len1 + 4] << 8 | b.data[len1 + 5], 0xBEF0);
	bytebuf_free(&b);
	bytebuf_free(&first);
}

static void test_size_limits(void)
{
	static uint8_t big[65536];
	struct tcp_segment_spec s;
	struct bytebuf b;
	struct packet pkt;
	const char *why;

	bytebuf_init(&b);
	base_spec(&s, 4);
	/* IPv4: the 16-bit total length includes both headers */
	CHECK_INT_EQ(tcp_build_segment(&s, big, 65535 - 40 + 1, &b), -1);
	CHECK_INT_EQ(b.len, 0);
	CHECK_INT_EQ(tcp_build_segment(&s, big, 65535 - 40, &b), 0);
	CHECK_INT_EQ(b.len, 65535);
	CHECK(checksums_ok(b.data, b.len));
	CHECK_INT_EQ(packet_parse_ip(b.data, b.len, b.len, &pkt, &why), PACKET_OK);
	CHECK_INT_EQ(pkt.payload_len, 65535 - 40);
	bytebuf_clear(&b);
	s.has_timestamp = true;
	CHECK_INT_EQ(tcp_build_segment(&s, big, 65535 - 52 + 1, &b), -1);
	CHECK_INT_EQ(tcp_build_segment(&s, big, 65535 - 52, &b), 0);
	bytebuf_clear(&b);
	/* IPv6: the payload length excludes the fixed header */
	base_spec(&s, 6);
	CHECK_INT_EQ(tcp_build_segment(&s, big, 65535 - 20 + 1, &b), -1);
	CHECK_INT_EQ(b.len, 0);
	CHECK_INT_EQ(tcp_build_segment(&s, big, 65535 - 20, &b), 0);
	CHECK_INT_EQ(b.len, 40 + 65535);
	CHECK(checksums_ok(b.data, b.len));
	bytebuf_clear(&b);
	s.ip_version = 5;
	CHECK_INT_EQ(tcp_build_segment(&s, big, 1, &b), -1);
	CHECK_INT_EQ(b.len, 0);
	bytebuf_free(&b);
}

/* An IPv4 TCP packet whose options are exactly opt (padded with EOL to
 * a multiple of 4), parsed. Returns the parse status. */
static enum packet_status packet_with_options(uint8_t *buf, const uint8_t *opt, size_t n,
					      struct packet *pkt)
{
	struct tcp_segment_spec s;
	struct bytebuf b;
	size_t padded = (n + 3) & ~(size_t)3, total = 40 + padded;
	const char *why;

	base_spec(&s, 4);
	bytebuf_init(&b);
	if (tcp_build_segment(&s, NULL, 0, &b) < 0)
		return PACKET_MALFORMED;
	memcpy(buf, b.data, 40);
	bytebuf_free(&b);
	memset(buf + 40, 0, padded);
	memcpy(buf + 40, opt, n);
	buf[2] = (uint8_t)(total >> 8);
	buf[3] = (uint8_t)total;
	buf[32] = (uint8_t)((20 + padded) / 4 << 4);
	return packet_parse_ip(buf, total, total, pkt, &why);
}

static bool timestamp_of(const uint8_t *opt, size_t n, uint32_t *tsval, uint32_t *tsecr)
{
	uint8_t buf[100];
	struct packet pkt;

	if (packet_with_options(buf, opt, n, &pkt) != PACKET_OK)
		return false;
	return tcp_read_timestamp(buf, &pkt, tsval, tsecr);
}

/* An edited packet (tcp_edit_build: new seq, ack and payload, the
 * payload's sum taken as it is copied) has both checksums right for every
 * payload length and alignment, IPv4 and IPv6, with options. */
static void test_edit_build_checksums(void)
{
	static uint8_t payload[65000];
	static const size_t lens[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 1447, 1448, 64000 };
	struct tcp_segment_spec s;
	struct bytebuf orig, edited;
	struct packet pkt;
	const char *why;
	size_t i, k, v;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + (i >> 8));
	bytebuf_init(&orig);
	bytebuf_init(&edited);
	for (v = 4; v <= 6; v += 2) {
		base_spec(&s, (uint8_t)v);
		s.has_timestamp = true;
		s.tsval = 1;
		bytebuf_clear(&orig);
		CHECK_INT_EQ(tcp_build_segment(&s, (const uint8_t *)"abc", 3, &orig), 0);
		memset(&pkt, 0, sizeof(pkt));
		CHECK_INT_EQ(packet_parse_ip(orig.data, orig.len, orig.len, &pkt, &why), PACKET_OK);
		for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			/* an odd start in the source, too */
			CHECK_INT_EQ(tcp_edit_build(orig.data, &pkt, 0x01020304u, 0xA0B0C0D0u, NULL,
						    NULL, payload + (k & 1), lens[k], &edited),
				     0);
			CHECK_INT_EQ(edited.len, tcp_edit_build_len(&pkt, lens[k]));
			CHECK(checksums_ok(edited.data, edited.len));
			CHECK_MEM_EQ(edited.data + edited.len - lens[k], payload + (k & 1), lens[k]);
		}
		/* an emptied segment has no payload to point at (found by
		 * fuzz_engine: memcpy from NULL, even of 0 bytes, is undefined) */
		CHECK_INT_EQ(tcp_edit_build(orig.data, &pkt, 5, 6, NULL, NULL, NULL, 0, &edited), 0);
		CHECK_INT_EQ(edited.len, tcp_edit_build_len(&pkt, 0));
		CHECK(checksums_ok(edited.data, edited.len));
		CHECK_INT_EQ(tcp_edit_build_len(&pkt, 65536), 0);
	}
	bytebuf_free(&orig);
	bytebuf_free(&edited);
}

static void test_read_timestamp_option_lists(void)
{
	uint32_t v = 0, e = 0;
	/* a SYN's usual list: MSS, SACK permitted, TS, NOP, window scale */
	static const uint8_t syn[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6,
				       1, 3, 3, 7 };
	static const uint8_t sack_then_ts[] = { 1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2,
						1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8 };
	static const uint8_t eol_first[] = { 0, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8 };
	static const uint8_t zero_len[] = { 3, 0, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8 };
	static const uint8_t one_len[] = { 3, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8 };
	static const uint8_t overrun[] = { 1, 1, 3, 40, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8, 1, 1 };
	static const uint8_t short_ts[] = { 1, 1, 8, 8, 0, 0, 0, 9, 0, 0, 0, 8 };
	static const uint8_t ts_cut[] = { 1, 1, 1, 1, 1, 1, 8, 10, 0, 0, 0, 9 };
	static const uint8_t lone_kind[] = { 1, 1, 1, 8 };
	static const uint8_t only_nops[] = { 1, 1, 1, 1 };

	CHECK(timestamp_of(syn, sizeof(syn), &v, &e));
	CHECK_INT_EQ(v, 5);
	CHECK_INT_EQ(e, 6);
	CHECK(timestamp_of(sack_then_ts, sizeof(sack_then_ts), &v, &e));
	CHECK_INT_EQ(v, 9);
	CHECK_INT_EQ(e, 8);
	CHECK(!timestamp_of(eol_first, sizeof(eol_first), &v, &e));
	CHECK(!timestamp_of(zero_len, sizeof(zero_len), &v, &e));
	CHECK(!timestamp_of(one_len, sizeof(one_len), &v, &e));
	CHECK(!timestamp_of(overrun, sizeof(overrun), &v, &e));
	CHECK(!timestamp_of(short_ts, sizeof(short_ts), &v, &e));
	CHECK(!timestamp_of(ts_cut, sizeof(ts_cut), &v, &e));
	CHECK(!timestamp_of(lone_kind, sizeof(lone_kind), &v, &e));
	CHECK(!timestamp_of(only_nops, sizeof(only_nops), &v, &e));
	/* unchanged by the failed reads */
	CHECK_INT_EQ(v, 9);
	CHECK_INT_EQ(e, 8);
}

/* A packet parsed from an Ethernet frame: offsets count from the frame,
 * the reader is given the IP header. */
static void test_read_timestamp_from_frame(void)
{
	struct tcp_segment_spec s;
	struct bytebuf b;
	struct packet pkt;
	const char *why;
	uint32_t v = 0, e = 0;
	static const uint8_t eth[14] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00 };

	base_spec(&s, 4);
	s.has_timestamp = true;
	s.tsval = 1000;
	s.tsecr = 2000;
	bytebuf_init(&b);
	CHECK(bytebuf_append(&b, eth, sizeof(eth)));
	CHECK_INT_EQ(tcp_build_segment(&s, (const uint8_t *)"hi", 2, &b), 0);
	CHECK_INT_EQ(packet_parse(DLT_EN10MB, b.data, b.len, b.len, &pkt, &why), PACKET_OK);
	CHECK_INT_EQ(pkt.l3_offset, 14);
	CHECK(tcp_read_timestamp(b.data + pkt.l3_offset, &pkt, &v, &e));
	CHECK_INT_EQ(v, 1000);
	CHECK_INT_EQ(e, 2000);
	CHECK(checksums_ok(b.data + 14, b.len - 14));
	bytebuf_free(&b);
}

int main(void)
{
	RUN_TEST(test_ipv4_without_timestamp);
	RUN_TEST(test_ipv4_with_timestamp);
	RUN_TEST(test_ipv6_with_timestamp);
	RUN_TEST(test_ipv6_pure_ack);
	RUN_TEST(test_appends);
	RUN_TEST(test_size_limits);
	RUN_TEST(test_edit_build_checksums);
	RUN_TEST(test_read_timestamp_option_lists);
	RUN_TEST(test_read_timestamp_from_frame);
	TEST_MAIN_END();
}
