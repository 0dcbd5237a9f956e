/* Link-layer, IPv4/IPv6 and TCP parsing on hand-built frames. */
#include <pcap/pcap.h>
#include <stdint.h>
#include <string.h>

#include "flow/flow.h"
#include "packet/packet.h"
#include "testlib.h"

static const uint8_t tcp_hdr[20] = {
	0x1a, 0x0b, /* sport 6667 */
	0xc3, 0x50, /* dport 50000 */
	0x00, 0x00, 0x00, 0x64, /* seq 100 */
	0x00, 0x00, 0x00, 0xc8, /* ack 200 */
	0x50, 0x18, 0x01, 0x00, /* doff 5, PSH|ACK, window 256 */
	0x00, 0x00, 0x00, 0x00,
};

static size_t build_ipv4(uint8_t *p, const char *payload, uint16_t frag)
{
	size_t plen = strlen(payload), total = 20 + 20 + plen;

	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (uint8_t)(total >> 8);
	p[3] = (uint8_t)total;
	p[6] = (uint8_t)(frag >> 8);
	p[7] = (uint8_t)frag;
	p[8] = 64;
	p[9] = 6;
	p[12] = 10, p[13] = 0, p[14] = 0, p[15] = 1;
	p[16] = 10, p[17] = 0, p[18] = 0, p[19] = 2;
	memcpy(p + 20, tcp_hdr, 20);
	memcpy(p + 40, payload, plen);
	return total;
}

static size_t build_ipv6(uint8_t *p, const char *payload, bool with_dest_opts)
{
	size_t plen = strlen(payload), ext = with_dest_opts ? 8 : 0, l4 = ext + 20 + plen;

	memset(p, 0, 40);
	p[0] = 0x60;
	p[4] = (uint8_t)(l4 >> 8);
	p[5] = (uint8_t)l4;
	p[6] = with_dest_opts ? 60 : 6;
	p[7] = 64;
	p[23] = 1;  /* ::1 */
	p[39] = 2;  /* ::2 */
	if (with_dest_opts) {
		memset(p + 40, 0, 8);
		p[40] = 6; /* next: TCP */
		p[41] = 0; /* 8 bytes */
		p[42] = 1; /* PadN */
		p[43] = 4;
	}
	memcpy(p + 40 + ext, tcp_hdr, 20);
	memcpy(p + 60 + ext, payload, plen);
	return 40 + l4;
}

static void check_tcp(const struct packet *pkt, const char *payload)
{
	CHECK_INT_EQ(pkt->sport, 6667);
	CHECK_INT_EQ(pkt->dport, 50000);
	CHECK_INT_EQ(pkt->seq, 100);
	CHECK_INT_EQ(pkt->ack, 200);
	CHECK_INT_EQ(pkt->tcp_flags, TCP_FLAG_PSH | TCP_FLAG_ACK);
	CHECK_INT_EQ(pkt->payload_len, strlen(payload));
	CHECK(pkt->payload && memcmp(pkt->payload, payload, strlen(payload)) == 0);
	CHECK(!pkt->truncated);
}

static void test_ethernet_ipv4_with_padding(void)
{
	uint8_t f[128] = { 0 };
	struct packet pkt;
	const char *why;
	size_t n;

	f[12] = 0x08;
	f[13] = 0x00;
	n = 14 + build_ipv4(f + 14, "hi", 0);
	/* Ethernet pads short frames to 60 bytes: padding is not payload. */
	CHECK_INT_EQ(packet_parse(DLT_EN10MB, f, 60, 60, &pkt, &why), PACKET_OK);
	check_tcp(&pkt, "hi");
	CHECK_INT_EQ(pkt.ip_version, 4);
	CHECK_INT_EQ(pkt.src[0], 10);
	CHECK_INT_EQ(pkt.dst[3], 2);
	CHECK(n < 60);
}

static void test_ethernet_vlan_qinq(void)
{
	uint8_t f[128] = { 0 };
	struct packet pkt;
	const char *why;
	size_t n;

	f[12] = 0x88, f[13] = 0xa8; /* 802.1ad */
	f[16] = 0x81, f[17] = 0x00; /* 802.1Q */
	f[20] = 0x86, f[21] = 0xdd;
	n = 22 + build_ipv6(f + 22, "PRIVMSG x :y\r\n", false);
	CHECK_INT_EQ(packet_parse(DLT_EN10MB, f, n, n, &pkt, &why), PACKET_OK);
	check_tcp(&pkt, "PRIVMSG x :y\r\n");
	CHECK_INT_EQ(pkt.ip_version, 6);
	CHECK_INT_EQ(pkt.src[15], 1);
}

static void test_linux_cooked_v1_v2(void)
{
	uint8_t f[128] = { 0 };
	struct packet pkt;
	const char *why;
	size_t n;

	f[14] = 0x08, f[15] = 0x00;
	n = 16 + build_ipv4(f + 16, "abc", 0);
	CHECK_INT_EQ(packet_parse(DLT_LINUX_SLL, f, n, n, &pkt, &why), PACKET_OK);
	check_tcp(&pkt, "abc");

	memset(f, 0, sizeof(f));
	f[0] = 0x86, f[1] = 0xdd;
	n = 20 + build_ipv6(f + 20, "abc", true);
	CHECK_INT_EQ(packet_parse(DLT_LINUX_SLL2, f, n, n, &pkt, &why), PACKET_OK);
	check_tcp(&pkt, "abc");
}

