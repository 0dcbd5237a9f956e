/* Gadu-Gadu packets to events: logins of every generation, messages
 * (conferences as groups), typing, DCC7 file offers, status. Conventions:
 * gg.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "proto/gg/gg_internal.h"
#include "util/text.h"

static char *uin_text(uint32_t uin)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", uin);
	return text_dup(buf, strlen(buf));
}

static bool set_uin(char **field, uint32_t uin)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", uin);
	return event_set_str(field, buf);
}

static int emit_login(struct proto_session *s, enum im_dir dir, uint32_t uin)
{
	struct im_event ev;
	char *id = uin_text(uin);

	if (!id)
		return -1;
	if (!proto_session_set_local(s, id, strlen(id))) {
		free(id);
		return -1;
	}
	free(id);
	proto_event_begin(s, &ev, dir, IM_KIND_LOGIN);
	proto_event_emit(s, &ev);
	return 0;
}

static int decode_login105(struct proto_session *s, enum im_dir dir, const uint8_t *body,
			   size_t len)
{
	struct cursor c;
	struct pb_field f;
	bool bad = false;
	uint32_t uin;

	cursor_init(&c, body, len);
	while (gg_pb_next(&c, &f, &bad))
		if (f.number == 2 && f.wire == 2 && gg_pb_uin(f.data, f.len, &uin))
			return emit_login(s, dir, uin);
	return proto_session_malformed(s, bad ? "bad protobuf in GG_LOGIN105"
					      : "GG_LOGIN105 without a UIN");
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The conference name: every participant but us, sorted, comma-joined. */
static char *conference_remote(const struct gg_msg *m, uint32_t me)
{
	uint32_t all[GG_MAX_CONFERENCE + 1];
	size_t n = 0, i;
	struct bytebuf b;
	bool ok = true;

	all[n++] = m->peer;
	for (i = 0; i < m->n_conference; i++)
		all[n++] = m->conference[i];
	qsort(all, n, sizeof(all[0]), cmp_u32);
	bytebuf_init(&b);
	for (i = 0; ok && i < n; i++) {
		if (all[i] == me || (i > 0 && all[i] == all[i - 1]))
			continue;
		ok = (b.len == 0 || bytebuf_append_byte(&b, ',')) && bytebuf_printf(&b, "%u", all[i]);
	}
	if (!ok || !bytebuf_terminate(&b)) {
		bytebuf_free(&b);
		return NULL;
	}
	if (!b.data)
		return text_dup("", 0);
	return (char *)b.data;
}

uint32_t gg_local_uin(const struct proto_session *s)
{
	unsigned long v;
	char *end;

	if (!s->local_id || !s->local_id[0])
		return 0;
	v = strtoul(s->local_id, &end, 10);
	return *end || v > 0xffffffffu ? 0 : (uint32_t)v;
}

static bool is_ascii(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] >= 0x80)
			return false;
	return true;
}

static int emit_message(struct proto_session *s, enum im_dir dir, const struct gg_msg *m,
			bool old_format)
{
	struct gg_state *st = gg_state_of(s);
	struct im_event ev;
	char *text = NULL, *conf = NULL;
	const char *content_type = "text/plain";
	bool group = m->n_conference > 0 || m->chat_id != 0;
	int rc = -1;

	if (m->plain_len)
		text = m->plain_utf8 ? text_utf8_or_latin1(m->plain, m->plain_len)
				     : text_cp1250_to_utf8(m->plain, m->plain_len);
	else if (m->html_len) {
		text = text_utf8_or_latin1(m->html, m->html_len);
		content_type = "text/html";
	} else
		text = text_dup("", 0);
	if (!text)
		return -1;
	if (m->n_conference) {
		conf = conference_remote(m, gg_local_uin(s));
		if (!conf)
			goto out;
		/* libgadu sends each recipient a copy: log the first only. */
		if (dir == IM_DIR_OUT && st->conf_remote && st->conf_seq == m->seq &&
		    strcmp(st->conf_remote, conf) == 0) {
			rc = 0;
			goto out;
		}
		free(st->conf_remote);
		st->conf_remote = text_dup(conf, strlen(conf));
		st->conf_seq = m->seq;
	}
	proto_event_begin(s, &ev, dir, IM_KIND_MESSAGE);
	ev.group = group;
	ev.content_type = content_type;
	if (old_format && !group && is_ascii(m->plain, m->plain_len)) {
		ev.has_text_span = true;
		ev.text_offset = m->plain_off;
		ev.text_len = m->plain_len;
	}
	if (conf) {
		if (!event_set_str(&ev.remote, conf))
			goto fail;
	} else if (m->chat_id) {
		char id[32];

		snprintf(id, sizeof(id), "chat:%llu", (unsigned long long)m->chat_id);
		if (!event_set_str(&ev.remote, id))
			goto fail;
	} else if (!set_uin(&ev.remote, m->peer)) {
		goto fail;
	}
	if (group && dir == IM_DIR_IN && m->peer) {
		struct bytebuf b;
		bool ok;

		bytebuf_init(&b);
		ok = bytebuf_printf(&b, "%u: %s", m->peer, text) && bytebuf_terminate(&b) &&
		     event_set_str(&ev.text, (char *)b.data);
		bytebuf_free(&b);
		if (!ok)
			goto fail;
	} else if (!event_set_str(&ev.text, text)) {
		goto fail;
	}
	proto_event_emit(s, &ev);
	rc = 0;
	goto out;
fail:
	event_free(&ev);
out:
	free(text);
	free(conf);
	return rc;
}

