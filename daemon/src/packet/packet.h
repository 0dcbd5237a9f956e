/* Parsing one captured frame down to TCP: link layer, IPv4/IPv6, TCP.
 * No allocation, no copies: the packet points into the caller's buffer. */
#ifndef IMW_PACKET_H
#define IMW_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_ACK 0x10
#define TCP_FLAG_URG 0x20
/* Flags that belong to one place in the stream: a packet carrying one is
 * never split into several segments (the flag cannot be repeated or
 * moved). */
#define TCP_FLAGS_UNSPLITTABLE (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST | TCP_FLAG_URG)

enum packet_status {
	PACKET_OK = 0,
	PACKET_NOT_IP,    /* ARP, LLDP...: not ours, silently ignored */
	PACKET_NOT_TCP,   /* UDP, ICMP...: not ours, silently ignored */
	PACKET_FRAGMENT,  /* IP fragment: counted, not reassembled */
	PACKET_MALFORMED, /* header lengths or fields that cannot be right: counted */
};

struct packet {
	double ts;
	uint8_t ip_version; /* 4 or 6 */
	uint8_t src[16];    /* IPv4 in the first 4 bytes */
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t tcp_flags;
	uint16_t window;
	const uint8_t *payload;
	size_t payload_len;
	/* The capture cut the payload short (snaplen): the bytes present are
	 * not the whole segment. */
	bool truncated;
	size_t l3_offset; /* offsets into the frame, for the rewrite engine */
	size_t l4_offset;
	size_t l4_header_len;
};

/* Link-layer types we understand (libpcap DLT_ values). */
bool packet_linktype_supported(int dlt);
const char *packet_linktype_name(int dlt);

/* Parse a frame of link type dlt. `why` receives a static reason for
 * PACKET_MALFORMED. */
enum packet_status packet_parse(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen,
				struct packet *pkt, const char **why);

/* Parse from the IP header on (NFQUEUE hands us IP packets). */
enum packet_status packet_parse_ip(const uint8_t *ip, size_t caplen, size_t wirelen,
				   struct packet *pkt, const char **why);

/* "1.2.3.4:5" or "[::1]:5"; returns bytes written (excluding NUL), the
 * buffer is always terminated. 64 bytes always suffice. */
size_t packet_format_endpoint(char *buf, size_t size, uint8_t ip_version, const uint8_t *addr,
			      uint16_t port);

#endif
