/* Streaming XML tokenizer: see xml_tokenizer.h for the contract.
 *
 * Each call lexes one whole token from t->pos or reports that the buffer
 * ends inside it; a partial token is lexed again from its start on the
 * next call. Every token kind has a length limit, so the work repeated per
 * call is bounded, and a limit passed is an error at once rather than a
 * wait for bytes that would only be refused later. */
#include "proto/xmpp/xml_tokenizer.h"

#include <string.h>

/* "&#x10FFFF;" is the longest reference we accept. */
#define XML_MAX_REF 12u

enum ref_check {
	REF_OK,
	REF_SHORT,
	REF_BAD,
};

void xml_tok_init(struct xml_tok *t)
{
	/* Only the scalars: open[] and attr_names[] are written before they
	 * are read (below depth and n_attrs), and clearing their 384 bytes
	 * for every stanza was most of what starting one cost. */
	t->pos = 0;
	t->state = XML_LEX_CONTENT;
	t->depth = 0;
	t->n_attrs = 0;
	t->error = NULL;
}

/* What each byte is to the scanning loops, one table lookup a byte:
 * the loops over text, attribute values and names stop only at a byte
 * whose class says so, and look closer there. */
enum {
	XC_NAME_START = 1u << 0, /* may start a name */
	XC_NAME = 1u << 1,       /* may continue a name */
	XC_WS = 1u << 2,         /* XML white space */
	XC_FORBIDDEN = 1u << 3,  /* never allowed: C0 controls but tab, LF, CR */
	XC_TEXT_STOP = 1u << 4,  /* ends a run of plain text: '<', '&', forbidden */
	XC_ATTR_STOP = 1u << 5,  /* ends a run inside a value: the above and quotes */
};

#define XC_STOPS (XC_FORBIDDEN | XC_TEXT_STOP | XC_ATTR_STOP)
#define XC_LETTER (XC_NAME_START | XC_NAME)

static const uint8_t xml_class[256] = {
	[0x00 ... 0x08] = XC_STOPS,
	['\t'] = XC_WS,
	['\n'] = XC_WS,
	[0x0b ... 0x0c] = XC_STOPS,
	['\r'] = XC_WS,
	[0x0e ... 0x1f] = XC_STOPS,
	[' '] = XC_WS,
	['"'] = XC_ATTR_STOP,
	['&'] = XC_TEXT_STOP | XC_ATTR_STOP,
	['\''] = XC_ATTR_STOP,
	['-'] = XC_NAME,
	['.'] = XC_NAME,
	['0' ... '9'] = XC_NAME,
	[':'] = XC_LETTER,
	['<'] = XC_TEXT_STOP | XC_ATTR_STOP,
	['A' ... 'Z'] = XC_LETTER,
	['_'] = XC_LETTER,
	['a' ... 'z'] = XC_LETTER,
	[0x80 ... 0xff] = XC_LETTER,
};

#define XC_ONES 0x0101010101010101ull
#define XC_HIGHS 0x8080808080808080ull

/* The high bit of each of the eight bytes of x that is c (word_has) or
 * is below 0x20 (word_has_control). A borrow can also set the bit of a
 * byte above a true hit, never below one: the lowest bit set is exact,
 * which is all first_hit needs. */
static uint64_t word_has(uint64_t x, uint8_t c)
{
	uint64_t v = x ^ (XC_ONES * c);

	return (v - XC_ONES) & ~v & XC_HIGHS;
}

static uint64_t word_has_control(uint64_t x)
{
	return (x - XC_ONES * 0x20) & ~x & XC_HIGHS;
}

/* Which byte of a word loaded with memcpy the lowest-addressed set bit
 * of mask (non-zero) is in. */
static unsigned first_hit(uint64_t mask)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (unsigned)__builtin_clzll(mask) / 8u;
#else
	return (unsigned)__builtin_ctzll(mask) / 8u;
#endif
}

