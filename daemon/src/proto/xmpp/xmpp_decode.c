/* XMPP stanzas to events: messages (chat, groupchat, chat states, file
 * offers), presence, the iq results that tell who we are, the stream
 * header and its end. Conventions: xmpp.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/xmpp/xmpp_internal.h"
#include "util/text.h"

size_t xmpp_bare_len(const char *jid)
{
	const char *slash = strchr(jid, '/');

	return slash ? (size_t)(slash - jid) : strlen(jid);
}

static void learn_local(struct proto_session *s, const char *jid)
{
	if (!s->local_id && jid && jid[0])
		proto_session_set_local(s, jid, strlen(jid));
}

static int emit_simple(struct proto_session *s, enum im_dir dir, enum im_kind kind,
		       const char *remote, const char *text)
{
	struct im_event ev;

	proto_event_begin(s, &ev, dir, kind);
	if ((remote && !event_set_str_brief(&ev.remote, remote)) ||
	    (text && !event_set_str_brief(&ev.text, text))) {
		event_free(&ev);
		return -1;
	}
	proto_event_emit(s, &ev);
	return 0;
}

/* Where a stanza's peer is kept while it is decoded: a JID without a
 * reference that fits (nearly every one) is copied into room, on the
 * stack, rather than to the heap for every stanza. */
#define PEER_ROOM 256u

struct peer {
	char room[PEER_ROOM];
};

/* The peer of a stanza: "to" of what we send, "from" of what we receive,
 * decoded ("" when absent): in p->room or a heap copy; NULL with *failed
 * on allocation failure. Give it back with peer_free. */
static char *stanza_peer(const struct xtree *t, int root, enum im_dir dir, struct peer *p,
			 bool *failed)
{
	const struct xattr *a = xmpp_node_attr(t, root, dir == IM_DIR_OUT ? "to" : "from");
	size_t n = a ? a->value.len : 0;

	if (a && (a->refs || n >= sizeof(p->room)))
		return xmpp_value_text(t, a, failed);
	if (n)
		memcpy(p->room, t->buf + a->value.off, n);
	p->room[n] = '\0';
	return p->room;
}

static void peer_free(struct peer *p, char *peer)
{
	if (peer != p->room)
		free(peer);
}

static void learn_local_from_stanza(struct proto_session *s, const struct xtree *t, int root,
				    enum im_dir dir)
{
	bool failed = false;
	char *me;

	if (s->local_id)
		return;
	me = xmpp_attr_text(t, root, dir == IM_DIR_OUT ? "from" : "to", &failed);
	learn_local(s, me);
	free(me);
}

/* The last path segment of a URL, without query or fragment. */
static char *url_file_name(const char *url)
{
	size_t end = strcspn(url, "?#"), start = end;

	while (start > 0 && url[start - 1] != '/')
		start--;
	return text_dup(url + start, end - start);
}

static int parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!s || !s[0])
		return -1;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* A file event: text "name (size bytes)" as IMSpector logs, or the name
 * (or URL) alone when the size is unknown. */
static int emit_file(struct proto_session *s, enum im_dir dir, const char *remote,
		     const char *name, const char *size, const char *url, const struct im_xfer *x)
{
	struct im_event ev;
	uint64_t n = 0;
	bool ok = true;
	char *derived = NULL;

	if ((!name || !name[0]) && url) {
		derived = url_file_name(url);
		if (!derived)
			return -1;
		name = derived;
	}
	proto_event_begin(s, &ev, dir, IM_KIND_FILE);
	if (x)
		ev.xfer = *x;
	ok = event_set_str_brief(&ev.remote, remote ? remote : "");
	if (ok && name && name[0])
		ok = event_set_str_brief(&ev.file_name, name);
	if (ok && parse_size(size, &n) == 0) {
		ev.has_file_size = true;
		ev.file_size = n;
	}
	if (ok) {
		struct bytebuf b;

		bytebuf_init(&b);
		if (ev.has_file_size)
			ok = bytebuf_printf(&b, "%s (%llu bytes)", name ? name : "",
					    (unsigned long long)n);
		else
			ok = bytebuf_append_str(&b, url ? url : name ? name : "");
		ok = ok && bytebuf_terminate(&b) && event_set_str_brief(&ev.text, (char *)b.data);
		bytebuf_free(&b);
	}
	free(derived);
	if (!ok) {
		event_free(&ev);
		return -1;
	}
	proto_event_emit(s, &ev);
	return 0;
}

