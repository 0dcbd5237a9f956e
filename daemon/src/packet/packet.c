#include "packet/packet.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "util/cursor.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86DD
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88A8
#define ETHERTYPE_QINQ_OLD 0x9100
#define IPPROTO_TCP_NUM 6

/* BSD loopback stores the address family in host order of the capturing
 * machine; these are the values of AF_INET6 on the BSDs, Linux and macOS. */
static bool null_family_is_ipv6(uint32_t af)
{
	return af == 10 || af == 24 || af == 28 || af == 30;
}

bool packet_linktype_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_NULL:
	case DLT_LOOP:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
		return true;
	default:
		return false;
	}
}

const char *packet_linktype_name(int dlt)
{
	const char *name = pcap_datalink_val_to_name(dlt);

	return name ? name : "unknown";
}

static enum packet_status parse_tcp(struct cursor *c, size_t l4_offset, struct packet *pkt,
				    size_t wire_l4_len, const char **why)
{
	uint8_t off_flags, flags;
	uint16_t sport, dport, win;
	uint32_t seq, ack;
	size_t hlen, present;

	if (!cursor_be16(c, &sport) || !cursor_be16(c, &dport) || !cursor_be32(c, &seq) ||
	    !cursor_be32(c, &ack) || !cursor_u8(c, &off_flags) || !cursor_u8(c, &flags) ||
	    !cursor_be16(c, &win)) {
		*why = "TCP header truncated";
		return PACKET_MALFORMED;
	}
	hlen = (size_t)(off_flags >> 4) * 4;
	if (hlen < 20 || hlen > wire_l4_len) {
		*why = "bad TCP data offset";
		return PACKET_MALFORMED;
	}
	/* 16 bytes read so far: checksum, urgent pointer and options follow */
	if (!cursor_skip(c, hlen - 16)) {
		*why = "TCP options truncated";
		return PACKET_MALFORMED;
	}
	pkt->sport = sport;
	pkt->dport = dport;
	pkt->seq = seq;
	pkt->ack = ack;
	pkt->tcp_flags = flags;
	pkt->window = win;
	pkt->l4_offset = l4_offset;
	pkt->l4_header_len = hlen;
	present = cursor_remaining(c);
	pkt->payload = cursor_here(c);
	if (present >= wire_l4_len - hlen) {
		pkt->payload_len = wire_l4_len - hlen;
		pkt->truncated = false;
	} else {
		pkt->payload_len = present;
		pkt->truncated = true;
	}
	return PACKET_OK;
}

static enum packet_status parse_ipv4(const uint8_t *ip, size_t caplen, size_t wirelen,
				     size_t l3_offset, struct packet *pkt, const char **why)
{
	struct cursor c;
	uint8_t vihl, proto;
	uint16_t total, frag;
	size_t ihl, avail;

	cursor_init(&c, ip, caplen);
	if (!cursor_u8(&c, &vihl) || !cursor_skip(&c, 1) || !cursor_be16(&c, &total) ||
	    !cursor_skip(&c, 2) || !cursor_be16(&c, &frag) || !cursor_skip(&c, 1) ||
	    !cursor_u8(&c, &proto) || !cursor_skip(&c, 2)) {
		*why = "IPv4 header truncated";
		return PACKET_MALFORMED;
	}
	if (vihl >> 4 != 4) {
		*why = "IP version is not 4";
		return PACKET_MALFORMED;
	}
	ihl = (size_t)(vihl & 0x0F) * 4;
	if (ihl < 20 || total < ihl) {
		*why = "bad IPv4 header or total length";
		return PACKET_MALFORMED;
	}
	/* The wire length bounds the datagram; Ethernet padding lies beyond
	 * total and must not become payload. */
	if (total > wirelen) {
		*why = "IPv4 total length beyond frame";
		return PACKET_MALFORMED;
	}
	if (!cursor_take(&c, 4) || !cursor_take(&c, 4)) {
		*why = "IPv4 header truncated";
		return PACKET_MALFORMED;
	}
	memset(pkt->src, 0, sizeof(pkt->src));
	memset(pkt->dst, 0, sizeof(pkt->dst));
	memcpy(pkt->src, ip + 12, 4);
	memcpy(pkt->dst, ip + 16, 4);
	pkt->ip_version = 4;
	pkt->l3_offset = l3_offset;
	if (frag & 0x3FFF)
		return PACKET_FRAGMENT;
	if (proto != IPPROTO_TCP_NUM)
		return PACKET_NOT_TCP;
	if (ihl > caplen) {
		*why = "IPv4 options truncated";
		return PACKET_MALFORMED;
	}
	avail = caplen < total ? caplen : total;
	cursor_init(&c, ip + ihl, avail - ihl);
	return parse_tcp(&c, l3_offset + ihl, pkt, total - ihl, why);
}

