/* FLAP framing and sequence renumbering, TLV chains and SNAC headers:
 * the wire layers OSCAR and TOC share. */
#include <string.h>

#include "imwire/byteorder.h"
#include "imwire/signatures.h"
#include "proto/oscar/oscar_internal.h"
#include "util/cursor.h"

enum proto_frame flap_frame(const uint8_t *data, size_t len, size_t *pdu_len)
{
	size_t body;

	if (len >= 1 && data[0] != FLAP_MARKER)
		return PROTO_FRAME_GARBAGE;
	if (len >= 2 && !imw_sig_flap_channel_ok(data[1]))
		return PROTO_FRAME_GARBAGE;
	if (len < FLAP_HEADER_LEN)
		return PROTO_FRAME_NEED_MORE;
	body = imw_load_be16(data + 4);
	if (len < FLAP_HEADER_LEN + body)
		return PROTO_FRAME_NEED_MORE;
	*pdu_len = FLAP_HEADER_LEN + body;
	return PROTO_FRAME_PDU;
}

/* A '*' alone is common in any byte stream. A candidate whose body
 * passes the caller's strict check (a SNAC header, a sign-on version)
 * is taken; one on a channel with no checkable body (keep-alive,
 * sign-off, error) must be followed by another FLAP header right where
 * its length says, or run to the end of the buffer. */
size_t flap_resync(const uint8_t *data, size_t len, flap_body_check check)
{
	size_t pos, next, avail;

	for (pos = 0; pos < len; pos++) {
		if (data[pos] != FLAP_MARKER)
			continue;
		avail = len - pos;
		if (avail < FLAP_HEADER_LEN) {
			if (avail < 2 || imw_sig_flap_channel_ok(data[pos + 1]))
				return pos;
			continue;
		}
		if (!imw_sig_flap_header(data + pos, avail))
			continue;
		switch (check(data + pos, avail)) {
		case FLAP_BODY_BAD:
			continue;
		case FLAP_BODY_GOOD:
			return pos;
		case FLAP_BODY_UNKNOWN:
			break;
		}
		next = pos + FLAP_HEADER_LEN + imw_load_be16(data + pos + 4);
		if (next >= len)
			return pos;
		if (data[next] == FLAP_MARKER &&
		    (next + 1 >= len || imw_sig_flap_channel_ok(data[next + 1])))
			return pos;
	}
	return len;
}

/* Bodies only OSCAR sends; keep-alives are empty or nearly so. */
enum flap_body oscar_flap_body_check(const uint8_t *flap, size_t avail)
{
	size_t body = imw_load_be16(flap + 4);

	switch (flap[1]) {
	case FLAP_CH_SIGNON:
	case FLAP_CH_DATA:
		if (avail < 10)
			return body >= 4 ? FLAP_BODY_UNKNOWN : FLAP_BODY_BAD;
		return imw_sig_oscar_flap(flap, avail) ? FLAP_BODY_GOOD : FLAP_BODY_BAD;
	case FLAP_CH_KEEPALIVE:
		return body <= FLAP_MAX_KEEPALIVE ? FLAP_BODY_UNKNOWN : FLAP_BODY_BAD;
	default:
		return FLAP_BODY_UNKNOWN;
	}
}

void flap_seq_note(struct flap_seq *q, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	if (len < FLAP_HEADER_LEN || pdu[0] != FLAP_MARKER)
		return;
	q->last[dir] = imw_load_be16(pdu + 2);
	q->seen[dir] = true;
}

void flap_seq_count_changed(struct flap_seq *q, enum im_dir dir, int delta)
{
	/* Only the value mod 2^16 matters; keep it small so it never overflows. */
	q->delta[dir] = (int32_t)(((int64_t)q->delta[dir] + delta) & 0xFFFF);
}

uint16_t flap_seq_out(const struct flap_seq *q, enum im_dir dir, uint16_t seq)
{
	return (uint16_t)((uint32_t)seq + (uint32_t)q->delta[dir]);
}

