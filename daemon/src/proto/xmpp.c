/* Jabber/XMPP (RFC 6120, RFC 6121): client-to-server and server-to-server.
 *
 * A PDU is one of: the stream header (an optional <?xml ...?> and the
 * <stream:stream ...> start tag), one complete top-level element (a
 * stanza, or stream-level negotiation like <starttls/>), the closing
 * </stream:stream>, or a run of white space between them (keepalives,
 * decoded as nothing). The framer runs the streaming tokenizer over the
 * bytes of the PDU under way and keeps its state between calls, so a
 * stanza split over any number of segments is scanned once.
 *
 * A complete PDU is decoded into a small element tree of that one stanza
 * (spans into the PDU, bounded by the PDU size); the stream as a whole is
 * never held.
 *
 * Event conventions:
 * - remote is the peer's JID as written (to of what we send, from of what
 *   we receive); for MUC groupchat it is the bare room JID with group set,
 *   and an incoming groupchat text is prefixed "nick: " (IMSpector's way
 *   of keeping the sender of a channel message).
 * - local is the full JID from the resource-binding result, else what the
 *   stream header or an incoming stanza's "to" says.
 * - the message text is the <body> with references decoded; a message
 *   with only an XHTML-IM part gives its markup as text/html.
 * - text_offset/len are set only when the body's bytes on the wire are
 *   exactly its text (no references, no CDATA), so a same-length edit of
 *   those bytes is an edit of the text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/xml_tokenizer.h"
#include "util/text.h"

/* Prosody's default c2s stanza limit is 256 KiB; allow twice that. */
#define XMPP_MAX_PDU (512u * 1024u)
/* Elements and attributes in one stanza: a bound on the tree we build. */
#define XMPP_MAX_NODES 4096u
#define XMPP_MAX_TREE_ATTRS 8192u

#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define NS_CHATSTATES "http://jabber.org/protocol/chatstates"
#define NS_XHTML_IM "http://jabber.org/protocol/xhtml-im"
#define NS_XHTML "http://www.w3.org/1999/xhtml"
#define NS_MUC "http://jabber.org/protocol/muc"
#define NS_SI "http://jabber.org/protocol/si"
#define NS_SI_FILE "http://jabber.org/protocol/si/profile/file-transfer"
#define NS_JINGLE "urn:xmpp:jingle:1"
#define NS_JINGLE_FILE_PREFIX "urn:xmpp:jingle:apps:file-transfer:"
#define NS_OOB_X "jabber:x:oob"
#define NS_OOB_IQ "jabber:iq:oob"
#define NS_UPLOAD "urn:xmpp:http:upload:0"
#define NS_COMPRESS "http://jabber.org/protocol/compress"

static const uint16_t xmpp_ports[] = { 5222, 5269 };

/* Top-level element names a resync may stop at. */
static const char *const top_level_names[] = {
	"message", "presence", "iq", "stream:stream", "/stream:stream", "?xml",
	"stream:features", "stream:error", "starttls", "proceed", "auth", "success",
	"failure", "challenge", "response", "db:result", "db:verify", "compress",
	"compressed", "enable", "enabled", "resume", "resumed", "r", "a",
};

enum frame_kind {
	FRAME_NONE,
	FRAME_DECL,   /* <?xml ...?> seen: the stream start tag should follow */
	FRAME_HEADER, /* inside the <stream:stream ...> start tag */
	FRAME_STANZA,
};

struct xmpp_framer {
	bool active;
	enum frame_kind kind;
	struct xml_tok tok;
};

struct xmpp_state {
	struct xmpp_framer framer[2];
	bool starttls_asked;
	bool server_to_server;
	bool closed[2];
	char *stream_to;   /* "to" of the initiator's header: the server (c2s) */
	uint64_t injected; /* ids of stanzas we build */
};

/* One stanza as a tree of spans into its PDU. */
struct xattr {
	struct xml_span name, value;
};

struct xnode {
	struct xml_span name;
	size_t first_attr, n_attrs;
	int parent, first_child, last_child, next;
	size_t start, end;               /* the element's bytes */
	size_t content_start, content_end; /* between its tags */
	bool empty;                      /* written as <name/> */
	size_t n_text;                   /* character data pieces directly inside */
	bool text_raw_exact;             /* one TEXT piece without references */
};

struct xtext {
	int node;
	struct xml_span raw;
	bool cdata;
};

struct xtree {
	const uint8_t *buf;
	size_t len;
	struct xnode *nodes;
	size_t n_nodes, cap_nodes;
	struct xattr *attrs;
	size_t n_attrs, cap_attrs;
	struct xtext *texts;
	size_t n_texts, cap_texts;
	bool has_decl;
	bool open_stream; /* the root is the stream start tag, left open */
	const char *error;
};

static struct xmpp_state *state_of(struct proto_session *s)
{
	return s->state;
}

static bool is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Grow an array of elem-size items to hold one more; false on failure. */
static bool grow(void **arr, size_t *cap, size_t n, size_t elem, size_t limit)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return true;
	if (n >= limit)
		return false;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > limit)
		ncap = limit;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

static void tree_free(struct xtree *t)
{
	free(t->nodes);
	free(t->attrs);
	free(t->texts);
	memset(t, 0, sizeof(*t));
}

static int tree_fail(struct xtree *t, const char *why)
{
	t->error = why;
	return -1;
}

