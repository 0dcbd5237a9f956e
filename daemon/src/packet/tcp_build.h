/* Originating TCP segments: a whole IP packet made from nothing but the
 * connection facts a bridge learns by watching (addresses, ports, the
 * next seq and ack, the window, the timestamps), for data the daemon
 * sends on its own into a direction that may be idle. */
#ifndef IMW_TCP_BUILD_H
#define IMW_TCP_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet/packet.h"
#include "util/bytebuf.h"

struct tcp_segment_spec {
	uint8_t ip_version;          /* 4 or 6 */
	uint8_t src[16], dst[16];    /* IPv4 in the first 4 bytes */
	uint16_t sport, dport;       /* host order */
	uint32_t seq, ack;
	uint8_t flags;               /* TCP_FLAG_* from packet.h */
	uint16_t window;             /* raw field value (already scaled by the sender) */
	uint8_t ttl;                 /* IPv4 TTL / IPv6 hop limit; 0 means 64 */
	uint8_t tos;                 /* IPv4 TOS / IPv6 traffic class */
	bool has_timestamp;          /* RFC 7323 option: NOP NOP TS */
	uint32_t tsval, tsecr;
	uint16_t ip_id;              /* IPv4 identification: the caller keeps it fresh */
};

/* Appends one whole IP packet (IPv4 with DF and spec->ip_id, or IPv6)
 * with correct IP and TCP checksums to out. Returns 0, or -1 on
 * allocation failure, an ip_version other than 4 or 6, or a payload too
 * large for one IP packet; out is unchanged on failure. */
int tcp_build_segment(const struct tcp_segment_spec *spec, const uint8_t *payload,
		      size_t payload_len, struct bytebuf *out);

/* Reads the timestamp option of a parsed packet (ip points at the IP
 * header pkt describes, whether pkt came from packet_parse_ip or from
 * packet_parse on a frame). The walk is bounded by the TCP header; false
 * when the option is absent, has a length other than 10, or an option
 * before it is malformed. */
bool tcp_read_timestamp(const uint8_t *ip, const struct packet *pkt, uint32_t *tsval,
			uint32_t *tsecr);

#endif
