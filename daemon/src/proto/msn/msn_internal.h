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
	unsigned long trid; /* last client transaction id */
	bool logged_in;
	struct msn_slp_buf slp[2];
	struct msn_p2p_data p2p_data[2];
};

struct msn_mime {
	struct span headers; /* all header lines */
	struct span body;
	size_t body_off; /* offset of the body in the payload */
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

/* Is s the text lit (exactly, or ignoring ASCII case)? Inline: asked
 * with literals several times a message, whose length the compiler then
 * knows, so a span of another length costs no call. */
static inline bool msn_span_is(struct span s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

static inline bool msn_span_is_ci(struct span s, const char *lit)
{
	return s.len == strlen(lit) && text_has_prefix_ci((const char *)s.p, s.len, lit);
}
bool msn_span_digits(struct span s, size_t max_digits);
uint64_t msn_span_number(struct span s);
bool msn_span_has(struct span s, uint8_t c);
/* "alice@example.com;{GUID}" -> "alice@example.com"; "1:bob@x" -> "bob@x". */
struct span msn_user_id(struct span s);
bool msn_cmd_is(const struct msn_line *l, const char *cmd);
bool msn_cmd_known(const uint8_t *p);
/* Parse the command line at data. */
enum msn_scan msn_scan_line(const uint8_t *data, size_t len, struct msn_line *l);
/* Payload length announced by a line, or false when it has none. */
bool msn_line_payload(const struct msn_line *l, size_t *payload_len);
struct span msn_no_span(void);
struct span msn_arg(const struct msn_line *l, size_t i);
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
