/* IRC lines to events: what each command means for the log (messages,
 * joins and parts, logins and logouts, file offers, STARTTLS), and what
 * the session learns on the way (our nick, our full address, the
 * network). Conventions: irc.c. */
#include <stdlib.h>
#include <string.h>

#include "proto/irc/irc_internal.h"
#include "util/text.h"

/* A line whose prefix is our own full address ("JOIN", an echoed
 * message) shows how the server presents us to others. */
static bool note_own_prefix(struct proto_session *s, const struct irc_line *l)
{
	const uint8_t *p = irc_span_ptr(l, l->prefix);
	size_t n = irc_full_address_nick_len(p, l->prefix.len);

	if (!n || !irc_local_is(s, p, n))
		return true;
	if (s->local_address && strlen(s->local_address) == l->prefix.len &&
	    memcmp(s->local_address, p, l->prefix.len) == 0)
		return true;
	return proto_session_set_local_address(s, (const char *)p, l->prefix.len);
}

static int out_of_memory(struct proto_session *s, struct im_event *ev)
{
	event_free(ev);
	return proto_session_malformed(s, "out of memory");
}

/* A field of an event made here (event_set_text_brief: it is emitted
 * before long) from the line's bytes at sp. */
static bool set_from_line(char **field, const struct irc_line *l, struct irc_span sp)
{
	return event_set_text_brief(field, irc_span_ptr(l, sp), sp.len);
}

static bool append_without_ctcp_marks(struct bytebuf *b, const uint8_t *p, size_t len,
				      bool strip)
{
	const uint8_t *mark;

	while (strip && len && (mark = memchr(p, 0x01, len)) != NULL) {
		if (!bytebuf_append(b, p, (size_t)(mark - p)))
			return false;
		len -= (size_t)(mark - p) + 1;
		p = mark + 1;
	}
	return bytebuf_append(b, p, len);
}

char *irc_message_text(const struct irc_line *l, const struct irc_span *sender,
		       struct irc_span text, bool strip_ctcp)
{
	struct bytebuf b;
	char *out = NULL;
	bool ok = true;

	if (!sender && !(strip_ctcp && memchr(irc_span_ptr(l, text), 0x01, text.len)))
		/* The text as it is (a message's common case): one copy. */
		return text_utf8_or_latin1(irc_span_ptr(l, text), text.len);
	bytebuf_init(&b);
	if (sender)
		ok = bytebuf_append(&b, irc_span_ptr(l, *sender), sender->len) &&
		     bytebuf_append(&b, ": ", 2);
	ok = ok && append_without_ctcp_marks(&b, irc_span_ptr(l, text), text.len, strip_ctcp);
	if (ok && b.data && text_is_valid_utf8(b.data, b.len) && bytebuf_terminate(&b))
		return (char *)b.data; /* already what text_utf8_or_latin1 would make */
	if (ok)
		out = text_utf8_or_latin1(b.data ? b.data : (const uint8_t *)"", b.len);
	bytebuf_free(&b);
	return out;
}

