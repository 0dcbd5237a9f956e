/* Gadu-Gadu (port 8074): packets of LE32 type + LE32 length + payload.
 *
 * Packet layouts follow libgadu's protocol description. Texts are
 * Windows-1250 in the old packets (GG_SEND_MSG, GG_RECV_MSG, the plain
 * part of the 8.0 messages) and UTF-8 in the 8.0 HTML part and in the
 * GG 11 protobuf packets.
 *
 * Event conventions:
 * - local is the UIN of the login packet (any of the login generations,
 *   including the GG 11 protobuf login used by current libpurple).
 * - a message's text is its plain part; a message with only an HTML part
 *   gives the HTML as text/html.
 * - a conference (a recipient list in the message options) is a group
 *   conversation whose remote is the sorted, comma-separated list of every
 *   participant but the local user, so both directions name it alike; an
 *   incoming conference text is prefixed "sender: " as IRC channels are.
 *   libgadu sends one copy of a conference message per recipient: only
 *   the first copy is logged.
 * - text_offset/len are set for the old packets when the text is ASCII
 *   (its bytes are then its UTF-8 text); the 8.0 packets carry the text
 *   twice, so only encode can change them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "proto/gg/gg.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/text.h"

#define GG_HEADER_LEN 8u
/* Contact lists are the biggest packets; a message is at most ~2 KB. */
#define GG_MAX_PDU (1024u * 1024u)
/* A length above this is not believed during detection and resync. */
#define GG_PLAUSIBLE_LEN (64u * 1024u)
#define GG_MAX_CONFERENCE 256u
#define GG_DCC7_FILENAME_LEN 255u

enum gg_type {
	GG_WELCOME = 0x01,
	GG_NEW_STATUS = 0x02,
	GG_LOGIN_OK = 0x03,
	GG_SEND_MSG_ACK = 0x05,
	GG_PONG = 0x07,
	GG_PING = 0x08,
	GG_LOGIN_FAILED = 0x09,
	GG_RECV_MSG = 0x0a,
	GG_SEND_MSG = 0x0b, /* GG_DISCONNECTING from the server */
	GG_LOGIN = 0x0c,    /* GG_NOTIFY_REPLY from the server */
	GG_ADD_NOTIFY = 0x0d,
	GG_REMOVE_NOTIFY = 0x0e,
	GG_NOTIFY_FIRST = 0x0f,
	GG_NOTIFY_LAST = 0x10,
	GG_LIST_EMPTY = 0x12,
	GG_LOGIN_EXT = 0x13,
	GG_PUBDIR50_REQUEST = 0x14,
	GG_LOGIN60 = 0x15,
	GG_USERLIST_REQUEST = 0x16,
	GG_STATUS77 = 0x17,
	GG_NOTIFY_REPLY77 = 0x18,
	GG_LOGIN70 = 0x19,
	GG_DCC7_INFO = 0x1f,
	GG_DCC7_NEW = 0x20,
	GG_DCC7_ACCEPT = 0x21,
	GG_DCC7_REJECT = 0x22,
	GG_DCC7_ID_REQUEST = 0x23,
	GG_DCC7_ABORT = 0x25,
	GG_XML_EVENT = 0x27,
	GG_NEW_STATUS80BETA = 0x28,
	GG_LOGIN80BETA = 0x29,
	GG_XML_ACTION = 0x2c,
	GG_SEND_MSG80 = 0x2d,
	GG_RECV_MSG80 = 0x2e,
	GG_USERLIST_REQUEST80 = 0x2f,
	GG_LOGIN80 = 0x31,
	GG_LOGIN80_OK = 0x35,
	GG_STATUS80 = 0x36,
	GG_NOTIFY_REPLY80 = 0x37,
	GG_NEW_STATUS80 = 0x38,
	GG_USERLIST100_REQUEST = 0x40,
	GG_USERLIST100_REPLY = 0x41,
	GG_LOGIN80_FAILED = 0x43,
	GG_USER_DATA = 0x44,
	GG_RECV_MSG_ACK = 0x46,
	GG_TYPING_NOTIFY = 0x59,
	GG_OWN_MESSAGE = 0x5a,
	GG_NEW_STATUS105 = 0x63,
	GG_SEND_MSG110 = 0x7d,
	GG_RECV_MSG110 = 0x7e,
	GG_LOGIN105 = 0x83,
	GG_LOGIN110_OK = 0x9d,
};

