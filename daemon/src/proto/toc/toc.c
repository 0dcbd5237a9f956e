/* AIM TOC and TOC2: AOL's text gateway to OSCAR (toc.oscar.aol.com:9898).
 *
 * The client opens with "FLAPON\r\n\r\n"; after that both sides speak
 * FLAP (see ../oscar/oscar.h). The client's channel-1 sign-on frame carries TLV 1
 * with the screen name; its channel-2 frames are NUL-terminated commands
 * ("toc_send_im <user> \"<message>\" [auto]"), arguments separated by
 * spaces, quoted ones with backslash escapes. The server's channel-2
 * frames are colon-separated messages ("IM_IN:<user>:<T|F>:<message>"),
 * where the message is the rest of the frame, colons and all.
 *
 * Events are those of the OSCAR module: messages (text as sent, HTML
 * content type when it is HTML), group messages with the room's name as
 * remote and, incoming, "sender: " before the text, typing (TOC2
 * client events, status 2), file proposals (RVOUS_PROPOSE with the
 * file-transfer UUID) and server errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "imwire/signatures.h"
#include "proto/oscar/oscar.h"
#include "proto/toc/toc.h"
#include "util/text.h"

#define TOC_FLAPON "FLAPON\r\n\r\n"
#define TOC_FLAPON_LEN (sizeof(TOC_FLAPON) - 1)
/* Rooms whose "CHAT_JOIN:<id>:<name>" we remember per connection. */
#define TOC_MAX_ROOMS 16u
#define TOC_FILE_UUID "09461343-4C7F-11D1-8222-444553540000"

struct toc_room {
	char *id;
	char *name;
};

struct toc_state {
	struct flap_seq seq;
	bool toc2;
	struct toc_room rooms[TOC_MAX_ROOMS];
	size_t next_room;
};

/* A span of the frame's text, relative to the PDU start. */
struct toc_span {
	size_t off;
	size_t len;
	bool quoted;
};

static struct toc_state *state_of(struct proto_session *s)
{
	return s->state;
}

static bool is_flapon_prefix(const uint8_t *data, size_t len)
{
	size_t n = len < TOC_FLAPON_LEN ? len : TOC_FLAPON_LEN;

	return memcmp(data, TOC_FLAPON, n) == 0;
}

static enum proto_detect toc_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	(void)dir;
	if (len == 0)
		return PROTO_DETECT_MAYBE;
	if (imw_sig_toc(data, len))
		return PROTO_DETECT_YES;
	if (len < TOC_FLAPON_LEN && is_flapon_prefix(data, len))
		return PROTO_DETECT_MAYBE;
	if (len < 10 && data[0] == FLAP_MARKER && (len < 2 || data[1] == FLAP_CH_DATA))
		return PROTO_DETECT_MAYBE;
	return PROTO_DETECT_NO;
}

static enum proto_frame toc_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
				  size_t len, size_t *pdu_len)
{
	(void)s;
	(void)dir;
	if (len && data[0] == 'F') {
		if (!is_flapon_prefix(data, len))
			return PROTO_FRAME_GARBAGE;
		if (len < TOC_FLAPON_LEN)
			return PROTO_FRAME_NEED_MORE;
		*pdu_len = TOC_FLAPON_LEN;
		return PROTO_FRAME_PDU;
	}
	return flap_frame(data, len, pdu_len);
}

/* TOC's channel-2 frames are text; its sign-on frames are OSCAR's. */
static enum flap_body toc_flap_body_check(const uint8_t *flap, size_t avail)
{
	size_t body = imw_load_be16(flap + 4);

	switch (flap[1]) {
	case FLAP_CH_DATA:
		if (body == 0)
			return FLAP_BODY_BAD;
		if (avail < FLAP_HEADER_LEN + 1)
			return FLAP_BODY_UNKNOWN;
		return (flap[6] >= 'a' && flap[6] <= 'z') || (flap[6] >= 'A' && flap[6] <= 'Z')
			       ? FLAP_BODY_GOOD
			       : FLAP_BODY_BAD;
	case FLAP_CH_SIGNON:
		return oscar_flap_body_check(flap, avail);
	case FLAP_CH_KEEPALIVE:
		return body <= FLAP_MAX_KEEPALIVE ? FLAP_BODY_UNKNOWN : FLAP_BODY_BAD;
	default:
		return FLAP_BODY_UNKNOWN;
	}
}

