/* OSCAR encoding for the rewrite engine: an ICBM (or chat message) with
 * new text, and an ICBM built from the neutral event alone.
 *
 * Sequence numbers: encode emits final bytes. A FLAP re-emitted from its
 * original gets its input sequence number shifted by the direction's
 * current delta (drops and insertions so far); a built FLAP gets the
 * number after the last FLAP seen. The caller reports the insertion with
 * pdu_count_changed(+1) afterwards, which shifts every later FLAP, and
 * must not run fixup_pdu over encoder output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "proto/notice.h"
#include "proto/oscar/oscar_internal.h"
#include "proto/text_splice.h"
#include "util/cursor.h"
#include "util/text.h"

/* Chat rooms name their charset instead of numbering it. */
#define CHAT_CHARSET_ASCII "us-ascii"
#define CHAT_CHARSET_UCS2 "unicode-2-0"
#define CHAT_CHARSET_LATIN1 "iso-8859-1"
/* Request ids of built SNACs: far above what a client's counter reaches. */
#define BUILT_REQUEST_ID_BASE 0x49570000u

/* The charset for new text: the original's when it can carry the text,
 * else UCS-2BE, which carries anything. */
static uint16_t choose_charset(uint16_t orig, const char *text)
{
	if (oscar_text_is_ascii(text))
		return orig == ICBM_CHARSET_UCS2BE || orig == ICBM_CHARSET_LATIN1 ? orig
										: ICBM_CHARSET_ASCII;
	if (orig == ICBM_CHARSET_LATIN1 && oscar_text_fits_latin1(text))
		return ICBM_CHARSET_LATIN1;
	return ICBM_CHARSET_UCS2BE;
}

static bool put_text(struct bytebuf *out, uint16_t charset, const char *text)
{
	size_t bad;

	if (charset == ICBM_CHARSET_UCS2BE)
		return oscar_put_utf16be(out, text);
	if (charset == ICBM_CHARSET_LATIN1)
		return oscar_put_latin1(out, text, &bad);
	return bytebuf_append_str(out, text);
}

/* A text fragment: id 1, version 1, length, charset, subset, text. */
static bool put_text_fragment(struct bytebuf *out, uint8_t version, uint16_t charset,
			      uint16_t subset, const char *text)
{
	size_t at = out->len, n;

	if (!bytebuf_append_byte(out, 0x01) || !bytebuf_append_byte(out, version) ||
	    !oscar_put_be16(out, 0) || !oscar_put_be16(out, charset) ||
	    !oscar_put_be16(out, subset) || !put_text(out, charset, text))
		return false;
	n = out->len - at - 4;
	if (n > 0xFFFF)
		return false;
	out->data[at + 2] = (uint8_t)(n >> 8);
	out->data[at + 3] = (uint8_t)n;
	return true;
}

/* Patch a 16-bit length at `at` to cover everything appended after at+2. */
static bool patch_len16(struct bytebuf *out, size_t at)
{
	size_t n = out->len - at - 2;

	if (n > 0xFFFF)
		return false;
	out->data[at] = (uint8_t)(n >> 8);
	out->data[at + 1] = (uint8_t)n;
	return true;
}

static bool copy_with_seq(struct oscar_state *st, enum im_dir dir, const uint8_t *orig,
			  size_t orig_len, struct bytebuf *out)
{
	size_t at = out->len;
	uint16_t seq;

	if (!bytebuf_append(out, orig, orig_len))
		return false;
	seq = flap_seq_out(&st->seq, dir, imw_load_be16(orig + 2));
	out->data[at + 2] = (uint8_t)(seq >> 8);
	out->data[at + 3] = (uint8_t)seq;
	return true;
}

/* "ASCII" text: what decode read (UTF-8, else Latin-1) is kept; new text
 * must be ASCII, or the charset would have to change. */
static bool encode_ascii(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out)
{
	size_t i;

	(void)arg;
	(void)ctx;
	for (i = 0; i < n; i++)
		if ((uint8_t)text[i] >= 0x80)
			return false;
	return bytebuf_append(out, text, n);
}

