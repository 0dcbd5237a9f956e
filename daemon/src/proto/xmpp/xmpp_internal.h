/* The XMPP module's pieces, private to daemon/src/proto/xmpp/: the
 * per-direction framer state, the element tree one stanza is decoded
 * into (spans into the PDU), namespaces, and what each file offers the
 * others. */
#ifndef IMW_PROTO_XMPP_INTERNAL_H
#define IMW_PROTO_XMPP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/xmpp/xml_tokenizer.h"
#include "util/bytebuf.h"

/* Prosody's default c2s stanza limit is 256 KiB; allow twice that. */
#define XMPP_MAX_PDU (512u * 1024u)
/* Elements and attributes in one stanza: a bound on the tree we build. */
#define XMPP_MAX_NODES 4096u
#define XMPP_MAX_TREE_ATTRS 8192u

#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define NS_CHATSTATES "http://jabber.org/protocol/chatstates"
#define NS_X_EVENT "jabber:x:event"
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

enum frame_kind {
	FRAME_NONE,
	FRAME_DECL,   /* <?xml ...?> seen: the stream start tag should follow */
	FRAME_HEADER, /* inside the <stream:stream ...> start tag */
	FRAME_STANZA,
};

struct xtree_build;

/* One direction's framing. Between PDUs it holds nothing (an idle
 * session costs no tokenizer state); a PDU under way has its tokenizer,
 * and, while it came in one piece, the stanza's tree built from the same
 * tokens, which the decoder of that PDU takes (a stanza is tokenized
 * once; one split over segments is parsed again whole by the decoder).
 * Both blocks come from and go back to the decoding thread's spares
 * (xmpp_tok_new, xmpp_build_new), so a stanza costs no allocation. */
struct xmpp_framer {
	struct xml_tok *tok; /* NULL between PDUs */
	enum frame_kind kind;
	struct xtree_build *build; /* NULL when there is none for this PDU */
};

struct xmpp_state {
	struct xmpp_framer framer[2];
	bool starttls_asked;
	bool tls_required; /* the server's <starttls/> held <required/> */
	bool server_to_server;
	bool closed[2];
	const char *stream_to; /* "to" of the initiator's header: the server (c2s); shared */
	uint64_t injected; /* ids of stanzas we build */
};

/* One stanza as a tree of spans into its PDU. */
struct xattr {
	struct xml_span name, value;
	bool refs; /* the value holds a reference: decoding it is no copy */
};

struct xnode {
	struct xml_span name;
	size_t first_attr, n_attrs;
	int parent, first_child, last_child, next;
	/* The xmlns attribute in force here (its own, else its parent's):
	 * an index into attrs, -1 when none. Set while building, so asking a
	 * node's namespace walks no ancestors. */
	int ns_attr;
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

/* What a tree holds in place before its arrays go to the heap: a chat
 * message with a body, a chat state and a receipt request fits, so the
 * common stanza is parsed without an allocation. */
#define XTREE_INLINE_NODES 12u
#define XTREE_INLINE_ATTRS 24u
#define XTREE_INLINE_TEXTS 12u

/* The arrays point into the tree itself until they outgrow it: a tree is
 * parsed and used where it was declared, never copied. */
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
	struct xnode inline_nodes[XTREE_INLINE_NODES];
	struct xattr inline_attrs[XTREE_INLINE_ATTRS];
	struct xtext inline_texts[XTREE_INLINE_TEXTS];
};

static inline struct xmpp_state *xmpp_state_of(struct proto_session *s)
{
	return s->state;
}

static inline bool xmpp_is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Is the local part of name (after its last ':') "stream"? What
 * xml_local_name would say, looking only at the name's last seven bytes:
 * asked of every stanza's root. */
static inline bool xmpp_local_is_stream(const uint8_t *buf, struct xml_span name)
{
	const uint8_t *p = buf + name.off;

	return name.len >= 6 && memcmp(p + name.len - 6, "stream", 6) == 0 &&
	       (name.len == 6 || p[name.len - 7] == ':');
}

