/* Events back to XMPP: a rewritten text in the stanza it came from
 * (everything else byte for byte), or a message stanza built from the
 * neutral fields alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/text_splice.h"
#include "proto/xmpp/xmpp_internal.h"
#include "util/text.h"

/* ---- character data one unit at a time, for text_splice ---- */

enum { CTX_TEXT = 0, CTX_CDATA = 1 };

struct xml_units {
	bool in_cdata;
};

static bool starts(const uint8_t *p, size_t len, size_t pos, const char *lit)
{
	size_t n = strlen(lit);

	return len - pos >= n && memcmp(p + pos, lit, n) == 0;
}

/* Offset just past the first lit at or after pos, or 0 when none. */
static size_t past(const uint8_t *p, size_t len, size_t pos, const char *lit)
{
	for (; pos < len; pos++)
		if (starts(p, len, pos, lit))
			return pos + strlen(lit);
	return 0;
}

/* A tag's end: the '>' outside quoted attribute values. */
static size_t tag_end(const uint8_t *p, size_t len, size_t pos)
{
	uint8_t quote = 0;

	for (pos++; pos < len; pos++) {
		if (quote) {
			if (p[pos] == quote)
				quote = 0;
		} else if (p[pos] == '\'' || p[pos] == '"') {
			quote = p[pos];
		} else if (p[pos] == '>') {
			return pos + 1;
		}
	}
	return 0;
}

/* Character data as the tokenizer let it through: references are atoms,
 * CDATA delimiters, comments, processing instructions and tags (XHTML-IM)
 * are markup, the rest is literal. */
static bool unit_xml(void *arg, const uint8_t *raw, size_t len, size_t pos, struct text_unit *u,
		     struct bytebuf *text)
{
	struct xml_units *x = arg;
	size_t end = pos;

	u->ctx = x->in_cdata ? CTX_CDATA : CTX_TEXT;
	if (x->in_cdata) {
		if (starts(raw, len, pos, "]]>")) {
			x->in_cdata = false;
			u->raw_len = 3;
			u->kind = TEXT_MARKUP;
			return true;
		}
		while (end < len && !starts(raw, len, end, "]]>"))
			end++;
		u->raw_len = end - pos;
		u->kind = TEXT_LITERAL;
		return bytebuf_append(text, raw + pos, end - pos);
	}
	if (raw[pos] == '&') {
		end = past(raw, len, pos, ";");
		u->raw_len = end - pos;
		u->kind = TEXT_ATOM;
		return end && xml_unescape(raw + pos, end - pos, text) == 0;
	}
	if (raw[pos] == '<') {
		if (starts(raw, len, pos, "<![CDATA[")) {
			x->in_cdata = true;
			end = pos + 9;
		} else if (starts(raw, len, pos, "<!--")) {
			end = past(raw, len, pos + 4, "-->");
		} else if (starts(raw, len, pos, "<?")) {
			end = past(raw, len, pos + 2, "?>");
		} else {
			end = tag_end(raw, len, pos);
		}
		u->raw_len = end ? end - pos : 0;
		u->kind = TEXT_MARKUP;
		return end != 0;
	}
	while (end < len && raw[end] != '&' && raw[end] != '<')
		end++;
	u->raw_len = end - pos;
	u->kind = TEXT_LITERAL;
	return bytebuf_append(text, raw + pos, end - pos);
}

/* New character data: only what XML requires is escaped (quotes are left
 * as they are in text); inside CDATA nothing is, and "]]>" cannot be. */
static bool encode_xml(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out)
{
	size_t i, run = 0;

	(void)arg;
	if (ctx == CTX_CDATA) {
		for (i = 0; i < n; i++)
			if ((uint8_t)text[i] < 0x20 && text[i] != '\t' && text[i] != '\n' &&
			    text[i] != '\r')
				return false;
		return !memmem(text, n, "]]>", 3) && bytebuf_append(out, text, n);
	}
	for (i = 0; i <= n; i++) {
		if (i < n && text[i] != '\'' && text[i] != '"')
			continue;
		if (xml_escape(text + run, i - run, out) < 0 ||
		    (i < n && !bytebuf_append_byte(out, (uint8_t)text[i])))
			return false;
		run = i + 1;
	}
	return true;
}

