#include "inline/engine.h"
#include "inline/engine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "event/address.h"
#include "packet/tcp_edit.h"
#include "policy/policy.h"
#include "route/route.h"
#include "seqmap/seqmap.h"
#include "util/text.h"

#define DEFAULT_HOLD_DEADLINE 0.050
#define DEFAULT_MSS_HEADROOM 64
#define DEFAULT_MAX_HELD_PACKETS 64
#define DEFAULT_MAX_HELD_BYTES (256 * 1024)
#define DEFAULT_MAX_HELD_BYTES_TOTAL (64 * 1024 * 1024)
#define MIN_SEGMENT_PAYLOAD 536
#define GSO_PAYLOAD_LIMIT 65000

void engine_config_defaults(struct engine_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	flow_config_defaults(&cfg->flow);
	cfg->hold_deadline = DEFAULT_HOLD_DEADLINE;
	cfg->mss_headroom = DEFAULT_MSS_HEADROOM;
	cfg->max_held_packets = DEFAULT_MAX_HELD_PACKETS;
	cfg->max_held_bytes = DEFAULT_MAX_HELD_BYTES;
	cfg->max_held_bytes_total = DEFAULT_MAX_HELD_BYTES_TOTAL;
}

void engine_outq_init(struct engine_outq *q)
{
	memset(q, 0, sizeof(*q));
	bytebuf_init(&q->bytes);
}

void engine_outq_clear(struct engine_outq *q)
{
	q->n = 0;
	q->n_orig = 0;
	bytebuf_clear(&q->bytes);
}

void engine_outq_free(struct engine_outq *q)
{
	free(q->v);
	free(q->orig);
	bytebuf_free(&q->bytes);
	memset(q, 0, sizeof(*q));
}

static bool outq_push(struct engine *e, struct engine_outq *q, uint32_t id,
		      enum engine_verdict verdict, const uint8_t *data, size_t len)
{
	struct engine_out *o;

	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct engine_out *g = realloc(q->v, cap * sizeof(*g));

		if (!g)
			goto fail;
		q->v = g;
		q->cap = cap;
	}
	o = &q->v[q->n];
	o->id = id;
	o->verdict = verdict;
	o->offset = q->bytes.len;
	o->len = len;
	if (verdict == ENGINE_ACCEPT_MODIFIED && !bytebuf_append(&q->bytes, data, len))
		goto fail;
	q->n++;
	switch (verdict) {
	case ENGINE_ACCEPT:
		e->stats.accepted++;
		break;
	case ENGINE_ACCEPT_MODIFIED:
		e->stats.modified++;
		break;
	case ENGINE_DROP:
		e->stats.dropped++;
		break;
	}
	return true;
fail:
	/* Out of memory for the verdict itself: the queue's fail-open and
	 * the kernel's own timeout are all that is left; count it. */
	e->stats.alloc_failures++;
	return false;
}

/* ---- translation ------------------------------------------------------ */

struct sack_map {
	struct seqmap *map;
	uint32_t ack;        /* the packet's ack, output space */
	uint32_t mapped_ack; /* the same ack, input space */
};

/* Edges at or below the cumulative ack belong to D-SACK reports of data
 * whose edits may already be folded away: they cannot be mapped exactly,
 * and claiming too much would make the sender skip data. They become an
 * empty block at the ack, which a receiver of SACK ignores. */
static uint32_t map_sack_edge(void *arg, uint32_t edge, bool left)
{
	struct sack_map *sm = arg;
	uint64_t out;

	if (!seq_after(edge, sm->ack))
		return sm->mapped_ack;
	out = seqmap_out_offset(sm->map, edge);
	return seqmap_seq_of(sm->map, left ? seqmap_in_of_out_left(sm->map, out)
					   : seqmap_in_of_out_right(sm->map, out));
}

static bool has_tcp_options(const struct packet *pkt)
{
	return pkt->l4_header_len > 20;
}

static size_t segment_limit(const struct inline_dir *d, const struct packet *pkt, bool gso)
{
	size_t opts = pkt->l4_header_len - 20, mss;

	if (gso)
		return GSO_PAYLOAD_LIMIT;
	mss = d->peer_mss ? d->peer_mss : (d->max_payload_seen > MIN_SEGMENT_PAYLOAD
						    ? d->max_payload_seen
						    : MIN_SEGMENT_PAYLOAD);
	return mss > opts ? mss - opts : 0;
}

static size_t payload_limit(const struct inline_dir *d, const struct held_packet *h)
{
	return segment_limit(d, &h->pkt, h->gso);
}

/* Send one packet on, translated: seq through this direction's map, ack
 * and SACK through the other's, payload rebuilt from the edit list. */
static void forward(struct engine *e, struct inline_flow *ifl, enum im_dir dir, uint32_t id,
		    const uint8_t *ip, const struct packet *pkt, bool gso, bool force_modified,
		    struct engine_outq *out)
{
	struct inline_dir *d = &ifl->dir[dir], *o = &ifl->dir[!dir];
	bool syn = pkt->tcp_flags & TCP_FLAG_SYN;
	uint32_t seq = pkt->seq, ack = pkt->ack, data_seq = pkt->seq + (syn ? 1 : 0);
	const uint8_t *payload = pkt->payload;
	size_t payload_len = pkt->payload_len;
	bool changed = force_modified, map_sack = false;
	uint64_t out_start;
	struct sack_map sm;

