#include "inline/decide.h"
#include "inline/rewrite.h"

#include <stdlib.h>
#include <string.h>

#include "event/address.h"
#include "policy/policy.h"
#include "route/route.h"
#include "route/router.h"

void decide_init(struct decider *dc, struct engine_stats *st, struct notice_queue *notices,
		 proto_emit_fn log, void *log_arg)
{
	memset(dc, 0, sizeof(*dc));
	dc->st = st;
	dc->notices = notices;
	dc->log = log;
	dc->log_arg = log_arg;
	effects_init(&dc->fx);
}

void decide_free(struct decider *dc)
{
	effects_free(&dc->fx);
}

bool decide_may_edit(const struct decider *dc)
{
	return dc->routing || route_table_may_edit(dc->table);
}

void decide_begin(struct decider *dc, struct flow_state *fs, bool can_send)
{
	dc->fs = fs;
	dc->can_send = can_send;
	dc->pdu_logs = dc->fx.n;
	dc->pdu_blocked = false;
}

static bool event_injected(const struct im_event *ev)
{
	return ev->action && strcmp(ev->action, EVENT_ACTION_INJECTED) == 0;
}

/* Every event of the PDU has been decided: if one of them blocked it, all
 * are logged as filtered (an IRC DCC SEND line is a message and a file
 * offer). */
static void close_pdu(struct decider *dc)
{
	size_t i;

	if (dc->pdu_blocked)
		for (i = dc->pdu_logs; i < dc->fx.n; i++)
			if (dc->fx.v[i].kind == EFFECT_LOG && !event_injected(&dc->fx.v[i].ev)) {
				dc->fx.v[i].ev.filtered = true;
				dc->fx.v[i].ev.action = EVENT_ACTION_BLOCKED;
			}
	dc->pdu_logs = dc->fx.n;
	dc->pdu_blocked = false;
}

struct effects *decide_end(struct decider *dc)
{
	close_pdu(dc);
	dc->fs = NULL;
	return &dc->fx;
}

/* Outside a feed an event is written at once. Inside, its log waits with
 * the effects: one of its PDU (in_pdu) until the PDU is decided whole,
 * any other in the place it would have been written at once. */
static void log_event(struct decider *dc, const struct im_event *ev, bool in_pdu)
{
	if (dc->fs && effects_log(&dc->fx, in_pdu ? dc->fx.n : dc->pdu_logs, ev)) {
		if (!in_pdu)
			dc->pdu_logs++;
		return;
	}
	if (dc->fs)
		dc->st->alloc_failures++; /* no memory to wait: logged as decided so far */
	if (dc->log)
		dc->log(dc->log_arg, ev);
}

/* ---- local routing -------------------------------------------------- */

/* A message for the owner of a session, with a slot in its worker's
 * mailbox: delivered after the feed, it cannot be lost on the way. */
static bool deliver(struct decider *dc, unsigned worker, uint64_t flow_id, struct im_event *msg)
{
	if (!dc->router || router_reserve(dc->router, worker) < 0)
		return false;
	if (!effects_deliver(&dc->fx, worker, flow_id, msg)) {
		router_unreserve(dc->router, worker);
		return false;
	}
	return true;
}

struct bot_reply_ctx {
	struct decider *dc;
	const struct im_event *ev;
};

/* A bot's reply goes to the user's own session, as if the bot had
 * written it through the server. */
static void post_bot_reply(void *arg, const char *text)
{
	struct bot_reply_ctx *c = arg;
	const struct im_event *ev = c->ev;
	struct im_event msg;

	event_init(&msg);
	msg.ts = ev->ts;
	msg.proto = ev->proto;
	msg.dir = IM_DIR_IN;
	msg.kind = IM_KIND_MESSAGE;
	msg.content_type = "text/plain";
	msg.route = route_outcome_name(ROUTE_INJECTED);
	/* The archive: made up by imwired; the session that gets it logs it. */
	msg.action = EVENT_ACTION_INJECTED;
	if (!event_set_str(&msg.local, ev->local) || !event_set_str(&msg.remote, ev->remote) ||
	    !event_set_str(&msg.text, text) || !event_set_str(&msg.rule, "bot") ||
	    !(msg.route_to = address_format(ev->proto, ev->local)) ||
	    !deliver(c->dc, c->dc->worker, ev->flow_id, &msg))
		c->dc->st->alloc_failures++;
	event_free(&msg);
}

