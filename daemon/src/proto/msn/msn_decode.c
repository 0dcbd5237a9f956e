/* MSNP commands to events: logins, joins and leaves, presence, and the
 * MSG bodies (text, typing, file and webcam invitations, MSNP2P offers). */
#include <stdlib.h>
#include <string.h>

#include "proto/msn/msn_internal.h"
#include "util/text.h"

static int on_usr(struct proto_session *s, enum im_dir dir, const struct msn_line *l)
{
	struct msn_state *st = msn_state_of(s);
	struct im_event ev;

	if (dir == IM_DIR_OUT) {
		struct span mech = msn_arg(l, 1);

		if ((msn_span_is(mech, "TWN") || msn_span_is(mech, "SSO") ||
		     msn_span_is(mech, "MD5")) &&
		    msn_span_is(msn_arg(l, 2), "I") && l->n_args >= 4) {
			st->role = MSN_ROLE_NS;
			return msn_set_local(s, msn_arg(l, 3))
				       ? 0
				       : proto_session_malformed(s, "out of memory");
		}
		if (msn_span_has(mech, '@')) {
			st->role = MSN_ROLE_SB;
			return msn_set_local(s, mech) ? 0
						      : proto_session_malformed(s, "out of memory");
		}
		return 0;
	}
	if (!msn_span_is(msn_arg(l, 1), "OK") || l->n_args < 3)
		return 0;
	if (!s->local_id && !msn_set_local(s, msn_arg(l, 2)))
		return proto_session_malformed(s, "out of memory");
	if (st->role != MSN_ROLE_NS || st->logged_in)
		return 0;
	st->logged_in = true;
	proto_event_begin(s, &ev, dir, IM_KIND_LOGIN);
	proto_event_emit(s, &ev);
	return 0;
}

static int on_joi(struct proto_session *s, enum im_dir dir, const struct msn_line *l)
{
	struct span who = msn_user_id(msn_arg(l, 0));
	int added;

	if (dir != IM_DIR_IN || who.len == 0)
		return 0;
	msn_state_of(s)->role = MSN_ROLE_SB;
	added = msn_peer_add(s, who);
	if (added < 0)
		return proto_session_malformed(s, "out of memory or too many participants");
	if (added == 0)
		return 0;
	return msn_emit_about(s, dir, IM_KIND_JOIN, who, "");
}

static int on_bye(struct proto_session *s, enum im_dir dir, const struct msn_line *l)
{
	struct msn_state *st = msn_state_of(s);
	struct span who = msn_user_id(msn_arg(l, 0));
	int rc;

	if (dir != IM_DIR_IN || who.len == 0 || !msn_peer_find(st, who))
		return 0;
	/* The event names the group (or the peer) before the peer is gone. */
	rc = msn_emit_about(s, dir, IM_KIND_PART, who, "");
	msn_peer_remove(st, who);
	return rc;
}