static int tree_add_node(struct xtree *t, int parent, const struct xml_token *tok)
{
	struct xnode *n;
	int idx;

	if (!grow((void **)&t->nodes, &t->cap_nodes, t->n_nodes, sizeof(*t->nodes),
		  XMPP_MAX_NODES))
		return tree_fail(t, "too many elements in one stanza");
	idx = (int)t->n_nodes++;
	n = &t->nodes[idx];
	memset(n, 0, sizeof(*n));
	n->name = tok->name;
	n->first_attr = t->n_attrs;
	n->parent = parent;
	n->first_child = n->last_child = n->next = -1;
	n->start = tok->start;
	if (parent >= 0) {
		struct xnode *p = &t->nodes[parent];

		if (p->last_child >= 0)
			t->nodes[p->last_child].next = idx;
		else
			p->first_child = idx;
		p->last_child = idx;
	}
	return idx;
}

/* Parse a complete PDU. A stream header leaves its root open. */
static int tree_parse(struct xtree *t, const uint8_t *buf, size_t len)
{
	struct xml_tok tok;
	struct xml_token k;
	enum xml_result r;
	int cur = -1, idx;
	bool root_done = false;

	memset(t, 0, sizeof(*t));
	t->buf = buf;
	t->len = len;
	xml_tok_init(&tok);
	while ((r = xml_next(&tok, buf, len, &k)) == XML_OK) {
		if (root_done && k.type != XML_TOKEN_TEXT)
			return tree_fail(t, "more than one element in a PDU");
		switch (k.type) {
		case XML_TOKEN_PI:
			if (t->n_nodes || !xml_span_is(buf, k.name, "xml"))
				return tree_fail(t, "processing instruction in a stream");
			t->has_decl = true;
			break;
		case XML_TOKEN_COMMENT:
			break;
		case XML_TOKEN_START:
			idx = tree_add_node(t, cur, &k);
			if (idx < 0)
				return -1;
			cur = idx;
			break;
		case XML_TOKEN_ATTR:
			if (!grow((void **)&t->attrs, &t->cap_attrs, t->n_attrs, sizeof(*t->attrs),
				  XMPP_MAX_TREE_ATTRS))
				return tree_fail(t, "too many attributes in one stanza");
			t->attrs[t->n_attrs].name = k.name;
			t->attrs[t->n_attrs].value = k.value;
			t->n_attrs++;
			t->nodes[cur].n_attrs++;
			break;
		case XML_TOKEN_START_CLOSE:
			t->nodes[cur].content_start = k.end;
			if (k.depth == 1 && cur == 0 &&
			    xml_span_is(buf, xml_local_name(buf, t->nodes[0].name), "stream")) {
				t->open_stream = true;
				t->nodes[0].end = k.end;
				root_done = true;
			}
			break;
		case XML_TOKEN_EMPTY_CLOSE:
			t->nodes[cur].empty = true;
			t->nodes[cur].content_start = t->nodes[cur].content_end = k.end;
			t->nodes[cur].end = k.end;
			root_done = k.depth == 0;
			cur = t->nodes[cur].parent;
			break;
		case XML_TOKEN_END:
			t->nodes[cur].content_end = k.start;
			t->nodes[cur].end = k.end;
			root_done = k.depth == 0;
			cur = t->nodes[cur].parent;
			break;
		case XML_TOKEN_TEXT:
		case XML_TOKEN_CDATA:
			if (cur < 0)
				break; /* white space around the element */
			if (!grow((void **)&t->texts, &t->cap_texts, t->n_texts, sizeof(*t->texts),
				  XMPP_MAX_NODES))
				return tree_fail(t, "too many text pieces in one stanza");
			t->texts[t->n_texts].node = cur;
			t->texts[t->n_texts].raw = k.value;
			t->texts[t->n_texts].cdata = k.type == XML_TOKEN_CDATA;
			t->n_texts++;
			t->nodes[cur].n_text++;
			t->nodes[cur].text_raw_exact =
				t->nodes[cur].n_text == 1 && k.type == XML_TOKEN_TEXT &&
				!memchr(buf + k.value.off, '&', k.value.len);
			break;
		}
	}
	if (r == XML_ERROR)
		return tree_fail(t, tok.error);
	if (!root_done && t->n_nodes)
		return tree_fail(t, "stanza ends before its end tag");
	return 0;
}

static bool span_eq(const struct xtree *t, struct xml_span s, const char *lit)
{
	return xml_span_is(t->buf, s, lit);
}

static bool node_is(const struct xtree *t, int n, const char *name)
{
	return n >= 0 && span_eq(t, t->nodes[n].name, name);
}

static const struct xattr *node_attr(const struct xtree *t, int n, const char *name)
{
	size_t i;

	if (n < 0)
		return NULL;
	for (i = 0; i < t->nodes[n].n_attrs; i++) {
		const struct xattr *a = &t->attrs[t->nodes[n].first_attr + i];

		if (span_eq(t, a->name, name))
			return a;
	}
	return NULL;
}

/* The default namespace in force at node n. */
static struct xml_span node_ns(const struct xtree *t, int n)
{
	struct xml_span none = { 0, 0 };

	for (; n >= 0; n = t->nodes[n].parent) {
		const struct xattr *a = node_attr(t, n, "xmlns");

		if (a)
			return a->value;
	}
	return none;
}

static bool node_ns_is(const struct xtree *t, int n, const char *ns)
{
	return span_eq(t, node_ns(t, n), ns);
}

/* First child of n called name (any name when NULL) in namespace ns
 * (any when NULL). */
