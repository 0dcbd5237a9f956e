/* OSCAR (AIM and ICQ): the module table, detection, framing and the
 * per-flow split between the two things that run over an OSCAR port.
 *
 * A flow is either FLAP (authorizer, BOS, chat and other service
 * connections: '*', channel, sequence, length) or an OFT2 peer file
 * transfer, which has no FLAP at all. Both are the same protocol as far
 * as users and policy are concerned (IMSpector's ICQ-AIM plugin covered
 * both), so one module detects both by payload and each session settles
 * on one framing from its first bytes. SNAC decoding is in oscar_snac.c,
 * OFT2 in oscar_oft.c, encoding in oscar_encode.c.
 *
 * Local id: from the authorizer's login request or reply (family 0x17,
 * TLV 1), from the channel-1 sign-on or channel-4 sign-off TLV 1, from
 * the BOS self-info reply (0x0001/0x000F), and from the owner UIN of ICQ
 * messages. The BOS connection presents only the authorizer's cookie
 * (TLV 6); the authorizer's reply paired that cookie with the screen name,
 * so the worker's shared directory ties the two connections of one user
 * (oscar_tie_cookie). */
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "imwire/signatures.h"
#include "proto/oscar/oscar_internal.h"

/* How many leading FLAPs detection walks through looking for one only
 * OSCAR sends (a session may be picked up at keep-alives). */
#define OSCAR_DETECT_FLAPS 8

static struct oscar_state *state_of(struct proto_session *s)
{
	return s->state;
}

static enum proto_detect flap_detect(const uint8_t *data, size_t len)
{
	size_t pos = 0, n;

	for (n = 0; n < OSCAR_DETECT_FLAPS; n++) {
		size_t left = len - pos;

		if (left == 0)
			return PROTO_DETECT_MAYBE;
		if (data[pos] != FLAP_MARKER || (left >= 2 && !imw_sig_flap_channel_ok(data[pos + 1])))
			return PROTO_DETECT_NO;
		if (left < FLAP_HEADER_LEN)
			return PROTO_DETECT_MAYBE;
		if (data[pos + 1] == FLAP_CH_SIGNON || data[pos + 1] == FLAP_CH_DATA) {
			if (left < 10)
				return PROTO_DETECT_MAYBE;
			return imw_sig_oscar_flap(data + pos, left) ? PROTO_DETECT_YES
								    : PROTO_DETECT_NO;
		}
		pos += FLAP_HEADER_LEN + imw_load_be16(data + pos + 4);
		if (pos > len)
			return PROTO_DETECT_MAYBE;
	}
	return PROTO_DETECT_NO;
}

static enum proto_detect oscar_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	enum proto_detect r = oft_detect(data, len);

	(void)dir;
	if (r != PROTO_DETECT_NO)
		return r;
	return flap_detect(data, len);
}

static enum proto_frame oscar_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
				    size_t len, size_t *pdu_len)
{
	struct oscar_state *st = state_of(s);

	if (st->mode == OSCAR_MODE_UNKNOWN) {
		enum proto_detect oft = oft_detect(data, len);

		if (oft == PROTO_DETECT_MAYBE)
			return PROTO_FRAME_NEED_MORE;
		st->mode = oft == PROTO_DETECT_YES ? OSCAR_MODE_OFT : OSCAR_MODE_FLAP;
	}
	if (st->mode == OSCAR_MODE_OFT) {
		if (st->oft_raw_left[dir]) {
			*pdu_len = len < st->oft_raw_left[dir] ? len : (size_t)st->oft_raw_left[dir];
			return PROTO_FRAME_PDU;
		}
		return oft_frame_header(data, len, pdu_len);
	}
	return flap_frame(data, len, pdu_len);
}

static size_t oscar_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			   size_t len)
{
	struct oscar_state *st = state_of(s);

	if (st->mode == OSCAR_MODE_OFT) {
		/* A hole in file data leaves its remaining length unknown. */
		st->oft_raw_left[dir] = 0;
		oscar_oft_close(s, st, dir, false);
		return oft_resync(data, len);
	}
	return flap_resync(data, len, oscar_flap_body_check);
}