/* <x xmlns='jabber:x:oob'> or <query xmlns='jabber:iq:oob'>: url, desc. */
static int decode_oob(struct proto_session *s, enum im_dir dir, const struct xtree *t, int oob,
		      const char *remote)
{
	char *url = xmpp_node_text_trimmed(t, xmpp_child(t, oob, "url", NULL));
	int rc;

	if (!url)
		return -1;
	rc = url[0] ? emit_file(s, dir, remote, NULL, NULL, url, NULL) : 0;
	free(url);
	return rc;
}

static int set_message_text(struct im_event *ev, const char *nick, const char *body)
{
	struct bytebuf b;
	bool ok;

	if (!nick)
		return event_set_str_brief(&ev->text, body) ? 0 : -1;
	bytebuf_init(&b);
	ok = bytebuf_printf(&b, "%s: %s", nick, body) && bytebuf_terminate(&b) &&
	     event_set_str_brief(&ev->text, (char *)b.data);
	bytebuf_free(&b);
	return ok ? 0 : -1;
}

int xmpp_message_body(const struct xtree *t, int root)
{
	int c, first = -1;

	for (c = t->nodes[root].first_child; c >= 0; c = t->nodes[c].next) {
		if (!xmpp_node_is(t, c, "body"))
			continue;
		if (first < 0)
			first = c;
		if (!xmpp_node_attr(t, c, "xml:lang"))
			return c;
	}
	return first;
}

/* The children of a message its parts are taken from, found in one pass
 * over them rather than one each: each the first child of its name and
 * namespace (as xmpp_child finds it), -1 when there is none. */
struct message_parts {
	int body; /* xmpp_message_body's */
	int x_event, subject, html, oob;
};

static void message_parts(const struct xtree *t, int root, struct message_parts *m)
{
	int c;

	*m = (struct message_parts){ -1, -1, -1, -1, -1 };
	m->body = xmpp_message_body(t, root);
	for (c = t->nodes[root].first_child; c >= 0; c = t->nodes[c].next) {
		if (xmpp_node_is(t, c, "x")) {
			if (m->x_event < 0 && xmpp_node_ns_is(t, c, NS_X_EVENT))
				m->x_event = c;
			if (m->oob < 0 && xmpp_node_ns_is(t, c, NS_OOB_X))
				m->oob = c;
		} else if (xmpp_node_is(t, c, "subject")) {
			if (m->subject < 0)
				m->subject = c;
		} else if (xmpp_node_is(t, c, "html")) {
			if (m->html < 0 && xmpp_node_ns_is(t, c, NS_XHTML_IM))
				m->html = c;
		}
	}
}

/* <message type='error'>: the condition's element name, or "error". */
static int emit_message_error(struct proto_session *s, enum im_dir dir, const struct xtree *t,
			      int root, const char *peer)
{
	int err = xmpp_child(t, root, "error", NULL);
	int cond = err >= 0 ? t->nodes[err].first_child : -1;
	char word[64];
	struct xml_span name = cond >= 0 ? t->nodes[cond].name : (struct xml_span){ 0, 0 };

	snprintf(word, sizeof(word), "%.*s", (int)(name.len < 63 ? name.len : 63),
		 (const char *)t->buf + name.off);
	return emit_simple(s, dir, IM_KIND_ERROR, peer, word[0] ? word : "error");
}

