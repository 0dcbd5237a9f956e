/* Events back to IRC lines: a rewritten text in the line it came from
 * (everything else byte for byte, CTCP marks restored), or a message
 * built from the neutral fields alone on as many lines as it needs. */
#include <stdlib.h>
#include <string.h>

#include "proto/irc/irc_internal.h"
#include "proto/text_splice.h"

/* Line breaks in text would start a new IRC line: an injected command. */
static bool append_sanitized(struct bytebuf *out, const char *text, size_t len, bool strip_ctcp)
{
	size_t i;
	uint8_t c;

	if (!bytebuf_reserve(out, len))
		return false;
	for (i = 0; i < len; i++) {
		c = (uint8_t)text[i];
		if (c == 0x01 && strip_ctcp)
			continue;
		if (c == '\r' || c == '\n' || c == '\0')
			c = ' ';
		if (!bytebuf_append_byte(out, c))
			return false;
	}
	return true;
}

/* "nick: rest" as logged for incoming channel lines. */
static bool split_sender(const char *text, size_t *nick_len, const char **rest)
{
	const char *colon = strstr(text, ": ");

	if (!colon || !irc_nick_valid((const uint8_t *)text, (size_t)(colon - text)))
		return false;
	*nick_len = (size_t)(colon - text);
	*rest = colon + 2;
	return true;
}

/* Put the new text where the old one was, restoring CTCP marks when the
 * text still reads as the same CTCP command. */
static bool append_message_text(struct bytebuf *out, const struct irc_line *l,
				const struct irc_ctcp_info *ci, const char *text)
{
	size_t len = strlen(text);
	const uint8_t *marker = irc_span_ptr(l, l->params[1]);

	if (ci->kind == IRC_CTCP_NONE)
		return append_sanitized(out, text, len, false);
	if (ci->marker_len) {
		if (len < 1 || (uint8_t)text[0] != marker[0])
			return append_sanitized(out, text, len, false);
		if (!bytebuf_append(out, marker, 1))
			return false;
		text++;
		len--;
	}
	if (len < ci->word.len ||
	    !irc_bytes_eq_ci((const uint8_t *)text, ci->word.len, irc_span_ptr(l, ci->word),
			     ci->word.len) ||
	    (len > ci->word.len && text[ci->word.len] != ' '))
		return append_sanitized(out, text, len, false);
	return bytebuf_append_byte(out, 0x01) && append_sanitized(out, text, len, true) &&
	       bytebuf_append_byte(out, 0x01);
}

/* The trailer's bytes one unit at a time: UTF-8 (else Latin-1), and in a
 * CTCP line its \x01 marks, which carry no text and stay where they are. */
static bool unit_trailer(void *arg, const uint8_t *raw, size_t len, size_t pos,
			 struct text_unit *u, struct bytebuf *text)
{
	const bool *ctcp = arg;

	if (*ctcp && raw[pos] == 0x01) {
		u->raw_len = 1;
		u->kind = TEXT_MARKUP;
		return true;
	}
	return text_unit_utf8_or_latin1(NULL, raw, len, pos, u, text);
}

static bool encode_trailer(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out)
{
	const bool *ctcp = arg;

	(void)ctx;
	return append_sanitized(out, text, n, *ctcp);
}

/* Can text stand as a middle parameter (no ':' trailer)? */
static bool middle_ok(const char *text)
{
	return text[0] && text[0] != ':' && !strpbrk(text, " \r\n");
}

/* The new text in place of the old one, only the changed characters
 * written anew, when the line can hold it as it is: a one-word text that
 * was sent without ':' stays without it. Returns 0, or -1 to re-encode. */
static int splice_text(const struct irc_line *l, struct irc_span text_span, bool ctcp,
		       const char *text, const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct text_codec codec = { unit_trailer, encode_trailer, &ctcp };
	size_t mark = out->len, tail = text_span.off + text_span.len;
	char *old;
	int rc;

	if (!(l->has_trailer && l->n_params == 2) && !middle_ok(text))
		return -1;
	old = irc_message_text(l, NULL, text_span, ctcp);
	if (!old)
		return -1;
	rc = bytebuf_append(out, orig, text_span.off) &&
			     text_splice(&codec, orig + text_span.off, text_span.len, old, strlen(old),
					 text, strlen(text), out) == 0 &&
			     bytebuf_append(out, orig + tail, orig_len - tail)
		     ? 0
		     : -1;
	free(old);
	if (rc < 0)
		out->len = mark;
	return rc;
}