static size_t toc_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	(void)s;
	(void)dir;
	return flap_resync(data, len, toc_flap_body_check);
}

/* ---- arguments of client commands ---- */

static bool next_arg(const uint8_t *p, size_t end, size_t *pos, struct toc_span *a)
{
	size_t i = *pos;

	while (i < end && p[i] == ' ')
		i++;
	if (i >= end)
		return false;
	a->quoted = p[i] == '"';
	if (a->quoted) {
		a->off = ++i;
		while (i < end && p[i] != '"') {
			if (p[i] == '\\' && i + 1 < end)
				i++;
			i++;
		}
		a->len = i - a->off;
		if (i < end)
			i++; /* the closing quote */
	} else {
		a->off = i;
		while (i < end && p[i] != ' ')
			i++;
		a->len = i - a->off;
	}
	*pos = i;
	return true;
}

static char *arg_text(const uint8_t *p, const struct toc_span *a)
{
	uint8_t *raw = malloc(a->len + 1);
	size_t i, n = 0;
	char *out;

	if (!raw)
		return NULL;
	for (i = 0; i < a->len; i++) {
		if (a->quoted && p[a->off + i] == '\\' && i + 1 < a->len)
			i++;
		raw[n++] = p[a->off + i];
	}
	out = text_utf8_or_latin1(raw, n);
	free(raw);
	return out;
}

static bool arg_has_escape(const uint8_t *p, const struct toc_span *a)
{
	return a->quoted && memchr(p + a->off, '\\', a->len) != NULL;
}

static bool span_is(const uint8_t *p, const struct toc_span *a, const char *lit)
{
	return a->len == strlen(lit) && memcmp(p + a->off, lit, a->len) == 0;
}

/* ---- rooms ---- */

static const char *room_name(struct toc_state *st, const char *id)
{
	size_t i;

	for (i = 0; i < TOC_MAX_ROOMS; i++)
		if (st->rooms[i].id && strcmp(st->rooms[i].id, id) == 0)
			return st->rooms[i].name;
	return id;
}

static const char *room_id(struct toc_state *st, const char *name)
{
	size_t i;

	for (i = 0; i < TOC_MAX_ROOMS; i++)
		if (st->rooms[i].name && strcmp(st->rooms[i].name, name) == 0)
			return st->rooms[i].id;
	return name;
}

static bool room_remember(struct toc_state *st, const uint8_t *id, size_t id_len,
			  const uint8_t *name, size_t name_len)
{
	struct toc_room *r = &st->rooms[st->next_room];
	char *new_id = text_dup((const char *)id, id_len);
	char *new_name = text_utf8_or_latin1(name, name_len);

	if (!new_id || !new_name) {
		free(new_id);
		free(new_name);
		return false;
	}
	free(r->id);
	free(r->name);
	r->id = new_id;
	r->name = new_name;
	st->next_room = (st->next_room + 1) % TOC_MAX_ROOMS;
	return true;
}

/* ---- events ---- */

static int out_of_memory(struct proto_session *s, struct im_event *ev)
{
	event_free(ev);
	return proto_session_malformed(s, "out of memory");
}

/* Emit an event; text and remote are taken over. */
static int emit(struct proto_session *s, enum im_dir dir, enum im_kind kind, char *remote,
		char *text, bool group, bool auto_response)
{
	struct im_event ev;

	proto_event_begin(s, &ev, dir, kind);
	ev.remote = remote;
	ev.text = text;
	ev.group = group;
	ev.auto_response = auto_response;
	if (!remote || !text)
		return out_of_memory(s, &ev);
	if (kind == IM_KIND_MESSAGE)
		ev.content_type = oscar_content_type(text);
	proto_event_emit(s, &ev);
	return 0;
}

static int emit_with_span(struct proto_session *s, enum im_dir dir, char *remote, char *text,
			  bool auto_response, size_t off, size_t len)
{
	struct im_event ev;

	proto_event_begin(s, &ev, dir, IM_KIND_MESSAGE);
	ev.remote = remote;
	ev.text = text;
	ev.auto_response = auto_response;
	if (!remote || !text)
		return out_of_memory(s, &ev);
	ev.content_type = oscar_content_type(text);
	ev.has_text_span = true;
	ev.text_offset = off;
	ev.text_len = len;
	proto_event_emit(s, &ev);
	return 0;
}

