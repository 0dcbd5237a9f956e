/* Events back to XMPP: a rewritten text in the stanza it came from
 * (everything else byte for byte), or a message stanza built from the
 * neutral fields alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/xmpp/xmpp_internal.h"
#include "util/text.h"

/* The bytes of a message stanza with a new body: everything but the body
 * content (and a stale XHTML-IM copy of the old text) is kept. */
/* orig with the text of its <body> replaced; an XHTML-IM copy, which
 * would still show the old words, is replaced by the plain text. */
static bool append_with_new_body(struct bytebuf *out, const struct xtree *t, const uint8_t *orig,
				 size_t orig_len, int body, const char *text)
{
	const struct xnode *b = &t->nodes[body];
	int html = xmpp_child(t, 0, "html", NS_XHTML_IM);
	bool ok;

	if (b->empty)
		ok = bytebuf_append(out, orig, b->end - 2) && bytebuf_append_byte(out, '>') &&
		     xml_escape(text, strlen(text), out) == 0 && bytebuf_append_str(out, "</body>");
	else
		ok = bytebuf_append(out, orig, b->content_start) &&
		     xml_escape(text, strlen(text), out) == 0 &&
		     bytebuf_append(out, orig + b->content_end, b->end - b->content_end);
	if (ok && html >= 0) {
		const struct xnode *h = &t->nodes[html];

		ok = (h->start >= b->end ? bytebuf_append(out, orig + b->end, h->start - b->end)
					 : false) &&
		     bytebuf_append_str(out, "<html xmlns='" NS_XHTML_IM "'><body xmlns='" NS_XHTML
					     "'>") &&
		     xml_escape(text, strlen(text), out) == 0 &&
		     bytebuf_append_str(out, "</body></html>") &&
		     bytebuf_append(out, orig + h->end, orig_len - h->end);
	} else if (ok) {
		ok = bytebuf_append(out, orig + b->end, orig_len - b->end);
	}
	return ok;
}

static int encode_with_orig(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
			    const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct xtree t;
	const char *text = ev->text;
	char *old = NULL, *nick = NULL;
	bool failed = false, same;
	int body, rc = -1;
	size_t start = out->len;
	char *type;

	(void)s;
	if (xmpp_tree_parse(&t, orig, orig_len) < 0 || !t.n_nodes ||
	    !xmpp_node_is(&t, 0, "message"))
		goto out;
	body = xmpp_message_body(&t, 0);
	if (body < 0)
		goto out;
	type = xmpp_attr_text(&t, 0, "type", &failed);
	if (type && strcmp(type, "groupchat") == 0 && dir == IM_DIR_IN) {
		char *from = xmpp_attr_text(&t, 0, "from", &failed);
		const char *slash = from ? strchr(from, '/') : NULL;

		if (slash)
			nick = text_dup(slash + 1, strlen(slash + 1));
		free(from);
	}
	free(type);
	if (failed)
		goto out;
	old = xmpp_node_text(&t, body);
	if (!old)
		goto out;
	if (nick) {
		size_t n = strlen(nick);

		if (strncmp(text, nick, n) == 0 && strncmp(text + n, ": ", 2) == 0)
			text += n + 2;
	}
	same = strcmp(old, text) == 0;
	if (same) {
		rc = bytebuf_append(out, orig, orig_len) ? 0 : -1;
		goto out;
	}
	rc = append_with_new_body(out, &t, orig, orig_len, body, text) ? 0 : -1;
out:
	if (rc < 0)
		out->len = start;
	free(old);
	free(nick);
	xmpp_tree_free(&t);
	return rc;
}

