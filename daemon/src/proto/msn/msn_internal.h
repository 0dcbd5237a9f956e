/* The MSN module's pieces, private to daemon/src/proto/msn/: a command
 * line as spans, a MIME payload, the switchboard's participants and the
 * per-session state, and what each file offers the others. */
#ifndef IMW_PROTO_MSN_INTERNAL_H
#define IMW_PROTO_MSN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/msn/msn_p2p.h"
#include "proto/proto.h"
#include "util/bytebuf.h"
#include "util/text.h"

/* The largest payloads are contact lists (ADL, GCF): well under this. */
#define MSN_MAX_PDU (1024u * 1024u)
/* Long lines exist (ILN with an MSN object); a line longer than this is not MSNP. */
#define MSN_MAX_LINE 16384u
#define MSN_MAX_ARGS 24u
#define MSN_MAX_LEN_DIGITS 7u
/* An MSNSLP message split over P2P chunks is reassembled up to this. */
#define MSN_MAX_SLP (64u * 1024u)
/* Switchboards are small; a roster larger than this is not believable. */
#define MSN_MAX_PEERS 64u
#define MSN_DEFAULT_FORMAT "FN=Segoe%20UI; EF=; CO=0; CS=1; PF=0"

struct span {
	const uint8_t *p;
	size_t len;
};

struct msn_line {
	char cmd[4];
	struct span args[MSN_MAX_ARGS]; /* the first MSN_MAX_ARGS arguments */
	size_t n_args;                  /* all arguments, even those not kept */
	struct span last;               /* the last argument */
	size_t line_len;                /* including the line terminator */
};

enum msn_scan {
	MSN_SCAN_OK,
	MSN_SCAN_SHORT,
	MSN_SCAN_BAD,
};

enum msn_role {
	MSN_ROLE_UNKNOWN,
	MSN_ROLE_NS, /* notification server: login, presence, contact lists */
	MSN_ROLE_SB, /* switchboard: one conversation */
};

struct msn_peer {
	char *id;
	size_t id_len; /* strlen(id), asked on every incoming message */
};

/* An MSNSLP message being reassembled from P2P chunks. */
struct msn_slp_buf {
	struct bytebuf buf;
	uint32_t id;
	uint64_t total;
	bool active;
};

/* A P2P data session being followed (msn_xfer.c). */
struct msn_p2p_data {
	bool open;
	uint32_t session_id;
	uint64_t next; /* the file offset expected next */
};

struct msn_state {
	enum msn_role role;
	char *sb_session;
	struct msn_peer *peers;
	size_t n_peers;
	size_t cap_peers;
	char *group_id; /* set once, when the switchboard becomes a group */
	char *called;   /* CAL target before anyone joined */
	const char *format[2]; /* last X-MMS-IM-Format per direction, for injection; shared */
	size_t format_len[2];  /* strlen(format[dir]): compared with every message's */
	unsigned long trid; /* last client transaction id */
	bool logged_in;
	struct msn_slp_buf slp[2];
	struct msn_p2p_data p2p_data[2];
};

/* The headers decode asks of every MSG are noted while the header block
 * is split (one pass over its lines), each the first such header, its
 * value trimmed as msn_mime_header would give it. */
struct msn_mime {
	struct span headers; /* all header lines */
	struct span body;
	size_t body_off; /* offset of the body in the payload */
	struct span content_type, format, typing_user;
	bool has_content_type, has_format, has_typing_user;
};

static inline struct msn_state *msn_state_of(struct proto_session *s)
{
	return s->state;
}

/* ---- msn_xfer.c: where a file travels, and its bytes ---- */

void msn_slp_xfer(const struct msn_slp_offer *o, struct im_xfer *x);
/* A P2P chunk of a data session (session id not 0). */
void msn_p2p_file_data(struct proto_session *s, enum im_dir dir, const struct msn_p2p_chunk *c);

/* ---- msn_line.c: command lines and MIME payloads ---- */

/* Eight bytes at p as a word, only ever compared with another such word. */
static inline uint64_t msn_load8(const void *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	return x;
}

/* 0x20 in each byte of w that is an ASCII letter, else 0 (bytes of w
 * below 0x80; no carry or borrow crosses a byte). With w from a literal
 * the compiler folds it to a constant. */
static inline uint64_t msn_letter_bits(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t t = (w | ones * 0x20) & ~highs;

	return ((t + ones * (0x80 - 'a')) & (ones * (0x80 + 'z') - t) & highs) >> 2;
}

/* The eight bytes at p are lit's, letters in either case. */
static inline bool msn_word_is_ci(const uint8_t *p, const char *lit)
{
	uint64_t x = msn_load8(p), y = msn_load8(lit), m = msn_letter_bits(y);

	return (x | m) == (y | m);
}

/* The n bytes at p are lit (ASCII, n bytes long), letters in either case
 * (what text_has_prefix_ci decides), eight at a time; the last word may
 * overlap the one before. With a literal and its length, the words of
 * lit and their letter masks fold to constants. */
