/* IMIP blocks: the type and size lines (checked as far as the bytes
 * go), the "Name: value" header lines and the body, and the text in the
 * charset a block names, both ways. */
#include <string.h>

#include "proto/imip/imip_internal.h"
#include "util/text.h"

static const char *const known_types[] = {
	"HELO", "LOGN", "LOGIN", "STAT", "ACK", "LIST", "PING", "MESG", "DISC",
};

bool imip_span_eq(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && memcmp(s.p, lit, n) == 0;
}

bool imip_span_eq_ci(struct span s, const char *lit)
{
	return s.len == strlen(lit) && text_has_prefix_ci((const char *)s.p, s.len, lit);
}

bool imip_is_space(uint8_t c)
{
	return c == ' ' || c == '\t';
}

struct span imip_span_trim(struct span s)
{
	while (s.len && imip_is_space(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len &&
	       (imip_is_space(s.p[s.len - 1]) || s.p[s.len - 1] == '\r' || s.p[s.len - 1] == '\n'))
		s.len--;
	return s;
}

struct span imip_span_first_token(struct span s)
{
	size_t n = 0;

	s = imip_span_trim(s);
	while (n < s.len && !imip_is_space(s.p[n]) && s.p[n] != ',' && s.p[n] != '"')
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

enum imip_scan imip_scan_head(const uint8_t *data, size_t len, bool known_only, struct imip_head *h)
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
	h->args = imip_span_trim(h->args);
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

int imip_block_parse(const uint8_t *pdu, size_t len, struct imip_block *b, const char **why)
{
	struct span line;
	size_t pos;
	bool terminated = true;

	memset(b, 0, sizeof(*b));
	if (imip_scan_head(pdu, len, false, &b->head) != IMIP_SCAN_OK) {
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

bool imip_block_header_nth(const struct imip_block *b, const char *name, size_t nth,
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
		hname = imip_span_trim(hname);
		if (!imip_span_eq_ci(hname, name))
			continue;
		if (nth-- > 0)
			continue;
		value->p = colon + 1;
		value->len = (size_t)(line.p + line.len - value->p);
		*value = imip_span_trim(*value);
		return true;
	}
	return false;
}

bool imip_block_header(const struct imip_block *b, const char *name, struct span *value)
{
	return imip_block_header_nth(b, name, 0, value);
}

struct span imip_block_body(const struct imip_block *b)
{
	struct span body = { b->pdu + b->body_off, b->body_len };

	return body;
}

enum imip_charset imip_block_charset(const struct imip_block *b)
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

	if (!imip_block_header(b, "Content-Type", &ct))
		return IMIP_CS_UTF8;
	for (i = 0; i + 8 <= ct.len; i++)
		if (text_has_prefix_ci((const char *)ct.p + i, ct.len - i, "charset="))
			break;
	if (i + 8 > ct.len)
		return IMIP_CS_UTF8;
	cs.p = ct.p + i + 8;
	cs.len = 0;
	while (cs.len < ct.len - i - 8 && cs.p[cs.len] != ';' && !imip_is_space(cs.p[cs.len]))
		cs.len++;
	if (cs.len >= 2 && cs.p[0] == '"' && cs.p[cs.len - 1] == '"') {
		cs.p++;
		cs.len -= 2;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (imip_span_eq_ci(cs, names[i].name))
			return names[i].cs;
	return IMIP_CS_UNKNOWN;
}

const char *imip_block_content_type(const struct imip_block *b)
{
	struct span ct;

	if (imip_block_header(b, "Content-Type", &ct) &&
	    text_has_prefix_ci((const char *)ct.p, ct.len, "text/html"))
		return "text/html";
	return "text/plain";
}

char *imip_decode_text(enum imip_charset cs, struct span s)
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

int imip_encode_text(enum imip_charset cs, const char *text, struct bytebuf *out)
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