/* Message classes and options (libgadu names). */
#define GG_CLASS_CHAT 0x08
/* A sender that sets this class bit wants no GG_SEND_MSG_ACK (libgadu.h). */
#define GG_CLASS_ACK 0x20
#define GG_ACK_DELIVERED 0x0002
#define GG_MSG_OPTION_CONFERENCE 0x01
#define GG_MSG_OPTION_ATTRIBUTES 0x02
#define GG_MSG_OPTION_IMAGE_REQUEST 0x04
#define GG_MSG_OPTION_IMAGE_REPLY 0x05
#define GG_MSG_OPTION_IMAGE_REPLY_MORE 0x06
#define GG_DCC7_TYPE_FILE 4u

/* What each side sends: detection and resync believe only these. */
static const uint8_t client_types[] = {
	GG_NEW_STATUS, GG_PONG, GG_PING, GG_SEND_MSG, GG_LOGIN, GG_ADD_NOTIFY, GG_REMOVE_NOTIFY,
	GG_NOTIFY_FIRST, GG_NOTIFY_LAST, GG_LIST_EMPTY, GG_LOGIN_EXT, GG_PUBDIR50_REQUEST,
	GG_LOGIN60, GG_USERLIST_REQUEST, GG_LOGIN70, GG_DCC7_INFO, GG_DCC7_NEW, GG_DCC7_ACCEPT,
	GG_DCC7_REJECT, GG_DCC7_ID_REQUEST, GG_DCC7_ABORT, GG_NEW_STATUS80BETA, GG_LOGIN80BETA,
	GG_SEND_MSG80, GG_USERLIST_REQUEST80, GG_LOGIN80, GG_NEW_STATUS80, GG_USERLIST100_REQUEST,
	GG_RECV_MSG_ACK, GG_TYPING_NOTIFY, GG_NEW_STATUS105, GG_SEND_MSG110, GG_LOGIN105,
};

static const uint8_t server_types[] = {
	GG_WELCOME, GG_STATUS77, GG_LOGIN_OK, GG_SEND_MSG_ACK, GG_PONG, GG_PING, GG_LOGIN_FAILED,
	GG_RECV_MSG, GG_SEND_MSG, GG_LOGIN, 0x0d, GG_PUBDIR50_REQUEST, 0x0e, 0x0f, 0x10, 0x11,
	GG_NOTIFY_REPLY77, GG_DCC7_INFO, GG_DCC7_NEW, GG_DCC7_ACCEPT, GG_DCC7_REJECT, 0x23,
	0x25, GG_XML_EVENT, 0x2a, 0x2b, GG_XML_ACTION, GG_RECV_MSG80, 0x30, GG_LOGIN80_OK,
	GG_STATUS80, GG_NOTIFY_REPLY80, GG_USERLIST100_REPLY, GG_LOGIN80_FAILED, GG_USER_DATA,
	GG_TYPING_NOTIFY, GG_OWN_MESSAGE, GG_RECV_MSG110, GG_LOGIN110_OK,
};

struct gg_state {
	/* The last conference copy logged: later copies of it are skipped. */
	uint32_t conf_seq;
	char *conf_remote;
	uint32_t injected_seq;
};

/* A decoded message, whatever its packet generation. */
struct gg_msg {
	uint32_t peer; /* recipient (out) or sender (in) */
	uint32_t seq;
	uint32_t msgclass;
	uint32_t time;
	const uint8_t *plain; /* CP1250 (old/8.0) or UTF-8 (GG 11) */
	size_t plain_len;
	size_t plain_off; /* in the PDU */
	bool plain_utf8;
	const uint8_t *html; /* UTF-8 */
	size_t html_len;
	const uint8_t *attrs; /* options after the texts */
	size_t attrs_len;
	size_t fixed_len; /* bytes before the first text, header excluded */
	uint32_t conference[GG_MAX_CONFERENCE];
	size_t n_conference;
	uint64_t chat_id; /* GG 11 group chats */
};

static struct gg_state *state_of(struct proto_session *s)
{
	return s->state;
}

static bool type_in(const uint8_t *list, size_t n, uint32_t type)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] == type)
			return true;
	return false;
}

