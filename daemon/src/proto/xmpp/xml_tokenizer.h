/* A streaming XML tokenizer for XMPP, with bounded state.
 *
 * The caller keeps the bytes from where tokenizing started (an XMPP PDU
 * start) and calls xml_next again whenever more arrived: the tokenizer
 * remembers how far it got and resumes there, so a stanza may be split at
 * any byte. It never copies input and never builds a tree; the state is
 * fixed in size (an element-name stack of hashes up to XML_MAX_DEPTH).
 *
 * What it accepts is the XML subset XMPP allows (RFC 6120 section 11):
 * no DTD (so no entity declarations and no entity expansion beyond the
 * five predefined entities and numeric character references), names,
 * attribute values and nesting depth within fixed limits. Comments and
 * processing instructions are tokenized so the caller can refuse them.
 * Every violation is an error with a short static reason, never a guess. */
#ifndef IMW_PROTO_XML_TOKENIZER_H
#define IMW_PROTO_XML_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/bytebuf.h"

#define XML_MAX_DEPTH 32u
#define XML_MAX_NAME 256u
#define XML_MAX_ATTRS 64u
#define XML_MAX_ATTR_VALUE (64u * 1024u)
/* Comments, processing instructions and CDATA sections. */
#define XML_MAX_MARKUP (64u * 1024u)

enum xml_token_type {
	XML_TOKEN_START,       /* "<name": an element opens; attributes follow */
	XML_TOKEN_ATTR,        /* name="value" inside a start tag; value raw */
	XML_TOKEN_START_CLOSE, /* ">" ends the start tag: content follows */
	XML_TOKEN_EMPTY_CLOSE, /* "/>" ends the start tag and the element */
	XML_TOKEN_END,         /* "</name>" */
	XML_TOKEN_TEXT,        /* character data, raw (references not decoded) */
	XML_TOKEN_CDATA,       /* contents of <![CDATA[...]]> */
	XML_TOKEN_PI,          /* <?target ...?>: name is the target */
	XML_TOKEN_COMMENT,     /* contents of <!--...--> */
};

enum xml_result {
	XML_OK,        /* *tok holds the next token */
	XML_NEED_MORE, /* the buffer ends inside a token */
	XML_ERROR,     /* not well-formed or over a limit: see t->error */
};

/* Offsets into the caller's buffer. */
struct xml_span {
	size_t off;
	size_t len;
};

struct xml_token {
	enum xml_token_type type;
	size_t start, end; /* the token's bytes: [start, end) */
	struct xml_span name;  /* START, END, ATTR, PI */
	struct xml_span value; /* ATTR (between the quotes), TEXT, CDATA, COMMENT, PI data */
	unsigned depth; /* open elements after this token */
	bool refs;      /* ATTR, TEXT: the value holds a reference (so "&") */
};

enum xml_lex_state {
	XML_LEX_CONTENT, /* between tags */
	XML_LEX_IN_TAG,  /* after "<name", before ">" or "/>" */
};

struct xml_tok {
	size_t pos; /* bytes consumed */
	enum xml_lex_state state;
	unsigned depth;
	uint32_t open[XML_MAX_DEPTH]; /* name hash of each open element */
	uint32_t attr_names[XML_MAX_ATTRS]; /* of the current start tag */
	size_t n_attrs;
	const char *error;
};

void xml_tok_init(struct xml_tok *t);

/* The next token of buf[0, len), where buf holds every byte since
 * xml_tok_init (len may only grow between calls). Text is returned in
 * pieces when the buffer ends inside it. */
enum xml_result xml_next(struct xml_tok *t, const uint8_t *buf, size_t len,
			 struct xml_token *tok);

/* Is the span's text equal to lit? Inline: asked with literals many
 * times a stanza, whose length the compiler then knows. */
static inline bool xml_span_is(const uint8_t *buf, struct xml_span s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(buf + s.off, lit, s.len) == 0;
}
/* The local part of a qualified name ("stream" of "stream:stream"). */
struct xml_span xml_local_name(const uint8_t *buf, struct xml_span name);

/* Append raw character data or an attribute value with references
 * replaced. The input must have come through the tokenizer (references
 * already checked); -1 on allocation failure or a bad reference. */
int xml_unescape(const uint8_t *p, size_t n, struct bytebuf *out);
/* Append UTF-8 text escaped for content or for an attribute value in
 * either quote; control characters XML cannot carry become U+FFFD. */
int xml_escape(const char *text, size_t n, struct bytebuf *out);

#endif
