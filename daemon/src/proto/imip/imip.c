/* IMIP (IMUnified, Odigo/Yahoo! on port 11319).
 *
 * A block is a type line, a decimal size line, then exactly `size` bytes
 * of "Name: value" header lines, an optional empty line and an optional
 * body. The text says lines end in CRLF; a bare LF is accepted as well.
 * Clients number their blocks with "ID:"; the server mirrors the number
 * in "Reference:" of its ACK, which is how an error ACK is tied to the
 * message or contact request that failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/imip/imip.h"
#include "proto/proto.h"
#include "util/text.h"

/* A block claiming more than this is not IMIP (messages are short text). */
#define IMIP_MAX_PDU (1024u * 1024u)
/* Longest type line ("LIST ACCEPT 12345 "nick"") we wait for. */
#define IMIP_MAX_TYPE_LINE 512u
#define IMIP_MAX_TYPE_WORD 16u
/* Enough digits for IMIP_MAX_PDU; more is garbage even with leading zeros. */
#define IMIP_MAX_SIZE_DIGITS 8u
/* Outgoing block IDs remembered until the server refers to them. A MESG
 * with "ACK-Type: errors-only" is never acknowledged, so old entries are
 * simply overwritten. */
#define IMIP_PENDING 64u
/* Blocks we inject get IDs from a range a client is unlikely to reach. */
#define IMIP_INJECT_ID_BASE 900000u

struct span {
	const uint8_t *p;
	size_t len;
};

struct imip_pending {
	char *id;
	char *type;   /* "MESG", "LIST", "LOGN"... */
	char *target; /* the user the block was about, "" if none */
};

struct imip_state {
	struct imip_pending pending[IMIP_PENDING];
	size_t next_pending;
	uint64_t injected;
};

/* The two lines before the block contents. */
struct imip_head {
	struct span type; /* the block type word */
	struct span args; /* the rest of the type line, spaces trimmed */
	struct span type_line; /* type line including its terminator */
	struct span size_eol;  /* the size line's terminator: "\r\n" or "\n" */
	size_t size;
	size_t head_len; /* bytes of both lines */
};

/* A parsed block; spans point into the PDU. */
struct imip_block {
	struct imip_head head;
	const uint8_t *pdu;
	size_t len;
	size_t headers_off;
	size_t headers_end; /* where the empty line (or the block) starts */
	bool has_blank;
	bool last_header_unterminated;
	size_t body_off;
	size_t body_len;
};

enum imip_scan {
	IMIP_SCAN_OK,
	IMIP_SCAN_SHORT, /* consistent so far, more bytes needed */
	IMIP_SCAN_BAD,
};

static const char *const known_types[] = {
	"HELO", "LOGN", "LOGIN", "STAT", "ACK", "LIST", "PING", "MESG", "DISC",
};

static bool span_eq(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && memcmp(s.p, lit, n) == 0;
}