/* XEP-0085 chat states: only the two that mean someone is typing. */
static int emit_chat_states(struct proto_session *s, enum im_dir dir, const struct xtree *t,
			    int root, const char *peer, bool group)
{
	struct im_event ev;
	int c;

	for (c = t->nodes[root].first_child; c >= 0; c = t->nodes[c].next) {
		if (!xmpp_node_ns_is(t, c, NS_CHATSTATES))
			continue;
		if (xmpp_node_is(t, c, "composing") || xmpp_node_is(t, c, "paused")) {
			struct xml_span n = t->nodes[c].name;
			char word[16];

			snprintf(word, sizeof(word), "%.*s", (int)n.len, (const char *)t->buf + n.off);
			proto_event_begin(s, &ev, dir, IM_KIND_TYPING);
			ev.group = group;
			if (!event_set_str_brief(&ev.remote, peer) || !event_set_str_brief(&ev.text, word)) {
				event_free(&ev);
				return -1;
			}
			proto_event_emit(s, &ev);
		}
	}
	return 0;
}

static int emit_word(struct proto_session *s, enum im_dir dir, enum im_kind kind,
		     const char *peer, bool group, const char *text)
{
	struct im_event ev;

	proto_event_begin(s, &ev, dir, kind);
	ev.group = group;
	if (!event_set_str_brief(&ev.remote, peer) || !event_set_str_brief(&ev.text, text)) {
		event_free(&ev);
		return -1;
	}
	proto_event_emit(s, &ev);
	return 0;
}

/* XEP-0022 message events, which older clients (Psi, Gajim before 0.12,
 * libpurple's early XMPP) send for typing: a message without a body whose
 * <x xmlns='jabber:x:event'> holds <composing/> (typing) or only an <id/>
 * (stopped). With a body, the element asks for such events: no typing. */
static int emit_x_event(struct proto_session *s, enum im_dir dir, const struct xtree *t,
			const struct message_parts *m, const char *peer, bool group)
{
	int x = m->x_event;

	if (x < 0 || m->body >= 0 || xmpp_child(t, x, "id", NULL) < 0)
		return 0;
	return emit_word(s, dir, IM_KIND_TYPING, peer, group,
			 xmpp_child(t, x, "composing", NULL) >= 0 ? "composing" : "paused");
}

/* A <subject> without a body: a room's new topic (XEP-0045), or a chat
 * thread's; "nick: subject" from a room occupant, as messages are logged. */
static int emit_subject(struct proto_session *s, enum im_dir dir, const struct xtree *t,
			const struct message_parts *m, const char *peer, const char *nick,
			bool group)
{
	int subj = m->subject;
	struct im_event ev;
	char *text;
	int rc = 0;

	if (subj < 0 || m->body >= 0)
		return 0;
	text = xmpp_node_text(t, subj);
	if (!text)
		return -1;
	proto_event_begin(s, &ev, dir, IM_KIND_TOPIC);
	ev.group = group;
	if (!event_set_str_brief(&ev.remote, peer) || set_message_text(&ev, nick, text) < 0) {
		event_free(&ev);
		rc = -1;
	} else {
		proto_event_emit(s, &ev);
	}
	free(text);
	return rc;
}

/* The message itself: its <body>, else an XHTML-IM body as text/html;
 * nothing when it has neither (a chat state alone, a receipt). */
static int emit_message_text(struct proto_session *s, enum im_dir dir, const struct xtree *t,
			     const struct message_parts *m, const char *peer, const char *nick,
			     bool group)
{
	int body = m->body, html = m->html;
	const char *content_type = "text/plain";
	char *text = NULL;
	struct im_event ev;
	int rc = 0;

	if (body >= 0) {
		text = xmpp_node_text(t, body);
	} else if (html >= 0) {
		int hb = xmpp_child(t, html, "body", NS_XHTML);

		if (hb >= 0) {
			const struct xnode *n = &t->nodes[hb];

			text = text_utf8_or_latin1(t->buf + n->content_start,
						   n->content_end - n->content_start);
			content_type = "text/html";
		}
	}
	if (!(body >= 0 || (html >= 0 && text)))
		return 0;
	if (!text)
		return -1;
	proto_event_begin(s, &ev, dir, IM_KIND_MESSAGE);
	ev.group = group;
	ev.content_type = content_type;
	if (body >= 0 && !nick && t->nodes[body].text_raw_exact) {
		ev.has_text_span = true;
		ev.text_offset = t->nodes[body].content_start;
		ev.text_len = t->nodes[body].content_end - t->nodes[body].content_start;
	}
	if (!nick) {
		event_take(&ev.text, text); /* the body as decoded: no copy */
		text = NULL;
	}
	if (!event_set_str_brief(&ev.remote, peer) || (nick && set_message_text(&ev, nick, text) < 0)) {
		event_free(&ev);
		rc = -1;
	} else {
		proto_event_emit(s, &ev);
	}
	free(text);
	return rc;
}