/* The message the recipient's worker will encode and inject. */
static bool deliver_to_session(struct decider *dc, struct proto_session *s,
			       const struct im_event *ev, const struct route_ctx *rc,
			       const char *text)
{
	const struct route_target *t = &rc->target;
	struct im_event msg;
	bool ok;

	event_init(&msg);
	msg.ts = ev->ts;
	msg.proto = t->session.proto;
	msg.dir = IM_DIR_IN;
	msg.kind = IM_KIND_MESSAGE;
	msg.content_type = ev->content_type;
	msg.route = route_outcome_name(ROUTE_LOCAL);
	msg.action = EVENT_ACTION_INJECTED; /* the archive: imwired wrote it to the recipient */
	ok = event_set_str(&msg.local, t->session.local_id) &&
	     event_set_str(&msg.remote, t->as_remote) && event_set_str(&msg.text, text) &&
	     event_set_str(&msg.route_to, t->to) &&
	     /* The sender's full address means something only on its own service. */
	     (t->session.proto != ev->proto || !s->local_address ||
	      event_set_str(&msg.remote_address, s->local_address)) &&
	     deliver(dc, t->session.worker, t->session.flow_id, &msg);
	event_free(&msg);
	return ok;
}

/* A message the routing stage sent to a local session or a bot: it leaves
 * the sender's server-bound stream, whole, or not at all. */
static bool take_routed(struct decider *dc, struct proto_session *s, const struct im_event *ev,
			struct route_ctx *rc)
{
	const char *text = rc->decision.action == POLICY_REPLACE_TEXT && rc->decision.text
				   ? rc->decision.text
				   : ev->text;
	struct bot_reply_ctx bc = { dc, ev };
	struct bytebuf receipt;
	int n = 0;
	bool taken = false;

	if (ev->pdu_offset < dc->fs->dir[ev->dir].released_end) {
		dc->st->route_fallbacks++;
		return false;
	}
	/* What the sender's client would have heard from its server: a
	 * message whose receipt cannot be made goes to the server after all,
	 * or the client would wait for it forever. */
	bytebuf_init(&receipt);
	if (s->module->local_receipt &&
	    (n = s->module->local_receipt(s, ev, ev->pdu_data, ev->pdu_len, &receipt)) < 0) {
		dc->st->route_fallbacks++;
		goto out;
	}
	if (rc->target.kind == ROUTE_TARGET_SESSION) {
		if (!deliver_to_session(dc, s, ev, rc, text)) {
			dc->st->deliveries_lost++;
			goto out;
		}
		dc->st->routed_local++;
	} else {
		route_bot_answer(rc, post_bot_reply, &bc);
		dc->st->routed_bot++;
	}
	dc->fx.track = true;
	rewrite_edit(&dc->fx, dc->st, ev->dir, ev->pdu_offset, ev->pdu_offset + ev->pdu_len, NULL, 0,
		     -1);
	if (n > 0) {
		if (effects_reply(&dc->fx, receipt.data, receipt.len, n))
			dc->st->receipts_synthesised += (uint64_t)n;
		else
			dc->st->alloc_failures++;
	}
	taken = true;
out:
	bytebuf_free(&receipt);
	return taken;
}

/* ---- policy --------------------------------------------------------- */

/* Notices for the local client that travel the other way than ev: at
 * once in segments of our own when we can send, else after the next PDU
 * towards it. */