/* NLN/ILN/FLN: a contact's presence. */
static int on_presence_in(struct proto_session *s, const struct msn_line *l)
{
	struct span status, who;
	struct im_event ev;

	if (msn_cmd_is(l, "FLN")) {
		who = msn_arg(l, 0);
		status.p = (const uint8_t *)"FLN";
		status.len = 3;
	} else if (msn_cmd_is(l, "ILN")) {
		status = msn_arg(l, 1);
		who = msn_arg(l, 2);
	} else {
		status = msn_arg(l, 0);
		who = msn_arg(l, 1);
	}
	who = msn_user_id(who);
	if (who.len == 0 || status.len == 0)
		return proto_session_malformed(s, "presence line without a user");
	proto_event_begin(s, &ev, IM_DIR_IN, IM_KIND_PRESENCE);
	if (!event_set_text_brief(&ev.remote, who.p, who.len) || !event_set_text_brief(&ev.text, status.p, status.len))
		return msn_out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static int emit_simple(struct proto_session *s, enum im_dir dir, enum im_kind kind,
		       struct span remote, struct span text)
{
	struct im_event ev;

	proto_event_begin(s, &ev, dir, kind);
	if (!event_set_text_brief(&ev.remote, remote.p, remote.len) || !event_set_text_brief(&ev.text, text.p, text.len))
		return msn_out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

struct msg_ctx {
	enum im_dir dir;
	struct span sender; /* incoming: the user id of the command line */
	const struct msn_peer *sender_peer; /* the participant it names, if any */
	struct msn_mime mime;
	size_t payload_off; /* of the MIME message in the PDU */
	struct span content_type;
};

/* Is the kept format already these bytes (a client sends the same one
 * with every message)? Bytes equal to a kept, converted string are valid
 * UTF-8, so converting them again would give the same string. */
static bool format_is(const char *kept, size_t kept_len, struct span fmt)
{
	return kept && kept_len == fmt.len && memcmp(kept, fmt.p, fmt.len) == 0;
}

/* Most clients send one format: the sessions share it. */
static bool set_format(struct proto_session *s, enum im_dir dir, struct span fmt)
{
	struct msn_state *st = msn_state_of(s);
	char *text = text_utf8_or_latin1(fmt.p, fmt.len);
	size_t len = text ? strlen(text) : 0;
	const char *shared = text ? proto_session_share(s, text, len) : NULL;

	free(text);
	if (!shared)
		return false;
	proto_session_unshare(s, st->format[dir]);
	st->format[dir] = shared;
	st->format_len[dir] = len;
	return true;
}

/* The remote of an incoming message: the sender as text. A participant
 * whose kept id is these very bytes (valid UTF-8, then, so converting
 * them gives the same) is copied without converting them again. */
static bool set_sender(const struct msn_peer *p, char **field, struct span sender)
{
	if (p && p->id_len == sender.len && memcmp(p->id, sender.p, sender.len) == 0)
		return event_set_brief(field, p->id, p->id_len);
	return event_set_text_brief(field, sender.p, sender.len);
}

static int emit_text(struct proto_session *s, const struct msg_ctx *m)
{
	struct msn_state *st = msn_state_of(s);
	struct im_event ev;
	char *body;
	bool ok;

	if (m->mime.has_format && !format_is(st->format[m->dir], st->format_len[m->dir], m->mime.format) &&
	    !set_format(s, m->dir, m->mime.format))
		return proto_session_malformed(s, "out of memory");
	body = msn_decode_body(m->content_type, m->mime.body);
	if (!body)
		return proto_session_malformed(s, "out of memory");
	proto_event_begin(s, &ev, m->dir, IM_KIND_MESSAGE);
	ev.content_type = "text/plain";
	ev.has_text_span = true;
	ev.text_offset = m->payload_off + m->mime.body_off;
	ev.text_len = m->mime.body.len;
	ev.group = st->group_id != NULL;
	if (m->dir == IM_DIR_IN && !ev.group) {
		ok = set_sender(m->sender_peer, &ev.remote, m->sender);
		event_take(&ev.text, body);
		body = NULL;
	} else if (m->dir == IM_DIR_IN) {
		struct bytebuf b;

		bytebuf_init(&b);
		ok = bytebuf_append(&b, m->sender.p, m->sender.len) &&
		     bytebuf_append_str(&b, ": ") && bytebuf_append_str(&b, body) &&
		     bytebuf_terminate(&b);
		ok = ok && event_set_str_brief(&ev.remote, st->group_id) &&
		     event_set_str_brief(&ev.text, (const char *)b.data);
		bytebuf_free(&b);
	} else {
		ok = event_set_str_brief(&ev.remote, msn_conversation_remote(st));
		event_take(&ev.text, body);
		body = NULL;
	}
	free(body);
	if (!ok)
		return msn_out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static int emit_typing(struct proto_session *s, const struct msg_ctx *m)
{
	struct msn_state *st = msn_state_of(s);
	struct span typist;
	struct im_event ev;
	bool ok;

	if (!m->mime.has_typing_user)
		return 0; /* other control messages carry nothing to log */
	typist = msn_user_id(m->mime.typing_user);
	proto_event_begin(s, &ev, m->dir, IM_KIND_TYPING);
	ev.group = st->group_id != NULL;
	if (m->dir == IM_DIR_IN && !ev.group)
		ok = set_sender(m->sender_peer, &ev.remote, m->sender);
	else if (m->dir == IM_DIR_IN)
		ok = event_set_str_brief(&ev.remote, st->group_id) && event_set_text_brief(&ev.text, typist.p, typist.len);
	else
		ok = event_set_str_brief(&ev.remote, msn_conversation_remote(st));
	if (!ok)
		return msn_out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static int emit_file(struct proto_session *s, enum im_dir dir, const char *remote, bool group,
		     const char *name, bool has_size, uint64_t size, const struct im_xfer *x)
{
	struct im_event ev;
	struct bytebuf b;
	bool ok;

	proto_event_begin(s, &ev, dir, IM_KIND_FILE);
	if (x)
		ev.xfer = *x;
	ev.group = group;
	ev.has_file_size = has_size;
	ev.file_size = size;
	bytebuf_init(&b);
	ok = bytebuf_append_str(&b, name);
	if (ok && has_size)
		ok = bytebuf_printf(&b, " (%llu bytes)", (unsigned long long)size);
	ok = ok && bytebuf_terminate(&b) && event_set_str_brief(&ev.text, (const char *)b.data) &&
	     event_set_str_brief(&ev.file_name, name) && event_set_str_brief(&ev.remote, remote);
	bytebuf_free(&b);
	if (!ok)
		return msn_out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

/* The peer of an offer: the sender when incoming, else the conversation. */
static int offer_remote(struct proto_session *s, const struct msg_ctx *m, char **remote,
			bool *group)
{
	struct msn_state *st = msn_state_of(s);

	*group = false;
	if (m->dir == IM_DIR_IN)
		*remote = text_utf8_or_latin1(m->sender.p, m->sender.len);
	else {
		*group = st->group_id != NULL;
		*remote = text_dup(msn_conversation_remote(st),
				   strlen(msn_conversation_remote(st)));
	}
	return *remote ? 0 : -1;
}

/* text/x-msmsgsinvite: the pre-P2P invitation, "Name: value" lines. */
static int emit_invite(struct proto_session *s, const struct msg_ctx *m)
{
	struct span cmd, file, size_v;
	char *name, *remote;
	bool group, has_size;
	int rc;

	if (!msn_mime_header(m->mime.body, "Invitation-Command", &cmd) ||
	    !msn_span_is_ci(cmd, "INVITE") ||
	    !msn_mime_header(m->mime.body, "Application-File", &file))
		return 0; /* ACCEPT, CANCEL and other applications */
	has_size = msn_mime_header(m->mime.body, "Application-FileSize", &size_v) &&
		   msn_span_digits(size_v, 20);
	name = text_utf8_or_latin1(file.p, file.len);
	if (!name || offer_remote(s, m, &remote, &group) < 0) {
		free(name);
		return proto_session_malformed(s, "out of memory");
	}
	rc = emit_file(s, m->dir, remote, group, name, has_size,
		       has_size ? msn_span_number(size_v) : 0, NULL);
	free(name);
	free(remote);
	return rc;
}

static int emit_slp(struct proto_session *s, const struct msg_ctx *m, const uint8_t *p, size_t n)
{
	struct msn_slp_offer o;
	struct im_event ev;
	char *remote;
	const char *why = "bad MSNSLP";
	bool group;
	int rc = 0;

	if (msn_slp_parse(p, n, &o, &why) < 0)
		return proto_session_malformed(s, why);
	if (o.kind == MSN_SLP_OTHER) {
		msn_slp_offer_free(&o);
		return 0;
	}
	if (offer_remote(s, m, &remote, &group) < 0) {
		msn_slp_offer_free(&o);
		return proto_session_malformed(s, "out of memory");
	}
	/* P2P goes to one user even in a group: the SLP header names whom. */
	if (m->dir == IM_DIR_OUT && o.to && o.to[0]) {
		free(remote);
		remote = text_dup(o.to, strlen(o.to));
		group = false;
		if (!remote) {
			msn_slp_offer_free(&o);
			return proto_session_malformed(s, "out of memory");
		}
	}
	if (o.kind == MSN_SLP_FILE) {
		struct im_xfer x;

		msn_slp_xfer(&o, &x);
		rc = emit_file(s, m->dir, remote, group, o.file_name, o.has_file_size, o.file_size,
			       &x);
	} else {
		proto_event_begin(s, &ev, m->dir, IM_KIND_WEBCAM);
		ev.group = group;
		if (!event_set_str_brief(&ev.remote, remote))
			rc = msn_out_of_memory(s, &ev);
		else
			proto_event_emit(s, &ev);
	}
	free(remote);
	msn_slp_offer_free(&o);
	return rc;
}

/* P2P chunks of session 0 carry MSNSLP, possibly over several chunks. */
static int on_p2p(struct proto_session *s, const struct msg_ctx *m)
{
	struct msn_slp_buf *sb = &msn_state_of(s)->slp[m->dir];
	struct msn_p2p_chunk c;

	if (msn_p2p_parse_chunk(m->mime.body.p, m->mime.body.len, &c) < 0)
		return proto_session_malformed(s, "P2P chunk shorter than its header says");
	if (c.session_id != 0) {
		msn_p2p_file_data(s, m->dir, &c); /* file bytes, or webcam frames (ignored) */
		return 0;
	}
	if (c.size == 0)
		return 0;
	if (c.offset == 0 && c.size == c.total) {
		sb->active = false;
		return emit_slp(s, m, c.data, c.size);
	}
	if (c.offset == 0) {
		if (c.total > MSN_MAX_SLP)
			return proto_session_malformed(s, "MSNSLP message too large");
		bytebuf_clear(&sb->buf);
		sb->id = c.id;
		sb->total = c.total;
		sb->active = true;
	} else if (!sb->active || c.id != sb->id || c.total != sb->total ||
		   c.offset != sb->buf.len) {
		sb->active = false;
		return proto_session_malformed(s, "P2P chunk out of sequence");
	}
	if (!bytebuf_append(&sb->buf, c.data, c.size)) {
		sb->active = false;
		return proto_session_malformed(s, "out of memory");
	}
	if (sb->buf.len < sb->total)
		return 0;
	sb->active = false;
	return emit_slp(s, m, sb->buf.data, sb->buf.len);
}

static int on_msg(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len,
		  const struct msn_line *l)
{
	struct msn_state *st = msn_state_of(s);
	struct msg_ctx m;
	struct msn_peer *peer;
	struct span type;

	memset(&m, 0, sizeof(m));
	m.dir = dir;
	m.payload_off = l->line_len;
	msn_mime_split(pdu + l->line_len, len - l->line_len, &m.mime);
	if (!m.mime.has_content_type)
		return proto_session_malformed(s, "MSG without Content-Type");
	m.content_type = m.mime.content_type;
	type = msn_media_type(m.content_type);
	if (dir == IM_DIR_IN) {
		if (l->n_args < 3)
			return proto_session_malformed(s, "incoming MSG without a sender");
		m.sender = msn_user_id(msn_arg(l, 0));
		/* The notification server's own messages (profile, mail) are not chat. */
		if (st->role == MSN_ROLE_NS || msn_span_is(m.sender, "Hotmail"))
			return 0;
		if (msn_peer_add_find(s, m.sender, &peer) < 0)
			return proto_session_malformed(s, "out of memory or too many participants");
		m.sender_peer = peer;
	}
	if (msn_span_is_ci(type, "text/plain"))
		return emit_text(s, &m);
	if (msn_span_is_ci(type, "text/x-msmsgscontrol"))
		return emit_typing(s, &m);
	if (msn_span_is_ci(type, "text/x-msmsgsinvite"))
		return emit_invite(s, &m);
	if (msn_span_is_ci(type, "application/x-msnmsgrp2p"))
		return on_p2p(s, &m);
	return 0; /* emoticons, ink, nudges (datacast), profile... */
}

/* A client's transaction id: 1 to 10 digits (msn_span_digits and
 * msn_span_number in one pass). */
static void note_trid(struct msn_state *st, struct span a)
{
	unsigned long v = 0;
	size_t i;

	if (a.len == 0 || a.len > 10)
		return;
	for (i = 0; i < a.len; i++) {
		if (a.p[i] < '0' || a.p[i] > '9')
			return;
		v = v * 10 + (unsigned long)(a.p[i] - '0');
	}
	st->trid = v;
}

int msn_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct msn_state *st = msn_state_of(s);
	struct msn_line l;
	size_t payload = 0;
	bool has_payload;

	if (msn_scan_line(pdu, len, &l) != MSN_SCAN_OK)
		return proto_session_malformed(s, "bad command line");
	has_payload = msn_line_payload(&l, &payload);
	if (l.line_len + (has_payload ? payload : 0) != len)
		return proto_session_malformed(s, "PDU length does not match its command");
	if (dir == IM_DIR_OUT)
		note_trid(st, msn_arg(&l, 0));

	if (msn_cmd_is(&l, "VER") || msn_cmd_is(&l, "CVR")) {
		st->role = MSN_ROLE_NS;
		return 0;
	}
	if (msn_cmd_is(&l, "USR"))
		return on_usr(s, dir, &l);
	if (msn_cmd_is(&l, "ANS") && dir == IM_DIR_OUT) {
		st->role = MSN_ROLE_SB;
		if (l.n_args >= 4 && !msn_set_str_span(&st->sb_session, msn_arg(&l, 3)))
			return proto_session_malformed(s, "out of memory");
		return msn_set_local(s, msn_arg(&l, 1))
			       ? 0
			       : proto_session_malformed(s, "out of memory");
	}
	if (msn_cmd_is(&l, "CAL")) {
		st->role = MSN_ROLE_SB;
		if (dir == IM_DIR_OUT && l.n_args >= 2 && !st->called &&
		    !msn_set_str_span(&st->called, msn_user_id(msn_arg(&l, 1))))
			return proto_session_malformed(s, "out of memory");
		if (dir == IM_DIR_IN && msn_span_is(msn_arg(&l, 1), "RINGING") && l.n_args >= 3 &&
		    !st->sb_session && !msn_set_str_span(&st->sb_session, msn_arg(&l, 2)))
			return proto_session_malformed(s, "out of memory");
		return 0;
	}
	if (msn_cmd_is(&l, "JOI"))
		return on_joi(s, dir, &l);
	if (msn_cmd_is(&l, "IRO") && dir == IM_DIR_IN) {
		st->role = MSN_ROLE_SB;
		if (msn_peer_add(s, msn_arg(&l, 3)) < 0)
			return proto_session_malformed(s, "out of memory or too many participants");
		return 0;
	}
	if (msn_cmd_is(&l, "BYE"))
		return on_bye(s, dir, &l);
	if (msn_cmd_is(&l, "MSG"))
		return has_payload ? on_msg(s, dir, pdu, len, &l)
				   : proto_session_malformed(s, "MSG without a length");
	if (dir == IM_DIR_IN &&
	    (msn_cmd_is(&l, "NLN") || msn_cmd_is(&l, "ILN") || msn_cmd_is(&l, "FLN")))
		return on_presence_in(s, &l);
	if (dir == IM_DIR_OUT && msn_cmd_is(&l, "CHG") && l.n_args >= 2)
		return emit_simple(s, dir, IM_KIND_PRESENCE, msn_no_span(), msn_arg(&l, 1));
	if (dir == IM_DIR_IN && msn_cmd_is(&l, "RNG") && l.n_args >= 5)
		/* A contact asks us into a switchboard: "RNG id addr CKI cookie user name". */
		return emit_simple(s, dir, IM_KIND_RENDEZVOUS, msn_user_id(msn_arg(&l, 4)),
				   msn_no_span());
	if (dir == IM_DIR_OUT && msn_cmd_is(&l, "OUT") && st->role == MSN_ROLE_NS)
		return emit_simple(s, dir, IM_KIND_LOGOUT, msn_no_span(), msn_no_span());
	return 0;
}