static char *span_dup(const uint8_t *p, const struct toc_span *a)
{
	return text_utf8_or_latin1(p + a->off, a->len);
}

/* ---- client commands ---- */

static int decode_command(struct proto_session *s, struct toc_state *st, const uint8_t *pdu,
			  size_t end)
{
	struct toc_span cmd, a1, a2, a3;
	size_t pos = FLAP_HEADER_LEN;

	if (!next_arg(pdu, end, &pos, &cmd))
		return 0;
	if (span_is(pdu, &cmd, "toc_signon") || span_is(pdu, &cmd, "toc2_signon")) {
		st->toc2 = span_is(pdu, &cmd, "toc2_signon");
		if (!next_arg(pdu, end, &pos, &a1) || !next_arg(pdu, end, &pos, &a2) ||
		    !next_arg(pdu, end, &pos, &a3))
			return proto_session_malformed(s, "toc_signon without a screen name");
		if (!oscar_learn_local(s, pdu + a3.off, a3.len))
			return proto_session_malformed(s, "out of memory");
		return 0;
	}
	if (span_is(pdu, &cmd, "toc_send_im") || span_is(pdu, &cmd, "toc2_send_im")) {
		bool is_auto;

		if (!next_arg(pdu, end, &pos, &a1) || !next_arg(pdu, end, &pos, &a2))
			return proto_session_malformed(s, "toc_send_im without user and message");
		is_auto = next_arg(pdu, end, &pos, &a3) && span_is(pdu, &a3, "auto");
		if (arg_has_escape(pdu, &a2))
			return emit(s, IM_DIR_OUT, IM_KIND_MESSAGE, arg_text(pdu, &a1),
				    arg_text(pdu, &a2), false, is_auto);
		return emit_with_span(s, IM_DIR_OUT, arg_text(pdu, &a1), arg_text(pdu, &a2),
				      is_auto, a2.off, a2.len);
	}
	if (span_is(pdu, &cmd, "toc_chat_send")) {
		char *id, *room;

		if (!next_arg(pdu, end, &pos, &a1) || !next_arg(pdu, end, &pos, &a2))
			return proto_session_malformed(s, "toc_chat_send without room and message");
		id = arg_text(pdu, &a1);
		room = id ? text_dup(room_name(st, id), strlen(room_name(st, id))) : NULL;
		free(id);
		return emit(s, IM_DIR_OUT, IM_KIND_MESSAGE, room, arg_text(pdu, &a2), true, false);
	}
	if (span_is(pdu, &cmd, "toc2_client_event")) {
		if (!next_arg(pdu, end, &pos, &a1) || !next_arg(pdu, end, &pos, &a2))
			return proto_session_malformed(s, "toc2_client_event without user and status");
		if (span_is(pdu, &a2, "2"))
			return emit(s, IM_DIR_OUT, IM_KIND_TYPING, arg_text(pdu, &a1), text_dup("", 0),
				    false, false);
		return 0;
	}
	return 0;
}

/* ---- server messages ---- */

/* Split the first n colon-separated fields off [pos, end); the rest of
 * the frame (the message) starts at *rest. */
static bool split_fields(const uint8_t *p, size_t pos, size_t end, struct toc_span *f, size_t n,
			 size_t *rest)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const uint8_t *colon = memchr(p + pos, ':', end - pos);

		if (!colon)
			return false;
		f[i].off = pos;
		f[i].len = (size_t)(colon - (p + pos));
		f[i].quoted = false;
		pos = (size_t)(colon - p) + 1;
	}
	*rest = pos;
	return true;
}

static int decode_im_in(struct proto_session *s, const uint8_t *pdu, size_t pos, size_t end,
			size_t n_fields, size_t auto_field)
{
	struct toc_span f[10];
	size_t rest;
	bool is_auto;

	if (!split_fields(pdu, pos, end, f, n_fields, &rest))
		return proto_session_malformed(s, "IM_IN with too few fields");
	is_auto = f[auto_field].len == 1 && pdu[f[auto_field].off] == 'T';
	return emit_with_span(s, IM_DIR_IN, span_dup(pdu, &f[0]),
			      text_utf8_or_latin1(pdu + rest, end - rest), is_auto, rest, end - rest);
}

