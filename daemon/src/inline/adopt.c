#include "inline/adopt.h"

#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "inline/origin.h"

/* Output minus input past every edit of a fetched direction. */
static uint32_t delta_after_all(const struct bpf_publish_state *x)
{
	uint32_t delta = (uint32_t)x->base_delta;
	size_t i;

	for (i = 0; i < x->n_edits; i++)
		delta += x->edits[i].out_len - x->edits[i].in_len;
	return delta;
}

/* A sequence number near which direction d's stream is now: its first
 * live edit, else the packet's own data (its direction) or its ack (the
 * other one, mapped back to input). False when nothing tells. */
static bool anchor_of(enum im_dir d, enum im_dir dir, const struct packet *pkt, uint32_t data_seq,
		      const struct bpf_publish_state *x, uint32_t *anchor)
{
	if (x->n_edits) {
		*anchor = x->edits[0].in_seq;
		return true;
	}
	if (d == dir) {
		*anchor = data_seq;
		return true;
	}
	if (pkt->tcp_flags & TCP_FLAG_ACK) {
		*anchor = pkt->ack - delta_after_all(x);
		return true;
	}
	return false;
}

/* The record's edit with exactly this place and these lengths. */
static const struct handover_edit *bytes_for(const struct handover_dir *rd,
					     const struct imw_xlate_edit *e)
{
	size_t i;

	for (i = 0; rd && i < rd->n_edits; i++)
		if (rd->edits[i].in_seq == e->in_seq && rd->edits[i].in_len == e->in_len &&
		    rd->edits[i].out_len == e->out_len && rd->edits[i].bytes)
			return &rd->edits[i];
	return NULL;
}

static int add_edit(struct seqmap *m, uint32_t in_seq, uint32_t in_len, const uint8_t *bytes,
		    uint32_t out_len, bool own)
{
	uint64_t in_start = (uint32_t)(in_seq - m->base_seq);

	if (own && !in_len)
		return seqmap_add_own_insertion(m, in_start, bytes, out_len);
	return seqmap_add_edit(m, in_start, in_len, bytes, out_len);
}

/* The map of one direction from its xlate entry x and its part of the
 * record (rd, may be NULL), into m. */
static int rebuild_map(struct seqmap *m, uint32_t anchor, const struct bpf_publish_state *x,
		       const struct handover_dir *rd, struct adopt_counts *c)
{
	uint8_t *blank;
	size_t i;

	seqmap_init(m, anchor - ADOPT_BIAS);
	m->ref_in = m->ref_out = ADOPT_BIAS;
	m->base_delta = x->base_delta;
	for (i = 0; i < x->n_edits; i++) {
		const struct imw_xlate_edit *e = &x->edits[i];
		const struct handover_edit *he = bytes_for(rd, e);
		bool own = he ? he->own : (e->flags & IMW_XLATE_ACK_AT_START) != 0;
		int rc;

		if (he) {
			rc = add_edit(m, e->in_seq, e->in_len, he->bytes, e->out_len, own);
		} else {
			/* Nobody has the bytes: spaces rather than the original. */
			blank = malloc(e->out_len ? e->out_len : 1);
			if (!blank)
				return -1;
			memset(blank, ' ', e->out_len);
			rc = add_edit(m, e->in_seq, e->in_len, blank, e->out_len, own);
			free(blank);
			c->blanked++;
		}
		if (rc < 0)
			return -1;
		c->edits++;
	}
	/* Past a list the classifier could not hold whole: the record's. */
	for (i = 0; x->overflow && rd && i < rd->n_edits; i++) {
		const struct handover_edit *he = &rd->edits[i];

		if (seq_before(he->in_seq, x->limit_seq) || !he->bytes)
			continue;
		if (add_edit(m, he->in_seq, he->in_len, he->bytes, he->out_len, he->own) < 0)
			return -1;
		c->edits++;
	}
	return 0;
}

/* Our own insertions in the map go back on the list of segments we
 * resend until the receiver acknowledges them (at the next tick). */
static void adopt_origins(struct flow_dir_state *d, double now, struct adopt_counts *c)
{
	size_t i;

	for (i = 0; i < d->map.n_edits; i++) {
		const struct seqmap_edit *e = &d->map.edits[i];

		if (e->own && e->out_len &&
		    origin_adopt(d, e->out_start, e->out, e->out_len, now))
			c->origins++;
	}
}