static int decode_message(struct proto_session *s, enum im_dir dir, uint32_t type,
			  const uint8_t *body, size_t len)
{
	struct gg_msg *m = malloc(sizeof(*m));
	const char *why = "message packet too short";
	bool old = type == GG_SEND_MSG || type == GG_RECV_MSG;
	int rc;

	if (!m)
		return proto_session_malformed(s, "out of memory");
	if (old)
		rc = gg_parse_msg_old(body, len, dir == IM_DIR_IN, m, &why);
	else if (type == GG_SEND_MSG110 || type == GG_RECV_MSG110)
		rc = gg_parse_msg110(body, len, m, &why);
	else
		rc = gg_parse_msg80(body, len, dir == IM_DIR_IN, m, &why);
	if (rc == 0 && !(m->msgclass & 0x10)) /* GG_CLASS_CTCP: client-to-client data */
		rc = emit_message(s, dir, m, old) < 0 ? proto_session_malformed(s, "out of memory") : 0;
	else if (rc < 0)
		rc = proto_session_malformed(s, why);
	free(m);
	return rc;
}

static int decode_typing(struct proto_session *s, enum im_dir dir, const uint8_t *body, size_t len)
{
	struct cursor c;
	uint16_t chars = 0;
	uint32_t uin = 0;
	struct im_event ev;

	cursor_init(&c, body, len);
	cursor_le16(&c, &chars);
	cursor_le32(&c, &uin);
	if (!cursor_ok(&c))
		return proto_session_malformed(s, "GG_TYPING_NOTIFY too short");
	proto_event_begin(s, &ev, dir, IM_KIND_TYPING);
	if (!set_uin(&ev.remote, uin) || !event_set_str(&ev.text, chars ? "typing" : "stopped")) {
		event_free(&ev);
		return proto_session_malformed(s, "out of memory");
	}
	proto_event_emit(s, &ev);
	return 0;
}

static int decode_dcc7_new(struct proto_session *s, enum im_dir dir, const uint8_t *body,
			   size_t len)
{
	struct cursor c;
	uint32_t from = 0, to = 0, kind = 0, size_lo = 0, size_hi = 0;
	const uint8_t *name;
	char *file = NULL;
	struct im_event ev;
	struct bytebuf b;
	bool ok;

	cursor_init(&c, body, len);
	cursor_skip(&c, 8); /* connection id */
	cursor_le32(&c, &from);
	cursor_le32(&c, &to);
	cursor_le32(&c, &kind);
	name = cursor_take(&c, GG_DCC7_FILENAME_LEN);
	cursor_le32(&c, &size_lo);
	cursor_le32(&c, &size_hi);
	if (!cursor_ok(&c))
		return proto_session_malformed(s, "GG_DCC7_NEW too short");
	if (kind != GG_DCC7_TYPE_FILE)
		return 0; /* a voice call */
	file = text_cp1250_to_utf8(name, gg_strnlen_bytes(name, GG_DCC7_FILENAME_LEN));
	if (!file)
		return proto_session_malformed(s, "out of memory");
	proto_event_begin(s, &ev, dir, IM_KIND_FILE);
	ev.has_file_size = true;
	ev.file_size = (uint64_t)size_hi << 32 | size_lo;
	gg_dcc7_new_xfer(gg_state_of(s), dir, body, &ev.xfer);
	bytebuf_init(&b);
	ok = set_uin(&ev.remote, dir == IM_DIR_OUT ? to : from) && event_set_str(&ev.file_name, file) &&
	     bytebuf_printf(&b, "%s (%llu bytes)", file, (unsigned long long)ev.file_size) &&
	     bytebuf_terminate(&b) && event_set_str(&ev.text, (char *)b.data);
	bytebuf_free(&b);
	free(file);
	if (!ok) {
		event_free(&ev);
		return proto_session_malformed(s, "out of memory");
	}
	if (!s->local_id && (dir == IM_DIR_OUT ? from : to))
		emit_login(s, dir, dir == IM_DIR_OUT ? from : to);
	proto_event_emit(s, &ev);
	return 0;
}