bool flap_seq_fixup(const struct flap_seq *q, enum im_dir dir, uint8_t *pdu, size_t len)
{
	uint16_t seq, out;

	if (len < FLAP_HEADER_LEN || pdu[0] != FLAP_MARKER || q->delta[dir] == 0)
		return false;
	seq = imw_load_be16(pdu + 2);
	out = flap_seq_out(q, dir, seq);
	pdu[2] = (uint8_t)(out >> 8);
	pdu[3] = (uint8_t)out;
	return out != seq;
}

uint16_t flap_seq_for_insert(const struct flap_seq *q, enum im_dir dir)
{
	return flap_seq_out(q, dir, (uint16_t)(q->last[dir] + 1u));
}

bool flap_begin(struct bytebuf *out, uint8_t channel, uint16_t seq, size_t *start)
{
	uint8_t h[FLAP_HEADER_LEN] = { FLAP_MARKER, channel, (uint8_t)(seq >> 8), (uint8_t)seq, 0, 0 };

	*start = out->len;
	return bytebuf_append(out, h, sizeof(h));
}

bool flap_finish(struct bytebuf *out, size_t start)
{
	size_t body = out->len - start - FLAP_HEADER_LEN;

	if (body > 0xFFFF)
		return false;
	out->data[start + 4] = (uint8_t)(body >> 8);
	out->data[start + 5] = (uint8_t)body;
	return true;
}

bool oscar_tlv_find(const uint8_t *chain, size_t len, uint16_t type, struct oscar_tlv *out)
{
	struct cursor c;

	cursor_init(&c, chain, len);
	while (cursor_remaining(&c) >= 4) {
		size_t at = c.pos;
		uint16_t t = 0, l = 0;
		const uint8_t *v;

		if (!cursor_be16(&c, &t) || !cursor_be16(&c, &l) || !(v = cursor_take(&c, l)))
			return false;
		if (t == type) {
			out->type = t;
			out->len = l;
			out->value = v;
			out->offset = at;
			return true;
		}
	}
	return false;
}

bool oscar_tlv_chain_valid(const uint8_t *chain, size_t len)
{
	struct cursor c;
	uint16_t t, l;

	cursor_init(&c, chain, len);
	while (cursor_remaining(&c) > 0) {
		if (!cursor_be16(&c, &t) || !cursor_be16(&c, &l) || !cursor_skip(&c, l))
			return false;
	}
	return cursor_ok(&c);
}

bool oscar_put_be16(struct bytebuf *out, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return bytebuf_append(out, b, sizeof(b));
}

bool oscar_put_be32(struct bytebuf *out, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return bytebuf_append(out, b, sizeof(b));
}

bool oscar_put_tlv(struct bytebuf *out, uint16_t type, const void *value, size_t len)
{
	if (len > 0xFFFF)
		return false;
	return oscar_put_be16(out, type) && oscar_put_be16(out, (uint16_t)len) &&
	       (len == 0 || bytebuf_append(out, value, len));
}

bool snac_parse(const uint8_t *pdu, size_t len, struct snac *sn, const char **why)
{
	struct cursor c;
	uint16_t tlv_block;

	memset(sn, 0, sizeof(*sn));
	cursor_init(&c, pdu, len);
	if (!cursor_skip(&c, FLAP_HEADER_LEN) || !cursor_be16(&c, &sn->family) ||
	    !cursor_be16(&c, &sn->subtype) || !cursor_be16(&c, &sn->flags) ||
	    !cursor_be32(&c, &sn->request_id)) {
		*why = "SNAC header shorter than 10 bytes";
		return false;
	}
	if (sn->flags & SNAC_FLAG_HAS_TLV_BLOCK) {
		if (!cursor_be16(&c, &tlv_block) || !cursor_skip(&c, tlv_block)) {
			*why = "SNAC version block overruns the FLAP";
			return false;
		}
	}
	sn->body_off = c.pos;
	return true;
}