static void codec_for(struct text_codec *c, uint16_t charset)
{
	c->arg = NULL;
	if (charset == ICBM_CHARSET_UCS2BE) {
		c->next = text_unit_utf16be;
		c->encode = text_encode_utf16be;
	} else if (charset == ICBM_CHARSET_LATIN1) {
		c->next = text_unit_latin1;
		c->encode = text_encode_latin1;
	} else {
		c->next = text_unit_utf8_or_latin1;
		c->encode = encode_ascii;
	}
}

/* orig with its text raw[at, at + n) changed from old to text, only the
 * changed characters written anew (text_splice), the 16-bit lengths at
 * the offsets lens[] (and the FLAP's) grown or shrunk with it, and the
 * FLAP renumbered. False when the text cannot be spliced in its charset
 * (the caller then rebuilds the message). */
static bool splice_text(struct oscar_state *st, enum im_dir dir, const uint8_t *orig,
			size_t orig_len, const struct text_codec *c, size_t at, size_t n,
			const char *old, const char *text, const size_t *lens, size_t n_lens,
			struct bytebuf *out)
{
	size_t mark = out->len, i, new_n;
	long delta;

	if (!copy_with_seq(st, dir, orig, at, out) ||
	    text_splice(c, orig + at, n, old, strlen(old), text, strlen(text), out) < 0 ||
	    !bytebuf_append(out, orig + at + n, orig_len - at - n)) {
		out->len = mark;
		return false;
	}
	new_n = out->len - mark - at - (orig_len - at - n);
	delta = (long)new_n - (long)n;
	for (i = 0; i <= n_lens && delta; i++) {
		size_t off = i < n_lens ? lens[i] : 4; /* the FLAP's data length last */
		long v = (long)imw_load_be16(orig + off) + delta;

		if (v < 0 || v > 0xFFFF) {
			out->len = mark;
			return false;
		}
		imw_store_be16(out->data + mark + off, (uint16_t)v);
	}
	return true;
}

/* Rebuild TLV 2: every fragment kept but the text ones, the first of
 * which becomes the new text. */
static bool put_message_tlv(struct bytebuf *out, const uint8_t *value, size_t len,
			    const struct icbm *m, const char *text)
{
	struct cursor c;
	size_t at = out->len;
	bool text_done = false;

	if (!oscar_put_be16(out, 0x0002) || !oscar_put_be16(out, 0))
		return false;
	cursor_init(&c, value, len);
	while (cursor_remaining(&c) >= 4) {
		const uint8_t *head = cursor_here(&c);
		uint8_t id = head[0], version = head[1];
		uint16_t flen = imw_load_be16(head + 2);

		if (!cursor_skip(&c, 4u + flen))
			return false;
		if (id != 0x01) {
			if (!bytebuf_append(out, head, 4u + flen))
				return false;
			continue;
		}
		if (text_done)
			continue;
		text_done = true;
		if (!put_text_fragment(out, version, choose_charset(m->charset, text), m->subset,
				       text))
			return false;
	}
	return patch_len16(out, at + 2);
}

static int encode_icbm_with_orig(struct oscar_state *st, enum im_dir dir, const char *text,
				 const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct icbm m;
	const char *why;
	char *old;
	bool same;
	size_t start, tlv2_len, tlv2_end;

	if (icbm_parse(orig, orig_len, &m, &why) < 0 || m.channel != 1 || !m.has_msg ||
	    m.n_text == 0)
		return -1;
	old = icbm_text(orig, &m);
	if (!old)
		return -1;
	same = strcmp(old, text) == 0;
	if (!same && m.n_text == 1) {
		/* fragment length, then TLV 2's */
		size_t lens[2] = { m.text_off - 6, m.msg_tlv_off + 2 };
		struct text_codec c;

		codec_for(&c, m.charset);
		if (splice_text(st, dir, orig, orig_len, &c, m.text_off, m.text_len, old, text, lens,
				2, out)) {
			free(old);
			return 0;
		}
	}
	free(old);
	if (same)
		return copy_with_seq(st, dir, orig, orig_len, out) ? 0 : -1;
	tlv2_len = imw_load_be16(orig + m.msg_tlv_off + 2);
	tlv2_end = m.msg_tlv_off + 4 + tlv2_len;
	if (!flap_begin(out, FLAP_CH_DATA, flap_seq_out(&st->seq, dir, imw_load_be16(orig + 2)),
			&start) ||
	    !bytebuf_append(out, orig + FLAP_HEADER_LEN, m.msg_tlv_off - FLAP_HEADER_LEN) ||
	    !put_message_tlv(out, orig + m.msg_tlv_off + 4, tlv2_len, &m, text) ||
	    !bytebuf_append(out, orig + tlv2_end, orig_len - tlv2_end) || !flap_finish(out, start))
		return -1;
	return 0;
}