/* Sixteen bytes at a time with the compiler's generic vectors (GCC and
 * clang; SSE2 or NEON code, no intrinsics, as sink_format.c's JSON
 * scan): the bytes of p[0..16) that are '<', '&' or a control, and,
 * with quotes, a quote, as 0xff bytes in two words (0 when none is). */
typedef uint8_t xml_v16 __attribute__((vector_size(16)));

static inline void v16_hits(const uint8_t *p, bool quotes, uint64_t half[2])
{
	xml_v16 x, hit;

	memcpy(&x, p, sizeof(x));
	hit = (xml_v16)((x < 0x20) | (x == '<') | (x == '&'));
	if (quotes)
		hit |= (xml_v16)((x == '\'') | (x == '"'));
	memcpy(half, &hit, 2 * sizeof(half[0]));
}

/* Where the run of bytes without the class `stop` that starts at i ends
 * (at most at end). Message text is long and plain: sixteen bytes, then
 * eight, are tested at a time for '<', '&' or a control (or a quote, for
 * an attribute value), and the scan goes straight to the first such
 * byte: it ends there unless that byte is white space (a control to the
 * test, but no stop), which is stepped over. Short values (a JID, a
 * type) end in their first word, with no byte loop. */
static size_t run_until(const uint8_t *buf, size_t i, size_t end, uint8_t stop)
{
	bool quotes = stop & XC_ATTR_STOP;
	uint64_t half[2], x, hit;

	while (end - i >= 16) {
		v16_hits(buf + i, quotes, half);
		if (!(half[0] | half[1])) {
			i += 16;
			continue;
		}
		i += half[0] ? first_hit(half[0]) : 8u + first_hit(half[1]);
		if (xml_class[buf[i]] & stop)
			return i;
		i++;
	}
	while (end - i >= 8) {
		memcpy(&x, buf + i, 8);
		hit = word_has(x, '<') | word_has(x, '&') | word_has_control(x);
		if (quotes)
			hit |= word_has(x, '\'') | word_has(x, '"');
		if (!hit) {
			i += 8;
			continue;
		}
		i += first_hit(hit);
		if (xml_class[buf[i]] & stop)
			return i;
		i++;
	}
	while (i < end && !(xml_class[buf[i]] & stop))
		i++;
	return i;
}

static bool is_ws(uint8_t c)
{
	return xml_class[c] & XC_WS;
}

static bool is_name_char(uint8_t c)
{
	return xml_class[c] & XC_NAME;
}

/* Bytes XML 1.0 never allows, even escaped: C0 controls but tab, LF, CR. */
static bool is_forbidden_byte(uint8_t c)
{
	return xml_class[c] & XC_FORBIDDEN;
}

