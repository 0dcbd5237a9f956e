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
 * The engine owns a flow table (shared with the offline pipeline's code),
 * feeds each direction's bytes to the decoders, turns policy results into
 * stream edits, and keeps one sequence map per direction. It does no I/O:
 * verdicts go to an output queue that the caller (nfq/) sends. */
#ifndef IMW_INLINE_ENGINE_H
#define IMW_INLINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "egress/egress.h"
#include "flow/flow.h"
#include "inline/bpf_publish.h"
#include "util/bytebuf.h"

enum engine_verdict {
	ENGINE_ACCEPT,
	ENGINE_ACCEPT_MODIFIED,
	ENGINE_DROP,
};

struct engine_out {
	uint32_t id;
	enum engine_verdict verdict;
	size_t offset; /* modified packet bytes in engine_outq.bytes */
	size_t len;
};

/* A packet the engine made up (local delivery, bot reply, receipt):
 * bytes [offset, offset + len) of engine_outq.bytes, sent through link. */
struct engine_origin {
	size_t offset;
	size_t len;
	struct egress_link link;
};

struct engine_outq {
	struct engine_out *v;
	size_t n;
	size_t cap;
	struct engine_origin *orig;
	size_t n_orig;
	size_t cap_orig;
	struct bytebuf bytes;
};

/* What the queue says about a packet besides its bytes: where it leaves
 * and which MAC sent it, so the engine can send towards a client itself. */
struct engine_packet_link {
	uint32_t outdev;
	uint32_t physoutdev; /* bridge port, 0 when not bridged */
	bool has_mac;
	uint8_t src_mac[6];
};

void engine_outq_init(struct engine_outq *q);
void engine_outq_clear(struct engine_outq *q);
void engine_outq_free(struct engine_outq *q);

struct policy;
struct router;

/* The test rules (config keys rewrite_test=FROM:TO, drop_test=WORD,
 * inject_test=WORD:TEXT) for callers that build no policy: the engine
 * turns them into one (policy_new_test_rules). */
struct engine_test_rules {
	char *rewrite_from;
	char *rewrite_to;
	char *drop_word;
	char *inject_word;
	char *inject_text;
};

struct engine_config {
	struct flow_config flow;
	double hold_deadline;   /* seconds a packet may be held (DESIGN: 50 ms) */
	uint16_t mss_headroom;  /* SYN MSS lowered by this, so edits may grow segments */
	size_t max_held_packets; /* per direction */
	size_t max_held_bytes;   /* per direction */
	size_t max_held_bytes_total; /* over all flows of this engine */
	struct engine_test_rules rules; /* used only when policy is NULL */
	struct policy *policy; /* not owned; the caller may swap it between packets */
	/* Not owned, may be NULL: where collapsed sequence offsets go so the
	 * tc classifier can keep edited flows alive without the daemon. */
	struct bpf_publish *publish;
	/* Not owned, may be NULL: local routing, the address map and bots.
	 * worker names this engine in the router's registry and mailboxes. */
	struct router *router;
	unsigned worker;
};

void engine_config_defaults(struct engine_config *cfg);

struct engine_stats {
	uint64_t packets;
	uint64_t accepted;     /* unchanged */
	uint64_t modified;     /* sent with new bytes */
	uint64_t dropped;
	uint64_t held;         /* packets that waited for a PDU to complete */
	uint64_t deadline_releases;
	uint64_t bound_releases; /* held too many packets or bytes: released early */
	uint64_t global_bound_releases; /* the engine-wide byte cap released a direction */
	uint64_t edits;        /* stream edits applied */
	uint64_t edits_refused_committed; /* the bytes had already been released */
	uint64_t edits_refused_size;      /* would not fit the path MTU */
	uint64_t edits_refused_encode;    /* the module could not encode the change */
	uint64_t policy_blocked;  /* PDUs policy deleted (or blanked, below) */
	uint64_t policy_blanked;  /* blocked after part was sent: blanked, same length */
	uint64_t notices_injected;
	uint64_t notices_dropped; /* no later PDU to go after before the flow ended */
	uint64_t retransmissions_rebuilt;
	uint64_t segments_capped; /* rebuilt segments cut to fit the path MTU */
	uint64_t duplicates_of_held;
	uint64_t out_of_order_held; /* waited for the hole before them to fill */
	uint64_t mss_clamped;
	uint64_t offsets_published; /* collapsed offsets handed to the classifier */
	uint64_t flows_adopted;     /* picked up again with offsets the classifier kept */
	uint64_t routed_local;        /* messages taken off the wire for a local recipient */
	uint64_t routed_bot;
	uint64_t route_fallbacks;     /* part had gone out already: forwarded instead */
	uint64_t deliveries;          /* messages injected for a local recipient */
	uint64_t deliveries_delayed;  /* waited for the recipient's stream to be free */
	uint64_t deliveries_lost;     /* the recipient's session was gone or could not encode */
	uint64_t receipts_synthesised;
	uint64_t deletions_acked;     /* deleted bytes we acknowledged in the receiver's name */
	uint64_t segments_originated;
	uint64_t origin_retransmits;
	uint64_t origin_given_up;     /* never acknowledged after every retry */
	uint64_t not_tcp;
	uint64_t malformed;
	uint64_t alloc_failures;
};

struct pending_edit;
struct inline_flow;
struct held_packet;
struct deferred_notice;

struct engine {
	struct engine_config cfg;
	struct flow_table flows;
	proto_emit_fn log;
	void *log_arg;
	struct engine_stats stats;
	/* context of the packet being processed, for the event hook */
	struct flow *cur_flow;
	struct engine_outq *cur_out;
	struct pending_edit *pending;
	size_t n_pending;
	size_t cap_pending;
	struct inline_flow *holding; /* flows with held packets */
	struct held_packet *in_hand; /* the packet being processed, while held */
	/* Events of the PDU being decoded, logged once every event of it was
	 * decided: if one of them blocks the PDU, all say filtered (an IRC
	 * DCC SEND line is a message and a file offer). */
	struct im_event *pdu_log;
	size_t n_pdu_log;
	size_t cap_pdu_log;
	bool pdu_blocked;
	size_t held_now;             /* packets held right now, all flows */
	size_t held_bytes_now;       /* and their bytes */
	struct bytebuf scratch; /* the packet being built */
	struct bytebuf payload; /* rebuilt payload, PDU fixups */
	struct bytebuf syn;     /* a SYN with its MSS clamped */
	struct policy *own_policy; /* from cfg.rules when cfg.policy is NULL */
	/* Notices for the local user that wait for the next PDU towards it
	 * (the event that caused them travelled the other way). */
	struct deferred_notice *deferred;
	size_t n_deferred;
	const struct engine_packet_link *cur_link; /* the packet in hand's, may be NULL */
	struct inline_flow *sessions; /* flows the router knows or with our own data */
	bool routing;                 /* a router that may claim events */
	/* PDUs for the client of the flow in hand (receipts, notices), sent
	 * after the packet: at once in our own segments when that direction
	 * is idle, else after its next PDU. */
	struct bytebuf to_client;
	int n_to_client;
	uint64_t to_client_flow;
};

/* log receives every event (after policy, with the original text, as
 * IMSpector logs it). */
int engine_init(struct engine *e, const struct engine_config *cfg, proto_emit_fn log,
		void *log_arg);
void engine_destroy(struct engine *e, struct engine_outq *out);

/* One packet from the queue: ip points at the IP header; gso marks a
 * super-packet the kernel will segment itself. Appends verdicts (this
 * packet's unless it is held, and any released ones) to out. */
void engine_packet(struct engine *e, uint32_t id, const uint8_t *ip, size_t len, bool gso,
		   double now, struct engine_outq *out);

/* The same with what the queue said about the packet (bridge port, MAC):
 * needed to originate segments for local routing and bots. */
void engine_packet_with_link(struct engine *e, uint32_t id, const uint8_t *ip, size_t len,
			     bool gso, const struct engine_packet_link *link, double now,
			     struct engine_outq *out);

/* The router's settings changed (a reload): routing may have been switched
 * on or off. */
void engine_routing_changed(struct engine *e);

/* Deliver what other workers (or this one) posted to this engine's
 * mailbox in the router. */
void engine_take_mail(struct engine *e, double now, struct engine_outq *out);

/* Release what waited past the deadline; expire idle flows; retransmit
 * originated data the receiver did not acknowledge. */
void engine_tick(struct engine *e, double now, struct engine_outq *out);

/* Release every held packet (shutdown, queue trouble). */
void engine_release_all(struct engine *e, struct engine_outq *out);

/* The lowest id among held packets, false when none is held (a batch
 * verdict must stay below it). */
bool engine_lowest_held_id(const struct engine *e, uint32_t *id);

#endif
