/* Inside the engine: what deciding a packet's events asked for
 * (effects.h), carried out after the feed, in order: an edit goes into
 * its direction's sequence map (edits.h), or its enforcing fallback with
 * the policy failure marked on its event when the edit is refused; a
 * delivery goes to the recipient's worker; a reply (receipts, notices)
 * is gathered for the flow's client; an event is logged, then its policy
 * failure as an event of its own (a policy is never bypassed silently).
 * The gathered replies leave in one range of our own segments
 * (apply_send_replies, deliver.h). */
#ifndef IMW_INLINE_APPLY_H
#define IMW_INLINE_APPLY_H

#include "inline/effects.h"
#include "inline/engine.h"
#include "util/bytebuf.h"

/* PDUs the packet's events asked to send to its flow's client (receipts,
 * notices), gathered so they leave in one range of our own segments. */
struct reply {
	struct bytebuf bytes;
	int pdus;
};

/* Carry out fx's effects on fs in order (fx is cleared); replies are
 * gathered in reply. */
void apply_effects(struct engine *e, struct flow_state *fs, struct effects *fx,
		   struct reply *reply);
/* Send the gathered replies to fs's client, then free them. */
void apply_send_replies(struct engine *e, struct flow_state *fs, struct reply *reply, double now,
			struct engine_outq *out);

#endif