	if (d->started && !seqmap_is_identity(&d->map)) {
		uint64_t in = seqmap_in_offset(&d->map, data_seq);

		if (payload_len) {
			bytebuf_clear(&e->payload);
			if (seqmap_build_output(&d->map, in, pkt->payload, pkt->payload_len, &out_start,
						&e->payload) < 0) {
				e->stats.alloc_failures++;
				outq_push(e, out, id, ENGINE_ACCEPT, NULL, 0);
				return;
			}
			payload = e->payload.data;
			payload_len = e->payload.len;
			/* Bytes the receiver already has need not go again; what is
			 * left must fit the path (a retransmission may cover more
			 * edits than the segment that first carried them). */
			if (d->peer_acked_out > out_start &&
			    d->peer_acked_out < out_start + payload_len) {
				size_t skip = (size_t)(d->peer_acked_out - out_start);

				out_start += skip;
				payload += skip;
				payload_len -= skip;
			}
			if (!gso) {
				size_t limit = segment_limit(d, pkt, false);

				if (limit < pkt->payload_len)
					limit = pkt->payload_len;
				if (payload_len > limit) {
					payload_len = limit;
					e->stats.segments_capped++;
				}
			}
			if (payload_len != pkt->payload_len ||
			    (payload_len && memcmp(payload, pkt->payload, payload_len) != 0))
				changed = true;
		} else {
			out_start = seqmap_out_of_in(&d->map, in);
		}
		seq = seqmap_seq_of(&d->map, out_start) - (syn ? 1 : 0);
	}
	if ((pkt->tcp_flags & TCP_FLAG_ACK) && o->started && !seqmap_is_identity(&o->map)) {
		uint64_t acked = seqmap_out_offset(&o->map, pkt->ack);

		ack = seqmap_seq_of(&o->map, seqmap_in_of_out(&o->map, acked));
		map_sack = has_tcp_options(pkt);
		sm.map = &o->map;
		sm.ack = pkt->ack;
		sm.mapped_ack = ack;
	}
	if (e->cur_link)
		inject_learn(e, ifl, dir, ip, pkt, seq, ack, payload_len);
	if (seq != pkt->seq || ack != pkt->ack || map_sack)
		changed = true;
	if (!changed) {
		outq_push(e, out, id, ENGINE_ACCEPT, NULL, 0);
		return;
	}
	if (pkt->payload_len && !payload_len &&
	    !(pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST))) {
		/* Every byte was deleted: nothing left to send. Later segments
		 * carry the cumulative ack this one had. The receiver never
		 * acknowledges bytes it never got: when nothing else of the
		 * sender's follows, we do, or the sender resends them forever. */
		outq_push(e, out, id, ENGINE_DROP, NULL, 0);
		if (e->cur_link)
			inject_ack_deleted(e, ifl, dir, out);
		return;
	}
	if (tcp_edit_build(ip, pkt, seq, ack, map_sack ? map_sack_edge : NULL, &sm, payload,
			   payload_len, &e->scratch) < 0) {
		e->stats.alloc_failures++;
		outq_push(e, out, id, ENGINE_ACCEPT, NULL, 0);
		return;
	}
	outq_push(e, out, id, ENGINE_ACCEPT_MODIFIED, e->scratch.data, e->scratch.len);
}

/* ---- holding ---------------------------------------------------------- */

static void hold_list_update(struct engine *e, struct inline_flow *ifl)
{
	bool holds = ifl->dir[0].n_held || ifl->dir[1].n_held;

	if (holds && !ifl->in_hold_list) {
		ifl->hold_prev = NULL;
		ifl->hold_next = e->holding;
		if (e->holding)
			e->holding->hold_prev = ifl;
		e->holding = ifl;
		ifl->in_hold_list = true;
	} else if (!holds && ifl->in_hold_list) {
		if (ifl->hold_prev)
			ifl->hold_prev->hold_next = ifl->hold_next;
		else
			e->holding = ifl->hold_next;
		if (ifl->hold_next)
			ifl->hold_next->hold_prev = ifl->hold_prev;
		ifl->hold_prev = ifl->hold_next = NULL;
		ifl->in_hold_list = false;
	}
}

static void held_free(struct held_packet *h)
{
	if (h->owned)
		free(h->data);
	free(h);
}

/* Send on held packets of a direction, oldest first, while their bytes end
 * at or before `upto` and have been decoded (no hole before them); with
 * past_holes, also those still waiting behind a hole. */
static void release_upto(struct engine *e, struct inline_flow *ifl, enum im_dir dir,
			 uint64_t upto, bool past_holes, struct engine_outq *out)
{
	struct inline_dir *d = &ifl->dir[dir];
	const struct reasm *r = &ifl->flow->reasm[dir];
	struct held_packet *h;

	while ((h = d->head) && h->in_end <= upto &&
	       (past_holes || !r->started || h->in_end <= r->offset)) {
		d->head = h->next;
		if (!d->head)
			d->tail = NULL;
		d->n_held--;
		d->held_bytes -= h->len;
		if (h->owned) {
			e->held_now--;
			e->held_bytes_now -= h->len;
		}
		if (h == e->in_hand)
			e->in_hand = NULL;
		forward(e, ifl, dir, h->id, h->data, &h->pkt, h->gso, false, out);
		if (h->in_end > d->released_end)
			d->released_end = h->in_end;
		held_free(h);
	}
}

static void release_all_dir(struct engine *e, struct inline_flow *ifl, enum im_dir dir,
			    struct engine_outq *out)
{
	release_upto(e, ifl, dir, UINT64_MAX, true, out);
}

/* Keep the packet in hand, if it is still held, as an owned copy. */
static bool keep_in_hand(struct engine *e)
{
	struct held_packet *h = e->in_hand;
	uint8_t *copy;

	e->in_hand = NULL;
	if (!h || h->owned)
		return true;
	copy = malloc(h->len);
	if (!copy) {
		e->stats.alloc_failures++;
		return false;
	}
	memcpy(copy, h->data, h->len);
	h->pkt.payload = copy + (h->pkt.payload - h->data);
	h->data = copy;
	h->owned = true;
	e->held_now++;
	e->held_bytes_now += h->len;
	e->stats.held++;
	return true;
}

/* Held packets stay in stream order: an out-of-order one waits in its
 * place until the hole before it fills. */
static void insert_held(struct inline_dir *d, struct held_packet *h)
{
	struct held_packet **pp = &d->head, *prev = NULL;

	while (*pp && (*pp)->in_start <= h->in_start) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	h->next = *pp;
	*pp = h;
	if (!h->next)
		d->tail = h;
	(void)prev;
	d->n_held++;
	d->held_bytes += h->len;
}

/* ---- edits ------------------------------------------------------------ */

static void pending_clear(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->n_pending; i++)
		free(e->pending[i].bytes);
	e->n_pending = 0;
}

static void pending_add(struct engine *e, const struct im_event *ev, uint64_t start, uint64_t end,
			const uint8_t *bytes, size_t len, int pdu_delta)
{
	struct pending_edit *p;
	size_t i;

	for (i = 0; i < e->n_pending; i++)
		if (e->pending[i].dir == ev->dir && e->pending[i].start == start &&
		    e->pending[i].end == end)
			return; /* one PDU, several events: the first decision stands */
	if (e->n_pending == e->cap_pending) {
		size_t cap = e->cap_pending ? e->cap_pending * 2 : 8;
		struct pending_edit *g = realloc(e->pending, cap * sizeof(*g));

		if (!g) {
			e->stats.alloc_failures++;
			return;
		}
		e->pending = g;
		e->cap_pending = cap;
	}
	p = &e->pending[e->n_pending];
	p->flow_id = ev->flow_id;
	p->dir = ev->dir;
	p->start = start;
	p->end = end;
	p->len = len;
	p->pdu_delta = pdu_delta;
	p->bytes = NULL;
	if (len) {
		p->bytes = malloc(len);
		if (!p->bytes) {
			e->stats.alloc_failures++;
			return;
		}
		memcpy(p->bytes, bytes, len);
	}
	e->n_pending++;
}