static const char *chat_charset_name(const char *text)
{
	return oscar_text_is_ascii(text) ? CHAT_CHARSET_ASCII : CHAT_CHARSET_UCS2;
}

static bool put_chat_text(struct bytebuf *out, const char *text)
{
	return oscar_text_is_ascii(text) ? bytebuf_append_str(out, text)
					 : oscar_put_utf16be(out, text);
}

/* Rebuild the message-info TLV 5 of a chat message: TLV 1 (text) and
 * TLV 2 (charset) replaced, the others (language) kept. */
static bool put_chat_info(struct bytebuf *out, const struct oscar_tlv *info, const char *text)
{
	struct cursor c;
	size_t at = out->len, len_at;
	bool charset_done = false;

	if (!oscar_put_be16(out, 0x0005) || !oscar_put_be16(out, 0))
		return false;
	cursor_init(&c, info->value, info->len);
	while (cursor_remaining(&c) >= 4) {
		const uint8_t *head = cursor_here(&c);
		uint16_t type = imw_load_be16(head), len = imw_load_be16(head + 2);

		if (!cursor_skip(&c, 4u + len))
			return false;
		if (type == 0x0001) {
			len_at = out->len + 2;
			if (!oscar_put_be16(out, 0x0001) || !oscar_put_be16(out, 0) ||
			    !put_chat_text(out, text) || !patch_len16(out, len_at))
				return false;
		} else if (type == 0x0002) {
			charset_done = true;
			if (!oscar_put_tlv(out, 0x0002, chat_charset_name(text),
					   strlen(chat_charset_name(text))))
				return false;
		} else if (!bytebuf_append(out, head, 4u + len)) {
			return false;
		}
	}
	/* Without a charset TLV the room assumes ASCII. */
	if (!charset_done && !oscar_text_is_ascii(text) &&
	    !oscar_put_tlv(out, 0x0002, CHAT_CHARSET_UCS2, strlen(CHAT_CHARSET_UCS2)))
		return false;
	return patch_len16(out, at + 2);
}

/* A chat message's TLV 1 text changed in place (splice_text), in the
 * charset its TLV 2 names. */
static bool splice_chat_text(struct oscar_state *st, enum im_dir dir, const uint8_t *orig,
			     size_t orig_len, const struct oscar_tlv *info, const char *old,
			     const char *text, struct bytebuf *out)
{
	struct oscar_tlv t1, cs;
	struct text_codec c;
	size_t lens[2];

	if (!oscar_tlv_find(info->value, info->len, 0x0001, &t1))
		return false;
	codec_for(&c, ICBM_CHARSET_ASCII);
	if (oscar_tlv_find(info->value, info->len, 0x0002, &cs)) {
		if (text_has_prefix_ci((const char *)cs.value, cs.len, "unicode"))
			codec_for(&c, ICBM_CHARSET_UCS2BE);
		else if (text_has_prefix_ci((const char *)cs.value, cs.len, "iso-8859-1"))
			codec_for(&c, ICBM_CHARSET_LATIN1);
	}
	lens[0] = (size_t)(t1.value - orig) - 2;
	lens[1] = (size_t)(info->value - orig) - 2;
	return splice_text(st, dir, orig, orig_len, &c, (size_t)(t1.value - orig), t1.len, old, text,
			   lens, 2, out);
}

