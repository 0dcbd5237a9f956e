/* What a policy decision asks of one PDU, encoded by the PDU's protocol
 * module while the PDU is at hand (its bytes live only during the decoder's
 * callback), as stream edits appended to the effects of the feed: the
 * text rewritten, the PDU deleted or replaced, or, when its start went out
 * already, blanked at the same length (DESIGN, Holding); new message PDUs
 * for insertions. Only the bytes that differ are edited.
 *
 * An edit that changes the PDU's length may still be refused when it is
 * applied (a segment went out behind a hole, or it would not fit the
 * path), so each comes with a same-length fallback that still enforces
 * the rule (effects_fallback): a rewritten text is the rule's text fitted
 * to the original's length (cut at a character boundary, or padded with
 * spaces), a deleted PDU has its text blanked; where the module cannot
 * keep the length that way, the raw text bytes become spaces. */
#ifndef IMW_INLINE_REWRITE_H
#define IMW_INLINE_REWRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "event/event.h"
#include "inline/counters.h"
#include "inline/effects.h"
#include "policy/policy.h"
#include "proto/proto.h"
#include "util/bytebuf.h"

struct rewrite {
	struct effects *fx;
	struct engine_stats *st;
	struct proto_session *s;   /* the event's session: its module encodes */
	const struct im_event *ev; /* the event, with its PDU at hand */
	/* Encoding a fallback: the edit goes to the fallback of the edit at
	 * fallback_of instead of being appended. */
	bool fallback;
	size_t fallback_of;
};

/* An edit effect, counted as an allocation failure when it cannot be kept. */
void rewrite_edit(struct effects *fx, struct engine_stats *st, enum im_dir dir, uint64_t start,
		  uint64_t end, const uint8_t *bytes, size_t len, int pdu_delta);

/* The PDU re-encoded with new_text. */
void rewrite_text(const struct rewrite *rw, const char *new_text);

/* A new message PDU with text in direction dir appended to out, built from
 * the event's neutral fields; false when the module cannot build one.
 * With notice (the decision it comes from), a system notice
 * (im_event.notice), from the decision's notice_from when it names one. */
bool rewrite_message(const struct rewrite *rw, enum im_dir dir, const char *text,
		     const struct policy_decision *notice, struct bytebuf *out);

/* The PDU goes (replacement, pdus whole PDUs, takes its place) when none
 * of it is before released_end; else its text is blanked. */
void rewrite_block(const struct rewrite *rw, uint64_t released_end,
		   const struct bytebuf *replacement, int pdus);

#endif
