/* IRC lines: the parser (spans into the PDU, never a copy), and the
 * small questions asked of a line or a name: numerics, nicks, channels,
 * full addresses, CTCP requests and DCC offers. */
#include <string.h>

#include "proto/irc/irc_internal.h"

static bool is_letter(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static uint8_t ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

bool irc_bytes_eq_ci(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	size_t i;

	if (a_len != b_len)
		return false;
	for (i = 0; i < a_len; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

size_t irc_skip_spaces(const uint8_t *p, size_t len, size_t pos)
{
	while (pos < len && p[pos] == ' ')
		pos++;
	return pos;
}

size_t irc_token_end(const uint8_t *p, size_t len, size_t pos)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* Eight bytes at a time: exactly the spaces get their high bit, and
	 * the lowest one marked is the first. */
	const uint64_t lows = 0x7f7f7f7f7f7f7f7full, spaces = 0x2020202020202020ull;

	while (pos + 8 <= len) {
		uint64_t x, z;

		memcpy(&x, p + pos, 8);
		x ^= spaces;
		z = ~(((x & lows) + lows) | x | lows);
		if (z)
			return pos + (size_t)__builtin_ctzll(z) / 8;
		pos += 8;
	}
#endif
	while (pos < len && p[pos] != ' ')
		pos++;
	return pos;
}


static bool command_valid(const uint8_t *p, size_t len)
{
	size_t i;

	if (len == 3 && is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]))
		return true;
	if (len > 0 && len <= 8) {
		/* A word at once: every byte ASCII (so the letter mask holds)
		 * and a letter. */
		uint64_t x = 0, want = 0x2020202020202020ull >> (64 - 8 * len);

		/* gathered by shifts, not a memcpy of a variable length (a
		 * library call per line); want: 0x20 in each of the len bytes */
		for (i = 0; i < len; i++)
			x |= (uint64_t)p[i] << (8 * i);
		return (x & 0x8080808080808080ull) == 0 && irc_letter_bits(x) == want;
	}
	for (i = 0; i < len; i++)
		if (!is_letter(p[i]))
			return false;
	return len > 0;
}

enum irc_parse irc_parse_line(struct irc_line *l, const uint8_t *p, size_t len, const char **why)
{
	size_t pos, end;

	/* Not all of it: parameters past n_params are read only after a
	 * check of n_params, but for the first ones, copied before it. */
	l->p = p;
	l->len = len;
	l->tags = l->prefix = l->command = (struct irc_span){ 0, 0 };
	l->params[0] = l->params[1] = l->params[2] = (struct irc_span){ 0, 0 };
	l->n_params = 0;
	l->has_trailer = false;
	if (len && memchr(p, '\0', len)) {
		*why = "NUL byte in IRC line";
		return IRC_PARSE_BAD;
	}
	pos = irc_skip_spaces(p, len, 0);
	if (pos == len)
		return IRC_PARSE_EMPTY;
	if (p[pos] == '@') {
		end = irc_token_end(p, len, pos);
		l->tags = (struct irc_span){ pos + 1, end - pos - 1 };
		pos = irc_skip_spaces(p, len, end);
	}
	if (pos < len && p[pos] == ':') {
		end = irc_token_end(p, len, pos);
		if (end == pos + 1) {
			*why = "empty IRC prefix";
			return IRC_PARSE_BAD;
		}
		l->prefix = (struct irc_span){ pos + 1, end - pos - 1 };
		pos = irc_skip_spaces(p, len, end);
	}
	if (pos == len) {
		*why = "IRC line without a command";
		return IRC_PARSE_BAD;
	}
	end = irc_token_end(p, len, pos);
	if (!command_valid(p + pos, end - pos)) {
		*why = "IRC command is neither a word nor a numeric";
		return IRC_PARSE_BAD;
	}
	l->command = (struct irc_span){ pos, end - pos };
	pos = end;
	for (;;) {
		pos = irc_skip_spaces(p, len, pos);
		if (pos == len)
			break;
		if (p[pos] == ':' || l->n_params == IRC_MAX_PARAMS - 1) {
			if (p[pos] == ':') {
				pos++;
				l->has_trailer = true;
			}
			l->params[l->n_params++] = (struct irc_span){ pos, len - pos };
			break;
		}
		end = irc_token_end(p, len, pos);
		l->params[l->n_params++] = (struct irc_span){ pos, end - pos };
		pos = end;
	}
	return IRC_PARSE_OK;
}

unsigned irc_line_numeric(const struct irc_line *l)
{
	const uint8_t *c = irc_span_ptr(l, l->command);

	return (unsigned)(c[0] - '0') * 100 + (unsigned)(c[1] - '0') * 10 + (unsigned)(c[2] - '0');
}

bool irc_param_is_middle(const struct irc_line *l, size_t i)
{
	return i < l->n_params && !(l->has_trailer && i == l->n_params - 1);
}

bool irc_prefix_user_nick(const struct irc_line *l, struct irc_span *nick)
{
	const uint8_t *p = irc_span_ptr(l, l->prefix);
	size_t i;

	for (i = 0; i < l->prefix.len; i++) {
		if (p[i] == '!' || p[i] == '@') {
			if (i == 0)
				return false;
			*nick = (struct irc_span){ l->prefix.off, i };
			return true;
		}
	}
	return false;
}

