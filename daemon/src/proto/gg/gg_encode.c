/* Events back to Gadu-Gadu: a rewritten text in the packet it came from
 * (8.0 packets carry it twice, plain CP1250 and HTML), or a message
 * packet built from the neutral fields alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "proto/gg/gg_internal.h"
#include "proto/notice.h"
#include "proto/text_splice.h"
#include "util/text.h"

/* UTF-8 to Windows-1250; what it cannot carry becomes '?'. The reverse
 * table comes from text.h's forward conversion so the two never differ. */
static int encode_cp1250(const char *text, size_t n, struct bytebuf *out)
{
	uint32_t upper[128];
	const uint8_t *p = (const uint8_t *)text;
	size_t i, used;

	for (i = 0; i < 128; i++) {
		uint8_t byte = (uint8_t)(0x80 + i);
		char *u = text_cp1250_to_utf8(&byte, 1);

		if (!u)
			return -1;
		upper[i] = text_utf8_next((const uint8_t *)u, strlen(u), &used);
		free(u);
	}
	while (n) {
		uint32_t cp = text_utf8_next(p, n, &used);
		uint8_t byte = '?';

		if (cp < 0x80 && cp != 0)
			byte = (uint8_t)cp;
		else
			for (i = 0; i < 128; i++)
				if (upper[i] == cp && cp != 0xFFFD) {
					byte = (uint8_t)(0x80 + i);
					break;
				}
		if (!bytebuf_append_byte(out, byte))
			return -1;
		p += used;
		n -= used;
	}
	return 0;
}

/* The HTML part as the GG 8.0 client writes it: escaped, line breaks. */
static int encode_html(const char *text, struct bytebuf *out)
{
	bool ok = bytebuf_append_str(out, "<span style=\"color:#000000;\">");

	for (; ok && *text; text++) {
		switch (*text) {
		case '<':
			ok = bytebuf_append_str(out, "&lt;");
			break;
		case '>':
			ok = bytebuf_append_str(out, "&gt;");
			break;
		case '&':
			ok = bytebuf_append_str(out, "&amp;");
			break;
		case '"':
			ok = bytebuf_append_str(out, "&quot;");
			break;
		case '\n':
			ok = bytebuf_append_str(out, "<br>");
			break;
		case '\r':
			break;
		default:
			ok = bytebuf_append_byte(out, (uint8_t)*text);
		}
	}
	return ok && bytebuf_append_str(out, "</span>") ? 0 : -1;
}

/* Only the conference list survives from the old options: formatting
 * refers to character positions of the old text. */
static bool append_conference(struct bytebuf *out, const struct gg_msg *m)
{
	uint8_t word[4];
	size_t i;

	if (!m->n_conference)
		return true;
	imw_store_le32(word, (uint32_t)m->n_conference);
	if (!bytebuf_append_byte(out, GG_MSG_OPTION_CONFERENCE) || !bytebuf_append(out, word, 4))
		return false;
	for (i = 0; i < m->n_conference; i++) {
		imw_store_le32(word, m->conference[i]);
		if (!bytebuf_append(out, word, 4))
			return false;
	}
	return true;
}

/* A message packet from its fixed fields (copied from orig or built),
 * the new text and the kept options; the header is written last. */
static int build_msg80(uint32_t type, const uint8_t *fixed, size_t fixed_len, const char *text,
		       const struct gg_msg *m, struct bytebuf *out)
{
	size_t start = out->len, html_off, plain_off, attr_off;
	uint8_t hdr[GG_HEADER_LEN];
	bool ok;

	imw_store_le32(hdr, type);
	ok = bytebuf_append(out, hdr, sizeof(hdr)) && bytebuf_append(out, fixed, fixed_len);
	html_off = out->len - start - GG_HEADER_LEN;
	ok = ok && encode_html(text, out) == 0 && bytebuf_append_byte(out, 0);
	plain_off = out->len - start - GG_HEADER_LEN;
	ok = ok && encode_cp1250(text, strlen(text), out) == 0 && bytebuf_append_byte(out, 0);
	attr_off = out->len - start - GG_HEADER_LEN;
	ok = ok && append_conference(out, m);
	if (!ok || out->len - start - GG_HEADER_LEN > GG_MAX_PDU) {
		out->len = start;
		return -1;
	}
	(void)html_off;
	imw_store_le32(out->data + start + 4, (uint32_t)(out->len - start - GG_HEADER_LEN));
	/* offset_plain and offset_attr are the last two fixed words. */
	imw_store_le32(out->data + start + GG_HEADER_LEN + fixed_len - 8, (uint32_t)plain_off);
	imw_store_le32(out->data + start + GG_HEADER_LEN + fixed_len - 4,
		       attr_off == out->len - start - GG_HEADER_LEN ? 0 : (uint32_t)attr_off);
	return 0;
}