/* ---- xmpp_tree.c: one stanza as a tree ---- */

void xmpp_tree_free(struct xtree *t);
/* Parse a complete PDU. A stream header leaves its root open. */
int xmpp_tree_parse(struct xtree *t, const uint8_t *buf, size_t len);
/* The same tree built token by token as the framer lexes them (buf holds
 * the PDU's bytes). Only for a PDU lexed in one call: its tokens are
 * those a parse of the whole PDU gives (a text the buffer ends inside
 * comes in pieces, and the call then ends wanting more). NULL on
 * allocation failure. */
struct xtree_build *xmpp_build_new(void);
/* A tokenizer for a PDU under way, initialised; NULL on allocation
 * failure. Both it and a build come from the thread's spare when there is
 * one, and their _free makes them the spare again when there is none (so
 * free them on the thread that decodes; any thread is correct). */
struct xml_tok *xmpp_tok_new(void);
void xmpp_tok_free(struct xml_tok *t);
void xmpp_build_free(struct xtree_build *b);
void xmpp_build_token(struct xtree_build *b, const uint8_t *buf, const struct xml_token *k);
/* The PDU ends at pdu_len (the last token given, or the one before). */
void xmpp_build_done(struct xtree_build *b, size_t pdu_len);
/* The built tree of the complete PDU buf[0, len) (t->error set when it
 * failed, as xmpp_tree_parse would), or NULL when b is not that PDU's.
 * Owned by b. */
struct xtree *xmpp_build_tree(struct xtree_build *b, const uint8_t *buf, size_t len);
/* Inline, as xml_span_is: asked with literals, whose lengths the
 * compiler then knows. */
static inline bool xmpp_node_is(const struct xtree *t, int n, const char *name)
{
	return n >= 0 && xml_span_is(t->buf, t->nodes[n].name, name);
}
/* Node n's attribute called name[0, len); NULL when none (or n < 0). */
const struct xattr *xmpp_node_attr_n(const struct xtree *t, int n, const char *name, size_t len);
static inline const struct xattr *xmpp_node_attr(const struct xtree *t, int n, const char *name)
{
	return xmpp_node_attr_n(t, n, name, strlen(name));
}
/* The default namespace in force at node n (empty when none). */
static inline struct xml_span xmpp_node_ns(const struct xtree *t, int n)
{
	struct xml_span none = { 0, 0 };

	if (n < 0 || t->nodes[n].ns_attr < 0)
		return none;
	return t->attrs[t->nodes[n].ns_attr].value;
}
static inline bool xmpp_node_ns_is(const struct xtree *t, int n, const char *ns)
{
	return xml_span_is(t->buf, xmpp_node_ns(t, n), ns);
}
/* First child of n called name (any name when NULL) in namespace ns
 * (any when NULL). */
int xmpp_child_n(const struct xtree *t, int n, const char *name, size_t len, const char *ns);
static inline int xmpp_child(const struct xtree *t, int n, const char *name, const char *ns)
{
	return xmpp_child_n(t, n, name, name ? strlen(name) : 0, ns);
}
/* An attribute's value decoded; NULL when a is NULL or on allocation
 * failure (*failed tells them apart). */
char *xmpp_value_text(const struct xtree *t, const struct xattr *a, bool *failed);
/* The same of node n's attribute called name. */
static inline char *xmpp_attr_text(const struct xtree *t, int n, const char *name, bool *failed)
{
	return xmpp_value_text(t, xmpp_node_attr(t, n, name), failed);
}
/* xmpp_value_is for a value with references: decoded, then compared. */
bool xmpp_value_is_decoded(const struct xtree *t, const struct xattr *a, const char *lit,
			   bool *failed);
/* Is a's text (references decoded) lit, as strcmp would compare
 * xmpp_value_text's copy with it (up to a NUL)? False when a is NULL. A
 * value without a reference (the common case) is compared in place, with
 * no copy; otherwise *failed as xmpp_value_text sets it. Inline: lit is a
 * literal, whose length the compiler knows. */
