#include "inline/engine.h"

#include <stdlib.h>
#include <string.h>

#include "config/config_flow.h"
#include "inline/adopt.h"
#include "inline/apply.h"
#include "inline/commit.h"
#include "inline/origin.h"
#include "inline/release.h"
#include "inline/scan_hold.h"
#include "inline/takeover.h"
#include "inline/translate.h"
#include "packet/tcp_edit.h"
#include "route/route.h"
#include "route/router.h"

#define DEFAULT_HOLD_DEADLINE 0.050
/* Behind a hole: an RTO (200 ms at least, doubling) and a second one. */
#define DEFAULT_HOLD_HOLE_BOUND 3.0
#define DEFAULT_MSS_HEADROOM 64
#define DEFAULT_MAX_HELD_PACKETS 64
#define DEFAULT_MAX_HELD_BYTES (256 * 1024)
#define DEFAULT_MAX_HELD_BYTES_TOTAL (64 * 1024 * 1024)

void engine_config_defaults(struct engine_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	flow_config_defaults(&cfg->flow);
	cfg->hold_deadline = DEFAULT_HOLD_DEADLINE;
	cfg->hold_hole_bound = DEFAULT_HOLD_HOLE_BOUND;
	cfg->mss_headroom = DEFAULT_MSS_HEADROOM;
	cfg->max_held_packets = DEFAULT_MAX_HELD_PACKETS;
	cfg->max_held_bytes = DEFAULT_MAX_HELD_BYTES;
	cfg->max_held_bytes_total = DEFAULT_MAX_HELD_BYTES_TOTAL;
}

void engine_config_load(struct engine_config *ec, const struct imw_config *cfg)
{
	const char *v;

	engine_config_defaults(ec);
	config_apply_flow(cfg, &ec->flow);
	if ((v = config_get(cfg, "hold_deadline_ms")))
		ec->hold_deadline = strtoul(v, NULL, 10) / 1000.0;
	if ((v = config_get(cfg, "hold_hole_ms")))
		ec->hold_hole_bound = strtoul(v, NULL, 10) / 1000.0;
	if ((v = config_get(cfg, "mss_headroom")))
		ec->mss_headroom = (uint16_t)strtoul(v, NULL, 10);
}

/* Verdicts for held packets of flows the flow table let go of. */
static void take_released(struct engine *e, struct engine_outq *out)
{
	if (e->released.n || e->released.n_orig)
		outq_move(out, &e->released, &e->stats);
}

/* ---- flows -------------------------------------------------------------- */

/* The flow table lets go of f (closed, expired, evicted, flushed): its
 * held packets go out with their translation, what a successor needs is
 * forgotten only when the connection ended (commit.h), then its state
 * goes. */
static void on_flow_release(void *arg, struct flow *f, enum flow_end why)
{
	struct engine *e = arg;
	struct flow_state *fs = f->ext;

	f->ext = NULL;
	notices_forget(&e->notices, f->id, &e->stats);
	if (!fs)
		return;
	commit_flow_ends(e, fs, why, e->now);
	sessions_forget(&e->sessions, fs, e->cfg.router, e->cfg.worker);
	/* a file's end waiting for its verdict goes only by scan_fail's word */
	scan_hold_yield(e, fs, IM_DIR_OUT, UINT64_MAX, &e->released);
	scan_hold_yield(e, fs, IM_DIR_IN, UINT64_MAX, &e->released);
	release_dir(e, fs, IM_DIR_OUT, NULL, &e->released);
	release_dir(e, fs, IM_DIR_IN, NULL, &e->released);
	hold_list_update(e, fs);
	flow_list_remove(&e->commit, fs, FLOW_LIST_COMMIT);
	flow_state_free(fs);
}

int engine_init(struct engine *e, const struct engine_config *cfg, proto_emit_fn log,
		void *log_arg)
{
	memset(e, 0, sizeof(*e));
	e->cfg = *cfg;
	e->log = log;
	e->log_arg = log_arg;
	decide_init(&e->decide, &e->stats, &e->notices, log, log_arg);
	e->decide.router = cfg->router;
	e->decide.worker = cfg->worker;
	engine_set_table(e, cfg->table);
	e->handing_over = cfg->publish && cfg->publish->xlate_fd >= 0;
	e->cfg.flow.ext_release = on_flow_release;
	e->cfg.flow.ext_arg = e;
	e->cfg.flow.app.pdu_seen = decide_pdu;
	e->cfg.flow.app.pdu_seen_arg = &e->decide;
	engine_outq_init(&e->released);
	bytebuf_init(&e->scratch);
	bytebuf_init(&e->payload);
	bytebuf_init(&e->syn);
	bytebuf_init(&e->record);
	return flow_table_init(&e->flows, &e->cfg.flow, decide_event, &e->decide);
}