static int emit_simple(struct proto_session *s, enum im_dir dir, enum im_kind kind,
		       const struct irc_line *l, const struct irc_span *remote, bool group,
		       const char *text)
{
	struct im_event ev;

	proto_event_begin(s, &ev, dir, kind);
	ev.group = group;
	if ((remote && !set_from_line(&ev.remote, l, *remote)) ||
	    !event_set_str_brief(&ev.text, text))
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static bool learn_local(struct proto_session *s, const struct irc_line *l, struct irc_span nick)
{
	return proto_session_set_local(s, (const char *)irc_span_ptr(l, nick), nick.len);
}

static int emit_encrypted(struct proto_session *s, enum im_dir dir, const struct irc_line *l,
			  const char *text)
{
	struct irc_state *st = irc_state_of(s);

	s->opaque[IM_DIR_IN] = true;
	s->opaque[IM_DIR_OUT] = true;
	if (st->encrypted_sent)
		return 0;
	st->encrypted_sent = true;
	return emit_simple(s, dir, IM_KIND_ENCRYPTED, l, l && l->prefix.len ? &l->prefix : NULL,
			   false, text);
}

/* RFC 2812's welcome ends with the full address ("Welcome to the Internet
 * Relay Network nick!user@host", as ngircd and InspIRCd send it); others
 * end with the nick alone, and the address comes with our first JOIN. */
static bool learn_welcome_address(struct proto_session *s, const struct irc_line *l,
				  struct irc_span nick)
{
	struct irc_span last;
	const uint8_t *p;
	size_t start, n;

	if (l->n_params < 2 || !l->has_trailer)
		return true;
	last = l->params[l->n_params - 1];
	p = irc_span_ptr(l, last);
	start = last.len;
	while (start > 0 && p[start - 1] != ' ')
		start--;
	n = irc_full_address_nick_len(p + start, last.len - start);
	if (!n || !irc_bytes_eq_ci(p + start, n, irc_span_ptr(l, nick), nick.len))
		return true;
	return proto_session_set_local_address(s, (const char *)p + start, last.len - start);
}

/* The network's name (RPL_ISUPPORT NETWORK=) tells which users one
 * server can reach; without it, the welcoming server's name. */
static bool learn_network(struct proto_session *s, const struct irc_line *l)
{
	static const char key[] = "NETWORK=";
	const size_t key_len = sizeof(key) - 1;
	size_t i;

	for (i = 1; i < l->n_params; i++) {
		const uint8_t *p = irc_span_ptr(l, l->params[i]);
		size_t n = l->params[i].len;

		if (!irc_param_is_middle(l, i) || n <= key_len || memcmp(p, key, key_len) != 0)
			continue;
		return proto_session_set_service(s, (const char *)p + key_len, n - key_len);
	}
	return true;
}

static int emit_invite(struct proto_session *s, const struct irc_line *l, struct irc_span who,
		       struct irc_span chan);

static int on_numeric(struct proto_session *s, const struct irc_line *l)
{
	struct irc_state *st = irc_state_of(s);
	unsigned code = irc_line_numeric(l);
	struct irc_span first = l->params[0];
	bool first_is_nick =
		irc_param_is_middle(l, 0) && irc_nick_valid(irc_span_ptr(l, first), first.len);

	switch (code) {
	case 1: /* RPL_WELCOME: the nick the server registered */
		if (first_is_nick && !learn_local(s, l, first))
			return proto_session_malformed(s, "out of memory");
		if (first_is_nick && !learn_welcome_address(s, l, first))
			return proto_session_malformed(s, "out of memory");
		if (l->prefix.len && !s->service &&
		    !proto_session_set_service(s, (const char *)irc_span_ptr(l, l->prefix),
					       l->prefix.len))
			return proto_session_malformed(s, "out of memory");
		st->registered = true;
		if (st->login_sent)
			return 0;
		st->login_sent = true;
		return emit_simple(s, IM_DIR_IN, IM_KIND_LOGIN, l,
				   l->prefix.len ? &l->prefix : NULL, false, "");
	case 5: /* RPL_ISUPPORT */
		if (!learn_network(s, l))
			return proto_session_malformed(s, "out of memory");
		return 0;
	case 670: /* RPL_STARTTLS: TLS starts right after this line */
		return emit_encrypted(s, IM_DIR_IN, l, "STARTTLS");
	case 691: /* ERR_STARTTLS: the session stays in clear text */
		return 0;
	case 341: /* RPL_INVITING: our INVITE went out */
		if (l->n_params >= 3)
			return emit_invite(s, l, l->params[1], l->params[2]);
		return 0;
	default:
		/* Picked up mid-session: every reply is addressed to us. */
		if (!s->local_id && first_is_nick) {
			if (!learn_local(s, l, first))
				return proto_session_malformed(s, "out of memory");
			st->registered = true;
		}
		return 0;
	}
}

/* ":old!user@host NICK new": the server confirmed our new nick, so others
 * now see us as new!user@host. */
static bool learn_renamed_address(struct proto_session *s, const struct irc_line *l,
				  struct irc_span old_nick, struct irc_span new_nick)
{
	const uint8_t *p = irc_span_ptr(l, l->prefix);
	struct bytebuf b;
	bool ok;

	if (irc_full_address_nick_len(p, l->prefix.len) != old_nick.len)
		return true;
	bytebuf_init(&b);
	ok = bytebuf_append(&b, irc_span_ptr(l, new_nick), new_nick.len) &&
	     bytebuf_append(&b, p + old_nick.len, l->prefix.len - old_nick.len) &&
	     proto_session_set_local_address(s, (const char *)b.data, b.len);
	bytebuf_free(&b);
	return ok;
}

static int on_nick(struct proto_session *s, enum im_dir dir, const struct irc_line *l)
{
	struct irc_state *st = irc_state_of(s);
	struct irc_span nick, new_nick = l->params[0];

	if (l->n_params < 1 || !irc_nick_valid(irc_span_ptr(l, new_nick), new_nick.len))
		return 0;
	if (dir == IM_DIR_OUT) {
		/* After registration a NICK can still be refused (432, 433):
		 * wait for the server's ":old!u@h NICK new". */
		if (!st->registered && !learn_local(s, l, new_nick))
			return proto_session_malformed(s, "out of memory");
		return 0;
	}
	if (!irc_prefix_user_nick(l, &nick) || !irc_local_is(s, irc_span_ptr(l, nick), nick.len))
		return 0;
	if (!learn_local(s, l, new_nick) || !learn_renamed_address(s, l, nick, new_nick))
		return proto_session_malformed(s, "out of memory");
	return 0;
}

/* Emit one event per comma-separated entry of a list parameter. */
static int emit_per_item(struct proto_session *s, enum im_dir dir, enum im_kind kind,
			 const struct irc_line *l, struct irc_span list, const char *text)
{
	const uint8_t *p = irc_span_ptr(l, list);
	size_t pos = 0, end;
	struct irc_span item;

	while (pos < list.len) {
		end = pos;
		while (end < list.len && p[end] != ',')
			end++;
		item = (struct irc_span){ list.off + pos, end - pos };
		if (item.len && emit_simple(s, dir, kind, l, &item, true, text) < 0)
			return -1;
		pos = end + 1;
	}
	return 0;
}

/* JOIN and PART are taken from the server's confirmation, which names
 * the user, rather than from the client's request, which may fail. */
static int on_join_part(struct proto_session *s, enum im_dir dir, const struct irc_line *l,
			enum im_kind kind)
{
	struct irc_span nick;
	char *who;
	int rc;

	if (dir != IM_DIR_IN || l->n_params < 1 || !irc_prefix_user_nick(l, &nick))
		return 0;
	if (kind == IM_KIND_JOIN && !note_own_prefix(s, l))
		return proto_session_malformed(s, "out of memory");
	who = text_utf8_or_latin1(irc_span_ptr(l, nick), nick.len);
	if (!who)
		return proto_session_malformed(s, "out of memory");
	rc = emit_per_item(s, dir, kind, l, l->params[0], who);
	free(who);
	return rc;
}

/* ":op!u@h KICK #chan victim :reason": a part of the victim's, which the
 * text tells from a PART ("victim (kicked by op: reason)"). */
static int on_kick(struct proto_session *s, enum im_dir dir, const struct irc_line *l)
{
	struct irc_span victim = l->params[1], op;
	struct bytebuf b;
	bool ok;
	int rc;

	if (dir != IM_DIR_IN || l->n_params < 2 || victim.len == 0)
		return 0;
	bytebuf_init(&b);
	ok = bytebuf_append(&b, irc_span_ptr(l, victim), victim.len) &&
	     bytebuf_append_str(&b, " (kicked");
	if (ok && irc_prefix_user_nick(l, &op))
		ok = bytebuf_append_str(&b, " by ") &&
		     bytebuf_append(&b, irc_span_ptr(l, op), op.len);
	if (ok && l->n_params > 2 && l->params[2].len)
		ok = bytebuf_append_str(&b, ": ") &&
		     bytebuf_append(&b, irc_span_ptr(l, l->params[2]), l->params[2].len);
	ok = ok && bytebuf_append_byte(&b, ')');
	rc = -1;
	if (ok) {
		char *text = text_utf8_or_latin1(b.data, b.len);

		rc = text ? emit_per_item(s, dir, IM_KIND_PART, l, l->params[0], text)
			  : proto_session_malformed(s, "out of memory");
		free(text);
	} else {
		rc = proto_session_malformed(s, "out of memory");
	}
	bytebuf_free(&b);
	return rc;
}

/* ":nick!u@h TOPIC #chan :text", the server's confirmation: a topic event
 * of the channel, its text "nick: text" as channel messages are logged. */
static int on_topic(struct proto_session *s, enum im_dir dir, const struct irc_line *l)
{
	struct irc_span nick, chan = l->params[0];
	char *text;
	int rc;

	if (dir != IM_DIR_IN || l->n_params < 2 || !irc_prefix_user_nick(l, &nick))
		return 0;
	text = irc_message_text(l, &nick, l->params[1], false);
	if (!text)
		return proto_session_malformed(s, "out of memory");
	rc = emit_simple(s, dir, IM_KIND_TOPIC, l, &chan, true, text);
	free(text);
	return rc;
}

/* An invitation to a channel: ":op!u@h INVITE us :#chan" to the invited
 * (remote: who invites), RPL_INVITING "341 us them #chan" to the one who
 * invites (remote: the invited); the text names the channel. */
static int emit_invite(struct proto_session *s, const struct irc_line *l, struct irc_span who,
		       struct irc_span chan)
{
	struct bytebuf b;
	char *text = NULL;
	int rc;

	bytebuf_init(&b);
	if (bytebuf_append_str(&b, "invite to ") &&
	    bytebuf_append(&b, irc_span_ptr(l, chan), chan.len))
		text = text_utf8_or_latin1(b.data, b.len);
	bytebuf_free(&b);
	if (!text)
		return proto_session_malformed(s, "out of memory");
	rc = emit_simple(s, IM_DIR_IN, IM_KIND_RENDEZVOUS, l, &who, false, text);
	free(text);
	return rc;
}

static int on_invite(struct proto_session *s, enum im_dir dir, const struct irc_line *l)
{
	struct irc_span op;

	if (dir != IM_DIR_IN || l->n_params < 2 || !irc_prefix_user_nick(l, &op))
		return 0;
	return emit_invite(s, l, op, l->params[1]);
}

static int on_quit(struct proto_session *s, enum im_dir dir, const struct irc_line *l)
{
	struct irc_state *st = irc_state_of(s);
	struct irc_span nick;
	char *reason;
	int rc;

	if (st->logout_sent)
		return 0;
	if (dir == IM_DIR_IN &&
	    !(irc_prefix_user_nick(l, &nick) && irc_local_is(s, irc_span_ptr(l, nick), nick.len)))
		return 0;
	st->logout_sent = true;
	reason = l->n_params ? text_utf8_or_latin1(irc_span_ptr(l, l->params[0]), l->params[0].len)
			     : text_dup("", 0);
	if (!reason)
		return proto_session_malformed(s, "out of memory");
	rc = emit_simple(s, dir, IM_KIND_LOGOUT, l, NULL, false, reason);
	free(reason);
	return rc;
}

/* "CAP * ACK :multi-prefix echo-message": whether the server will echo
 * our own messages back, which must not be logged twice. */
static void on_cap(struct proto_session *s, enum im_dir dir, const struct irc_line *l)
{
	struct irc_state *st = irc_state_of(s);
	struct irc_span caps;
	const uint8_t *p;
	size_t pos = 0, end;

	if (dir != IM_DIR_IN || l->n_params < 3 || !irc_span_is(l, l->params[1], "ACK"))
		return;
	caps = l->params[l->n_params - 1];
	p = irc_span_ptr(l, caps);
	while ((pos = irc_skip_spaces(p, caps.len, pos)) < caps.len) {
		end = irc_token_end(p, caps.len, pos);
		if (irc_bytes_is_ci(p + pos, end - pos, "echo-message"))
			st->echo_message = true;
		else if (irc_bytes_is_ci(p + pos, end - pos, "-echo-message"))
			st->echo_message = false;
		pos = end;
	}
}

static int emit_file_offer(struct proto_session *s, enum im_dir dir, const struct irc_line *l,
			   const struct irc_dcc_offer *offer, const char *remote, bool group,
			   struct irc_span text_span)
{
	struct im_event ev;
	struct bytebuf b;
	bool ok;

	proto_event_begin(s, &ev, dir, IM_KIND_FILE);
	ev.group = group;
	ev.has_file_size = offer->has_size;
	ev.file_size = offer->size;
	irc_dcc_xfer(l, offer, &ev.xfer);
	ev.has_text_span = true;
	ev.text_offset = text_span.off;
	ev.text_len = text_span.len;
	if (!event_set_str_brief(&ev.remote, remote) ||
	    !set_from_line(&ev.file_name, l, offer->name))
		return out_of_memory(s, &ev);
	bytebuf_init(&b);
	ok = bytebuf_append_str(&b, ev.file_name);
	if (ok && offer->has_size)
		ok = bytebuf_printf(&b, " (%llu bytes)", (unsigned long long)offer->size);
	ok = ok && bytebuf_terminate(&b);
	if (ok)
		ok = event_set_str_brief(&ev.text, (const char *)b.data);
	bytebuf_free(&b);
	if (!ok)
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static bool target_is_notice_sink(const uint8_t *p, size_t len)
{
	return irc_bytes_is_ci(p, len, "*") || irc_bytes_is_ci(p, len, "AUTH");
}

static int emit_message_to(struct proto_session *s, enum im_dir dir, const struct irc_line *l,
			   struct irc_span target, const struct irc_span *sender,
			   const struct irc_ctcp_info *ci, const struct irc_dcc_offer *offer)
{
	struct irc_span text = l->params[1];
	bool group = irc_target_is_channel(irc_span_ptr(l, target), target.len);
	const struct irc_span *remote_span = dir == IM_DIR_IN && !group ? sender : &target;
	struct im_event ev;
	char *remote;
	int rc;

	if (dir == IM_DIR_IN && !group && !s->local_id &&
	    irc_nick_valid(irc_span_ptr(l, target), target.len)) {
		if (!learn_local(s, l, target))
			return proto_session_malformed(s, "out of memory");
		irc_state_of(s)->registered = true;
	}
	/* A DCC SEND offer is a file event only, not also a message. */
	if (ci->kind == IRC_CTCP_DCC_SEND && offer) {
		remote = text_utf8_or_latin1(irc_span_ptr(l, *remote_span), remote_span->len);
		if (!remote)
			return proto_session_malformed(s, "out of memory");
		rc = emit_file_offer(s, dir, l, offer, remote, group, text);
		free(remote);
		return rc;
	}
	proto_event_begin(s, &ev, dir,
			  ci->kind == IRC_CTCP_DCC_CHAT ? IM_KIND_RENDEZVOUS : IM_KIND_MESSAGE);
	ev.group = group;
	ev.has_text_span = true;
	ev.text_offset = text.off;
	ev.text_len = text.len;
	if (!set_from_line(&ev.remote, l, *remote_span))
		return out_of_memory(s, &ev);
	ev.text = irc_message_text(l, dir == IM_DIR_IN && group && sender->len ? sender : NULL,
				   text,
				   ci->kind != IRC_CTCP_NONE);
	if (!ev.text)
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static int on_message(struct proto_session *s, enum im_dir dir, const struct irc_line *l,
		      bool notice)
{
	struct irc_state *st = irc_state_of(s);
	struct irc_span sender = { 0, 0 }, targets = l->params[0], target;
	struct irc_ctcp_info ci;
	struct irc_dcc_offer offer;
	bool have_offer = false;
	const uint8_t *p;
	size_t pos, end;

	if (l->n_params < 2)
		return 0;
	if (dir == IM_DIR_IN) {
		/* A server's prefix (no "!" nor "@") makes a line the server's
		 * notice; a PRIVMSG with no prefix at all (a bouncer's replay, a
		 * proxy that strips it) is still a message, its sender unknown. */
		if (!irc_prefix_user_nick(l, &sender) && (notice || l->prefix.len))
			return 0;
		if (st->echo_message && irc_local_is(s, irc_span_ptr(l, sender), sender.len))
			return note_own_prefix(s, l) ? 0 /* already logged on its way out */
						     : proto_session_malformed(s, "out of memory");
	}
	irc_ctcp_classify(l, l->params[1], &ci);
	if (ci.kind != IRC_CTCP_NONE && (notice || ci.kind == IRC_CTCP_OTHER))
		return 0; /* CTCP replies and queries are client chatter */
	if (ci.kind == IRC_CTCP_DCC_SEND)
		have_offer = irc_dcc_send_parse(l, ci.body, &offer);
	p = irc_span_ptr(l, targets);
	for (pos = 0; pos < targets.len; pos = end + 1) {
		end = pos;
		while (end < targets.len && p[end] != ',')
			end++;
		target = (struct irc_span){ targets.off + pos, end - pos };
		if (target.len == 0 || target_is_notice_sink(irc_span_ptr(l, target), target.len))
			continue;
		if (emit_message_to(s, dir, l, target, dir == IM_DIR_IN ? &sender : NULL, &ci,
				    have_offer ? &offer : NULL) < 0)
			return -1;
	}
	return 0;
}

int irc_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct irc_state *st = irc_state_of(s);
	struct irc_line l;
	const char *why = "malformed IRC line";
	enum irc_parse r;

	if (!st)
		return proto_session_malformed(s, "IRC session without state");
	/* A client that went to TLS without STARTTLS we saw (or on 6697). */
	if (irc_is_tls_record(pdu, len))
		return emit_encrypted(s, dir, NULL, "TLS");
	r = irc_parse_line(&l, pdu, irc_line_content_len(pdu, len), &why);
	if (r == IRC_PARSE_EMPTY)
		return 0;
	if (r == IRC_PARSE_BAD)
		return proto_session_malformed(s, why);
	if (irc_line_is_numeric(&l))
		return dir == IM_DIR_IN ? on_numeric(s, &l) : 0;
	if (irc_span_is(&l, l.command, "PRIVMSG"))
		return on_message(s, dir, &l, false);
	if (irc_span_is(&l, l.command, "NOTICE"))
		return on_message(s, dir, &l, true);
	if (irc_span_is(&l, l.command, "NICK"))
		return on_nick(s, dir, &l);
	if (irc_span_is(&l, l.command, "JOIN"))
		return on_join_part(s, dir, &l, IM_KIND_JOIN);
	if (irc_span_is(&l, l.command, "PART"))
		return on_join_part(s, dir, &l, IM_KIND_PART);
	if (irc_span_is(&l, l.command, "KICK"))
		return on_kick(s, dir, &l);
	if (irc_span_is(&l, l.command, "TOPIC"))
		return on_topic(s, dir, &l);
	if (irc_span_is(&l, l.command, "INVITE"))
		return on_invite(s, dir, &l);
	if (irc_span_is(&l, l.command, "QUIT"))
		return on_quit(s, dir, &l);
	if (irc_span_is(&l, l.command, "CAP"))
		on_cap(s, dir, &l);
	return 0;
}
