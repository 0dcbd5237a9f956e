/* Events back to TPL packets. With the original PDU only the text
 * changes and every other byte is kept (here: the type and the peer);
 * without it the packet is built from the event's neutral fields alone,
 * which every module must be able to do (local delivery, inserted
 * messages). Nothing half-written is left in out on failure. */
#include <string.h>

#include "imwire/byteorder.h"
#include "proto/template/template_internal.h"

static bool append_packet(struct bytebuf *out, enum tpl_type type, const void *peer,
			  size_t peer_len, const char *text)
{
	size_t text_len = strlen(text), body = peer_len + 1 + text_len;
	uint8_t hdr[TPL_HEADER_LEN] = { 'T', 'P', (uint8_t)type, 0, 0 };

	if (body > TPL_MAX_BODY || memchr(peer, '\0', peer_len))
		return false;
	imw_store_be16(hdr + 3, (uint16_t)body);
	return bytebuf_append(out, hdr, sizeof(hdr)) && bytebuf_append(out, peer, peer_len) &&
	       bytebuf_append_byte(out, 0) && bytebuf_append(out, text, text_len);
}

int tpl_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
	       const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct tpl_packet pk;
	const char *why;
	size_t mark = out->len;
	bool ok;

	(void)s;
	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return -1;
	if (orig) {
		ok = tpl_parse(orig, orig_len, &pk, &why) &&
		     (pk.type == TPL_SEND || pk.type == TPL_DELIVER) &&
		     append_packet(out, pk.type, pk.peer, pk.peer_len, ev->text);
	} else {
		ok = ev->remote && ev->remote[0] &&
		     append_packet(out, dir == IM_DIR_OUT ? TPL_SEND : TPL_DELIVER, ev->remote,
				   strlen(ev->remote), ev->text);
	}
	if (!ok)
		out->len = mark;
	return ok ? 0 : -1;
}

/* The server answers a delivered SEND with OK: when imwire delivers a
 * message itself and deletes it from the server-bound stream, the sender
 * still gets its OK. One PDU appended. */
int tpl_local_receipt(struct proto_session *s, const struct im_event *ev, const uint8_t *orig,
		      size_t orig_len, struct bytebuf *out)
{
	static const uint8_t ok_packet[TPL_HEADER_LEN] = { 'T', 'P', TPL_OK, 0, 0 };
	struct tpl_packet pk;
	const char *why;

	(void)s;
	if (!ev || ev->dir != IM_DIR_OUT || !orig || !tpl_parse(orig, orig_len, &pk, &why) ||
	    pk.type != TPL_SEND)
		return -1;
	return bytebuf_append(out, ok_packet, sizeof(ok_packet)) ? 1 : -1;
}