static bool type_known(enum im_dir dir, uint32_t type)
{
	return dir == IM_DIR_OUT ? type_in(client_types, sizeof(client_types), type)
				 : type_in(server_types, sizeof(server_types), type);
}

static bool is_login_type(uint32_t type)
{
	return type == GG_LOGIN || type == GG_LOGIN_EXT || type == GG_LOGIN60 ||
	       type == GG_LOGIN70 || type == GG_LOGIN80BETA || type == GG_LOGIN80 ||
	       type == GG_LOGIN105;
}

/* Could a packet header start at p (for dir)? Looks at the following
 * header too when the buffer holds it, to tell GG from random bytes. */
static bool header_plausible(const uint8_t *p, size_t n, enum im_dir dir, bool need_chain)
{
	uint32_t type, len;

	if (n < GG_HEADER_LEN)
		return false;
	type = imw_load_le32(p);
	len = imw_load_le32(p + 4);
	if (!type_known(dir, type) || len > GG_PLAUSIBLE_LEN)
		return false;
	if (type == GG_WELCOME && len != 4)
		return false;
	if (!need_chain || n - GG_HEADER_LEN < len)
		return true;
	if (n - GG_HEADER_LEN == len)
		return true;
	return header_plausible(p + GG_HEADER_LEN + len, n - GG_HEADER_LEN - len, dir, false) ||
	       n - GG_HEADER_LEN - len < GG_HEADER_LEN;
}

static enum proto_detect gg_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	static const uint8_t welcome[] = { 1, 0, 0, 0, 4, 0, 0, 0 };
	uint32_t type, plen;

	if (len < GG_HEADER_LEN) {
		if (dir == IM_DIR_IN && memcmp(data, welcome, len) == 0)
			return PROTO_DETECT_MAYBE;
		if (len >= 4 && dir == IM_DIR_OUT && !is_login_type(imw_load_le32(data)))
			return PROTO_DETECT_NO;
		return len >= 4 && !type_known(dir, imw_load_le32(data)) ? PROTO_DETECT_NO
									 : PROTO_DETECT_MAYBE;
	}
	type = imw_load_le32(data);
	plen = imw_load_le32(data + 4);
	if (dir == IM_DIR_IN && memcmp(data, welcome, sizeof(welcome)) == 0)
		return len == 12 || len >= 12 + GG_HEADER_LEN ? PROTO_DETECT_YES : PROTO_DETECT_MAYBE;
	if (dir == IM_DIR_OUT && is_login_type(type) && plen >= 16 && plen <= 4096) {
		/* A login carries a non-zero UIN first (GG 11: protobuf field 1). */
		if (len < GG_HEADER_LEN + 4)
			return PROTO_DETECT_MAYBE;
		if (type == GG_LOGIN105 || imw_load_le32(data + GG_HEADER_LEN) != 0)
			return PROTO_DETECT_YES;
	}
	/* Mid-stream: a known packet whose length leads to another one. */
	if (!header_plausible(data, len, dir, true))
		return PROTO_DETECT_NO;
	if (len - GG_HEADER_LEN < plen)
		return PROTO_DETECT_MAYBE;
	if (len - GG_HEADER_LEN - plen < GG_HEADER_LEN)
		return len - GG_HEADER_LEN == plen ? PROTO_DETECT_YES : PROTO_DETECT_MAYBE;
	return PROTO_DETECT_YES;
}

static enum proto_frame gg_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
				 size_t len, size_t *pdu_len)
{
	uint32_t type, plen;

	(void)s;
	(void)dir;
	if (len < GG_HEADER_LEN)
		return PROTO_FRAME_NEED_MORE;
	type = imw_load_le32(data);
	plen = imw_load_le32(data + 4);
	/* Every packet type ever used is below 0x100. */
	if (type == 0 || type > 0xff || plen > GG_MAX_PDU - GG_HEADER_LEN)
		return PROTO_FRAME_GARBAGE;
	if (len - GG_HEADER_LEN < plen)
		return PROTO_FRAME_NEED_MORE;
	*pdu_len = GG_HEADER_LEN + plen;
	return PROTO_FRAME_PDU;
}

