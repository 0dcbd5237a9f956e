/* MSNP command lines (a command, arguments, the payload length of a
 * payload command) and the MIME messages MSG carries: headers, media
 * type, charset. */
#include <string.h>

#include "proto/msn/msn_internal.h"
#include "util/text.h"

/* Payload commands and how many arguments their line has at least, so
 * that the server's "QRY 12" (no payload) is not read as 12 bytes. */
static const struct {
	const char *cmd;
	size_t min_args;
} payload_cmds[] = {
	{ "MSG", 2 }, { "UUX", 2 }, { "UBX", 2 }, { "QRY", 2 }, { "NOT", 1 }, { "GCF", 2 },
	{ "ADL", 2 }, { "RML", 2 }, { "UUN", 2 }, { "UBN", 2 }, { "FQY", 2 }, { "IPG", 1 },
	{ "UUM", 2 }, { "UBM", 2 }, { "SDG", 2 }, { "NFY", 2 }, { "PUT", 2 }, { "PAG", 2 },
};

/* Commands resync accepts as a line start. */
static const char *const known_cmds[] = {
	"VER", "CVR", "USR", "XFR", "ANS", "CAL", "JOI", "IRO", "MSG", "ACK", "NAK", "BYE",
	"OUT", "CHG", "ILN", "NLN", "FLN", "PNG", "QNG", "QRY", "CHL", "SYN", "LST", "LSG",
	"GTC", "BLP", "PRP", "ADC", "ADD", "REM", "REA", "RNG", "UUX", "UBX", "GCF", "ADL",
	"RML", "FQY", "UUN", "UBN", "NOT", "IPG", "SBS", "URL", "BPR", "UUM", "UBM", "SDG",
	"NFY", "PUT", "PAG",
};

bool msn_span_digits(struct span s, size_t max_digits)
{
	size_t i;

	if (s.len == 0 || s.len > max_digits)
		return false;
	for (i = 0; i < s.len; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return true;
}

uint64_t msn_span_number(struct span s)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < s.len && s.p[i] >= '0' && s.p[i] <= '9' && v < UINT64_MAX / 10; i++)
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	return v;
}

bool msn_span_has(struct span s, uint8_t c)
{
	return s.len && memchr(s.p, c, s.len) != NULL;
}

static struct span span_trim(struct span s)
{
	while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.len--;
	}
	while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t' ||
			 s.p[s.len - 1] == '\r' || s.p[s.len - 1] == '\n'))
		s.len--;
	return s;
}

struct span msn_user_id(struct span s)
{
	const uint8_t *semi = s.len ? memchr(s.p, ';', s.len) : NULL;

	if (semi)
		s.len = (size_t)(semi - s.p);
	if (s.len > 2 && s.p[0] >= '0' && s.p[0] <= '9' && s.p[1] == ':') {
		s.p += 2;
		s.len -= 2;
	}
	return s;
}

static bool cmd_char_ok(uint8_t c, bool digits)
{
	return digits ? c >= '0' && c <= '9' : c >= 'A' && c <= 'Z';
}

bool msn_cmd_known(const uint8_t *p)
{
	size_t i;

	for (i = 0; i < sizeof(known_cmds) / sizeof(known_cmds[0]); i++)
		if (memcmp(p, known_cmds[i], 3) == 0)
			return true;
	return false;
}

/* Does a word of eight bytes hold one below 0x20? Exact: the lowest such
 * byte borrows from none below it, so its high bit always shows. */
static bool word_has_control(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;

	return ((x - ones * 0x20) & ~x & highs) != 0;
}

/* The index of the first byte below 0x20 from pos on, or len. Eight
 * bytes at a time where the lowest marked byte of a word is its first
 * (the lowest such byte borrows from none below it). */
static size_t first_control(const uint8_t *data, size_t pos, size_t len)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;

	for (; pos + 8 <= len; pos += 8) {
		uint64_t x = msn_load8(data + pos), z = (x - ones * 0x20) & ~x & highs;

		if (z)
			return pos + (size_t)__builtin_ctzll(z) / 8;
	}
#endif
	while (pos < len && data[pos] >= 0x20)
		pos++;
	return pos;
}

/* A byte a command line may not hold in [from, to), given that the line
 * ends at `to` (its "\n") when nl, else that the bytes run to len: a
 * control other than tab, or a CR not right before the line break. */