static bool ipv6_is_extension(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 135 || nh == 139 || nh == 140;
}

static enum packet_status parse_ipv6(const uint8_t *ip, size_t caplen, size_t wirelen,
				     size_t l3_offset, struct packet *pkt, const char **why)
{
	struct cursor c;
	uint8_t ver, nh, ext_nh, ext_len;
	uint16_t plen;
	size_t hdr = 40, avail, hops = 0;

	cursor_init(&c, ip, caplen);
	if (!cursor_u8(&c, &ver) || !cursor_skip(&c, 3) || !cursor_be16(&c, &plen) ||
	    !cursor_u8(&c, &nh) || !cursor_skip(&c, 1 + 32)) {
		*why = "IPv6 header truncated";
		return PACKET_MALFORMED;
	}
	if (ver >> 4 != 6) {
		*why = "IP version is not 6";
		return PACKET_MALFORMED;
	}
	if ((size_t)plen + 40 > wirelen) {
		*why = "IPv6 payload length beyond frame";
		return PACKET_MALFORMED;
	}
	memcpy(pkt->src, ip + 8, 16);
	memcpy(pkt->dst, ip + 24, 16);
	pkt->ip_version = 6;
	pkt->l3_offset = l3_offset;
	while (ipv6_is_extension(nh) || nh == 44 || nh == 51) {
		if (nh == 44)
			return PACKET_FRAGMENT;
		if (++hops > 8) {
			*why = "too many IPv6 extension headers";
			return PACKET_MALFORMED;
		}
		if (!cursor_u8(&c, &ext_nh) || !cursor_u8(&c, &ext_len)) {
			*why = "IPv6 extension header truncated";
			return PACKET_MALFORMED;
		}
		/* AH counts its length in 4-byte units, the others in 8. */
		size_t len = nh == 51 ? ((size_t)ext_len + 2) * 4 : ((size_t)ext_len + 1) * 8;
		if (!cursor_skip(&c, len - 2) || hdr + len > (size_t)plen + 40) {
			*why = "IPv6 extension header truncated";
			return PACKET_MALFORMED;
		}
		hdr += len;
		nh = ext_nh;
	}
	if (nh != IPPROTO_TCP_NUM)
		return PACKET_NOT_TCP;
	avail = caplen < (size_t)plen + 40 ? caplen : (size_t)plen + 40;
	cursor_init(&c, ip + hdr, avail - hdr);
	return parse_tcp(&c, l3_offset + hdr, pkt, (size_t)plen + 40 - hdr, why);
}

static enum packet_status parse_by_version(const uint8_t *ip, size_t caplen, size_t wirelen,
					   size_t l3_offset, struct packet *pkt, const char **why)
{
	if (caplen < 1) {
		*why = "empty IP packet";
		return PACKET_MALFORMED;
	}
	if (ip[0] >> 4 == 4)
		return parse_ipv4(ip, caplen, wirelen, l3_offset, pkt, why);
	if (ip[0] >> 4 == 6)
		return parse_ipv6(ip, caplen, wirelen, l3_offset, pkt, why);
	return PACKET_NOT_IP;
}