static int decode_chat_in(struct proto_session *s, struct toc_state *st, const uint8_t *pdu,
			  size_t pos, size_t end, size_t n_fields)
{
	struct toc_span f[6];
	size_t rest;
	char *id, *room, *text = NULL, *msg;

	if (!split_fields(pdu, pos, end, f, n_fields, &rest))
		return proto_session_malformed(s, "CHAT_IN with too few fields");
	id = text_dup((const char *)pdu + f[0].off, f[0].len);
	room = id ? text_dup(room_name(st, id), strlen(room_name(st, id))) : NULL;
	free(id);
	msg = text_utf8_or_latin1(pdu + rest, end - rest);
	if (msg && asprintf(&text, "%.*s: %s", (int)f[1].len, (const char *)pdu + f[1].off, msg) < 0)
		text = NULL;
	free(msg);
	return emit(s, IM_DIR_IN, IM_KIND_MESSAGE, room, text, true, false);
}

static size_t b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return (size_t)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (size_t)(c - 'a') + 26;
	if (c >= '0' && c <= '9')
		return (size_t)(c - '0') + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return 64;
}

/* Base64 into out (at least len * 3 / 4 bytes); returns the length. */
static size_t b64_decode(const uint8_t *p, size_t len, uint8_t *out)
{
	size_t i, n = 0, bits = 0;
	uint32_t acc = 0;

	for (i = 0; i < len; i++) {
		size_t v = b64_value(p[i]);

		if (v == 64)
			break;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

/* RVOUS_PROPOSE:<user>:<uuid>:<cookie>:<seq>:<rip>:<pip>:<vip>:<port>
 * then pairs ":<tlv type>:<base64 value>"; TLV 10001 of a file proposal
 * is OSCAR's service data (kind, count, size, name). */
static int decode_rvous(struct proto_session *s, const uint8_t *pdu, size_t pos, size_t end)
{
	struct toc_span f[8], tok[2];
	size_t rest, n, name_len;
	struct im_event ev;
	uint8_t *data;
	const uint8_t *nul;
	bool found = false;

	if (!split_fields(pdu, pos, end, f, 7, &rest))
		return proto_session_malformed(s, "RVOUS_PROPOSE with too few fields");
	/* the port, then ":<type>:<value>" pairs */
	if (!split_fields(pdu, rest, end, tok, 1, &rest))
		rest = end;
	if (f[1].len != strlen(TOC_FILE_UUID) || memcmp(pdu + f[1].off, TOC_FILE_UUID, f[1].len))
		return emit(s, IM_DIR_IN, IM_KIND_RENDEZVOUS, span_dup(pdu, &f[0]),
			    span_dup(pdu, &f[1]), false, false);
	while (!found && split_fields(pdu, rest, end, tok, 1, &rest)) {
		const uint8_t *colon = memchr(pdu + rest, ':', end - rest);

		tok[1].off = rest;
		tok[1].len = colon ? (size_t)(colon - (pdu + rest)) : end - rest;
		found = tok[0].len == 5 && memcmp(pdu + tok[0].off, "10001", 5) == 0;
		rest = colon ? (size_t)(colon - pdu) + 1 : end;
	}
	if (!found)
		return 0;
	data = malloc(tok[1].len + 1);
	if (!data)
		return proto_session_malformed(s, "out of memory");
	n = b64_decode(pdu + tok[1].off, tok[1].len, data);
	if (n < 8) {
		free(data);
		return proto_session_malformed(s, "RVOUS_PROPOSE file data too short");
	}
	nul = memchr(data + 8, '\0', n - 8);
	name_len = nul ? (size_t)(nul - (data + 8)) : n - 8;
	proto_event_begin(s, &ev, IM_DIR_IN, IM_KIND_FILE);
	ev.file_size = imw_load_be32(data + 4);
	ev.has_file_size = true;
	ev.file_name = text_utf8_or_latin1(data + 8, name_len);
	free(data);
	ev.remote = span_dup(pdu, &f[0]);
	if (!ev.file_name || !ev.remote ||
	    asprintf(&ev.text, "%s (%llu bytes)", ev.file_name, (unsigned long long)ev.file_size) < 0) {
		ev.text = NULL;
		return out_of_memory(s, &ev);
	}
	proto_event_emit(s, &ev);
	return 0;
}

static bool word_is(const uint8_t *p, size_t pos, size_t end, const char *word, size_t *after)
{
	size_t n = strlen(word);

	if (end - pos < n + 1 || memcmp(p + pos, word, n) != 0 || p[pos + n] != ':')
		return false;
	*after = pos + n + 1;
	return true;
}

static int decode_server(struct proto_session *s, struct toc_state *st, const uint8_t *pdu,
			 size_t end)
{
	size_t pos = FLAP_HEADER_LEN, at;
	struct toc_span f[2];

	if (word_is(pdu, pos, end, "IM_IN", &at))
		return decode_im_in(s, pdu, at, end, 2, 1);
	if (word_is(pdu, pos, end, "IM_IN2", &at))
		return decode_im_in(s, pdu, at, end, 3, 1);
	if (word_is(pdu, pos, end, "IM_IN_ENC2", &at))
		return decode_im_in(s, pdu, at, end, 9, 1);
	if (word_is(pdu, pos, end, "CHAT_IN", &at))
		return decode_chat_in(s, st, pdu, at, end, 3);
	if (word_is(pdu, pos, end, "CHAT_IN_ENC", &at))
		return decode_chat_in(s, st, pdu, at, end, 5);
	if (word_is(pdu, pos, end, "CHAT_JOIN", &at)) {
		if (!split_fields(pdu, at, end, f, 1, &pos))
			return proto_session_malformed(s, "CHAT_JOIN without a room name");
		if (!room_remember(st, pdu + f[0].off, f[0].len, pdu + pos, end - pos))
			return proto_session_malformed(s, "out of memory");
		return 0;
	}
	if (word_is(pdu, pos, end, "NICK", &at)) {
		if (!oscar_learn_local(s, pdu + at, end - at))
			return proto_session_malformed(s, "out of memory");
		return 0;
	}
	if (word_is(pdu, pos, end, "CLIENT_EVENT2", &at)) {
		if (!split_fields(pdu, at, end, f, 1, &pos))
			return proto_session_malformed(s, "CLIENT_EVENT2 without a status");
		if (end - pos == 1 && pdu[pos] == '2')
			return emit(s, IM_DIR_IN, IM_KIND_TYPING, span_dup(pdu, &f[0]),
				    text_dup("", 0), false, false);
		return 0;
	}
	if (word_is(pdu, pos, end, "RVOUS_PROPOSE", &at))
		return decode_rvous(s, pdu, at, end);
	if (word_is(pdu, pos, end, "ERROR", &at))
		return emit(s, IM_DIR_IN, IM_KIND_ERROR, text_dup("", 0),
			    text_utf8_or_latin1(pdu + at, end - at), false, false);
	return 0;
}

static int toc_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct toc_state *st = state_of(s);
	size_t end = len;
	struct oscar_tlv tlv;

	if (len == TOC_FLAPON_LEN && memcmp(pdu, TOC_FLAPON, TOC_FLAPON_LEN) == 0)
		return 0;
	if (len < FLAP_HEADER_LEN || pdu[0] != FLAP_MARKER ||
	    imw_load_be16(pdu + 4) != len - FLAP_HEADER_LEN)
		return proto_session_malformed(s, "FLAP length does not match the PDU");
	flap_seq_note(&st->seq, dir, pdu, len);
	if (pdu[1] == FLAP_CH_SIGNON) {
		if (len < FLAP_HEADER_LEN + 4 || imw_load_be32(pdu + FLAP_HEADER_LEN) != 1)
			return proto_session_malformed(s, "TOC sign-on without version 1");
		if (dir == IM_DIR_OUT &&
		    oscar_tlv_find(pdu + FLAP_HEADER_LEN + 4, len - FLAP_HEADER_LEN - 4, 0x0001,
				   &tlv) &&
		    !oscar_learn_local(s, tlv.value, tlv.len))
			return proto_session_malformed(s, "out of memory");
		return 0;
	}
	if (pdu[1] != FLAP_CH_DATA)
		return 0;
	/* Client commands end in NUL; some servers end messages in one too. */
	while (end > FLAP_HEADER_LEN && pdu[end - 1] == '\0')
		end--;
	if (memchr(pdu + FLAP_HEADER_LEN, '\0', end - FLAP_HEADER_LEN))
		return proto_session_malformed(s, "NUL inside a TOC frame");
	return dir == IM_DIR_OUT ? decode_command(s, st, pdu, end) : decode_server(s, st, pdu, end);
}

/* ---- encoding ---- */

static bool put_escaped(struct bytebuf *out, const char *text)
{
	for (; *text; text++) {
		if (strchr("$\\{}[]()\"", *text) && !bytebuf_append_byte(out, '\\'))
			return false;
		if (!bytebuf_append_byte(out, (uint8_t)*text))
			return false;
	}
	return true;
}

static bool put_user_arg(struct bytebuf *out, const char *user)
{
	if (!strchr(user, ' ') && !strchr(user, '"'))
		return bytebuf_append_str(out, user);
	return bytebuf_append_byte(out, '"') && put_escaped(out, user) &&
	       bytebuf_append_byte(out, '"');
}

static bool name_ok(const char *name)
{
	return name && name[0] && !strchr(name, ':') && strlen(name) < 256;
}

/* "sender: text" (incoming room messages) split at the first ": ". */
static bool split_sender(const char *text, size_t *sender_len, const char **rest)
{
	const char *colon = strstr(text, ": ");

	if (!colon || colon == text)
		return false;
	*sender_len = (size_t)(colon - text);
	*rest = colon + 2;
	return true;
}

static int encode_fresh(struct toc_state *st, enum im_dir dir, const struct im_event *ev,
			struct bytebuf *out)
{
	size_t start, sender_len;
	const char *text = ev->text;
	bool ok;

	if (!name_ok(ev->remote))
		return -1;
	if (!flap_begin(out, FLAP_CH_DATA, flap_seq_for_insert(&st->seq, dir), &start))
		return -1;
	if (dir == IM_DIR_OUT && ev->group) {
		ok = bytebuf_append_str(out, "toc_chat_send ") &&
		     put_user_arg(out, room_id(st, ev->remote)) && bytebuf_append_str(out, " \"") &&
		     put_escaped(out, text) && bytebuf_append_byte(out, '"') &&
		     bytebuf_append_byte(out, '\0');
	} else if (dir == IM_DIR_OUT) {
		ok = bytebuf_append_str(out, st->toc2 ? "toc2_send_im " : "toc_send_im ") &&
		     put_user_arg(out, ev->remote) && bytebuf_append_str(out, " \"") &&
		     put_escaped(out, text) && bytebuf_append_byte(out, '"') &&
		     (!ev->auto_response || bytebuf_append_str(out, " auto")) &&
		     bytebuf_append_byte(out, '\0');
	} else if (ev->group) {
		if (!split_sender(ev->text, &sender_len, &text) || memchr(ev->text, ':', sender_len))
			return -1;
		ok = bytebuf_append_str(out, "CHAT_IN:") &&
		     bytebuf_append_str(out, room_id(st, ev->remote)) &&
		     bytebuf_append_byte(out, ':') && bytebuf_append(out, ev->text, sender_len) &&
		     bytebuf_append_str(out, ":F:") && bytebuf_append_str(out, text);
	} else {
		ok = bytebuf_append_str(out, st->toc2 ? "IM_IN2:" : "IM_IN:") &&
		     bytebuf_append_str(out, ev->remote) &&
		     bytebuf_append_str(out, ev->auto_response ? ":T:" : ":F:") &&
		     (!st->toc2 || bytebuf_append_str(out, "F:")) && bytebuf_append_str(out, text);
	}
	return ok && flap_finish(out, start) ? 0 : -1;
}

static bool copy_with_seq(struct toc_state *st, enum im_dir dir, const uint8_t *orig,
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

/* Where the message text lies in an original frame (relative to the
 * PDU), and whether it is a quoted argument. */
static bool locate_text(const uint8_t *pdu, size_t end, enum im_dir dir, struct toc_span *text,
			struct toc_span *sender)
{
	struct toc_span cmd, a1, f[10];
	size_t pos = FLAP_HEADER_LEN, at, n = 0;

	sender->len = 0;
	if (dir == IM_DIR_OUT) {
		if (!next_arg(pdu, end, &pos, &cmd) ||
		    !(span_is(pdu, &cmd, "toc_send_im") || span_is(pdu, &cmd, "toc2_send_im") ||
		      span_is(pdu, &cmd, "toc_chat_send")))
			return false;
		return next_arg(pdu, end, &pos, &a1) && next_arg(pdu, end, &pos, text);
	}
	if (word_is(pdu, pos, end, "IM_IN", &at))
		n = 2;
	else if (word_is(pdu, pos, end, "IM_IN2", &at))
		n = 3;
	else if (word_is(pdu, pos, end, "IM_IN_ENC2", &at))
		n = 9;
	else if (word_is(pdu, pos, end, "CHAT_IN", &at))
		n = 3;
	else if (word_is(pdu, pos, end, "CHAT_IN_ENC", &at))
		n = 5;
	if (n == 0 || !split_fields(pdu, at, end, f, n, &pos))
		return false;
	if (pdu[FLAP_HEADER_LEN] == 'C')
		*sender = f[1];
	text->off = pos;
	text->len = end - pos;
	text->quoted = false;
	return true;
}

static int encode_with_orig(struct toc_state *st, enum im_dir dir, const struct im_event *ev,
			    const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct toc_span text, sender;
	size_t end = orig_len, start, tail;
	const char *new_text = ev->text;
	char *old;
	bool same, ok;

	if (orig_len < FLAP_HEADER_LEN || orig[0] != FLAP_MARKER || orig[1] != FLAP_CH_DATA ||
	    imw_load_be16(orig + 4) != orig_len - FLAP_HEADER_LEN)
		return -1;
	while (end > FLAP_HEADER_LEN && orig[end - 1] == '\0')
		end--;
	if (!locate_text(orig, end, dir, &text, &sender))
		return -1;
	if (sender.len && strlen(new_text) >= sender.len + 2 &&
	    memcmp(new_text, orig + sender.off, sender.len) == 0 &&
	    memcmp(new_text + sender.len, ": ", 2) == 0)
		new_text += sender.len + 2;
	old = arg_text(orig, &text);
	if (!old)
		return -1;
	same = strcmp(old, new_text) == 0;
	free(old);
	if (same)
		return copy_with_seq(st, dir, orig, orig_len, out) ? 0 : -1;
	tail = text.off + text.len;
	if (!flap_begin(out, FLAP_CH_DATA, flap_seq_out(&st->seq, dir, imw_load_be16(orig + 2)),
			&start))
		return -1;
	ok = bytebuf_append(out, orig + FLAP_HEADER_LEN, text.off - FLAP_HEADER_LEN);
	if (dir == IM_DIR_OUT) {
		/* An unquoted one-word message becomes quoted to hold spaces. */
		if (!text.quoted)
			ok = ok && bytebuf_append_byte(out, '"');
		ok = ok && put_escaped(out, new_text);
		if (!text.quoted)
			ok = ok && bytebuf_append_byte(out, '"');
	} else {
		ok = ok && bytebuf_append_str(out, new_text);
	}
	ok = ok && bytebuf_append(out, orig + tail, orig_len - tail) && flap_finish(out, start);
	return ok ? 0 : -1;
}

static int toc_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
		      const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct toc_state *st = state_of(s);
	size_t mark = out->len;
	int rc;

	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return -1;
	rc = orig ? encode_with_orig(st, dir, ev, orig, orig_len, out)
		  : encode_fresh(st, dir, ev, out);
	if (rc < 0)
		out->len = mark;
	return rc;
}

static void toc_pdu_count_changed(struct proto_session *s, enum im_dir dir, int delta)
{
	flap_seq_count_changed(&state_of(s)->seq, dir, delta);
}

static bool toc_fixup_pdu(struct proto_session *s, enum im_dir dir, uint8_t *pdu, size_t len)
{
	return flap_seq_fixup(&state_of(s)->seq, dir, pdu, len);
}

static int toc_session_init(struct proto_session *s)
{
	s->state = calloc(1, sizeof(struct toc_state));
	return s->state ? 0 : -1;
}

static void toc_session_free(struct proto_session *s)
{
	struct toc_state *st = state_of(s);
	size_t i;

	if (!st)
		return;
	for (i = 0; i < TOC_MAX_ROOMS; i++) {
		free(st->rooms[i].id);
		free(st->rooms[i].name);
	}
	free(st);
	s->state = NULL;
}

const struct proto_module proto_toc = {
	PROTO_IDENTITY(TOC),
	.max_pdu = FLAP_MAX_PDU,
	.detect = toc_detect,
	.frame = toc_frame,
	.decode = toc_decode,
	.resync = toc_resync,
	.session_init = toc_session_init,
	.session_free = toc_session_free,
	.encode = toc_encode,
	.pdu_count_changed = toc_pdu_count_changed,
	.fixup_pdu = toc_fixup_pdu,
	/* No local_receipt: the TOC server sends nothing back for a command
	 * that succeeded, only ERROR for one that failed (TOC1.0 PROTOCOL). */
};