/* "sender: text" (how incoming room messages are logged) back to text. */
static const char *strip_sender(const char *text, const uint8_t *sender, size_t sender_len)
{
	if (sender && strlen(text) >= sender_len + 2 && memcmp(text, sender, sender_len) == 0 &&
	    memcmp(text + sender_len, ": ", 2) == 0)
		return text + sender_len + 2;
	return text;
}

static int encode_chat_with_orig(struct oscar_state *st, enum im_dir dir, const struct im_event *ev,
				 const struct snac *sn, const uint8_t *orig, size_t orig_len,
				 struct bytebuf *out)
{
	struct oscar_tlv info, sender;
	struct cursor c;
	const uint8_t *chain, *sender_name = NULL;
	size_t chain_len, start, sender_len = 0;
	const char *text = ev->text;
	char *old;
	bool same;

	cursor_init(&c, orig, orig_len);
	cursor_skip(&c, sn->body_off);
	if (!cursor_skip(&c, ICBM_COOKIE_LEN + 2))
		return -1;
	chain = cursor_here(&c);
	chain_len = cursor_remaining(&c);
	if (!oscar_tlv_chain_valid(chain, chain_len) ||
	    !oscar_tlv_find(chain, chain_len, 0x0005, &info))
		return -1;
	if (dir == IM_DIR_IN && oscar_tlv_find(chain, chain_len, 0x0003, &sender) &&
	    sender.len >= 1 && sender.value[0] <= sender.len - 1) {
		sender_name = sender.value + 1;
		sender_len = sender.value[0];
	}
	text = strip_sender(text, sender_name, sender_len);
	old = oscar_chat_text(&info);
	if (!old)
		return -1;
	same = strcmp(old, text) == 0;
	if (!same && splice_chat_text(st, dir, orig, orig_len, &info, old, text, out)) {
		free(old);
		return 0;
	}
	free(old);
	if (same)
		return copy_with_seq(st, dir, orig, orig_len, out) ? 0 : -1;
	if (!flap_begin(out, FLAP_CH_DATA, flap_seq_out(&st->seq, dir, imw_load_be16(orig + 2)),
			&start) ||
	    !bytebuf_append(out, orig + FLAP_HEADER_LEN, (size_t)(chain - orig) - FLAP_HEADER_LEN) ||
	    !bytebuf_append(out, chain, info.offset) || !put_chat_info(out, &info, text) ||
	    !bytebuf_append(out, info.value + info.len,
			    (size_t)(chain + chain_len - (info.value + info.len))) ||
	    !flap_finish(out, start))
		return -1;
	return 0;
}

static int encode_with_orig(struct oscar_state *st, enum im_dir dir, const struct im_event *ev,
			    const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct snac sn;
	const char *why;

	if (orig_len < FLAP_HEADER_LEN || orig[0] != FLAP_MARKER || orig[1] != FLAP_CH_DATA ||
	    imw_load_be16(orig + 4) != orig_len - FLAP_HEADER_LEN ||
	    !snac_parse(orig, orig_len, &sn, &why))
		return -1;
	if (sn.family == 0x0004)
		return encode_icbm_with_orig(st, dir, ev->text, orig, orig_len, out);
	if (sn.family == 0x000E && (sn.subtype == 0x0005 || sn.subtype == 0x0006))
		return encode_chat_with_orig(st, dir, ev, &sn, orig, orig_len, out);
	return -1;
}

static void make_cookie(struct oscar_state *st, uint8_t cookie[ICBM_COOKIE_LEN])
{
	char digits[24];

	/* ASCII digits, as the AIM clients' own cookies are. */
	snprintf(digits, sizeof(digits), "%08llu", (unsigned long long)(st->built % 100000000u));
	memcpy(cookie, digits, ICBM_COOKIE_LEN);
}

static bool put_snac_header(struct bytebuf *out, uint16_t family, uint16_t subtype,
			    uint32_t request_id)
{
	return oscar_put_be16(out, family) && oscar_put_be16(out, subtype) &&
	       oscar_put_be16(out, 0) && oscar_put_be32(out, request_id);
}