/* Apply one edit to the held bytes of a direction, cut at packet
 * boundaries so that no packet grows past what its path takes. */
static void apply_edit(struct engine *e, struct inline_flow *ifl, struct pending_edit *pe)
{
	struct inline_dir *d = &ifl->dir[pe->dir];
	struct held_packet *h;
	uint64_t start = pe->start, end = pe->end;
	const uint8_t *bytes = pe->bytes;
	size_t n = pe->len, total_cap = 0, take, assigned, k, count = 0;
	size_t portions[DEFAULT_MAX_HELD_PACKETS * 4], caps[DEFAULT_MAX_HELD_PACKETS * 4];
	struct held_packet *hits[DEFAULT_MAX_HELD_PACKETS * 4];
	const struct proto_module *m;

	if (start < d->released_end) {
		/* Part of the PDU already went out: it is committed. Only a
		 * same-length change of the rest is still possible. */
		size_t skip = (size_t)(d->released_end - start);

		if (n != end - start || end <= d->released_end) {
			e->stats.edits_refused_committed++;
			return;
		}
		start += skip;
		bytes += skip;
		n -= skip;
	}
	for (h = d->head; h; h = h->next) {
		bool hit = start == end ? (h->in_start < start && start <= h->in_end)
					: (h->in_start < end && h->in_end > start);
		size_t lo, hi, base, limit;

		if (!hit)
			continue;
		if (count == sizeof(hits) / sizeof(hits[0])) {
			e->stats.edits_refused_size++;
			return;
		}
		lo = (size_t)((start > h->in_start ? start : h->in_start) - h->in_start);
		hi = (size_t)((end < h->in_end ? end : h->in_end) - h->in_start);
		portions[count] = hi - lo;
		base = h->pkt.payload_len - portions[count];
		limit = payload_limit(d, h);
		caps[count] = limit > base ? limit - base : 0;
		if (caps[count] < portions[count])
			caps[count] = portions[count]; /* same length always fits */
		total_cap += caps[count];
		hits[count++] = h;
	}
	if (!count) {
		e->stats.edits_refused_committed++;
		return;
	}
	if (n > total_cap) {
		e->stats.edits_refused_size++;
		return;
	}
	/* Each packet keeps its share of the replacement; growth goes to the
	 * last packets first, as far as each one's room allows. */
	for (k = 0, assigned = 0; k < count; k++) {
		take = portions[k] < n - assigned ? portions[k] : n - assigned;
		caps[k] -= take;
		portions[k] = take;
		assigned += take;
	}
	for (k = count; k-- > 0 && assigned < n;) {
		take = caps[k] < n - assigned ? caps[k] : n - assigned;
		portions[k] += take;
		assigned += take;
	}
	for (k = 0, assigned = 0; k < count; k++) {
		h = hits[k];
		uint64_t lo = start > h->in_start ? start : h->in_start;
		uint64_t hi = end < h->in_end ? end : h->in_end;

		if (start == end)
			lo = hi = start;
		if (seqmap_add_edit(&d->map, lo, hi - lo, portions[k] ? bytes + assigned : NULL,
				    portions[k]) < 0) {
			e->stats.alloc_failures++;
			return;
		}
		assigned += portions[k];
	}
	e->stats.edits++;
	m = ifl->flow->app ? ifl->flow->app->session.module : NULL;
	if (pe->pdu_delta && m && m->pdu_count_changed)
		m->pdu_count_changed(&ifl->flow->app->session, pe->dir, pe->pdu_delta);
}

/* ---- policy hook ------------------------------------------------------ */

#define MAX_DEFERRED_NOTICES 256

struct deferred_notice {
	uint64_t flow_id;
	uint8_t *bytes; /* encoded PDUs towards the local client */
	size_t len;
	int pdus;
};

static void encode_edit(struct engine *e, struct proto_session *s, const struct im_event *ev,
			const char *new_text)
{
	struct im_event copy;
	struct bytebuf out;

	if (!s->module->encode) {
		e->stats.edits_refused_encode++;
		return;
	}
	if (!event_copy(&copy, ev)) {
		e->stats.alloc_failures++;
		return;
	}
	bytebuf_init(&out);
	if (!event_set_str(&copy.text, new_text) ||
	    s->module->encode(s, ev->dir, &copy, ev->pdu_data, ev->pdu_len, &out) < 0) {
		e->stats.edits_refused_encode++;
	} else if (out.len != ev->pdu_len || memcmp(out.data, ev->pdu_data, out.len) != 0) {
		/* Only the bytes that differ are edited: a smaller edit grows
		 * fewer segments and survives a prefix already sent on. */
		size_t pre = 0, suf = 0, old_len = ev->pdu_len;

		while (pre < old_len && pre < out.len && ev->pdu_data[pre] == out.data[pre])
			pre++;
		while (suf < old_len - pre && suf < out.len - pre &&
		       ev->pdu_data[old_len - 1 - suf] == out.data[out.len - 1 - suf])
			suf++;
		pending_add(e, ev, ev->pdu_offset + pre, ev->pdu_offset + old_len - suf,
			    out.data + pre, out.len - pre - suf, 0);
	}
	bytebuf_free(&out);
	event_free(&copy);
}

/* A new message PDU built by the module from the neutral fields, appended
 * to out; false when the module cannot build one. With notice (the
 * decision it comes from), a system notice (im_event.notice). */
static bool encode_message(struct engine *e, struct proto_session *s, const struct im_event *ev,
			   enum im_dir dir, const char *text, const struct policy_decision *notice,
			   struct bytebuf *out)
{
	struct im_event msg;
	size_t mark = out->len;
	bool ok;

	if (!s->module->encode) {
		e->stats.edits_refused_encode++;
		return false;
	}
	if (!event_copy(&msg, ev)) {
		e->stats.alloc_failures++;
		return false;
	}
	msg.dir = dir;
	msg.kind = IM_KIND_MESSAGE;
	msg.notice = notice != NULL;
	ok = event_set_str(&msg.text, text) &&
	     (!notice || !notice->notice_from || event_set_str(&msg.notice_from, notice->notice_from)) &&
	     s->module->encode(s, dir, &msg, NULL, 0, out) == 0 && out->len > mark;
	if (!ok) {
		out->len = mark;
		e->stats.edits_refused_encode++;
	}
	event_free(&msg);
	return ok;
}

/* A blocked PDU is deleted; if part of it already went out, the rest can
 * only change in place, so its text is blanked instead (DESIGN, Holding). */
