/* Events back to YMSG: a rewritten text in the packet it came from
 * (every other pair kept, the length fixed), or a message packet built
 * from the neutral fields alone. */
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "proto/notice.h"
#include "proto/text_splice.h"
#include "proto/ymsg/ymsg_internal.h"
#include "util/text.h"

static bool append_pair(struct bytebuf *b, unsigned key, const char *value)
{
	return bytebuf_printf(b, "%u", key) && bytebuf_append(b, "\xC0\x80", 2) &&
	       bytebuf_append_str(b, value) && bytebuf_append(b, "\xC0\x80", 2);
}

static bool append_header(struct bytebuf *b, uint16_t version, uint16_t vendor, size_t length,
			  uint16_t service, uint32_t status, uint32_t session)
{
	uint8_t h[YMSG_HEADER_LEN];

	memcpy(h, "YMSG", 4);
	imw_store_be16(h + 4, version);
	imw_store_be16(h + 6, vendor);
	imw_store_be16(h + 8, (uint16_t)length);
	imw_store_be16(h + 10, service);
	imw_store_be32(h + 12, status);
	imw_store_be32(h + 16, session);
	return bytebuf_append(b, h, sizeof(h));
}

/* UTF-8 into Latin-1 for a packet not flagged UTF-8; '?' for the rest. */
static bool append_latin1(struct bytebuf *out, const char *text)
{
	const uint8_t *p = (const uint8_t *)text;

	while (*p) {
		uint32_t cp = '?';
		size_t n = 1;

		if (p[0] < 0x80) {
			cp = p[0];
		} else if ((p[0] & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
			cp = (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
			n = 2;
		} else {
			while ((p[n] & 0xC0) == 0x80)
				n++;
		}
		if (!bytebuf_append_byte(out, cp <= 0xFF ? (uint8_t)cp : '?'))
			return false;
		p += n;
	}
	return true;
}

/* The text pair the event came from: its recorded span, else the first
 * text key of the packet's service. */
static const struct ymsg_pair *event_text_pair(const struct ymsg_packet *pk,
					       const struct im_event *ev)
{
	unsigned key = pk->h.service == YS_COMMENT ? 117 : 14;
	size_t i;

	for (i = 0; ev->has_text_span && i < pk->n_pairs; i++)
		if (pk->pairs[i].off == ev->text_offset && pk->pairs[i].len == ev->text_len)
			return &pk->pairs[i];
	return ymsg_pair_get(pk, key);
}

static int encode_with_orig(enum im_dir dir, const struct im_event *ev, const uint8_t *orig,
			    size_t orig_len, struct bytebuf *out)
{
	struct ymsg_packet pk;
	const struct ymsg_pair *text, *sender = NULL;
	const char *new_text = ev->text;
	struct bytebuf value;
	char *old;
	size_t body_len, start = out->len;
	bool ok, same;

	if (ymsg_packet_parse(orig, orig_len, &pk) < 0)
		return -1;
	text = event_text_pair(&pk, ev);
	if (!text || !(pk.h.service == YS_MESSAGE || pk.h.service == YS_CONFMSG ||
		       pk.h.service == YS_COMMENT)) {
		ymsg_packet_free(&pk);
		return -1;
	}
	if (dir == IM_DIR_IN && pk.h.service == YS_CONFMSG)
		sender = ymsg_pair_get(&pk, 3);
	else if (dir == IM_DIR_IN && pk.h.service == YS_COMMENT)
		sender = ymsg_pair_get(&pk, 109);
	if (sender) {
		size_t n = sender->len;

		if (strlen(new_text) >= n + 2 && memcmp(new_text, orig + sender->off, n) == 0 &&
		    memcmp(new_text + n, ": ", 2) == 0)
			new_text += n + 2;
	}
	old = ymsg_pair_text(&pk, text);
	same = old && strcmp(old, new_text) == 0;
	if (same) {
		free(old);
		ymsg_packet_free(&pk);
		return bytebuf_append(out, orig, orig_len) ? 0 : -1;
	}
	bytebuf_init(&value);
	{
		/* Only the changed characters written anew: a Latin-1 packet's
		 * new ones in Latin-1, a UTF-8 packet's (key 97) in UTF-8. */
		bool utf8 = ymsg_pair_is(&pk, ymsg_pair_get(&pk, 97), "1");
		struct text_codec c = { text_unit_utf8_or_latin1,
					utf8 ? text_encode_utf8 : text_encode_latin1, NULL };

		ok = old && text_splice(&c, orig + text->off, text->len, old, strlen(old), new_text,
					strlen(new_text), &value) == 0;
		if (!ok) {
			value.len = 0;
			ok = utf8 ? bytebuf_append_str(&value, new_text)
				  : append_latin1(&value, new_text);
		}
	}
	free(old);
	/* A separator inside the value would split it into new pairs. */
	ok = ok && !(value.len >= 2 && memmem(value.data, value.len, "\xC0\x80", 2));
	body_len = orig_len - YMSG_HEADER_LEN - text->len + value.len;
	ok = ok && body_len <= 0xFFFF &&
	     append_header(out, pk.h.version, pk.h.vendor, body_len, pk.h.service, pk.h.status,
			   pk.h.session) &&
	     bytebuf_append(out, orig + YMSG_HEADER_LEN, text->off - YMSG_HEADER_LEN) &&
	     bytebuf_append(out, value.data, value.len) &&
	     bytebuf_append(out, orig + text->off + text->len, orig_len - text->off - text->len);
	bytebuf_free(&value);
	ymsg_packet_free(&pk);
	if (!ok) {
		out->len = start;
		return -1;
	}
	return 0;
}

static bool value_ok(const char *v)
{
	return v && !strstr(v, "\xC0\x80");
}

static int encode_fresh(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
			struct bytebuf *out)
{
	struct ymsg_state *st = s ? ymsg_state_of(s) : NULL;
	const char *local = ev->local && ev->local[0] ? ev->local : s ? s->local_id : NULL;
	const char *text = ev->text, *colon;
	uint16_t version = st && st->version ? st->version : YMSG_DEFAULT_VERSION;
	uint32_t session = st ? st->session[dir] : 0;
	struct bytebuf body;
	char *sender = NULL;
	uint16_t service = YS_MESSAGE;
	uint32_t status = dir == IM_DIR_OUT ? YMSG_STATUS_OFFLINE : 1;
	bool ok;

	if (!local || !local[0] || !ev->remote || !ev->remote[0] || !value_ok(local) ||
	    !value_ok(ev->remote) || !value_ok(text))
		return -1;
	bytebuf_init(&body);
	if (ev->group) {
		/* A chat room message; a conference would need its member list. */
		service = YS_COMMENT;
		status = 0;
		ok = append_pair(&body, 1, local) && append_pair(&body, 104, ev->remote);
		if (ok && dir == IM_DIR_IN) {
			colon = strstr(text, ": ");
			sender = colon ? text_dup(text, (size_t)(colon - text)) : NULL;
			if (colon)
				text = colon + 2;
			ok = sender && value_ok(sender) && append_pair(&body, 109, sender);
		}
		ok = ok && append_pair(&body, 117, text) && append_pair(&body, 124, "1");
	} else if (dir == IM_DIR_OUT) {
		ok = append_pair(&body, 1, local) && append_pair(&body, 5, ev->remote) &&
		     append_pair(&body, 14, text) && append_pair(&body, 97, "1");
	} else {
		ok = append_pair(&body, 5, local) && append_pair(&body, 4, ev->remote) &&
		     append_pair(&body, 14, text) && append_pair(&body, 97, "1");
	}
	ok = ok && body.len <= 0xFFFF &&
	     append_header(out, version, 0, body.len, service, status, session) &&
	     bytebuf_append(out, body.data, body.len);
	bytebuf_free(&body);
	free(sender);
	return ok ? 0 : -1;
}

int ymsg_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
		const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	size_t mark = out->len;
	struct im_event tmp;
	char *owned;
	int rc;

	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return -1;
	/* A system notice: a message of the conversation, its text marked. */
	if (!(ev = notice_as_message(ev, dir, &tmp, &owned)))
		return -1;
	rc = orig ? encode_with_orig(dir, ev, orig, orig_len, out) : encode_fresh(s, dir, ev, out);
	if (rc < 0)
		out->len = mark;
	free(owned);
	return rc;
}