static int decode_message(struct proto_session *s, enum im_dir dir, const struct xtree *t,
			  int root)
{
	bool failed = false;
	/* type found once and compared in place: a copy of it for every
	 * message was one of the decoder's allocations per stanza */
	const struct xattr *type = xmpp_node_attr(t, root, "type");
	bool group = xmpp_value_is(t, type, "groupchat", &failed);
	bool error = xmpp_value_is(t, type, "error", &failed);
	struct peer room;
	char *peer = stanza_peer(t, root, dir, &room, &failed);
	char *nick = NULL;
	struct message_parts m;
	int rc = 0;

	if (failed)
		goto fail;
	learn_local_from_stanza(s, t, root, dir);
	if (group) {
		const char *slash = strchr(peer, '/');

		if (dir == IM_DIR_IN && slash) {
			nick = text_dup(slash + 1, strlen(slash + 1));
			if (!nick)
				goto fail;
		}
		peer[xmpp_bare_len(peer)] = '\0';
	}
	if (error) {
		rc = emit_message_error(s, dir, t, root, peer);
		goto out;
	}
	message_parts(t, root, &m);
	if (emit_chat_states(s, dir, t, root, peer, group) < 0 ||
	    emit_x_event(s, dir, t, &m, peer, group) < 0 ||
	    emit_subject(s, dir, t, &m, peer, nick, group) < 0 ||
	    emit_message_text(s, dir, t, &m, peer, nick, group) < 0)
		goto fail;
	if (m.oob >= 0 && decode_oob(s, dir, t, m.oob, peer) < 0)
		goto fail;
	if (xmpp_decode_ibb(s, dir, t, root) < 0)
		goto fail;
	goto out;
fail:
	rc = -1;
out:
	peer_free(&room, peer);
	free(nick);
	return rc;
}

static int decode_presence(struct proto_session *s, enum im_dir dir, const struct xtree *t,
			   int root)
{
	bool failed = false;
	char *type = xmpp_attr_text(t, root, "type", &failed);
	struct peer room;
	char *peer = stanza_peer(t, root, dir, &room, &failed);
	char *show = NULL, *status = NULL;
	struct bytebuf b;
	struct im_event ev;
	enum im_kind kind = IM_KIND_PRESENCE;
	bool group = false, ok;
	int rc = -1;

	bytebuf_init(&b);
	if (failed)
		goto out;
	learn_local_from_stanza(s, t, root, dir);
	/* Joining a MUC room is presence to room/nick with a muc element. */
	if (dir == IM_DIR_OUT && strchr(peer, '/') && xmpp_child(t, root, "x", NS_MUC) >= 0 &&
	    !(type && strcmp(type, "unavailable") == 0)) {
		kind = IM_KIND_JOIN;
		group = true;
	} else if (dir == IM_DIR_OUT && strchr(peer, '/') && type &&
		   strcmp(type, "unavailable") == 0) {
		kind = IM_KIND_PART;
		group = true;
	}
	if (group)
		peer[xmpp_bare_len(peer)] = '\0';
	if (xmpp_child(t, root, "show", NULL) >= 0)
		show = xmpp_node_text_trimmed(t, xmpp_child(t, root, "show", NULL));
	if (xmpp_child(t, root, "status", NULL) >= 0)
		status = xmpp_node_text_trimmed(t, xmpp_child(t, root, "status", NULL));
	if ((xmpp_child(t, root, "show", NULL) >= 0 && !show) ||
	    (xmpp_child(t, root, "status", NULL) >= 0 && !status))
		goto out;
	ok = bytebuf_append_str(&b, type ? type : show && show[0] ? show : "available");
	if (ok && status && status[0])
		ok = bytebuf_append_str(&b, ": ") && bytebuf_append_str(&b, status);
	if (!ok || !bytebuf_terminate(&b))
		goto out;
	proto_event_begin(s, &ev, dir, kind);
	ev.group = group;
	if (!event_set_str_brief(&ev.remote, peer) || !event_set_str_brief(&ev.text, (char *)b.data)) {
		event_free(&ev);
		goto out;
	}
	proto_event_emit(s, &ev);
	rc = 0;
out:
	bytebuf_free(&b);
	free(type);
	peer_free(&room, peer);
	free(show);
	free(status);
	return rc;
}

