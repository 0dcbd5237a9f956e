/* OSCAR channel-2 SNACs: sign-on (family 0x17), self info (0x01/0x0F),
 * ICBM messages, typing and rendezvous (family 4), chat rooms (0x0E) and
 * ICQ offline messages (0x15).
 *
 * Event conventions:
 * - Message text is kept as sent (AIM's HTML included); content type
 *   text/html when the text has a tag or an entity (oscar_text_is_html).
 * - An incoming chat-room message is prefixed "<sender>: " because its
 *   remote is the room (as the IRC module does for channels).
 * - A file proposal (rendezvous with the file-transfer capability) is a
 *   file event "name (size bytes)" in the direction of the proposal; the
 *   peer connection itself is decoded by oscar_oft.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "proto/oscar/oscar_internal.h"
#include "util/cursor.h"
#include "util/text.h"

#define FAM_GENERIC 0x0001
#define FAM_ICBM 0x0004
#define FAM_CHAT 0x000E
#define FAM_ICQ 0x0015
#define FAM_AUTH 0x0017
#define FAM_BUDDY 0x0003

#define TLV_SCREEN_NAME 0x0001
#define TLV_MESSAGE_DATA 0x0002
#define TLV_AUTO_RESPONSE 0x0004
#define TLV_RENDEZVOUS 0x0005

#define FRAG_CAPS 0x05
#define FRAG_TEXT 0x01

#define RV_PROPOSE 0x0000
#define RV_TLV_SEQUENCE 0x000A
#define RV_TLV_INVITATION 0x000C
#define RV_TLV_SERVICE_DATA 0x2711
#define CAP_LEN 16u

/* Rendezvous capabilities (UUIDs) we name. */
static const uint8_t cap_file_send[CAP_LEN] = { 0x09, 0x46, 0x13, 0x43, 0x4C, 0x7F, 0x11, 0xD1,
						 0x82, 0x22, 0x44, 0x45, 0x53, 0x54, 0x00, 0x00 };
static const uint8_t cap_direct_im[CAP_LEN] = { 0x09, 0x46, 0x13, 0x45, 0x4C, 0x7F, 0x11, 0xD1,
						 0x82, 0x22, 0x44, 0x45, 0x53, 0x54, 0x00, 0x00 };
static const uint8_t cap_chat[CAP_LEN] = { 0x74, 0x8F, 0x24, 0x20, 0x62, 0x87, 0x11, 0xD1,
					    0x82, 0x22, 0x44, 0x45, 0x53, 0x54, 0x00, 0x00 };

static int out_of_memory(struct proto_session *s, struct im_event *ev)
{
	event_free(ev);
	return proto_session_malformed(s, "out of memory");
}

bool oscar_learn_local(struct proto_session *s, const uint8_t *id, size_t len)
{
	if (len == 0 || memchr(id, '\0', len))
		return true;
	if (s->local_id && strlen(s->local_id) == len && memcmp(s->local_id, id, len) == 0)
		return true;
	return proto_session_set_local(s, (const char *)id, len);
}

char *icbm_decode_charset(uint16_t charset, const uint8_t *p, size_t n)
{
	switch (charset) {
	case ICBM_CHARSET_UCS2BE:
		return text_utf16be_to_utf8(p, n);
	case ICBM_CHARSET_LATIN1:
		return text_latin1_to_utf8(p, n);
	default:
		/* "ASCII" is what most clients claim; some put UTF-8 in it. */
		return text_utf8_or_latin1(p, n);
	}
}

/* The user info block of incoming SNACs: name, warning level, TLVs. */
static bool skip_user_info(struct cursor *c, const uint8_t **sn, size_t *sn_len)
{
	uint8_t len;
	uint16_t warning, count, i, tlv_len;

	if (!cursor_u8(c, &len) || !(*sn = cursor_take(c, len)))
		return false;
	*sn_len = len;
	if (!cursor_be16(c, &warning) || !cursor_be16(c, &count))
		return false;
	for (i = 0; i < count; i++)
		if (!cursor_skip(c, 2) || !cursor_be16(c, &tlv_len) || !cursor_skip(c, tlv_len))
			return false;
	return true;
}