int adopt_flow(struct flow_state *fs, enum im_dir dir, const struct packet *pkt, uint32_t data_seq,
	       const struct bpf_publish_state xl[2], const bool found[2],
	       const struct handover_record *rec, double now, struct adopt_counts *c)
{
	struct seqmap maps[2];
	bool built[2] = { false, false };
	unsigned client_side;
	struct imw_flow_key key;
	uint32_t anchor;
	int d, flip = 0;

	memset(c, 0, sizeof(*c));
	if (rec) {
		/* The record's directions are its sender's: ours may have been
		 * guessed the other way round in mid-stream. */
		bpf_publish_key(fs->flow, &key, &client_side);
		flip = client_side != rec->client_side;
	}
	for (d = 0; d < 2; d++) {
		const struct handover_dir *rd = rec ? &rec->dir[flip ? !d : d] : NULL;

		if (!found[d] || fs->dir[d].started ||
		    !anchor_of((enum im_dir)d, dir, pkt, data_seq, &xl[d], &anchor))
			continue;
		if (rebuild_map(&maps[d], anchor, &xl[d], rd, c) < 0) {
			seqmap_free(&maps[d]);
			if (d == 1 && built[0])
				seqmap_free(&maps[0]);
			memset(c, 0, sizeof(*c));
			return -1;
		}
		built[d] = true;
	}
	for (d = 0; d < 2; d++) {
		struct flow_dir_state *fd = &fs->dir[d];
		const struct handover_dir *rd = rec ? &rec->dir[flip ? !d : d] : NULL;

		if (!built[d])
			continue;
		fd->map = maps[d];
		fd->started = true;
		fd->adopted = true;
		fd->adopted_until = 0;
		if (fd->map.n_edits) {
			const struct seqmap_edit *last = &fd->map.edits[fd->map.n_edits - 1];

			fd->adopted_until = last->in_start + last->in_len;
		}
		/* What the classifier let through while no daemon ran is out as
		 * it was: decoding (and lengthening) it again would shift the
		 * receiver's later bytes. */
		if (xl[d].passed && seqmap_in_offset(&fd->map, xl[d].passed_end) > fd->adopted_until)
			fd->adopted_until = seqmap_in_offset(&fd->map, xl[d].passed_end);
		/* So is what the predecessor decided: its edits may all be folded
		 * away (the receiver acknowledged them) while their sender, not
		 * told yet, still retransmits their input; edited a second time
		 * it would shift the receiver's later bytes too. */
		if (rd && rd->has_decided &&
		    seqmap_in_offset(&fd->map, rd->decided_seq) > fd->adopted_until)
			fd->adopted_until = seqmap_in_offset(&fd->map, rd->decided_seq);
		fd->released_end = fd->adopted_until;
		if (rd && rd->peer_mss && !fd->peer_mss)
			fd->peer_mss = rd->peer_mss;
		adopt_origins(fd, now, c);
		c->directions++;
	}
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s && s[0] ? strdup(s) : NULL;
}

bool adopt_keep_session(struct flow_state *fs, enum imw_proto proto,
			const struct handover_record *rec)
{
	struct flow_handover *h;
	struct imw_flow_key key;
	unsigned client_side;

	if (proto == IMW_PROTO_NONE || proto >= IMW_PROTO_MAX || !flow_state_told(fs))
		return false;
	h = &fs->told->hov;
	h->adopt_app = true;
	h->adopt_proto = (uint8_t)proto;
	if (!rec)
		return true;
	/* The identity is the client's: only when our client is the record's. */
	bpf_publish_key(fs->flow, &key, &client_side);
	if (client_side != rec->client_side)
		return true;
	h->adopt_local = dup_or_null(rec->local);
	h->adopt_address = dup_or_null(rec->address);
	h->adopt_service = dup_or_null(rec->service);
	return (!rec->local || h->adopt_local) && (!rec->address || h->adopt_address) &&
	       (!rec->service || h->adopt_service);
}

static void set_kept(bool (*set)(struct proto_session *, const char *, size_t),
		     struct proto_session *s, char **kept)
{
	if (*kept)
		set(s, *kept, strlen(*kept));
	free(*kept);
	*kept = NULL;
}

void adopt_apply_session(struct flow_state *fs)
{
	struct flow_handover *h = fs->told ? &fs->told->hov : NULL;
	struct app_flow *app = fs->flow->app;
	const struct proto_module *m;

	if (!h || !h->adopt_app || !app)
		return;
	h->adopt_app = false;
	m = proto_module_by_id((enum imw_proto)h->adopt_proto);
	if (app->state == APP_DETECTING && m)
		app_flow_decode_as(app, m);
	if (app->state == APP_DECODING && app->session.module == m) {
		if (!app->session.local_id)
			set_kept(proto_session_set_local, &app->session, &h->adopt_local);
		if (!app->session.local_address)
			set_kept(proto_session_set_local_address, &app->session, &h->adopt_address);
		if (!app->session.service)
			set_kept(proto_session_set_service, &app->session, &h->adopt_service);
	}
	free(h->adopt_local);
	free(h->adopt_address);
	free(h->adopt_service);
	h->adopt_local = h->adopt_address = h->adopt_service = NULL;
}
