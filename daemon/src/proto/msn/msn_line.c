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
	size_t i;

	for (i = 0; i < s.len && s.p[i] != ';'; i++)
		;
	s.len = i;
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

bool msn_cmd_is(const struct msn_line *l, const char *cmd)
{
	return memcmp(l->cmd, cmd, 4) == 0;
}

bool msn_cmd_known(const uint8_t *p)
{
	size_t i;

	for (i = 0; i < sizeof(known_cmds) / sizeof(known_cmds[0]); i++)
		if (memcmp(p, known_cmds[i], 3) == 0)
			return true;
	return false;
}

/* A byte a command line may not hold in [from, to), given that the line
 * ends at `to` (its "\n") when nl, else that the bytes run to len: a
 * control other than tab, or a CR not right before the line break. */
static bool line_has_bad_byte(const uint8_t *data, size_t from, size_t to, size_t len)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	size_t i = from;
	uint64_t x;

	/* A command line is plain text, its CR the only control: eight bytes
	 * at a time while none of them is below 0x20, then byte by byte. */
	while (i + 8 <= to) {
		memcpy(&x, data + i, 8);
		if ((x - ones * 0x20) & ~x & highs)
			break;
		i += 8;
	}
	for (; i < to; i++) {
		if (data[i] >= 0x20 || data[i] == '\t')
			continue;
		if (data[i] != '\r' || (i + 1 < len && data[i + 1] != '\n'))
			return true;
	}
	return false;
}

enum msn_scan msn_scan_line(const uint8_t *data, size_t len, struct msn_line *l)
{
	size_t i, end, pos, lim;
	const uint8_t *nl;
	bool digits;

	memset(l, 0, sizeof(*l));
	if (len == 0)
		return MSN_SCAN_SHORT;
	digits = data[0] >= '0' && data[0] <= '9';
	for (i = 0; i < 3; i++) {
		if (i == len)
			return MSN_SCAN_SHORT;
		if (!cmd_char_ok(data[i], digits))
			return MSN_SCAN_BAD;
	}
	if (len == 3)
		return MSN_SCAN_SHORT;
	if (data[3] != ' ' && data[3] != '\r' && data[3] != '\n')
		return MSN_SCAN_BAD;
	/* The line break may stand at MSN_MAX_LINE at the latest. */
	lim = len < MSN_MAX_LINE + 1 ? len : MSN_MAX_LINE + 1;
	nl = memchr(data + 3, '\n', lim - 3);
	i = nl ? (size_t)(nl - data) : lim;
	if (line_has_bad_byte(data, 3, i < MSN_MAX_LINE ? i : MSN_MAX_LINE, len))
		return MSN_SCAN_BAD;
	if (!nl)
		return len > MSN_MAX_LINE ? MSN_SCAN_BAD : MSN_SCAN_SHORT;
	l->line_len = i + 1;
	end = i > 0 && data[i - 1] == '\r' ? i - 1 : i;
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
		while (pos < end && data[pos] != ' ')
			pos++;
		l->last.p = data + start;
		l->last.len = pos - start;
		if (l->n_args < MSN_MAX_ARGS)
			l->args[l->n_args] = l->last;
		l->n_args++;
	}
	return MSN_SCAN_OK;
}

bool msn_line_payload(const struct msn_line *l, size_t *payload_len)
{
	size_t i;

	for (i = 0; i < sizeof(payload_cmds) / sizeof(payload_cmds[0]); i++) {
		if (!msn_cmd_is(l, payload_cmds[i].cmd))
			continue;
		if (l->n_args < payload_cmds[i].min_args ||
		    !msn_span_digits(l->last, MSN_MAX_LEN_DIGITS))
			return false;
		*payload_len = (size_t)msn_span_number(l->last);
		return true;
	}
	return false;
}

struct span msn_no_span(void)
{
	struct span none = { (const uint8_t *)"", 0 };

	return none;
}

struct span msn_arg(const struct msn_line *l, size_t i)
{
	return i < l->n_args && i < MSN_MAX_ARGS ? l->args[i] : msn_no_span();
}

void msn_mime_split(const uint8_t *p, size_t n, struct msn_mime *m)
{
	size_t i, blank_end = n;
	const uint8_t *nl = p;

	while (n && (nl = memchr(nl, '\n', n - (size_t)(nl - p))) != NULL) {
		i = (size_t)(nl - p);
		if (i + 1 < n && p[i + 1] == '\n') {
			blank_end = i + 2;
			break;
		}
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
			blank_end = i + 3;
			break;
		}
		if (++nl == p + n)
			break;
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
		if (len > nlen && line[nlen] == ':' && (line[0] | 0x20) == (name[0] | 0x20) &&
		    text_has_prefix_ci((const char *)line, len, name)) {
			value->p = line + nlen + 1;
			value->len = len - nlen - 1;
			*value = span_trim(*value);
			return true;
		}
	}
	return false;
}

struct span msn_media_type(struct span ct)
{
	size_t i;

	for (i = 0; i < ct.len && ct.p[i] != ';'; i++)
		;
	ct.len = i;
	return span_trim(ct);
}

bool msn_charset_is_latin1(struct span ct)
{
	static const char *const latin1[] = { "iso-8859-1", "latin1", "windows-1252", "us-ascii" };
	size_t i, j;

	for (i = 0; i + 8 <= ct.len; i++) {
		struct span cs;

		if ((ct.p[i] | 0x20) != 'c' ||
		    !text_has_prefix_ci((const char *)ct.p + i, ct.len - i, "charset="))
			continue;
		cs.p = ct.p + i + 8;
		cs.len = 0;
		while (cs.len < ct.len - i - 8 && cs.p[cs.len] != ';' && cs.p[cs.len] != ' ')
			cs.len++;
		if (cs.len >= 2 && cs.p[0] == '"' && cs.p[cs.len - 1] == '"') {
			cs.p++;
			cs.len -= 2;
		}
		for (j = 0; j < sizeof(latin1) / sizeof(latin1[0]); j++)
			if (msn_span_is_ci(cs, latin1[j]))
				return true;
		return false;
	}
	return false;
}

char *msn_decode_body(struct span ct, struct span body)
{
	if (msn_charset_is_latin1(ct))
		return text_latin1_to_utf8(body.p, body.len);
	return text_utf8_or_latin1(body.p, body.len);
}
