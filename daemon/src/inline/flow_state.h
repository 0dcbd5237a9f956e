/* What the inline engine keeps per TCP flow: the one structure every
 * inline unit works on, hung on the flow table's entry (flow.ext) the way
 * the kernel hangs its seqadj extension on a conntrack entry.
 *
 * Owner: the engine of the worker whose queue carries the flow. It is
 * created on the flow's first packet (flow_state_new), handed to the units
 * by pointer for the length of one call, and freed when the flow table
 * releases the flow (flow_state_free), after every held packet went out.
 * No other thread ever sees it.
 *
 * Two kinds of fields, kept apart so that a hand-over is a copy of the
 * first kind only:
 *
 *   hand-over  what a successor (the kernel classifier, or the next daemon
 *              after a restart or a crash) needs to keep translating the
 *              connection exactly as we did: per direction the sequence
 *              map (base offset, live edits with their replacement bytes,
 *              which are output bytes the receiver has not acknowledged
 *              yet), the input offset released so far, the highest output
 *              offset the receiver acknowledged, the path facts used to
 *              cut segments, and the segments we originated that are not
 *              acknowledged yet with the template they are resent from.
 *              All of it is plain values and owned byte arrays, keyed by
 *              the flow's addresses and ports (struct flow): nothing
 *              points into another structure, so it can be written out
 *              field by field and read back into a fresh flow_state.
 *
 *   transient  held packets (queue ids mean nothing to another process,
 *              so they are always released before a hand-over), list
 *              links of the engine, and what the router was told.
 *
 * Not here, and needed by a successor that keeps decoding rather than
 * only translating: the flow table's reassembly position and the app
 * layer's framing state (struct flow), and protocol state that edits
 * changed (the FLAP sequence shift OSCAR and TOC apply after a PDU was
 * inserted or deleted, kept in the module's session). Notices waiting for
 * a PDU (notices.h) are keyed by this process's flow ids.
 *
 * Offsets are 64-bit stream offsets of one direction, in input space
 * (what the sender sent) or output space (what the receiver sees); the
 * sequence map converts between them (seqmap/seqmap.h). */
#ifndef IMW_INLINE_FLOW_STATE_H
#define IMW_INLINE_FLOW_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow/flow.h"
#include "packet/packet.h"
#include "seqmap/seqmap.h"

/* A packet that has no verdict yet (hold.h). data is the IP packet; it is
 * borrowed from the caller while the packet is the one being processed
 * and owned once it stays held past that (hold_own). */
struct held_packet {
	struct held_packet *next;
	uint32_t id;
	uint8_t *data;
	size_t len;
	bool owned;
	bool gso;
	/* The record itself is the caller's (hold_in_hand), not allocated:
	 * the common packet, let go as soon as it is decoded, costs none. */
	bool in_hand;
	struct packet pkt; /* payload points into data */
	uint64_t in_start; /* input offsets of its payload */
	uint64_t in_end;
	double arrived;
	/* A hole precedes it: the receiver could not deliver its bytes anyway,
	 * so the hold deadline does not run (hold.h); since is when the bytes
	 * before it became complete. */
	bool behind_hole;
	double since;
};

/* A direction's held packets, in stream order (an out-of-order one waits
 * in its place until the hole before it fills). */
struct hold_queue {
	struct held_packet *head;
	struct held_packet *tail;
	size_t n;
	size_t bytes;
};

/* What a direction's own packets tell about sending in that direction
 * (origin.h): the last ack, window and timestamps the sender put on the
 * wire (as we sent them on), and the bridge port and MAC it used. Its
 * addresses and ports are the flow's (struct flow: a direction's packets
 * come from addr[dir]), not kept twice. */
struct origin_template {
	/* (widest fields first: no padding, as every flow has two) */
	uint32_t ack;
	uint32_t tsval;
	uint32_t tsecr;
	uint32_t snd_nxt; /* past the last byte sent on in this direction */
	uint32_t ifindex; /* bridge port the packets leave through, 0 when routed */
	uint16_t window;
	bool valid;
	uint8_t ttl;
	uint8_t tos;
	bool has_timestamp;
	bool have_snd_nxt;
	bool has_mac;
	uint8_t mac[6];   /* the sender's source MAC */
};

/* Data we originated in a direction, kept until the receiver acks it. */
struct origin_seg {
	struct origin_seg *next;
	uint64_t out_start;
	size_t len;
	uint8_t *bytes;
	double sent_at;
	double rto;
	unsigned tries;
};