void engine_destroy(struct engine *e, struct engine_outq *out)
{
	engine_commit(e, e->now);
	flow_table_destroy(&e->flows);
	if (out)
		take_released(e, out);
	engine_outq_free(&e->released);
	decide_free(&e->decide);
	notices_free(&e->notices);
	bytebuf_free(&e->scratch);
	bytebuf_free(&e->payload);
	bytebuf_free(&e->syn);
	bytebuf_free(&e->record);
}

void engine_reconfigure(struct engine *e, const struct engine_config *cfg)
{
	e->cfg.hold_deadline = cfg->hold_deadline;
	e->cfg.mss_headroom = cfg->mss_headroom;
	e->cfg.max_held_packets = cfg->max_held_packets;
	e->cfg.max_held_bytes = cfg->max_held_bytes;
	e->cfg.max_held_bytes_total = cfg->max_held_bytes_total;
	flow_table_reconfigure(&e->flows, &cfg->flow);
}

void engine_set_table(struct engine *e, struct route_table *t)
{
	e->cfg.table = t;
	e->decide.table = t;
	e->decide.routing = router_active(e->cfg.router);
}

/* Lower the announced MSS of a SYN so the other side sends segments that
 * an edit may grow without passing the path MTU; the announced value is
 * kept either way (segments we originate use it). Returns the bytes to
 * send (ip, or the clamped copy, which pkt then describes). */
static const uint8_t *clamp_syn(struct engine *e, struct flow_state *fs, enum im_dir dir,
				const uint8_t *ip, size_t len, struct packet *pkt, bool *clamped)
{
	uint16_t mss;

	*clamped = false;
	bytebuf_clear(&e->syn);
	if (!bytebuf_append(&e->syn, ip, len))
		return ip;
	mss = tcp_edit_clamp_mss(e->syn.data, pkt, e->cfg.mss_headroom, clamped);
	if (mss)
		fs->dir[!dir].peer_mss = mss;
	if (!*clamped)
		return ip;
	e->stats.mss_clamped++;
	pkt->payload = e->syn.data + (pkt->payload - ip);
	return e->syn.data;
}

/* ---- one packet --------------------------------------------------------- */

/* Where a packet's payload sits in its direction's input stream. */
struct segment {
	uint64_t start;   /* input offsets of its payload */
	uint64_t end;
	uint64_t in_next; /* the next byte reassembly expects, before this packet */
	bool in_order;    /* carries the next bytes: decoded now */
	bool ahead;       /* after a hole: waits for it */
};

static void place_segment(struct flow_state *fs, enum im_dir dir, const struct packet *pkt,
			  uint32_t data_seq, struct segment *sg)
{
	struct flow_dir_state *d = &fs->dir[dir];
	const struct reasm *r = &fs->flow->reasm[dir];

	memset(sg, 0, sizeof(*sg));
	if (pkt->payload_len) {
		flow_dir_start(d, data_seq);
		if (pkt->payload_len > d->max_payload_seen)
			d->max_payload_seen = pkt->payload_len;
		sg->start = seqmap_in_offset(&d->map, data_seq);
		sg->end = sg->start + pkt->payload_len;
		sg->in_next = r->started ? r->offset : sg->start;
		sg->in_order = sg->start <= sg->in_next && sg->end > sg->in_next && !pkt->truncated;
		sg->ahead = sg->start > sg->in_next && !pkt->truncated;
	} else if ((pkt->tcp_flags & TCP_FLAG_FIN) && d->started && d->held.n) {
		/* A FIN must follow the held data, at its final place. */
		sg->start = sg->end = seqmap_in_offset(&d->map, data_seq);
		sg->in_order = true;
	}
}

/* The bytes go to the decoders; what their events ask for comes back as
 * effects. The peer acks output (what we sent on), the decoders count
 * input (what senders sent): its ack is mapped back first, or an edit
 * that grew the stream would look like lost data. */
