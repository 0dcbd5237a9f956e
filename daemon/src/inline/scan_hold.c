#include "inline/scan_hold.h"

#include <string.h>

#include "inline/deliver.h"
#include "inline/origin.h"
#include "inline/release.h"
#include "inline/rewrite.h"

static void apply(struct engine *e, double now, struct engine_outq *out);

static struct files *files_of(const struct engine *e)
{
	return e->flows.cfg.files;
}

uint64_t scan_hold_limit(const struct engine *e, const struct flow_state *fs, enum im_dir dir,
			 uint64_t upto)
{
	uint64_t from;

	if (!files_holding(files_of(e)) ||
	    files_hold_state(files_of(e), fs->flow->id, dir, &from) == FILES_HOLD_NONE)
		return upto;
	return from < upto ? from : upto;
}

bool scan_hold_withheld(const struct engine *e, const struct flow_state *fs, enum im_dir dir,
			uint64_t start, uint64_t end)
{
	uint64_t from;

	(void)start;
	return files_holding(files_of(e)) &&
	       files_hold_state(files_of(e), fs->flow->id, dir, &from) == FILES_HOLD_CUT &&
	       end > from;
}

/* Bytes held now for verdicts, over the engine's flows. */
static uint64_t held_for_verdicts(const struct engine *e)
{
	const struct flow_state *fs;
	uint64_t sum = 0, from;
	int d;

	for (fs = e->holding.head; fs; fs = fs->link[FLOW_LIST_HOLDING].next)
		for (d = 0; d < 2; d++)
			if (fs->dir[d].held.n &&
			    files_hold_state(files_of(e), fs->flow->id, (enum im_dir)d, &from) ==
				    FILES_HOLD_WAIT)
				sum += fs->dir[d].held.bytes;
	return sum;
}

static struct flow_state *state_by_id(struct engine *e, uint64_t flow_id)
{
	struct flow *f;
	int c;

	for (c = 0; c < FLOW_CLASSES; c++)
		for (f = e->flows.lru_head[c]; f; f = f->lru_next)
			if (f->id == flow_id)
				return f->ext;
	return NULL;
}

/* The held packets of a cut transfer never go on. */
static void drop_held(struct engine *e, struct flow_state *fs, enum im_dir dir,
		      struct engine_outq *out)
{
	e->stats.scan_dropped += release_drop_dir(e, fs, dir, out);
	hold_list_update(e, fs);
}

/* Packets of a cut transfer's direction from from on never go on: what
 * lies wholly before it goes on as usual, the rest is dropped. */
static void drop_from(struct engine *e, struct flow_state *fs, enum im_dir dir, uint64_t from,
		      struct engine_outq *out)
{
	release_upto(e, fs, dir, from, true, NULL, out);
	drop_held(e, fs, dir, out);
}

void scan_hold_yield(struct engine *e, struct flow_state *fs, enum im_dir dir, uint64_t upto,
		     struct engine_outq *out)
{
	struct files *files = files_of(e);
	enum files_hold st;
	uint64_t from;

	if (!files_holding(files))
		return;
	st = files_hold_state(files, fs->flow->id, dir, &from);
	if (st == FILES_HOLD_NONE || upto <= from)
		return;
	if (st == FILES_HOLD_WAIT) {
		/* No verdict can come in time for it: scan_fail decides now,
		 * and the decision is carried out (the user told, both ends
		 * reset) with the others, at the next settle or tick. */
		e->stats.scan_yields++;
		files_hold_overflow(files, fs->flow->id, dir);
		st = files_hold_state(files, fs->flow->id, dir, &from);
	}
	if (st == FILES_HOLD_CUT)
		drop_from(e, fs, dir, from, out);
}

void engine_judge_files(struct engine *e, double now, struct engine_outq *out)
{
	if (!files_holding(files_of(e)))
		return;
	files_drain(files_of(e));
	apply(e, now, out);
}

/* The user of the session that offered the file is told (a system
 * notice, encoded by that session's module, towards its client). */