static inline bool msn_bytes_is_ci(const uint8_t *p, const char *lit, size_t n)
{
	size_t i;

	if (n < 8)
		return text_has_prefix_ci((const char *)p, n, lit);
	for (i = 0; i + 8 < n; i += 8)
		if (!msn_word_is_ci(p + i, lit + i))
			return false;
	return msn_word_is_ci(p + n - 8, lit + n - 8);
}

/* Is s the text lit (exactly, or ignoring ASCII case)? Inline: asked
 * with literals several times a message, whose length the compiler then
 * knows, so a span of another length costs no call. */
static inline bool msn_span_is(struct span s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

static inline bool msn_span_is_ci(struct span s, const char *lit)
{
	return s.len == strlen(lit) && msn_bytes_is_ci(s.p, lit, s.len);
}
bool msn_span_digits(struct span s, size_t max_digits);
uint64_t msn_span_number(struct span s);
bool msn_span_has(struct span s, uint8_t c);
/* "alice@example.com;{GUID}" -> "alice@example.com"; "1:bob@x" -> "bob@x". */
struct span msn_user_id(struct span s);
/* Inline, as one word compare: decode asks a line for one command after
 * another. cmd is three letters and their NUL. */
static inline bool msn_cmd_is(const struct msn_line *l, const char *cmd)
{
	uint32_t a, b;

	memcpy(&a, l->cmd, 4);
	memcpy(&b, cmd, 4);
	return a == b;
}
bool msn_cmd_known(const uint8_t *p);
/* Parse the command line at data. Only the arguments below n_args (and
 * MSN_MAX_ARGS) are set: msn_arg is how they are read. */
enum msn_scan msn_scan_line(const uint8_t *data, size_t len, struct msn_line *l);
/* Payload length announced by a line, or false when it has none. */
bool msn_line_payload(const struct msn_line *l, size_t *payload_len);
/* What framing needs of the line at data, its arguments not split: as
 * msn_scan_line, then *line_len, and *has_payload and *payload_len as
 * msn_line_payload would say. */
enum msn_scan msn_scan_frame(const uint8_t *data, size_t len, size_t *line_len, bool *has_payload,
			     size_t *payload_len);
static inline struct span msn_no_span(void)
{
	struct span none = { (const uint8_t *)"", 0 };

	return none;
}

static inline struct span msn_arg(const struct msn_line *l, size_t i)
{
	return i < l->n_args && i < MSN_MAX_ARGS ? l->args[i] : msn_no_span();
}
/* Split a MIME payload at its blank line and note its Content-Type,
 * X-MMS-IM-Format and TypingUser headers on the way. */
void msn_mime_split(const uint8_t *p, size_t n, struct msn_mime *m);
/* Value of a header (case-insensitive name) within a header block. */
bool msn_mime_header(struct span headers, const char *name, struct span *value);
/* The media type of a Content-Type value, without parameters. */
struct span msn_media_type(struct span ct);
bool msn_charset_is_latin1(struct span ct);
char *msn_decode_body(struct span ct, struct span body);

/* ---- msn_peers.c: participants and the group id ---- */

struct msn_peer *msn_peer_find(struct msn_state *st, struct span id);
/* 1 when added, 0 when already there (or the local user), -1 on failure. */
int msn_peer_add(struct proto_session *s, struct span id);
/* The same, and *found the participant id names (added or already
 * there), NULL for the local user or an empty id; valid until the
 * participants change. */
int msn_peer_add_find(struct proto_session *s, struct span id, struct msn_peer **found);
bool msn_peer_remove(struct msn_state *st, struct span id);
/* Whom a message of this switchboard is with. */
const char *msn_conversation_remote(struct msn_state *st);
bool msn_set_local(struct proto_session *s, struct span id);
bool msn_set_str_span(char **field, struct span v);
int msn_out_of_memory(struct proto_session *s, struct im_event *ev);
/* An event whose remote is a user or this switchboard's group. */
int msn_emit_about(struct proto_session *s, enum im_dir dir, enum im_kind kind, struct span who,
		   const char *text);

/* ---- msn_decode.c: commands to events ---- */

int msn_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len);

/* ---- msn_frame.c: framing, resync, detection ---- */

enum proto_frame msn_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			   size_t len, size_t *pdu_len);
size_t msn_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len);
enum proto_detect msn_detect(const uint8_t *data, size_t len, enum im_dir dir);

/* ---- msn_encode.c: events to MSG commands ---- */

int msn_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
	       const uint8_t *orig, size_t orig_len, struct bytebuf *out);

/* ---- msn_receipt.c: local delivery receipts ---- */

/* A client's "MSG TrID ack-type length" asks the switchboard for a reply
 * by its ack type (MSNP2+, msnp-wiki commands/msg.md, ack.md, nak.md):
 * U none; N a "NAK TrID" only if delivery failed; A an "ACK TrID" once
 * delivered; D (MSNP9+) like A, or error 282 for a malformed payload.
 * A message imwire delivered itself was delivered: A and D get their ACK. */
int msn_local_receipt(struct proto_session *s, const struct im_event *ev, const uint8_t *orig,
		      size_t orig_len, struct bytebuf *out);

#endif
