/* Where a GG DCC7 file travels. GG_DCC7_NEW (through the server) names
 * the file and an 8-byte connection id; GG_DCC7_INFO then tells the peer
 * where one side listens, "a.b.c.d port" for a direct (P2P) connection.
 * On that connection the connecting side sends the id, the listener
 * answers with it, and the sender's raw file follows (libgadu's dcc7.c):
 * IM_XFER_TCP with an 8-byte preamble each way. The info is logged as a
 * rendezvous event that completes the NEW's offer (both named by the id).
 * Relayed transfers (GG_DCC7_TYPE_SERVER) go through GG's relay servers
 * with a protocol of their own and are not followed. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "proto/gg/gg_internal.h"
#include "util/cursor.h"

#define GG_DCC7_ID_LEN 8u
#define GG_DCC7_INFO_LEN 32u
#define GG_DCC7_TYPE_P2P 1u

static bool set_uin(char **field, uint32_t uin)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", uin);
	return event_set_str(field, buf);
}

static void id_token(const uint8_t *id, uint8_t *out, uint8_t *len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < GG_DCC7_ID_LEN; i++) {
		out[2 * i] = (uint8_t)digits[id[i] >> 4];
		out[2 * i + 1] = (uint8_t)digits[id[i] & 15];
	}
	*len = 2 * GG_DCC7_ID_LEN;
}

void gg_dcc7_new_xfer(struct gg_state *st, enum im_dir dir, const uint8_t *id, struct im_xfer *x)
{
	memset(x, 0, sizeof(*x));
	x->path = IM_XFER_TCP;
	x->preamble = GG_DCC7_ID_LEN;
	id_token(id, x->token, &x->token_len);
	memcpy(st->dcc7_ids[st->next_dcc7], id, GG_DCC7_ID_LEN);
	st->dcc7_dirs[st->next_dcc7] = dir;
	st->dcc7_used[st->next_dcc7] = true;
	st->next_dcc7 = (st->next_dcc7 + 1) % GG_DCC7_REMEMBERED;
}

/* "a.b.c.d port" */
static bool parse_info(const uint8_t *info, struct im_xfer *x)
{
	char text[GG_DCC7_INFO_LEN + 1], *sp, *end;
	unsigned long port;

	memcpy(text, info, GG_DCC7_INFO_LEN);
	text[GG_DCC7_INFO_LEN] = '\0';
	sp = strchr(text, ' ');
	if (!sp)
		return false;
	*sp = '\0';
	port = strtoul(sp + 1, &end, 10);
	if (end == sp + 1 || port == 0 || port > 65535 || inet_pton(AF_INET, text, x->addr) != 1)
		return false;
	x->ip_version = 4;
	x->port = (uint16_t)port;
	return true;
}

int gg_decode_dcc7_info(struct proto_session *s, enum im_dir dir, const uint8_t *body,
			size_t len)
{
	struct gg_state *st = gg_state_of(s);
	struct cursor c;
	uint32_t uin = 0, type = 0;
	const uint8_t *id, *info;
	struct im_event ev;
	size_t i;

	cursor_init(&c, body, len);
	cursor_le32(&c, &uin);
	cursor_le32(&c, &type);
	id = cursor_take(&c, GG_DCC7_ID_LEN);
	info = cursor_take(&c, GG_DCC7_INFO_LEN);
	if (!cursor_ok(&c))
		return proto_session_malformed(s, "GG_DCC7_INFO too short");
	if (type != GG_DCC7_TYPE_P2P)
		return 0;
	proto_event_begin(s, &ev, dir, IM_KIND_RENDEZVOUS);
	ev.xfer.path = IM_XFER_TCP;
	ev.xfer.preamble = GG_DCC7_ID_LEN;
	if (!parse_info(info, &ev.xfer)) {
		event_free(&ev);
		return proto_session_malformed(s, "GG_DCC7_INFO without an address and port");
	}
	/* The file's sender listens when it is the one telling where. */
	ev.xfer.from_listener = true;
	for (i = 0; i < GG_DCC7_REMEMBERED; i++)
		if (st->dcc7_used[i] && memcmp(st->dcc7_ids[i], id, GG_DCC7_ID_LEN) == 0)
			ev.xfer.from_listener = st->dcc7_dirs[i] == dir;
	id_token(id, ev.xfer.token, &ev.xfer.token_len);
	id_token(id, ev.xfer.offer_id, &ev.xfer.offer_id_len);
	if (!set_uin(&ev.remote, uin) ||
	    !event_set(&ev.text, (const char *)info, gg_strnlen_bytes(info, GG_DCC7_INFO_LEN))) {
		event_free(&ev);
		return proto_session_malformed(s, "out of memory");
	}
	proto_event_emit(s, &ev);
	return 0;
}