static int child(const struct xtree *t, int n, const char *name, const char *ns)
{
	int c;

	if (n < 0)
		return -1;
	for (c = t->nodes[n].first_child; c >= 0; c = t->nodes[c].next)
		if ((!name || node_is(t, c, name)) && (!ns || node_ns_is(t, c, ns)))
			return c;
	return -1;
}

/* An attribute value decoded; NULL when absent or on allocation failure
 * (*failed tells them apart). */
static char *attr_text(const struct xtree *t, int n, const char *name, bool *failed)
{
	const struct xattr *a = node_attr(t, n, name);
	struct bytebuf b;

	if (!a)
		return NULL;
	bytebuf_init(&b);
	if (xml_unescape(t->buf + a->value.off, a->value.len, &b) < 0 || !bytebuf_terminate(&b)) {
		bytebuf_free(&b);
		*failed = true;
		return NULL;
	}
	if (!b.data) {
		char *empty = text_dup("", 0);

		if (!empty)
			*failed = true;
		return empty;
	}
	return (char *)b.data;
}

/* The character data directly inside n, decoded. */
static char *node_text(const struct xtree *t, int n)
{
	struct bytebuf b;
	size_t i;
	char *s;

	bytebuf_init(&b);
	for (i = 0; i < t->n_texts; i++) {
		const struct xtext *x = &t->texts[i];
		int rc;

		if (x->node != n)
			continue;
		rc = x->cdata ? (bytebuf_append(&b, t->buf + x->raw.off, x->raw.len) ? 0 : -1)
			      : xml_unescape(t->buf + x->raw.off, x->raw.len, &b);
		if (rc < 0) {
			bytebuf_free(&b);
			return NULL;
		}
	}
	s = text_utf8_or_latin1(b.data ? b.data : (const uint8_t *)"", b.len);
	bytebuf_free(&b);
	return s;
}

static char *node_text_trimmed(const struct xtree *t, int n)
{
	char *s = node_text(t, n);
	size_t a = 0, z;

	if (!s)
		return NULL;
	z = strlen(s);
	while (a < z && is_ws((uint8_t)s[a]))
		a++;
	while (z > a && is_ws((uint8_t)s[z - 1]))
		z--;
	memmove(s, s + a, z - a);
	s[z - a] = '\0';
	return s;
}

/* "room@service/nick" -> length of "room@service". */
static size_t bare_len(const char *jid)
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
	if ((remote && !event_set_str(&ev.remote, remote)) ||
	    (text && !event_set_str(&ev.text, text))) {
		event_free(&ev);
		return -1;
	}
	proto_event_emit(s, &ev);
	return 0;
}

/* The peer of a stanza: "to" of what we send, "from" of what we receive. */
static char *stanza_peer(const struct xtree *t, int root, enum im_dir dir, bool *failed)
{
	char *peer = attr_text(t, root, dir == IM_DIR_OUT ? "to" : "from", failed);

	if (!peer && !*failed) {
		peer = text_dup("", 0);
		*failed = peer == NULL;
	}
	return peer;
}

static void learn_local_from_stanza(struct proto_session *s, const struct xtree *t, int root,
				    enum im_dir dir)
{
	bool failed = false;
	char *me;

	if (s->local_id)
		return;
	me = attr_text(t, root, dir == IM_DIR_OUT ? "from" : "to", &failed);
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
		     const char *name, const char *size, const char *url)
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
	ok = event_set_str(&ev.remote, remote ? remote : "");
	if (ok && name && name[0])
		ok = event_set_str(&ev.file_name, name);
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
		ok = ok && bytebuf_terminate(&b) && event_set_str(&ev.text, (char *)b.data);
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
	char *url = node_text_trimmed(t, child(t, oob, "url", NULL));
	int rc;

	if (!url)
		return -1;
	rc = url[0] ? emit_file(s, dir, remote, NULL, NULL, url) : 0;
	free(url);
	return rc;
}

static int set_message_text(struct im_event *ev, const char *nick, const char *body)
{
	struct bytebuf b;
	bool ok;

	if (!nick)
		return event_set_str(&ev->text, body) ? 0 : -1;
	bytebuf_init(&b);
	ok = bytebuf_printf(&b, "%s: %s", nick, body) && bytebuf_terminate(&b) &&
	     event_set_str(&ev->text, (char *)b.data);
	bytebuf_free(&b);
	return ok ? 0 : -1;
}

/* The body to log: the one without xml:lang, else the first. */
static int message_body(const struct xtree *t, int root)
{
	int c, first = -1;

	for (c = t->nodes[root].first_child; c >= 0; c = t->nodes[c].next) {
		if (!node_is(t, c, "body"))
			continue;
		if (first < 0)
			first = c;
		if (!node_attr(t, c, "xml:lang"))
			return c;
	}
	return first;
}

