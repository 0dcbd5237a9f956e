/* The IMIP module's pieces, private to daemon/src/proto/imip/: a block as
 * parsed (type, size, header lines, body), charsets, the per-session
 * state with the blocks still waiting for their ACK, and what each file
 * offers the others. */
#ifndef IMW_PROTO_IMIP_INTERNAL_H
#define IMW_PROTO_IMIP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"
#include "util/bytebuf.h"

/* A block claiming more than this is not IMIP (messages are short text). */
#define IMIP_MAX_PDU (1024u * 1024u)
/* Longest type line ("LIST ACCEPT 12345 "nick"") we wait for. */
#define IMIP_MAX_TYPE_LINE 512u
#define IMIP_MAX_TYPE_WORD 16u
/* Enough digits for IMIP_MAX_PDU; more is garbage even with leading zeros. */
#define IMIP_MAX_SIZE_DIGITS 8u
/* Outgoing block IDs remembered until the server refers to them. A MESG
 * with "ACK-Type: errors-only" is never acknowledged, so old entries are
 * simply overwritten. */
#define IMIP_PENDING 64u
/* Blocks we inject get IDs from a range a client is unlikely to reach. */
#define IMIP_INJECT_ID_BASE 900000u

struct span {
	const uint8_t *p;
	size_t len;
};

struct imip_pending {
	char *id;
	char *type;   /* "MESG", "LIST", "LOGN"... */
	char *target; /* the user the block was about, "" if none */
};

struct imip_state {
	struct imip_pending pending[IMIP_PENDING];
	size_t next_pending;
	uint64_t injected;
};

/* The two lines before the block contents. */
struct imip_head {
	struct span type; /* the block type word */
	struct span args; /* the rest of the type line, spaces trimmed */
	struct span type_line; /* type line including its terminator */
	struct span size_eol;  /* the size line's terminator: "\r\n" or "\n" */
	size_t size;
	size_t head_len; /* bytes of both lines */
};

/* A parsed block; spans point into the PDU. */
struct imip_block {
	struct imip_head head;
	const uint8_t *pdu;
	size_t len;
	size_t headers_off;
	size_t headers_end; /* where the empty line (or the block) starts */
	bool has_blank;
	bool last_header_unterminated;
	size_t body_off;
	size_t body_len;
};

enum imip_scan {
	IMIP_SCAN_OK,
	IMIP_SCAN_SHORT, /* consistent so far, more bytes needed */
	IMIP_SCAN_BAD,
};

enum imip_charset {
	IMIP_CS_UTF8,
	IMIP_CS_LATIN1,
	IMIP_CS_UTF16BE,
	IMIP_CS_UTF16LE,
	IMIP_CS_CP1250,
	IMIP_CS_UNKNOWN,
};

static inline struct imip_state *imip_state_of(struct proto_session *s)
{
	return s->state;
}

/* ---- imip_block.c: blocks, headers, charsets ---- */

bool imip_span_eq(struct span s, const char *lit);
bool imip_span_eq_ci(struct span s, const char *lit);
bool imip_is_space(uint8_t c);
struct span imip_span_trim(struct span s);
/* The user id at the start of a value: `12345 "nick"` gives 12345. */
struct span imip_span_first_token(struct span s);
/* Parse the type and size lines at data. With known_only, only block types
 * from the text count: resync and detect use that, framing does not, so
 * blocks nobody has documented yet still pass through. */
enum imip_scan imip_scan_head(const uint8_t *data, size_t len, bool known_only,
			      struct imip_head *h);
int imip_block_parse(const uint8_t *pdu, size_t len, struct imip_block *b, const char **why);
/* Value of the n-th header called name (case-insensitive). Lines without
 * a colon ("Registration" in the server's HELO) are headers without value. */
bool imip_block_header_nth(const struct imip_block *b, const char *name, size_t nth,
			   struct span *value);
bool imip_block_header(const struct imip_block *b, const char *name, struct span *value);
struct span imip_block_body(const struct imip_block *b);
enum imip_charset imip_block_charset(const struct imip_block *b);
const char *imip_block_content_type(const struct imip_block *b);
char *imip_decode_text(enum imip_charset cs, struct span s);
/* UTF-8 text into the block's charset. Characters the charset cannot
 * carry become '?': the block's headers are kept, so its charset is too. */
int imip_encode_text(enum imip_charset cs, const char *text, struct bytebuf *out);

/* ---- imip_decode.c: blocks to events ---- */

void imip_pending_clear(struct imip_pending *p);
int imip_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len);

/* ---- imip_frame.c: framing, resync, detection ---- */

enum proto_frame imip_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			    size_t len, size_t *pdu_len);
/* The first offset where a known block type and a size line begin (or
 * could begin, when the buffer ends first). Not only at line starts: the
 * broken block before may have ended mid-line. Never an offset where
 * frame would say garbage, so resync after garbage always moves on. */
size_t imip_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len);
enum proto_detect imip_detect(const uint8_t *data, size_t len, enum im_dir dir);

/* ---- imip_encode.c: events to blocks ---- */

int imip_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
		const uint8_t *orig, size_t orig_len, struct bytebuf *out);

/* ---- imip_receipt.c: local delivery receipts ---- */

/* Clients send MESG with "ACK-Type: errors-only", and the server then
 * answers only a failure (seeds/imip-protocol-en.txt): nothing to make up
 * for a delivered message. What the server sends for any other ACK-Type
 * is not documented, so such a message gets no receipt built (-1). */
int imip_local_receipt(struct proto_session *s, const struct im_event *ev, const uint8_t *orig,
		       size_t orig_len, struct bytebuf *out);

#endif
