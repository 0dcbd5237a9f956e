/* Packets out that the daemon originates (the queue only ever gives
 * verdicts on packets the kernel hands it). On a bridge, an Ethernet frame
 * written straight to the port towards the receiver: the bridge has no
 * address to route from, and a frame sent on a port never enters the
 * bridge, so it is neither forwarded elsewhere nor queued to us again. On
 * a router, a raw IP packet the kernel routes (through OUTPUT, not
 * FORWARD, so it is not queued to us again either).
 *
 * Opening AF_PACKET and raw IP sockets needs CAP_NET_RAW; sending on an
 * open one does not. A daemon that drops privileges calls egress_open
 * while still root; otherwise the sockets open on first use. One egress
 * per thread: the stats are not shared. */
#ifndef IMW_EGRESS_H
#define IMW_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct egress_link {
	uint32_t ifindex;     /* bridge port towards the receiver (physoutdev); 0: route it (L3) */
	uint8_t src_mac[6];   /* frame source: the MAC the sender's frames carried */
	uint8_t dst_mac[6];   /* frame destination: the receiver's MAC (source MAC of its own frames) */
	bool have_macs;
};

struct egress_stats {
	uint64_t sent;
	uint64_t send_errors; /* a socket that would not open, a refused or short send */
	uint64_t no_link;     /* a port without the MACs to address a frame on it */
};

struct egress {
	int packet_fd;
	int raw4_fd;
	int raw6_fd;
	struct egress_stats stats;
};

/* No sockets yet: they open lazily on first send, or in egress_open. */
void egress_init(struct egress *eg);

/* Opens all three sockets now (before dropping CAP_NET_RAW). Returns 0,
 * or -1 with the first failure in err; the sockets that did open stay
 * open and usable, the others are tried again on use. */
int egress_open(struct egress *eg, char *err, size_t err_size);

void egress_close(struct egress *eg);

/* Sends one IP packet. With a link whose ifindex and MACs are set, as an
 * Ethernet frame through that port; with no link or ifindex 0, through a
 * raw IP socket (IPv4 with IP_HDRINCL, IPv6 with the header included) so
 * the kernel routes it. Never blocks. Returns 0, or -1 with errno kept
 * and the failure counted: EDESTADDRREQ (no_link) for a port without
 * MACs, EINVAL for a packet that is not IPv4 or IPv6. */
int egress_send(struct egress *eg, const struct egress_link *link, const uint8_t *ip, size_t len);

#endif
