/* The inline engine: one worker's view of the packets a queue hands it.
 *
 * For every packet it decides a verdict: accept unchanged (the common,
 * invisible case), accept with new bytes (seq/ack translated, payload
 * edited), drop (a segment whose bytes were all deleted, or a duplicate of
 * data still held), or hold (no verdict yet: the segment carries part of a
 * PDU that policy may change by length). Held packets are released when
 * their PDU completes, when the hold deadline passes, when a bound is hit,
 * and at shutdown; none is ever lost.
 *
 * A packet goes through a short sequence of units, none of which calls
 * back into another:
 *
 *   flow table   find the flow; its per-flow state (flow_state.h) hangs on it
 *   decide       feeding the packet's bytes to the decoders yields events;
 *                each runs through the route table and becomes effects
 *                (decide.h, effects.h)
 *   edits        the effects' stream edits go into the sequence maps,
 *                cut at the held packets (edits.h)
 *   translate    the reverse direction's ack collapses acknowledged edits;
 *                every packet that goes out gets seq, ack and SACK
 *                translated and its payload rebuilt (translate.h)
 *   hold         what policy may still change waits (hold.h)
 *   origin       receipts and notices for the client, deliveries from
 *                other workers, retransmissions of our own data (origin.h)
 *   sessions     the router's registry learns the flow's user (sessions.h)
 *
 * It does no I/O: verdicts and packets of our own go to an output queue
 * (outq.h) that the caller sends. */
#ifndef IMW_INLINE_ENGINE_H
#define IMW_INLINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow/flow.h"
#include "inline/bpf_publish.h"
#include "inline/counters.h"
#include "inline/decide.h"
#include "inline/hold.h"
#include "inline/notices.h"
#include "inline/outq.h"
#include "inline/sessions.h"
#include "util/bytebuf.h"

struct route_table;
struct router;

struct engine_config {
	struct flow_config flow;
	double hold_deadline;   /* seconds a packet may be held (DESIGN: 50 ms) */
	double hold_hole_bound; /* seconds a packet may wait behind a hole (hold.h) */
	uint16_t mss_headroom;  /* SYN MSS lowered by this, so edits may grow segments */
	size_t max_held_packets; /* per direction */
	size_t max_held_bytes;   /* per direction */
	size_t max_held_bytes_total; /* over all flows of this engine */
	/* Not owned, may be NULL (events are only logged): what decides every
	 * event (route.h); swapped between packets with engine_set_table. */
	struct route_table *table;
	/* Not owned, may be NULL: where edited directions' translation goes
	 * (before the verdict that needs it) so the tc classifier can keep
	 * edited flows alive without the daemon. */
	struct bpf_publish *publish;
	/* Not owned, may be NULL (used only with publish): the state file
	 * where the bytes a successor needs go, and the records a
	 * predecessor left (handover.h). */
	struct handover *handover;
	/* Not owned, may be NULL: the session registry and mailboxes of local
	 * routing and bots. worker names this engine in them. */
	struct router *router;
	unsigned worker;
};

void engine_config_defaults(struct engine_config *cfg);
struct imw_config;
/* The defaults, then the flow table's and the engine's keys of cfg
 * (hold_deadline_ms=, hold_hole_ms=, mss_headroom=). */
void engine_config_load(struct engine_config *ec, const struct imw_config *cfg);

