/* Writing and publishing what a successor needs before the verdicts that
 * need it (commit.h). */
#include "inline/commit.h"

#include <stdlib.h>
#include <string.h>

#include "inline/handover.h"

static bool publishing(const struct engine *e)
{
	return e->cfg.publish && e->cfg.publish->xlate_fd >= 0;
}

static bool recording(const struct engine *e)
{
	return publishing(e) && e->cfg.handover && e->cfg.handover->open;
}

static enum imw_proto flow_proto(const struct flow *f)
{
	return f->app && f->app->state == APP_DECODING ? f->app->session.module->id
						       : IMW_PROTO_NONE;
}

static const struct proto_session *session_of(const struct flow_state *fs)
{
	const struct app_flow *app = fs->flow->app;

	return app && app->state == APP_DECODING ? &app->session : NULL;
}

void commit_keep(struct engine *e, struct flow_state *fs)
{
	flow_list_add(&e->handed, fs, FLOW_LIST_HANDOVER);
}

/* The flow's record is to be written again before the next verdict. Its
 * bookkeeping is made with the first record; without memory for it the
 * record is counted unsaved (the offsets are still published). */
static void mark_pending(struct engine *e, struct flow_state *fs)
{
	if (flow_state_told(fs))
		fs->told->hov.pending = true;
	else
		e->stats.records_unsaved++;
}

void commit_mark_map(struct engine *e, struct flow_state *fs, enum im_dir dir)
{
	if (!publishing(e))
		return;
	fs->dir[dir].publish_pending = true;
	if (recording(e))
		mark_pending(e, fs);
	flow_list_add(&e->commit, fs, FLOW_LIST_COMMIT);
	commit_keep(e, fs);
}

void commit_mark_record(struct engine *e, struct flow_state *fs)
{
	if (!recording(e))
		return;
	mark_pending(e, fs);
	flow_list_add(&e->commit, fs, FLOW_LIST_COMMIT);
	commit_keep(e, fs);
}

static bool same(const char *saved, const char *now)
{
	return saved ? now && strcmp(saved, now) == 0 : !now;
}

void commit_check_session(struct engine *e, struct flow_state *fs)
{
	const struct proto_session *s = session_of(fs);
	const struct flow_handover *h = fs->told ? &fs->told->hov : NULL;

	if (!s || !s->local_id || !recording(e) || (h && h->pending))
		return;
	if (h && same(h->local, s->local_id) && same(h->address, s->local_address) &&
	    same(h->service, s->service))
		return;
	commit_mark_record(e, fs);
}

/* What the record now says of the session (compared after each feed);
 * fs->told exists (the record was pending). */
static void remember_session(struct flow_state *fs)
{
	const struct proto_session *s = session_of(fs);
	struct flow_handover *h = &fs->told->hov;

	free(h->local);
	free(h->address);
	free(h->service);
	h->local = s && s->local_id ? strdup(s->local_id) : NULL;
	h->address = s && s->local_address ? strdup(s->local_address) : NULL;
	h->service = s && s->service ? strdup(s->service) : NULL;
}

static void commit_one(struct engine *e, struct flow_state *fs, double now)
{
	enum imw_proto proto = flow_proto(fs->flow);
	struct flow_dir_state *d;
	int dir;

	flow_list_remove(&e->commit, fs, FLOW_LIST_COMMIT);
	/* The bytes first: whatever the classifier holds, a successor can
	 * rebuild. */
	if (fs->told && fs->told->hov.pending) {
		fs->told->hov.pending = false;
		if (handover_save(e->cfg.handover, fs, proto, &e->record, now)) {
			e->stats.records_written++;
			remember_session(fs);
		} else {
			e->stats.records_unsaved++;
		}
	}
	for (dir = 0; dir < 2; dir++) {
		d = &fs->dir[dir];
		if (!d->publish_pending)
			continue;
		d->publish_pending = false;
		if (bpf_publish_seqmap(e->cfg.publish, fs->flow, (enum im_dir)dir, &d->map, proto) == 0)
			e->stats.offsets_published++;
		else
			e->stats.publish_failures++;
	}
}

void engine_commit(struct engine *e, double now)
{
	struct flow_state *fs;

	while ((fs = e->commit.head))
		commit_one(e, fs, now);
}

void commit_flow_ends(struct engine *e, struct flow_state *fs, enum flow_end why, double now)
{
	if (flow_list_has(fs, FLOW_LIST_COMMIT))
		commit_one(e, fs, now);
	if (!flow_list_has(fs, FLOW_LIST_HANDOVER))
		return;
	switch (why) {
	case FLOW_END_CLOSED:
	case FLOW_END_EXPIRED:
		bpf_publish_forget(e->cfg.publish, fs->flow);
		handover_forget(e->cfg.handover, fs);
		break;
	case FLOW_END_EVICTED:
		/* still on the wire: whoever meets it next takes it over */
		handover_give_back(e->cfg.handover, fs, now);
		break;
	case FLOW_END_FLUSHED:
		break; /* a planned stop: everything stays for the successor */
	}
	flow_list_remove(&e->handed, fs, FLOW_LIST_HANDOVER);
}

void engine_hand_over(struct engine *e, double now)
{
	struct flow_state *fs;
	int dir;

	if (!publishing(e))
		return;
	/* Written whole once more: the session as it is now, every live edit. */
	for (fs = e->handed.head; fs; fs = fs->link[FLOW_LIST_HANDOVER].next) {
		for (dir = 0; dir < 2; dir++)
			if (fs->dir[dir].started && !seqmap_is_identity(&fs->dir[dir].map))
				fs->dir[dir].publish_pending = true;
		if (recording(e))
			mark_pending(e, fs);
		flow_list_add(&e->commit, fs, FLOW_LIST_COMMIT);
	}
	engine_commit(e, now);
	e->frozen = true;
}