struct flow_dir_state {
	/* (the small fields of both kinds share one word: no padding, as
	 * every flow has two) */
	/* ---- hand-over: translation ---- */
	bool started;            /* map is initialised (first SYN or data seen) */
	/* ---- hand-over bookkeeping ---- */
	bool publish_pending;    /* the map changed: published before the next verdict */
	bool adopted;            /* the map came from a predecessor (adopt.h) */
	/* ---- hand-over: path facts ---- */
	uint16_t peer_mss;       /* what the receiver of this direction announced */
	/* ---- hand-over: originated data ---- */
	uint16_t ip_id;
	/* ---- hand-over: translation ---- */
	struct seqmap map;       /* input <-> output; live edits keep their bytes */
	uint64_t released_end;   /* input offset past the last byte sent on */
	uint64_t peer_acked_out; /* highest output offset the receiver acknowledged */
	/* ---- hand-over: path facts ---- */
	size_t max_payload_seen;
	/* ---- hand-over: originated data ---- */
	struct origin_template tmpl;
	struct origin_seg *origins; /* in output order, not yet acknowledged */
	/* ---- hand-over bookkeeping ---- */
	uint64_t adopted_until;  /* input before it was decided by the predecessor */
	/* ---- transient ---- */
	struct hold_queue held;
};

/* What the router was last told about the flow's IM session (sessions.h). */
struct session_reg {
	bool registered;
	bool injectable;
	char *local;
	char *address;
	char *service;
};

/* The engine's lists of flows (transient): each flow may be on each once. */
enum flow_list_kind {
	FLOW_LIST_HOLDING,  /* flows with held packets */
	FLOW_LIST_SESSIONS, /* flows the router knows, or with data of ours */
	FLOW_LIST_COMMIT,   /* flows to write and publish before the next verdict */
	FLOW_LIST_HANDOVER, /* flows a successor needs: edited, or with a record */
	FLOW_LISTS,
};

/* The flow's record in the state file (handover.h), and what a
 * predecessor's record said of the session until the application layer
 * exists to take it. */
struct flow_handover {
	uint32_t ref;         /* state_ref; 0: none */
	bool pending;         /* written again before the next verdict */
	char *local;          /* the session's identity as last written */
	char *address;
	char *service;
	bool adopt_app;       /* decode as adopt_proto once the streams exist */
	uint8_t adopt_proto;
	char *adopt_local;
	char *adopt_address;
	char *adopt_service;
};

struct flow_link {
	struct flow_state *prev;
	struct flow_state *next;
};

struct flow_list {
	struct flow_state *head;
};

/* What the router and the state file were told of the flow's session:
 * made the first time either is told something (sessions.c, commit.c,
 * adopt.c), so a flow neither knows of carries a pointer only. */
struct flow_told {
	struct session_reg reg;
	struct flow_handover hov;
};

struct flow_state {
	struct flow *flow;       /* the flow table's entry (addresses, reassembly, app) */
	bool adoption_checked;   /* looked for offsets a predecessor published */
	/* ---- transient ---- */
	uint8_t on_lists;        /* bit k: on list k (enum flow_list_kind) */
	struct flow_dir_state dir[2]; /* by direction of travel, as flow.h */
	/* ---- transient ---- */
	struct flow_link link[FLOW_LISTS];
	struct flow_told *told;  /* NULL until the router or the state file is told */
};

/* A zeroed state for f; NULL when out of memory. */
struct flow_state *flow_state_new(struct flow *f);
/* Frees what the state owns. Held packets must have been released (or
 * dropped with hold_drop_all) and the state taken off the engine's lists. */
void flow_state_free(struct flow_state *fs);

/* fs->told, made (zeroed) when missing; NULL when out of memory. */
struct flow_told *flow_state_told(struct flow_state *fs);

/* Put fs at the head of list kind k (no-op when it is on it), or take it off. */
static inline bool flow_list_has(const struct flow_state *fs, enum flow_list_kind k)
{
	return fs->on_lists & (1u << k);
}

void flow_list_add(struct flow_list *l, struct flow_state *fs, enum flow_list_kind k);
void flow_list_remove(struct flow_list *l, struct flow_state *fs, enum flow_list_kind k);

/* The direction's map starts at its first data byte's seq; no-op once started. */
void flow_dir_start(struct flow_dir_state *d, uint32_t first_data_seq);

/* Payload bytes one segment of this direction may carry to the receiver
 * (its MSS less the packet's TCP options); a GSO super-packet is cut by
 * the kernel, so only the super-packet's own bound applies. */
size_t flow_dir_segment_limit(const struct flow_dir_state *d, const struct packet *pkt, bool gso);

/* delta whole PDUs were inserted (+) into or deleted (-) from direction
 * dir: the flow's protocol module renumbers what follows (OSCAR FLAP
 * sequence numbers), when it counts PDUs. */
void flow_state_pdus_changed(struct flow_state *fs, enum im_dir dir, int delta);


#endif