static size_t gg_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	size_t pos;

	(void)s;
	for (pos = 0; pos + GG_HEADER_LEN <= len; pos++)
		if (header_plausible(data + pos, len - pos, dir, true))
			return pos;
	/* Keep a tail that may still become a header. */
	return len < GG_HEADER_LEN ? 0 : len - GG_HEADER_LEN + 1;
}

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

/* --- protobuf (GG 11) --------------------------------------------------- */

struct pb_field {
	uint32_t number;
	uint8_t wire;
	uint64_t varint; /* wire types 0, 1, 5 */
	const uint8_t *data; /* wire type 2 */
	size_t len;
};

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

/* The next field; false at the end or on a malformed encoding (*bad). */
static bool pb_next(struct cursor *c, struct pb_field *f, bool *bad)
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

/* libgadu's protobuf UIN: a type byte, a length byte, decimal digits. */
static bool pb_uin(const uint8_t *p, size_t n, uint32_t *uin)
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

static int decode_login105(struct proto_session *s, enum im_dir dir, const uint8_t *body,
			   size_t len)
{
	struct cursor c;
	struct pb_field f;
	bool bad = false;
	uint32_t uin;

	cursor_init(&c, body, len);
	while (pb_next(&c, &f, &bad))
		if (f.number == 2 && f.wire == 2 && pb_uin(f.data, f.len, &uin))
			return emit_login(s, dir, uin);
	return proto_session_malformed(s, bad ? "bad protobuf in GG_LOGIN105"
					      : "GG_LOGIN105 without a UIN");
}