static void block_pdu(struct engine *e, struct inline_flow *ifl, struct proto_session *s,
		      const struct im_event *ev, const struct bytebuf *replacement, int pdus)
{
	uint64_t start = ev->pdu_offset, end = ev->pdu_offset + ev->pdu_len;
	struct im_event blank;
	struct bytebuf out;
	bool encoded = false;
	char *spaces;
	size_t n;

	e->stats.policy_blocked++;
	if (ifl && start >= ifl->dir[ev->dir].released_end) {
		pending_add(e, ev, start, end, replacement ? replacement->data : NULL,
			    replacement ? replacement->len : 0, pdus - 1);
		return;
	}
	e->stats.policy_blanked++;
	if (!ev->text || ev->kind != IM_KIND_MESSAGE)
		return;
	/* The module's own encoding of blanks when it keeps the length (text
	 * in another charset); else the raw text bytes become spaces. */
	n = strlen(ev->text);
	spaces = malloc(n + 1);
	if (!spaces) {
		e->stats.alloc_failures++;
		return;
	}
	memset(spaces, ' ', n);
	spaces[n] = '\0';
	bytebuf_init(&out);
	if (s->module->encode) {
		if (!event_copy(&blank, ev)) {
			e->stats.alloc_failures++;
		} else {
			if (event_set_str(&blank.text, spaces) &&
			    s->module->encode(s, ev->dir, &blank, ev->pdu_data, ev->pdu_len, &out) == 0 &&
			    out.len == ev->pdu_len)
				encoded = true;
			event_free(&blank);
		}
	}
	if (encoded) {
		encode_edit(e, s, ev, spaces);
	} else if (ev->has_text_span && ev->text_offset + ev->text_len <= ev->pdu_len) {
		uint8_t *raw = malloc(ev->text_len ? ev->text_len : 1);

		if (raw) {
			memset(raw, ' ', ev->text_len);
			pending_add(e, ev, start + ev->text_offset, start + ev->text_offset + ev->text_len,
				    raw, ev->text_len, 0);
			free(raw);
		} else {
			e->stats.alloc_failures++;
		}
	}
	bytebuf_free(&out);
	free(spaces);
}

void engine_defer_insertion(struct engine *e, uint64_t flow_id, const uint8_t *bytes, size_t len,
			    int pdus)
{
	struct deferred_notice *dn;

	if (e->n_deferred == MAX_DEFERRED_NOTICES) {
		/* The oldest waited longest for a PDU that never came. */
		free(e->deferred[0].bytes);
		memmove(e->deferred, e->deferred + 1, (e->n_deferred - 1) * sizeof(*dn));
		e->n_deferred--;
		e->stats.notices_dropped++;
	}
	if (!e->deferred) {
		e->deferred = calloc(MAX_DEFERRED_NOTICES, sizeof(*dn));
		if (!e->deferred) {
			e->stats.alloc_failures++;
			return;
		}
	}
	dn = &e->deferred[e->n_deferred];
	dn->bytes = malloc(len ? len : 1);
	if (!dn->bytes) {
		e->stats.alloc_failures++;
		return;
	}
	memcpy(dn->bytes, bytes, len);
	dn->len = len;
	dn->flow_id = flow_id;
	dn->pdus = pdus;
	e->n_deferred++;
}

static void drop_deferred(struct engine *e, size_t i)
{
	free(e->deferred[i].bytes);
	memmove(e->deferred + i, e->deferred + i + 1, (e->n_deferred - i - 1) * sizeof(*e->deferred));
	e->n_deferred--;
}

/* Notices waiting for this flow go right after a complete PDU towards
 * the local client, unless that PDU is being edited itself. */
static void flush_deferred(struct engine *e, uint64_t flow_id, uint64_t offset, size_t len)
{
	struct im_event key;
	size_t i, j;

	for (i = 0; i < e->n_deferred;) {
		if (e->deferred[i].flow_id != flow_id) {
			i++;
			continue;
		}
		for (j = 0; j < e->n_pending; j++)
			if (e->pending[j].flow_id == flow_id && e->pending[j].dir == IM_DIR_IN &&
			    e->pending[j].end >= offset && e->pending[j].start <= offset + len)
				return;
		event_init(&key);
		key.dir = IM_DIR_IN;
		key.flow_id = flow_id;
		pending_add(e, &key, offset + len, offset + len, e->deferred[i].bytes,
			    e->deferred[i].len, e->deferred[i].pdus);
		e->stats.notices_injected += (uint64_t)e->deferred[i].pdus;
		drop_deferred(e, i);
		return; /* one insertion per point */
	}
}

static struct policy *active_policy(const struct engine *e)
{
	return e->cfg.policy ? e->cfg.policy : e->own_policy;
}

/* Routing takes whole PDUs off the wire too, so it holds like a policy. */
static bool policy_may_edit(const struct engine *e)
{
	const struct policy *p = active_policy(e);

	return e->routing || (p && !policy_is_empty(p));
}

static void pdu_log_flush(struct engine *e)
{
	size_t i;

	for (i = 0; i < e->n_pdu_log; i++) {
		if (e->pdu_blocked)
			e->pdu_log[i].filtered = true;
		if (e->log)
			e->log(e->log_arg, &e->pdu_log[i]);
		event_free(&e->pdu_log[i]);
	}
	e->n_pdu_log = 0;
	e->pdu_blocked = false;
}

static void pdu_log_add(struct engine *e, const struct im_event *ev)
{
	if (e->n_pdu_log == e->cap_pdu_log) {
		size_t cap = e->cap_pdu_log ? e->cap_pdu_log * 2 : 4;
		struct im_event *g = realloc(e->pdu_log, cap * sizeof(*g));

		if (!g)
			goto now;
		e->pdu_log = g;
		e->cap_pdu_log = cap;
	}
	if (event_copy(&e->pdu_log[e->n_pdu_log], ev)) {
		e->n_pdu_log++;
		return;
	}
now:
	/* No memory to wait: log it as decided so far rather than lose it. */
	e->stats.alloc_failures++;
	if (e->log)
		e->log(e->log_arg, ev);
}

struct bot_reply_ctx {
	struct engine *e;
	const struct im_event *ev;
	bool ok;
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
	if (!event_set_str(&msg.local, ev->local) || !event_set_str(&msg.remote, ev->remote) ||
	    !event_set_str(&msg.text, text) ||
	    !(msg.route_to = address_format(ev->proto, ev->local)) ||
	    router_post(c->e->cfg.router, c->e->cfg.worker, ev->flow_id, &msg) < 0) {
		c->e->stats.alloc_failures++;
		c->ok = false;
	}
	event_free(&msg);
}

