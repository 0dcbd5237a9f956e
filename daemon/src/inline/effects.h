/* What deciding one packet's events asks for, in the order it was
 * decided. The decision unit (decide.h) only appends here while the
 * packet's bytes are decoded; the engine applies the list after feeding,
 * each kind by the unit whose job it is:
 *
 *   EFFECT_EDIT     replace input [start, end) of a direction of the
 *                   packet's flow by bytes (edits.h); pdu_delta whole PDUs
 *                   went (-1) or came (+n), which stateful protocols
 *                   renumber for
 *   EFFECT_DELIVER  hand ev to the worker owning a session (a slot in its
 *                   mailbox was reserved when this was decided, so the
 *                   hand-over cannot fail)
 *   EFFECT_REPLY    PDUs for the local client of the packet's flow
 *                   (receipts, notices), sent after the packet in
 *                   segments of our own (origin.h)
 *   EFFECT_LOG      write ev, as decided (filtered, route)
 *
 * track asks the engine to keep the packet's flow findable (a message was
 * taken off its wire: a bot may answer through it). */
#ifndef IMW_INLINE_EFFECTS_H
#define IMW_INLINE_EFFECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

enum effect_kind {
	EFFECT_EDIT,
	EFFECT_DELIVER,
	EFFECT_REPLY,
	EFFECT_LOG,
};

/* What an edit a policy asked for becomes when it cannot be made (its
 * bytes went out already, or it would not fit the path): a same-length
 * edit of the same PDU, which still enforces the rule (rewrite.h). */
struct effect_fallback {
	bool set;
	uint64_t start;
	uint64_t end;
	uint8_t *bytes; /* end - start bytes (owned) */
};

struct effect {
	enum effect_kind kind;
	enum im_dir dir;   /* EDIT */
	uint64_t start;    /* EDIT */
	uint64_t end;
	int pdu_delta;     /* EDIT */
	uint8_t *bytes;    /* EDIT, REPLY, LOG: its event's strings (owned) */
	size_t len;
	struct effect_fallback fallback; /* EDIT, of a policy */
	/* LOG: a policy's edit of the event's PDU was refused; what happened
	 * instead (a static string), logged as an event of its own. */
	const char *policy_failure;
	int pdus;          /* REPLY: whole PDUs in bytes */
	uint64_t flow_id;  /* DELIVER */
	unsigned worker;   /* DELIVER */
	struct im_event ev; /* DELIVER (owned), LOG (strings in bytes) */
};

struct effects {
	struct effect *v;
	size_t n;
	size_t cap;
	bool track;
};

void effects_init(struct effects *fx);
/* Frees what every effect owns and empties the list. */
void effects_clear(struct effects *fx);
void effects_free(struct effects *fx);

/* Each returns false when out of memory (nothing was added). */
/* An edit of [start, end) of dir, unless one of exactly that range is
 * there already: one PDU, several events, the first decision stands
 * (true then too). */
bool effects_edit(struct effects *fx, enum im_dir dir, uint64_t start, uint64_t end,
		  const uint8_t *bytes, size_t len, int pdu_delta);
/* Give the edit at index at (an EDIT without one) its same-length
 * fallback: [start, end) becomes bytes (end - start of them). False when
 * out of memory. */
bool effects_fallback(struct effects *fx, size_t at, uint64_t start, uint64_t end,
		      const uint8_t *bytes);
/* True when an edit of dir touches [start, end]. */
bool effects_edit_near(const struct effects *fx, enum im_dir dir, uint64_t start, uint64_t end);
/* ev is moved in (left empty). */
bool effects_deliver(struct effects *fx, unsigned worker, uint64_t flow_id, struct im_event *ev);
bool effects_reply(struct effects *fx, const uint8_t *bytes, size_t len, int pdus);
/* A copy of ev to log, at position `at` of the list (fx->n: at the end). */
bool effects_log(struct effects *fx, size_t at, const struct im_event *ev);

#endif
