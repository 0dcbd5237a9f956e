/* Segments the engine sends on its own: a message routed to a local user,
 * a bot's reply, a receipt the sender's client expects from its server.
 *
 * The bytes become an insertion in the direction's sequence map at the
 * point where everything the real sender sent so far ends, so every later
 * segment of the real sender is shifted past them and every ack of the
 * receiver is shifted back. They go out at once, in segments built from
 * the last ack, window and timestamps the sender put on the wire, when the
 * direction is idle at a PDU boundary; otherwise they ride after the next
 * whole PDU in that direction, like a notice. Nobody else will ever
 * retransmit them, so we do, until the receiver acknowledges them. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inline/engine_internal.h"
#include "packet/tcp_build.h"
#include "route/route.h"

#define ORIGIN_FIRST_RTO 0.2
#define ORIGIN_MAX_RTO 5.0
#define ORIGIN_MAX_TRIES 10
#define ORIGIN_MIN_MSS 536
#define ORIGIN_MAX_MSS 1460

static void note_sent(struct origin_template *t, uint32_t seq, size_t len)
{
	uint32_t end = seq + (uint32_t)len;

	if (!t->have_snd_nxt || seq_after(end, t->snd_nxt)) {
		t->snd_nxt = end;
		t->have_snd_nxt = true;
	}
}

void inject_learn(struct engine *e, struct inline_flow *ifl, enum im_dir dir, const uint8_t *ip,
		  const struct packet *pkt, uint32_t seq_sent, uint32_t ack_sent, size_t len_sent)
{
	struct origin_template *t = &ifl->dir[dir].tmpl;
	const struct engine_packet_link *l = e->cur_link;
	uint32_t tsval, tsecr;

	if (!l)
		return; /* no queue facts (replay, tests): nothing can be sent */
	if (!(pkt->tcp_flags & TCP_FLAG_ACK) || (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_RST)))
		return;
	note_sent(t, seq_sent, len_sent);
	if (t->valid && seq_after(t->ack, ack_sent))
		return; /* a late retransmission: keep the newer facts */
	t->valid = true;
	t->ip_version = pkt->ip_version;
	memcpy(t->src, pkt->src, sizeof(t->src));
	memcpy(t->dst, pkt->dst, sizeof(t->dst));
	t->sport = pkt->sport;
	t->dport = pkt->dport;
	t->ack = ack_sent;
	t->window = pkt->window;
	if (pkt->ip_version == 4) {
		t->tos = ip[1];
		t->ttl = ip[8];
	} else {
		t->tos = (uint8_t)(((ip[0] & 0x0f) << 4) | (ip[1] >> 4));
		t->ttl = ip[7];
	}
	t->has_timestamp = tcp_read_timestamp(ip, pkt, &tsval, &tsecr);
	if (t->has_timestamp) {
		t->tsval = tsval;
		t->tsecr = tsecr;
	}
	t->ifindex = l->physoutdev;
	if (l->has_mac) {
		t->has_mac = true;
		memcpy(t->mac, l->src_mac, sizeof(t->mac));
	}
}

static bool outq_push_origin(struct engine *e, struct engine_outq *q, const uint8_t *data,
			     size_t len, const struct egress_link *link)
{
	struct engine_origin *o;

	if (q->n_orig == q->cap_orig) {
		size_t cap = q->cap_orig ? q->cap_orig * 2 : 8;
		struct engine_origin *g = realloc(q->orig, cap * sizeof(*g));

		if (!g)
			goto fail;
		q->orig = g;
		q->cap_orig = cap;
	}
	o = &q->orig[q->n_orig];
	o->offset = q->bytes.len;
	o->len = len;
	o->link = *link;
	if (!bytebuf_append(&q->bytes, data, len))
		goto fail;
	q->n_orig++;
	e->stats.segments_originated++;
	return true;
fail:
	e->stats.alloc_failures++;
	return false;
}

/* Where a segment towards the receiver of dir goes out: the bridge port
 * the sender's packets leave through, from the sender's MAC to the
 * receiver's (the source MAC of the receiver's own packets). */
static bool link_of(const struct inline_flow *ifl, enum im_dir dir, struct egress_link *link)
{
	const struct origin_template *t = &ifl->dir[dir].tmpl, *r = &ifl->dir[!dir].tmpl;

	memset(link, 0, sizeof(*link));
	if (!t->valid)
		return false;
	if (!t->ifindex)
		return true; /* routed: the kernel finds the way */
	if (!t->has_mac || !r->valid || !r->has_mac)
		return false;
	link->ifindex = t->ifindex;
	memcpy(link->src_mac, t->mac, 6);
	memcpy(link->dst_mac, r->mac, 6);
	link->have_macs = true;
	return true;
}

