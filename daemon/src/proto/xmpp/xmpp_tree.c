/* One complete stanza as a small tree of elements, attributes and text
 * pieces, all spans into its PDU and bounded by the PDU's size, and the
 * questions decode and encode ask of it (names, namespaces, attributes,
 * children, text with references decoded). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "proto/xmpp/xmpp_internal.h"
#include "util/text.h"

/* Grow an array of elem-size items to hold one more; false on failure.
 * An array still in the tree's own storage (inline) moves to the heap. */
static bool grow(void **arr, size_t *cap, size_t n, size_t elem, size_t limit, const void *inline_buf)
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
	if (*arr == inline_buf) {
		p = malloc(ncap * elem);
		if (p)
			memcpy(p, *arr, n * elem);
	} else {
		p = realloc(*arr, ncap * elem);
	}
	if (!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

void xmpp_tree_free(struct xtree *t)
{
	if (t->nodes != t->inline_nodes)
		free(t->nodes);
	if (t->attrs != t->inline_attrs)
		free(t->attrs);
	if (t->texts != t->inline_texts)
		free(t->texts);
	t->nodes = NULL;
	t->attrs = NULL;
	t->texts = NULL;
	t->n_nodes = t->n_attrs = t->n_texts = 0;
	t->cap_nodes = t->cap_attrs = t->cap_texts = 0;
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

	if (t->n_nodes >= t->cap_nodes &&
	    !grow((void **)&t->nodes, &t->cap_nodes, t->n_nodes, sizeof(*t->nodes),
		  XMPP_MAX_NODES, t->inline_nodes))
		return tree_fail(t, "too many elements in one stanza");
	idx = (int)t->n_nodes++;
	n = &t->nodes[idx];
	memset(n, 0, sizeof(*n));
	n->name = tok->name;
	n->first_attr = t->n_attrs;
	n->parent = parent;
	n->first_child = n->last_child = n->next = -1;
	n->ns_attr = -1;
	n->start = tok->start;
	if (parent >= 0) {
		struct xnode *p = &t->nodes[parent];

		n->ns_attr = p->ns_attr;

		if (p->last_child >= 0)
			t->nodes[p->last_child].next = idx;
		else
			p->first_child = idx;
		p->last_child = idx;
	}
	return idx;
}

static int tree_add_attr(struct xtree *t, int cur, const struct xml_token *k)
{
	if (t->n_attrs >= t->cap_attrs &&
	    !grow((void **)&t->attrs, &t->cap_attrs, t->n_attrs, sizeof(*t->attrs),
		  XMPP_MAX_TREE_ATTRS, t->inline_attrs))
		return tree_fail(t, "too many attributes in one stanza");
	t->attrs[t->n_attrs].name = k->name;
	t->attrs[t->n_attrs].value = k->value;
	t->attrs[t->n_attrs].refs = k->refs;
	/* The tokenizer refused a second attribute of one name: this is
	 * the node's only xmlns. */
	if (xml_span_is(t->buf, k->name, "xmlns"))
		t->nodes[cur].ns_attr = (int)t->n_attrs;
	t->n_attrs++;
	t->nodes[cur].n_attrs++;
	return 0;
}

/* A piece of character data directly inside element cur. */
static int tree_add_text(struct xtree *t, int cur, const struct xml_token *k)
{
	if (t->n_texts >= t->cap_texts &&
	    !grow((void **)&t->texts, &t->cap_texts, t->n_texts, sizeof(*t->texts),
		  XMPP_MAX_NODES, t->inline_texts))
		return tree_fail(t, "too many text pieces in one stanza");
	t->texts[t->n_texts].node = cur;
	t->texts[t->n_texts].raw = k->value;
	t->texts[t->n_texts].cdata = k->type == XML_TOKEN_CDATA;
	t->n_texts++;
	t->nodes[cur].n_text++;
	t->nodes[cur].text_raw_exact = t->nodes[cur].n_text == 1 && k->type == XML_TOKEN_TEXT &&
				       !k->refs;
	return 0;
}

static void tree_init(struct xtree *t, const uint8_t *buf, size_t len)
{
	t->buf = buf;
	t->len = len;
	t->nodes = t->inline_nodes;
	t->attrs = t->inline_attrs;
	t->texts = t->inline_texts;
	t->n_nodes = t->n_attrs = t->n_texts = 0;
	t->cap_nodes = XTREE_INLINE_NODES;
	t->cap_attrs = XTREE_INLINE_ATTRS;
	t->cap_texts = XTREE_INLINE_TEXTS;
	t->has_decl = t->open_stream = false;
	t->error = NULL;
}

/* Where building stands between two tokens. */
struct tree_cursor {
	int cur;        /* the open element tokens go into, -1 outside the root */
	bool root_done; /* the root element ended */
};

/* One token into the tree (t->buf holds its bytes); -1 with t->error.
 * Inlined into its two callers (GCC and clang, as the tokenizer's
 * vectors): the framer's runs for every token of every stanza, and a
 * call a token was a measurable part of building. */
static inline __attribute__((always_inline)) int tree_step(struct xtree *t, struct tree_cursor *c,
							   const struct xml_token *k)
{
	int idx;

	if (c->root_done && k->type != XML_TOKEN_TEXT)
		return tree_fail(t, "more than one element in a PDU");
	switch (k->type) {
	case XML_TOKEN_PI:
		if (t->n_nodes || !xml_span_is(t->buf, k->name, "xml"))
			return tree_fail(t, "processing instruction in a stream");
		t->has_decl = true;
		break;
	case XML_TOKEN_COMMENT:
		break;
	case XML_TOKEN_START:
		idx = tree_add_node(t, c->cur, k);
		if (idx < 0)
			return -1;
		c->cur = idx;
		break;
	case XML_TOKEN_ATTR:
		if (tree_add_attr(t, c->cur, k) < 0)
			return -1;
		break;
	case XML_TOKEN_START_CLOSE:
		t->nodes[c->cur].content_start = k->end;
		if (k->depth == 1 && c->cur == 0 &&
		    xmpp_local_is_stream(t->buf, t->nodes[0].name)) {
			t->open_stream = true;
			t->nodes[0].end = k->end;
			c->root_done = true;
		}
		break;
	case XML_TOKEN_EMPTY_CLOSE:
		t->nodes[c->cur].empty = true;
		t->nodes[c->cur].content_start = t->nodes[c->cur].content_end = k->end;
		t->nodes[c->cur].end = k->end;
		c->root_done = k->depth == 0;
		c->cur = t->nodes[c->cur].parent;
		break;
	case XML_TOKEN_END:
		t->nodes[c->cur].content_end = k->start;
		t->nodes[c->cur].end = k->end;
		c->root_done = k->depth == 0;
		c->cur = t->nodes[c->cur].parent;
		break;
	case XML_TOKEN_TEXT:
	case XML_TOKEN_CDATA:
		if (c->cur < 0)
			break; /* white space around the element */
		if (tree_add_text(t, c->cur, k) < 0)
			return -1;
		break;
	}
	return 0;
}

static int tree_finish(struct xtree *t, const struct tree_cursor *c)
{
	if (!c->root_done && t->n_nodes)
		return tree_fail(t, "stanza ends before its end tag");
	return 0;
}

int xmpp_tree_parse(struct xtree *t, const uint8_t *buf, size_t len)
{
	struct tree_cursor c = { -1, false };
	struct xml_tok tok;
	struct xml_token k;
	enum xml_result r;

	tree_init(t, buf, len);
	xml_tok_init(&tok);
	while ((r = xml_next(&tok, buf, len, &k)) == XML_OK)
		if (tree_step(t, &c, &k) < 0)
			return -1;
	if (r == XML_ERROR)
		return tree_fail(t, tok.error);
	return tree_finish(t, &c);
}

struct xtree_build {
	struct xtree t;
	struct tree_cursor c;
	bool failed;    /* t.error says why; no token is taken after */
	size_t pdu_len; /* 0 until the framer found the PDU's end */
};

/* The blocks a PDU under way needs (its tokenizer, its tree under
 * construction: about 2.9 KiB) are the thread's spares while no PDU
 * needs them. A stanza that comes whole, the common one, takes them at
 * its first byte and gives them back when it is decoded, so the sessions
 * decoding on one thread share one of each instead of a malloc and free
 * of both a stanza, and an idle session still holds none. A spare is
 * only ever used by the thread that holds it; a thread's spares are
 * freed when it ends. */
struct xmpp_spares {
	struct xml_tok *tok;
	struct xtree_build *build;
};

static _Thread_local struct xmpp_spares spares;
static _Thread_local bool spares_registered;
static pthread_key_t spares_key;
static pthread_once_t spares_once = PTHREAD_ONCE_INIT;
static bool spares_key_ok;

static void spares_drop(void *arg)
{
	struct xmpp_spares *sp = arg;

	free(sp->tok);
	free(sp->build); /* its arrays went back to their place when it was kept */
	sp->tok = NULL;
	sp->build = NULL;
	spares_registered = false;
}

static void spares_make_key(void)
{
	spares_key_ok = pthread_key_create(&spares_key, spares_drop) == 0;
}

/* May this thread keep a spare? The first time, its thread-exit release
 * is set up; false when it cannot be (the block is then freed). */
static bool spares_may_keep(void)
{
	if (spares_registered)
		return true;
	if (pthread_once(&spares_once, spares_make_key) != 0 || !spares_key_ok)
		return false;
	spares_registered = pthread_setspecific(spares_key, &spares) == 0;
	return spares_registered;
}

struct xml_tok *xmpp_tok_new(void)
{
	struct xml_tok *t = spares.tok;

	if (t)
		spares.tok = NULL;
	else if (!(t = malloc(sizeof(*t))))
		return NULL;
	xml_tok_init(t);
	return t;
}

void xmpp_tok_free(struct xml_tok *t)
{
	if (!t)
		return;
	if (!spares.tok && spares_may_keep())
		spares.tok = t;
	else
		free(t);
}

struct xtree_build *xmpp_build_new(void)
{
	struct xtree_build *b = spares.build;

	if (b)
		spares.build = NULL;
	else if (!(b = malloc(sizeof(*b))))
		return NULL;
	tree_init(&b->t, NULL, 0);
	b->c = (struct tree_cursor){ -1, false };
	b->failed = false;
	b->pdu_len = 0;
	return b;
}

void xmpp_build_free(struct xtree_build *b)
{
	if (!b)
		return;
	xmpp_tree_free(&b->t); /* a spare keeps no array of a big stanza */
	if (!spares.build && spares_may_keep())
		spares.build = b;
	else
		free(b);
}

void xmpp_build_token(struct xtree_build *b, const uint8_t *buf, const struct xml_token *k)
{
	if (b->failed)
		return;
	b->t.buf = buf;
	if (tree_step(&b->t, &b->c, k) < 0)
		b->failed = true;
}

void xmpp_build_done(struct xtree_build *b, size_t pdu_len)
{
	if (!b->failed && tree_finish(&b->t, &b->c) < 0)
		b->failed = true;
	b->pdu_len = pdu_len;
	b->t.len = pdu_len;
}

struct xtree *xmpp_build_tree(struct xtree_build *b, const uint8_t *buf, size_t len)
{
	if (!b || !b->pdu_len || b->pdu_len != len)
		return NULL;
	b->t.buf = buf;
	return &b->t;
}

const struct xattr *xmpp_node_attr_n(const struct xtree *t, int n, const char *name, size_t len)
{
	const struct xattr *a, *end;

	if (n < 0)
		return NULL;
	a = &t->attrs[t->nodes[n].first_attr];
	for (end = a + t->nodes[n].n_attrs; a < end; a++)
		/* the first byte before memcmp: most names differ there */
		if (a->name.len == len && len && t->buf[a->name.off] == (uint8_t)name[0] &&
		    memcmp(t->buf + a->name.off, name, len) == 0)
			return a;
	return NULL;
}

int xmpp_child_n(const struct xtree *t, int n, const char *name, size_t len, const char *ns)
{
	int c;

	if (n < 0)
		return -1;
	for (c = t->nodes[n].first_child; c >= 0; c = t->nodes[c].next) {
		struct xml_span cn = t->nodes[c].name;

		if (name && (cn.len != len || (len && t->buf[cn.off] != (uint8_t)name[0]) ||
			     memcmp(t->buf + cn.off, name, len) != 0))
			continue;
		if (!ns || xmpp_node_ns_is(t, c, ns))
			return c;
	}
	return -1;
}

char *xmpp_value_text(const struct xtree *t, const struct xattr *a, bool *failed)
{
	struct bytebuf b;

	if (!a)
		return NULL;
	if (!a->refs) {
		/* Nothing to decode: the value as it is. */
		char *copy = text_dup((const char *)t->buf + a->value.off, a->value.len);

		if (!copy)
			*failed = true;
		return copy;
	}
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

bool xmpp_value_is_decoded(const struct xtree *t, const struct xattr *a, const char *lit,
			   bool *failed)
{
	char *text = xmpp_value_text(t, a, failed);
	bool same = text && strcmp(text, lit) == 0;

	free(text);
	return same;
}

char *xmpp_node_text(const struct xtree *t, int n)
{
	struct bytebuf b;
	size_t i;
	char *s;

	if (n >= 0 && t->nodes[n].text_raw_exact) {
		/* One piece without references (the common body): straight from
		 * the PDU, without an intermediate copy. */
		for (i = 0; i < t->n_texts; i++)
			if (t->texts[i].node == n)
				return text_utf8_or_latin1(t->buf + t->texts[i].raw.off,
							   t->texts[i].raw.len);
	}
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

char *xmpp_node_text_trimmed(const struct xtree *t, int n)
{
	char *s = xmpp_node_text(t, n);
	size_t a = 0, z;

	if (!s)
		return NULL;
	z = strlen(s);
	while (a < z && xmpp_is_ws((uint8_t)s[a]))
		a++;
	while (z > a && xmpp_is_ws((uint8_t)s[z - 1]))
		z--;
	memmove(s, s + a, z - a);
	s[z - a] = '\0';
	return s;
}
