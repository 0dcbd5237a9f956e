/* Gadu-Gadu packet layouts read into struct gg_msg: the old messages,
 * the 8.0 ones (plain and HTML text, options such as conferences) and
 * the GG 11 protobuf ones. Every read goes through a bounded cursor. */
#include <string.h>

#include "imwire/byteorder.h"
#include "proto/gg/gg_internal.h"

static bool pb_varint(struct cursor *c, uint64_t *v)
{
	unsigned shift = 0;
	uint8_t b;

	*v = 0;
	do {
		if (shift > 63 || !cursor_u8(c, &b))
			return false;
		*v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	return true;
}

bool gg_pb_next(struct cursor *c, struct pb_field *f, bool *bad)
{
	uint64_t key, v;
	const uint8_t *p;

	if (cursor_remaining(c) == 0)
		return false;
	if (!pb_varint(c, &key) || key >> 3 == 0 || key >> 3 > 0xffffffffu)
		goto bad;
	f->number = (uint32_t)(key >> 3);
	f->wire = (uint8_t)(key & 7);
	f->data = NULL;
	f->len = 0;
	f->varint = 0;
	switch (f->wire) {
	case 0:
		if (!pb_varint(c, &f->varint))
			goto bad;
		return true;
	case 1:
		p = cursor_take(c, 8);
		if (!p)
			goto bad;
		f->varint = (uint64_t)imw_load_le32(p) | (uint64_t)imw_load_le32(p + 4) << 32;
		return true;
	case 2:
		if (!pb_varint(c, &v) || v > cursor_remaining(c))
			goto bad;
		f->len = (size_t)v;
		f->data = cursor_take(c, f->len);
		return f->data != NULL || f->len == 0;
	case 5:
		p = cursor_take(c, 4);
		if (!p)
			goto bad;
		f->varint = imw_load_le32(p);
		return true;
	}
bad:
	*bad = true;
	return false;
}

bool gg_pb_uin(const uint8_t *p, size_t n, uint32_t *uin)
{
	uint64_t v = 0;
	size_t i;

	if (n < 3 || p[1] != n - 2 || n - 2 > 10)
		return false;
	for (i = 2; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v == 0 || v > 0xffffffffu)
		return false;
	*uin = (uint32_t)v;
	return true;
}

int gg_parse_msg110(const uint8_t *body, size_t len, struct gg_msg *m, const char **why)
{
	struct cursor c;
	struct pb_field f;
	bool bad = false;

	memset(m, 0, sizeof(*m));
	cursor_init(&c, body, len);
	while (gg_pb_next(&c, &f, &bad)) {
		if (f.number == 1 && f.wire == 2 && !gg_pb_uin(f.data, f.len, &m->peer)) {
			*why = "bad UIN in a GG 11 message";
			return -1;
		}
		if (f.number == 3 && f.wire == 0)
			m->seq = (uint32_t)f.varint;
		if (f.number == 5 && f.wire == 2) {
			m->plain = f.data;
			m->plain_len = f.len;
			m->plain_off = (size_t)(f.data - body) + GG_HEADER_LEN;
			m->plain_utf8 = true;
		}
		if (f.number == 6 && f.wire == 2) {
			m->html = f.data;
			m->html_len = f.len;
		}
		if (f.number == 10 && f.wire == 1)
			m->chat_id = f.varint;
	}
	if (bad) {
		*why = "bad protobuf in a GG 11 message";
		return -1;
	}
	return 0;
}

/* Options after the text: conference recipients, formatting, images. */
static int parse_options(struct gg_msg *m, const uint8_t *p, size_t n, const char **why)
{
	struct cursor c;
	uint8_t flag;
	uint16_t flen = 0;
	uint32_t count = 0, i, uin = 0;

	cursor_init(&c, p, n);
	while (cursor_remaining(&c) && cursor_u8(&c, &flag)) {
		switch (flag) {
		case GG_MSG_OPTION_CONFERENCE:
			if (!cursor_le32(&c, &count) || count > cursor_remaining(&c) / 4) {
				*why = "conference list longer than its packet";
				return -1;
			}
			if (count > GG_MAX_CONFERENCE) {
				*why = "conference list too long";
				return -1;
			}
			for (i = 0; i < count; i++) {
				cursor_le32(&c, &uin);
				m->conference[m->n_conference++] = uin;
			}
			break;
		case GG_MSG_OPTION_ATTRIBUTES:
			if (!cursor_le16(&c, &flen) || !cursor_skip(&c, flen)) {
				*why = "formatting longer than its packet";
				return -1;
			}
			break;
		default:
			/* Images and what nobody documented end the options we read. */
			return 0;
		}
	}
	return 0;
}

size_t gg_strnlen_bytes(const uint8_t *p, size_t n)
{
	const uint8_t *z = memchr(p, 0, n);

	return z ? (size_t)(z - p) : n;
}

int gg_parse_msg_old(const uint8_t *body, size_t len, bool incoming, struct gg_msg *m,
		     const char **why)
{
	struct cursor c;
	size_t text_len;

	memset(m, 0, sizeof(*m));
	cursor_init(&c, body, len);
	cursor_le32(&c, &m->peer);
	cursor_le32(&c, &m->seq);
	if (incoming)
		cursor_le32(&c, &m->time);
	cursor_le32(&c, &m->msgclass);
	if (!cursor_ok(&c)) {
		*why = "message packet too short";
		return -1;
	}
	m->fixed_len = c.pos;
	m->plain = cursor_here(&c);
	text_len = gg_strnlen_bytes(m->plain, cursor_remaining(&c));
	m->plain_len = text_len;
	m->plain_off = GG_HEADER_LEN + c.pos;
	if (text_len < cursor_remaining(&c)) {
		m->attrs = m->plain + text_len + 1;
		m->attrs_len = cursor_remaining(&c) - text_len - 1;
	}
	return m->attrs ? parse_options(m, m->attrs, m->attrs_len, why) : 0;
}

int gg_parse_msg80(const uint8_t *body, size_t len, bool incoming, struct gg_msg *m,
		   const char **why)
{
	struct cursor c;
	uint32_t off_plain = 0, off_attr = 0;

	memset(m, 0, sizeof(*m));
	cursor_init(&c, body, len);
	cursor_le32(&c, &m->peer);
	cursor_le32(&c, &m->seq);
	if (incoming)
		cursor_le32(&c, &m->time);
	cursor_le32(&c, &m->msgclass);
	cursor_le32(&c, &off_plain);
	cursor_le32(&c, &off_attr);
	if (!cursor_ok(&c)) {
		*why = "message packet too short";
		return -1;
	}
	m->fixed_len = c.pos;
	if (off_plain < c.pos || off_plain > len || (off_attr && (off_attr < off_plain || off_attr > len))) {
		*why = "message text offsets outside the packet";
		return -1;
	}
	m->html = body + c.pos;
	m->html_len = gg_strnlen_bytes(m->html, off_plain - c.pos);
	m->plain = body + off_plain;
	m->plain_len = gg_strnlen_bytes(m->plain, (off_attr ? off_attr : len) - off_plain);
	m->plain_off = GG_HEADER_LEN + off_plain;
	if (off_attr && off_attr < len) {
		m->attrs = body + off_attr;
		m->attrs_len = len - off_attr;
		return parse_options(m, m->attrs, m->attrs_len, why);
	}
	return 0;
}