/* Append the content of node n (between its tags) with its text old
 * changed to text, only the changed characters written anew. */
static bool splice_content(struct bytebuf *out, const struct xtree *t, int n, const char *old,
			   const char *text)
{
	const struct xnode *x = &t->nodes[n];
	struct xml_units st = { false };
	struct text_codec codec = { unit_xml, encode_xml, &st };

	return text_splice(&codec, t->buf + x->content_start, x->content_end - x->content_start,
			   old, strlen(old), text, strlen(text), out) == 0;
}

/* The text of an XHTML-IM body as the reader sees it, tags left out; NULL
 * when it cannot be read or on allocation failure. */
static char *xhtml_text(const struct xtree *t, int n)
{
	const struct xnode *x = &t->nodes[n];
	struct xml_units st = { false };
	struct bytebuf b;
	struct text_unit u;
	size_t pos = x->content_start;

	bytebuf_init(&b);
	while (pos < x->content_end) {
		u.raw_len = 0;
		if (!unit_xml(&st, t->buf, x->content_end, pos, &u, &b) || !u.raw_len) {
			bytebuf_free(&b);
			return NULL;
		}
		pos += u.raw_len;
	}
	if (!bytebuf_terminate(&b)) {
		bytebuf_free(&b);
		return NULL;
	}
	return b.data ? (char *)b.data : text_dup("", 0);
}

/* orig with only the changed characters of its <body> written anew, and
 * the same change in an XHTML-IM copy whose text is the body's; false when
 * that cannot be (the caller then rebuilds the body whole). */
static bool splice_new_body(struct bytebuf *out, const struct xtree *t, const uint8_t *orig,
			    size_t orig_len, int body, int html, const char *old, const char *text)
{
	const struct xnode *b = &t->nodes[body];
	const struct xnode *hb = NULL;
	char *html_old = NULL;
	bool ok;
	int xb = html >= 0 ? xmpp_child(t, html, "body", NS_XHTML) : -1;

	if (html >= 0) {
		if (xb < 0 || t->nodes[xb].empty || t->nodes[xb].start < b->end)
			return false;
		hb = &t->nodes[xb];
		html_old = xhtml_text(t, xb);
		if (!html_old || strcmp(html_old, old) != 0) {
			free(html_old);
			return false;
		}
	}
	ok = bytebuf_append(out, orig, b->content_start) && splice_content(out, t, body, old, text);
	if (ok && hb)
		ok = bytebuf_append(out, orig + b->content_end, hb->content_start - b->content_end) &&
		     splice_content(out, t, xb, html_old, text) &&
		     bytebuf_append(out, orig + hb->content_end, orig_len - hb->content_end);
	else if (ok)
		ok = bytebuf_append(out, orig + b->content_end, orig_len - b->content_end);
	free(html_old);
	return ok;
}

/* orig with the text of its <body> replaced, only the changed characters
 * where it can be (splice_new_body), else the body's content whole; an
 * XHTML-IM copy, which would still show the old words, is then replaced
 * by the plain text. */
static bool append_with_new_body(struct bytebuf *out, const struct xtree *t, const uint8_t *orig,
				 size_t orig_len, int body, const char *old, const char *text)
{
	const struct xnode *b = &t->nodes[body];
	int html = xmpp_child(t, 0, "html", NS_XHTML_IM);
	size_t mark = out->len;
	bool ok;

	if (!b->empty && splice_new_body(out, t, orig, orig_len, body, html, old, text))
		return true;
	out->len = mark;
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
	rc = append_with_new_body(out, &t, orig, orig_len, body, old, text) ? 0 : -1;
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