static int encode_with_orig(enum im_dir dir, const struct im_event *ev, const uint8_t *orig,
			    size_t orig_len, struct bytebuf *out)
{
	struct irc_line l;
	struct irc_span sender, text_span;
	struct irc_ctcp_info ci;
	const char *why, *text = ev->text;
	size_t content_len = irc_line_content_len(orig, orig_len), tail_off;
	bool has_sender = false, in_channel, same, ok;
	char *old;

	if (irc_parse_line(&l, orig, content_len, &why) != IRC_PARSE_OK || l.n_params < 2 ||
	    !(irc_span_is(&l, l.command, "PRIVMSG") || irc_span_is(&l, l.command, "NOTICE")))
		return -1;
	text_span = l.params[1];
	if (dir == IM_DIR_IN) {
		has_sender = irc_prefix_user_nick(&l, &sender);
		if (!has_sender)
			return -1;
	}
	in_channel = dir == IM_DIR_IN && ev->group;
	irc_ctcp_classify(&l, text_span, &ci);
	old = irc_message_text(&l, in_channel ? &sender : NULL, text_span,
			       ci.kind != IRC_CTCP_NONE);
	if (!old)
		return -1;
	same = strcmp(old, text) == 0;
	free(old);
	if (same)
		return bytebuf_append(out, orig, orig_len) ? 0 : -1;

	if (in_channel && strlen(text) >= sender.len + 2 &&
	    memcmp(text, irc_span_ptr(&l, sender), sender.len) == 0 &&
	    memcmp(text + sender.len, ": ", 2) == 0)
		text += sender.len + 2;
	if (splice_text(&l, text_span, ci.kind != IRC_CTCP_NONE, text, orig, orig_len, out) == 0)
		return 0;
	/* A one-word text without ':' must become a trailer to hold spaces;
	 * any stray words after it would otherwise join the new text. */
	ok = bytebuf_append(out, orig, text_span.off);
	if (!(l.has_trailer && l.n_params == 2))
		ok = ok && bytebuf_append_byte(out, ':');
	ok = ok && append_message_text(out, &l, &ci, text);
	tail_off = l.n_params == 2 ? text_span.off + text_span.len : content_len;
	if (ok && tail_off == orig_len)
		ok = bytebuf_append(out, "\r\n", 2);
	else
		ok = ok && bytebuf_append(out, orig + tail_off, orig_len - tail_off);
	return ok ? 0 : -1;
}

static bool remote_valid(const char *remote)
{
	size_t i;

	if (!remote || !remote[0] || remote[0] == ':')
		return false;
	for (i = 0; remote[i]; i++)
		if ((uint8_t)remote[i] <= ' ' || remote[i] == ',')
			return false;
	return true;
}

/* ":nick!user@host " for the sender of an incoming line: its real
 * address when the event carries one for this nick (a locally routed
 * message from a user the recipient may /whois), else nick!nick@imwire. */
static bool append_sender_prefix(struct bytebuf *out, const struct im_event *ev,
				 const char *nick, size_t nick_len)
{
	if (irc_address_of(ev->remote_address, nick, nick_len))
		return bytebuf_append_byte(out, ':') &&
		       bytebuf_append_str(out, ev->remote_address) && bytebuf_append_byte(out, ' ');
	return bytebuf_append_byte(out, ':') && bytebuf_append(out, nick, nick_len) &&
	       bytebuf_append_byte(out, '!') && bytebuf_append(out, nick, nick_len) &&
	       bytebuf_append_str(out, "@imwire ");
}

/* An IRC line is at most 512 bytes with its CRLF. A line a client sends
 * reaches others with the sender's prefix put in front by the server, so
 * it keeps room for one. */
#define IRC_LINE_MAX 510
#define IRC_RELAY_PREFIX_ROOM 110
#define IRC_MIN_TEXT_ROOM 64

/* How much of text (len bytes, no line break) goes on one line of room
 * bytes: all of it if it fits, else up to the last blank in the second
 * half of the room, else as much as fits without cutting a UTF-8
 * sequence. */