struct engine {
	struct engine_config cfg;
	struct flow_table flows;
	proto_emit_fn log;
	void *log_arg;
	struct engine_stats stats;
	struct decider decide;
	struct notice_queue notices;
	struct flow_list sessions; /* FLOW_LIST_SESSIONS */
	struct flow_list holding;  /* FLOW_LIST_HOLDING: flows with held packets */
	struct flow_list commit;   /* FLOW_LIST_COMMIT: to write and publish */
	struct flow_list handed;   /* FLOW_LIST_HANDOVER: what a successor needs */
	bool handing_over;         /* a classifier is there to publish to */
	bool frozen;               /* handed over: maps no longer change (engine_hand_over) */
	double now;                /* of the entry point running */
	struct hold_totals held;    /* held copies over all flows, for the global bound */
	/* Verdicts for held packets of flows the flow table released (closed,
	 * expired, evicted): moved to the caller's queue right after. */
	struct engine_outq released;
	struct bytebuf scratch; /* the packet being built */
	struct held_packet in_hand; /* the record of the packet being processed */
	struct bytebuf payload; /* a rebuilt payload */
	struct bytebuf syn;     /* a SYN with its MSS clamped */
	struct bytebuf record;  /* a flow's record for the state file */
};

/* log receives every event (after policy, with the original text, as
 * IMSpector logs it). */
int engine_init(struct engine *e, const struct engine_config *cfg, proto_emit_fn log,
		void *log_arg);
/* Every held packet goes to out (NULL: dropped) and everything is freed. */
void engine_destroy(struct engine *e, struct engine_outq *out);

/* One packet from the queue: ip points at the IP header; gso marks a
 * super-packet the kernel will segment itself. Appends verdicts (this
 * packet's unless it is held, and any released ones) to out. */
void engine_packet(struct engine *e, uint32_t id, const uint8_t *ip, size_t len, bool gso,
		   double now, struct engine_outq *out);

/* The same with what the queue said about the packet (bridge port, MAC):
 * needed to originate segments for local routing, bots and notices. */
void engine_packet_with_link(struct engine *e, uint32_t id, const uint8_t *ip, size_t len,
			     bool gso, const struct engine_packet_link *link, double now,
			     struct engine_outq *out);

/* A reload: every later event is decided by t, and the router's settings
 * may have switched routing on or off. */
void engine_set_table(struct engine *e, struct route_table *t);
/* A reload: cfg's hold and MSS settings and its flow table's (protocols,
 * local_nets, limits: flow_table_reconfigure) from the next packet on;
 * table, publish, router and worker stay. */
void engine_reconfigure(struct engine *e, const struct engine_config *cfg);

/* Deliver what other workers (or this one) posted to this engine's
 * mailbox in the router. */
void engine_take_mail(struct engine *e, double now, struct engine_outq *out);

/* Release what waited past the deadline; expire idle flows; retransmit
 * originated data the receiver did not acknowledge. */
void engine_tick(struct engine *e, double now, struct engine_outq *out);

/* Before every held packet goes at shutdown: the ends of file transfers
 * held for their virus scan (scan_hold=on) are judged first: each
 * pending verdict is waited for (within scan_timeout_ms), and what it
 * decides is carried out (scan_hold.c). */
void engine_judge_files(struct engine *e, double now, struct engine_outq *out);

/* Release every held packet (shutdown, queue trouble); once handed over
 * (engine_hand_over), those of the flows handed over are dropped instead:
 * undecided, in no record, their senders resend them to whoever is there. */
void engine_release_all(struct engine *e, struct engine_outq *out);

/* A planned stop, before the claim on the classifier is released: every
 * flow a successor needs is published and written whole (handover.h).
 * From then on the engine's maps are frozen: the packets it still gets
 * (until the claim is gone and its queue drained) are never decoded or
 * edited (an edit made now could reach its receiver after a later segment
 * the classifier already placed by the old offsets); data of an edited
 * flow is dropped (its sender resends it), the rest only translated. The caller then releases the claim,
 * gives the verdicts still due (engine_release_all) and destroys the
 * engine, which forgets nothing a successor needs. */
void engine_hand_over(struct engine *e, double now);

/* Every entry point above ends by writing and publishing what its
 * verdicts need (a new edit, a changed session): a caller sends the
 * verdicts only after it returned. This is that step alone. */
void engine_commit(struct engine *e, double now);

/* The lowest id among held packets, false when none is held (a batch
 * verdict must stay below it). */
bool engine_lowest_held_id(const struct engine *e, uint32_t *id);

#endif
