/* A flow a predecessor edited, taken over (takeover.h). */
#include "inline/takeover.h"

#include "inline/adopt.h"
#include "inline/commit.h"
#include "inline/sessions.h"

/* A flow met in mid-stream may be one a predecessor edited (before a
 * restart or a crash, or this worker before it evicted the flow): the
 * classifier kept its offsets and live edits and translated it meanwhile,
 * the state file kept the bytes of those edits and the session. Take them
 * over (adopt.h), so both directions translate exactly as before and a
 * retransmission of edited bytes is rebuilt. A new connection's SYN drops
 * a record left for an old one on the same addresses. */
void takeover_check(struct engine *e, struct flow_state *fs, enum im_dir dir,
		    const struct packet *pkt, uint32_t data_seq, double now)
{
	struct bpf_publish_state xl[2];
	bool found[2] = { false, false };
	struct handover_record rec;
	struct adopt_counts c = { 0, 0, 0, 0 };
	struct imw_flow_key key;
	unsigned client_side;
	state_ref ref = 0;
	bool have_rec;
	int d;

	fs->adoption_checked = true;
	if (!e->cfg.publish || e->cfg.publish->xlate_fd < 0)
		return;
	bpf_publish_key(fs->flow, &key, &client_side);
	if (pkt->tcp_flags & TCP_FLAG_SYN) {
		handover_drop(e->cfg.handover, &key);
		return;
	}
	for (d = 0; d < 2; d++)
		found[d] = bpf_publish_fetch(e->cfg.publish, fs->flow, (enum im_dir)d, &xl[d]) == 1;
	have_rec = handover_take(e->cfg.handover, &key, &rec, &ref) == 1;
	if (!found[0] && !found[1] && !have_rec)
		return;
	if ((found[0] || found[1]) &&
	    adopt_flow(fs, dir, pkt, data_seq, xl, found, have_rec ? &rec : NULL, now, &c) < 0)
		e->stats.alloc_failures++;
	if (!adopt_keep_session(fs, have_rec ? rec.proto : found[0] ? xl[0].proto : xl[1].proto,
				have_rec ? &rec : NULL) &&
	    have_rec)
		e->stats.alloc_failures++;
	/* ours now: replaced by our next record of the flow */
	if (ref && flow_state_told(fs))
		fs->told->hov.ref = ref;
	else if (ref)
		e->stats.alloc_failures++;
	if (ref || c.directions)
		commit_keep(e, fs);
	if (c.origins)
		sessions_track(&e->sessions, fs);
	e->stats.flows_adopted++;
	e->stats.edits_adopted += c.edits;
	e->stats.adopted_blanked += c.blanked;
	e->stats.origins_adopted += c.origins;
	if (have_rec)
		handover_record_free(&rec);
}

/* The first data of a direction taken over starts its reassembly at its
 * offset in the adopted map, and never before adopted_until: what lies
 * before was decided by the predecessor (its retransmissions are rebuilt,
 * not decoded again). */
void takeover_start_stream(struct engine *e, struct flow_state *fs, enum im_dir dir,
			   const struct packet *pkt, uint32_t data_seq)
{
	struct flow_dir_state *d = &fs->dir[dir];
	uint64_t start;

	if (!d->adopted || !pkt->payload_len || fs->flow->reasm[dir].started)
		return;
	start = seqmap_in_offset(&d->map, data_seq);
	if (start < d->adopted_until)
		start = d->adopted_until;
	if (!flow_table_start_stream(&e->flows, fs->flow, dir, seqmap_seq_of(&d->map, start), start))
		e->stats.alloc_failures++;
}