/* XEP-0234: <jingle action='session-initiate'><content><description
 * xmlns='urn:xmpp:jingle:apps:file-transfer:N'><file><name/><size/>. */
static int decode_jingle(struct proto_session *s, enum im_dir dir, const struct xtree *t,
			 int root, int jingle, const char *peer)
{
	bool failed = false;
	char *action = xmpp_attr_text(t, jingle, "action", &failed);
	int content, rc = 0;

	if (failed)
		return -1;
	if (!action || strcmp(action, "session-initiate") != 0) {
		free(action);
		return 0;
	}
	free(action);
	for (content = t->nodes[jingle].first_child; content >= 0 && rc == 0;
	     content = t->nodes[content].next) {
		int desc = xmpp_child(t, content, "description", NULL), file;
		struct xml_span ns = xmpp_node_ns(t, desc);
		char *name, *size;

		if (desc < 0 || ns.len <= strlen(NS_JINGLE_FILE_PREFIX) ||
		    memcmp(t->buf + ns.off, NS_JINGLE_FILE_PREFIX, strlen(NS_JINGLE_FILE_PREFIX)))
			continue;
		file = xmpp_child(t, desc, "file", NULL);
		if (file < 0)
			continue;
		name = xmpp_child(t, file, "name", NULL) >= 0
			       ? xmpp_node_text_trimmed(t, xmpp_child(t, file, "name", NULL))
			       : text_dup("", 0);
		size = xmpp_child(t, file, "size", NULL) >= 0
			       ? xmpp_node_text_trimmed(t, xmpp_child(t, file, "size", NULL))
			       : text_dup("", 0);
		if (name && size) {
			struct im_xfer x;

			xmpp_jingle_xfer(s, dir, t, root, content, &x);
			rc = emit_file(s, dir, peer, name, size, NULL, &x);
		} else {
			rc = -1;
		}
		free(name);
		free(size);
	}
	return rc;
}

/* XEP-0096: <si id='SID'><file name size/>: a file whose stream, in-band
 * or not, carries the SI's id. */
static int decode_si(struct proto_session *s, enum im_dir dir, const struct xtree *t, int si,
		     const char *peer)
{
	int file = xmpp_child(t, si, "file", NS_SI_FILE), rc;
	bool failed = false;
	char *name, *size, *sid;
	struct im_xfer x;

	if (file < 0)
		return 0;
	name = xmpp_attr_text(t, file, "name", &failed);
	size = xmpp_attr_text(t, file, "size", &failed);
	sid = xmpp_attr_text(t, si, "id", &failed);
	xmpp_inband_xfer(sid, &x);
	rc = failed ? -1 : emit_file(s, dir, peer, name, size, NULL, &x);
	free(name);
	free(size);
	free(sid);
	return rc;
}