/* A name of 1..255 bytes with nothing a screen name never has. */
static bool name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	return n > 0 && n <= 255;
}

static bool put_user_info(struct bytebuf *out, const char *name, size_t len)
{
	/* name, warning level 0, no TLVs */
	return bytebuf_append_byte(out, (uint8_t)len) && bytebuf_append(out, name, len) &&
	       oscar_put_be16(out, 0) && oscar_put_be16(out, 0);
}

static int build_icbm(struct oscar_state *st, enum im_dir dir, const struct im_event *ev,
		      struct bytebuf *out)
{
	uint8_t cookie[ICBM_COOKIE_LEN];
	static const uint8_t caps[] = { 0x05, 0x01, 0x00, 0x01, 0x01 };
	size_t start, tlv_at;
	uint16_t charset = choose_charset(ICBM_CHARSET_ASCII, ev->text);

	if (!name_valid(ev->remote))
		return -1;
	st->built++;
	make_cookie(st, cookie);
	if (!flap_begin(out, FLAP_CH_DATA, flap_seq_for_insert(&st->seq, dir), &start) ||
	    !put_snac_header(out, 0x0004, dir == IM_DIR_OUT ? 0x0006 : 0x0007,
			     BUILT_REQUEST_ID_BASE + (uint32_t)(st->built & 0xFFFF)) ||
	    !bytebuf_append(out, cookie, sizeof(cookie)) || !oscar_put_be16(out, 1))
		return -1;
	if (dir == IM_DIR_OUT) {
		if (!bytebuf_append_byte(out, (uint8_t)strlen(ev->remote)) ||
		    !bytebuf_append_str(out, ev->remote))
			return -1;
	} else if (!put_user_info(out, ev->remote, strlen(ev->remote))) {
		return -1;
	}
	tlv_at = out->len;
	if (!oscar_put_be16(out, 0x0002) || !oscar_put_be16(out, 0) ||
	    !bytebuf_append(out, caps, sizeof(caps)) ||
	    !put_text_fragment(out, 0x01, charset, 0x0000, ev->text) ||
	    !patch_len16(out, tlv_at + 2))
		return -1;
	if (ev->auto_response && !oscar_put_tlv(out, 0x0004, NULL, 0))
		return -1;
	return flap_finish(out, start) ? 0 : -1;
}

/* A chat-room message: to the room (0x000E/0x0005) or from it
 * (0x000E/0x0006, sender from the "sender: " prefix of the text). */
static int build_chat(struct oscar_state *st, enum im_dir dir, const struct im_event *ev,
		      struct bytebuf *out)
{
	uint8_t cookie[ICBM_COOKIE_LEN];
	const char *text = ev->text, *colon = strstr(ev->text, ": ");
	size_t start, info_at, sender_at, sender_len = 0;

	if (dir == IM_DIR_IN) {
		if (!colon || colon == ev->text || colon - ev->text > 255)
			return -1;
		sender_len = (size_t)(colon - ev->text);
		text = colon + 2;
	}
	st->built++;
	make_cookie(st, cookie);
	if (!flap_begin(out, FLAP_CH_DATA, flap_seq_for_insert(&st->seq, dir), &start) ||
	    !put_snac_header(out, 0x000E, dir == IM_DIR_OUT ? 0x0005 : 0x0006,
			     BUILT_REQUEST_ID_BASE + (uint32_t)(st->built & 0xFFFF)) ||
	    !bytebuf_append(out, cookie, sizeof(cookie)) || !oscar_put_be16(out, 3))
		return -1;
	if (dir == IM_DIR_IN) {
		sender_at = out->len;
		if (!oscar_put_be16(out, 0x0003) || !oscar_put_be16(out, 0) ||
		    !put_user_info(out, ev->text, sender_len) || !patch_len16(out, sender_at + 2))
			return -1;
	}
	if (!oscar_put_tlv(out, 0x0001, NULL, 0) || (dir == IM_DIR_OUT && !oscar_put_tlv(out, 0x0006, NULL, 0)))
		return -1;
	info_at = out->len;
	if (!oscar_put_be16(out, 0x0005) || !oscar_put_be16(out, 0) ||
	    !oscar_put_be16(out, 0x0001) || !oscar_put_be16(out, 0))
		return -1;
	if (!put_chat_text(out, text) || !patch_len16(out, info_at + 6) ||
	    !oscar_put_tlv(out, 0x0002, chat_charset_name(text), strlen(chat_charset_name(text))) ||
	    !oscar_put_tlv(out, 0x0003, "en", 2) || !patch_len16(out, info_at + 2))
		return -1;
	return flap_finish(out, start) ? 0 : -1;
}

