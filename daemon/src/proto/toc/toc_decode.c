/* TOC to events: the client's commands (quoted arguments with escapes)
 * and the server's colon-separated messages (the last field keeps its
 * colons), rooms remembered per connection, file proposals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "proto/toc/toc_internal.h"
#include "util/text.h"

bool toc_next_arg(const uint8_t *p, size_t end, size_t *pos, struct toc_span *a)
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

char *toc_arg_text(const uint8_t *p, const struct toc_span *a)
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

bool toc_span_is(const uint8_t *p, const struct toc_span *a, const char *lit)
{
	return a->len == strlen(lit) && memcmp(p + a->off, lit, a->len) == 0;
}

static const char *room_name(struct toc_state *st, const char *id)
{
	size_t i;

	for (i = 0; i < TOC_MAX_ROOMS; i++)
		if (st->rooms[i].id && strcmp(st->rooms[i].id, id) == 0)
			return st->rooms[i].name;
	return id;
}

const char *toc_room_id(struct toc_state *st, const char *name)
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

static int decode_command(struct proto_session *s, struct toc_state *st, const uint8_t *pdu,
			  size_t end)
{
	struct toc_span cmd, a1, a2, a3;
	size_t pos = FLAP_HEADER_LEN;

	if (!toc_next_arg(pdu, end, &pos, &cmd))
		return 0;
	if (toc_span_is(pdu, &cmd, "toc_signon") || toc_span_is(pdu, &cmd, "toc2_signon")) {
		st->toc2 = toc_span_is(pdu, &cmd, "toc2_signon");
		if (!toc_next_arg(pdu, end, &pos, &a1) || !toc_next_arg(pdu, end, &pos, &a2) ||
		    !toc_next_arg(pdu, end, &pos, &a3))
			return proto_session_malformed(s, "toc_signon without a screen name");
		if (!oscar_learn_local(s, pdu + a3.off, a3.len))
			return proto_session_malformed(s, "out of memory");
		return 0;
	}
	if (toc_span_is(pdu, &cmd, "toc_send_im") || toc_span_is(pdu, &cmd, "toc2_send_im")) {
		bool is_auto;

		if (!toc_next_arg(pdu, end, &pos, &a1) || !toc_next_arg(pdu, end, &pos, &a2))
			return proto_session_malformed(s, "toc_send_im without user and message");
		is_auto = toc_next_arg(pdu, end, &pos, &a3) && toc_span_is(pdu, &a3, "auto");
		if (arg_has_escape(pdu, &a2))
			return emit(s, IM_DIR_OUT, IM_KIND_MESSAGE, toc_arg_text(pdu, &a1),
				    toc_arg_text(pdu, &a2), false, is_auto);
		return emit_with_span(s, IM_DIR_OUT, toc_arg_text(pdu, &a1), toc_arg_text(pdu, &a2),
				      is_auto, a2.off, a2.len);
	}
	if (toc_span_is(pdu, &cmd, "toc_chat_send")) {
		char *id, *room;

		if (!toc_next_arg(pdu, end, &pos, &a1) || !toc_next_arg(pdu, end, &pos, &a2))
			return proto_session_malformed(s, "toc_chat_send without room and message");
		id = toc_arg_text(pdu, &a1);
		room = id ? text_dup(room_name(st, id), strlen(room_name(st, id))) : NULL;
		free(id);
		return emit(s, IM_DIR_OUT, IM_KIND_MESSAGE, room, toc_arg_text(pdu, &a2), true,
			    false);
	}
	if (toc_span_is(pdu, &cmd, "toc2_client_event")) {
		if (!toc_next_arg(pdu, end, &pos, &a1) || !toc_next_arg(pdu, end, &pos, &a2))
			return proto_session_malformed(s, "toc2_client_event without user and status");
		if (toc_span_is(pdu, &a2, "2"))
			return emit(s, IM_DIR_OUT, IM_KIND_TYPING, toc_arg_text(pdu, &a1),
				    text_dup("", 0), false, false);
		return 0;
	}
	return 0;
}

bool toc_split_fields(const uint8_t *p, size_t pos, size_t end, struct toc_span *f, size_t n,
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

	if (!toc_split_fields(pdu, pos, end, f, n_fields, &rest))
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

	if (!toc_split_fields(pdu, pos, end, f, n_fields, &rest))
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

	if (!toc_split_fields(pdu, pos, end, f, 7, &rest))
		return proto_session_malformed(s, "RVOUS_PROPOSE with too few fields");
	/* the port, then ":<type>:<value>" pairs */
	if (!toc_split_fields(pdu, rest, end, tok, 1, &rest))
		rest = end;
	if (f[1].len != strlen(TOC_FILE_UUID) || memcmp(pdu + f[1].off, TOC_FILE_UUID, f[1].len))
		return emit(s, IM_DIR_IN, IM_KIND_RENDEZVOUS, span_dup(pdu, &f[0]),
			    span_dup(pdu, &f[1]), false, false);
	while (!found && toc_split_fields(pdu, rest, end, tok, 1, &rest)) {
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

bool toc_word_is(const uint8_t *p, size_t pos, size_t end, const char *word, size_t *after)
{
	size_t n = strlen(word);

	if (end - pos < n + 1 || memcmp(p + pos, word, n) != 0 || p[pos + n] != ':')
		return false;
	*after = pos + n + 1;
	return true;
}

/* "UPDATE_BUDDY:<user>:<online T/F>:<evil>:<signon>:<idle>:<class>" (and
 * TOC2's UPDATE_BUDDY2, same fields first): a presence of the buddy's,
 * "online", "away" (class " U" or "AOU") or "offline". */
static int decode_update_buddy(struct proto_session *s, const uint8_t *pdu, size_t at, size_t end)
{
	struct toc_span f[6];
	size_t pos;
	const char *word = "offline";

	if (!toc_split_fields(pdu, at, end, f, 2, &pos) || f[0].len == 0)
		return proto_session_malformed(s, "UPDATE_BUDDY without a user and status");
	if (f[1].len == 1 && pdu[f[1].off] == 'T') {
		word = "online";
		/* The class is the sixth field, its third letter U when away. */
		if (toc_split_fields(pdu, at, end, f, 5, &pos) && end - pos >= 3 &&
		    pdu[pos + 2] == 'U')
			word = "away";
	}
	return emit(s, IM_DIR_IN, IM_KIND_PRESENCE, span_dup(pdu, &f[0]), text_dup(word, strlen(word)),
		    false, false);
}

static int decode_server(struct proto_session *s, struct toc_state *st, const uint8_t *pdu,
			 size_t end)
{
	size_t pos = FLAP_HEADER_LEN, at;
	struct toc_span f[2];

	if (toc_word_is(pdu, pos, end, "IM_IN", &at))
		return decode_im_in(s, pdu, at, end, 2, 1);
	if (toc_word_is(pdu, pos, end, "IM_IN2", &at))
		return decode_im_in(s, pdu, at, end, 3, 1);
	if (toc_word_is(pdu, pos, end, "IM_IN_ENC2", &at))
		return decode_im_in(s, pdu, at, end, 9, 1);
	if (toc_word_is(pdu, pos, end, "CHAT_IN", &at))
		return decode_chat_in(s, st, pdu, at, end, 3);
	if (toc_word_is(pdu, pos, end, "CHAT_IN_ENC", &at))
		return decode_chat_in(s, st, pdu, at, end, 5);
	if (toc_word_is(pdu, pos, end, "CHAT_JOIN", &at)) {
		if (!toc_split_fields(pdu, at, end, f, 1, &pos))
			return proto_session_malformed(s, "CHAT_JOIN without a room name");
		if (!room_remember(st, pdu + f[0].off, f[0].len, pdu + pos, end - pos))
			return proto_session_malformed(s, "out of memory");
		return 0;
	}
	if (toc_word_is(pdu, pos, end, "SIGN_ON", &at)) {
		/* The server took the sign-on: the session is up, once. */
		if (st->login_sent)
			return 0;
		st->login_sent = true;
		return emit(s, IM_DIR_IN, IM_KIND_LOGIN, text_dup("", 0), text_dup("", 0), false,
			    false);
	}
	if (toc_word_is(pdu, pos, end, "UPDATE_BUDDY", &at) ||
	    toc_word_is(pdu, pos, end, "UPDATE_BUDDY2", &at))
		return decode_update_buddy(s, pdu, at, end);
	if (toc_word_is(pdu, pos, end, "NICK", &at)) {
		if (!oscar_learn_local(s, pdu + at, end - at))
			return proto_session_malformed(s, "out of memory");
		return 0;
	}
	if (toc_word_is(pdu, pos, end, "CLIENT_EVENT2", &at)) {
		if (!toc_split_fields(pdu, at, end, f, 1, &pos))
			return proto_session_malformed(s, "CLIENT_EVENT2 without a status");
		if (end - pos == 1 && pdu[pos] == '2')
			return emit(s, IM_DIR_IN, IM_KIND_TYPING, span_dup(pdu, &f[0]),
				    text_dup("", 0), false, false);
		return 0;
	}
	if (toc_word_is(pdu, pos, end, "RVOUS_PROPOSE", &at))
		return decode_rvous(s, pdu, at, end);
	if (toc_word_is(pdu, pos, end, "ERROR", &at))
		return emit(s, IM_DIR_IN, IM_KIND_ERROR, text_dup("", 0),
			    text_utf8_or_latin1(pdu + at, end - at), false, false);
	return 0;
}

int toc_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct toc_state *st = toc_state_of(s);
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
	if (pdu[1] == FLAP_CH_SIGNOFF && !st->logout_sent) {
		st->logout_sent = true;
		return emit(s, dir, IM_KIND_LOGOUT, text_dup("", 0), text_dup("", 0), false, false);
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