static int decode_message(struct proto_session *s, enum im_dir dir, const struct xtree *t,
			  int root)
{
	bool failed = false, group;
	char *type = attr_text(t, root, "type", &failed);
	char *peer = stanza_peer(t, root, dir, &failed);
	char *text = NULL, *nick = NULL;
	int body, html, c, rc = 0;
	struct im_event ev;
	const char *content_type = "text/plain";

	if (failed)
		goto fail;
	learn_local_from_stanza(s, t, root, dir);
	group = type && strcmp(type, "groupchat") == 0;
	if (group) {
		const char *slash = strchr(peer, '/');

		if (dir == IM_DIR_IN && slash) {
			nick = text_dup(slash + 1, strlen(slash + 1));
			if (!nick)
				goto fail;
		}
		peer[bare_len(peer)] = '\0';
	}
	if (type && strcmp(type, "error") == 0) {
		int err = child(t, root, "error", NULL);
		int cond = err >= 0 ? t->nodes[err].first_child : -1;
		char word[64];
		struct xml_span name = cond >= 0 ? t->nodes[cond].name : (struct xml_span){ 0, 0 };

		snprintf(word, sizeof(word), "%.*s", (int)(name.len < 63 ? name.len : 63),
			 (const char *)t->buf + name.off);
		rc = emit_simple(s, dir, IM_KIND_ERROR, peer, word[0] ? word : "error");
		goto out;
	}

	/* XEP-0085 chat states: only the two that mean someone is typing. */
	for (c = t->nodes[root].first_child; c >= 0; c = t->nodes[c].next) {
		if (!node_ns_is(t, c, NS_CHATSTATES))
			continue;
		if (node_is(t, c, "composing") || node_is(t, c, "paused")) {
			struct xml_span n = t->nodes[c].name;
			char word[16];

			snprintf(word, sizeof(word), "%.*s", (int)n.len, (const char *)t->buf + n.off);
			proto_event_begin(s, &ev, dir, IM_KIND_TYPING);
			ev.group = group;
			if (!event_set_str(&ev.remote, peer) || !event_set_str(&ev.text, word)) {
				event_free(&ev);
				goto fail;
			}
			proto_event_emit(s, &ev);
		}
	}

	body = message_body(t, root);
	html = child(t, root, "html", NS_XHTML_IM);
	if (body >= 0) {
		text = node_text(t, body);
	} else if (html >= 0) {
		int hb = child(t, html, "body", NS_XHTML);

		if (hb >= 0) {
			const struct xnode *n = &t->nodes[hb];

			text = text_utf8_or_latin1(t->buf + n->content_start,
						   n->content_end - n->content_start);
			content_type = "text/html";
		}
	}
	if (body >= 0 || (html >= 0 && text)) {
		if (!text)
			goto fail;
		proto_event_begin(s, &ev, dir, IM_KIND_MESSAGE);
		ev.group = group;
		ev.content_type = content_type;
		if (body >= 0 && !nick && t->nodes[body].text_raw_exact) {
			ev.has_text_span = true;
			ev.text_offset = t->nodes[body].content_start;
			ev.text_len = t->nodes[body].content_end - t->nodes[body].content_start;
		}
		if (!event_set_str(&ev.remote, peer) || set_message_text(&ev, nick, text) < 0) {
			event_free(&ev);
			goto fail;
		}
		proto_event_emit(s, &ev);
	}

	c = child(t, root, "x", NS_OOB_X);
	if (c >= 0 && decode_oob(s, dir, t, c, peer) < 0)
		goto fail;
	goto out;
fail:
	rc = -1;
out:
	free(type);
	free(peer);
	free(text);
	free(nick);
	return rc;
}

static int decode_presence(struct proto_session *s, enum im_dir dir, const struct xtree *t,
			   int root)
{
	bool failed = false;
	char *type = attr_text(t, root, "type", &failed);
	char *peer = stanza_peer(t, root, dir, &failed);
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
	if (dir == IM_DIR_OUT && strchr(peer, '/') && child(t, root, "x", NS_MUC) >= 0 &&
	    !(type && strcmp(type, "unavailable") == 0)) {
		kind = IM_KIND_JOIN;
		group = true;
	} else if (dir == IM_DIR_OUT && strchr(peer, '/') && type &&
		   strcmp(type, "unavailable") == 0) {
		kind = IM_KIND_PART;
		group = true;
	}
	if (group)
		peer[bare_len(peer)] = '\0';
	if (child(t, root, "show", NULL) >= 0)
		show = node_text_trimmed(t, child(t, root, "show", NULL));
	if (child(t, root, "status", NULL) >= 0)
		status = node_text_trimmed(t, child(t, root, "status", NULL));
	if ((child(t, root, "show", NULL) >= 0 && !show) ||
	    (child(t, root, "status", NULL) >= 0 && !status))
		goto out;
	ok = bytebuf_append_str(&b, type ? type : show && show[0] ? show : "available");
	if (ok && status && status[0])
		ok = bytebuf_append_str(&b, ": ") && bytebuf_append_str(&b, status);
	if (!ok || !bytebuf_terminate(&b))
		goto out;
	proto_event_begin(s, &ev, dir, kind);
	ev.group = group;
	if (!event_set_str(&ev.remote, peer) || !event_set_str(&ev.text, (char *)b.data)) {
		event_free(&ev);
		goto out;
	}
	proto_event_emit(s, &ev);
	rc = 0;
out:
	bytebuf_free(&b);
	free(type);
	free(peer);
	free(show);
	free(status);
	return rc;
}

/* XEP-0234: <jingle action='session-initiate'><content><description
 * xmlns='urn:xmpp:jingle:apps:file-transfer:N'><file><name/><size/>. */
static int decode_jingle(struct proto_session *s, enum im_dir dir, const struct xtree *t,
			 int jingle, const char *peer)
{
	bool failed = false;
	char *action = attr_text(t, jingle, "action", &failed);
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
		int desc = child(t, content, "description", NULL), file;
		struct xml_span ns = node_ns(t, desc);
		char *name, *size;

		if (desc < 0 || ns.len <= strlen(NS_JINGLE_FILE_PREFIX) ||
		    memcmp(t->buf + ns.off, NS_JINGLE_FILE_PREFIX, strlen(NS_JINGLE_FILE_PREFIX)))
			continue;
		file = child(t, desc, "file", NULL);
		if (file < 0)
			continue;
		name = child(t, file, "name", NULL) >= 0 ? node_text_trimmed(t, child(t, file, "name", NULL))
							 : text_dup("", 0);
		size = child(t, file, "size", NULL) >= 0 ? node_text_trimmed(t, child(t, file, "size", NULL))
							 : text_dup("", 0);
		rc = name && size ? emit_file(s, dir, peer, name, size, NULL) : -1;
		free(name);
		free(size);
	}
	return rc;
}

