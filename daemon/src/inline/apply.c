/* What deciding a packet's events asked for, carried out (apply.h). */
#include "inline/apply.h"

#include "inline/commit.h"
#include "inline/deliver.h"
#include "inline/edits.h"
#include "inline/origin.h"
#include "inline/sessions.h"
#include "route/router.h"

/* A policy's edit at `at` of fx was refused (why): its fallback, if it
 * has one, goes instead, and the event of its PDU is marked so the
 * failure is logged beside it (a policy is never bypassed silently). */
static void apply_fallback(struct engine *e, struct flow_state *fs, struct effects *fx, size_t at,
			   enum edit_result why)
{
	const struct effect *ef = &fx->v[at];
	const struct effect_fallback *fb = &ef->fallback;
	bool sent = why == EDIT_REFUSED_COMMITTED;
	const char *what;
	size_t i;

	if (edit_apply(&fs->dir[ef->dir], fb->start, fb->end, fb->bytes,
		       (size_t)(fb->end - fb->start), 1) == EDIT_APPLIED) {
		e->stats.policy_fallbacks++;
		commit_mark_map(e, fs, ef->dir);
		what = sent ? "edit refused (part of the message had gone out): the rest went "
			      "rewritten at its length"
			    : "edit refused (it would not fit the path): the message went rewritten "
			      "at its length";
	} else {
		e->stats.policy_unenforced++;
		what = sent ? "edit refused (the message had gone out): not enforced"
			    : "edit refused (it would not fit the path): not enforced";
	}
	for (i = at + 1; i < fx->n; i++) {
		struct effect *l = &fx->v[i];

		if (l->kind == EFFECT_LOG && l->ev.dir == ef->dir && l->ev.pdu_len &&
		    l->ev.pdu_offset <= ef->start && ef->start <= l->ev.pdu_offset + l->ev.pdu_len) {
			l->policy_failure = what;
			break;
		}
	}
}

/* How many segments a held packet of dir may leave as (edits.h): when we
 * can send segments towards its receiver, the rest follows at once;
 * else only what the sender's retransmission can bring. */
static size_t split_segments(const struct flow_state *fs, enum im_dir dir)
{
	struct egress_link link;

	return origin_link(fs, dir, &link) ? EDIT_SPLIT_SEGMENTS : EDIT_SPLIT_BY_SENDER;
}

static void apply_edit(struct engine *e, struct flow_state *fs, struct effects *fx, size_t at)
{
	const struct effect *ef = &fx->v[at];
	enum edit_result r = edit_apply(&fs->dir[ef->dir], ef->start, ef->end, ef->bytes, ef->len,
					split_segments(fs, ef->dir));

	switch (r) {
	case EDIT_APPLIED:
		e->stats.edits++;
		commit_mark_map(e, fs, ef->dir);
		flow_state_pdus_changed(fs, ef->dir, ef->pdu_delta);
		return;
	case EDIT_REFUSED_COMMITTED:
		e->stats.edits_refused_committed++;
		break;
	case EDIT_REFUSED_SIZE:
		e->stats.edits_refused_size++;
		break;
	case EDIT_FAILED:
		e->stats.alloc_failures++;
		return;
	}
	if (ef->fallback.set)
		apply_fallback(e, fs, fx, at, r);
}

/* The event, then the policy failure on its PDU as an event of its own:
 * the message's identities, kind policy_failure, the text saying what
 * happened and the message's text. */
static void log_effect(struct engine *e, const struct effect *ef)
{
	struct im_event f;
	struct bytebuf text;

	e->log(e->log_arg, &ef->ev);
	if (!ef->policy_failure)
		return;
	bytebuf_init(&text);
	if (!event_copy(&f, &ef->ev)) {
		e->stats.alloc_failures++;
		return;
	}
	f.kind = IM_KIND_POLICY_FAILURE;
	f.filtered = true;
	if (bytebuf_append_str(&text, ef->policy_failure) && bytebuf_append_str(&text, ": ") &&
	    bytebuf_append_str(&text, ef->ev.text ? ef->ev.text : "") &&
	    event_set(&f.text, (const char *)text.data, text.len))
		e->log(e->log_arg, &f);
	else
		e->stats.alloc_failures++;
	bytebuf_free(&text);
	event_free(&f);
}

/* What deciding the packet's events asked for (effects.h), in order. */
void apply_effects(struct engine *e, struct flow_state *fs, struct effects *fx,
			  struct reply *reply)
{
	size_t i;

	for (i = 0; i < fx->n; i++) {
		struct effect *ef = &fx->v[i];

		switch (ef->kind) {
		case EFFECT_EDIT:
			apply_edit(e, fs, fx, i);
			break;
		case EFFECT_DELIVER:
			router_post_reserved(e->cfg.router, ef->worker, ef->flow_id, &ef->ev);
			break;
		case EFFECT_REPLY:
			if (bytebuf_append(&reply->bytes, ef->bytes, ef->len))
				reply->pdus += ef->pdus;
			else
				e->stats.alloc_failures++;
			break;
		case EFFECT_LOG:
			if (e->log)
				log_effect(e, ef);
			break;
		}
	}
	if (fx->track)
		sessions_track(&e->sessions, fs);
	effects_clear(fx);
}

/* Receipts and notices the packet's events asked for. */
void apply_send_replies(struct engine *e, struct flow_state *fs, struct reply *reply, double now,
			 struct engine_outq *out)
{
	if (reply->pdus) {
		sessions_track(&e->sessions, fs);
		if (deliver_to_client(e, fs, reply->bytes.data, reply->bytes.len, reply->pdus, now,
				      out) < 0)
			e->stats.notices_dropped += (uint64_t)reply->pdus; /* the flow ended */
	}
	bytebuf_free(&reply->bytes);
}