static bool span_eq_ci(struct span s, const char *lit)
{
	return s.len == strlen(lit) && text_has_prefix_ci((const char *)s.p, s.len, lit);
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static struct span span_trim(struct span s)
{
	while (s.len && is_space(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && (is_space(s.p[s.len - 1]) || s.p[s.len - 1] == '\r' ||
			 s.p[s.len - 1] == '\n'))
		s.len--;
	return s;
}

/* The user id at the start of a value: `12345 "nick"` gives 12345. */
static struct span span_first_token(struct span s)
{
	size_t n = 0;

	s = span_trim(s);
	while (n < s.len && !is_space(s.p[n]) && s.p[n] != ',' && s.p[n] != '"')
		n++;
	s.len = n;
	return s;
}

/* Is the type word known, or (when partial) the start of a known one? */
static bool type_word_known(const uint8_t *p, size_t n, bool partial)
{
	size_t i;

	for (i = 0; i < sizeof(known_types) / sizeof(known_types[0]); i++) {
		size_t klen = strlen(known_types[i]);

		if (partial ? n <= klen && memcmp(p, known_types[i], n) == 0
			    : n == klen && memcmp(p, known_types[i], n) == 0)
			return true;
	}
	return false;
}

/* Parse the type and size lines at data. With known_only, only block types
 * from the text count: resync and detect use that, framing does not, so
 * blocks nobody has documented yet still pass through. */
static enum imip_scan scan_head(const uint8_t *data, size_t len, bool known_only,
				struct imip_head *h)
{
	size_t i = 0, word_len, line_end, digits = 0;
	uint64_t size = 0;

	memset(h, 0, sizeof(*h));
	while (i < len && i < IMIP_MAX_TYPE_WORD && data[i] >= 'A' && data[i] <= 'Z')
		i++;
	word_len = i;
	if (i == len) {
		if (word_len == IMIP_MAX_TYPE_WORD)
			return IMIP_SCAN_BAD;
		if (known_only && !type_word_known(data, word_len, true))
			return IMIP_SCAN_BAD;
		return IMIP_SCAN_SHORT;
	}
	if (word_len == 0 || (known_only && !type_word_known(data, word_len, false)))
		return IMIP_SCAN_BAD;
	if (data[i] != ' ' && data[i] != '\r' && data[i] != '\n')
		return IMIP_SCAN_BAD;
	for (; i < len && data[i] != '\n'; i++) {
		if (i >= IMIP_MAX_TYPE_LINE)
			return IMIP_SCAN_BAD;
		/* A CR is only allowed right before the LF. */
		if (data[i] == '\r' && i + 1 < len && data[i + 1] != '\n')
			return IMIP_SCAN_BAD;
		if (data[i] < 0x20 && data[i] != '\t' && data[i] != '\r')
			return IMIP_SCAN_BAD;
	}
	if (i == len)
		return IMIP_SCAN_SHORT;
	line_end = i;
	h->type.p = data;
	h->type.len = word_len;
	h->args.p = data + word_len;
	h->args.len = line_end - word_len;
	h->args = span_trim(h->args);
	h->type_line.p = data;
	h->type_line.len = line_end + 1;

	for (i = line_end + 1; i < len && data[i] >= '0' && data[i] <= '9'; i++) {
		if (++digits > IMIP_MAX_SIZE_DIGITS)
			return IMIP_SCAN_BAD;
		size = size * 10 + (uint64_t)(data[i] - '0');
	}
	if (i == len)
		return IMIP_SCAN_SHORT;
	if (digits == 0)
		return IMIP_SCAN_BAD;
	h->size_eol.p = data + i;
	if (data[i] == '\r') {
		if (++i == len)
			return IMIP_SCAN_SHORT;
	}
	if (data[i] != '\n')
		return IMIP_SCAN_BAD;
	h->size_eol.len = (size_t)(data + i + 1 - h->size_eol.p);
	h->head_len = i + 1;
	if (size > IMIP_MAX_PDU || h->head_len + size > IMIP_MAX_PDU)
		return IMIP_SCAN_BAD;
	h->size = (size_t)size;
	return IMIP_SCAN_OK;
}

/* The next line of [*pos, end): without its terminator; *terminated tells
 * whether it had one (the last header may run to the end of the block). */
static bool next_line(const uint8_t *data, size_t end, size_t *pos, struct span *line,
		      bool *terminated)
{
	size_t i = *pos;

	if (i >= end)
		return false;
	while (i < end && data[i] != '\n')
		i++;
	line->p = data + *pos;
	line->len = i - *pos;
	*terminated = i < end;
	if (*terminated && line->len && line->p[line->len - 1] == '\r')
		line->len--;
	*pos = *terminated ? i + 1 : i;
	return true;
}

static int block_parse(const uint8_t *pdu, size_t len, struct imip_block *b, const char **why)
{
	struct span line;
	size_t pos;
	bool terminated = true;

	memset(b, 0, sizeof(*b));
	if (scan_head(pdu, len, false, &b->head) != IMIP_SCAN_OK) {
		*why = "bad type or size line";
		return -1;
	}
	if (b->head.head_len + b->head.size != len) {
		*why = "block size does not match its size line";
		return -1;
	}
	b->pdu = pdu;
	b->len = len;
	b->headers_off = b->head.head_len;
	pos = b->headers_off;
	b->headers_end = len;
	b->body_off = len;
	while (next_line(pdu, len, &pos, &line, &terminated)) {
		if (line.len == 0 && terminated) {
			b->headers_end = (size_t)(line.p - pdu);
			b->has_blank = true;
			b->body_off = pos;
			break;
		}
		if (memchr(line.p, '\0', line.len)) {
			*why = "NUL in a header line";
			return -1;
		}
	}
	if (!b->has_blank)
		b->last_header_unterminated = !terminated;
	b->body_len = len - b->body_off;
	return 0;
}

/* Value of the n-th header called name (case-insensitive). Lines without
 * a colon ("Registration" in the server's HELO) are headers without value. */
static bool block_header_nth(const struct imip_block *b, const char *name, size_t nth,
			     struct span *value)
{
	struct span line;
	size_t pos = b->headers_off;
	bool terminated;

	while (pos < b->headers_end && next_line(b->pdu, b->headers_end, &pos, &line, &terminated)) {
		const uint8_t *colon = memchr(line.p, ':', line.len);
		struct span hname;

		if (!colon)
			continue;
		hname.p = line.p;
		hname.len = (size_t)(colon - line.p);
		hname = span_trim(hname);
		if (!span_eq_ci(hname, name))
			continue;
		if (nth-- > 0)
			continue;
		value->p = colon + 1;
		value->len = (size_t)(line.p + line.len - value->p);
		*value = span_trim(*value);
		return true;
	}
	return false;
}

static bool block_header(const struct imip_block *b, const char *name, struct span *value)
{
	return block_header_nth(b, name, 0, value);
}

static struct span block_body(const struct imip_block *b)
{
	struct span body = { b->pdu + b->body_off, b->body_len };

	return body;
}

enum imip_charset {
	IMIP_CS_UTF8,
	IMIP_CS_LATIN1,
	IMIP_CS_UTF16BE,
	IMIP_CS_UTF16LE,
	IMIP_CS_CP1250,
	IMIP_CS_UNKNOWN,
};

static enum imip_charset block_charset(const struct imip_block *b)
{
	static const struct {
		const char *name;
		enum imip_charset cs;
	} names[] = {
		{ "utf-8", IMIP_CS_UTF8 },	    { "utf8", IMIP_CS_UTF8 },
		{ "iso-8859-1", IMIP_CS_LATIN1 },   { "iso8859-1", IMIP_CS_LATIN1 },
		{ "latin1", IMIP_CS_LATIN1 },	    { "latin-1", IMIP_CS_LATIN1 },
		{ "us-ascii", IMIP_CS_LATIN1 },	    { "ascii", IMIP_CS_LATIN1 },
		{ "utf-16", IMIP_CS_UTF16BE },	    { "utf-16be", IMIP_CS_UTF16BE },
		{ "ucs-2", IMIP_CS_UTF16BE },	    { "utf-16le", IMIP_CS_UTF16LE },
		{ "windows-1250", IMIP_CS_CP1250 }, { "cp1250", IMIP_CS_CP1250 },
	};
	struct span ct, cs;
	size_t i;

	if (!block_header(b, "Content-Type", &ct))
		return IMIP_CS_UTF8;
	for (i = 0; i + 8 <= ct.len; i++)
		if (text_has_prefix_ci((const char *)ct.p + i, ct.len - i, "charset="))
			break;
	if (i + 8 > ct.len)
		return IMIP_CS_UTF8;
	cs.p = ct.p + i + 8;
	cs.len = 0;
	while (cs.len < ct.len - i - 8 && cs.p[cs.len] != ';' && !is_space(cs.p[cs.len]))
		cs.len++;
	if (cs.len >= 2 && cs.p[0] == '"' && cs.p[cs.len - 1] == '"') {
		cs.p++;
		cs.len -= 2;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (span_eq_ci(cs, names[i].name))
			return names[i].cs;
	return IMIP_CS_UNKNOWN;
}

static const char *block_content_type(const struct imip_block *b)
{
	struct span ct;

	if (block_header(b, "Content-Type", &ct) &&
	    text_has_prefix_ci((const char *)ct.p, ct.len, "text/html"))
		return "text/html";
	return "text/plain";
}

static char *decode_text(enum imip_charset cs, struct span s)
{
	switch (cs) {
	case IMIP_CS_LATIN1:
		return text_latin1_to_utf8(s.p, s.len);
	case IMIP_CS_UTF16BE:
		return text_utf16be_to_utf8(s.p, s.len);
	case IMIP_CS_UTF16LE:
		return text_utf16le_to_utf8(s.p, s.len);
	case IMIP_CS_CP1250:
		return text_cp1250_to_utf8(s.p, s.len);
	case IMIP_CS_UTF8:
	case IMIP_CS_UNKNOWN:
		break;
	}
	return text_utf8_or_latin1(s.p, s.len);
}

static bool put_utf16(struct bytebuf *out, uint32_t cp, bool big_endian)
{
	uint16_t units[2];
	size_t n = 1, i;

	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp >= 0x10000) {
		cp -= 0x10000;
		units[0] = (uint16_t)(0xD800 | (cp >> 10));
		units[1] = (uint16_t)(0xDC00 | (cp & 0x3FF));
		n = 2;
	} else {
		units[0] = (uint16_t)cp;
	}
	for (i = 0; i < n; i++) {
		uint8_t hi = (uint8_t)(units[i] >> 8), lo = (uint8_t)units[i];

		if (!bytebuf_append_byte(out, big_endian ? hi : lo) ||
		    !bytebuf_append_byte(out, big_endian ? lo : hi))
			return false;
	}
	return true;
}

/* UTF-8 text into the block's charset. Characters the charset cannot
 * carry become '?': the block's headers are kept, so its charset is too. */
static int encode_text(enum imip_charset cs, const char *text, struct bytebuf *out)
{
	const uint8_t *p = (const uint8_t *)text;
	size_t n = strlen(text), used;

	if (cs == IMIP_CS_UTF8)
		return bytebuf_append(out, p, n) ? 0 : -1;
	while (n) {
		uint32_t cp = text_utf8_next(p, n, &used);
		bool ok;

		switch (cs) {
		case IMIP_CS_LATIN1:
			ok = bytebuf_append_byte(out, cp <= 0xFF ? (uint8_t)cp : '?');
			break;
		case IMIP_CS_UTF16BE:
		case IMIP_CS_UTF16LE:
			ok = put_utf16(out, cp, cs == IMIP_CS_UTF16BE);
			break;
		case IMIP_CS_CP1250:
			/* Its upper half differs from Unicode; ASCII is shared. */
			ok = bytebuf_append_byte(out, cp < 0x80 ? (uint8_t)cp : '?');
			break;
		default:
			return -1;
		}
		if (!ok)
			return -1;
		p += used;
		n -= used;
	}
	return 0;
}

static struct imip_state *state_of(struct proto_session *s)
{
	return s->state;
}

static void pending_clear(struct imip_pending *p)
{
	free(p->id);
	free(p->type);
	free(p->target);
	memset(p, 0, sizeof(*p));
}

static void pending_add(struct proto_session *s, struct span id, struct span type,
			struct span target)
{
	struct imip_state *st = state_of(s);
	struct imip_pending *p = &st->pending[st->next_pending];

	pending_clear(p);
	p->id = text_dup((const char *)id.p, id.len);
	p->type = text_dup((const char *)type.p, type.len);
	p->target = text_utf8_or_latin1(target.p, target.len);
	if (!p->id || !p->type || !p->target) {
		/* Losing the link only makes a later error ACK less specific. */
		pending_clear(p);
		return;
	}
	st->next_pending = (st->next_pending + 1) % IMIP_PENDING;
}

static struct imip_pending *pending_find(struct proto_session *s, struct span id)
{
	struct imip_state *st = state_of(s);
	size_t i;

	for (i = 0; i < IMIP_PENDING; i++) {
		struct imip_pending *p = &st->pending[i];

		if (p->id && strlen(p->id) == id.len && memcmp(p->id, id.p, id.len) == 0)
			return p;
	}
	return NULL;
}

static void learn_local(struct proto_session *s, struct span id)
{
	id = span_first_token(id);
	if (!s->local_id && id.len)
		proto_session_set_local(s, (const char *)id.p, id.len);
}

/* "word" or "word: message" for presence and contact events. */
static bool set_text_with_body(struct im_event *ev, const char *word, size_t word_len,
			       struct span body)
{
	struct bytebuf b;
	char *msg = NULL;
	bool ok;

	body = span_trim(body);
	bytebuf_init(&b);
	ok = bytebuf_append(&b, word, word_len);
	if (ok && body.len) {
		msg = text_utf8_or_latin1(body.p, body.len);
		ok = msg && (word_len == 0 || bytebuf_append_str(&b, ": ")) &&
		     bytebuf_append_str(&b, msg);
	}
	ok = ok && bytebuf_terminate(&b);
	free(msg);
	if (ok) {
		free(ev->text);
		ev->text = (char *)b.data;
	} else {
		bytebuf_free(&b);
	}
	return ok;
}

static bool set_remote(struct im_event *ev, struct span id)
{
	char *copy = text_utf8_or_latin1(id.p, id.len);

	if (!copy)
		return false;
	free(ev->remote);
	ev->remote = copy;
	return true;
}

static int decode_login(struct proto_session *s, enum im_dir dir, const struct imip_block *b)
{
	struct span id = span_first_token(b->head.args), buddies;
	struct im_event ev;
	bool had_local = s->local_id != NULL;

	if (dir == IM_DIR_OUT) {
		if (id.len && !proto_session_set_local(s, (const char *)id.p, id.len))
			return -1;
		proto_event_begin(s, &ev, dir, IM_KIND_LOGIN);
		proto_event_emit(s, &ev);
		return 0;
	}
	/* The server's LOGN confirms; it only tells us something new when the
	 * capture started after the client's login. */
	if (!had_local && id.len) {
		if (!proto_session_set_local(s, (const char *)id.p, id.len))
			return -1;
		proto_event_begin(s, &ev, dir, IM_KIND_LOGIN);
		proto_event_emit(s, &ev);
	}
	if (block_header(b, "Buddy", &buddies)) {
		struct bytebuf list;
		size_t nth = 0;
		bool ok = true;

		bytebuf_init(&list);
		while (ok && block_header_nth(b, "Buddy", nth, &buddies)) {
			ok = (nth == 0 || bytebuf_append_byte(&list, ',')) &&
			     bytebuf_append(&list, buddies.p, buddies.len);
			nth++;
		}
		proto_event_begin(s, &ev, dir, IM_KIND_CONTACTS);
		if (ok) {
			ev.text = text_utf8_or_latin1(list.data ? list.data : (const uint8_t *)"",
						      list.len);
			ok = ev.text != NULL;
		}
		bytebuf_free(&list);
		if (!ok) {
			event_free(&ev);
			return -1;
		}
		proto_event_emit(s, &ev);
	}
	return 0;
}

static int decode_stat(struct proto_session *s, enum im_dir dir, const struct imip_block *b)
{
	struct im_event ev;
	struct span from;

	proto_event_begin(s, &ev, dir, IM_KIND_PRESENCE);
	if (dir == IM_DIR_IN && block_header(b, "From", &from) &&
	    !set_remote(&ev, span_first_token(from)))
		goto fail;
	if (!set_text_with_body(&ev, (const char *)b->head.args.p, b->head.args.len,
				block_body(b)))
		goto fail;
	proto_event_emit(s, &ev);
	return 0;
fail:
	event_free(&ev);
	return -1;
}

static const char *ack_description(unsigned code)
{
	switch (code) {
	case 800:
		return "missing presence status";
	case 801:
		return "unknown presence status";
	case 810:
		return "wrong password";
	case 811:
		return "illegal user id";
	}
	return "error";
}

static int decode_ack(struct proto_session *s, enum im_dir dir, const struct imip_block *b)
{
	struct span status = span_first_token(b->head.args), reason, ref;
	struct imip_pending *failed = NULL;
	struct bytebuf text;
	struct im_event ev;
	unsigned code = 0;
	size_t i;
	bool ok;

	if (status.len == 0 || status.len > 4)
		return proto_session_malformed(s, "ACK without a numeric status");
	for (i = 0; i < status.len; i++) {
		if (status.p[i] < '0' || status.p[i] > '9')
			return proto_session_malformed(s, "ACK without a numeric status");
		code = code * 10 + (unsigned)(status.p[i] - '0');
	}
	if (block_header(b, "Reference", &ref))
		failed = pending_find(s, ref);
	if (code >= 600 && code < 700) {
		if (failed)
			pending_clear(failed);
		return 0;
	}

	reason.p = status.p + status.len;
	reason.len = b->head.args.len - status.len;
	reason = span_trim(reason);
	bytebuf_init(&text);
	ok = bytebuf_printf(&text, "%u ", code);
	if (ok && reason.len) {
		char *r = text_utf8_or_latin1(reason.p, reason.len);

		ok = r && bytebuf_append_str(&text, r);
		free(r);
	} else if (ok) {
		ok = bytebuf_append_str(&text, ack_description(code));
	}
	ok = ok && bytebuf_terminate(&text);
	proto_event_begin(s, &ev, dir, IM_KIND_ERROR);
	if (ok) {
		ev.text = (char *)text.data;
		text.data = NULL;
	}
	bytebuf_free(&text);
	/* A failed login or presence change is about us, not about a peer. */
	if (ok && failed && (strcmp(failed->type, "MESG") == 0 || strcmp(failed->type, "LIST") == 0))
		ok = event_set_str(&ev.remote, failed->target);
	if (failed)
		pending_clear(failed);
	if (!ok) {
		event_free(&ev);
		return -1;
	}
	proto_event_emit(s, &ev);
	return 0;
}

static int decode_list(struct proto_session *s, enum im_dir dir, const struct imip_block *b)
{
	struct span verb = b->head.args, who, from;
	struct im_event ev;
	char word[IMIP_MAX_TYPE_WORD];
	size_t i;

	for (i = 0; i < verb.len && !is_space(verb.p[i]); i++)
		;
	who.p = verb.p + i;
	who.len = verb.len - i;
	who = span_first_token(who);
	verb.len = i;
	if (verb.len == 0 || verb.len >= sizeof(word))
		return proto_session_malformed(s, "LIST without a known operation");
	for (i = 0; i < verb.len; i++)
		word[i] = (char)(verb.p[i] >= 'A' && verb.p[i] <= 'Z' ? verb.p[i] + 'a' - 'A' : verb.p[i]);

	if (block_header(b, "From", &from)) {
		if (dir == IM_DIR_OUT)
			learn_local(s, from);
		else if (who.len == 0)
			who = span_first_token(from);
	}
	proto_event_begin(s, &ev, dir, IM_KIND_CONTACTS);
	if (!set_remote(&ev, who) || !set_text_with_body(&ev, word, verb.len, block_body(b))) {
		event_free(&ev);
		return -1;
	}
	proto_event_emit(s, &ev);
	return 0;
}

static int decode_mesg(struct proto_session *s, enum im_dir dir, const struct imip_block *b)
{
	struct span from = { NULL, 0 }, to = { NULL, 0 }, peer;
	struct im_event ev;

	block_header(b, "From", &from);
	block_header(b, "To", &to);
	if (dir == IM_DIR_OUT) {
		learn_local(s, from);
		peer = span_first_token(to);
	} else {
		learn_local(s, to);
		peer = span_first_token(from);
	}
	proto_event_begin(s, &ev, dir, IM_KIND_MESSAGE);
	ev.content_type = block_content_type(b);
	ev.has_text_span = true;
	ev.text_offset = b->body_off;
	ev.text_len = b->body_len;
	ev.text = decode_text(block_charset(b), block_body(b));
	if (!ev.text || !set_remote(&ev, peer)) {
		event_free(&ev);
		return -1;
	}
	proto_event_emit(s, &ev);
	return 0;
}

static void remember_outgoing(struct proto_session *s, const struct imip_block *b)
{
	struct span id, target = { (const uint8_t *)"", 0 }, list_target;
	size_t i;

	if (!block_header(b, "ID", &id) || id.len == 0)
		return;
	if (span_eq(b->head.type, "MESG")) {
		if (block_header(b, "To", &target))
			target = span_first_token(target);
	} else if (span_eq(b->head.type, "LIST")) {
		list_target = b->head.args;
		for (i = 0; i < list_target.len && !is_space(list_target.p[i]); i++)
			;
		list_target.p += i;
		list_target.len -= i;
		target = span_first_token(list_target);
	}
	pending_add(s, id, b->head.type, target);
}

static int imip_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct imip_block b;
	const char *why = NULL;
	struct span type;

	if (block_parse(pdu, len, &b, &why) < 0)
		return proto_session_malformed(s, why);
	type = b.head.type;
	if (dir == IM_DIR_OUT)
		remember_outgoing(s, &b);

	if (span_eq(type, "LOGN") || span_eq(type, "LOGIN"))
		return decode_login(s, dir, &b);
	if (span_eq(type, "STAT"))
		return decode_stat(s, dir, &b);
	if (span_eq(type, "ACK"))
		return decode_ack(s, dir, &b);
	if (span_eq(type, "LIST"))
		return decode_list(s, dir, &b);
	if (span_eq(type, "MESG"))
		return decode_mesg(s, dir, &b);
	if (span_eq(type, "DISC")) {
		struct im_event ev;

		proto_event_begin(s, &ev, dir, IM_KIND_LOGOUT);
		proto_event_emit(s, &ev);
		return 0;
	}
	/* HELO, PING and types nobody has described carry nothing to log. */
	return 0;
}

static enum proto_frame imip_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
				   size_t len, size_t *pdu_len)
{
	struct imip_head h;

	(void)s;
	(void)dir;
	switch (scan_head(data, len, false, &h)) {
	case IMIP_SCAN_SHORT:
		return PROTO_FRAME_NEED_MORE;
	case IMIP_SCAN_BAD:
		return PROTO_FRAME_GARBAGE;
	case IMIP_SCAN_OK:
		break;
	}
	if (len - h.head_len < h.size)
		return PROTO_FRAME_NEED_MORE;
	*pdu_len = h.head_len + h.size;
	return PROTO_FRAME_PDU;
}