static int decode_iq(struct proto_session *s, enum im_dir dir, const struct xtree *t, int root)
{
	bool failed = false;
	char *type = attr_text(t, root, "type", &failed);
	char *peer = stanza_peer(t, root, dir, &failed);
	int c, rc = 0;

	if (failed)
		goto fail;
	c = child(t, root, "bind", NS_BIND);
	if (c >= 0 && dir == IM_DIR_IN && type && strcmp(type, "result") == 0) {
		char *jid = node_text_trimmed(t, child(t, c, "jid", NULL));

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
	c = child(t, root, "si", NS_SI);
	if (c >= 0) {
		int file = child(t, c, "file", NS_SI_FILE);

		if (file >= 0) {
			char *name = attr_text(t, file, "name", &failed);
			char *size = attr_text(t, file, "size", &failed);

			rc = failed ? -1 : emit_file(s, dir, peer, name, size, NULL);
			free(name);
			free(size);
		}
		goto out;
	}
	c = child(t, root, "jingle", NS_JINGLE);
	if (c >= 0) {
		rc = decode_jingle(s, dir, t, c, peer);
		goto out;
	}
	c = child(t, root, "query", NS_OOB_IQ);
	if (c >= 0) {
		rc = decode_oob(s, dir, t, c, peer);
		goto out;
	}
	c = child(t, root, "request", NS_UPLOAD);
	if (c >= 0 && dir == IM_DIR_OUT) {
		/* An upload slot: the file goes to whoever gets the URL later. */
		char *name = attr_text(t, c, "filename", &failed);
		char *size = attr_text(t, c, "size", &failed);

		rc = failed ? -1 : emit_file(s, dir, peer, name, size, NULL);
		free(name);
		free(size);
	}
	goto out;
fail:
	rc = -1;
out:
	free(type);
	free(peer);
	return rc;
}

static int decode_header(struct proto_session *s, enum im_dir dir, const struct xtree *t)
{
	struct xmpp_state *st = state_of(s);
	bool failed = false;
	char *ns = attr_text(t, 0, "xmlns", &failed);
	char *to = attr_text(t, 0, "to", &failed);
	char *from = attr_text(t, 0, "from", &failed);
	int rc = failed ? -1 : 0;

	if (ns && strcmp(ns, "jabber:server") == 0)
		st->server_to_server = true;
	if (dir == IM_DIR_OUT && to && to[0] && !st->stream_to)
		st->stream_to = text_dup(to, strlen(to));
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
	struct xmpp_state *st = state_of(s);
	const char *peer = st->stream_to ? st->stream_to : "";

	if (node_is(t, 0, "message"))
		return decode_message(s, dir, t, 0);
	if (node_is(t, 0, "presence"))
		return decode_presence(s, dir, t, 0);
	if (node_is(t, 0, "iq"))
		return decode_iq(s, dir, t, 0);
	if (node_is(t, 0, "starttls") && node_ns_is(t, 0, NS_TLS)) {
		st->starttls_asked = true;
		return 0;
	}
	if (node_is(t, 0, "proceed") && node_ns_is(t, 0, NS_TLS)) {
		/* Both sides switch to TLS right after this element. */
		s->opaque[IM_DIR_OUT] = s->opaque[IM_DIR_IN] = true;
		return emit_simple(s, dir, IM_KIND_ENCRYPTED, peer, "STARTTLS");
	}
	if (node_is(t, 0, "compressed") && node_ns_is(t, 0, NS_COMPRESS)) {
		s->opaque[IM_DIR_OUT] = s->opaque[IM_DIR_IN] = true;
		return 0;
	}
	if (node_is(t, 0, "stream:error")) {
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

static bool is_stream_close(const uint8_t *p, size_t len, size_t *pdu_len)
{
	static const char lit[] = "</stream:stream";
	size_t n = sizeof(lit) - 1, i;

	if (len < n || memcmp(p, lit, n) != 0)
		return false;
	for (i = n; i < len && is_ws(p[i]); i++)
		;
	if (i < len && p[i] == '>') {
		*pdu_len = i + 1;
		return true;
	}
	*pdu_len = 0;
	return true;
}

static int xmpp_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct xmpp_state *st = state_of(s);
	struct xtree t;
	size_t i, close_len;
	int rc;

	for (i = 0; i < len && is_ws(pdu[i]); i++)
		;
	if (i == len)
		return 0; /* a keepalive */
	if (is_stream_close(pdu + i, len - i, &close_len)) {
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
	if (tree_parse(&t, pdu, len) < 0) {
		const char *why = t.error;

		tree_free(&t);
		return proto_session_malformed(s, why);
	}
	if (!t.n_nodes)
		rc = 0; /* a declaration or a comment alone */
	else if (t.open_stream)
		rc = decode_header(s, dir, &t);
	else
		rc = decode_stanza(s, dir, &t);
	tree_free(&t);
	if (rc < 0)
		return proto_session_malformed(s, "out of memory decoding a stanza");
	return 0;
}

static bool is_stream_start(const uint8_t *buf, struct xml_span name)
{
	return xml_span_is(buf, xml_local_name(buf, name), "stream") && name.len > 6;
}

static void framer_reset(struct xmpp_framer *f)
{
	f->active = false;
	f->kind = FRAME_NONE;
}

static enum proto_frame xmpp_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
				   size_t len, size_t *pdu_len)
{
	struct xmpp_framer *f = &state_of(s)->framer[dir];
	struct xml_token k;
	enum xml_result r;
	size_t i, close_len;

	if (!f->active) {
		for (i = 0; i < len && is_ws(data[i]); i++)
			;
		if (i > 0) {
			*pdu_len = i; /* keepalive white space is a PDU of its own */
			return PROTO_FRAME_PDU;
		}
		if (is_stream_close(data, len, &close_len)) {
			if (close_len) {
				*pdu_len = close_len;
				return PROTO_FRAME_PDU;
			}
			return len > 64 ? PROTO_FRAME_GARBAGE : PROTO_FRAME_NEED_MORE;
		}
		xml_tok_init(&f->tok);
		f->active = true;
		f->kind = FRAME_NONE;
	}
	if (len < f->tok.pos) {
		/* The caller moved on without telling us: start over. */
		framer_reset(f);
		return xmpp_frame(s, dir, data, len, pdu_len);
	}
	while ((r = xml_next(&f->tok, data, len, &k)) == XML_OK) {
		switch (k.type) {
		case XML_TOKEN_PI:
			if (f->kind != FRAME_NONE || !xml_span_is(data, k.name, "xml")) {
				proto_session_malformed(s, "processing instruction in a stream");
				goto garbage;
			}
			f->kind = FRAME_DECL;
			break;
		case XML_TOKEN_COMMENT:
			if (k.depth == 0 && f->kind == FRAME_NONE) {
				*pdu_len = k.end;
				framer_reset(f);
				return PROTO_FRAME_PDU;
			}
			break;
		case XML_TOKEN_START:
			if (k.depth != 1)
				break;
			if (is_stream_start(data, k.name)) {
				f->kind = FRAME_HEADER;
			} else if (f->kind == FRAME_DECL) {
				/* A declaration without a stream after it stands alone. */
				*pdu_len = k.start;
				framer_reset(f);
				return PROTO_FRAME_PDU;
			} else {
				f->kind = FRAME_STANZA;
			}
			break;
		case XML_TOKEN_START_CLOSE:
			if (f->kind == FRAME_HEADER && k.depth == 1) {
				*pdu_len = k.end;
				framer_reset(f);
				return PROTO_FRAME_PDU;
			}
			break;
		case XML_TOKEN_EMPTY_CLOSE:
		case XML_TOKEN_END:
			if (k.depth == 0) {
				*pdu_len = k.end;
				framer_reset(f);
				return PROTO_FRAME_PDU;
			}
			break;
		case XML_TOKEN_ATTR:
		case XML_TOKEN_TEXT:
		case XML_TOKEN_CDATA:
			break;
		}
	}
	if (r == XML_NEED_MORE)
		return PROTO_FRAME_NEED_MORE;
	proto_session_malformed(s, f->tok.error);
garbage:
	framer_reset(f);
	return PROTO_FRAME_GARBAGE;
}

/* Does a top-level element we know start at p (or could, if the buffer
 * ends first)? */
static bool plausible_start(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(top_level_names) / sizeof(top_level_names[0]); i++) {
		const char *name = top_level_names[i];
		size_t k = strlen(name);

		if (n - 1 < k) {
			if (memcmp(p + 1, name, n - 1) == 0)
				return true;
			continue;
		}
		if (memcmp(p + 1, name, k) != 0)
			continue;
		if (n - 1 == k)
			return true;
		if (is_ws(p[1 + k]) || p[1 + k] == '>' || p[1 + k] == '/' ||
		    (name[0] == '?' && p[1 + k] == '?'))
			return true;
	}
	return false;
}

static size_t xmpp_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	size_t pos;

	framer_reset(&state_of(s)->framer[dir]);
	for (pos = 0; pos < len; pos++)
		if (data[pos] == '<' && plausible_start(data + pos, len - pos))
			return pos;
	return len;
}