static int parse_msg110(const uint8_t *body, size_t len, struct gg_msg *m, const char **why)
{
	struct cursor c;
	struct pb_field f;
	bool bad = false;

	memset(m, 0, sizeof(*m));
	cursor_init(&c, body, len);
	while (pb_next(&c, &f, &bad)) {
		if (f.number == 1 && f.wire == 2 && !pb_uin(f.data, f.len, &m->peer)) {
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

/* --- messages ------------------------------------------------------------ */

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

static size_t strnlen_bytes(const uint8_t *p, size_t n)
{
	const uint8_t *z = memchr(p, 0, n);

	return z ? (size_t)(z - p) : n;
}

/* GG_SEND_MSG / GG_RECV_MSG: fixed fields, CP1250 text, NUL, options. */
static int parse_msg_old(const uint8_t *body, size_t len, bool incoming, struct gg_msg *m,
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
	text_len = strnlen_bytes(m->plain, cursor_remaining(&c));
	m->plain_len = text_len;
	m->plain_off = GG_HEADER_LEN + c.pos;
	if (text_len < cursor_remaining(&c)) {
		m->attrs = m->plain + text_len + 1;
		m->attrs_len = cursor_remaining(&c) - text_len - 1;
	}
	return m->attrs ? parse_options(m, m->attrs, m->attrs_len, why) : 0;
}

/* GG_SEND_MSG80 / GG_RECV_MSG80: fixed fields with the offsets (from the
 * payload start) of the plain text and of the options; HTML first. */
static int parse_msg80(const uint8_t *body, size_t len, bool incoming, struct gg_msg *m,
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
	m->html_len = strnlen_bytes(m->html, off_plain - c.pos);
	m->plain = body + off_plain;
	m->plain_len = strnlen_bytes(m->plain, (off_attr ? off_attr : len) - off_plain);
	m->plain_off = GG_HEADER_LEN + off_plain;
	if (off_attr && off_attr < len) {
		m->attrs = body + off_attr;
		m->attrs_len = len - off_attr;
		return parse_options(m, m->attrs, m->attrs_len, why);
	}
	return 0;
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

static uint32_t local_uin(const struct proto_session *s)
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
	struct gg_state *st = state_of(s);
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
		conf = conference_remote(m, local_uin(s));
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
		rc = parse_msg_old(body, len, dir == IM_DIR_IN, m, &why);
	else if (type == GG_SEND_MSG110 || type == GG_RECV_MSG110)
		rc = parse_msg110(body, len, m, &why);
	else
		rc = parse_msg80(body, len, dir == IM_DIR_IN, m, &why);
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
	file = text_cp1250_to_utf8(name, strnlen_bytes(name, GG_DCC7_FILENAME_LEN));
	if (!file)
		return proto_session_malformed(s, "out of memory");
	proto_event_begin(s, &ev, dir, IM_KIND_FILE);
	ev.has_file_size = true;
	ev.file_size = (uint64_t)size_hi << 32 | size_lo;
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
	dlen = (uint32_t)strnlen_bytes(descr, dlen);
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

static int gg_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
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

/* --- encode -------------------------------------------------------------- */

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
		rc = parse_msg_old(body, blen, type == GG_RECV_MSG, m, &why);
	else if (type == GG_SEND_MSG80 || type == GG_RECV_MSG80)
		rc = parse_msg80(body, blen, type == GG_RECV_MSG80, m, &why);
	if (rc < 0)
		goto out;
	(void)dir;
	/* An incoming conference text comes back with its "sender: " prefix. */
	snprintf(prefix, sizeof(prefix), "%u: ", m->peer);
	if (m->n_conference && type != GG_SEND_MSG && type != GG_SEND_MSG80 &&
	    strncmp(text, prefix, strlen(prefix)) == 0)
		text += strlen(prefix);
	if (type == GG_SEND_MSG || type == GG_RECV_MSG)
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
	struct gg_state *st = state_of(s);
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
		if (local_uin(s) && m->n_conference < GG_MAX_CONFERENCE)
			m->conference[m->n_conference++] = local_uin(s);
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

static int gg_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
		     const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return -1;
	if (orig)
		return encode_with_orig(dir, ev, orig, orig_len, out);
	return encode_fresh(s, dir, ev, out);
}

/* The server answers a client's GG_SEND_MSG or GG_SEND_MSG80 with
 * GG_SEND_MSG_ACK {LE32 status, recipient, seq} (libgadu.h struct
 * gg_send_msg_ack), unless the message class carries GG_CLASS_ACK; a
 * message imwire delivered was delivered: GG_ACK_DELIVERED. The GG 11
 * GG_SEND_MSG110 is answered by a protobuf GG110MessageAck (message and
 * conversation ids only the server assigns), which is not built here. */
static int gg_local_receipt(struct proto_session *s, const struct im_event *ev,
			    const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct gg_msg *m;
	uint8_t ack[GG_HEADER_LEN + 12];
	const char *why;
	uint32_t type;
	int rc = -1;

	(void)s;
	if (!ev || ev->dir != IM_DIR_OUT || !orig || orig_len < GG_HEADER_LEN ||
	    imw_load_le32(orig + 4) != orig_len - GG_HEADER_LEN)
		return -1;
	type = imw_load_le32(orig);
	if (type != GG_SEND_MSG && type != GG_SEND_MSG80)
		return -1;
	m = malloc(sizeof(*m));
	if (!m)
		return -1;
	if (type == GG_SEND_MSG)
		rc = parse_msg_old(orig + GG_HEADER_LEN, orig_len - GG_HEADER_LEN, false, m, &why);
	else
		rc = parse_msg80(orig + GG_HEADER_LEN, orig_len - GG_HEADER_LEN, false, m, &why);
	if (rc == 0 && (m->msgclass & GG_CLASS_ACK)) {
		rc = 0;
	} else if (rc == 0) {
		imw_store_le32(ack, GG_SEND_MSG_ACK);
		imw_store_le32(ack + 4, 12);
		imw_store_le32(ack + 8, GG_ACK_DELIVERED);
		imw_store_le32(ack + 12, m->peer);
		imw_store_le32(ack + 16, m->seq);
		rc = bytebuf_append(out, ack, sizeof(ack)) ? 1 : -1;
	}
	free(m);
	return rc;
}

static int gg_session_init(struct proto_session *s)
{
	s->state = calloc(1, sizeof(struct gg_state));
	return s->state ? 0 : -1;
}

static void gg_session_free(struct proto_session *s)
{
	struct gg_state *st = state_of(s);

	if (!st)
		return;
	free(st->conf_remote);
	free(st);
	s->state = NULL;
}

const struct proto_module proto_gg = {
	PROTO_IDENTITY(GG),
	.max_pdu = GG_MAX_PDU,
	.detect = gg_detect,
	.frame = gg_frame,
	.decode = gg_decode,
	.resync = gg_resync,
	.session_init = gg_session_init,
	.session_free = gg_session_free,
	.encode = gg_encode,
	.local_receipt = gg_local_receipt,
};