static int decode_iq(struct proto_session *s, enum im_dir dir, const struct xtree *t, int root)
{
	bool failed = false;
	char *type = xmpp_attr_text(t, root, "type", &failed);
	struct peer room;
	char *peer = stanza_peer(t, root, dir, &room, &failed);
	int c, rc = 0;

	if (failed)
		goto fail;
	c = xmpp_child(t, root, "bind", NS_BIND);
	if (c >= 0 && dir == IM_DIR_IN && type && strcmp(type, "result") == 0) {
		char *jid = xmpp_node_text_trimmed(t, xmpp_child(t, c, "jid", NULL));

		if (!jid)
			goto fail;
		if (jid[0]) {
			/* The bound full JID beats whatever we guessed before;
			 * it is also the "from" the server stamps on what we send. */
			if (!proto_session_set_local(s, jid, strlen(jid)) ||
			    !proto_session_set_local_address(s, jid, strlen(jid))) {
				free(jid);
				goto fail;
			}
			rc = emit_simple(s, dir, IM_KIND_LOGIN, "", jid);
		}
		free(jid);
		goto out;
	}
	if (!type || strcmp(type, "result") == 0 || strcmp(type, "error") == 0)
		goto out;
	c = xmpp_child(t, root, "si", NS_SI);
	if (c >= 0) {
		rc = decode_si(s, dir, t, c, peer);
		goto out;
	}
	c = xmpp_child(t, root, "jingle", NS_JINGLE);
	if (c >= 0) {
		rc = decode_jingle(s, dir, t, root, c, peer);
		goto out;
	}
	c = xmpp_child(t, root, "query", "http://jabber.org/protocol/bytestreams");
	if (c >= 0) {
		rc = xmpp_decode_bytestreams(s, dir, t, root, c, peer);
		goto out;
	}
	if (xmpp_decode_ibb(s, dir, t, root) < 0)
		goto fail;
	c = xmpp_child(t, root, "query", NS_OOB_IQ);
	if (c >= 0) {
		rc = decode_oob(s, dir, t, c, peer);
		goto out;
	}
	c = xmpp_child(t, root, "request", NS_UPLOAD);
	if (c >= 0 && dir == IM_DIR_OUT) {
		/* An upload slot: the file goes to whoever gets the URL later. */
		char *name = xmpp_attr_text(t, c, "filename", &failed);
		char *size = xmpp_attr_text(t, c, "size", &failed);

		rc = failed ? -1 : emit_file(s, dir, peer, name, size, NULL, NULL);
		free(name);
		free(size);
	}
	goto out;
fail:
	rc = -1;
out:
	free(type);
	peer_free(&room, peer);
	return rc;
}

static int decode_header(struct proto_session *s, enum im_dir dir, const struct xtree *t)
{
	struct xmpp_state *st = xmpp_state_of(s);
	bool failed = false;
	char *ns = xmpp_attr_text(t, 0, "xmlns", &failed);
	char *to = xmpp_attr_text(t, 0, "to", &failed);
	char *from = xmpp_attr_text(t, 0, "from", &failed);
	int rc = failed ? -1 : 0;

	if (ns && strcmp(ns, "jabber:server") == 0)
		st->server_to_server = true;
	if (dir == IM_DIR_OUT && to && to[0] && !st->stream_to)
		st->stream_to = proto_session_share(s, to, strlen(to));
	/* A client's header names itself only once it knows its bare JID; a
	 * server's "to" names the client. */
	learn_local(s, dir == IM_DIR_OUT ? from : to);
	free(ns);
	free(to);
	free(from);
	return rc;
}