enum packet_status packet_parse_ip(const uint8_t *ip, size_t caplen, size_t wirelen,
				   struct packet *pkt, const char **why)
{
	return parse_by_version(ip, caplen, wirelen, 0, pkt, why);
}

static enum packet_status parse_ethertype(uint16_t type, const uint8_t *frame, size_t caplen,
					  size_t wirelen, size_t off, struct packet *pkt,
					  const char **why)
{
	if (type == ETHERTYPE_IPV4)
		return parse_ipv4(frame + off, caplen - off, wirelen - off, off, pkt, why);
	if (type == ETHERTYPE_IPV6)
		return parse_ipv6(frame + off, caplen - off, wirelen - off, off, pkt, why);
	return PACKET_NOT_IP;
}

enum packet_status packet_parse(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen,
				struct packet *pkt, const char **why)
{
	struct cursor c;
	uint16_t type, hatype;
	uint32_t af;
	size_t off, tags = 0;

	*why = NULL;
	pkt->truncated = false;
	if (wirelen < caplen)
		wirelen = caplen;
	cursor_init(&c, frame, caplen);
	switch (dlt) {
	case DLT_EN10MB:
		if (!cursor_skip(&c, 12) || !cursor_be16(&c, &type)) {
			*why = "Ethernet header truncated";
			return PACKET_MALFORMED;
		}
		while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD) {
			if (++tags > 4 || !cursor_skip(&c, 2) || !cursor_be16(&c, &type)) {
				*why = "802.1Q tag truncated";
				return PACKET_MALFORMED;
			}
		}
		return parse_ethertype(type, frame, caplen, wirelen, c.pos, pkt, why);
	case DLT_NULL:
	case DLT_LOOP:
		if (caplen < 4) {
			*why = "loopback header truncated";
			return PACKET_MALFORMED;
		}
		/* DLT_NULL is host order of the capturer; accept either order. */
		af = dlt == DLT_LOOP ? imw_load_be32(frame) : imw_load_le32(frame);
		if (af > 0xFFFF)
			af = dlt == DLT_LOOP ? imw_load_le32(frame) : imw_load_be32(frame);
		if (af == 2)
			return parse_ipv4(frame + 4, caplen - 4, wirelen - 4, 4, pkt, why);
		if (null_family_is_ipv6(af))
			return parse_ipv6(frame + 4, caplen - 4, wirelen - 4, 4, pkt, why);
		return PACKET_NOT_IP;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return parse_by_version(frame, caplen, wirelen, 0, pkt, why);
	case DLT_LINUX_SLL:
		/* packet type, ARPHRD, addr len, 8 address bytes, protocol */
		off = 16;
		if (caplen < off) {
			*why = "Linux cooked header truncated";
			return PACKET_MALFORMED;
		}
		hatype = imw_load_be16(frame + 2);
		(void)hatype;
		return parse_ethertype(imw_load_be16(frame + 14), frame, caplen, wirelen, off, pkt,
				       why);
	case DLT_LINUX_SLL2:
		/* protocol first, then reserved, ifindex, ARPHRD, type, addr */
		off = 20;
		if (caplen < off) {
			*why = "Linux cooked v2 header truncated";
			return PACKET_MALFORMED;
		}
		return parse_ethertype(imw_load_be16(frame), frame, caplen, wirelen, off, pkt, why);
	default:
		*why = "unsupported link type";
		return PACKET_MALFORMED;
	}
}

size_t packet_format_endpoint(char *buf, size_t size, uint8_t ip_version, const uint8_t *addr,
			      uint16_t port)
{
	char ip[INET6_ADDRSTRLEN];
	int n;

	if (!inet_ntop(ip_version == 6 ? AF_INET6 : AF_INET, addr, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	if (ip_version == 6)
		n = snprintf(buf, size, "[%s]:%u", ip, port);
	else
		n = snprintf(buf, size, "%s:%u", ip, port);
	if (n < 0)
		n = 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}
