/* Minimal edits of a message text where it lies in its PDU.
 *
 * A module's text is often not its wire bytes: XML escapes it, OSCAR may
 * carry it in UCS-2 or Latin-1, TOC quotes it, IRC marks CTCP with \x01.
 * Re-encoding the whole text after a policy changed a word would change
 * bytes the policy never touched (an &apos; for a ', a ':' before a one-word
 * trailer), and may change the length. text_splice instead walks the wire
 * bytes one unit at a time with the module's codec, finds which units'
 * text changed, and writes only those anew: every other byte stays as it
 * was, and a same-length change of the text in an encoding where the
 * changed characters keep their size keeps the PDU's length.
 *
 * The codec says what each run of wire bytes is: literal (the bytes are
 * their text, so an edit may start or end inside the run), an atom (an
 * entity, a Latin-1 byte, a UTF-16 unit: rewritten whole or not at all) or
 * markup (a tag, a CTCP mark: no text, always kept; an edit that would
 * have to move it is refused). */
#ifndef IMW_PROTO_TEXT_SPLICE_H
#define IMW_PROTO_TEXT_SPLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/bytebuf.h"

enum text_unit_kind {
	TEXT_LITERAL,
	TEXT_ATOM,
	TEXT_MARKUP,
};

struct text_unit {
	size_t raw_len; /* > 0 */
	enum text_unit_kind kind;
	int ctx; /* handed back to encode: where the unit was (inside CDATA...) */
};

struct text_codec {
	/* The unit at raw[pos] (pos < len): fill *u and append its text (UTF-8)
	 * to text. False when the bytes are not this encoding. */
	bool (*next)(void *arg, const uint8_t *raw, size_t len, size_t pos, struct text_unit *u,
		     struct bytebuf *text);
	/* Append text[0, n) (whole UTF-8 sequences) as wire bytes for context
	 * ctx; false when the encoding cannot carry it. */
	bool (*encode)(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out);
	void *arg;
};

/* raw[0, raw_len) holds, through codec, the text old[0, old_len). Append
 * to out the wire bytes of new_text[0, new_len) in its place: the bytes of
 * every unit whose text is unchanged are copied, the changed stretches
 * are encoded anew. Returns 0, or -1 (out as it was) when the codec's
 * reading of raw is not old, when a change would move markup, when the
 * encoding cannot carry the new text, or on allocation failure: the
 * caller then re-encodes the text whole, as it did before. */
int text_splice(const struct text_codec *codec, const uint8_t *raw, size_t raw_len,
		const char *old, size_t old_len, const char *new_text, size_t new_len,
		struct bytebuf *out);

/* Units of the common encodings. */
/* Bytes that should be UTF-8, invalid ones Latin-1 (text_utf8_or_latin1). */
bool text_unit_utf8_or_latin1(void *arg, const uint8_t *raw, size_t len, size_t pos,
			      struct text_unit *u, struct bytebuf *text);
/* ISO-8859-1 (text_latin1_to_utf8). */
bool text_unit_latin1(void *arg, const uint8_t *raw, size_t len, size_t pos,
		      struct text_unit *u, struct bytebuf *text);
/* UCS-2/UTF-16 big-endian (text_utf16be_to_utf8). */
bool text_unit_utf16be(void *arg, const uint8_t *raw, size_t len, size_t pos,
		       struct text_unit *u, struct bytebuf *text);

/* HTML text: references are atoms, tags and comments markup (the text a
 * reader sees, as Gadu-Gadu's rich text part carries it). */
bool text_unit_html(void *arg, const uint8_t *raw, size_t len, size_t pos, struct text_unit *u,
		    struct bytebuf *text);
/* Escapes < > & and double quotes. */
bool text_encode_html(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out);

/* Encoders: UTF-8 as it is; Latin-1 (false past U+00FF); UTF-16BE. */
bool text_encode_utf8(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out);
bool text_encode_latin1(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out);
bool text_encode_utf16be(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out);

#endif