static void notify_client(struct decider *dc, const struct im_event *ev,
			  const struct bytebuf *notices, int n)
{
	if (dc->can_send && effects_reply(&dc->fx, notices->data, notices->len, n)) {
		dc->st->notices_injected += (uint64_t)n;
		return;
	}
	/* Into the queue now, not after the feed: a PDU towards the client
	 * may complete in this very feed (a gap the packet's ack revealed
	 * lets the other direction's bytes through). */
	notices_defer(dc->notices, ev->flow_id, notices->data, notices->len, n, dc->st);
}

static void apply_action(const struct rewrite *rw, uint64_t released_end,
			 const struct policy_decision *d, struct bytebuf *after, int *n_after)
{
	const struct im_event *ev = rw->ev;
	struct bytebuf with;

	switch (d->action) {
	case POLICY_PASS:
		break;
	case POLICY_REPLACE_TEXT:
		if (ev->kind == IM_KIND_MESSAGE)
			rewrite_text(rw, d->text);
		break;
	case POLICY_BLOCK:
		if (ev->dir == IM_DIR_IN && *n_after && ev->pdu_offset >= released_end) {
			/* What follows takes the blocked PDU's place. */
			rewrite_block(rw, released_end, after, *n_after);
			*n_after = 0;
		} else {
			rewrite_block(rw, released_end, NULL, 0);
		}
		break;
	case POLICY_REPLACE_PDU:
		with.data = d->pdu;
		with.len = d->pdu_len;
		with.cap = d->pdu_len;
		rewrite_block(rw, released_end, &with, 1);
		break;
	}
}

/* What the policy decided for an event of the fed flow that stays on its
 * wire: messages after the PDU (same direction), notices for the local
 * client, and the PDU's own fate. */
static void apply_policy(struct decider *dc, struct proto_session *s, const struct im_event *ev,
			 const struct policy_decision *d)
{
	struct rewrite rw = { &dc->fx, dc->st, s, ev, false, 0 };
	uint64_t end = ev->pdu_offset + ev->pdu_len;
	struct bytebuf after, notices;
	int n_after = 0, n_notices = 0;
	size_t i;

	bytebuf_init(&after);
	bytebuf_init(&notices);
	if (d->inject_after && rewrite_message(&rw, ev->dir, d->inject_after, NULL, &after))
		n_after++;
	for (i = 0; i < d->n_notices; i++)
		if (rewrite_message(&rw, IM_DIR_IN, d->notices[i], d, &notices))
			n_notices++;
	/* Towards the remote party: after this PDU, which is outgoing. */
	for (i = 0; ev->dir == IM_DIR_OUT && i < d->n_remote_notices; i++) {
		if (rewrite_message(&rw, IM_DIR_OUT, d->remote_notices[i], d, &after)) {
			n_after++;
			dc->st->notices_injected++;
		}
	}
	/* Towards the local client the notices ride with this PDU. */
	if (ev->dir == IM_DIR_IN && n_notices) {
		if (!bytebuf_append(&after, notices.data, notices.len))
			dc->st->alloc_failures++;
		else
			n_after += n_notices;
		dc->st->notices_injected += (uint64_t)n_notices;
		n_notices = 0;
	}
	apply_action(&rw, dc->fs->dir[ev->dir].released_end, d, &after, &n_after);
	if (n_after)
		rewrite_edit(&dc->fx, dc->st, ev->dir, end, end, after.data, after.len, n_after);
	if (n_notices)
		notify_client(dc, ev, &notices, n_notices);
	bytebuf_free(&after);
	bytebuf_free(&notices);
}

/* The notices apply_policy put on the wire (or queued for the next PDU
 * towards the client), each an injected event of its own, after the
 * event that caused them. */