/* The first offset where a known block type and a size line begin (or
 * could begin, when the buffer ends first). Not only at line starts: the
 * broken block before may have ended mid-line. Never an offset where
 * frame would say garbage, so resync after garbage always moves on. */
static size_t imip_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	struct imip_head h;
	size_t pos;

	(void)s;
	(void)dir;
	for (pos = 0; pos < len; pos++)
		if (data[pos] >= 'A' && data[pos] <= 'Z' &&
		    scan_head(data + pos, len - pos, true, &h) != IMIP_SCAN_BAD)
			return pos;
	return len;
}

static enum proto_detect imip_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	struct imip_head h;
	size_t pos;

	(void)dir;
	switch (scan_head(data, len, true, &h)) {
	case IMIP_SCAN_OK:
		return PROTO_DETECT_YES;
	case IMIP_SCAN_SHORT:
		return PROTO_DETECT_MAYBE;
	case IMIP_SCAN_BAD:
		break;
	}
	/* Picked up mid-block: a complete block head on a later line will do. */
	pos = 0;
	while (pos < len) {
		while (pos < len && data[pos] != '\n')
			pos++;
		if (++pos >= len)
			break;
		if (scan_head(data + pos, len - pos, true, &h) == IMIP_SCAN_OK)
			return PROTO_DETECT_YES;
	}
	return PROTO_DETECT_NO;
}