static void tell_user(struct engine *e, const struct files_decision *d, double now,
		      struct engine_outq *out)
{
	uint64_t offer_flow = d->offer_flow;
	const char *text = d->notice;
	struct flow_state *fs = offer_flow ? state_by_id(e, offer_flow) : NULL;
	struct policy_decision notice;
	struct im_event ev;
	struct rewrite rw;
	struct bytebuf b;
	struct app_flow *af = fs ? fs->flow->app : NULL;

	if (!af || af->state != APP_DECODING || !text)
		return; /* on another worker, or gone: the log says it */
	event_init(&ev);
	ev.proto = af->session.module->id;
	ev.flow_id = offer_flow;
	if (!event_set_str(&ev.local, af->session.local_id ? af->session.local_id : "") ||
	    !event_set_str(&ev.remote, d->remote ? d->remote : "") ||
	    /* the session's copy: af->client is let go once a session decodes */
	    !event_set_str(&ev.client, af->session.client ? af->session.client : "")) {
		event_free(&ev);
		e->stats.alloc_failures++;
		return;
	}
	memset(&notice, 0, sizeof(notice));
	memset(&rw, 0, sizeof(rw));
	rw.st = &e->stats;
	rw.s = &af->session;
	rw.ev = &ev;
	bytebuf_init(&b);
	if (rewrite_message(&rw, IM_DIR_IN, text, &notice, &b) &&
	    deliver_to_client(e, fs, b.data, b.len, 1, now, out) >= 0)
		e->stats.notices_injected++;
	bytebuf_free(&b);
	event_free(&ev);
}

static void cut(struct engine *e, const struct files_decision *d, double now,
		struct engine_outq *out)
{
	struct flow_state *fs = state_by_id(e, d->flow_id);

	e->stats.scan_cuts++;
	if (fs) {
		struct origin_io io = engine_origin_io(e, out);

		drop_held(e, fs, d->dir, out);
		/* Both ends learn at once instead of waiting for bytes that never come. */
		if (origin_reset(fs, d->dir, &io) == 0)
			e->stats.scan_resets++;
		if (origin_reset(fs, !d->dir, &io) == 0)
			e->stats.scan_resets++;
	}
	tell_user(e, d, now, out);
}

static void apply(struct engine *e, double now, struct engine_outq *out)
{
	struct files_decision *d;
	struct flow_state *fs;
	size_t n, i;

	d = files_take_decisions(files_of(e), &n);
	for (i = 0; i < n; i++) {
		if (d[i].cut) {
			cut(e, &d[i], now, out);
			continue;
		}
		e->stats.scan_releases++;
		fs = state_by_id(e, d[i].flow_id);
		if (fs) {
			release_upto(e, fs, d[i].dir, scan_hold_limit(e, fs, d[i].dir, UINT64_MAX),
				     false, NULL, out);
			hold_list_update(e, fs);
		}
	}
	files_decisions_free(d, n);
}

void scan_hold_settle(struct engine *e, struct flow_state *fs, enum im_dir dir, double now,
		      struct engine_outq *out)
{
	uint64_t from, held;

	if (!files_holding(files_of(e)))
		return;
	/* On the engine's list before the count, or its own bytes are missed. */
	hold_list_update(e, fs);
	if (fs->dir[dir].held.n &&
	    files_hold_state(files_of(e), fs->flow->id, dir, &from) == FILES_HOLD_WAIT) {
		/* Past the budget the newcomer is decided now and never counted:
		 * what is held for verdicts stays within it. */
		held = held_for_verdicts(e);
		if (held > files_hold_budget(files_of(e)))
			files_hold_overflow(files_of(e), fs->flow->id, dir);
		else if (held > e->stats.scan_held_bytes_peak)
			e->stats.scan_held_bytes_peak = held;
	}
	apply(e, now, out);
}

void scan_hold_tick(struct engine *e, double now, struct engine_outq *out)
{
	if (!files_of(e))
		return;
	files_poll(files_of(e));
	if (files_holding(files_of(e)))
		apply(e, now, out);
}