bool xmpp_append_attr(struct bytebuf *out, const char *name, const char *value)
{
	return bytebuf_printf(out, " %s='", name) && xml_escape(value, strlen(value), out) == 0 &&
	       bytebuf_append_byte(out, '\'');
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* Do two JIDs name the same account (or room)? Node and domain compare
 * without ASCII case, as nodeprep and nameprep fold it. */
static bool same_bare_jid(const char *a, const char *b)
{
	size_t n = xmpp_bare_len(a), i;

	if (n != xmpp_bare_len(b))
		return false;
	for (i = 0; i < n; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

/* The "from" of a message built for the local client: the sender's full
 * JID when the event carries one of the remote's account (a locally
 * routed message, so replies go to the resource that wrote), else the
 * remote as logged. */
static bool append_fresh_from(struct bytebuf *out, const struct im_event *ev, const char **text)
{
	const char *colon, *resource;
	struct bytebuf from;
	size_t n;
	bool ok;

	if (!ev->group) {
		if (ev->remote_address && ev->remote_address[0] &&
		    same_bare_jid(ev->remote_address, ev->remote))
			return xmpp_append_attr(out, "from", ev->remote_address);
		return xmpp_append_attr(out, "from", ev->remote);
	}
	/* A room occupant's JID ("room@service/nick") says who spoke; the
	 * "nick: " prefix of the logged text is then not part of the body. */
	resource = ev->remote_address ? strchr(ev->remote_address, '/') : NULL;
	if (resource && resource[1] && same_bare_jid(ev->remote_address, ev->remote)) {
		n = strlen(resource + 1);
		if (strncmp(*text, resource + 1, n) == 0 && strncmp(*text + n, ": ", 2) == 0)
			*text += n + 2;
		return xmpp_append_attr(out, "from", ev->remote_address);
	}
	/* The sender comes back from the "nick: " prefix. */
	colon = strstr(*text, ": ");
	bytebuf_init(&from);
	ok = bytebuf_append_str(&from, ev->remote) && bytebuf_append_byte(&from, '/') &&
	     bytebuf_append(&from, *text, colon ? (size_t)(colon - *text) : 0) &&
	     bytebuf_terminate(&from) && xmpp_append_attr(out, "from", (char *)from.data);
	bytebuf_free(&from);
	if (colon)
		*text = colon + 2;
	return ok;
}

/* The "from" of a system notice to the local user: notice_sender's JID,
 * else the local user's server (the domain of the JID). */
static bool append_notice_from(struct bytebuf *out, const char *from, const char *local)
{
	const char *at = strchr(local, '@'), *domain = at ? at + 1 : local;
	struct bytebuf jid;
	bool ok;

	if (from)
		return xmpp_append_attr(out, "from", from);
	bytebuf_init(&jid);
	ok = bytebuf_append(&jid, domain, strcspn(domain, "/")) && bytebuf_terminate(&jid) &&
	     jid.len > 0 && xmpp_append_attr(out, "from", (char *)jid.data);
	bytebuf_free(&jid);
	return ok;
}

static int encode_fresh(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
			struct bytebuf *out)
{
	struct xmpp_state *st = xmpp_state_of(s);
	const char *local = ev->local && ev->local[0] ? ev->local : s->local_id;
	const char *text = ev->text;
	size_t start = out->len;
	char id[32];
	bool ok;

	if (!ev->remote || !ev->remote[0])
		return -1;
	snprintf(id, sizeof(id), "imwire-%llu", (unsigned long long)++st->injected);
	ok = bytebuf_append_str(out, "<message");
	if (dir == IM_DIR_OUT)
		ok = ok && xmpp_append_attr(out, "to", ev->remote);
	else if (ev->notice) /* a system notice: a headline from notice_sender or the domain */
		ok = ok && local && append_notice_from(out, ev->notice_from, local);
	else
		ok = ok && append_fresh_from(out, ev, &text);
	if (ok && dir == IM_DIR_IN && local && local[0])
		ok = xmpp_append_attr(out, "to", local);
	ok = ok &&
	     xmpp_append_attr(out, "type",
			      ev->notice && dir == IM_DIR_IN ? "headline"
			      : ev->group		      ? "groupchat"
							      : "chat") &&
	     xmpp_append_attr(out, "id", id) && bytebuf_append_str(out, "><body>") &&
	     xml_escape(text, strlen(text), out) == 0 &&
	     bytebuf_append_str(out, "</body></message>");
	if (!ok) {
		out->len = start;
		return -1;
	}
	return 0;
}

int xmpp_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
		const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return -1;
	if (orig)
		return encode_with_orig(s, dir, ev, orig, orig_len, out);
	return encode_fresh(s, dir, ev, out);
}