static bool has_line_break(const char *s)
{
	return strchr(s, '\r') || strchr(s, '\n');
}

static int encode_with_orig(const struct im_event *ev, const uint8_t *orig, size_t orig_len,
			    struct bytebuf *out)
{
	struct imip_block b;
	const char *why;
	enum imip_charset cs;
	struct bytebuf body;
	char *old_text;
	size_t start = out->len, headers_len, extra = 0;
	bool same;
	struct span eol;

	if (block_parse(orig, orig_len, &b, &why) < 0 || !span_eq(b.head.type, "MESG"))
		return -1;
	cs = block_charset(&b);
	old_text = decode_text(cs, block_body(&b));
	if (!old_text)
		return -1;
	same = strcmp(old_text, ev->text) == 0;
	free(old_text);
	/* Unchanged text keeps the original bytes, whatever their encoding. */
	if (same)
		return bytebuf_append(out, orig, orig_len) ? 0 : -1;

	bytebuf_init(&body);
	if (encode_text(cs, ev->text, &body) < 0) {
		bytebuf_free(&body);
		return -1;
	}
	eol = b.head.size_eol;
	headers_len = b.body_off - b.headers_off;
	/* Adding a body to a block that had none needs the empty line. */
	if (!b.has_blank && body.len)
		extra = (b.last_header_unterminated ? eol.len : 0) + eol.len;
	if (!bytebuf_append(out, b.head.type_line.p, b.head.type_line.len) ||
	    !bytebuf_printf(out, "%zu", headers_len + extra + body.len) ||
	    !bytebuf_append(out, eol.p, eol.len) ||
	    !bytebuf_append(out, orig + b.headers_off, headers_len))
		goto fail;
	if (extra && b.last_header_unterminated && !bytebuf_append(out, eol.p, eol.len))
		goto fail;
	if (extra && !bytebuf_append(out, eol.p, eol.len))
		goto fail;
	if (body.len && !bytebuf_append(out, body.data, body.len))
		goto fail;
	bytebuf_free(&body);
	return 0;
fail:
	bytebuf_free(&body);
	out->len = start;
	return -1;
}