static size_t origin_mss(const struct inline_dir *d)
{
	size_t mss = d->peer_mss ? d->peer_mss : d->max_payload_seen;

	if (mss < ORIGIN_MIN_MSS)
		mss = ORIGIN_MIN_MSS;
	if (!d->peer_mss && mss > ORIGIN_MAX_MSS)
		mss = ORIGIN_MAX_MSS;
	return mss - (d->tmpl.has_timestamp ? 12 : 0);
}

static void spec_from_template(struct tcp_segment_spec *spec, const struct origin_template *t)
{
	memset(spec, 0, sizeof(*spec));
	spec->ip_version = t->ip_version;
	memcpy(spec->src, t->src, sizeof(spec->src));
	memcpy(spec->dst, t->dst, sizeof(spec->dst));
	spec->sport = t->sport;
	spec->dport = t->dport;
	spec->ack = t->ack;
	spec->window = t->window;
	spec->ttl = t->ttl;
	spec->tos = t->tos;
	spec->has_timestamp = t->has_timestamp;
	spec->tsval = t->tsval;
	spec->tsecr = t->tsecr;
}

/* Sends [from, end) of an originated range, cut to the receiver's MSS. */
static void send_origin(struct engine *e, struct inline_flow *ifl, enum im_dir dir,
			const struct origin_seg *o, uint64_t from, struct engine_outq *out)
{
	struct inline_dir *d = &ifl->dir[dir];
	const struct origin_template *t = &d->tmpl;
	struct tcp_segment_spec spec;
	struct egress_link link;
	size_t mss = origin_mss(d), off = (size_t)(from - o->out_start), n;

	if (!link_of(ifl, dir, &link))
		return;
	spec_from_template(&spec, t);
	for (; off < o->len; off += n) {
		n = o->len - off < mss ? o->len - off : mss;
		spec.seq = seqmap_seq_of(&d->map, o->out_start + off);
		spec.flags = TCP_FLAG_ACK | (off + n == o->len ? TCP_FLAG_PSH : 0);
		spec.ip_id = ++d->ip_id;
		bytebuf_clear(&e->scratch);
		if (tcp_build_segment(&spec, o->bytes + off, n, &e->scratch) < 0) {
			e->stats.alloc_failures++;
			return;
		}
		outq_push_origin(e, out, e->scratch.data, e->scratch.len, &link);
		note_sent(&d->tmpl, spec.seq, n);
	}
}

void inject_ack_deleted(struct engine *e, struct inline_flow *ifl, enum im_dir dir,
			struct engine_outq *out)
{
	struct inline_dir *d = &ifl->dir[dir], *back = &ifl->dir[!dir];
	struct tcp_segment_spec spec;
	struct egress_link link;
	uint64_t acked_in;

	if (!back->tmpl.valid || !back->tmpl.have_snd_nxt || !link_of(ifl, !dir, &link))
		return;
	/* At a deletion the receiver's ack maps past the deleted bytes. */
	acked_in = seqmap_in_of_out(&d->map, d->peer_acked_out);
	if (acked_in < ifl->flow->reasm[dir].offset)
		return; /* the receiver still owes acks, which will cover them */
	spec_from_template(&spec, &back->tmpl);
	spec.seq = back->tmpl.snd_nxt;
	spec.ack = seqmap_seq_of(&d->map, acked_in);
	spec.flags = TCP_FLAG_ACK;
	spec.ip_id = ++back->ip_id;
	bytebuf_clear(&e->scratch);
	if (tcp_build_segment(&spec, NULL, 0, &e->scratch) < 0) {
		e->stats.alloc_failures++;
		return;
	}
	outq_push_origin(e, out, e->scratch.data, e->scratch.len, &link);
	back->tmpl.ack = spec.ack; /* what the sender has been told now */
	e->stats.deletions_acked++;
}

void inject_track(struct engine *e, struct inline_flow *ifl)
{
	if (ifl->in_sess_list)
		return;
	ifl->sess_prev = NULL;
	ifl->sess_next = e->sessions;
	if (e->sessions)
		e->sessions->sess_prev = ifl;
	e->sessions = ifl;
	ifl->in_sess_list = true;
}