static bool has_at(const uint8_t *p, size_t len, size_t at, const char *lit)
{
	size_t n = strlen(lit);

	return at <= len && len - at >= n && memcmp(p + at, lit, n) == 0;
}

/* Is lit somewhere in p[0, len)? */
static bool contains(const uint8_t *p, size_t len, const char *lit)
{
	size_t n = strlen(lit), i;

	for (i = 0; i + n <= len; i++)
		if (memcmp(p + i, lit, n) == 0)
			return true;
	return false;
}

static enum proto_detect xmpp_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	static const char decl[] = "<?xml", stream[] = "<stream:stream";
	static const char *const stanzas[] = { "<message ", "<presence ", "<presence>", "<iq " };
	size_t i = 0, k;

	(void)dir;
	while (i < len && i < 64 && is_ws(data[i]))
		i++;
	if (i == len)
		return PROTO_DETECT_MAYBE;
	if (len - i < sizeof(stream) - 1) {
		if (memcmp(data + i, decl, len - i < 5 ? len - i : 5) == 0 ||
		    memcmp(data + i, stream, len - i) == 0)
			return PROTO_DETECT_MAYBE;
		return PROTO_DETECT_NO;
	}
	if (has_at(data, len, i, stream))
		return PROTO_DETECT_YES;
	if (has_at(data, len, i, decl)) {
		if (contains(data + i, len - i, stream))
			return PROTO_DETECT_YES;
		/* The declaration may come in a segment of its own. */
		return len - i < 256 ? PROTO_DETECT_MAYBE : PROTO_DETECT_NO;
	}
	/* Picked up mid-stream: a stanza with a jabber attribute shape. */
	for (k = 0; k < sizeof(stanzas) / sizeof(stanzas[0]); k++)
		if (has_at(data, len, i, stanzas[k]) &&
		    (contains(data + i, len - i, " to='") || contains(data + i, len - i, " to=\"") ||
		     contains(data + i, len - i, " from='") ||
		     contains(data + i, len - i, " from=\"")) &&
		    contains(data + i, len - i, ">"))
			return PROTO_DETECT_YES;
	return PROTO_DETECT_NO;
}

