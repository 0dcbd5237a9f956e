/* IMSpector's global blocks (block_files, block_webcams: "applied
 * regardless of the outcome of ACL processing") and imwire's
 * block_encrypted: a session that switches to TLS would carry messages no
 * filter can see, so the switch itself is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "policy/filters.h"

int event_blocks_parse_encrypted(struct event_blocks *b, const char *list, char *err,
				 size_t err_size)
{
	return config_parse_protocols(list, b->encrypted, err, err_size);
}

bool event_blocks_match(const struct event_blocks *b, const struct im_event *ev)
{
	switch (ev->kind) {
	case IM_KIND_FILE:
		return b->files;
	case IM_KIND_WEBCAM:
		return b->webcams;
	case IM_KIND_ENCRYPTED:
		return (unsigned)ev->proto < IMW_PROTO_MAX && b->encrypted[ev->proto];
	default:
		return false;
	}
}

static size_t token_end(const uint8_t *p, size_t len, size_t pos)
{
	while (pos < len && p[pos] != ' ' && p[pos] != '\r' && p[pos] != '\n')
		pos++;
	return pos;
}

/* ":server 670 nick :STARTTLS successful" becomes ":server 691 nick
 * :STARTTLS refused by policy": the client stays in clear text (IRCv3
 * tls), and the server, which expects a TLS handshake, ends the session. */
static bool irc_refusal(const struct im_event *ev, struct bytebuf *out)
{
	const uint8_t *p = ev->pdu_data;
	size_t len = ev->pdu_len, pos = 0, end, code_end, nick_end;

	if (len && p[0] == ':') {
		end = token_end(p, len, 0);
		if (!bytebuf_append(out, p, end) || !bytebuf_append_byte(out, ' '))
			return false;
		pos = end + 1;
	}
	code_end = token_end(p, len, pos);
	if (code_end - pos != 3 || memcmp(p + pos, "670", 3) != 0)
		return false;
	nick_end = token_end(p, len, code_end + 1);
	if (nick_end <= code_end + 1)
		return false;
	return bytebuf_append_str(out, "691 ") &&
	       bytebuf_append(out, p + code_end + 1, nick_end - code_end - 1) &&
	       bytebuf_append_str(out, " :STARTTLS refused by policy\r\n");
}

bool starttls_refusal(const struct im_event *ev, struct bytebuf *out)
{
	size_t mark = out->len;
	bool ok = false;

	/* "STARTTLS", or "STARTTLS (required by the server...)" */
	if (!ev->pdu_data || !ev->pdu_len || !ev->text || strncmp(ev->text, "STARTTLS", 8) != 0)
		return false;
	switch (ev->proto) {
	case IMW_PROTO_IRC:
		ok = irc_refusal(ev, out);
		break;
	case IMW_PROTO_XMPP:
		/* RFC 6120 5.4.2.2: the client gives up on this stream. */
		ok = bytebuf_append_str(out, "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
		break;
	default:
		break;
	}
	if (!ok)
		out->len = mark;
	return ok;
}