static bool line_has_bad_byte(const uint8_t *data, size_t from, size_t to, size_t len)
{
	size_t i = from, stop = to;

	/* A command line is plain text, its CR the only control: eight bytes
	 * at a time while none of them is below 0x20 (the last eight may
	 * overlap the ones before; a final CR is left to the byte loop), then
	 * byte by byte, which decides. */
	if (stop > from && data[stop - 1] == '\r')
		stop--;
	while (i + 8 <= stop && !word_has_control(msn_load8(data + i)))
		i += 8;
	if (i < stop && stop - from >= 8 && i + 8 > stop &&
	    !word_has_control(msn_load8(data + stop - 8)))
		i = stop;
	for (; i < to; i++) {
		if (data[i] >= 0x20 || data[i] == '\t')
			continue;
		if (data[i] != '\r' || (i + 1 < len && data[i + 1] != '\n'))
			return true;
	}
	return false;
}

/* The first space in [pos, end), or end. Eight bytes at a time while
 * they lie within the buffer (len), past end too: a space found there
 * means end. Little-endian only, where the lowest marked byte of a word
 * is its first. */
static size_t next_space(const uint8_t *data, size_t pos, size_t end, size_t len)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t lows = 0x7f7f7f7f7f7f7f7full, spaces = 0x2020202020202020ull;

	while (pos < end && pos + 8 <= len) {
		uint64_t x = msn_load8(data + pos) ^ spaces;
		/* exactly the zero bytes of x (the spaces) get their high bit */
		uint64_t z = ~(((x & lows) + lows) | x | lows);

		if (z) {
			pos += (size_t)__builtin_ctzll(z) / 8;
			return pos < end ? pos : end;
		}
		pos += 8;
	}
	if (pos >= end)
		return end;
#else
	(void)len;
#endif
	while (pos < end && data[pos] != ' ')
		pos++;
	return pos;
}

/* The checks of a command line and where it ends, its arguments not
 * split: *nl_at is the index of its "\n" when MSN_SCAN_OK. */
static enum msn_scan scan_head(const uint8_t *data, size_t len, size_t *nl_at)
{
	size_t i, lim;
	const uint8_t *nl;
	bool digits;

	if (len == 0)
		return MSN_SCAN_SHORT;
	digits = data[0] >= '0' && data[0] <= '9';
	if (len < 4) {
		for (i = 0; i < len; i++)
			if (!cmd_char_ok(data[i], digits))
				return MSN_SCAN_BAD;
		return MSN_SCAN_SHORT;
	}
	if (!cmd_char_ok(data[1], digits) || !cmd_char_ok(data[2], digits) ||
	    (!digits && !cmd_char_ok(data[0], false)))
		return MSN_SCAN_BAD;
	if (data[3] != ' ' && data[3] != '\r' && data[3] != '\n')
		return MSN_SCAN_BAD;
	/* The line break may stand at MSN_MAX_LINE at the latest. */
	lim = len < MSN_MAX_LINE + 1 ? len : MSN_MAX_LINE + 1;
	/* The common line: plain text up to its "\r\n" (or "\n"), found in
	 * one pass; anything else (a tab, another control) is decided below. */
	i = first_control(data, 3, lim);
	if (i < lim && data[i] == '\n') {
		*nl_at = i;
		return MSN_SCAN_OK;
	}
	if (i + 1 < lim && data[i] == '\r' && data[i + 1] == '\n') {
		*nl_at = i + 1;
		return MSN_SCAN_OK;
	}
	nl = memchr(data + 3, '\n', lim - 3);
	i = nl ? (size_t)(nl - data) : lim;
	if (line_has_bad_byte(data, 3, i < MSN_MAX_LINE ? i : MSN_MAX_LINE, len))
		return MSN_SCAN_BAD;
	if (!nl)
		return len > MSN_MAX_LINE ? MSN_SCAN_BAD : MSN_SCAN_SHORT;
	*nl_at = i;
	return MSN_SCAN_OK;
}

/* Where the arguments of a line end: before its "\r\n" or "\n". */
static size_t args_end(const uint8_t *data, size_t nl_at)
{
	return nl_at > 0 && data[nl_at - 1] == '\r' ? nl_at - 1 : nl_at;
}

enum msn_scan msn_scan_line(const uint8_t *data, size_t len, struct msn_line *l)
{
	size_t nl_at = 0, end, pos;
	enum msn_scan r;