/* The bytes of a message stanza with a new body: everything but the body
 * content (and a stale XHTML-IM copy of the old text) is kept. */
static int encode_with_orig(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
			    const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct xtree t;
	const char *text = ev->text;
	char *old = NULL, *nick = NULL;
	bool failed = false, same;
	int body, html, rc = -1;
	size_t start = out->len;
	char *type;

	(void)s;
	if (tree_parse(&t, orig, orig_len) < 0 || !t.n_nodes || !node_is(&t, 0, "message"))
		goto out;
	body = message_body(&t, 0);
	if (body < 0)
		goto out;
	type = attr_text(&t, 0, "type", &failed);
	if (type && strcmp(type, "groupchat") == 0 && dir == IM_DIR_IN) {
		char *from = attr_text(&t, 0, "from", &failed);
		const char *slash = from ? strchr(from, '/') : NULL;

		if (slash)
			nick = text_dup(slash + 1, strlen(slash + 1));
		free(from);
	}
	free(type);
	if (failed)
		goto out;
	old = node_text(&t, body);
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
	html = child(&t, 0, "html", NS_XHTML_IM);
	{
		const struct xnode *b = &t.nodes[body];
		bool ok;

		if (b->empty)
			ok = bytebuf_append(out, orig, b->end - 2) && bytebuf_append_byte(out, '>') &&
			     xml_escape(text, strlen(text), out) == 0 &&
			     bytebuf_append_str(out, "</body>");
		else
			ok = bytebuf_append(out, orig, b->content_start) &&
			     xml_escape(text, strlen(text), out) == 0 &&
			     bytebuf_append(out, orig + b->content_end, b->end - b->content_end);
		if (ok && html >= 0) {
			const struct xnode *h = &t.nodes[html];

			/* The rich copy would still show the old words. */
			ok = (h->start >= b->end
				      ? bytebuf_append(out, orig + b->end, h->start - b->end)
				      : false) &&
			     bytebuf_append_str(out, "<html xmlns='" NS_XHTML_IM "'><body xmlns='" NS_XHTML
						     "'>") &&
			     xml_escape(text, strlen(text), out) == 0 &&
			     bytebuf_append_str(out, "</body></html>") &&
			     bytebuf_append(out, orig + h->end, orig_len - h->end);
		} else if (ok) {
			ok = bytebuf_append(out, orig + b->end, orig_len - b->end);
		}
		rc = ok ? 0 : -1;
	}
out:
	if (rc < 0)
		out->len = start;
	free(old);
	free(nick);
	tree_free(&t);
	return rc;
}

static bool append_attr(struct bytebuf *out, const char *name, const char *value)
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
	size_t n = bare_len(a), i;

	if (n != bare_len(b))
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
			return append_attr(out, "from", ev->remote_address);
		return append_attr(out, "from", ev->remote);
	}
	/* A room occupant's JID ("room@service/nick") says who spoke; the
	 * "nick: " prefix of the logged text is then not part of the body. */
	resource = ev->remote_address ? strchr(ev->remote_address, '/') : NULL;
	if (resource && resource[1] && same_bare_jid(ev->remote_address, ev->remote)) {
		n = strlen(resource + 1);
		if (strncmp(*text, resource + 1, n) == 0 && strncmp(*text + n, ": ", 2) == 0)
			*text += n + 2;
		return append_attr(out, "from", ev->remote_address);
	}
	/* The sender comes back from the "nick: " prefix. */
	colon = strstr(*text, ": ");
	bytebuf_init(&from);
	ok = bytebuf_append_str(&from, ev->remote) && bytebuf_append_byte(&from, '/') &&
	     bytebuf_append(&from, *text, colon ? (size_t)(colon - *text) : 0) &&
	     bytebuf_terminate(&from) && append_attr(out, "from", (char *)from.data);
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
		return append_attr(out, "from", from);
	bytebuf_init(&jid);
	ok = bytebuf_append(&jid, domain, strcspn(domain, "/")) && bytebuf_terminate(&jid) &&
	     jid.len > 0 && append_attr(out, "from", (char *)jid.data);
	bytebuf_free(&jid);
	return ok;
}

static int encode_fresh(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
			struct bytebuf *out)
{
	struct xmpp_state *st = state_of(s);
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
		ok = ok && append_attr(out, "to", ev->remote);
	else if (ev->notice) /* a system notice: a headline from notice_sender or the domain */
		ok = ok && local && append_notice_from(out, ev->notice_from, local);
	else
		ok = ok && append_fresh_from(out, ev, &text);
	if (ok && dir == IM_DIR_IN && local && local[0])
		ok = append_attr(out, "to", local);
	ok = ok &&
	     append_attr(out, "type",
			 ev->notice && dir == IM_DIR_IN ? "headline"
			 : ev->group			 ? "groupchat"
							 : "chat") &&
	     append_attr(out, "id", id) && bytebuf_append_str(out, "><body>") &&
	     xml_escape(text, strlen(text), out) == 0 &&
	     bytebuf_append_str(out, "</body></message>");
	if (!ok) {
		out->len = start;
		return -1;
	}
	return 0;
}