static size_t line_chunk(const char *text, size_t len, size_t room)
{
	size_t n = room, i;

	if (len <= room)
		return len;
	for (i = room; i > room / 2; i--)
		if (text[i] == ' ')
			return i;
	while (n > 1 && ((uint8_t)text[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* The text on as many lines as it needs: one per line of the text, each
 * cut to fit, all after the same head ("[:prefix ]PRIVMSG target :"). */
static bool append_lines(struct bytebuf *out, const struct bytebuf *head, const char *text,
			 size_t room)
{
	const char *p = text, *nl;
	size_t len, n;
	bool any = false;

	while (*p || !any) {
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len && p[len - 1] == '\r')
			len--;
		while (len || !any) {
			n = line_chunk(p, len, room);
			if (!bytebuf_append(out, head->data, head->len) ||
			    !append_sanitized(out, p, n, false) || !bytebuf_append(out, "\r\n", 2))
				return false;
			any = true;
			p += n;
			len -= n;
			if (len && *p == ' ') { /* the blank the line was cut at */
				p++;
				len--;
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return true;
}

/* The head of a system notice (im_event.notice): a NOTICE, which no client
 * answers automatically; to the local user from notice_sender (a nick,
 * nick!user@host or a server name), else from the server; to the remote
 * in the local user's name, its text marking it. */
static bool append_notice_head(struct bytebuf *head, struct proto_session *s, enum im_dir dir,
			       const struct im_event *ev)
{
	const char *local = ev->local && ev->local[0] ? ev->local : s ? s->local_id : NULL;
	const char *from = ev->notice_from;
	bool ok;

	if (dir == IM_DIR_OUT)
		return bytebuf_append_str(head, "NOTICE ") && bytebuf_append_str(head, ev->remote) &&
		       bytebuf_append_str(head, " :");
	if (!remote_valid(local))
		return false;
	if (!from)
		from = s && s->service && strchr(s->service, '.') ? s->service : "imwire";
	ok = bytebuf_append_byte(head, ':') && bytebuf_append_str(head, from);
	if (ok && !strchr(from, '!') && !strchr(from, '.'))
		ok = bytebuf_append_byte(head, '!') && bytebuf_append_str(head, from) &&
		     bytebuf_append_str(head, "@imwire");
	return ok && bytebuf_append_str(head, " NOTICE ") && bytebuf_append_str(head, local) &&
	       bytebuf_append_str(head, " :");
}

static int encode_fresh(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
			struct bytebuf *out)
{
	const char *text = ev->text, *local, *sender = "imwire";
	size_t sender_len = strlen(sender), room;
	struct bytebuf head;
	bool ok;

	if (!remote_valid(ev->remote))
		return -1;
	bytebuf_init(&head);
	if (ev->notice) {
		ok = append_notice_head(&head, s, dir, ev);
	} else if (dir == IM_DIR_OUT) {
		ok = bytebuf_append_str(&head, "PRIVMSG ") && bytebuf_append_str(&head, ev->remote) &&
		     bytebuf_append_str(&head, " :");
	} else if (ev->group) {
		/* The sender comes back from the "nick: " IMSpector prefix. */
		if (split_sender(ev->text, &sender_len, &text))
			sender = ev->text;
		ok = append_sender_prefix(&head, ev, sender, sender_len) &&
		     bytebuf_append_str(&head, "PRIVMSG ") && bytebuf_append_str(&head, ev->remote) &&
		     bytebuf_append_str(&head, " :");
	} else {
		local = ev->local && ev->local[0] ? ev->local : s ? s->local_id : NULL;
		/* Our own decoder takes "*" for a server notice target. */
		if (!remote_valid(local) ||
		    !irc_nick_valid((const uint8_t *)ev->remote, strlen(ev->remote))) {
			bytebuf_free(&head);
			return -1;
		}
		ok = append_sender_prefix(&head, ev, ev->remote, strlen(ev->remote)) &&
		     bytebuf_append_str(&head, "PRIVMSG ") && bytebuf_append_str(&head, local) &&
		     bytebuf_append_str(&head, " :");
	}
	room = IRC_LINE_MAX - (dir == IM_DIR_OUT ? IRC_RELAY_PREFIX_ROOM : 0);
	ok = ok && head.len + IRC_MIN_TEXT_ROOM <= room &&
	     append_lines(out, &head, text, room - head.len);
	bytebuf_free(&head);
	return ok ? 0 : -1;
}

int irc_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
	       const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	size_t mark = out->len;
	int rc;

	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return -1;
	rc = orig ? encode_with_orig(dir, ev, orig, orig_len, out) : encode_fresh(s, dir, ev, out);
	if (rc < 0)
		out->len = mark; /* never leave half a line behind */
	return rc;
}