bool irc_nick_valid(const uint8_t *p, size_t len)
{
	size_t i;

	if (len == 0 || p[0] == '#' || p[0] == '&' || p[0] == '$' || p[0] == ':')
		return false;
	for (i = 0; i < len; i++)
		if (p[i] <= ' ' || p[i] == ',' || p[i] == '!' || p[i] == '@' || p[i] == '*' ||
		    p[i] == '.' || p[i] == ':' || p[i] == 0x7f)
			return false;
	return true;
}

bool irc_target_is_channel(const uint8_t *p, size_t len)
{
	size_t i = 0;

	if (len >= 2 && (p[0] == '@' || p[0] == '%' || p[0] == '~'))
		i = 1;
	/* the channel types "#&+!" */
	return i < len && (p[i] == '#' || p[i] == '&' || p[i] == '+' || p[i] == '!');
}

bool irc_local_is(const struct proto_session *s, const uint8_t *p, size_t len)
{
	return s->local_id &&
	       irc_bytes_eq_ci((const uint8_t *)s->local_id, strlen(s->local_id), p, len);
}

size_t irc_full_address_nick_len(const uint8_t *p, size_t len)
{
	const uint8_t *bang = memchr(p, '!', len);
	size_t nick_len, i, at = 0;

	if (!bang)
		return 0;
	nick_len = (size_t)(bang - p);
	if (!irc_nick_valid(p, nick_len))
		return 0;
	for (i = nick_len + 1; i < len; i++) {
		if (p[i] <= ' ' || p[i] == 0x7f || p[i] == '!' || p[i] == ',')
			return 0;
		if (p[i] == '@') {
			if (at)
				return 0;
			at = i;
		}
	}
	return at > nick_len + 1 && at + 1 < len ? nick_len : 0;
}

bool irc_address_of(const char *addr, const char *nick, size_t nick_len)
{
	size_t n;

	if (!addr)
		return false;
	n = irc_full_address_nick_len((const uint8_t *)addr, strlen(addr));
	return n && irc_bytes_eq_ci((const uint8_t *)addr, n, (const uint8_t *)nick, nick_len);
}

static bool body_word_is(const uint8_t *p, size_t len, size_t *pos, const char *word)
{
	size_t n = strlen(word), end;

	end = irc_token_end(p, len, *pos);
	if (!irc_bytes_is_ci(p + *pos, end - *pos, word) || end - *pos != n)
		return false;
	*pos = irc_skip_spaces(p, len, end);
	return true;
}

void irc_ctcp_classify(const struct irc_line *l, struct irc_span text, struct irc_ctcp_info *ci)
{
	const uint8_t *t = irc_span_ptr(l, text);
	const uint8_t *close;
	size_t start, end, pos;

	memset(ci, 0, sizeof(*ci));
	if (text.len >= 2 && (t[0] == '+' || t[0] == '-') && t[1] == 0x01)
		ci->marker_len = 1;
	if (ci->marker_len >= text.len || t[ci->marker_len] != 0x01) {
		ci->marker_len = 0;
		return;
	}
	start = ci->marker_len + 1;
	close = memchr(t + start, 0x01, text.len - start);
	end = close ? (size_t)(close - t) : text.len;
	ci->body = (struct irc_span){ text.off + start, end - start };
	ci->word = (struct irc_span){ text.off + start, irc_token_end(t, end, start) - start };
	ci->kind = IRC_CTCP_OTHER;
	pos = start;
	if (body_word_is(t, end, &pos, "ACTION")) {
		ci->kind = IRC_CTCP_ACTION;
	} else if (body_word_is(t, end, &pos, "DCC")) {
		if (body_word_is(t, end, &pos, "SEND"))
			ci->kind = IRC_CTCP_DCC_SEND;
		else if (body_word_is(t, end, &pos, "CHAT"))
			ci->kind = IRC_CTCP_DCC_CHAT;
	}
}

static bool parse_u64(const uint8_t *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (!is_digit(p[i]) || v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

bool irc_dcc_send_parse(const struct irc_line *l, struct irc_span body, struct irc_dcc_offer *offer)
{
	const uint8_t *b = irc_span_ptr(l, body);
	const uint8_t *quote;
	size_t pos = 0, end, field;

	memset(offer, 0, sizeof(*offer));
	if (!body_word_is(b, body.len, &pos, "DCC") || !body_word_is(b, body.len, &pos, "SEND"))
		return false;
	if (pos < body.len && b[pos] == '"') {
		quote = memchr(b + pos + 1, '"', body.len - pos - 1);
		if (!quote)
			return false;
		end = (size_t)(quote - b);
		offer->name = (struct irc_span){ body.off + pos + 1, end - pos - 1 };
		end++;
	} else {
		end = irc_token_end(b, body.len, pos);
		offer->name = (struct irc_span){ body.off + pos, end - pos };
	}
	if (offer->name.len == 0)
		return false;
	/* ip, port, size, token */
	for (field = 0; field < 4; field++) {
		struct irc_span *spans[4] = { &offer->addr, &offer->port, NULL, &offer->token };

		pos = irc_skip_spaces(b, body.len, end);
		end = irc_token_end(b, body.len, pos);
		if (pos == end)
			break;
		if (field == 2)
			offer->has_size = parse_u64(b + pos, end - pos, &offer->size);
		else
			*spans[field] = (struct irc_span){ body.off + pos, end - pos };
	}
	return true;
}