int oscar_encode_event(struct proto_session *s, struct oscar_state *st, enum im_dir dir,
		       const struct im_event *ev, const uint8_t *orig, size_t orig_len,
		       struct bytebuf *out)
{
	size_t mark = out->len;
	struct im_event tmp;
	char *owned;
	int rc;

	(void)s;
	if (ev->kind != IM_KIND_MESSAGE || !ev->text || st->mode == OSCAR_MODE_OFT)
		return -1;
	/* A system notice: a message of the conversation, its text marked. */
	if (!(ev = notice_as_message(ev, dir, &tmp, &owned)))
		return -1;
	if (orig)
		rc = encode_with_orig(st, dir, ev, orig, orig_len, out);
	else if (ev->group)
		rc = build_chat(st, dir, ev, out);
	else
		rc = build_icbm(st, dir, ev, out);
	if (rc < 0)
		out->len = mark;
	free(owned);
	return rc;
}

/* SNAC(04,0C) ICBM__HOST_ACK, which the server sends for a client's
 * SNAC(04,06) only when the ICBM holds the empty TLV 3 (request host ack):
 * the message's cookie, channel and destination name (NINA wiki
 * Protocols/OSCAR/SNAC/ICBM_HOST_ACK; Shutko, "SNAC(04,0C) server message
 * ack"). The request id repeats the client's, as a reply to a request
 * does. It goes into the server-to-client stream after the last server
 * FLAP decoded, so it takes that FLAP's successor number in output space
 * (flap_seq_for_insert): the one the next original server FLAP would have
 * had; the caller then reports pdu_count_changed(IM_DIR_IN, +1), which
 * moves every later server FLAP up by one. */
int oscar_build_host_ack(struct oscar_state *st, const struct im_event *ev, const uint8_t *orig,
			 size_t orig_len, struct bytebuf *out)
{
	struct icbm m;
	struct oscar_tlv tlv;
	const char *why;
	size_t start, mark = out->len;

	if (st->mode != OSCAR_MODE_FLAP || !ev || ev->dir != IM_DIR_OUT || !orig ||
	    orig_len < FLAP_HEADER_LEN || orig[0] != FLAP_MARKER || orig[1] != FLAP_CH_DATA ||
	    imw_load_be16(orig + 4) != orig_len - FLAP_HEADER_LEN ||
	    icbm_parse(orig, orig_len, &m, &why) < 0 || m.snac.subtype != 0x0006)
		return -1;
	if (!oscar_tlv_find(orig + m.tlvs_off, orig_len - m.tlvs_off, 0x0003, &tlv))
		return 0;
	if (!st->seq.seen[IM_DIR_IN])
		return -1; /* no server FLAP yet to number after */
	if (!flap_begin(out, FLAP_CH_DATA, flap_seq_for_insert(&st->seq, IM_DIR_IN), &start) ||
	    !put_snac_header(out, 0x0004, 0x000C, m.snac.request_id) ||
	    !bytebuf_append(out, m.cookie, ICBM_COOKIE_LEN) || !oscar_put_be16(out, m.channel) ||
	    !bytebuf_append_byte(out, (uint8_t)m.sn_len) || !bytebuf_append(out, m.sn, m.sn_len) ||
	    !flap_finish(out, start)) {
		out->len = mark;
		return -1;
	}
	return 1;
}