static int decode_stanza(struct proto_session *s, enum im_dir dir, const struct xtree *t)
{
	struct xmpp_state *st = xmpp_state_of(s);
	const char *peer = st->stream_to ? st->stream_to : "";

	if (xmpp_node_is(t, 0, "message"))
		return decode_message(s, dir, t, 0);
	if (xmpp_node_is(t, 0, "presence"))
		return decode_presence(s, dir, t, 0);
	if (xmpp_node_is(t, 0, "iq"))
		return decode_iq(s, dir, t, 0);
	if (xmpp_node_is(t, 0, "starttls") && xmpp_node_ns_is(t, 0, NS_TLS)) {
		st->starttls_asked = true;
		return 0;
	}
	if (xmpp_node_is(t, 0, "stream:features") && dir == IM_DIR_IN) {
		int tls = xmpp_child(t, 0, "starttls", NS_TLS);

		st->tls_required = tls >= 0 && xmpp_child(t, tls, "required", NULL) >= 0;
		return 0;
	}
	if (xmpp_node_is(t, 0, "proceed") && xmpp_node_ns_is(t, 0, NS_TLS)) {
		/* Both sides switch to TLS right after this element. Under
		 * encrypted=strip only a server that requires TLS gets here. */
		s->opaque[IM_DIR_OUT] = s->opaque[IM_DIR_IN] = true;
		return emit_simple(s, dir, IM_KIND_ENCRYPTED, peer,
				   s->strip_tls && st->tls_required
					   ? "STARTTLS (required by the server: the offer could not "
					     "be stripped, nothing after it can be logged)"
					   : "STARTTLS");
	}
	if (xmpp_node_is(t, 0, "compressed") && xmpp_node_ns_is(t, 0, NS_COMPRESS)) {
		s->opaque[IM_DIR_OUT] = s->opaque[IM_DIR_IN] = true;
		return 0;
	}
	if (xmpp_node_is(t, 0, "stream:error")) {
		int cond = t->nodes[0].first_child;
		char word[64];

		snprintf(word, sizeof(word), "%.*s",
			 cond >= 0 ? (int)(t->nodes[cond].name.len < 63 ? t->nodes[cond].name.len : 63)
				   : 0,
			 cond >= 0 ? (const char *)t->buf + t->nodes[cond].name.off : "");
		return emit_simple(s, dir, IM_KIND_ERROR, peer, word[0] ? word : "stream error");
	}
	return 0;
}

bool xmpp_is_stream_close(const uint8_t *p, size_t len, size_t *pdu_len)
{
	static const char lit[] = "</stream:stream";
	size_t n = sizeof(lit) - 1, i;

	if (len < n || memcmp(p, lit, n) != 0)
		return false;
	for (i = n; i < len && xmpp_is_ws(p[i]); i++)
		;
	if (i < len && p[i] == '>') {
		*pdu_len = i + 1;
		return true;
	}
	*pdu_len = 0;
	return true;
}

/* The stanza's tree: the one its framer built from the same tokens, or
 * parsed here (a stanza split over segments, a caller that framed
 * nothing). 0, or -1 with why. */
static int stanza_tree(struct xtree_build *b, struct xtree *local, const uint8_t *pdu, size_t len,
		       struct xtree **t, const char **why)
{
	*t = xmpp_build_tree(b, pdu, len);
	if (!*t) {
		*t = local;
		if (xmpp_tree_parse(local, pdu, len) < 0) {
			*why = local->error;
			return -1;
		}
		return 0;
	}
	*why = (*t)->error;
	return *why ? -1 : 0;
}

static int decode_pdu(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len,
		      struct xtree_build *b)
{
	struct xmpp_state *st = xmpp_state_of(s);
	struct xtree local, *t;
	const char *why;
	size_t i, close_len;
	int rc;

	for (i = 0; i < len && xmpp_is_ws(pdu[i]); i++)
		;
	if (i == len)
		return 0; /* a keepalive */
	if (xmpp_is_stream_close(pdu + i, len - i, &close_len)) {
		if (!close_len)
			return proto_session_malformed(s, "bad stream end tag");
		if (!st->closed[dir] && dir == IM_DIR_OUT) {
			st->closed[dir] = true;
			return emit_simple(s, dir, IM_KIND_LOGOUT, st->stream_to ? st->stream_to : "",
					   "");
		}
		st->closed[dir] = true;
		return 0;
	}
	rc = stanza_tree(b, &local, pdu, len, &t, &why);
	if (rc == 0) {
		if (!t->n_nodes)
			rc = 0; /* a declaration or a comment alone */
		else if (t->open_stream)
			rc = decode_header(s, dir, t);
		else
			rc = decode_stanza(s, dir, t);
		why = "out of memory decoding a stanza";
	}
	if (t == &local)
		xmpp_tree_free(&local);
	return rc < 0 ? proto_session_malformed(s, why) : 0;
}

int xmpp_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct xmpp_framer *f = &xmpp_state_of(s)->framer[dir];
	struct xtree_build *b = f->build;
	int rc;

	f->build = NULL; /* taken, whatever this PDU turns out to be */
	rc = decode_pdu(s, dir, pdu, len, b);
	xmpp_build_free(b);
	return rc;
}