static int build_msg_old(uint32_t type, const uint8_t *fixed, size_t fixed_len, const char *text,
			 const struct gg_msg *m, struct bytebuf *out)
{
	size_t start = out->len;
	uint8_t hdr[GG_HEADER_LEN];
	bool ok;

	imw_store_le32(hdr, type);
	ok = bytebuf_append(out, hdr, sizeof(hdr)) && bytebuf_append(out, fixed, fixed_len) &&
	     encode_cp1250(text, strlen(text), out) == 0 && bytebuf_append_byte(out, 0) &&
	     append_conference(out, m);
	if (!ok) {
		out->len = start;
		return -1;
	}
	imw_store_le32(out->data + start + 4, (uint32_t)(out->len - start - GG_HEADER_LEN));
	return 0;
}

/* Windows-1250 one byte at a time, for text_splice. */
static bool unit_cp1250(void *arg, const uint8_t *raw, size_t len, size_t pos,
			struct text_unit *u, struct bytebuf *text)
{
	char *one;
	bool ok;

	(void)arg;
	(void)len;
	u->raw_len = 1;
	if (raw[pos] < 0x80) {
		u->kind = TEXT_LITERAL;
		return bytebuf_append_byte(text, raw[pos]);
	}
	u->kind = TEXT_ATOM;
	one = text_cp1250_to_utf8(raw + pos, 1);
	ok = one && bytebuf_append_str(text, one);
	free(one);
	return ok;
}

static bool encode_cp1250_n(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out)
{
	(void)arg;
	(void)ctx;
	return encode_cp1250(text, n, out) == 0;
}

/* The new text overwritten in place, in the plain part and in the HTML
 * part whose text is the same, when both keep their lengths (the offsets
 * of the 8.0 packet and the formatting options then stay right). */
static bool encode_in_place(const uint8_t *orig, size_t orig_len, const struct gg_msg *m,
			    const char *text, struct bytebuf *out)
{
	struct text_codec plain = { unit_cp1250, encode_cp1250_n, NULL };
	struct text_codec html = { text_unit_html, text_encode_html, NULL };
	struct bytebuf p, h;
	char *old;
	bool ok;

	if (m->plain_utf8 || !m->plain_len)
		return false;
	old = text_cp1250_to_utf8(m->plain, m->plain_len);
	bytebuf_init(&p);
	bytebuf_init(&h);
	ok = old &&
	     text_splice(&plain, m->plain, m->plain_len, old, strlen(old), text, strlen(text),
			 &p) == 0 &&
	     p.len == m->plain_len &&
	     (!m->html_len || (text_splice(&html, m->html, m->html_len, old, strlen(old), text,
					   strlen(text), &h) == 0 &&
			       h.len == m->html_len)) &&
	     bytebuf_append(out, orig, orig_len);
	if (ok) {
		uint8_t *base = out->data + out->len - orig_len;

		memcpy(base + (m->plain - orig), p.data, p.len);
		if (m->html_len)
			memcpy(base + (m->html - orig), h.data, h.len);
	}
	free(old);
	bytebuf_free(&p);
	bytebuf_free(&h);
	return ok;
}