/* The message the recipient's worker will encode and inject. */
static bool post_delivery(struct engine *e, struct proto_session *s, const struct im_event *ev,
			  const struct route_ctx *rc, const char *text)
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
	ok = event_set_str(&msg.local, t->session.local_id) &&
	     event_set_str(&msg.remote, t->as_remote) && event_set_str(&msg.text, text) &&
	     event_set_str(&msg.route_to, t->to) &&
	     /* The sender's full address means something only on its own service. */
	     (t->session.proto != ev->proto || !s->local_address ||
	      event_set_str(&msg.remote_address, s->local_address)) &&
	     router_post(e->cfg.router, t->session.worker, t->session.flow_id, &msg) == 0;
	event_free(&msg);
	return ok;
}

/* A message the routing stage sent to a local session or a bot: it leaves
 * the sender's server-bound stream, whole, or not at all. */
static bool take_routed(struct engine *e, struct inline_flow *ifl, struct proto_session *s,
			const struct im_event *ev, struct route_ctx *rc)
{
	const char *text = rc->decision.action == POLICY_REPLACE_TEXT && rc->decision.text
				   ? rc->decision.text
				   : ev->text;
	struct bot_reply_ctx bc = { e, ev, true };
	size_t mark = e->to_client.len;
	int n = 0;

	if (!ifl || ev->pdu_offset < ifl->dir[ev->dir].released_end ||
	    (e->n_to_client && e->to_client_flow != ev->flow_id)) {
		e->stats.route_fallbacks++;
		return false;
	}
	/* What the sender's client would have heard from its server: a
	 * message whose receipt cannot be made goes to the server after all,
	 * or the client would wait for it forever. */
	if (s->module->local_receipt &&
	    (n = s->module->local_receipt(s, ev, ev->pdu_data, ev->pdu_len, &e->to_client)) < 0) {
		e->to_client.len = mark;
		e->stats.route_fallbacks++;
		return false;
	}
	if (rc->target.kind == ROUTE_TARGET_SESSION) {
		if (!post_delivery(e, s, ev, rc, text)) {
			e->to_client.len = mark;
			e->stats.deliveries_lost++;
			return false;
		}
		e->stats.routed_local++;
	} else {
		route_bot_answer(rc, post_bot_reply, &bc);
		e->stats.routed_bot++;
	}
	inject_track(e, ifl);
	pending_add(e, ev, ev->pdu_offset, ev->pdu_offset + ev->pdu_len, NULL, 0, -1);
	if (n > 0) {
		e->n_to_client += n;
		e->to_client_flow = ev->flow_id;
		e->stats.receipts_synthesised += (uint64_t)n;
	} else {
		e->to_client.len = mark;
	}
	return true;
}

static void on_event(void *arg, const struct im_event *ev)
{
	struct engine *e = arg;
	struct policy *p = active_policy(e);
	struct flow *f = e->cur_flow;
	bool editable = f && f->id == ev->flow_id && f->app && ev->pdu_data;
	struct im_event logged = *ev;
	struct proto_session *s = editable ? &f->app->session : NULL;
	struct inline_flow *ifl = editable ? f->ext : NULL;
	struct route_ctx rc;
	struct policy_decision *d = &rc.decision;
	struct bytebuf after, notices;
	int n_after = 0, n_notices = 0;
	bool taken = false;
	size_t i;

	if (!p && !e->routing) {
		if (e->log)
			e->log(e->log_arg, ev);
		return;
	}
	route_decide(e->routing ? e->cfg.router : NULL, p, e->cfg.worker, ev, &rc);
	/* The log keeps the original text, as IMSpector does. */
	logged.filtered = d->filtered;
	bytebuf_init(&after);
	bytebuf_init(&notices);
	if (editable && rc.outcome == ROUTE_LOCAL && !(taken = take_routed(e, ifl, s, ev, &rc)))
		rc.outcome = ROUTE_FORWARDED;
	if (editable && !taken) {
		if (d->inject_after &&
		    encode_message(e, s, ev, ev->dir, d->inject_after, NULL, &after))
			n_after++;
		for (i = 0; i < d->n_notices; i++)
			if (encode_message(e, s, ev, IM_DIR_IN, d->notices[i], d, &notices))
				n_notices++;
		/* Towards the remote party: after this PDU, which is outgoing. */
		for (i = 0; ev->dir == IM_DIR_OUT && i < d->n_remote_notices; i++) {
			if (encode_message(e, s, ev, IM_DIR_OUT, d->remote_notices[i], d, &after)) {
				n_after++;
				e->stats.notices_injected++;
			}
		}
		/* Towards the local client the notices ride with this PDU. */
		if (ev->dir == IM_DIR_IN && n_notices) {
			if (!bytebuf_append(&after, notices.data, notices.len))
				e->stats.alloc_failures++;
			else
				n_after += n_notices;
			e->stats.notices_injected += (uint64_t)n_notices;
			n_notices = 0;
		}
		switch (d->action) {
		case POLICY_PASS:
			break;
		case POLICY_REPLACE_TEXT:
			if (ev->kind == IM_KIND_MESSAGE)
				encode_edit(e, s, ev, d->text);
			break;
		case POLICY_BLOCK:
			if (ev->dir == IM_DIR_IN && n_after &&
			    ev->pdu_offset >= (ifl ? ifl->dir[ev->dir].released_end : UINT64_MAX)) {
				/* What follows takes the blocked PDU's place. */
				block_pdu(e, ifl, s, ev, &after, n_after);
				n_after = 0;
			} else {
				block_pdu(e, ifl, s, ev, NULL, 0);
			}
			break;
		case POLICY_REPLACE_PDU: {
			struct bytebuf with;

			with.data = d->pdu;
			with.len = d->pdu_len;
			with.cap = d->pdu_len;
			block_pdu(e, ifl, s, ev, &with, 1);
			break;
		}
		}
		if (n_after)
			pending_add(e, ev, ev->pdu_offset + ev->pdu_len, ev->pdu_offset + ev->pdu_len,
				    after.data, after.len, n_after);
		if (n_notices && e->cur_link &&
		    (e->n_to_client == 0 || e->to_client_flow == ev->flow_id) &&
		    bytebuf_append(&e->to_client, notices.data, notices.len)) {
			/* imwired can send towards the client itself. */
			e->n_to_client += n_notices;
			e->to_client_flow = ev->flow_id;
			e->stats.notices_injected += (uint64_t)n_notices;
		} else if (n_notices) {
			engine_defer_insertion(e, ev->flow_id, notices.data, notices.len, n_notices);
		}
	}
	if (e->routing) {
		logged.route = route_outcome_name(rc.outcome);
		logged.route_to = rc.outcome == ROUTE_LOCAL ? rc.target.to : NULL;
	}
	if (d->action == POLICY_BLOCK && editable)
		e->pdu_blocked = true;
	if (editable)
		pdu_log_add(e, &logged);
	else if (e->log)
		e->log(e->log_arg, &logged);
	bytebuf_free(&after);
	bytebuf_free(&notices);
	route_ctx_free(&rc);
}