static bool feed(struct engine *e, struct flow_state *fs, enum im_dir dir,
		 const struct packet *pkt, bool can_send, struct reply *reply)
{
	struct packet fed = *pkt;
	bool closing;

	if (pkt->tcp_flags & TCP_FLAG_ACK)
		fed.ack = translate_ack_to_input(&fs->dir[!dir], pkt->ack);
	decide_begin(&e->decide, fs, can_send);
	closing = flow_table_feed(&e->flows, fs->flow, dir, &fed);
	apply_effects(e, fs, decide_end(&e->decide), reply);
	return closing;
}

/* The receiver of the other direction acknowledged: what it has of that
 * direction's edits and our own data is forgotten. Nothing is published:
 * the classifier folds acknowledged edits itself from the acks it sees,
 * and our next publish of the direction lists only the live ones. */
static void note_ack(struct flow_state *fs, enum im_dir dir, const struct packet *pkt)
{
	struct flow_dir_state *o = &fs->dir[!dir];

	if (!(pkt->tcp_flags & TCP_FLAG_ACK) || !o->started)
		return;
	translate_acknowledge(o, pkt->ack);
	if (o->origins)
		origin_acked(o);
}

/* The packet in hand sat in the held queue while its bytes were decoded,
 * so edits could cut through it. Now it and the packets before it go on
 * unless they carry part of a PDU policy could still change; what stays
 * is copied, within the per-direction and global bounds. */
static void release_held(struct engine *e, struct flow_state *fs, enum im_dir dir, bool closing,
			 const struct engine_packet_link *link, double now, struct engine_outq *out)
{
	struct flow_dir_state *d = &fs->dir[dir];
	const struct reasm *r = &fs->flow->reasm[dir];
	struct app_flow *app = fs->flow->app;
	uint64_t partial;
	int copied;

	/* What waited behind a hole that is filled now waits no longer than
	 * anything else, counted from now. */
	if (r->started)
		hold_prefix_complete(&d->held, r->offset, now);
	/* A file's end waiting for its verdict stays, whatever else goes. */
	if (closing)
		release_upto(e, fs, dir, scan_hold_limit(e, fs, dir, UINT64_MAX), true, link, out);
	else if (app && decide_may_edit(&e->decide) && app_flow_partial_pdu(app, dir, &partial))
		/* Hold only what a policy could still change: a daemon that just
		 * logs never holds (nor delays) anything. */
		release_upto(e, fs, dir, scan_hold_limit(e, fs, dir, partial), false, link, out);
	else
		release_upto(e, fs, dir, scan_hold_limit(e, fs, dir, UINT64_MAX), false, link, out);
	copied = hold_own(&d->held, &e->held);
	if (copied < 0) {
		/* Could not copy it: send it now rather than lose it. */
		e->stats.alloc_failures++;
		scan_hold_yield(e, fs, dir, UINT64_MAX, out);
		release_dir(e, fs, dir, link, out);
	} else {
		e->stats.held += (uint64_t)copied;
	}
	while (d->held.n > e->cfg.max_held_packets || d->held.bytes > e->cfg.max_held_bytes) {
		uint64_t upto = d->held.head->in_end;

		e->stats.bound_releases++;
		scan_hold_yield(e, fs, dir, upto, out);
		release_upto(e, fs, dir, upto, true, link, out);
	}
	/* The total over all flows is bounded too: past it, the direction that
	 * just grew lets its packets go. */
	if (d->held.n && e->held.bytes > e->cfg.max_held_bytes_total) {
		e->stats.global_bound_releases++;
		scan_hold_yield(e, fs, dir, UINT64_MAX, out);
		release_dir(e, fs, dir, link, out);
	}
}

struct packet_in {
	uint32_t id;
	const uint8_t *data; /* the packet as it goes on (a clamped SYN is a copy) */
	size_t len;
	bool gso;
	bool clamped;
	const struct engine_packet_link *link;
};

/* Decode, apply, give verdicts: the sequence every TCP packet of a flow
 * with state goes through. */
static void process(struct engine *e, struct flow_state *fs, enum im_dir dir, struct packet *pkt,
		    struct packet_in *in, double now, struct engine_outq *out)
{
	struct flow_dir_state *d = &fs->dir[dir];
	uint32_t data_seq = pkt->seq + ((pkt->tcp_flags & TCP_FLAG_SYN) ? 1 : 0);
	struct held_packet *cur = NULL;
	struct reply reply = { { NULL, 0, 0 }, 0 };
	struct segment sg;
	bool closing;