static void sess_list_remove(struct engine *e, struct inline_flow *ifl)
{
	if (!ifl->in_sess_list)
		return;
	if (ifl->sess_prev)
		ifl->sess_prev->sess_next = ifl->sess_next;
	else
		e->sessions = ifl->sess_next;
	if (ifl->sess_next)
		ifl->sess_next->sess_prev = ifl->sess_prev;
	ifl->sess_prev = ifl->sess_next = NULL;
	ifl->in_sess_list = false;
}

/* Idle at a PDU boundary: nothing held, nothing of a PDU begun, no hole,
 * no end of stream, and the facts to build a segment from. */
static bool idle_boundary(struct inline_flow *ifl, enum im_dir dir, uint64_t *at)
{
	struct inline_dir *d = &ifl->dir[dir];
	struct flow *f = ifl->flow;
	struct egress_link link;
	uint64_t partial;

	if (!d->started || d->n_held || f->fin_seen[dir] || f->rst_seen || !f->app ||
	    !link_of(ifl, dir, &link))
		return false;
	if (f->reasm[dir].started && f->reasm[dir].offset != d->released_end)
		return false;
	if (app_flow_partial_pdu(f->app, dir, &partial) || app_flow_mid_pdu(f->app, dir))
		return false;
	*at = d->released_end;
	return true;
}

int inject_bytes(struct engine *e, struct inline_flow *ifl, enum im_dir dir, const uint8_t *bytes,
		 size_t len, int pdus, double now, struct engine_outq *out)
{
	struct inline_dir *d = &ifl->dir[dir];
	struct proto_session *s = ifl->flow->app ? &ifl->flow->app->session : NULL;
	struct origin_seg *o, **tail;
	uint64_t at;

	if (!len)
		return 1;
	if (ifl->flow->fin_seen[dir] || ifl->flow->rst_seen || !s)
		return -1;
	if (!idle_boundary(ifl, dir, &at)) {
		if (dir != IM_DIR_IN)
			return -1;
		engine_defer_insertion(e, ifl->flow->id, bytes, len, pdus);
		return 0;
	}
	o = calloc(1, sizeof(*o));
	if (o)
		o->bytes = malloc(len);
	if (!o || !o->bytes) {
		free(o);
		e->stats.alloc_failures++;
		return -1;
	}
	memcpy(o->bytes, bytes, len);
	o->len = len;
	o->out_start = seqmap_out_of_in(&d->map, at);
	/* Later insertions at the same point come after earlier ones. */
	for (tail = &d->origins; *tail; tail = &(*tail)->next)
		if ((*tail)->out_start + (*tail)->len > o->out_start)
			o->out_start = (*tail)->out_start + (*tail)->len;
	if (seqmap_add_own_insertion(&d->map, at, bytes, len) < 0) {
		free(o->bytes);
		free(o);
		e->stats.alloc_failures++;
		return -1;
	}
	if (s->module->pdu_count_changed)
		s->module->pdu_count_changed(s, dir, pdus);
	e->stats.edits++;
	o->sent_at = now;
	o->rto = ORIGIN_FIRST_RTO;
	*tail = o;
	inject_track(e, ifl);
	send_origin(e, ifl, dir, o, o->out_start, out);
	return 1;
}

void inject_acked(struct engine *e, struct inline_flow *ifl, enum im_dir dir)
{
	struct inline_dir *d = &ifl->dir[dir];
	struct origin_seg *o;

	(void)e;
	while ((o = d->origins) && o->out_start + o->len <= d->peer_acked_out) {
		d->origins = o->next;
		free(o->bytes);
		free(o);
	}
}

static void free_origins(struct inline_dir *d)
{
	struct origin_seg *o;

	while ((o = d->origins)) {
		d->origins = o->next;
		free(o->bytes);
		free(o);
	}
}