/* Stateful protocols renumber every later PDU after an insertion or a
 * deletion (OSCAR FLAP sequence numbers): a same-length edit each. */
static void on_pdu(void *arg, struct app_flow *af, enum im_dir dir, uint64_t offset,
		   const uint8_t *pdu, size_t len)
{
	struct engine *e = arg;
	struct proto_session *s = &af->session;
	struct im_event key;

	pdu_log_flush(e); /* every event of this PDU has been decided */
	if (policy_may_edit(e))
		s->edits_possible = true;
	if (dir == IM_DIR_IN && e->n_deferred && e->cur_flow && e->cur_flow->app == af)
		flush_deferred(e, e->cur_flow->id, offset, len);
	if (!s->module->fixup_pdu || !e->cur_flow || e->cur_flow->app != af)
		return;
	bytebuf_clear(&e->payload);
	if (!bytebuf_append(&e->payload, pdu, len)) {
		e->stats.alloc_failures++;
		return;
	}
	if (!s->module->fixup_pdu(s, dir, e->payload.data, len))
		return;
	event_init(&key);
	key.dir = dir;
	key.flow_id = e->cur_flow->id;
	pending_add(e, &key, offset, offset + len, e->payload.data, len, 0);
}

/* ---- flows ------------------------------------------------------------ */

static void free_inline_flow(struct engine *e, struct inline_flow *ifl)
{
	int d;

	for (d = 0; d < 2; d++) {
		if (e->cur_out)
			release_all_dir(e, ifl, (enum im_dir)d, e->cur_out);
		/* Without an output queue nothing can be sent: drop the copies
		 * (only at teardown after engine_release_all). */
		while (ifl->dir[d].head) {
			struct held_packet *h = ifl->dir[d].head;

			ifl->dir[d].head = h->next;
			if (h->owned) {
				e->held_now--;
				e->held_bytes_now -= h->len;
			}
			held_free(h);
		}
		ifl->dir[d].tail = NULL;
		ifl->dir[d].n_held = 0;
		seqmap_free(&ifl->dir[d].map);
	}
	hold_list_update(e, ifl);
	free(ifl);
}

static enum imw_proto flow_proto(const struct flow *f)
{
	return f->app && f->app->state == APP_DECODING ? f->app->session.module->id
						       : IMW_PROTO_NONE;
}

static void on_flow_release(void *arg, struct flow *f)
{
	struct engine *e = arg;
	struct inline_flow *ifl = f->ext;
	size_t i;

	f->ext = NULL;
	if (e->cur_flow == f)
		e->cur_flow = NULL;
	if (e->cfg.publish)
		bpf_publish_forget(e->cfg.publish, f);
	for (i = e->n_deferred; i-- > 0;) {
		if (e->deferred[i].flow_id == f->id) {
			drop_deferred(e, i);
			e->stats.notices_dropped++;
		}
	}
	if (ifl) {
		inject_flow_gone(e, ifl);
		free_inline_flow(e, ifl);
	}
}

int engine_init(struct engine *e, const struct engine_config *cfg, proto_emit_fn log,
		void *log_arg)
{
	memset(e, 0, sizeof(*e));
	e->cfg = *cfg;
	e->cfg.flow.ext_release = on_flow_release;
	e->cfg.flow.ext_arg = e;
	e->cfg.flow.app.pdu_seen = on_pdu;
	e->cfg.flow.app.pdu_seen_arg = e;
	e->log = log;
	e->log_arg = log_arg;
	bytebuf_init(&e->scratch);
	bytebuf_init(&e->payload);
	bytebuf_init(&e->syn);
	bytebuf_init(&e->to_client);
	e->routing = router_active(cfg->router);
	if (!cfg->policy && (cfg->rules.drop_word || cfg->rules.rewrite_from ||
			     (cfg->rules.inject_word && cfg->rules.inject_text))) {
		e->own_policy = policy_new_test_rules(cfg->rules.rewrite_from, cfg->rules.rewrite_to,
						      cfg->rules.drop_word, cfg->rules.inject_word,
						      cfg->rules.inject_text);
		if (!e->own_policy)
			return -1;
	}
	return flow_table_init(&e->flows, &e->cfg.flow, on_event, e);
}

void engine_destroy(struct engine *e, struct engine_outq *out)
{
	e->cur_out = out;
	e->cur_flow = NULL;
	flow_table_destroy(&e->flows);
	e->cur_out = NULL;
	pdu_log_flush(e);
	free(e->pdu_log);
	pending_clear(e);
	free(e->pending);
	while (e->n_deferred)
		drop_deferred(e, e->n_deferred - 1);
	free(e->deferred);
	policy_unref(e->own_policy);
	e->own_policy = NULL;
	bytebuf_free(&e->scratch);
	bytebuf_free(&e->payload);
	bytebuf_free(&e->syn);
	bytebuf_free(&e->to_client);
}

static struct inline_flow *inline_state(struct engine *e, struct flow *f)
{
	struct inline_flow *ifl = f->ext;

	if (ifl)
		return ifl;
	ifl = calloc(1, sizeof(*ifl));
	if (!ifl) {
		e->stats.alloc_failures++;
		return NULL;
	}
	ifl->flow = f;
	f->ext = ifl;
	return ifl;
}

static void start_dir(struct inline_dir *d, uint32_t first_data_seq)
{
	if (d->started)
		return;
	seqmap_init(&d->map, first_data_seq);
	d->started = true;
}

/* A flow met in mid-stream may be one we edited before a restart: the
 * classifier kept its offsets and fixed it up meanwhile. Take them over,
 * so both directions translate exactly as before. */
static void adopt_published(struct engine *e, struct inline_flow *ifl, enum im_dir dir,
			    const struct packet *pkt, uint32_t data_seq)
{
	struct inline_dir *d = &ifl->dir[dir], *o = &ifl->dir[!dir];
	int32_t delta[2];

	ifl->adoption_checked = true;
	if (!e->cfg.publish || (pkt->tcp_flags & TCP_FLAG_SYN) ||
	    bpf_publish_lookup(e->cfg.publish, ifl->flow, delta) != 1 || (!delta[0] && !delta[1]))
		return;
	start_dir(d, data_seq);
	d->map.base_delta = delta[dir];
	if (pkt->tcp_flags & TCP_FLAG_ACK) {
		start_dir(o, pkt->ack - (uint32_t)delta[!dir]);
		o->map.base_delta = delta[!dir];
	}
	e->stats.flows_adopted++;
}