	if (!fs->adoption_checked)
		takeover_check(e, fs, dir, pkt, data_seq, now);
	if (d->adopted)
		takeover_start_stream(e, fs, dir, pkt, data_seq);
	if (fs->told && fs->told->hov.adopt_app)
		adopt_apply_session(fs);
	if (pkt->tcp_flags & TCP_FLAG_SYN) {
		in->data = clamp_syn(e, fs, dir, in->data, in->len, pkt, &in->clamped);
		flow_dir_start(d, data_seq);
	}
	place_segment(fs, dir, pkt, data_seq, &sg);
	if (pkt->payload_len && scan_hold_withheld(e, fs, dir, sg.start, sg.end)) {
		/* A copy of the bytes of a cut transfer: they never go on. */
		e->stats.scan_dropped++;
		outq_verdict(out, &e->stats, in->id, VERDICT_DROP, NULL, 0);
		return;
	}
	if (sg.in_order || sg.ahead) {
		cur = &e->in_hand; /* no allocation unless it stays held */
		hold_in_hand(cur, in->id, in->data, in->len, in->gso, pkt, sg.start, sg.end, now);
	}
	/* The packet in hand joins the held queue while its bytes are decoded,
	 * so edits may cut through it; one that came before its turn waits
	 * there for the hole to fill (a bridge with several CPUs reorders now
	 * and then), so edits before it stay possible. */
	if (cur) {
		if (sg.ahead)
			hold_mark_behind_hole(cur);
		hold_insert(&d->held, cur);
	}
	closing = feed(e, fs, dir, pkt, in->link != NULL, &reply);
	note_ack(fs, dir, pkt);
	if (e->handing_over)
		commit_check_session(e, fs);
	if (cur) {
		if (sg.ahead)
			e->stats.out_of_order_held++;
		release_held(e, fs, dir, closing, in->link, now, out);
		scan_hold_settle(e, fs, dir, now, out);
	} else if (pkt->payload_len && sg.end <= sg.in_next && d->held.head &&
		   sg.end > d->held.head->in_start && !pkt->truncated) {
		/* A retransmission of bytes we hold (a tail-loss probe, or an
		 * RTO): the held original goes out when its PDU completes or at
		 * the deadline, which bounds how long any sender waits. */
		e->stats.duplicates_of_held++;
		outq_verdict(out, &e->stats, in->id, VERDICT_DROP, NULL, 0);
	} else {
		if (pkt->payload_len && sg.end <= sg.in_next)
			e->stats.retransmissions_rebuilt++;
		release_forward(e, fs, dir, in->id, in->data, pkt, in->gso, in->clamped, in->link,
				out);
	}
	hold_list_update(e, fs);
	if (e->decide.routing)
		sessions_sync(&e->sessions, fs, e->cfg.router, e->cfg.worker, &e->stats);
	apply_send_replies(e, fs, &reply, now, out);
	/* A connection we edited still needs its translation after both FINs:
	 * the last ACK and any retransmitted FIN carry numbers of the edited
	 * stream. It stays until it idles out (or a new SYN reuses its
	 * addresses); an untouched one goes at once. */
	if (closing && seqmap_is_identity(&fs->dir[0].map) && seqmap_is_identity(&fs->dir[1].map)) {
		flow_table_close(&e->flows, fs->flow);
		take_released(e, out);
	}
}

/* A packet of a flow not handed over, once the engine is frozen: translated
 * as the classifier would, nothing more; but bytes a file's end holds for
 * its verdict (or a cut transfer withholds) never pass on a copy, or a
 * sender's retransmission would deliver them unjudged while the queue
 * drains at shutdown: it is dropped, the verdict decides the held ones. */
static void frozen_packet(struct engine *e, struct flow_state *fs, enum im_dir dir,
			  const struct packet *pkt, const struct packet_in *in,
			  struct engine_outq *out)
{
	uint32_t data_seq = pkt->seq + ((pkt->tcp_flags & TCP_FLAG_SYN) ? 1 : 0);
	struct segment sg;

	place_segment(fs, dir, pkt, data_seq, &sg);
	if (pkt->payload_len && sg.end > scan_hold_limit(e, fs, dir, UINT64_MAX)) {
		e->stats.scan_dropped++;
		outq_verdict(out, &e->stats, in->id, VERDICT_DROP, NULL, 0);
		return;
	}
	release_forward(e, fs, dir, in->id, in->data, pkt, in->gso, false, in->link, out);
}