static int encode_fresh(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
			struct bytebuf *out)
{
	struct imip_state *st = state_of(s);
	const char *local = ev->local && ev->local[0] ? ev->local : s->local_id;
	struct bytebuf block;
	unsigned long long id;
	size_t start = out->len;
	bool ok;

	if (!ev->remote || !ev->remote[0] || has_line_break(ev->remote) || !local ||
	    has_line_break(local))
		return -1;
	id = IMIP_INJECT_ID_BASE + ++st->injected;
	bytebuf_init(&block);
	if (dir == IM_DIR_OUT)
		ok = bytebuf_printf(&block,
				    "ID: %llu\r\nTo: %s\r\nACK-Type: errors-only\r\nFrom: %s\r\n\r\n",
				    id, ev->remote, local);
	else
		ok = bytebuf_printf(&block,
				    "Content-Type: text/plain;charset=utf-8\r\nFrom: %s\r\n"
				    "ID: %llu\r\nTo: %s\r\n\r\n",
				    ev->remote, id, local);
	ok = ok && bytebuf_append_str(&block, ev->text);
	ok = ok && bytebuf_printf(out, "MESG\r\n%zu\r\n", block.len) &&
	     bytebuf_append(out, block.data, block.len);
	bytebuf_free(&block);
	if (!ok) {
		out->len = start;
		return -1;
	}
	return 0;
}