/* Receipts the sender's client expects, once its message left the wire. */
static void send_to_client(struct engine *e, double now, struct engine_outq *out)
{
	struct inline_flow *ifl = inject_find_flow(e, e->to_client_flow);

	if (!ifl || inject_bytes(e, ifl, IM_DIR_IN, e->to_client.data, e->to_client.len,
				 e->n_to_client, now, out) < 0)
		e->stats.notices_dropped += (uint64_t)e->n_to_client; /* the flow ended */
	bytebuf_clear(&e->to_client);
	e->n_to_client = 0;
}

static void engine_packet_inner(struct engine *e, uint32_t id, const uint8_t *ip, size_t len,
				bool gso, double now, struct engine_outq *out);

void engine_packet(struct engine *e, uint32_t id, const uint8_t *ip, size_t len, bool gso,
		   double now, struct engine_outq *out)
{
	engine_packet_with_link(e, id, ip, len, gso, NULL, now, out);
}

void engine_packet_with_link(struct engine *e, uint32_t id, const uint8_t *ip, size_t len,
			     bool gso, const struct engine_packet_link *link, double now,
			     struct engine_outq *out)
{
	e->cur_link = link;
	engine_packet_inner(e, id, ip, len, gso, now, out);
	e->cur_link = NULL;
	if (e->n_to_client)
		send_to_client(e, now, out);
	if (e->routing)
		engine_take_mail(e, now, out);
}

static void engine_packet_inner(struct engine *e, uint32_t id, const uint8_t *ip, size_t len,
				bool gso, double now, struct engine_outq *out)
{
	struct packet pkt, feed_pkt;
	const char *why;
	enum packet_status st;
	enum im_dir dir = IM_DIR_OUT;
	struct flow *f;
	struct inline_flow *ifl;
	struct inline_dir *d;
	const uint8_t *data = ip;
	bool syn, force_modified = false, closing, in_order = false, out_of_order = false;
	uint32_t data_seq;
	uint64_t x = 0, y = 0, in_next = 0, partial;
	size_t i;

	e->stats.packets++;
	memset(&pkt, 0, sizeof(pkt));
	st = packet_parse_ip(ip, len, len, &pkt, &why);
	if (st != PACKET_OK) {
		if (st == PACKET_MALFORMED)
			e->stats.malformed++;
		else
			e->stats.not_tcp++;
		outq_push(e, out, id, ENGINE_ACCEPT, NULL, 0);
		return;
	}
	pkt.ts = now;
	e->cur_out = out;
	f = flow_table_get(&e->flows, &pkt, &dir);
	ifl = f ? inline_state(e, f) : NULL;
	if (!ifl) {
		if (f)
			flow_table_feed(&e->flows, f, dir, &pkt);
		outq_push(e, out, id, ENGINE_ACCEPT, NULL, 0);
		e->cur_out = NULL;
		return;
	}
	d = &ifl->dir[dir];
	syn = pkt.tcp_flags & TCP_FLAG_SYN;
	data_seq = pkt.seq + (syn ? 1 : 0);
	if (!ifl->adoption_checked)
		adopt_published(e, ifl, dir, &pkt, data_seq);

	if (syn) {
		/* Lower the announced MSS so the other side sends segments that
		 * an edit may grow without passing the path MTU. */
		bool clamped = false;
		uint16_t mss;

		bytebuf_clear(&e->syn);
		/* Read even without headroom: segments we originate use it. */
		if (bytebuf_append(&e->syn, ip, len)) {
			mss = tcp_edit_clamp_mss(e->syn.data, &pkt, e->cfg.mss_headroom, &clamped);
			if (mss)
				ifl->dir[!dir].peer_mss = mss;
			if (clamped) {
				e->stats.mss_clamped++;
				force_modified = true;
				data = e->syn.data;
				pkt.payload = data + (pkt.payload - ip);
			}
		}
		start_dir(d, data_seq);
	}
	if (pkt.payload_len) {
		start_dir(d, data_seq);
		if (pkt.payload_len > d->max_payload_seen)
			d->max_payload_seen = pkt.payload_len;
		x = seqmap_in_offset(&d->map, data_seq);
		y = x + pkt.payload_len;
		in_next = f->reasm[dir].started ? f->reasm[dir].offset : x;
		in_order = x <= in_next && y > in_next && !pkt.truncated;
		out_of_order = x > in_next && !pkt.truncated;
	} else if ((pkt.tcp_flags & TCP_FLAG_FIN) && d->started && d->n_held) {
		/* A FIN must follow the held data, at its final place. */
		x = y = seqmap_in_offset(&d->map, data_seq);
		in_order = true;
	}
	if (in_order || out_of_order) {
		/* The packet in hand joins the held list while its bytes are
		 * decoded, so edits may cut through it; one that came before its
		 * turn waits there for the hole to fill (a bridge with several
		 * CPUs reorders now and then), so edits before it stay possible. */
		struct held_packet *cur = calloc(1, sizeof(*cur));

		if (!cur) {
			e->stats.alloc_failures++;
			in_order = out_of_order = false;
		} else {
			cur->id = id;
			cur->data = (uint8_t *)data;
			cur->len = len;
			cur->gso = gso;
			cur->pkt = pkt;
			cur->in_start = x;
			cur->in_end = y;
			cur->since = now;
			insert_held(d, cur);
			e->in_hand = cur;
		}
	}

	e->cur_flow = f;
	/* The decoders reassemble input (what senders sent); the peer acks
	 * output (what we sent on), so its ack is mapped back first or an
	 * edit that grew the stream would look like lost data. */
	feed_pkt = pkt;
	if ((pkt.tcp_flags & TCP_FLAG_ACK) && ifl->dir[!dir].started &&
	    !seqmap_is_identity(&ifl->dir[!dir].map)) {
		struct seqmap *om = &ifl->dir[!dir].map;

		feed_pkt.ack = seqmap_seq_of(om, seqmap_in_of_out(om, seqmap_out_offset(om, pkt.ack)));
	}
	closing = flow_table_feed(&e->flows, f, dir, &feed_pkt);
	for (i = 0; i < e->n_pending; i++)
		if (e->cur_flow && e->pending[i].flow_id == f->id)
			apply_edit(e, ifl, &e->pending[i]);
	pending_clear(e);
	if ((pkt.tcp_flags & TCP_FLAG_ACK) && ifl->dir[!dir].started) {
		struct inline_dir *o = &ifl->dir[!dir];
		uint64_t acked = seqmap_out_offset(&o->map, pkt.ack);

		size_t live = o->map.n_edits;

		if (acked > o->peer_acked_out)
			o->peer_acked_out = acked;
		seqmap_acknowledge(&o->map, acked);
		if (o->origins)
			inject_acked(e, ifl, !dir);
		/* All edits of that direction acknowledged: its map is one offset
		 * now, which the classifier can apply by itself if we die. */
		if (live && !o->map.n_edits && e->cfg.publish &&
		    bpf_publish_seqmap(e->cfg.publish, f, !dir, &o->map, flow_proto(f)) == 0)
			e->stats.offsets_published++;
	}

	if (in_order || out_of_order) {
		if (out_of_order)
			e->stats.out_of_order_held++;
		if (closing)
			release_all_dir(e, ifl, dir, out);
		else if (f->app && policy_may_edit(e) &&
			 app_flow_partial_pdu(f->app, dir, &partial))
			/* Hold only what a policy could still change: a daemon that
			 * just logs never holds (nor delays) anything. */
			release_upto(e, ifl, dir, partial, false, out);
		else
			release_upto(e, ifl, dir, UINT64_MAX, false, out);
		if (!keep_in_hand(e)) {
			/* Could not copy it: send it now rather than lose it. */
			release_all_dir(e, ifl, dir, out);
		}
		while (d->n_held > e->cfg.max_held_packets || d->held_bytes > e->cfg.max_held_bytes) {
			e->stats.bound_releases++;
			release_upto(e, ifl, dir, d->head->in_end, true, out);
		}
		/* The total over all flows is bounded too: past it, the direction
		 * that just grew lets its packets go. */
		if (d->n_held && e->held_bytes_now > e->cfg.max_held_bytes_total) {
			e->stats.global_bound_releases++;
			release_all_dir(e, ifl, dir, out);
		}
	} else if (pkt.payload_len && y <= in_next && d->head && y > d->head->in_start &&
		   !pkt.truncated) {
		/* A retransmission of bytes we hold (a tail-loss probe, or an
		 * RTO): the held original goes out when its PDU completes or at
		 * the deadline, which bounds how long any sender waits. */
		e->stats.duplicates_of_held++;
		outq_push(e, out, id, ENGINE_DROP, NULL, 0);
	} else {
		if (pkt.payload_len && y <= in_next)
			e->stats.retransmissions_rebuilt++;
		forward(e, ifl, dir, id, data, &pkt, gso, force_modified, out);
	}
	hold_list_update(e, ifl);
	if (e->routing)
		inject_session_sync(e, ifl);
	if (e->n_to_client && e->to_client_flow == f->id)
		inject_track(e, ifl);
	/* A connection we edited still needs its translation after both FINs:
	 * the last ACK and any retransmitted FIN carry numbers of the edited
	 * stream. It stays until it idles out (or a new SYN reuses its
	 * addresses); an untouched one goes at once. */
	if (closing && seqmap_is_identity(&ifl->dir[0].map) && seqmap_is_identity(&ifl->dir[1].map)) {
		e->cur_flow = NULL;
		flow_table_close(&e->flows, f);
	}
	e->cur_flow = NULL;
	e->cur_out = NULL;
	pdu_log_flush(e); /* nothing decided may wait past the packet */
}