static inline bool xmpp_value_is(const struct xtree *t, const struct xattr *a, const char *lit,
				 bool *failed)
{
	size_t len = strlen(lit);
	const uint8_t *v;

	if (!a)
		return false;
	if (a->refs)
		return xmpp_value_is_decoded(t, a, lit, failed);
	v = t->buf + a->value.off;
	return a->value.len >= len && memcmp(v, lit, len) == 0 &&
	       (a->value.len == len || v[len] == '\0');
}
/* The same of node n's attribute called name. */
static inline bool xmpp_attr_is(const struct xtree *t, int n, const char *name, const char *lit,
				bool *failed)
{
	return xmpp_value_is(t, xmpp_node_attr(t, n, name), lit, failed);
}
/* The character data directly inside n, decoded. */
char *xmpp_node_text(const struct xtree *t, int n);
char *xmpp_node_text_trimmed(const struct xtree *t, int n);

/* ---- xmpp_decode.c: stanzas to events ---- */

/* "room@service/nick" -> length of "room@service". */
size_t xmpp_bare_len(const char *jid);
/* The body to log: the one without xml:lang, else the first. */
int xmpp_message_body(const struct xtree *t, int root);
bool xmpp_is_stream_close(const uint8_t *p, size_t len, size_t *pdu_len);
int xmpp_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len);

/* ---- xmpp_xfer.c: where file data travel; in-band data ---- */

/* An SI offer or Jingle IBB transport with stream id sid: in-band. */
void xmpp_inband_xfer(const char *sid, struct im_xfer *x);
/* The transport of a Jingle file content (IBB, or SOCKS5 candidates). */
void xmpp_jingle_xfer(struct proto_session *s, enum im_dir dir, const struct xtree *t, int root,
		      int content, struct im_xfer *x);
/* <query xmlns='http://jabber.org/protocol/bytestreams'> with streamhosts:
 * a rendezvous event for each one with an address. */
int xmpp_decode_bytestreams(struct proto_session *s, enum im_dir dir, const struct xtree *t,
			    int root, int query, const char *peer);
/* IBB <open/>, <data/>, <close/> children of root: file pieces. */
int xmpp_decode_ibb(struct proto_session *s, enum im_dir dir, const struct xtree *t, int root);

/* ---- xmpp_frame.c: framing, resync, detection ---- */

enum proto_frame xmpp_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			    size_t len, size_t *pdu_len);
size_t xmpp_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len);
/* What a direction's framing holds (session end). */
void xmpp_framer_free(struct xmpp_framer *f);
enum proto_detect xmpp_detect(const uint8_t *data, size_t len, enum im_dir dir);

/* ---- xmpp_encode.c: events to stanzas ---- */

bool xmpp_append_attr(struct bytebuf *out, const char *name, const char *value);
int xmpp_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
		const uint8_t *orig, size_t orig_len, struct bytebuf *out);

/* ---- xmpp_receipt.c: local delivery receipts ---- */

/* XEP-0184: a message asking for a receipt (<request/> with an id) gets
 * one from the recipient's client. Delivered locally, in a stanza built
 * afresh without the request, the recipient's client sends none: the
 * receipt comes from here instead, in the name of the address the message
 * was written to, once the message is on its way. */
int xmpp_local_receipt(struct proto_session *s, const struct im_event *ev, const uint8_t *orig,
		       size_t orig_len, struct bytebuf *out);

/* ---- xmpp_sm.c: stream management under edits ---- */

/* XEP-0198 stream management counts stanzas end to end: a stanza the
 * engine deletes or inserts makes the counts disagree and the server ends
 * the stream. When edits are possible its <sm/> offer in the server's
 * stream features becomes blanks (white space between elements is
 * allowed there, and the length stays), so the client never enables it. */
bool xmpp_fixup_pdu(struct proto_session *s, enum im_dir dir, uint8_t *pdu, size_t len);

#endif