/* Channel 1 (sign-on: version, then TLVs) and channel 4 (sign-off, or the
 * old authorizer's reply): TLV 1 is the screen name when present. */
static int decode_signon_tlvs(struct proto_session *s, const uint8_t *body, size_t len,
			      bool has_version)
{
	struct oscar_tlv tlv;

	if (has_version) {
		if (len < 4 || imw_load_be32(body) != 1)
			return proto_session_malformed(s, "FLAP sign-on without version 1");
		body += 4;
		len -= 4;
	}
	if (oscar_tlv_find(body, len, 0x0001, &tlv) && !oscar_learn_local(s, tlv.value, tlv.len))
		return proto_session_malformed(s, "out of memory");
	oscar_tie_cookie(s, body, len);
	return 0;
}

static int oscar_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct oscar_state *st = state_of(s);

	if (st->mode == OSCAR_MODE_OFT)
		return oscar_decode_oft(s, st, dir, pdu, len);
	if (len < FLAP_HEADER_LEN || pdu[0] != FLAP_MARKER ||
	    imw_load_be16(pdu + 4) != len - FLAP_HEADER_LEN)
		return proto_session_malformed(s, "FLAP length does not match the PDU");
	flap_seq_note(&st->seq, dir, pdu, len);
	switch (pdu[1]) {
	case FLAP_CH_SIGNON:
		return decode_signon_tlvs(s, pdu + FLAP_HEADER_LEN, len - FLAP_HEADER_LEN, true);
	case FLAP_CH_DATA:
		return oscar_decode_snac(s, st, dir, pdu, len);
	case FLAP_CH_SIGNOFF:
		/* The client's sign-off after it signed on: the logout, once. */
		if (dir == IM_DIR_OUT && st->login_sent && !st->logout_sent) {
			st->logout_sent = true;
			if (emit_presence_like(s, dir, IM_KIND_LOGOUT, NULL, 0, "") < 0)
				return -1;
		}
		return decode_signon_tlvs(s, pdu + FLAP_HEADER_LEN, len - FLAP_HEADER_LEN, false);
	default:
		return 0;
	}
}

static int oscar_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
			const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	return oscar_encode_event(s, state_of(s), dir, ev, orig, orig_len, out);
}

static void oscar_pdu_count_changed(struct proto_session *s, enum im_dir dir, int delta)
{
	struct oscar_state *st = state_of(s);

	if (st->mode != OSCAR_MODE_OFT)
		flap_seq_count_changed(&st->seq, dir, delta);
}

static bool oscar_fixup_pdu(struct proto_session *s, enum im_dir dir, uint8_t *pdu, size_t len)
{
	struct oscar_state *st = state_of(s);

	return st->mode != OSCAR_MODE_OFT && flap_seq_fixup(&st->seq, dir, pdu, len);
}

static int oscar_local_receipt(struct proto_session *s, const struct im_event *ev,
			       const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	return oscar_build_host_ack(state_of(s), ev, orig, orig_len, out);
}

static int oscar_session_init(struct proto_session *s)
{
	s->state = calloc(1, sizeof(struct oscar_state));
	return s->state ? 0 : -1;
}

static void oscar_session_free(struct proto_session *s)
{
	struct oscar_state *st = state_of(s);

	if (!st)
		return;
	free(st->room);
	free(st->oft_name);
	free(st);
	s->state = NULL;
}

const struct proto_module proto_oscar = {
	PROTO_IDENTITY(OSCAR),
	.max_pdu = FLAP_MAX_PDU,
	.detect = oscar_detect,
	.frame = oscar_frame,
	.decode = oscar_decode,
	.resync = oscar_resync,
	.session_init = oscar_session_init,
	.session_free = oscar_session_free,
	.encode = oscar_encode,
	.pdu_count_changed = oscar_pdu_count_changed,
	.fixup_pdu = oscar_fixup_pdu,
	.local_receipt = oscar_local_receipt,
};
