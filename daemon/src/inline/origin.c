#include "inline/origin.h"

#include <stdlib.h>
#include <string.h>

#include "packet/tcp_build.h"

#define ORIGIN_FIRST_RTO 0.2
#define ORIGIN_MAX_RTO 5.0
#define ORIGIN_MAX_TRIES 10
#define ORIGIN_MIN_MSS 536
#define ORIGIN_MAX_MSS 1460

/* What the receiver expects next: the end of the data that went on. A
 * bare ACK carries the sender's own next sequence number, past data we
 * hold back (a file's end waiting for its verdict) or that never reached
 * us; a segment in its name there (a reset) would be out of the
 * receiver's window, so only data move it on, once it is known. */
static void note_sent(struct origin_template *t, uint32_t seq, size_t len)
{
	uint32_t end = seq + (uint32_t)len;

	if (!t->have_snd_nxt || (len && seq_after(end, t->snd_nxt))) {
		t->snd_nxt = end;
		t->have_snd_nxt = true;
	}
}

/* TOS (or traffic class) and TTL (or hop limit) of an IP header. */
static void ip_tos_ttl(const uint8_t *ip, uint8_t version, uint8_t *tos, uint8_t *ttl)
{
	if (version == 4) {
		*tos = ip[1];
		*ttl = ip[8];
	} else {
		*tos = (uint8_t)(((ip[0] & 0x0f) << 4) | (ip[1] >> 4));
		*ttl = ip[7];
	}
}

void origin_learn(struct flow_dir_state *d, const uint8_t *ip, const struct packet *pkt,
		  uint32_t seq_sent, uint32_t ack_sent, size_t len_sent,
		  const struct engine_packet_link *l)
{
	struct origin_template *t = &d->tmpl;
	uint32_t tsval, tsecr;

	if ((pkt->tcp_flags & TCP_FLAG_SYN) && l) {
		/* Where the direction leaves, before anything else of it is
		 * known: a reset may be needed before its first data go on. */
		t->ifindex = l->physoutdev;
		if (l->has_mac) {
			t->has_mac = true;
			memcpy(t->mac, l->src_mac, sizeof(t->mac));
		}
	}
	if (!(pkt->tcp_flags & TCP_FLAG_ACK) || (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_RST)))
		return;
	note_sent(t, seq_sent, len_sent);
	if (t->valid && seq_after(t->ack, ack_sent))
		return; /* a late retransmission: keep the newer facts */
	t->valid = true;
	t->ack = ack_sent;
	t->window = pkt->window;
	ip_tos_ttl(ip, pkt->ip_version, &t->tos, &t->ttl);
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

/* The bridge port the sender's packets leave through, from the sender's
 * MAC to the receiver's (the source MAC of the receiver's own packets). */