/* Walk the fragments of TLV 2; note the first text fragment. */
static int parse_message_data(const uint8_t *pdu, size_t off, size_t len, struct icbm *m)
{
	struct cursor c;

	cursor_init(&c, pdu + off, len);
	while (cursor_remaining(&c) > 0) {
		uint8_t id, version;
		uint16_t flen, charset = 0, subset = 0;
		size_t frag_at;

		if (!cursor_u8(&c, &id) || !cursor_u8(&c, &version) || !cursor_be16(&c, &flen))
			return -1;
		frag_at = c.pos;
		if (!cursor_skip(&c, flen))
			return -1;
		if (id != FRAG_TEXT)
			continue;
		if (flen < 4)
			return -1;
		charset = imw_load_be16(pdu + off + frag_at);
		subset = imw_load_be16(pdu + off + frag_at + 2);
		if (m->n_text++ == 0) {
			m->charset = charset;
			m->subset = subset;
			m->text_off = off + frag_at + 4;
			m->text_len = (size_t)flen - 4;
		}
	}
	return 0;
}

int icbm_parse(const uint8_t *pdu, size_t len, struct icbm *m, const char **why)
{
	struct cursor c;
	struct oscar_tlv tlv;
	uint8_t sn_len;

	memset(m, 0, sizeof(*m));
	if (!snac_parse(pdu, len, &m->snac, why))
		return -1;
	if (m->snac.family != FAM_ICBM || (m->snac.subtype != 0x0006 && m->snac.subtype != 0x0007)) {
		*why = "not an ICBM message SNAC";
		return -1;
	}
	cursor_init(&c, pdu, len);
	cursor_skip(&c, m->snac.body_off);
	m->cookie = cursor_take(&c, ICBM_COOKIE_LEN);
	if (!cursor_be16(&c, &m->channel)) {
		*why = "ICBM shorter than its cookie and channel";
		return -1;
	}
	if (m->snac.subtype == 0x0007) {
		if (!skip_user_info(&c, &m->sn, &m->sn_len)) {
			*why = "ICBM sender info overruns the SNAC";
			return -1;
		}
	} else {
		if (!cursor_u8(&c, &sn_len) || !(m->sn = cursor_take(&c, sn_len))) {
			*why = "ICBM screen name overruns the SNAC";
			return -1;
		}
		m->sn_len = sn_len;
	}
	m->tlvs_off = c.pos;
	if (!oscar_tlv_chain_valid(pdu + m->tlvs_off, len - m->tlvs_off)) {
		*why = "ICBM TLV chain overruns the SNAC";
		return -1;
	}
	m->auto_response = oscar_tlv_find(pdu + m->tlvs_off, len - m->tlvs_off,
					  TLV_AUTO_RESPONSE, &tlv);
	if (m->channel == 1 &&
	    oscar_tlv_find(pdu + m->tlvs_off, len - m->tlvs_off, TLV_MESSAGE_DATA, &tlv)) {
		m->has_msg = true;
		m->msg_tlv_off = m->tlvs_off + tlv.offset;
		if (parse_message_data(pdu, m->msg_tlv_off + 4, tlv.len, m) < 0) {
			*why = "ICBM message fragments overrun TLV 2";
			return -1;
		}
	}
	return 0;
}

char *icbm_text(const uint8_t *pdu, const struct icbm *m)
{
	struct cursor c;
	struct bytebuf b;
	char *out = NULL;
	bool ok = true;

	if (m->n_text == 1)
		return icbm_decode_charset(m->charset, pdu + m->text_off, m->text_len);
	/* Several text fragments (multipart): decode each in its charset.
	 * icbm_parse checked that the fragments fill TLV 2 exactly. */
	bytebuf_init(&b);
	cursor_init(&c, pdu + m->msg_tlv_off + 4, imw_load_be16(pdu + m->msg_tlv_off + 2));
	while (ok && cursor_remaining(&c) >= 4) {
		uint8_t id = 0, version = 0;
		uint16_t flen = 0;
		const uint8_t *f;

		if (!cursor_u8(&c, &id) || !cursor_u8(&c, &version) || !cursor_be16(&c, &flen) ||
		    !(f = cursor_take(&c, flen)))
			break;
		if (id == FRAG_TEXT && flen >= 4) {
			char *part = icbm_decode_charset(imw_load_be16(f), f + 4, (size_t)flen - 4);

			ok = part && bytebuf_append_str(&b, part);
			free(part);
		}
	}
	if (ok)
		out = text_dup(b.data ? (const char *)b.data : "", b.len);
	bytebuf_free(&b);
	return out;
}