static int encode_with_orig(enum im_dir dir, const struct im_event *ev, const uint8_t *orig,
			    size_t orig_len, struct bytebuf *out)
{
	struct gg_msg *m;
	const char *why, *text = ev->text;
	const uint8_t *body = orig + GG_HEADER_LEN;
	size_t blen;
	uint32_t type;
	char prefix[16];
	int rc = -1;

	if (orig_len < GG_HEADER_LEN || imw_load_le32(orig + 4) != orig_len - GG_HEADER_LEN)
		return -1;
	type = imw_load_le32(orig);
	blen = orig_len - GG_HEADER_LEN;
	m = malloc(sizeof(*m));
	if (!m)
		return -1;
	if (type == GG_SEND_MSG || type == GG_RECV_MSG)
		rc = gg_parse_msg_old(body, blen, type == GG_RECV_MSG, m, &why);
	else if (type == GG_SEND_MSG80 || type == GG_RECV_MSG80)
		rc = gg_parse_msg80(body, blen, type == GG_RECV_MSG80, m, &why);
	if (rc < 0)
		goto out;
	(void)dir;
	/* An incoming conference text comes back with its "sender: " prefix. */
	snprintf(prefix, sizeof(prefix), "%u: ", m->peer);
	if (m->n_conference && type != GG_SEND_MSG && type != GG_SEND_MSG80 &&
	    strncmp(text, prefix, strlen(prefix)) == 0)
		text += strlen(prefix);
	if (encode_in_place(orig, orig_len, m, text, out))
		rc = 0;
	else if (type == GG_SEND_MSG || type == GG_RECV_MSG)
		rc = build_msg_old(type, body, m->fixed_len, text, m, out);
	else
		rc = build_msg80(type, body, m->fixed_len, text, m, out);
out:
	free(m);
	return rc;
}

/* "12345" or "12345,67890": the first UIN and the conference list. */
static int parse_remote(const char *remote, struct gg_msg *m)
{
	const char *p = remote;

	memset(m, 0, sizeof(*m));
	while (*p) {
		unsigned long v;
		char *end;

		if (*p < '0' || *p > '9')
			return -1;
		v = strtoul(p, &end, 10);
		if (v == 0 || v > 0xffffffffu || (*end && *end != ','))
			return -1;
		if (p == remote)
			m->peer = (uint32_t)v;
		else if (m->n_conference < GG_MAX_CONFERENCE)
			m->conference[m->n_conference++] = (uint32_t)v;
		else
			return -1;
		p = *end ? end + 1 : end;
	}
	return m->peer ? 0 : -1;
}

static int encode_fresh(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
			struct bytebuf *out)
{
	struct gg_state *st = gg_state_of(s);
	struct gg_msg *m = malloc(sizeof(*m));
	uint8_t fixed[24];
	const char *text = ev->text;
	size_t n = 0;
	int rc = -1;

	if (!m)
		return -1;
	if (!ev->remote || parse_remote(ev->remote, m) < 0)
		goto out;
	if (dir == IM_DIR_IN && m->n_conference) {
		/* The sender is the "uin: " prefix; the list names the others. */
		unsigned long sender;
		char *end;

		sender = strtoul(text, &end, 10);
		if (end != text && end[0] == ':' && end[1] == ' ' && sender && sender <= 0xffffffffu) {
			size_t i;

			for (i = 0; i < m->n_conference; i++)
				if (m->conference[i] == sender)
					m->conference[i] = m->peer;
			if (m->peer != sender)
				m->peer = (uint32_t)sender;
			text = end + 2;
		}
		if (gg_local_uin(s) && m->n_conference < GG_MAX_CONFERENCE)
			m->conference[m->n_conference++] = gg_local_uin(s);
	}
	imw_store_le32(fixed + n, m->peer);
	n += 4;
	imw_store_le32(fixed + n, ++st->injected_seq);
	n += 4;
	if (dir == IM_DIR_IN) {
		imw_store_le32(fixed + n, (uint32_t)ev->ts);
		n += 4;
	}
	imw_store_le32(fixed + n, GG_CLASS_CHAT);
	n += 4;
	memset(fixed + n, 0, 8); /* offsets, filled in by build_msg80 */
	n += 8;
	rc = build_msg80(dir == IM_DIR_OUT ? GG_SEND_MSG80 : GG_RECV_MSG80, fixed, n, text, m, out);
out:
	free(m);
	return rc;
}

int gg_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
	      const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct im_event tmp;
	char *owned;
	int rc;

	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return -1;
	/* A system notice: a message of the conversation, its text marked. */
	if (!(ev = notice_as_message(ev, dir, &tmp, &owned)))
		return -1;
	rc = orig ? encode_with_orig(dir, ev, orig, orig_len, out) : encode_fresh(s, dir, ev, out);
	free(owned);
	return rc;
}
