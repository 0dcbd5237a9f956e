/* Verdicts for packets that go on: one packet translated (translate.h)
 * with the origin unit learning from it, held packets let go in stream
 * order (hold.h), and the engine's list of flows with held packets kept
 * up to date. Called by engine.c and deliver.c; calls only the units
 * below it. */
#include "inline/release.h"

#include "inline/commit.h"
#include "inline/origin.h"
#include "inline/translate.h"

struct origin_io engine_origin_io(struct engine *e, struct engine_outq *out)
{
	struct origin_io io = { out, &e->scratch, &e->stats };

	return io;
}

/* A rebuilt segment outgrew its path (an edit grew it past one segment,
 * edits.h, or a retransmission gathered more edited bytes than the
 * segments that first carried them): what did not fit follows the
 * verdict as segments of ours; else the receiver's ack, inside the
 * edit, has its sender resend the rest. */
static void send_rest(struct engine *e, struct flow_state *fs, enum im_dir dir, const uint8_t *ip,
		      const struct packet *pkt, const struct translation *t,
		      const struct origin_io *io)
{
	if (origin_send_rest(fs, dir, ip, pkt, t->seq + (uint32_t)t->payload_len, t->ack,
			     t->payload + t->payload_len, t->full_len - t->payload_len,
			     t->segment_limit, io))
		e->stats.segments_split++;
	else
		e->stats.segments_capped++;
}

/* Send one packet on, translated (translate.h); the origin unit learns
 * from it when the queue told us its link. */
void release_forward(struct engine *e, struct flow_state *fs, enum im_dir dir, uint32_t id,
		    const uint8_t *ip, const struct packet *pkt, bool gso, bool force_modified,
		    const struct engine_packet_link *link, struct engine_outq *out)
{
	struct origin_io io = engine_origin_io(e, out);
	struct translation t;
	uint8_t *space;
	size_t len;

	if (translate_segment(&fs->dir[dir], &fs->dir[!dir], pkt, gso, force_modified, &e->payload,
			      &t) < 0) {
		e->stats.alloc_failures++;
		outq_verdict(out, &e->stats, id, VERDICT_ACCEPT, NULL, 0);
		return;
	}
	if (link)
		origin_learn(&fs->dir[dir], ip, pkt, t.seq, t.ack, t.payload_len, link);
	if (!t.changed) {
		outq_verdict(out, &e->stats, id, VERDICT_ACCEPT, NULL, 0);
	} else if (t.emptied) {
		/* Later segments carry the cumulative ack this one had. The
		 * receiver never acknowledges bytes it never got: when nothing
		 * else of the sender's follows, we do, or the sender resends
		 * them forever. */
		outq_verdict(out, &e->stats, id, VERDICT_DROP, NULL, 0);
		if (link)
			origin_ack_deleted(fs, dir, &io);
	} else if (!(len = translate_len(&t, pkt)) ||
		   !(space = outq_verdict_space(out, &e->stats, id, len))) {
		if (!len)
			e->stats.alloc_failures++; /* too big: sent as it came */
		outq_verdict(out, &e->stats, id, VERDICT_ACCEPT, NULL, 0);
	} else {
		/* built where the verdict is sent from */
		translate_build_at(&t, ip, pkt, space);
		if (t.capped)
			send_rest(e, fs, dir, ip, pkt, &t, &io);
	}
}

/* Send on held packets of a direction, oldest first, while their bytes end
 * at or before upto and have been decoded (no hole before them); with
 * past_holes, also those still waiting behind a hole. */
void release_upto(struct engine *e, struct flow_state *fs, enum im_dir dir, uint64_t upto,
			 bool past_holes, const struct engine_packet_link *link,
			 struct engine_outq *out)
{
	struct flow_dir_state *d = &fs->dir[dir];
	const struct reasm *r = &fs->flow->reasm[dir];
	uint64_t decoded_end = past_holes || !r->started ? UINT64_MAX : r->offset;
	struct held_packet *h;

	uint64_t was = d->released_end;

	while ((h = hold_pop(&d->held, &e->held, upto, decoded_end))) {
		release_forward(e, fs, dir, h->id, h->data, &h->pkt, h->gso, false, link, out);
		if (h->in_end > d->released_end)
			d->released_end = h->in_end;
		hold_free(h);
	}
	/* Let go before it was decided (a deadline, a bound, the flow's end):
	 * the record says so before the verdict goes, or a successor after a
	 * crash would decode those bytes again (handover_record.h, the
	 * decided mark). */
	if (past_holes && d->released_end > was && flow_list_has(fs, FLOW_LIST_HANDOVER))
		commit_mark_record(e, fs);
}

size_t release_drop_dir(struct engine *e, struct flow_state *fs, enum im_dir dir,
			struct engine_outq *out)
{
	struct held_packet *h;
	size_t n = 0;

	while ((h = hold_pop(&fs->dir[dir].held, &e->held, UINT64_MAX, UINT64_MAX))) {
		outq_verdict(out, &e->stats, h->id, VERDICT_DROP, NULL, 0);
		hold_free(h);
		n++;
	}
	return n;
}

void release_dir(struct engine *e, struct flow_state *fs, enum im_dir dir,
			const struct engine_packet_link *link, struct engine_outq *out)
{
	release_upto(e, fs, dir, UINT64_MAX, true, link, out);
}

void hold_list_update(struct engine *e, struct flow_state *fs)
{
	if (fs->dir[0].held.n || fs->dir[1].held.n)
		flow_list_add(&e->holding, fs, FLOW_LIST_HOLDING);
	else
		flow_list_remove(&e->holding, fs, FLOW_LIST_HOLDING);
}

void engine_release_all(struct engine *e, struct engine_outq *out)
{
	struct flow_state *fs, *next;

	engine_commit(e, e->now);
	for (fs = e->holding.head; fs; fs = next) {
		next = fs->link[FLOW_LIST_HOLDING].next;
		/* Handed over at a planned stop: what it holds was not decided
		 * (a PDU's rest, a hole's filling) and is in no record. Sent now
		 * it would go out as its sender wrote it, and a successor, not
		 * knowing, could decode and lengthen it again; dropped, its
		 * sender resends it to the classifier or to the successor. */
		if (e->frozen && flow_list_has(fs, FLOW_LIST_HANDOVER)) {
			e->stats.handed_held_dropped += release_drop_dir(e, fs, IM_DIR_OUT, out);
			e->stats.handed_held_dropped += release_drop_dir(e, fs, IM_DIR_IN, out);
		} else {
			release_dir(e, fs, IM_DIR_OUT, NULL, out);
			release_dir(e, fs, IM_DIR_IN, NULL, out);
		}
		hold_list_update(e, fs);
	}
	engine_commit(e, e->now);
}

bool engine_lowest_held_id(const struct engine *e, uint32_t *id)
{
	const struct flow_state *fs;
	bool any = false;

	for (fs = e->holding.head; fs; fs = fs->link[FLOW_LIST_HOLDING].next) {
		any = hold_lowest_id(&fs->dir[0].held, any, id);
		any = hold_lowest_id(&fs->dir[1].held, any, id);
	}
	return any;
}
