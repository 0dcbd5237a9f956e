/* The decision unit: where decoded events meet policy and routing.
 *
 * The flow table calls decide_event for every event its decoders emit and
 * decide_pdu after every complete PDU (they are its emit and pdu_seen
 * callbacks). Each event runs through the routing table's handlers (one
 * runner for policy and routing, route/route.h); the outcome becomes
 * effects (effects.h), encoded by the event's protocol module while its
 * PDU is at hand: a rewritten or blanked PDU, a deleted one, messages
 * inserted after it, a message delivered to another session, receipts
 * and notices for the sender's client, and the event to log.
 *
 * Only events of the flow whose packet is being fed can change a stream:
 * the engine names it with decide_begin and takes the effects back with
 * decide_end, then applies them. Events outside a feed (a flow flushed
 * when it is closed, expired or evicted) are logged at once. Nothing here
 * touches a held packet, a sequence map or the output queue. */
#ifndef IMW_INLINE_DECIDE_H
#define IMW_INLINE_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "inline/counters.h"
#include "inline/effects.h"
#include "inline/flow_state.h"
#include "inline/notices.h"

struct route_table;
struct router;

struct decider {
	struct route_table *table; /* not owned: the caller may swap it between packets */
	struct router *router;     /* not owned, may be NULL: no sessions, no deliveries */
	unsigned worker;           /* this engine's index in the router */
	bool routing;              /* the router's handlers may claim events */
	proto_emit_fn log;
	void *log_arg;
	struct engine_stats *st;
	/* Notices waiting for a PDU towards their client: filled and emptied
	 * while decoding, since such a PDU may complete in the same feed. */
	struct notice_queue *notices;
	/* The feed in progress (decide_begin .. decide_end). */
	struct flow_state *fs;
	bool can_send;       /* the packet came with link facts: we can send to its client */
	struct effects fx;
	size_t pdu_logs;     /* where the current PDU's log effects begin */
	bool pdu_blocked;    /* an event of the current PDU was blocked */
};

void decide_init(struct decider *dc, struct engine_stats *st, struct notice_queue *notices,
		 proto_emit_fn log, void *log_arg);
void decide_free(struct decider *dc);

/* True when some handler may change a stream: the engine then holds the
 * packets of partial PDUs, and modules avoid what whole-PDU edits break. */
bool decide_may_edit(const struct decider *dc);

void decide_begin(struct decider *dc, struct flow_state *fs, bool can_send);
/* The effects of the feed, for the caller to apply and effects_clear. */
struct effects *decide_end(struct decider *dc);

/* The flow table's callbacks (arg: the decider). */
void decide_event(void *arg, const struct im_event *ev);
void decide_pdu(void *arg, struct app_flow *af, enum im_dir dir, uint64_t offset,
		const uint8_t *pdu, size_t len);

#endif
