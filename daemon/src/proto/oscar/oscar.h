/* OSCAR (AIM and ICQ), FLAP connections and OFT2 file transfers: the
 * module, and what TOC (daemon/src/proto/toc/), AOL's text gateway over
 * the same FLAP framing, borrows from it: FLAP framing, sequence
 * renumbering and building, TLV lookup, the content type of AIM text and
 * the local id. */
#ifndef IMW_PROTO_OSCAR_H
#define IMW_PROTO_OSCAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"
#include "util/bytebuf.h"

extern const struct proto_module proto_oscar;

/* ---- FLAP: '*', channel, sequence, length, then `length` bytes ---- */

#define FLAP_MARKER '*'
#define FLAP_HEADER_LEN 6u
#define FLAP_MAX_PDU (FLAP_HEADER_LEN + 0xFFFFu)

enum flap_channel {
	FLAP_CH_SIGNON = 1,
	FLAP_CH_DATA = 2,
	FLAP_CH_ERROR = 3,
	FLAP_CH_SIGNOFF = 4,
	FLAP_CH_KEEPALIVE = 5,
};

/* Frame one FLAP at data (garbage unless it starts with a FLAP header). */
enum proto_frame flap_frame(const uint8_t *data, size_t len, size_t *pdu_len);
/* What a module can tell from the start of a FLAP's body. */
enum flap_body {
	FLAP_BODY_BAD,     /* this module never sends such a FLAP */
	FLAP_BODY_GOOD,    /* a body only this module sends (a SNAC header...) */
	FLAP_BODY_UNKNOWN, /* nothing to check yet, or nothing checkable */
};
typedef enum flap_body (*flap_body_check)(const uint8_t *flap, size_t avail);
/* Keep-alives are empty; a "FLAP" claiming a long one is noise. */
#define FLAP_MAX_KEEPALIVE 64u

/* First offset where a plausible FLAP starts (or may start when the
 * buffer ends first); len when there is none. */
size_t flap_resync(const uint8_t *data, size_t len, flap_body_check check);
/* FLAP bodies only OSCAR sends (TOC's resync skips them). */
enum flap_body oscar_flap_body_check(const uint8_t *flap, size_t avail);

/* Per-direction FLAP sequence bookkeeping for rewriting. The peer checks
 * that sequence numbers go up by one; after a FLAP is dropped or inserted
 * every later FLAP of that direction is shifted by `delta`. */
struct flap_seq {
	uint16_t last[2]; /* last sequence number seen on the wire (input space) */
	bool seen[2];
	int32_t delta[2]; /* output = input + delta (mod 2^16) */
};

void flap_seq_note(struct flap_seq *q, enum im_dir dir, const uint8_t *pdu, size_t len);
void flap_seq_count_changed(struct flap_seq *q, enum im_dir dir, int delta);
bool flap_seq_fixup(const struct flap_seq *q, enum im_dir dir, uint8_t *pdu, size_t len);
/* Sequence number (output space) for a FLAP inserted after the last one seen. */
uint16_t flap_seq_for_insert(const struct flap_seq *q, enum im_dir dir);
/* Output-space number of a FLAP whose input-space number is seq. */
uint16_t flap_seq_out(const struct flap_seq *q, enum im_dir dir, uint16_t seq);
/* Append a FLAP header; the payload length is patched by flap_finish. */
bool flap_begin(struct bytebuf *out, uint8_t channel, uint16_t seq, size_t *start);
bool flap_finish(struct bytebuf *out, size_t start);

/* ---- TLV chains: type(2) length(2) value ---- */

struct oscar_tlv {
	uint16_t type;
	uint16_t len;
	const uint8_t *value;
	size_t offset; /* of the TLV header, relative to the chain start */
};

/* Find the first TLV of type in a chain; false when absent. A chain that
 * overruns its buffer stops the search at the broken TLV. */
bool oscar_tlv_find(const uint8_t *chain, size_t len, uint16_t type, struct oscar_tlv *out);
/* "text/html" when AIM text has a tag or an entity, else "text/plain". */
const char *oscar_content_type(const char *s);
/* Take a screen name as the local id (an empty one or one with a NUL is
 * ignored); false on allocation failure. */
bool oscar_learn_local(struct proto_session *s, const uint8_t *id, size_t len);

#endif