static bool is_xml_char(uint32_t cp)
{
	return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
	       (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

static enum xml_result fail(struct xml_tok *t, const char *why)
{
	t->error = why;
	return XML_ERROR;
}

/* The code point of a numeric reference body ("#65", "#x41"); false when
 * it is not one or names a character XML cannot carry. */
static bool numeric_ref(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint32_t v = 0;
	size_t i = 1;
	bool hex;

	if (n < 2 || p[0] != '#')
		return false;
	hex = p[1] == 'x';
	if (hex)
		i = 2;
	if (i == n)
		return false;
	for (; i < n; i++) {
		uint8_t c = p[i];
		uint32_t d;

		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (hex && c >= 'a' && c <= 'f')
			d = (uint32_t)(c - 'a' + 10);
		else if (hex && c >= 'A' && c <= 'F')
			d = (uint32_t)(c - 'A' + 10);
		else
			return false;
		v = v * (hex ? 16u : 10u) + d;
		if (v > 0x10FFFF)
			return false;
	}
	*cp = v;
	return is_xml_char(v);
}

/* A reference at p[0] == '&' of at most n bytes: its length in *ref_len. */
static enum ref_check ref_check(const uint8_t *p, size_t n, size_t *ref_len, uint32_t *cp,
				const char **named)
{
	static const struct {
		const char *name;
		const char *repl;
	} predefined[] = {
		{ "lt", "<" }, { "gt", ">" }, { "amp", "&" }, { "apos", "'" }, { "quot", "\"" },
	};
	size_t i, body;

	for (i = 1; i < n && i < XML_MAX_REF; i++)
		if (p[i] == ';')
			break;
	if (i >= XML_MAX_REF)
		return REF_BAD;
	if (i == n) {
		/* Still plausible: name characters or '#' so far. */
		for (body = 1; body < n; body++)
			if (!is_name_char(p[body]) && p[body] != '#')
				return REF_BAD;
		return REF_SHORT;
	}
	body = i - 1;
	*ref_len = i + 1;
	*named = NULL;
	*cp = 0;
	if (body && p[1] == '#')
		return numeric_ref(p + 1, body, cp) ? REF_OK : REF_BAD;
	for (i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++)
		if (strlen(predefined[i].name) == body && memcmp(p + 1, predefined[i].name, body) == 0) {
			*named = predefined[i].repl;
			return REF_OK;
		}
	return REF_BAD;
}

#define NAME_HASH_SEED 2166136261u
#define NAME_HASH_PRIME 16777619u

/* Length of the name at p (0 if none starts there); *too_long when it
 * passes XML_MAX_NAME. Its FNV-1a hash in *hash (what end tags and
 * repeated attributes are checked against), computed in the same pass. */
static inline size_t lex_name(const uint8_t *p, size_t n, bool *too_long, uint32_t *hash)
{
	size_t i = 1, stop = n < XML_MAX_NAME + 1 ? n : XML_MAX_NAME + 1;
	uint32_t h;

	*too_long = false;
	if (n == 0 || !(xml_class[p[0]] & XC_NAME_START))
		return 0;
	h = (NAME_HASH_SEED ^ p[0]) * NAME_HASH_PRIME;
	while (i < stop && (xml_class[p[i]] & XC_NAME))
		h = (h ^ p[i++]) * NAME_HASH_PRIME;
	if (i > XML_MAX_NAME) {
		*too_long = true;
		return 0;
	}
	*hash = h;
	return i;
}

/* Scan to the terminator lit (e.g. "-->") within XML_MAX_MARKUP bytes of
 * p; its offset in *at. */
static enum xml_result find_terminator(struct xml_tok *t, const uint8_t *p, size_t n,
				       const char *lit, size_t *at)
{
	size_t lit_len = strlen(lit), i;

	for (i = 0; i + lit_len <= n; i++) {
		if (i > XML_MAX_MARKUP)
			return fail(t, "comment, CDATA or processing instruction too long");
		if (is_forbidden_byte(p[i]))
			return fail(t, "control character in markup");
		if (memcmp(p + i, lit, lit_len) == 0) {
			*at = i;
			return XML_OK;
		}
	}
	if (n > XML_MAX_MARKUP + lit_len)
		return fail(t, "comment, CDATA or processing instruction too long");
	return XML_NEED_MORE;
}

/* Is buf[from, to) white space only (a reference is not)? */
static bool only_ws(const uint8_t *buf, size_t from, size_t to)
{
	for (; from < to; from++)
		if (!is_ws(buf[from]))
			return false;
	return true;
}

static enum xml_result lex_text(struct xml_tok *t, const uint8_t *buf, size_t len,
				struct xml_token *tok)
{
	size_t i = t->pos, ref_len;
	uint32_t cp;
	const char *named;

	for (;;) {
		i = run_until(buf, i, len, XC_TEXT_STOP);
		if (i == len || buf[i] == '<')
			break;
		if (buf[i] == '&') {
			enum ref_check r = ref_check(buf + i, len - i, &ref_len, &cp, &named);

			if (r == REF_BAD)
				return fail(t, "bad entity or character reference");
			if (r == REF_SHORT)
				break;
			i += ref_len;
			tok->refs = true;
			continue;
		}
		return fail(t, "control character in text");
	}
	if (i == t->pos)
		return XML_NEED_MORE;
	if (t->depth == 0 && !only_ws(buf, t->pos, i))
		return fail(t, "text outside any element");
	tok->type = XML_TOKEN_TEXT;
	tok->value.off = t->pos;
	tok->value.len = i - t->pos;
	tok->end = i;
	return XML_OK;
}

static enum xml_result lex_end_tag(struct xml_tok *t, const uint8_t *buf, size_t len,
				   struct xml_token *tok)
{
	size_t i = t->pos + 2, n;
	bool too_long;
	uint32_t h = 0;

	n = lex_name(buf + i, len - i, &too_long, &h);
	if (too_long)
		return fail(t, "element name too long");
	if (i + n >= len)
		return XML_NEED_MORE;
	if (n == 0)
		return fail(t, "end tag without a name");
	tok->name.off = i;
	tok->name.len = n;
	i += n;
	while (i < len && is_ws(buf[i]) && i - t->pos < XML_MAX_NAME + 64)
		i++;
	if (i == len)
		return XML_NEED_MORE;
	if (buf[i] != '>')
		return fail(t, "bad end tag");
	if (t->depth == 0)
		return fail(t, "end tag without a start tag");
	if (t->open[t->depth - 1] != h)
		return fail(t, "end tag does not match its start tag");
	t->depth--;
	tok->type = XML_TOKEN_END;
	tok->end = i + 1;
	return XML_OK;
}

static enum xml_result lex_markup(struct xml_tok *t, const uint8_t *buf, size_t len,
				  struct xml_token *tok)
{
	static const char comment[] = "<!--", cdata[] = "<![CDATA[";
	const uint8_t *p = buf + t->pos;
	size_t n = len - t->pos, at = 0;
	enum xml_result r;

	if (n >= 3 && p[2] != '-' && p[2] != '[')
		return fail(t, "DTD or declaration not allowed");
	if (memcmp(p, comment, n < 4 ? n : 4) == 0) {
		if (n < 4)
			return XML_NEED_MORE;
		r = find_terminator(t, p + 4, n - 4, "--", &at);
		if (r != XML_OK)
			return r;
		if (4 + at + 2 >= n)
			return XML_NEED_MORE;
		if (p[4 + at + 2] != '>')
			return fail(t, "\"--\" inside a comment");
		tok->type = XML_TOKEN_COMMENT;
		tok->value.off = t->pos + 4;
		tok->value.len = at;
		tok->end = t->pos + 4 + at + 3;
		return XML_OK;
	}
	if (memcmp(p, cdata, n < 9 ? n : 9) == 0) {
		if (n < 9)
			return XML_NEED_MORE;
		if (t->depth == 0)
			return fail(t, "CDATA outside any element");
		r = find_terminator(t, p + 9, n - 9, "]]>", &at);
		if (r != XML_OK)
			return r;
		tok->type = XML_TOKEN_CDATA;
		tok->value.off = t->pos + 9;
		tok->value.len = at;
		tok->end = t->pos + 9 + at + 3;
		return XML_OK;
	}
	return fail(t, "DTD or declaration not allowed");
}

static enum xml_result lex_pi(struct xml_tok *t, const uint8_t *buf, size_t len,
			      struct xml_token *tok)
{
	size_t i = t->pos + 2, n, at = 0;
	bool too_long;
	uint32_t h = 0;
	enum xml_result r;

	n = lex_name(buf + i, len - i, &too_long, &h);
	if (too_long)
		return fail(t, "processing instruction target too long");
	if (i + n >= len)
		return XML_NEED_MORE;
	if (n == 0)
		return fail(t, "processing instruction without a target");
	tok->name.off = i;
	tok->name.len = n;
	i += n;
	r = find_terminator(t, buf + i, len - i, "?>", &at);
	if (r != XML_OK)
		return r;
	if (at && !is_ws(buf[i]))
		return fail(t, "bad processing instruction");
	tok->type = XML_TOKEN_PI;
	tok->value.off = i;
	tok->value.len = at;
	tok->end = i + at + 2;
	return XML_OK;
}

static enum xml_result lex_start_tag(struct xml_tok *t, const uint8_t *buf, size_t len,
				     struct xml_token *tok)
{
	size_t i = t->pos + 1, n;
	bool too_long;
	uint32_t h = 0;

	n = lex_name(buf + i, len - i, &too_long, &h);
	if (too_long)
		return fail(t, "element name too long");
	if (i + n >= len)
		return XML_NEED_MORE;
	if (n == 0)
		return fail(t, "\"<\" not followed by a name");
	if (t->depth >= XML_MAX_DEPTH)
		return fail(t, "elements nested too deep");
	tok->type = XML_TOKEN_START;
	tok->name.off = i;
	tok->name.len = n;
	tok->end = i + n;
	t->open[t->depth++] = h;
	t->n_attrs = 0;
	t->state = XML_LEX_IN_TAG;
	return XML_OK;
}

static enum xml_result lex_content(struct xml_tok *t, const uint8_t *buf, size_t len,
				   struct xml_token *tok)
{
	size_t n = len - t->pos;
	uint8_t c;

	if (buf[t->pos] != '<')
		return lex_text(t, buf, len, tok);
	if (n < 2)
		return XML_NEED_MORE;
	c = buf[t->pos + 1];
	if (c == '/')
		return lex_end_tag(t, buf, len, tok);
	if (c == '!')
		return lex_markup(t, buf, len, tok);
	if (c == '?')
		return lex_pi(t, buf, len, tok);
	return lex_start_tag(t, buf, len, tok);
}

static enum xml_result lex_attr(struct xml_tok *t, const uint8_t *buf, size_t len, size_t i,
				struct xml_token *tok)
{
	size_t n, ref_len, k, stop;
	bool too_long;
	uint8_t quote;
	uint32_t h, cp;
	const char *named;

	n = lex_name(buf + i, len - i, &too_long, &h);
	if (too_long)
		return fail(t, "attribute name too long");
	if (i + n >= len)
		return XML_NEED_MORE;
	if (n == 0)
		return fail(t, "bad character in a start tag");
	tok->name.off = i;
	tok->name.len = n;
	i += n;
	while (i < len && is_ws(buf[i]))
		i++;
	if (i == len)
		return XML_NEED_MORE;
	if (buf[i++] != '=')
		return fail(t, "attribute without a value");
	while (i < len && is_ws(buf[i]))
		i++;
	if (i == len)
		return XML_NEED_MORE;
	quote = buf[i++];
	if (quote != '\'' && quote != '"')
		return fail(t, "attribute value without quotes");
	tok->value.off = i;
	/* The value's bytes up to the quote, at most XML_MAX_ATTR_VALUE of them. */
	stop = len - i > XML_MAX_ATTR_VALUE ? i + XML_MAX_ATTR_VALUE + 1 : len;
	/* A reference may jump past stop: that is too long too. */
	for (;;) {
		if (i < stop)
			i = run_until(buf, i, stop, XC_ATTR_STOP);
		if (i - tok->value.off > XML_MAX_ATTR_VALUE)
			return fail(t, "attribute value too long");
		if (i == len)
			return XML_NEED_MORE;
		if (buf[i] == quote)
			break;
		if (buf[i] == '<')
			return fail(t, "\"<\" in an attribute value");
		if (is_forbidden_byte(buf[i]))
			return fail(t, "control character in an attribute value");
		if (buf[i] == '&') {
			enum ref_check r = ref_check(buf + i, len - i, &ref_len, &cp, &named);

			if (r == REF_BAD)
				return fail(t, "bad entity or character reference");
			if (r == REF_SHORT)
				return XML_NEED_MORE;
			i += ref_len;
			tok->refs = true;
			continue;
		}
		i++; /* the other quote */
	}
	if (t->n_attrs >= XML_MAX_ATTRS)
		return fail(t, "too many attributes");
	for (k = 0; k < t->n_attrs; k++)
		if (t->attr_names[k] == h)
			return fail(t, "attribute given twice");
	t->attr_names[t->n_attrs++] = h;
	tok->value.len = i - tok->value.off;
	tok->type = XML_TOKEN_ATTR;
	tok->end = i + 1;
	return XML_OK;
}

static enum xml_result lex_in_tag(struct xml_tok *t, const uint8_t *buf, size_t len,
				  struct xml_token *tok)
{
	size_t i = t->pos;

	while (i < len && is_ws(buf[i]) && i - t->pos <= XML_MAX_ATTR_VALUE)
		i++;
	if (i == len)
		return i - t->pos > XML_MAX_ATTR_VALUE ? fail(t, "start tag too long") : XML_NEED_MORE;
	if (buf[i] == '>') {
		tok->type = XML_TOKEN_START_CLOSE;
		tok->end = i + 1;
		t->state = XML_LEX_CONTENT;
		return XML_OK;
	}
	if (buf[i] == '/') {
		if (i + 1 == len)
			return XML_NEED_MORE;
		if (buf[i + 1] != '>')
			return fail(t, "\"/\" not followed by \">\" in a start tag");
		tok->type = XML_TOKEN_EMPTY_CLOSE;
		tok->end = i + 2;
		t->depth--;
		t->state = XML_LEX_CONTENT;
		return XML_OK;
	}
	if (i == t->pos)
		return fail(t, "attributes must be separated by white space");
	return lex_attr(t, buf, len, i, tok);
}

enum xml_result xml_next(struct xml_tok *t, const uint8_t *buf, size_t len,
			 struct xml_token *tok)
{
	enum xml_result r;

	if (t->error)
		return XML_ERROR;
	if (len < t->pos)
		return fail(t, "buffer shorter than what was already read");
	if (len == t->pos)
		return XML_NEED_MORE;
	memset(tok, 0, sizeof(*tok));
	tok->start = t->pos;
	if (t->state == XML_LEX_IN_TAG)
		r = lex_in_tag(t, buf, len, tok);
	else
		r = lex_content(t, buf, len, tok);
	if (r == XML_OK) {
		t->pos = tok->end;
		tok->depth = t->depth;
	}
	return r;
}

struct xml_span xml_local_name(const uint8_t *buf, struct xml_span name)
{
	size_t i;

	for (i = name.len; i > 0; i--)
		if (buf[name.off + i - 1] == ':')
			break;
	name.off += i;
	name.len -= i;
	return name;
}

static bool put_utf8(struct bytebuf *out, uint32_t cp)
{
	uint8_t b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xC0 | (cp >> 6));
		b[1] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xE0 | (cp >> 12));
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (uint8_t)(0xF0 | (cp >> 18));
		b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return bytebuf_append(out, b, n);
}