static int imip_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
		       const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return -1;
	if (orig)
		return encode_with_orig(ev, orig, orig_len, out);
	return encode_fresh(s, dir, ev, out);
}

/* Clients send MESG with "ACK-Type: errors-only", and the server then
 * answers only a failure (seeds/imip-protocol-en.txt): nothing to make up
 * for a delivered message. What the server sends for any other ACK-Type
 * is not documented, so such a message gets no receipt built (-1). */
static int imip_local_receipt(struct proto_session *s, const struct im_event *ev,
			      const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct imip_block b;
	struct span ack_type;
	const char *why;

	(void)s;
	(void)out;
	if (!ev || ev->dir != IM_DIR_OUT || !orig || block_parse(orig, orig_len, &b, &why) < 0 ||
	    !span_eq(b.head.type, "MESG"))
		return -1;
	if (block_header(&b, "ACK-Type", &ack_type) && span_eq_ci(span_trim(ack_type), "errors-only"))
		return 0;
	return -1;
}

static int imip_session_init(struct proto_session *s)
{
	s->state = calloc(1, sizeof(struct imip_state));
	return s->state ? 0 : -1;
}

static void imip_session_free(struct proto_session *s)
{
	struct imip_state *st = state_of(s);
	size_t i;

	if (!st)
		return;
	for (i = 0; i < IMIP_PENDING; i++)
		pending_clear(&st->pending[i]);
	free(st);
	s->state = NULL;
}

const struct proto_module proto_imip = {
	PROTO_IDENTITY(IMIP),
	.max_pdu = IMIP_MAX_PDU,
	.detect = imip_detect,
	.frame = imip_frame,
	.decode = imip_decode,
	.resync = imip_resync,
	.session_init = imip_session_init,
	.session_free = imip_session_free,
	.encode = imip_encode,
	.local_receipt = imip_local_receipt,
};