static int emit_message(struct proto_session *s, enum im_dir dir, const uint8_t *sn,
			size_t sn_len, char *text, bool group, bool auto_response)
{
	struct im_event ev;

	proto_event_begin(s, &ev, dir, IM_KIND_MESSAGE);
	ev.text = text;
	ev.group = group;
	ev.auto_response = auto_response;
	if (!event_set(&ev.remote, (const char *)sn, sn_len))
		return out_of_memory(s, &ev);
	ev.content_type = oscar_content_type(text);
	proto_event_emit(s, &ev);
	return 0;
}

static int decode_icbm_channel1(struct proto_session *s, enum im_dir dir, const uint8_t *pdu,
				const struct icbm *m)
{
	struct im_event ev;

	if (!m->has_msg || m->n_text == 0)
		return 0; /* an empty ICBM (a server-ack request) carries no text */
	proto_event_begin(s, &ev, dir, IM_KIND_MESSAGE);
	ev.text = icbm_text(pdu, m);
	ev.auto_response = m->auto_response;
	if (!ev.text || !event_set(&ev.remote, (const char *)m->sn, m->sn_len))
		return out_of_memory(s, &ev);
	ev.content_type = oscar_content_type(ev.text);
	if (m->n_text == 1) {
		ev.has_text_span = true;
		ev.text_offset = m->text_off;
		ev.text_len = m->text_len;
	}
	proto_event_emit(s, &ev);
	return 0;
}

/* Channel 2 service data (TLV 0x2711) of a file proposal: kind of
 * transfer (1 one file, 2 several), file count, total size, name. */
static int emit_file_proposal(struct proto_session *s, enum im_dir dir, const struct icbm *m,
			      const uint8_t *cookie, const uint8_t *chain, size_t chain_len)
{
	struct oscar_tlv data;
	struct im_event ev;
	struct cursor c;
	uint16_t kind, count;
	uint32_t size;
	const uint8_t *name;
	size_t name_len;

	if (!oscar_tlv_find(chain, chain_len, RV_TLV_SERVICE_DATA, &data))
		return 0; /* a later stage of a proposal (proxy, redirect): logged once */
	cursor_init(&c, data.value, data.len);
	if (!cursor_be16(&c, &kind) || !cursor_be16(&c, &count) || !cursor_be32(&c, &size))
		return proto_session_malformed(s, "file proposal service data too short");
	name = cursor_here(&c);
	name_len = cursor_remaining(&c);
	if (memchr(name, '\0', name_len))
		name_len = (size_t)((const uint8_t *)memchr(name, '\0', name_len) - name);
	proto_event_begin(s, &ev, dir, IM_KIND_FILE);
	ev.file_name = text_utf8_or_latin1(name, name_len);
	ev.file_size = size;
	ev.has_file_size = true;
	oscar_rendezvous_xfer(cookie, chain, chain_len, &ev.xfer);
	if (!ev.file_name || !event_set(&ev.remote, (const char *)m->sn, m->sn_len))
		return out_of_memory(s, &ev);
	if (count > 1) {
		if (asprintf(&ev.text, "%s (%u files, %lu bytes)", ev.file_name, (unsigned)count,
			     (unsigned long)size) < 0)
			ev.text = NULL;
	} else if (asprintf(&ev.text, "%s (%lu bytes)", ev.file_name, (unsigned long)size) < 0) {
		ev.text = NULL;
	}
	if (!ev.text)
		return out_of_memory(s, &ev);
	(void)kind;
	proto_event_emit(s, &ev);
	return 0;
}