static void log_notices(struct decider *dc, const struct im_event *ev,
			const struct policy_decision *d)
{
	struct im_event notice;
	size_t i;

	for (i = 0; i < d->n_notices; i++) {
		policy_notice_event(d, ev, i, false, &notice);
		log_event(dc, &notice, true);
	}
	for (i = 0; ev->dir == IM_DIR_OUT && i < d->n_remote_notices; i++) {
		policy_notice_event(d, ev, i, true, &notice);
		log_event(dc, &notice, true);
	}
}

/* ---- the flow table's callbacks ----------------------------------------- */

void decide_event(void *arg, const struct im_event *ev)
{
	struct decider *dc = arg;
	struct flow *f = dc->fs ? dc->fs->flow : NULL;
	bool editable = f && f->id == ev->flow_id && f->app && ev->pdu_data;
	struct proto_session *s = editable ? &f->app->session : NULL;
	struct im_event logged = *ev;
	struct route_ctx rc;

	if (!dc->table && !dc->routing) {
		log_event(dc, ev, editable);
		return;
	}
	route_table_run(dc->table, dc->worker, ev, &rc);
	/* The log keeps the original text, as IMSpector does; the archive's
	 * fields say what was done with it (action, rule, delivered_text). */
	policy_decision_mark(&rc.decision, &logged);
	if (editable && rc.outcome == ROUTE_LOCAL && !take_routed(dc, s, ev, &rc))
		rc.outcome = ROUTE_FORWARDED;
	if (editable && rc.outcome != ROUTE_LOCAL)
		apply_policy(dc, s, ev, &rc.decision);
	if (dc->routing) {
		logged.route = route_outcome_name(rc.outcome);
		logged.route_to = rc.outcome == ROUTE_LOCAL ? rc.target.to : NULL;
		if (rc.outcome == ROUTE_LOCAL)
			logged.action = EVENT_ACTION_ROUTED;
		else if (rc.outcome == ROUTE_DROPPED && !logged.action)
			logged.action = EVENT_ACTION_DROPPED;
	}
	if (rc.decision.action == POLICY_BLOCK && editable)
		dc->pdu_blocked = true;
	log_event(dc, &logged, editable);
	if (editable && rc.outcome != ROUTE_LOCAL)
		log_notices(dc, ev, &rc.decision);
	route_ctx_free(&rc);
}

/* A notice waiting for this flow goes right after a complete PDU towards
 * the local client, unless that PDU is being edited itself. */
static void place_notice(struct decider *dc, uint64_t flow_id, uint64_t offset, size_t len)
{
	const struct deferred_notice *dn = notices_first(dc->notices, flow_id);

	if (!dn || effects_edit_near(&dc->fx, IM_DIR_IN, offset, offset + len))
		return;
	rewrite_edit(&dc->fx, dc->st, IM_DIR_IN, offset + len, offset + len, dn->bytes, dn->len,
		     dn->pdus);
	dc->st->notices_injected += (uint64_t)dn->pdus;
	notices_remove(dc->notices, dn); /* one insertion per point */
}

/* Stateful protocols renumber every later PDU after an insertion or a
 * deletion (OSCAR FLAP sequence numbers): a same-length edit each. */
void decide_pdu(void *arg, struct app_flow *af, enum im_dir dir, uint64_t offset,
		const uint8_t *pdu, size_t len)
{
	struct decider *dc = arg;
	struct proto_session *s = &af->session;
	bool fed = dc->fs && dc->fs->flow->app == af;
	struct bytebuf fixed;

	close_pdu(dc);
	if (decide_may_edit(dc))
		s->edits_possible = true;
	if (dir == IM_DIR_IN && fed)
		place_notice(dc, dc->fs->flow->id, offset, len);
	if (!s->module->fixup_pdu || !fed)
		return;
	bytebuf_init(&fixed);
	if (!bytebuf_append(&fixed, pdu, len))
		dc->st->alloc_failures++;
	else if (s->module->fixup_pdu(s, dir, fixed.data, len))
		rewrite_edit(&dc->fx, dc->st, dir, offset, offset + len, fixed.data, len, 0);
	bytebuf_free(&fixed);
}
