#include "inline/translate.h"

#include <string.h>

#include "packet/tcp_edit.h"

static bool has_tcp_options(const struct packet *pkt)
{
	return pkt->l4_header_len > 20;
}

/* Edges at or below the cumulative ack belong to D-SACK reports of data
 * whose edits may already be folded away: they cannot be mapped exactly,
 * and claiming too much would make the sender skip data. They become an
 * empty block at the ack, which a receiver of SACK ignores. */
static uint32_t map_sack_edge(void *arg, uint32_t edge, bool left)
{
	const struct translation *t = arg;
	struct seqmap *m = t->sack_map;
	uint64_t out;

	if (!seq_after(edge, t->sack_ack))
		return t->sack_mapped_ack;
	out = seqmap_out_offset(m, edge);
	return seqmap_seq_of(m, left ? seqmap_in_of_out_left(m, out)
				     : seqmap_in_of_out_right(m, out));
}

/* The payload of pkt as its direction's edits make it; t->seq follows. */
static int rebuild_payload(struct flow_dir_state *d, const struct packet *pkt, bool gso,
			   uint64_t in, struct bytebuf *payload, struct translation *t)
{
	uint64_t out_start;

	if (!seqmap_touches(&d->map, in, pkt->payload_len)) {
		/* No edit in it (every later packet of an edited flow): its
		 * bytes go as they are, only their place moved. */
		out_start = seqmap_out_of_in(&d->map, in);
		t->payload = pkt->payload;
		t->payload_len = pkt->payload_len;
	} else {
		bytebuf_clear(payload);
		if (seqmap_build_output(&d->map, in, pkt->payload, pkt->payload_len, &out_start,
					payload) < 0)
			return -1;
		t->payload = payload->data;
		t->payload_len = payload->len;
	}
	/* Bytes the receiver already has need not go again; what is left
	 * must fit the path (a retransmission may cover more edits than the
	 * segment that first carried them). */
	if (d->peer_acked_out > out_start && d->peer_acked_out < out_start + t->payload_len) {
		size_t skip = (size_t)(d->peer_acked_out - out_start);

		out_start += skip;
		t->payload += skip;
		t->payload_len -= skip;
	}
	t->full_len = t->payload_len;
	if (!gso) {
		size_t limit = flow_dir_segment_limit(d, pkt, false);

		if (limit < pkt->payload_len)
			limit = pkt->payload_len;
		t->segment_limit = limit;
		if (t->payload_len > limit) {
			t->payload_len = limit;
			t->capped = true;
		}
	}
	if (t->payload_len != pkt->payload_len ||
	    (t->payload != pkt->payload && memcmp(t->payload, pkt->payload, t->payload_len) != 0))
		t->changed = true;
	t->seq = seqmap_seq_of(&d->map, out_start);
	return 0;
}

int translate_segment(struct flow_dir_state *d, struct flow_dir_state *o, const struct packet *pkt,
		      bool gso, bool force_modified, struct bytebuf *payload, struct translation *t)
{
	bool syn = pkt->tcp_flags & TCP_FLAG_SYN;
	uint32_t data_seq = pkt->seq + (syn ? 1 : 0);

	memset(t, 0, sizeof(*t));
	t->seq = pkt->seq;
	t->ack = pkt->ack;
	t->payload = pkt->payload;
	t->payload_len = pkt->payload_len;
	t->full_len = pkt->payload_len;
	t->changed = force_modified;
	if (d->started && !seqmap_is_identity(&d->map)) {
		uint64_t in = seqmap_in_offset(&d->map, data_seq);

		if (pkt->payload_len) {
			if (rebuild_payload(d, pkt, gso, in, payload, t) < 0)
				return -1;
		} else {
			t->seq = seqmap_seq_of(&d->map, seqmap_out_of_in(&d->map, in));
		}
		t->seq -= syn ? 1 : 0;
	}
	if ((pkt->tcp_flags & TCP_FLAG_ACK) && o->started && !seqmap_is_identity(&o->map)) {
		t->ack = translate_ack_to_input(o, pkt->ack);
		if (has_tcp_options(pkt)) {
			t->sack_map = &o->map;
			t->sack_ack = pkt->ack;
			t->sack_mapped_ack = t->ack;
		}
	}
	if (t->seq != pkt->seq || t->ack != pkt->ack || t->sack_map)
		t->changed = true;
	/* Every byte deleted: nothing left to send (a SYN, FIN or RST still
	 * goes, for its flag). */
	t->emptied = t->changed && pkt->payload_len && !t->payload_len &&
		     !(pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST));
	return 0;
}

int translate_build(const struct translation *t, const uint8_t *ip, const struct packet *pkt,
		    struct bytebuf *out)
{
	return tcp_edit_build(ip, pkt, t->seq, t->ack, t->sack_map ? map_sack_edge : NULL,
			      (void *)t, t->payload, t->payload_len, out);
}

size_t translate_len(const struct translation *t, const struct packet *pkt)
{
	return tcp_edit_build_len(pkt, t->payload_len);
}

void translate_build_at(const struct translation *t, const uint8_t *ip, const struct packet *pkt,
			uint8_t *p)
{
	tcp_edit_build_at(p, ip, pkt, t->seq, t->ack, t->sack_map ? map_sack_edge : NULL,
			  (void *)t, t->payload, t->payload_len);
}

uint32_t translate_ack_to_input(struct flow_dir_state *o, uint32_t ack)
{
	struct seqmap *m = &o->map;

	if (!o->started || seqmap_is_identity(m))
		return ack;
	return seqmap_seq_of(m, seqmap_in_of_out(m, seqmap_out_offset(m, ack)));
}

bool translate_acknowledge(struct flow_dir_state *o, uint32_t ack)
{
	uint64_t acked = seqmap_out_offset(&o->map, ack);
	size_t live = o->map.n_edits;

	if (acked > o->peer_acked_out)
		o->peer_acked_out = acked;
	seqmap_acknowledge(&o->map, acked);
	return live && !o->map.n_edits;
}