static int emit_rendezvous(struct proto_session *s, enum im_dir dir, const struct icbm *m,
			   const char *what, const uint8_t *chain, size_t chain_len)
{
	struct oscar_tlv tlv;
	struct im_event ev;
	struct bytebuf b;
	bool ok;

	bytebuf_init(&b);
	ok = bytebuf_append_str(&b, what);
	if (ok && oscar_tlv_find(chain, chain_len, RV_TLV_SERVICE_DATA, &tlv) && tlv.len >= 3 &&
	    strcmp(what, "chat invitation") == 0) {
		/* exchange(2), room cookie length(1), room cookie */
		size_t n = tlv.value[2];

		if (n <= (size_t)tlv.len - 3)
			ok = bytebuf_append_str(&b, " ") && bytebuf_append(&b, tlv.value + 3, n);
	}
	if (ok && oscar_tlv_find(chain, chain_len, RV_TLV_INVITATION, &tlv) && tlv.len)
		ok = bytebuf_append_str(&b, ": ") && bytebuf_append(&b, tlv.value, tlv.len);
	proto_event_begin(s, &ev, dir, IM_KIND_RENDEZVOUS);
	ev.text = ok ? text_utf8_or_latin1(b.data ? b.data : (const uint8_t *)"", b.len) : NULL;
	bytebuf_free(&b);
	if (!ev.text || !event_set(&ev.remote, (const char *)m->sn, m->sn_len))
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static int decode_icbm_channel2(struct proto_session *s, enum im_dir dir, const uint8_t *pdu,
				size_t len, const struct icbm *m)
{
	struct oscar_tlv rv, seq;
	struct cursor c;
	uint16_t type;
	const uint8_t *cap, *chain, *cookie;
	size_t chain_len;

	if (!oscar_tlv_find(pdu + m->tlvs_off, len - m->tlvs_off, TLV_RENDEZVOUS, &rv))
		return 0;
	cursor_init(&c, rv.value, rv.len);
	if (!cursor_be16(&c, &type) || !(cookie = cursor_take(&c, ICBM_COOKIE_LEN)) ||
	    !(cap = cursor_take(&c, CAP_LEN)))
		return proto_session_malformed(s, "rendezvous block too short");
	if (type != RV_PROPOSE)
		return 0; /* accept and cancel only answer a proposal */
	chain = cursor_here(&c);
	chain_len = cursor_remaining(&c);
	if (!oscar_tlv_chain_valid(chain, chain_len))
		return proto_session_malformed(s, "rendezvous TLV chain overruns its block");
	if (oscar_tlv_find(chain, chain_len, RV_TLV_SEQUENCE, &seq) && seq.len == 2 &&
	    imw_load_be16(seq.value) > 1)
		return 0; /* retry through a proxy: the first proposal was logged */
	if (memcmp(cap, cap_file_send, CAP_LEN) == 0)
		return emit_file_proposal(s, dir, m, cookie, chain, chain_len);
	if (memcmp(cap, cap_direct_im, CAP_LEN) == 0)
		return emit_rendezvous(s, dir, m, "direct IM", chain, chain_len);
	if (memcmp(cap, cap_chat, CAP_LEN) == 0)
		return emit_rendezvous(s, dir, m, "chat invitation", chain, chain_len);
	return emit_rendezvous(s, dir, m, "rendezvous", chain, chain_len);
}

/* ICQ channel 4: TLV 5 holds uin(4, LE), type, flags, length(2, LE), text. */
static int decode_icbm_channel4(struct proto_session *s, enum im_dir dir, const uint8_t *pdu,
				size_t len, const struct icbm *m)
{
	struct oscar_tlv tlv;
	struct cursor c;
	uint32_t uin;
	uint8_t type, flags;
	uint16_t text_len;
	const uint8_t *text;
	char *utf8;

	if (!oscar_tlv_find(pdu + m->tlvs_off, len - m->tlvs_off, TLV_RENDEZVOUS, &tlv))
		return 0;
	cursor_init(&c, tlv.value, tlv.len);
	if (!cursor_le32(&c, &uin) || !cursor_u8(&c, &type) || !cursor_u8(&c, &flags) ||
	    !cursor_le16(&c, &text_len) || !(text = cursor_take(&c, text_len)))
		return proto_session_malformed(s, "ICQ channel-4 message overruns TLV 5");
	if (type != 0x01)
		return 0; /* URLs, contacts, auth requests: not chat text */
	if (text_len && text[text_len - 1] == '\0')
		text_len--;
	if (dir == IM_DIR_OUT && !s->local_id) {
		char uin_text[16];
		int n = snprintf(uin_text, sizeof(uin_text), "%lu", (unsigned long)uin);

		if (n > 0 && !oscar_learn_local(s, (const uint8_t *)uin_text, (size_t)n))
			return proto_session_malformed(s, "out of memory");
	}
	utf8 = text_utf8_or_latin1(text, text_len);
	if (!utf8)
		return proto_session_malformed(s, "out of memory");
	return emit_message(s, dir, m->sn, m->sn_len, utf8, false, m->auto_response);
}

static int decode_icbm(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct icbm m;
	const char *why;

	if (icbm_parse(pdu, len, &m, &why) < 0)
		return proto_session_malformed(s, why);
	switch (m.channel) {
	case 1:
		return decode_icbm_channel1(s, dir, pdu, &m);
	case 2:
		return decode_icbm_channel2(s, dir, pdu, len, &m);
	case 4:
		return decode_icbm_channel4(s, dir, pdu, len, &m);
	default:
		return 0;
	}
}

/* 0x0004/0x0014: cookie, channel, name, notification (0 stopped, 1 paused,
 * 2 begun). Only "begun" is a typing event, as MSN's TypingUser is. */
static int decode_typing(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len,
			 const struct snac *sn)
{
	struct cursor c;
	uint16_t channel, what;
	uint8_t name_len;
	const uint8_t *name;
	struct im_event ev;

	cursor_init(&c, pdu, len);
	cursor_skip(&c, sn->body_off);
	if (!cursor_skip(&c, ICBM_COOKIE_LEN) || !cursor_be16(&c, &channel) ||
	    !cursor_u8(&c, &name_len) || !(name = cursor_take(&c, name_len)) ||
	    !cursor_be16(&c, &what))
		return proto_session_malformed(s, "typing notification too short");
	if (what != 2)
		return 0;
	proto_event_begin(s, &ev, dir, IM_KIND_TYPING);
	if (!event_set(&ev.remote, (const char *)name, name_len))
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

/* A login, logout or presence event: remote the name given (or none),
 * text the word. */
int emit_presence_like(struct proto_session *s, enum im_dir dir, enum im_kind kind,
		       const uint8_t *name, size_t name_len, const char *word)
{
	struct im_event ev;

	proto_event_begin(s, &ev, dir, kind);
	if (!event_set(&ev.remote, (const char *)(name ? name : (const uint8_t *)""), name_len) ||
	    !event_set_str(&ev.text, word))
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

/* Authorizer SNACs (0x17/0x02 login, 0x17/0x06 key request, 0x17/0x03
 * reply) carry the screen name in TLV 1. */
static int decode_auth(struct proto_session *s, const uint8_t *pdu, size_t len,
		       const struct snac *sn)
{
	struct oscar_tlv tlv;

	if (sn->subtype != 0x0002 && sn->subtype != 0x0003 && sn->subtype != 0x0006)
		return 0;
	if (oscar_tlv_find(pdu + sn->body_off, len - sn->body_off, TLV_SCREEN_NAME, &tlv) &&
	    !oscar_learn_local(s, tlv.value, tlv.len))
		return proto_session_malformed(s, "out of memory");
	if (sn->subtype == 0x0003)
		oscar_tie_cookie(s, pdu + sn->body_off, len - sn->body_off);
	return 0;
}

/* The authorizer's reply pairs the BOS cookie (TLV 6) with the screen name
 * (TLV 1): remember it. A sign-on to BOS shows the cookie alone: look the
 * name up when this connection has none yet. */
void oscar_tie_cookie(struct proto_session *s, const uint8_t *chain, size_t len)
{
	struct proto_directory *dir = proto_session_directory(s);
	struct oscar_tlv cookie, name;
	const char *known;

	if (!dir || !oscar_tlv_find(chain, len, 0x0006, &cookie) || !cookie.len)
		return;
	if (oscar_tlv_find(chain, len, TLV_SCREEN_NAME, &name) && name.len &&
	    !memchr(name.value, '\0', name.len)) {
		char *copy = strndup((const char *)name.value, name.len);

		if (copy)
			proto_directory_put(dir, IMW_PROTO_OSCAR, cookie.value, cookie.len, copy);
		free(copy);
		return;
	}
	if (s->local_id && *s->local_id)
		return;
	known = proto_directory_get(dir, IMW_PROTO_OSCAR, cookie.value, cookie.len);
	if (known)
		oscar_learn_local(s, (const uint8_t *)known, strlen(known));
}

/* 0x0001/0x000F: the server tells the client who it is. */
static int decode_self_info(struct proto_session *s, const uint8_t *pdu, size_t len,
			    const struct snac *sn)
{
	struct cursor c;
	const uint8_t *name;
	size_t name_len;

	cursor_init(&c, pdu, len);
	cursor_skip(&c, sn->body_off);
	if (!skip_user_info(&c, &name, &name_len))
		return proto_session_malformed(s, "self info overruns the SNAC");
	if (!oscar_learn_local(s, name, name_len))
		return proto_session_malformed(s, "out of memory");
	return 0;
}

/* 0x0001/0x0002 "client ready" on the BOS connection (the one whose
 * family list names ICBM, 0x0004; a chat room's names 0x000E only): the
 * user is signed on. One login event a session. */
static int decode_client_ready(struct proto_session *s, struct oscar_state *st, const uint8_t *pdu,
			       size_t len, const struct snac *sn)
{
	struct cursor c;
	uint16_t family = 0, version, tool, tool_version;
	bool bos = false;

	cursor_init(&c, pdu, len);
	cursor_skip(&c, sn->body_off);
	while (!bos && cursor_be16(&c, &family) && cursor_be16(&c, &version) &&
	       cursor_be16(&c, &tool) && cursor_be16(&c, &tool_version))
		bos = family == FAM_ICBM;
	if (!bos || st->login_sent)
		return 0;
	st->login_sent = true;
	return emit_presence_like(s, IM_DIR_OUT, IM_KIND_LOGIN, NULL, 0, "");
}

/* 0x0003/0x000B (a buddy arrived, or changed status) and 0x0003/0x000C (a
 * buddy left): a presence event per user info block, "online", "away"
 * (user class bit 0x0020 in TLV 1) or "offline". */
static int decode_buddy_change(struct proto_session *s, const uint8_t *pdu, size_t len,
			       const struct snac *sn)
{
	struct cursor c;

	cursor_init(&c, pdu, len);
	cursor_skip(&c, sn->body_off);
	while (cursor_remaining(&c)) {
		const uint8_t *name, *tlvs;
		size_t name_len, tlvs_len;
		struct oscar_tlv cls;
		const char *word = "offline";

		tlvs = cursor_here(&c);
		if (!skip_user_info(&c, &name, &name_len))
			return proto_session_malformed(s, "buddy info overruns the SNAC");
		tlvs_len = (size_t)(cursor_here(&c) - tlvs);
		if (sn->subtype == 0x000B) {
			word = "online";
			/* after the name (1 + len), warning (2) and count (2) */
			if (tlvs_len > 5 + name_len &&
			    oscar_tlv_find(tlvs + 5 + name_len, tlvs_len - 5 - name_len, 0x0001,
					   &cls) &&
			    cls.len >= 2 && (imw_load_be16(cls.value) & 0x0020))
				word = "away";
		}
		if (emit_presence_like(s, IM_DIR_IN, IM_KIND_PRESENCE, name, name_len, word) < 0)
			return -1;
	}
	return 0;
}

/* 0x000E/0x0002: exchange(2), cookie length(1), cookie, instance(2),
 * detail level(1), TLV count(2), TLVs (0x006A: the room's name). */
static int decode_room_info(struct proto_session *s, struct oscar_state *st, const uint8_t *pdu,
			    size_t len, const struct snac *sn)
{
	struct cursor c;
	uint8_t cookie_len, detail;
	uint16_t exchange, instance, count;
	const uint8_t *cookie;
	struct oscar_tlv tlv;
	const uint8_t *name;
	size_t name_len;
	char *room;

	cursor_init(&c, pdu, len);
	cursor_skip(&c, sn->body_off);
	if (!cursor_be16(&c, &exchange) || !cursor_u8(&c, &cookie_len) ||
	    !(cookie = cursor_take(&c, cookie_len)) || !cursor_be16(&c, &instance) ||
	    !cursor_u8(&c, &detail) || !cursor_be16(&c, &count))
		return proto_session_malformed(s, "chat room info too short");
	name = cookie;
	name_len = cookie_len;
	if (oscar_tlv_find(cursor_here(&c), cursor_remaining(&c), 0x006A, &tlv) && tlv.len) {
		name = tlv.value;
		name_len = tlv.len;
	}
	room = text_utf8_or_latin1(name, name_len);
	if (!room)
		return proto_session_malformed(s, "out of memory");
	free(st->room);
	st->room = room;
	return 0;
}

/* The message-info TLV (5) of chat SNACs: TLV 1 text, TLV 2 charset name. */
char *oscar_chat_text(const struct oscar_tlv *info)
{
	struct oscar_tlv text, charset;

	if (!oscar_tlv_find(info->value, info->len, 0x0001, &text))
		return text_dup("", 0);
	if (oscar_tlv_find(info->value, info->len, 0x0002, &charset)) {
		if (text_has_prefix_ci((const char *)charset.value, charset.len, "unicode"))
			return text_utf16be_to_utf8(text.value, text.len);
		if (text_has_prefix_ci((const char *)charset.value, charset.len, "iso-8859-1"))
			return text_latin1_to_utf8(text.value, text.len);
	}
	return text_utf8_or_latin1(text.value, text.len);
}

/* 0x000E/0x0005 (client to room) and 0x000E/0x0006 (room to client):
 * cookie, channel, TLVs: 3 sender info (incoming), 5 message info. */
static int decode_chat_message(struct proto_session *s, struct oscar_state *st, enum im_dir dir,
			       const uint8_t *pdu, size_t len, const struct snac *sn)
{
	struct cursor c, info_c;
	struct oscar_tlv info, sender;
	const uint8_t *chain, *sender_name = NULL;
	size_t chain_len, sender_len = 0;
	char *text, *full;
	const char *room = st->room ? st->room : "";

	cursor_init(&c, pdu, len);
	cursor_skip(&c, sn->body_off);
	if (!cursor_skip(&c, ICBM_COOKIE_LEN + 2))
		return proto_session_malformed(s, "chat message too short");
	chain = cursor_here(&c);
	chain_len = cursor_remaining(&c);
	if (!oscar_tlv_chain_valid(chain, chain_len))
		return proto_session_malformed(s, "chat message TLV chain overruns the SNAC");
	if (!oscar_tlv_find(chain, chain_len, 0x0005, &info))
		return 0;
	if (oscar_tlv_find(chain, chain_len, 0x0003, &sender)) {
		/* Some servers send only the name part of the user info. */
		cursor_init(&info_c, sender.value, sender.len);
		if (!skip_user_info(&info_c, &sender_name, &sender_len)) {
			if (sender.len < 1 || sender.value[0] > sender.len - 1)
				return proto_session_malformed(s, "chat sender info too short");
			sender_name = sender.value + 1;
			sender_len = sender.value[0];
		}
	}
	text = oscar_chat_text(&info);
	if (!text)
		return proto_session_malformed(s, "out of memory");
	if (dir == IM_DIR_IN && sender_name) {
		if (asprintf(&full, "%.*s: %s", (int)sender_len, (const char *)sender_name, text) < 0)
			full = NULL;
		free(text);
		if (!full)
			return proto_session_malformed(s, "out of memory");
		text = full;
	}
	return emit_message(s, dir, (const uint8_t *)room, strlen(room), text, true, false);
}

/* ICQ offline message (0x0015/0x0003, meta type 0x0041), little-endian:
 * TLV 1 { length, owner uin, 0x0041, seq, sender uin, year, month, day,
 * hour, minute, type, flags, text length, text }. */
static int decode_icq_meta(struct proto_session *s, enum im_dir dir, const uint8_t *pdu,
			   size_t len, const struct snac *sn)
{
	struct oscar_tlv tlv;
	struct cursor c;
	uint16_t chunk, meta, seq, year, text_len;
	uint32_t owner, sender;
	uint8_t month, day, hour, minute, type, flags;
	const uint8_t *text;
	char uin[16], *utf8;
	int n;

	if (sn->subtype != 0x0003 || dir != IM_DIR_IN ||
	    !oscar_tlv_find(pdu + sn->body_off, len - sn->body_off, 0x0001, &tlv))
		return 0;
	cursor_init(&c, tlv.value, tlv.len);
	if (!cursor_le16(&c, &chunk) || !cursor_le32(&c, &owner) || !cursor_le16(&c, &meta) ||
	    !cursor_le16(&c, &seq))
		return proto_session_malformed(s, "ICQ meta reply too short");
	if (meta != 0x0041)
		return 0;
	if (!cursor_le32(&c, &sender) || !cursor_le16(&c, &year) || !cursor_u8(&c, &month) ||
	    !cursor_u8(&c, &day) || !cursor_u8(&c, &hour) || !cursor_u8(&c, &minute) ||
	    !cursor_u8(&c, &type) || !cursor_u8(&c, &flags) || !cursor_le16(&c, &text_len) ||
	    !(text = cursor_take(&c, text_len)))
		return proto_session_malformed(s, "ICQ offline message overruns its TLV");
	n = snprintf(uin, sizeof(uin), "%lu", (unsigned long)owner);
	if (!s->local_id && n > 0 && !oscar_learn_local(s, (const uint8_t *)uin, (size_t)n))
		return proto_session_malformed(s, "out of memory");
	if (type != 0x01)
		return 0;
	if (text_len && text[text_len - 1] == '\0')
		text_len--;
	n = snprintf(uin, sizeof(uin), "%lu", (unsigned long)sender);
	utf8 = text_utf8_or_latin1(text, text_len);
	if (!utf8 || n <= 0) {
		free(utf8);
		return proto_session_malformed(s, "out of memory");
	}
	return emit_message(s, dir, (const uint8_t *)uin, (size_t)n, utf8, false, false);
}

int oscar_decode_snac(struct proto_session *s, struct oscar_state *st, enum im_dir dir,
		      const uint8_t *pdu, size_t len)
{
	struct snac sn;
	const char *why;

	if (!snac_parse(pdu, len, &sn, &why))
		return proto_session_malformed(s, why);
	switch (sn.family) {
	case FAM_AUTH:
		return decode_auth(s, pdu, len, &sn);
	case FAM_GENERIC:
		if (sn.subtype == 0x000F && dir == IM_DIR_IN)
			return decode_self_info(s, pdu, len, &sn);
		if (sn.subtype == 0x0002 && dir == IM_DIR_OUT)
			return decode_client_ready(s, st, pdu, len, &sn);
		return 0;
	case FAM_BUDDY:
		if ((sn.subtype == 0x000B || sn.subtype == 0x000C) && dir == IM_DIR_IN)
			return decode_buddy_change(s, pdu, len, &sn);
		return 0;
	case FAM_ICBM:
		if (sn.subtype == 0x0006 || sn.subtype == 0x0007)
			return decode_icbm(s, dir, pdu, len);
		if (sn.subtype == 0x0014)
			return decode_typing(s, dir, pdu, len, &sn);
		return 0;
	case FAM_CHAT:
		if (sn.subtype == 0x0002 && dir == IM_DIR_IN)
			return decode_room_info(s, st, pdu, len, &sn);
		if (sn.subtype == 0x0005 || sn.subtype == 0x0006)
			return decode_chat_message(s, st, dir, pdu, len, &sn);
		return 0;
	case FAM_ICQ:
		return decode_icq_meta(s, dir, pdu, len, &sn);
	default:
		return 0;
	}
}
