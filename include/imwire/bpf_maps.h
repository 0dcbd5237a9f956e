/* Layouts of the classifier's BPF maps, pinned in one directory per
 * imwired instance (classifier_pin_dir(): /sys/fs/bpf/imwire/<netns
 * inode> by default). The BPF program, the loader, the daemon and an
 * operator's bpftool commands all see these bytes: fields are
 * fixed-width, little-endian on the host.
 *
 *   protocols  array  key u32 proto id   -> struct imw_proto_conf
 *   ports      hash   key u16 TCP port   -> u32 proto id (host order)
 *   flows      LRU    struct imw_flow_key -> struct imw_flow_state
 *   xlate      hash   struct imw_xlate_key -> struct imw_xlate
 *                     (not LRU: a flood cannot push an edited flow out)
 *   counters   percpu array  key u32 proto id -> struct imw_counters
 *   liveness   sockmap key 0 -> a socket of the live daemon
 *   owner      array  key 0 -> struct imw_owner
 *   expect     hash   struct imw_expect_key -> struct imw_expect_val */
#ifndef IMWIRE_BPF_MAPS_H
#define IMWIRE_BPF_MAPS_H

#if defined(__KERNEL__) || defined(__bpf__)
/* types come from linux/types.h or vmlinux.h */
#define IMW_SPIN_LOCK struct bpf_spin_lock
#else
#include <stdint.h>
/* The same 4 bytes as struct bpf_spin_lock; userspace never touches it
 * (BPF_F_LOCK makes the kernel take it). */
#define IMW_SPIN_LOCK uint32_t
#endif

#include "protocols.h"

/* Under it, one directory per network namespace: <root>/<netns inode>. */
#define IMW_PIN_ROOT "/sys/fs/bpf/imwire"
#define IMW_MAX_FLOWS 65536
#define IMW_MAX_PORTS 256
/* Edited flow directions the classifier can translate without the
 * daemon (entries are allocated on use, about 330 bytes each). */
#define IMW_MAX_XLATE 131072
/* Unacknowledged edits per direction the classifier can translate. */
#define IMW_XLATE_EDITS 16
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

/* The classifier's decision about a flow: cheap to lose (the next packet
 * decides again, or finds the flow's xlate entries). */
struct imw_flow_state {
	uint8_t verdict;
	uint8_t proto;
	uint8_t data_packets; /* looked at while undecided */
	uint8_t flags;        /* none yet */
	uint32_t pad;
};

/* One direction of an edited flow: the bytes sent by `side` (0 = a,
 * 1 = b) of the canonical key. */
struct imw_xlate_key {
	struct imw_flow_key flow; /* flow.pad is 0 */
	uint32_t side;
};

/* An edit the receiver has not acknowledged yet, in the sender's
 * sequence space: input [in_seq, in_seq + in_len) became out_len bytes
 * (in_len 0: an insertion before in_seq; out_len 0: a deletion). Its
 * output starts at in_seq plus the offset of the edits before it. */
struct imw_xlate_edit {
	uint32_t in_seq;
	uint32_t in_len;
	uint32_t out_len;
	uint32_t flags;
};

/* An ack inside this insertion maps to in_seq itself rather than to the
 * byte before: the daemon originated and resends it, or it starts the
 * stream (seqmap's rule). */
#define IMW_XLATE_ACK_AT_START 1u

/* More edits were live than the list holds: input from limit_seq on
 * (and the output past the last listed edit) cannot be translated; its
 * segments are dropped for the successor daemon to rebuild. */
#define IMW_XLATE_OVERFLOW 1u
#define IMW_XLATE_PASSED 2u

/* What the classifier needs of one direction to map sequence numbers
 * exactly as the daemon's seqmap does (daemon/src/seqmap/seqmap.h). */
struct imw_xlate_dir {
	int32_t base_delta; /* output minus input before the first live edit */
	uint32_t limit_seq; /* with IMW_XLATE_OVERFLOW */
	uint16_t n_edits;   /* at most IMW_XLATE_EDITS */
	uint8_t flags;      /* IMW_XLATE_OVERFLOW, IMW_XLATE_PASSED */
	uint8_t proto;      /* the flow's protocol (enum imw_proto) */
	/* With IMW_XLATE_PASSED: past the last data byte the classifier let
	 * through itself (no daemon), input seq. A successor must not decode
	 * (nor change the length of) what lies before: the receiver may hold
	 * it, and later segments, as they were. A daemon's publish clears it. */
	uint32_t passed_end;
	struct imw_xlate_edit edits[IMW_XLATE_EDITS];
};

/* The lock serialises the daemon's updates (BPF_F_LOCK) with the
 * classifier's reads and folds. stamp_ns: CLOCK_MONOTONIC of the last
 * publish or of the flow's last packet the classifier saw (what an idle
 * reaper compares). */
struct imw_xlate {
	IMW_SPIN_LOCK lock;
	uint32_t pad;
	uint64_t stamp_ns;
	struct imw_xlate_dir d;
};

struct imw_counters {
	uint64_t flows;       /* classified as this protocol */
	uint64_t steered;     /* packets marked for the daemon */
	uint64_t not_steered; /* packets of this protocol passed while it was off */
	uint64_t fixed_up;    /* packets whose seq/ack/SACK the classifier translated */
	/* Segments dropped because they carry bytes of a live edit (or past
	 * an overflowed list) that only a daemon can rebuild. */
	uint64_t held_for_successor;
	uint64_t folded;        /* live edits acknowledged and folded by the classifier */
	uint64_t stale_cleared; /* xlate entries dropped at a new connection's SYN */
};

/* Counters of packets that belong to no IM protocol sit at key
 * IMW_PROTO_NONE: flows = flows ignored, not_steered = packets passed. */

/* Who holds the liveness entry (informational; the socket is the truth). */
struct imw_owner {
	uint32_t pid;
	uint32_t pad;
	uint64_t netns_ino;
};

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
