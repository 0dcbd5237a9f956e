/* Layouts of the classifier's BPF maps, pinned under IMW_PIN_DIR. The
 * BPF program, the loader, the daemon and an operator's bpftool commands
 * all see these bytes: fields are fixed-width, little-endian on the
 * host, and only ever appended.
 *
 *   protocols  array  key u32 proto id   -> struct imw_proto_conf
 *   ports      hash   key u16 TCP port   -> u32 proto id (host order)
 *   flows      LRU    struct imw_flow_key -> struct imw_flow_state
 *   counters   percpu array  key u32 proto id -> struct imw_counters
 *   heartbeat  array  key 0              -> struct imw_heartbeat
 *   expect     hash   struct imw_expect_key -> struct imw_expect_val */
#ifndef IMWIRE_BPF_MAPS_H
#define IMWIRE_BPF_MAPS_H

#if defined(__KERNEL__) || defined(__bpf__)
/* types come from linux/types.h or vmlinux.h */
#else
#include <stdint.h>
#endif

#include "protocols.h"

#define IMW_PIN_DIR "/sys/fs/bpf/imwire"
#define IMW_MAX_FLOWS 65536
#define IMW_MAX_PORTS 256
/* Data packets of an unclassified flow looked at before giving up. */
#define IMW_CLASSIFY_PACKETS 4
/* Payload bytes the signature checks see. */
#define IMW_SIG_WINDOW 256

struct imw_proto_conf {
	uint32_t enabled; /* 0 or 1 */
};

/* A flow in canonical order: the side with the lower (address, port)
 * is "a". IPv4 addresses are stored v4-mapped (::ffff:a.b.c.d). */
struct imw_flow_key {
	uint8_t addr_a[16];
	uint8_t addr_b[16];
	uint16_t port_a; /* host order */
	uint16_t port_b;
	uint32_t pad;
};

enum imw_flow_verdict {
	IMW_FLOW_UNDECIDED = 0, /* no data seen yet, or not sure */
	IMW_FLOW_STEER = 1,     /* an IM flow: steer while its protocol is on */
	IMW_FLOW_IGNORE = 2,    /* not IM: never steered */
};

#define IMW_FLOW_HAS_DELTA 1u /* seq_delta holds the daemon's published deltas */

/* seq_delta[d]: output minus input sequence space of the bytes sent by
 * side d (0 = a, 1 = b), once the daemon's edits collapsed into one
 * offset. With the daemon gone or the protocol off, the classifier adds
 * seq_delta[d] to the seq of packets from d and subtracts it from the
 * ack of packets from the other side. */
struct imw_flow_state {
	uint8_t verdict;
	uint8_t proto;
	uint8_t data_packets; /* looked at while undecided */
	uint8_t flags;
	int32_t seq_delta[2];
	uint32_t pad;
};

struct imw_counters {
	uint64_t flows;       /* classified as this protocol */
	uint64_t steered;     /* packets marked for the daemon */
	uint64_t not_steered; /* packets of this protocol passed while it was off */
	uint64_t fixed_up;    /* packets whose seq/ack the classifier adjusted */
};

/* Counters of packets that belong to no IM protocol sit at key
 * IMW_PROTO_NONE: flows = flows ignored, not_steered = packets passed. */

struct imw_heartbeat {
	uint64_t last_ns;    /* CLOCK_MONOTONIC (bpf_ktime_get_ns) of the last beat */
	uint64_t timeout_ns; /* older than this: the daemon is gone */
};

#define IMW_HEARTBEAT_TIMEOUT_NS 2000000000ull

/* Expected connections (file transfers, #20). The daemon enters the
 * listening side of a connection a file offer announced (and the side
 * that will connect, when it is known; all zeros: any address); the
 * classifier steers a new flow to it, from any source port, as the
 * entry's protocol until expires_ns, and nothing else on that port. The
 * daemon removes the entry once the connection came or the offer timed
 * out. Addresses as in imw_flow_key (v4-mapped). */
#define IMW_MAX_EXPECT 4096

struct imw_expect_key {
	uint8_t listen_addr[16];
	uint8_t peer_addr[16]; /* zeros: from anywhere */
	uint16_t listen_port;  /* host order */
	uint16_t pad;
	uint32_t pad2;
};

struct imw_expect_val {
	uint64_t expires_ns; /* CLOCK_MONOTONIC, as bpf_ktime_get_ns */
	uint32_t proto;
	uint32_t pad;
};

#endif