void engine_packet(struct engine *e, uint32_t id, const uint8_t *ip, size_t len, bool gso,
		   double now, struct engine_outq *out)
{
	engine_packet_with_link(e, id, ip, len, gso, NULL, now, out);
}

/* The flow's state, made on its first packet; NULL when out of memory. */
static struct flow_state *state_of(struct engine *e, struct flow *f)
{
	if (!f->ext && !(f->ext = flow_state_new(f)))
		e->stats.alloc_failures++;
	return f->ext;
}

void engine_packet_with_link(struct engine *e, uint32_t id, const uint8_t *ip, size_t len,
			     bool gso, const struct engine_packet_link *link, double now,
			     struct engine_outq *out)
{
	struct packet_in in = { id, ip, len, gso, false, link };
	struct packet pkt;
	enum im_dir dir = IM_DIR_OUT;
	struct flow *f = NULL;
	struct flow_state *fs = NULL;
	enum packet_status st;
	const char *why;

	e->stats.packets++;
	e->now = now;
	memset(&pkt, 0, sizeof(pkt));
	st = packet_parse_ip(ip, len, len, &pkt, &why);
	if (st != PACKET_OK) {
		if (st == PACKET_MALFORMED)
			e->stats.malformed++;
		else
			e->stats.not_tcp++;
	} else {
		pkt.ts = now;
		f = flow_table_get(&e->flows, &pkt, &dir);
		/* A bare ACK of a connection we do not track may belong to one a
		 * predecessor edited: it needs translating like the rest. */
		if (!f && e->handing_over && !pkt.payload_len &&
		    !(pkt.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_RST)) &&
		    bpf_publish_has_packet(e->cfg.publish, &pkt))
			f = flow_table_get_midstream(&e->flows, &pkt, &dir);
		take_released(e, out);
		fs = f ? state_of(e, f) : NULL;
	}
	if (fs && e->frozen && pkt.payload_len && flow_list_has(fs, FLOW_LIST_HANDOVER)) {
		/* Handed over: new data of an edited flow would go out
		 * undecoded, and a successor, not knowing, could decode and
		 * lengthen it again; its sender resends it to whoever is there
		 * then (the classifier notes what it lets through). */
		outq_verdict(out, &e->stats, id, VERDICT_DROP, NULL, 0);
	} else if (fs && e->frozen) {
		frozen_packet(e, fs, dir, &pkt, &in, out);
	} else if (fs) {
		process(e, fs, dir, &pkt, &in, now, out);
	} else {
		if (f)
			flow_table_feed(&e->flows, f, dir, &pkt);
		outq_verdict(out, &e->stats, id, VERDICT_ACCEPT, NULL, 0);
	}
	if (e->decide.routing)
		engine_take_mail(e, now, out);
	engine_commit(e, now);
}

/* ---- time, mail, shutdown ----------------------------------------------- */

void engine_tick(struct engine *e, double now, struct engine_outq *out)
{
	struct origin_io io = engine_origin_io(e, out);
	struct flow_state *fs, *next;
	uint64_t upto;
	bool past_hole;
	int dir;

	for (fs = e->holding.head; fs; fs = next) {
		next = fs->link[FLOW_LIST_HOLDING].next;
		/* Handed over: nothing held goes out undecided after the last
		 * record (engine_release_all drops it at the stop). */
		if (e->frozen && flow_list_has(fs, FLOW_LIST_HANDOVER))
			continue;
		for (dir = 0; dir < 2; dir++) {
			const struct hold_queue *q = &fs->dir[dir].held;

			upto = hold_expired_end(q, now, e->cfg.hold_deadline,
						e->cfg.hold_hole_bound, &past_hole);
			/* not a file's end waiting for its verdict (scan_hold.h) */
			if (upto)
				upto = scan_hold_limit(e, fs, (enum im_dir)dir, upto);
			if (!upto || !q->head || q->head->in_end > upto)
				continue;
			if (past_hole)
				e->stats.hole_bound_releases++;
			else
				e->stats.deadline_releases++;
			release_upto(e, fs, (enum im_dir)dir, upto, true, NULL, out);
		}
		hold_list_update(e, fs);
	}
	scan_hold_tick(e, now, out);
	for (fs = e->sessions.head; fs; fs = fs->link[FLOW_LIST_SESSIONS].next)
		origin_retransmit(fs, now, &io);
	if (e->decide.routing)
		engine_take_mail(e, now, out);
	e->now = now;
	flow_table_expire(&e->flows, now);
	take_released(e, out);
	engine_commit(e, now);
}