static int xmpp_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
		       const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return -1;
	if (orig)
		return encode_with_orig(s, dir, ev, orig, orig_len, out);
	return encode_fresh(s, dir, ev, out);
}

static int xmpp_session_init(struct proto_session *s)
{
	s->state = calloc(1, sizeof(struct xmpp_state));
	return s->state ? 0 : -1;
}

static void xmpp_session_free(struct proto_session *s)
{
	struct xmpp_state *st = state_of(s);

	if (!st)
		return;
	free(st->stream_to);
	free(st);
	s->state = NULL;
}

/* XEP-0184: a message asking for a receipt (<request/> with an id) gets
 * one from the recipient's client. Delivered locally, in a stanza built
 * afresh without the request, the recipient's client sends none: the
 * receipt comes from here instead, in the name of the address the message
 * was written to, once the message is on its way. */
static int xmpp_local_receipt(struct proto_session *s, const struct im_event *ev,
			      const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct xmpp_state *st = state_of(s);
	size_t start = out->len;
	bool failed = false, ok;
	struct xtree t;
	char *id = NULL, own[32];
	int rc = 0;

	if (!orig || !ev->remote || !s->local_id)
		return -1;
	if (tree_parse(&t, orig, orig_len) < 0 || !t.n_nodes || !node_is(&t, 0, "message")) {
		rc = -1;
		goto out;
	}
	if (child(&t, 0, "request", "urn:xmpp:receipts") < 0)
		goto out; /* none asked for */
	id = attr_text(&t, 0, "id", &failed);
	if (failed) {
		rc = -1;
		goto out;
	}
	if (!id)
		goto out; /* XEP-0184: no id, no receipt */
	snprintf(own, sizeof(own), "imwire-%llu", (unsigned long long)++st->injected);
	ok = bytebuf_append_str(out, "<message") && append_attr(out, "from", ev->remote) &&
	     append_attr(out, "to", s->local_id) && append_attr(out, "id", own) &&
	     bytebuf_append_str(out, "><received xmlns='urn:xmpp:receipts'") &&
	     append_attr(out, "id", id) && bytebuf_append_str(out, "/></message>");
	if (!ok) {
		out->len = start;
		rc = -1;
	} else {
		rc = 1;
	}
out:
	free(id);
	tree_free(&t);
	return rc;
}

static size_t skip_ws(const uint8_t *p, size_t len, size_t i)
{
	while (i < len && is_ws(p[i]))
		i++;
	return i;
}

static bool bytes_at(const uint8_t *p, size_t len, size_t i, const char *s)
{
	size_t n = strlen(s);

	return i <= len && len - i >= n && memcmp(p + i, s, n) == 0;
}

/* Offset of the first occurrence of s in p[from, to), or to. */
static size_t find_bytes(const uint8_t *p, size_t from, size_t to, const char *s)
{
	size_t i;

	for (i = from; i < to; i++)
		if (bytes_at(p, to, i, s))
			return i;
	return to;
}

/* XEP-0198 stream management counts stanzas end to end: a stanza the
 * engine deletes or inserts makes the counts disagree and the server ends
 * the stream. When edits are possible its <sm/> offer in the server's
 * stream features becomes blanks (white space between elements is
 * allowed there, and the length stays), so the client never enables it. */
static bool xmpp_fixup_pdu(struct proto_session *s, enum im_dir dir, uint8_t *pdu, size_t len)
{
	size_t i = skip_ws(pdu, len, 0), tag_end, end;
	bool changed = false;

	if (dir != IM_DIR_IN || !s->edits_possible || !bytes_at(pdu, len, i, "<stream:features"))
		return false;
	while ((i = find_bytes(pdu, i + 1, len, "<sm")) < len) {
		if (i + 3 >= len || !(is_ws(pdu[i + 3]) || pdu[i + 3] == '/' || pdu[i + 3] == '>'))
			continue;
		tag_end = find_bytes(pdu, i, len, ">");
		if (tag_end == len)
			return changed;
		if (find_bytes(pdu, i, tag_end, "urn:xmpp:sm:") == tag_end)
			continue;
		if (pdu[tag_end - 1] == '/') {
			end = tag_end + 1;
		} else {
			end = find_bytes(pdu, tag_end, len, "</sm>");
			if (end == len)
				return changed;
			end += 5;
		}
		memset(pdu + i, ' ', end - i);
		changed = true;
		i = end - 1;
	}
	return changed;
}

const struct proto_module proto_xmpp = {
	.name = "xmpp",
	.id = IMW_PROTO_XMPP,
	.ports = xmpp_ports,
	.n_ports = sizeof(xmpp_ports) / sizeof(xmpp_ports[0]),
	.max_pdu = XMPP_MAX_PDU,
	.detect = xmpp_detect,
	.frame = xmpp_frame,
	.decode = xmpp_decode,
	.resync = xmpp_resync,
	.session_init = xmpp_session_init,
	.session_free = xmpp_session_free,
	.encode = xmpp_encode,
	.fixup_pdu = xmpp_fixup_pdu,
	.local_receipt = xmpp_local_receipt,
};