bool origin_link(const struct flow_state *fs, enum im_dir dir, struct egress_link *link)
{
	const struct origin_template *t = &fs->dir[dir].tmpl, *r = &fs->dir[!dir].tmpl;

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

static size_t origin_mss(const struct flow_dir_state *d)
{
	size_t mss = d->peer_mss ? d->peer_mss : d->max_payload_seen;

	if (mss < ORIGIN_MIN_MSS)
		mss = ORIGIN_MIN_MSS;
	if (!d->peer_mss && mss > ORIGIN_MAX_MSS)
		mss = ORIGIN_MAX_MSS;
	return mss - (d->tmpl.has_timestamp ? 12 : 0);
}

/* A segment as dir's packets go: the addresses and ports are the flow's
 * (dir's packets are the ones from addr[dir]), the rest dir's template. */
static void spec_from_template(struct tcp_segment_spec *spec, const struct flow_state *fs,
			       enum im_dir dir)
{
	const struct flow *f = fs->flow;
	const struct origin_template *t = &fs->dir[dir].tmpl;

	memset(spec, 0, sizeof(*spec));
	spec->ip_version = f->ip_version;
	memcpy(spec->src, f->addr[dir], sizeof(spec->src));
	memcpy(spec->dst, f->addr[!dir], sizeof(spec->dst));
	spec->sport = f->port[dir];
	spec->dport = f->port[!dir];
	spec->ack = t->ack;
	spec->window = t->window;
	spec->ttl = t->ttl;
	spec->tos = t->tos;
	spec->has_timestamp = t->has_timestamp;
	spec->tsval = t->tsval;
	spec->tsecr = t->tsecr;
}

/* Sends [from, end) of an originated range, cut to the receiver's MSS. */
static void send_range(struct flow_state *fs, enum im_dir dir, const struct origin_seg *o,
		       uint64_t from, const struct origin_io *io)
{
	struct flow_dir_state *d = &fs->dir[dir];
	struct tcp_segment_spec spec;
	struct egress_link link;
	size_t mss = origin_mss(d), off = (size_t)(from - o->out_start), n;

	if (!origin_link(fs, dir, &link))
		return;
	spec_from_template(&spec, fs, dir);
	for (; off < o->len; off += n) {
		n = o->len - off < mss ? o->len - off : mss;
		spec.seq = seqmap_seq_of(&d->map, o->out_start + off);
		spec.flags = TCP_FLAG_ACK | (off + n == o->len ? TCP_FLAG_PSH : 0);
		spec.ip_id = ++d->ip_id;
		bytebuf_clear(io->scratch);
		if (tcp_build_segment(&spec, o->bytes + off, n, io->scratch) < 0) {
			io->st->alloc_failures++;
			return;
		}
		outq_origin(io->out, io->st, io->scratch->data, io->scratch->len, &link);
		note_sent(&d->tmpl, spec.seq, n);
	}
}

bool origin_send_rest(struct flow_state *fs, enum im_dir dir, const uint8_t *ip,
		      const struct packet *pkt, uint32_t seq, uint32_t ack, const uint8_t *bytes,
		      size_t len, size_t mss, const struct origin_io *io)
{
	struct flow_dir_state *d = &fs->dir[dir];
	struct tcp_segment_spec spec;
	struct egress_link link;
	size_t off, n;

	if (!len || !mss || (pkt->tcp_flags & TCP_FLAGS_UNSPLITTABLE) ||
	    !(pkt->tcp_flags & TCP_FLAG_ACK) || !origin_link(fs, dir, &link))
		return false;
	memset(&spec, 0, sizeof(spec));
	spec.ip_version = pkt->ip_version;
	memcpy(spec.src, pkt->src, sizeof(spec.src));
	memcpy(spec.dst, pkt->dst, sizeof(spec.dst));
	spec.sport = pkt->sport;
	spec.dport = pkt->dport;
	spec.ack = ack;
	spec.window = pkt->window;
	ip_tos_ttl(ip, pkt->ip_version, &spec.tos, &spec.ttl);
	spec.has_timestamp = tcp_read_timestamp(ip, pkt, &spec.tsval, &spec.tsecr);
	for (off = 0; off < len; off += n) {
		n = len - off < mss ? len - off : mss;
		spec.seq = seq + (uint32_t)off;
		spec.flags = TCP_FLAG_ACK;
		if (off + n == len)
			spec.flags |= pkt->tcp_flags & TCP_FLAG_PSH;
		spec.ip_id = ++d->ip_id;
		bytebuf_clear(io->scratch);
		if (tcp_build_segment(&spec, bytes + off, n, io->scratch) < 0) {
			/* what did not go comes in the sender's retransmission */
			io->st->alloc_failures++;
			return off > 0;
		}
		if (!outq_origin(io->out, io->st, io->scratch->data, io->scratch->len, &link))
			return off > 0;
		note_sent(&d->tmpl, spec.seq, n);
	}
	return true;
}

/* The link towards the receiver of dir: its port and the sender's MAC as
 * dir's packets (its SYN at least) showed them, the receiver's MAC as its
 * own packets did; a reset needs no more, even when nothing but the
 * handshake of a direction went on. */
static bool reset_link(const struct flow_state *fs, enum im_dir dir, struct egress_link *link)
{
	const struct origin_template *t = &fs->dir[dir].tmpl, *r = &fs->dir[!dir].tmpl;

	memset(link, 0, sizeof(*link));
	if (!t->ifindex || !t->has_mac || !r->has_mac)
		return false;
	link->ifindex = t->ifindex;
	memcpy(link->src_mac, t->mac, 6);
	memcpy(link->dst_mac, r->mac, 6);
	link->have_macs = true;
	return true;
}

int origin_reset(struct flow_state *fs, enum im_dir dir, const struct origin_io *io)
{
	struct flow_dir_state *d = &fs->dir[dir], *b = &fs->dir[!dir];
	struct tcp_segment_spec spec;
	struct egress_link link;

	if (!reset_link(fs, dir, &link) && !(d->tmpl.valid && origin_link(fs, dir, &link)))
		return -1;
	if (d->tmpl.valid && d->tmpl.have_snd_nxt) {
		spec_from_template(&spec, fs, dir);
		spec.seq = d->tmpl.snd_nxt;
	} else if (b->tmpl.valid && b->tmpl.have_snd_nxt) {
		/* Nothing of dir went on yet (its first data wait): the other
		 * direction's facts turned around; the receiver expects what
		 * it last acknowledged. */
		spec_from_template(&spec, fs, !dir);
		memcpy(spec.src, fs->flow->addr[dir], sizeof(spec.src));
		memcpy(spec.dst, fs->flow->addr[!dir], sizeof(spec.dst));
		spec.sport = fs->flow->port[dir];
		spec.dport = fs->flow->port[!dir];
		spec.seq = b->tmpl.ack;
		spec.ack = b->tmpl.snd_nxt;
		spec.has_timestamp = false;
	} else {
		return -1;
	}
	spec.flags = TCP_FLAG_RST | TCP_FLAG_ACK;
	spec.ip_id = ++d->ip_id;
	bytebuf_clear(io->scratch);
	if (tcp_build_segment(&spec, NULL, 0, io->scratch) < 0) {
		io->st->alloc_failures++;
		return -1;
	}
	outq_origin(io->out, io->st, io->scratch->data, io->scratch->len, &link);
	return 0;
}

void origin_ack_deleted(struct flow_state *fs, enum im_dir dir, const struct origin_io *io)
{
	struct flow_dir_state *d = &fs->dir[dir], *back = &fs->dir[!dir];
	struct tcp_segment_spec spec;
	struct egress_link link;
	uint64_t acked_in;

	if (!back->tmpl.valid || !back->tmpl.have_snd_nxt || !origin_link(fs, !dir, &link))
		return;
	/* At a deletion the receiver's ack maps past the deleted bytes. */
	acked_in = seqmap_in_of_out(&d->map, d->peer_acked_out);
	if (acked_in < fs->flow->reasm[dir].offset)
		return; /* the receiver still owes acks, which will cover them */
	spec_from_template(&spec, fs, !dir);
	spec.seq = back->tmpl.snd_nxt;
	spec.ack = seqmap_seq_of(&d->map, acked_in);
	spec.flags = TCP_FLAG_ACK;
	spec.ip_id = ++back->ip_id;
	bytebuf_clear(io->scratch);
	if (tcp_build_segment(&spec, NULL, 0, io->scratch) < 0) {
		io->st->alloc_failures++;
		return;
	}
	outq_origin(io->out, io->st, io->scratch->data, io->scratch->len, &link);
	back->tmpl.ack = spec.ack; /* what the sender has been told now */
	io->st->deletions_acked++;
}

/* Idle at a PDU boundary: nothing held, nothing of a PDU begun, no hole,
 * no end of stream, and the facts to build a segment from. */
static bool idle_boundary(const struct flow_state *fs, enum im_dir dir, uint64_t *at)
{
	const struct flow_dir_state *d = &fs->dir[dir];
	const struct flow *f = fs->flow;
	struct egress_link link;
	uint64_t partial;

	if (!d->started || d->held.n || (f->seen & (FLOW_SEEN_FIN(dir) | FLOW_SEEN_RST)) || !f->app ||
	    !origin_link(fs, dir, &link))
		return false;
	if (f->reasm[dir].started && f->reasm[dir].offset != d->released_end)
		return false;
	if (app_flow_partial_pdu(f->app, dir, &partial) || app_flow_mid_pdu(f->app, dir))
		return false;
	*at = d->released_end;
	return true;
}

static struct origin_seg *seg_new(const uint8_t *bytes, size_t len, double now)
{
	struct origin_seg *o = calloc(1, sizeof(*o));

	if (o)
		o->bytes = malloc(len);
	if (!o || !o->bytes) {
		free(o);
		return NULL;
	}
	memcpy(o->bytes, bytes, len);
	o->len = len;
	o->sent_at = now;
	o->rto = ORIGIN_FIRST_RTO;
	return o;
}

enum origin_sent origin_send(struct flow_state *fs, enum im_dir dir, const uint8_t *bytes,
			     size_t len, double now, const struct origin_io *io)
{
	struct flow_dir_state *d = &fs->dir[dir];
	struct origin_seg *o, **tail;
	uint64_t at;

	if (!len)
		return ORIGIN_SENT;
	if ((fs->flow->seen & (FLOW_SEEN_FIN(dir) | FLOW_SEEN_RST)) || !fs->flow->app)
		return ORIGIN_LOST;
	if (!idle_boundary(fs, dir, &at))
		return ORIGIN_BUSY;
	o = seg_new(bytes, len, now);
	if (!o) {
		io->st->alloc_failures++;
		return ORIGIN_LOST;
	}
	o->out_start = seqmap_out_of_in(&d->map, at);
	/* Later insertions at the same point come after earlier ones. */
	for (tail = &d->origins; *tail; tail = &(*tail)->next)
		if ((*tail)->out_start + (*tail)->len > o->out_start)
			o->out_start = (*tail)->out_start + (*tail)->len;
	if (seqmap_add_own_insertion(&d->map, at, bytes, len) < 0) {
		free(o->bytes);
		free(o);
		io->st->alloc_failures++;
		return ORIGIN_LOST;
	}
	io->st->edits++;
	*tail = o;
	send_range(fs, dir, o, o->out_start, io);
	return ORIGIN_SENT;
}

bool origin_adopt(struct flow_dir_state *d, uint64_t out_start, const uint8_t *bytes, size_t len,
		  double now)
{
	struct origin_seg *o = seg_new(bytes, len, now), **tail;

	if (!o)
		return false;
	o->out_start = out_start;
	o->sent_at = now - o->rto; /* due at the next tick */
	for (tail = &d->origins; *tail && (*tail)->out_start < out_start; tail = &(*tail)->next)
		;
	o->next = *tail;
	*tail = o;
	return true;
}

void origin_acked(struct flow_dir_state *d)
{
	struct origin_seg *o;

	while ((o = d->origins) && o->out_start + o->len <= d->peer_acked_out) {
		d->origins = o->next;
		free(o->bytes);
		free(o);
	}
}

/* Resend one range whose time has come; false when it was given up and freed. */
static bool resend(struct flow_state *fs, enum im_dir dir, struct origin_seg *o, double now,
		   const struct origin_io *io)
{
	struct flow_dir_state *d = &fs->dir[dir];
	uint64_t from = d->peer_acked_out > o->out_start ? d->peer_acked_out : o->out_start;

	if (o->tries == ORIGIN_MAX_TRIES) {
		/* The receiver is gone; the flow will end. */
		io->st->origin_given_up++;
		free(o->bytes);
		free(o);
		return false;
	}
	o->tries++;
	o->sent_at = now;
	o->rto = o->rto * 2 > ORIGIN_MAX_RTO ? ORIGIN_MAX_RTO : o->rto * 2;
	io->st->origin_retransmits++;
	send_range(fs, dir, o, from, io);
	return true;
}

void origin_retransmit(struct flow_state *fs, double now, const struct origin_io *io)
{
	struct origin_seg *o, **pp;
	int dir;

	for (dir = 0; dir < 2; dir++) {
		for (pp = &fs->dir[dir].origins; (o = *pp);) {
			struct origin_seg *next = o->next;

			if (now - o->sent_at < o->rto || resend(fs, (enum im_dir)dir, o, now, io))
				pp = &o->next;
			else
				*pp = next;
		}
	}
}