	/* Not the whole struct: arguments beyond n_args are never read. */
	memset(l->cmd, 0, sizeof(l->cmd));
	l->n_args = 0;
	l->last.p = NULL;
	l->last.len = 0;
	l->line_len = 0;
	r = scan_head(data, len, &nl_at);
	if (r != MSN_SCAN_OK)
		return r;
	l->line_len = nl_at + 1;
	end = args_end(data, nl_at);
	memcpy(l->cmd, data, 3);
	l->cmd[3] = '\0';
	pos = 3;
	while (pos < end) {
		size_t start;

		while (pos < end && data[pos] == ' ')
			pos++;
		if (pos == end)
			break;
		start = pos;
		pos = next_space(data, pos, end, len);
		l->last.p = data + start;
		l->last.len = pos - start;
		if (l->n_args < MSN_MAX_ARGS)
			l->args[l->n_args] = l->last;
		l->n_args++;
	}
	return MSN_SCAN_OK;
}

/* How many arguments a payload command's line has at least, or 0 when
 * cmd (three bytes) is no payload command. */
static size_t payload_min_args(const uint8_t *cmd)
{
	size_t i;

	for (i = 0; i < sizeof(payload_cmds) / sizeof(payload_cmds[0]); i++)
		if (memcmp(cmd, payload_cmds[i].cmd, 3) == 0)
			return payload_cmds[i].min_args;
	return 0;
}

/* A payload length: 1 to MSN_MAX_LEN_DIGITS digits (no overflow). */
static bool length_arg(struct span s, size_t *v)
{
	size_t i, n = 0;

	if (s.len == 0 || s.len > MSN_MAX_LEN_DIGITS)
		return false;
	for (i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		n = n * 10 + (size_t)(s.p[i] - '0');
	}
	*v = n;
	return true;
}

bool msn_line_payload(const struct msn_line *l, size_t *payload_len)
{
	size_t min_args = payload_min_args((const uint8_t *)l->cmd);

	return min_args && l->n_args >= min_args && length_arg(l->last, payload_len);
}

enum msn_scan msn_scan_frame(const uint8_t *data, size_t len, size_t *line_len, bool *has_payload,
			     size_t *payload_len)
{
	size_t nl_at = 0, min_args, end, start, before;
	enum msn_scan r = scan_head(data, len, &nl_at);
	struct span last;

	*has_payload = false;
	if (r != MSN_SCAN_OK)
		return r;
	*line_len = nl_at + 1;
	min_args = payload_min_args(data);
	if (!min_args)
		return MSN_SCAN_OK;
	/* The last argument and whether min_args (1 or 2) are there, read
	 * backwards: a payload line ends in its length. Past the command
	 * stands a space (or the line ends there). */
	end = args_end(data, nl_at);
	while (end > 3 && data[end - 1] == ' ')
		end--;
	if (end == 3)
		return MSN_SCAN_OK; /* no argument at all */
	start = end;
	while (data[start - 1] != ' ')
		start--;
	before = start;
	while (before > 3 && data[before - 1] == ' ')
		before--;
	if (min_args > (before > 3 ? 2u : 1u))
		return MSN_SCAN_OK;
	last.p = data + start;
	last.len = end - start;
	*has_payload = length_arg(last, payload_len);
	return MSN_SCAN_OK;
}

/* The value of the header line [line, line + len) when its name is name
 * (nlen bytes, ASCII case ignored), trimmed. */
static inline bool header_value(const uint8_t *line, size_t len, const char *name, size_t nlen,
				struct span *value)
{
	if (len <= nlen || line[nlen] != ':' || !msn_bytes_is_ci(line, name, nlen))
		return false;
	value->p = line + nlen + 1;
	value->len = len - nlen - 1;
	*value = span_trim(*value);
	return true;
}

static void note_header(struct msn_mime *m, const uint8_t *line, size_t len)
{
	if (len == 0)
		return;
	switch (line[0] | 0x20) {
	case 'c':
		if (!m->has_content_type)
			m->has_content_type = header_value(line, len, "Content-Type",
							   strlen("Content-Type"), &m->content_type);
		break;
	case 'x':
		if (!m->has_format)
			m->has_format = header_value(line, len, "X-MMS-IM-Format",
						     strlen("X-MMS-IM-Format"), &m->format);
		break;
	case 't':
		if (!m->has_typing_user)
			m->has_typing_user = header_value(line, len, "TypingUser",
							  strlen("TypingUser"), &m->typing_user);
		break;
	default:
		break;
	}
}