static const char *status_name(uint32_t status)
{
	switch (status & 0xff) {
	case 0x01:
	case 0x15:
		return "offline";
	case 0x02:
	case 0x04:
		return "available";
	case 0x03:
	case 0x05:
		return "busy";
	case 0x14:
	case 0x16:
		return "invisible";
	case 0x17:
	case 0x18:
		return "free for chat";
	case 0x21:
	case 0x22:
		return "do not disturb";
	}
	return "unknown";
}

/* GG_NEW_STATUS (status, optional NUL-less CP1250 text) and
 * GG_NEW_STATUS80 (status, flags, length, UTF-8 text). */
static int decode_new_status(struct proto_session *s, enum im_dir dir, uint32_t type,
			     const uint8_t *body, size_t len)
{
	struct cursor c;
	uint32_t status = 0, flags = 0, dlen = 0;
	const uint8_t *descr = NULL;
	char *d = NULL;
	struct im_event ev;
	struct bytebuf b;
	bool ok;

	cursor_init(&c, body, len);
	cursor_le32(&c, &status);
	if (type == GG_NEW_STATUS80) {
		cursor_le32(&c, &flags);
		cursor_le32(&c, &dlen);
		descr = cursor_take(&c, dlen);
	} else {
		dlen = (uint32_t)cursor_remaining(&c);
		descr = cursor_here(&c);
	}
	if (!cursor_ok(&c))
		return proto_session_malformed(s, "status packet too short");
	dlen = (uint32_t)gg_strnlen_bytes(descr, dlen);
	if (dlen)
		d = type == GG_NEW_STATUS80 ? text_utf8_or_latin1(descr, dlen)
					    : text_cp1250_to_utf8(descr, dlen);
	if (dlen && !d)
		return proto_session_malformed(s, "out of memory");
	bytebuf_init(&b);
	ok = bytebuf_append_str(&b, status_name(status)) &&
	     (!d || (bytebuf_append_str(&b, ": ") && bytebuf_append_str(&b, d))) &&
	     bytebuf_terminate(&b);
	proto_event_begin(s, &ev, dir, IM_KIND_PRESENCE);
	ok = ok && event_set_str(&ev.text, (char *)b.data);
	bytebuf_free(&b);
	free(d);
	if (!ok) {
		event_free(&ev);
		return proto_session_malformed(s, "out of memory");
	}
	proto_event_emit(s, &ev);
	return 0;
}

int gg_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	uint32_t type, uin;
	const uint8_t *body;
	size_t blen;
	struct im_event ev;

	if (len < GG_HEADER_LEN || imw_load_le32(pdu + 4) != len - GG_HEADER_LEN)
		return proto_session_malformed(s, "packet length does not match its header");
	type = imw_load_le32(pdu);
	body = pdu + GG_HEADER_LEN;
	blen = len - GG_HEADER_LEN;
	if (dir == IM_DIR_OUT) {
		switch (type) {
		case GG_LOGIN:
		case GG_LOGIN_EXT:
		case GG_LOGIN60:
		case GG_LOGIN70:
		case GG_LOGIN80BETA:
		case GG_LOGIN80:
			if (blen < 4)
				return proto_session_malformed(s, "login packet too short");
			uin = imw_load_le32(body);
			return emit_login(s, dir, uin) < 0 ? proto_session_malformed(s, "out of memory")
							   : 0;
		case GG_LOGIN105:
			return decode_login105(s, dir, body, blen);
		case GG_SEND_MSG:
		case GG_SEND_MSG80:
		case GG_SEND_MSG110:
			return decode_message(s, dir, type, body, blen);
		case GG_TYPING_NOTIFY:
			return decode_typing(s, dir, body, blen);
		case GG_DCC7_NEW:
			return decode_dcc7_new(s, dir, body, blen);
		case GG_DCC7_INFO:
			return gg_decode_dcc7_info(s, dir, body, blen);
		case GG_NEW_STATUS:
		case GG_NEW_STATUS80:
			return decode_new_status(s, dir, type, body, blen);
		}
		return 0;
	}
	switch (type) {
	case GG_RECV_MSG:
	case GG_RECV_MSG80:
	case GG_RECV_MSG110:
		return decode_message(s, dir, type, body, blen);
	case GG_TYPING_NOTIFY:
		return decode_typing(s, dir, body, blen);
	case GG_DCC7_NEW:
		return decode_dcc7_new(s, dir, body, blen);
	case GG_DCC7_INFO:
		return gg_decode_dcc7_info(s, dir, body, blen);
	case GG_LOGIN_FAILED:
	case GG_LOGIN80_FAILED:
		proto_event_begin(s, &ev, dir, IM_KIND_ERROR);
		if (!event_set_str(&ev.text, "login failed")) {
			event_free(&ev);
			return proto_session_malformed(s, "out of memory");
		}
		proto_event_emit(s, &ev);
		return 0;
	case GG_SEND_MSG: /* GG_DISCONNECTING */
		proto_event_begin(s, &ev, dir, IM_KIND_LOGOUT);
		proto_event_emit(s, &ev);
		return 0;
	}
	return 0;
}
