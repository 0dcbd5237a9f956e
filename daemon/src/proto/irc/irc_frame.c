/* IRC framing (a line, or a TLS record after STARTTLS), resync after a
 * gap or an over-long line, detection from the first lines of either
 * direction, and whether a partial line may still become a message. */
#include <string.h>

#include "imwire/byteorder.h"
#include "imwire/signatures.h"
#include "proto/irc/irc_internal.h"

enum proto_frame irc_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			   size_t len, size_t *pdu_len)
{
	struct irc_state *st = irc_state_of(s);
	const uint8_t *nl;
	size_t record;

	/* After STARTTLS the next bytes are a TLS record, which may hold no
	 * "\n" for a long way: frame it by its own length. */
	if (irc_is_tls_record(data, len)) {
		if (len < IRC_TLS_RECORD_HEADER)
			return PROTO_FRAME_NEED_MORE;
		record = IRC_TLS_RECORD_HEADER + imw_load_be16(data + 3);
		if (record > IRC_MAX_PDU)
			goto garbage;
		if (len < record)
			return PROTO_FRAME_NEED_MORE;
		*pdu_len = record;
		return PROTO_FRAME_PDU;
	}
	nl = memchr(data, '\n', len < IRC_MAX_PDU ? len : IRC_MAX_PDU);
	if (nl) {
		*pdu_len = (size_t)(nl - data) + 1;
		if (st)
			st->after_garbage[dir] = false;
		return PROTO_FRAME_PDU;
	}
	if (len < IRC_MAX_PDU)
		return PROTO_FRAME_NEED_MORE;
garbage:
	if (st)
		st->after_garbage[dir] = true;
	return PROTO_FRAME_GARBAGE;
}

static size_t skip_tags(const uint8_t *p, size_t len)
{
	size_t pos = irc_skip_spaces(p, len, 0);

	if (pos < len && p[pos] == '@')
		pos = irc_skip_spaces(p, len, irc_token_end(p, len, pos));
	return pos;
}

size_t irc_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	struct irc_state *st = irc_state_of(s);
	const uint8_t *nl;
	size_t tags;

	/* After a gap that ended on a line boundary the first line is whole;
	 * after garbage we are inside the over-long line and must leave it. */
	if (!(st && st->after_garbage[dir])) {
		tags = skip_tags(data, len);
		if (imw_sig_irc(data + tags, len - tags))
			return 0;
	}
	nl = memchr(data, '\n', len);
	if (!nl)
		return len;
	if (st)
		st->after_garbage[dir] = false;
	return (size_t)(nl - data) + 1;
}

enum irc_line_class {
	IRC_LINE_IRC,
	IRC_LINE_OTHER,   /* a line start of some other protocol */
	IRC_LINE_UNKNOWN, /* could be the tail of a line cut by the window */
};

static bool line_ends_with(const uint8_t *p, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	return len >= n && memcmp(p + len - n, lit, n) == 0;
}