void inject_tick(struct engine *e, double now, struct engine_outq *out)
{
	struct inline_flow *ifl;
	struct origin_seg *o, **pp;
	int dir;

	for (ifl = e->sessions; ifl; ifl = ifl->sess_next) {
		for (dir = 0; dir < 2; dir++) {
			struct inline_dir *d = &ifl->dir[dir];

			for (pp = &d->origins; (o = *pp);) {
				uint64_t from = d->peer_acked_out > o->out_start ? d->peer_acked_out
										 : o->out_start;

				if (now - o->sent_at < o->rto) {
					pp = &o->next;
					continue;
				}
				if (o->tries == ORIGIN_MAX_TRIES) {
					/* The receiver is gone; the flow will end. */
					e->stats.origin_given_up++;
					*pp = o->next;
					free(o->bytes);
					free(o);
					continue;
				}
				o->tries++;
				o->sent_at = now;
				o->rto = o->rto * 2 > ORIGIN_MAX_RTO ? ORIGIN_MAX_RTO : o->rto * 2;
				e->stats.origin_retransmits++;
				send_origin(e, ifl, (enum im_dir)dir, o, from, out);
				pp = &o->next;
			}
		}
	}
}

struct inline_flow *inject_find_flow(struct engine *e, uint64_t flow_id)
{
	struct inline_flow *ifl;

	for (ifl = e->sessions; ifl; ifl = ifl->sess_next)
		if (ifl->flow->id == flow_id)
			return ifl;
	return NULL;
}

/* The service that tells servers of one protocol apart: what the module
 * learnt (the IRC network's name), the XMPP domain, else the server's
 * address for IRC; "" for protocols with one network. Allocated; NULL
 * when out of memory. */
static char *service_of(const struct inline_flow *ifl, const struct proto_session *s)
{
	const struct flow *f = ifl->flow;
	const char *at, *slash;
	char addr[INET6_ADDRSTRLEN];

	if (s->service)
		return strdup(s->service);
	switch (s->module->id) {
	case IMW_PROTO_IRC:
		if (!inet_ntop(f->ip_version == 6 ? AF_INET6 : AF_INET, f->addr[IM_DIR_IN], addr,
			       sizeof(addr)))
			return strdup("");
		return strdup(addr);
	case IMW_PROTO_XMPP:
		if (s->local_id && (at = strchr(s->local_id, '@'))) {
			slash = strchr(at, '/');
			return strndup(at + 1, slash ? (size_t)(slash - at - 1) : strlen(at + 1));
		}
		return strdup("");
	default:
		return strdup("");
	}
}

static bool str_changed(char **cache, const char *now)
{
	char *copy;

	if ((!*cache && !now) || (*cache && now && strcmp(*cache, now) == 0))
		return false;
	copy = now ? strdup(now) : NULL;
	if (now && !copy)
		return false; /* try again next packet */
	free(*cache);
	*cache = copy;
	return true;
}

/* Tell the router about a session whose user we know, and whether we can
 * send towards its client now; only on change, so the lock is rare. */
void inject_session_sync(struct engine *e, struct inline_flow *ifl)
{
	struct flow *f = ifl->flow;
	struct proto_session *s;
	struct egress_link link;
	char *service;
	bool injectable, changed;

	if (!e->routing || !f->app || f->app->state != APP_DECODING)
		return;
	s = &f->app->session;
	if (!s->local_id || !s->local_id[0] || !s->module->encode)
		return;
	injectable = ifl->dir[IM_DIR_IN].started && link_of(ifl, IM_DIR_IN, &link) &&
		     !s->opaque[IM_DIR_IN] && !f->fin_seen[IM_DIR_IN] && !f->rst_seen;
	changed = str_changed(&ifl->reg_local, s->local_id);
	changed |= str_changed(&ifl->reg_address, s->local_address);
	changed |= str_changed(&ifl->reg_service, s->service);
	if (!changed && ifl->registered && injectable == ifl->reg_injectable)
		return;
	service = service_of(ifl, s);
	if (!service) {
		e->stats.alloc_failures++;
		return; /* tried again with the next packet */
	}
	if (router_session_update(e->cfg.router, e->cfg.worker, f->id, s->module->id, service,
				  s->local_id, s->local_address, injectable) == 0) {
		ifl->registered = true;
		ifl->reg_injectable = injectable;
		inject_track(e, ifl);
	}
	free(service);
}

void inject_flow_gone(struct engine *e, struct inline_flow *ifl)
{
	if (ifl->registered && e->cfg.router)
		router_session_forget(e->cfg.router, e->cfg.worker, ifl->flow->id);
	sess_list_remove(e, ifl);
	free_origins(&ifl->dir[0]);
	free_origins(&ifl->dir[1]);
	free(ifl->reg_local);
	free(ifl->reg_address);
	free(ifl->reg_service);
	ifl->reg_local = ifl->reg_address = ifl->reg_service = NULL;
}
