/* Building modified TCP/IP packets: new seq, ack, SACK blocks and payload
 * on an original packet's headers, with IP lengths and checksums made
 * whole again (a verdict with payload gets CHECKSUM_NONE, so the TCP
 * checksum is always computed in full), and MSS clamping in SYNs. */
#ifndef IMW_TCP_EDIT_H
#define IMW_TCP_EDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet/packet.h"
#include "util/bytebuf.h"

/* Maps a SACK edge (a seq of the reverse direction's output) to the
 * sender's input seq; left edges and right edges map differently. */
typedef uint32_t (*tcp_sack_map_fn)(void *arg, uint32_t edge, bool left);

/* The length of the new packet tcp_edit_build makes with payload_len
 * bytes of payload, or 0 when it would not fit an IP packet. */
size_t tcp_edit_build_len(const struct packet *pkt, size_t payload_len);

/* The whole new IP packet, written to p (tcp_edit_build_len bytes, not 0):
 * the original IP and TCP headers (options included) with seq and ack
 * replaced, SACK edges mapped when map_sack is set, and payload as the
 * new payload, its checksum summed as it is copied (one pass over a GSO
 * packet's payload). pkt must describe ip. */
void tcp_edit_build_at(uint8_t *p, const uint8_t *ip, const struct packet *pkt, uint32_t seq,
		       uint32_t ack, tcp_sack_map_fn map_sack, void *sack_arg,
		       const uint8_t *payload, size_t payload_len);

/* The same into out (replacing what it held); -1 when it does not fit an
 * IP packet or out of memory. */
int tcp_edit_build(const uint8_t *ip, const struct packet *pkt, uint32_t seq, uint32_t ack,
		   tcp_sack_map_fn map_sack, void *sack_arg, const uint8_t *payload,
		   size_t payload_len, struct bytebuf *out);

/* Recompute the IPv4 header checksum (IPv4 only) and the full TCP
 * checksum of an IP packet in place. */
void tcp_edit_fix_checksums(uint8_t *ip, size_t len, uint8_t ip_version, size_t l4_offset);

/* In a SYN, lower the MSS option by headroom (not below 536). Returns the
 * original MSS (0 when there is no MSS option) and sets *changed when the
 * packet was edited in place (checksums then need fixing). */
uint16_t tcp_edit_clamp_mss(uint8_t *ip, const struct packet *pkt, uint16_t headroom,
			    bool *changed);

#endif
