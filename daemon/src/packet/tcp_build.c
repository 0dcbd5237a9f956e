#include "packet/tcp_build.h"

#include <string.h>

#include "imwire/byteorder.h"
#include "packet/tcp_edit.h"

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_TIMESTAMP 8
#define TCPOLEN_TIMESTAMP 10
#define IPV4_HEADER 20
#define IPV6_HEADER 40
#define TCP_HEADER 20
#define TCP_HEADER_TS (TCP_HEADER + 12) /* NOP NOP TS keeps the header 32-bit aligned */
#define IPV4_DONT_FRAGMENT 0x4000
#define DEFAULT_TTL 64
#define IPPROTO_TCP_NUM 6

static void put_ipv4(uint8_t *p, const struct tcp_segment_spec *spec, size_t total)
{
	p[0] = 0x45;
	p[1] = spec->tos;
	imw_store_be16(p + 2, (uint16_t)total);
	imw_store_be16(p + 4, spec->ip_id);
	imw_store_be16(p + 6, IPV4_DONT_FRAGMENT);
	p[8] = spec->ttl ? spec->ttl : DEFAULT_TTL;
	p[9] = IPPROTO_TCP_NUM;
	imw_store_be16(p + 10, 0);
	memcpy(p + 12, spec->src, 4);
	memcpy(p + 16, spec->dst, 4);
}

static void put_ipv6(uint8_t *p, const struct tcp_segment_spec *spec, size_t l4_len)
{
	/* version 6, traffic class, flow label 0 */
	imw_store_be32(p, (uint32_t)6 << 28 | (uint32_t)spec->tos << 20);
	imw_store_be16(p + 4, (uint16_t)l4_len);
	p[6] = IPPROTO_TCP_NUM;
	p[7] = spec->ttl ? spec->ttl : DEFAULT_TTL;
	memcpy(p + 8, spec->src, 16);
	memcpy(p + 24, spec->dst, 16);
}

static void put_tcp(uint8_t *p, const struct tcp_segment_spec *spec, size_t tcp_header)
{
	imw_store_be16(p, spec->sport);
	imw_store_be16(p + 2, spec->dport);
	imw_store_be32(p + 4, spec->seq);
	imw_store_be32(p + 8, spec->ack);
	p[12] = (uint8_t)(tcp_header / 4 << 4);
	p[13] = spec->flags;
	imw_store_be16(p + 14, spec->window);
	imw_store_be16(p + 16, 0); /* checksum, computed last */
	imw_store_be16(p + 18, 0); /* urgent pointer */
	if (spec->has_timestamp) {
		p[20] = TCPOPT_NOP;
		p[21] = TCPOPT_NOP;
		p[22] = TCPOPT_TIMESTAMP;
		p[23] = TCPOLEN_TIMESTAMP;
		imw_store_be32(p + 24, spec->tsval);
		imw_store_be32(p + 28, spec->tsecr);
	}
}

int tcp_build_segment(const struct tcp_segment_spec *spec, const uint8_t *payload,
		      size_t payload_len, struct bytebuf *out)
{
	size_t ip_header, tcp_header = spec->has_timestamp ? TCP_HEADER_TS : TCP_HEADER;
	size_t l4_len, total;
	uint8_t *p;

	if (spec->ip_version == 4)
		ip_header = IPV4_HEADER;
	else if (spec->ip_version == 6)
		ip_header = IPV6_HEADER;
	else
		return -1;
	/* IPv4 counts its header in the 16-bit total length, IPv6 does not. */
	if (payload_len > 0xFFFF - tcp_header - (spec->ip_version == 4 ? ip_header : 0))
		return -1;
	l4_len = tcp_header + payload_len;
	total = ip_header + l4_len;
	if (!bytebuf_reserve(out, total))
		return -1;
	p = out->data + out->len;
	if (spec->ip_version == 4)
		put_ipv4(p, spec, total);
	else
		put_ipv6(p, spec, l4_len);
	put_tcp(p + ip_header, spec, tcp_header);
	if (payload_len)
		memcpy(p + ip_header + tcp_header, payload, payload_len);
	tcp_edit_fix_checksums(p, total, spec->ip_version, ip_header);
	out->len += total;
	return 0;
}

bool tcp_read_timestamp(const uint8_t *ip, const struct packet *pkt, uint32_t *tsval,
			uint32_t *tsecr)
{
	const uint8_t *opt;
	size_t n, i = 0, len;

	if (pkt->l4_header_len <= TCP_HEADER || pkt->l4_offset < pkt->l3_offset)
		return false;
	/* l4_offset counts from the start of whatever was parsed (a frame
	 * for packet_parse), ip from the IP header. */
	opt = ip + (pkt->l4_offset - pkt->l3_offset) + TCP_HEADER;
	n = pkt->l4_header_len - TCP_HEADER;
	while (i < n) {
		if (opt[i] == TCPOPT_EOL)
			return false;
		if (opt[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n)
			return false;
		len = opt[i + 1];
		if (len < 2 || i + len > n)
			return false;
		if (opt[i] == TCPOPT_TIMESTAMP) {
			if (len != TCPOLEN_TIMESTAMP)
				return false;
			*tsval = imw_load_be32(opt + i + 2);
			*tsecr = imw_load_be32(opt + i + 6);
			return true;
		}
		i += len;
	}
	return false;
}