void engine_tick(struct engine *e, double now, struct engine_outq *out)
{
	struct inline_flow *ifl, *next;
	int dir;

	e->cur_out = out;
	for (ifl = e->holding; ifl; ifl = next) {
		next = ifl->hold_next;
		for (dir = 0; dir < 2; dir++) {
			struct inline_dir *d = &ifl->dir[dir];
			uint64_t upto = 0;
			struct held_packet *h;

			for (h = d->head; h; h = h->next)
				if (h->since + e->cfg.hold_deadline <= now)
					upto = h->in_end;
			if (upto) {
				e->stats.deadline_releases++;
				release_upto(e, ifl, (enum im_dir)dir, upto, true, out);
			}
		}
		hold_list_update(e, ifl);
	}
	inject_tick(e, now, out);
	if (e->routing)
		engine_take_mail(e, now, out);
	flow_table_expire(&e->flows, now);
	e->cur_out = NULL;
}

static void deliver(struct engine *e, struct route_delivery *dv, double now,
		    struct engine_outq *out)
{
	struct inline_flow *ifl = inject_find_flow(e, dv->flow_id);
	struct im_event *ev = &dv->ev;
	struct proto_session *s;
	struct bytebuf pdu;
	int rc = -1;

	bytebuf_init(&pdu);
	if (ifl && ifl->flow->app) {
		s = &ifl->flow->app->session;
		ev->flow_id = ifl->flow->id;
		ev->proto = s->module->id;
		if (!event_set_str(&ev->client, s->client))
			e->stats.alloc_failures++;
		if (s->module->encode && s->module->encode(s, IM_DIR_IN, ev, NULL, 0, &pdu) == 0 &&
		    pdu.len)
			rc = inject_bytes(e, ifl, IM_DIR_IN, pdu.data, pdu.len, 1, now, out);
	}
	if (rc < 0) {
		e->stats.deliveries_lost++;
		ev->route = route_outcome_name(ROUTE_DROPPED);
		ev->filtered = true;
	} else {
		e->stats.deliveries++;
		if (rc == 0) {
			e->stats.deliveries_delayed++;
			if (ev->route == route_outcome_name(ROUTE_LOCAL))
				ev->route = route_outcome_name(ROUTE_DELAYED);
		}
	}
	bytebuf_free(&pdu);
	if (e->log)
		e->log(e->log_arg, ev);
}

void engine_routing_changed(struct engine *e)
{
	e->routing = router_active(e->cfg.router);
}

void engine_take_mail(struct engine *e, double now, struct engine_outq *out)
{
	struct route_delivery *v;
	size_t n, i;

	if (!e->routing)
		return;
	v = router_take(e->cfg.router, e->cfg.worker, &n);
	if (!n)
		return;
	e->cur_out = out;
	for (i = 0; i < n; i++) {
		deliver(e, &v[i], now, out);
		event_free(&v[i].ev);
	}
	e->cur_out = NULL;
	free(v);
}

void engine_release_all(struct engine *e, struct engine_outq *out)
{
	struct inline_flow *ifl, *next;

	for (ifl = e->holding; ifl; ifl = next) {
		next = ifl->hold_next;
		release_all_dir(e, ifl, IM_DIR_OUT, out);
		release_all_dir(e, ifl, IM_DIR_IN, out);
		hold_list_update(e, ifl);
	}
}

bool engine_lowest_held_id(const struct engine *e, uint32_t *id)
{
	const struct inline_flow *ifl;
	const struct held_packet *h;
	bool any = false;
	int d;

	for (ifl = e->holding; ifl; ifl = ifl->hold_next)
		for (d = 0; d < 2; d++)
			for (h = ifl->dir[d].head; h; h = h->next)
				if (!any || h->id < *id) {
					*id = h->id;
					any = true;
				}
	return any;
}
