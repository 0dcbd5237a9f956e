/* What a client expects from its server once a message it sent was
 * delivered, for when imwire delivers it itself: with IRCv3
 * echo-message, its own line back from its full address. */
#include <string.h>

#include "proto/irc/irc_internal.h"

/* The tags a server echoes back with a client's own message: client-only
 * tags ("+typing") are relayed as sent, and labeled-response's "label"
 * lets the client match the echo to its request. */
static bool tag_is_echoed(const uint8_t *p, size_t len)
{
	const uint8_t *eq = memchr(p, '=', len);

	if (len && p[0] == '+')
		return true;
	return irc_bytes_is_ci(p, eq ? (size_t)(eq - p) : len, "label");
}

static bool append_echo_tags(struct bytebuf *out, const struct irc_line *l)
{
	const uint8_t *p = irc_span_ptr(l, l->tags);
	size_t pos = 0, end, n = 0;

	while (pos < l->tags.len) {
		end = pos;
		while (end < l->tags.len && p[end] != ';')
			end++;
		if (tag_is_echoed(p + pos, end - pos)) {
			if (!bytebuf_append(out, n ? ";" : "@", 1) ||
			    !bytebuf_append(out, p + pos, end - pos))
				return false;
			n++;
		}
		pos = end + 1;
	}
	return n == 0 || bytebuf_append_byte(out, ' ');
}

/* The target of l's target list that ev names (ev is one event per
 * target); the only one when there is just one. */
static bool echo_target(const struct irc_line *l, const struct im_event *ev,
			struct irc_span *target)
{
	const uint8_t *p = irc_span_ptr(l, l->params[0]);
	size_t pos, end, len = l->params[0].len;

	if (!memchr(p, ',', len)) {
		*target = l->params[0];
		return len > 0;
	}
	for (pos = 0; pos < len; pos = end + 1) {
		end = pos;
		while (end < len && p[end] != ',')
			end++;
		if (ev->remote && irc_bytes_eq_ci(p + pos, end - pos, (const uint8_t *)ev->remote,
						  strlen(ev->remote))) {
			*target = (struct irc_span){ l->params[0].off + pos, end - pos };
			return end > pos;
		}
	}
	return false;
}

int irc_local_receipt(struct proto_session *s, const struct im_event *ev, const uint8_t *orig,
		      size_t orig_len, struct bytebuf *out)
{
	struct irc_state *st = irc_state_of(s);
	struct irc_line l;
	struct irc_span target;
	const char *why, *local, *command;
	size_t mark = out->len;
	bool ok;

	if (!st || !ev || ev->dir != IM_DIR_OUT || !orig)
		return -1;
	if (!st->echo_message)
		return 0;
	if (irc_parse_line(&l, orig, irc_line_content_len(orig, orig_len), &why) != IRC_PARSE_OK ||
	    l.n_params < 2 || !irc_param_is_middle(&l, 0) || !echo_target(&l, ev, &target))
		return -1;
	if (irc_span_is(&l, l.command, "PRIVMSG"))
		command = "PRIVMSG ";
	else if (irc_span_is(&l, l.command, "NOTICE"))
		command = "NOTICE ";
	else
		return -1;
	local = s->local_id ? s->local_id : ev->local;
	if (!s->local_address && !(local && irc_nick_valid((const uint8_t *)local, strlen(local))))
		return -1;
	ok = append_echo_tags(out, &l) && bytebuf_append_byte(out, ':');
	if (s->local_address)
		ok = ok && bytebuf_append_str(out, s->local_address);
	else
		ok = ok && bytebuf_append_str(out, local) && bytebuf_append_byte(out, '!') &&
		     bytebuf_append_str(out, local) && bytebuf_append_str(out, "@imwire");
	ok = ok && bytebuf_append_byte(out, ' ') && bytebuf_append_str(out, command) &&
	     bytebuf_append(out, irc_span_ptr(&l, target), target.len) &&
	     bytebuf_append_str(out, " :") &&
	     bytebuf_append(out, irc_span_ptr(&l, l.params[1]), l.params[1].len) &&
	     bytebuf_append(out, "\r\n", 2);
	if (!ok) {
		out->len = mark;
		return -1;
	}
	return 1;
}