void msn_mime_split(const uint8_t *p, size_t n, struct msn_mime *m)
{
	size_t start = 0, i, blank_end = n;
	const uint8_t *nl;

	m->has_content_type = m->has_format = m->has_typing_user = false;
	/* The lines msn_mime_header would look at: each up to its line break,
	 * the last one up to the blank line (or to the end without one). */
	while (start < n) {
		nl = memchr(p + start, '\n', n - start);
		i = nl ? (size_t)(nl - p) : n;
		note_header(m, p + start, i - start);
		if (!nl)
			break;
		if (i + 1 < n && p[i + 1] == '\n') {
			blank_end = i + 2;
			break;
		}
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
			blank_end = i + 3;
			break;
		}
		start = i + 1;
	}
	/* Without a blank line everything is headers and the body is empty. */
	m->headers.p = p;
	m->headers.len = blank_end;
	m->body_off = blank_end;
	m->body.p = p + blank_end;
	m->body.len = n - blank_end;
}

bool msn_mime_header(struct span headers, const char *name, struct span *value)
{
	size_t pos = 0, nlen = strlen(name);

	while (pos < headers.len) {
		const uint8_t *line = headers.p + pos;
		const uint8_t *nl = memchr(line, '\n', headers.len - pos);
		size_t len = nl ? (size_t)(nl - line) : headers.len - pos;

		pos += len + 1;
		if (len > nlen && (line[0] | 0x20) == (name[0] | 0x20) &&
		    header_value(line, len, name, nlen, value))
			return true;
	}
	return false;
}

struct span msn_media_type(struct span ct)
{
	const uint8_t *semi = ct.len ? memchr(ct.p, ';', ct.len) : NULL;

	if (semi)
		ct.len = (size_t)(semi - ct.p);
	return span_trim(ct);
}

/* The charset named at ct.p + i (just past "charset="): up to ';' or a
 * space, quotes dropped; is it one of those Latin-1 covers? */
static bool charset_at_is_latin1(struct span ct, size_t i)
{
	struct span cs;

	cs.p = ct.p + i;
	cs.len = 0;
	while (cs.len < ct.len - i && cs.p[cs.len] != ';' && cs.p[cs.len] != ' ')
		cs.len++;
	if (cs.len >= 2 && cs.p[0] == '"' && cs.p[cs.len - 1] == '"') {
		cs.p++;
		cs.len -= 2;
	}
	return msn_span_is_ci(cs, "iso-8859-1") || msn_span_is_ci(cs, "latin1") ||
	       msn_span_is_ci(cs, "windows-1252") || msn_span_is_ci(cs, "us-ascii");
}

/* Is "charset=" (any case) at ct.p + i, which has eight bytes? */
static bool charset_key_at(struct span ct, size_t i)
{
	return msn_bytes_is_ci(ct.p + i, "charset=", 8);
}

bool msn_charset_is_latin1(struct span ct)
{
	size_t i = 0;

	/* The first "charset=" decides, wherever it stands. Where the byte
	 * order allows, eight candidate starts at a time: the bytes that are
	 * 'c' or 'C', found exactly and taken lowest (first) first. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t lows = 0x7f7f7f7f7f7f7f7full, ones = 0x0101010101010101ull;

	for (; i + 8 <= ct.len; i += 8) {
		uint64_t x = (msn_load8(ct.p + i) | ones * 0x20) ^ (ones * 'c');
		uint64_t z = ~(((x & lows) + lows) | x | lows);

		for (; z; z &= z - 1) {
			size_t at = i + (size_t)__builtin_ctzll(z) / 8;

			if (at + 8 > ct.len)
				return false;
			if (charset_key_at(ct, at))
				return charset_at_is_latin1(ct, at + 8);
		}
	}
	return false;
#else
	for (; i + 8 <= ct.len; i++)
		if ((ct.p[i] | 0x20) == 'c' && charset_key_at(ct, i))
			return charset_at_is_latin1(ct, i + 8);
	return false;
#endif
}

char *msn_decode_body(struct span ct, struct span body)
{
	if (msn_charset_is_latin1(ct))
		return text_latin1_to_utf8(body.p, body.len);
	return text_utf8_or_latin1(body.p, body.len);
}