/* Command words of protocols that share IRC's "WORD args" line shape. */
static bool command_is_foreign(const uint8_t *p, size_t len)
{
	static const char *const foreign[] = {
		"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH",
		"EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "VRFY", "STAT", "RETR",
	};
	size_t i;

	for (i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		if (len == strlen(foreign[i]) && memcmp(p, foreign[i], len) == 0)
			return true;
	return false;
}

static enum irc_line_class classify_line(const uint8_t *p, size_t len)
{
	struct irc_line l;
	const char *why;
	size_t start = skip_tags(p, len);

	if (memchr(p, '\0', len))
		return IRC_LINE_OTHER;
	if (!imw_sig_irc(p + start, len - start))
		return IRC_LINE_UNKNOWN;
	if (irc_parse_line(&l, p, len, &why) != IRC_PARSE_OK)
		return IRC_LINE_OTHER;
	if (!l.prefix.len &&
	    (irc_line_is_numeric(&l) ||
	     command_is_foreign(irc_span_ptr(&l, l.command), l.command.len) ||
	     line_ends_with(p, len, " HTTP/1.0") || line_ends_with(p, len, " HTTP/1.1")))
		return IRC_LINE_OTHER;
	return IRC_LINE_IRC;
}

static bool starts_with_registration(const uint8_t *p, size_t len)
{
	return IMW_SIG_PREFIX(p, len, "NICK ") || IMW_SIG_PREFIX(p, len, "USER ") ||
	       IMW_SIG_PREFIX(p, len, "PASS ") || IMW_SIG_PREFIX(p, len, "CAP ") ||
	       IMW_SIG_PREFIX(p, len, "STARTTLS\r\n") || IMW_SIG_PREFIX(p, len, "STARTTLS\n");
}

enum proto_detect irc_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	const uint8_t *nl;
	size_t pos = 0, line_len, lines, irc_lines = 0;
	enum irc_line_class cls;

	(void)dir;
	if (len == 0)
		return PROTO_DETECT_MAYBE;
	if (irc_is_tls_record(data, len) || imw_sig_imip(data, len) || memchr(data, '\0', len))
		return PROTO_DETECT_NO;
	if (starts_with_registration(data, len))
		return PROTO_DETECT_YES;
	for (lines = 0; lines < IRC_DETECT_MAX_LINES && pos < len; lines++) {
		nl = memchr(data + pos, '\n', len - pos);
		if (!nl)
			break;
		line_len = irc_line_content_len(data + pos, (size_t)(nl - data) + 1 - pos);
		cls = irc_skip_spaces(data + pos, line_len, 0) == line_len
			      ? IRC_LINE_UNKNOWN
			      : classify_line(data + pos, line_len);
		if (cls == IRC_LINE_OTHER)
			return PROTO_DETECT_NO;
		if (cls == IRC_LINE_IRC && ++irc_lines == 2)
			return PROTO_DETECT_YES;
		/* Only the first line may be a fragment (mid-stream pick-up). */
		if (cls == IRC_LINE_UNKNOWN && pos != 0)
			return PROTO_DETECT_NO;
		pos = (size_t)(nl - data) + 1;
	}
	if (irc_lines)
		return PROTO_DETECT_YES;
	return len >= IRC_MAX_PDU ? PROTO_DETECT_NO : PROTO_DETECT_MAYBE;
}

bool irc_partial_may_edit(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	size_t pos, end, i;
	bool prefix_is_user = false;

	(void)s;
	pos = irc_skip_spaces(data, len, 0);
	if (pos < len && data[pos] == '@') {
		end = irc_token_end(data, len, pos);
		if (end == len)
			return true; /* tags still arriving */
		pos = irc_skip_spaces(data, len, end);
	}
	if (pos < len && data[pos] == ':') {
		end = irc_token_end(data, len, pos);
		if (end == len)
			return true;
		for (i = pos; i < end; i++)
			prefix_is_user |= data[i] == '!' || data[i] == '@';
		if (!prefix_is_user && dir == IM_DIR_IN)
			return false; /* a server speaking */
		pos = irc_skip_spaces(data, len, end);
	}
	end = irc_token_end(data, len, pos);
	if (end == len)
		return true; /* the command is not complete yet */
	return irc_bytes_is_ci(data + pos, end - pos, "PRIVMSG") ||
	       irc_bytes_is_ci(data + pos, end - pos, "NOTICE");
}

bool irc_fixup_pdu(struct proto_session *s, enum im_dir dir, uint8_t *pdu, size_t len)
{
	struct irc_line l;
	struct irc_span sub, caps;
	const char *why;
	uint8_t *p;
	size_t pos = 0, end;
	bool changed = false;

	if (dir != IM_DIR_IN || !s->strip_tls || len < 8 ||
	    irc_parse_line(&l, pdu, irc_line_content_len(pdu, len), &why) != IRC_PARSE_OK ||
	    !irc_span_is(&l, l.command, "CAP") || l.n_params < 3)
		return false;
	sub = l.params[1];
	if (!irc_span_is(&l, sub, "LS") && !irc_span_is(&l, sub, "NEW") &&
	    !irc_span_is(&l, sub, "ACK"))
		return false;
	caps = l.params[l.n_params - 1];
	p = pdu + caps.off;
	/* CAP LS 302 values ("tls" has none, but "sasl=PLAIN" shows how). */
	while ((pos = irc_skip_spaces(p, caps.len, pos)) < caps.len) {
		end = irc_token_end(p, caps.len, pos);
		if (irc_bytes_is_ci(p + pos, end - pos, "tls") ||
		    (end - pos > 4 && irc_bytes_is_ci(p + pos, 4, "tls="))) {
			memset(p + pos, ' ', end - pos);
			changed = true;
		}
		pos = end;
	}
	return changed;
}