int xml_unescape(const uint8_t *p, size_t n, struct bytebuf *out)
{
	size_t i = 0, run = 0, ref_len;
	uint32_t cp;
	const char *named;

	while (i < n) {
		if (p[i] != '&') {
			i++;
			continue;
		}
		if (i > run && !bytebuf_append(out, p + run, i - run))
			return -1;
		if (ref_check(p + i, n - i, &ref_len, &cp, &named) != REF_OK)
			return -1;
		if (named ? !bytebuf_append_str(out, named) : !put_utf8(out, cp))
			return -1;
		i += ref_len;
		run = i;
	}
	if (n > run && !bytebuf_append(out, p + run, n - run))
		return -1;
	return 0;
}

int xml_escape(const char *text, size_t n, struct bytebuf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t c = (uint8_t)text[i];
		bool ok;

		switch (c) {
		case '<':
			ok = bytebuf_append_str(out, "&lt;");
			break;
		case '>':
			ok = bytebuf_append_str(out, "&gt;");
			break;
		case '&':
			ok = bytebuf_append_str(out, "&amp;");
			break;
		case '\'':
			ok = bytebuf_append_str(out, "&apos;");
			break;
		case '"':
			ok = bytebuf_append_str(out, "&quot;");
			break;
		default:
			ok = is_forbidden_byte(c) ? bytebuf_append_str(out, "\xEF\xBF\xBD")
						  : bytebuf_append_byte(out, c);
		}
		if (!ok)
			return -1;
	}
	return 0;
}
