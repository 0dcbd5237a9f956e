/* The XMPP XML tokenizer, fed the input in growing prefixes.
 *
 * Byte 0 sets the step by which the visible length grows, so a token can
 * be cut at any byte. Every token must lie inside the visible bytes, come
 * after the previous one, and keep its spans inside its own bytes; the
 * depth stays within XML_MAX_DEPTH; values unescape and texts escape
 * without trouble. Tokenizing the whole input at once must give the same
 * token boundaries as the growing prefixes. */
#include <stdlib.h>
#include <string.h>

#include "proto/xmpp/xml_tokenizer.h"

#define MAX_TOKENS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_span(struct xml_span s, const struct xml_token *tok)
{
	if (s.len && (s.off < tok->start || s.off + s.len > tok->end))
		abort();
}

/* Token end offsets, or -1 on error, into ends[]; returns the count. */
static size_t tokenize(const uint8_t *buf, size_t size, size_t step, size_t *ends,
		       bool *failed)
{
	struct xml_tok t;
	struct xml_token tok;
	struct bytebuf scratch, escaped;
	size_t visible = step < size ? step : size, n = 0, last_end = 0;
	unsigned guard = 0;

	xml_tok_init(&t);
	bytebuf_init(&scratch);
	bytebuf_init(&escaped);
	*failed = false;
	while (guard++ < 1000000) {
		enum xml_result r = xml_next(&t, buf, visible, &tok);

		if (r == XML_ERROR) {
			if (!t.error)
				abort();
			*failed = true;
			break;
		}
		if (r == XML_NEED_MORE) {
			if (visible == size)
				break;
			visible = size - visible > step ? visible + step : size;
			continue;
		}
		if (tok.start < last_end || tok.end < tok.start || tok.end > visible)
			abort();
		if (tok.end == tok.start && tok.type != XML_TOKEN_TEXT)
			abort();
		if (tok.depth > XML_MAX_DEPTH)
			abort();
		check_span(tok.name, &tok);
		check_span(tok.value, &tok);
		last_end = tok.end;
		if (tok.type == XML_TOKEN_ATTR || tok.type == XML_TOKEN_TEXT) {
			bytebuf_clear(&scratch);
			(void)xml_unescape(buf + tok.value.off, tok.value.len, &scratch);
			if (tok.type == XML_TOKEN_TEXT && scratch.len) {
				bytebuf_clear(&escaped);
				(void)xml_escape((const char *)scratch.data, scratch.len, &escaped);
			}
		}
		if (tok.type == XML_TOKEN_START || tok.type == XML_TOKEN_END)
			(void)xml_local_name(buf, tok.name);
		if (n < MAX_TOKENS && tok.type != XML_TOKEN_TEXT)
			ends[n++] = tok.end;
	}
	bytebuf_free(&scratch);
	bytebuf_free(&escaped);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static size_t ends_a[MAX_TOKENS], ends_b[MAX_TOKENS];
	size_t step, na, nb;
	bool failed_a, failed_b;
	struct bytebuf esc;

	if (size < 1)
		return 0;
	step = 1 + data[0] % 64;
	data++;
	size--;
	na = tokenize(data, size, step, ends_a, &failed_a);
	nb = tokenize(data, size, size ? size : 1, ends_b, &failed_b);
	/* Text may come in pieces, markup may not: the markup tokens agree. */
	if (failed_a != failed_b || na != nb || memcmp(ends_a, ends_b, na * sizeof(ends_a[0])) != 0)
		abort();
	bytebuf_init(&esc);
	(void)xml_escape((const char *)data, size, &esc);
	bytebuf_free(&esc);
	return 0;
}
