/* TPL packets to events. Parsing goes through a bounded cursor and fails
 * loudly (proto_session_malformed with a static reason, which the app
 * layer counts); an event is started with proto_event_begin, which fills
 * the session's common fields, and handed on with proto_event_emit. */
#include <string.h>

#include "proto/template/template_internal.h"
#include "util/cursor.h"
#include "util/text.h"

bool tpl_parse(const uint8_t *pdu, size_t len, struct tpl_packet *pk, const char **why)
{
	struct cursor c;
	const uint8_t *body, *nul;
	uint8_t type;
	uint16_t body_len;

	memset(pk, 0, sizeof(*pk));
	cursor_init(&c, pdu, len);
	cursor_skip(&c, 2);
	cursor_u8(&c, &type);
	cursor_be16(&c, &body_len);
	body = cursor_take(&c, body_len);
	if (!cursor_ok(&c) || cursor_remaining(&c) != 0) {
		*why = "TPL length does not match the PDU";
		return false;
	}
	pk->type = (enum tpl_type)type;
	if (type == TPL_HELLO || type == TPL_OK) {
		pk->peer = body;
		pk->peer_len = body_len;
		return true;
	}
	nul = memchr(body, '\0', body_len);
	if (!nul) {
		*why = "TPL message without a NUL after its peer";
		return false;
	}
	pk->peer = body;
	pk->peer_len = (size_t)(nul - body);
	pk->text = nul + 1;
	pk->text_len = body_len - pk->peer_len - 1;
	pk->text_off = (size_t)(pk->text - pdu);
	return true;
}

static int emit_login(struct proto_session *s, enum im_dir dir, const struct tpl_packet *pk)
{
	struct tpl_state *st = tpl_state_of(s);
	struct im_event ev;

	if (!proto_session_set_local(s, (const char *)pk->peer, pk->peer_len))
		return proto_session_malformed(s, "out of memory");
	if (st->login_sent)
		return 0;
	st->login_sent = true;
	proto_event_begin(s, &ev, dir, IM_KIND_LOGIN);
	if (!event_set_str(&ev.text, "")) {
		event_free(&ev);
		return proto_session_malformed(s, "out of memory");
	}
	proto_event_emit(s, &ev);
	return 0;
}

static int emit_message(struct proto_session *s, enum im_dir dir, const struct tpl_packet *pk)
{
	struct im_event ev;

	proto_event_begin(s, &ev, dir, IM_KIND_MESSAGE);
	ev.has_text_span = true;
	ev.text_offset = pk->text_off;
	ev.text_len = pk->text_len;
	ev.remote = text_utf8_or_latin1(pk->peer, pk->peer_len);
	ev.text = text_utf8_or_latin1(pk->text, pk->text_len);
	if (!ev.remote || !ev.text) {
		event_free(&ev);
		return proto_session_malformed(s, "out of memory");
	}
	proto_event_emit(s, &ev);
	return 0;
}

/* A packet from the wrong side is malformed: it is what resync after a
 * mid-stream pick-up needs to stay honest. */
int tpl_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct tpl_packet pk;
	const char *why = "malformed TPL packet";

	if (!tpl_parse(pdu, len, &pk, &why))
		return proto_session_malformed(s, why);
	switch (pk.type) {
	case TPL_HELLO:
		return dir == IM_DIR_OUT ? emit_login(s, dir, &pk)
					 : proto_session_malformed(s, "HELLO from the server");
	case TPL_SEND:
		return dir == IM_DIR_OUT ? emit_message(s, dir, &pk)
					 : proto_session_malformed(s, "SEND from the server");
	case TPL_DELIVER:
		return dir == IM_DIR_IN ? emit_message(s, dir, &pk)
					: proto_session_malformed(s, "DELIVER from the client");
	case TPL_OK:
		return 0;
	}
	return proto_session_malformed(s, "unknown TPL packet type");
}