static void test_loopback_and_raw(void)
{
	uint8_t f[128] = { 0 };
	struct packet pkt;
	const char *why;
	size_t n;

	f[0] = 2; /* AF_INET, little-endian capturer */
	n = 4 + build_ipv4(f + 4, "x", 0);
	CHECK_INT_EQ(packet_parse(DLT_NULL, f, n, n, &pkt, &why), PACKET_OK);
	check_tcp(&pkt, "x");

	memset(f, 0, sizeof(f));
	f[3] = 30; /* AF_INET6 on macOS, big-endian as DLT_LOOP stores it */
	n = 4 + build_ipv6(f + 4, "x", false);
	CHECK_INT_EQ(packet_parse(DLT_LOOP, f, n, n, &pkt, &why), PACKET_OK);
	check_tcp(&pkt, "x");

	n = build_ipv4(f, "raw", 0);
	CHECK_INT_EQ(packet_parse(DLT_RAW, f, n, n, &pkt, &why), PACKET_OK);
	check_tcp(&pkt, "raw");
	n = build_ipv6(f, "raw6", false);
	CHECK_INT_EQ(packet_parse(DLT_IPV6, f, n, n, &pkt, &why), PACKET_OK);
	check_tcp(&pkt, "raw6");
}

static void test_fragments_and_malformed(void)
{
	uint8_t f[128] = { 0 };
	struct packet pkt;
	const char *why = NULL;
	size_t n;

	n = build_ipv4(f, "frag", 0x2000); /* MF */
	CHECK_INT_EQ(packet_parse(DLT_RAW, f, n, n, &pkt, &why), PACKET_FRAGMENT);
	n = build_ipv4(f, "x", 0);
	f[0] = 0x44; /* IHL 4: impossible */
	CHECK_INT_EQ(packet_parse(DLT_RAW, f, n, n, &pkt, &why), PACKET_MALFORMED);
	CHECK(why != NULL);
	n = build_ipv4(f, "x", 0);
	f[32] = 0x20; /* TCP data offset 2 */
	CHECK_INT_EQ(packet_parse(DLT_RAW, f, n, n, &pkt, &why), PACKET_MALFORMED);
	n = build_ipv4(f, "x", 0);
	CHECK_INT_EQ(packet_parse(DLT_RAW, f, 30, n, &pkt, &why), PACKET_MALFORMED);
	/* A snaplen cut inside the payload: parsed, flagged truncated. */
	n = build_ipv4(f, "0123456789", 0);
	CHECK_INT_EQ(packet_parse(DLT_RAW, f, n - 4, n, &pkt, &why), PACKET_OK);
	CHECK(pkt.truncated);
	CHECK_INT_EQ(pkt.payload_len, 6);
	/* Every prefix of a good frame parses without reading past it. */
	n = 22 + build_ipv6(f + 22, "abc", true);
	f[12] = 0x81, f[13] = 0x00, f[16] = 0x86, f[17] = 0xdd;
	for (size_t cut = 0; cut < n; cut++)
		(void)packet_parse(DLT_EN10MB, f, cut, n, &pkt, &why);
	f[6 + 22] = 6;
	f[12] = 0x08, f[13] = 0x06; /* ARP */
	CHECK_INT_EQ(packet_parse(DLT_EN10MB, f, n, n, &pkt, &why), PACKET_NOT_IP);
}

static void test_endpoint_format_and_prefixes(void)
{
	char buf[64];
	uint8_t v4[16] = { 192, 168, 0, 4 }, v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct net_prefix p;

	packet_format_endpoint(buf, sizeof(buf), 4, v4, 62013);
	CHECK_STR_EQ(buf, "192.168.0.4:62013");
	packet_format_endpoint(buf, sizeof(buf), 6, v6, 5222);
	CHECK_STR_EQ(buf, "[2001:db8::]:5222");
	CHECK(net_prefix_parse("192.168.0.0/16", &p));
	CHECK(net_prefix_contains(&p, 4, v4));
	CHECK(net_prefix_parse("192.168.1.0/24", &p));
	CHECK(!net_prefix_contains(&p, 4, v4));
	CHECK(net_prefix_parse("2001:db8::/32", &p));
	CHECK(net_prefix_contains(&p, 6, v6));
	CHECK(!net_prefix_contains(&p, 4, v4));
	CHECK(net_prefix_parse("10.1.2.3", &p));
	CHECK_INT_EQ(p.bits, 32);
	CHECK(!net_prefix_parse("10.0.0.0/33", &p));
	CHECK(!net_prefix_parse("nonsense", &p));
	CHECK(!net_prefix_parse("10.0.0.0/", &p));
}

int main(void)
{
	RUN_TEST(test_ethernet_ipv4_with_padding);
	RUN_TEST(test_ethernet_vlan_qinq);
	RUN_TEST(test_linux_cooked_v1_v2);
	RUN_TEST(test_loopback_and_raw);
	RUN_TEST(test_fragments_and_malformed);
	RUN_TEST(test_endpoint_format_and_prefixes);
	TEST_MAIN_END();
}
