/* The OSCAR module's own pieces: TLV chains, SNAC and the ICBM parser
 * used by both decode and encode, the OFT2 peer-connection header, text
 * helpers, the per-flow state. Private to daemon/src/proto/oscar/; what
 * TOC borrows is in oscar.h. */
#ifndef IMW_PROTO_OSCAR_INTERNAL_H
#define IMW_PROTO_OSCAR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/oscar/oscar.h"
#include "proto/proto.h"
#include "util/bytebuf.h"

/* ---- TLV chains: type(2) length(2) value ---- */

/* Tie an authorizer reply's cookie to its screen name, or a BOS sign-on's
 * cookie back to that name (the worker's shared directory). */
void oscar_tie_cookie(struct proto_session *s, const uint8_t *chain, size_t len);
/* Does the chain consist of whole TLVs exactly? */
bool oscar_tlv_chain_valid(const uint8_t *chain, size_t len);
bool oscar_put_be16(struct bytebuf *out, uint16_t v);
bool oscar_put_be32(struct bytebuf *out, uint32_t v);
bool oscar_put_tlv(struct bytebuf *out, uint16_t type, const void *value, size_t len);

/* ---- SNAC ---- */

#define SNAC_HEADER_LEN 10u
#define SNAC_FLAG_HAS_TLV_BLOCK 0x8000u

struct snac {
	uint16_t family;
	uint16_t subtype;
	uint16_t flags;
	uint32_t request_id;
	size_t body_off; /* relative to the PDU (FLAP header included) */
};

/* Parse the SNAC header of a channel-2 FLAP, skipping the optional
 * version TLV block of flag 0x8000. */
bool snac_parse(const uint8_t *pdu, size_t len, struct snac *sn, const char **why);

/* ---- ICBM (family 4, subtypes 6 and 7) ---- */

enum icbm_charset {
	ICBM_CHARSET_ASCII = 0x0000,
	ICBM_CHARSET_UCS2BE = 0x0002,
	ICBM_CHARSET_LATIN1 = 0x0003,
};

#define ICBM_COOKIE_LEN 8u

struct icbm {
	struct snac snac;
	const uint8_t *cookie;
	uint16_t channel;
	const uint8_t *sn; /* screen name (buddy), not NUL-terminated */
	size_t sn_len;
	size_t tlvs_off; /* message TLV chain, relative to the PDU */
	bool auto_response; /* TLV 4 */
	/* Channel 1: TLV 2 and its text fragments (0x0101). */
	bool has_msg;
	size_t msg_tlv_off; /* of the TLV 2 header, relative to the PDU */
	size_t n_text;
	uint16_t charset, subset; /* of the first text fragment */
	size_t text_off, text_len; /* first text fragment, relative to the PDU */
};

/* A login, logout or presence event: remote the name given (or none,
 * name NULL), text the word. Returns 0, or -1 after counting it malformed. */
int emit_presence_like(struct proto_session *s, enum im_dir dir, enum im_kind kind,
		       const uint8_t *name, size_t name_len, const char *word);

/* Parse an ICBM SNAC (0x0004/0x0006 outgoing, 0x0004/0x0007 incoming). */
int icbm_parse(const uint8_t *pdu, size_t len, struct icbm *m, const char **why);
/* UTF-8 text of every text fragment of a channel-1 ICBM, concatenated. */
char *icbm_text(const uint8_t *pdu, const struct icbm *m);
char *icbm_decode_charset(uint16_t charset, const uint8_t *p, size_t n);
/* UTF-8 text of a chat message-info TLV (TLV 1 text in the TLV 2 charset). */
char *oscar_chat_text(const struct oscar_tlv *info);

/* ---- OFT2: the peer-to-peer file transfer header ---- */

#define OFT_MAGIC_LEN 4u
#define OFT_MIN_HEADER 256u
#define OFT_NAME_OFF 192u
#define OFT_TYPE_PROMPT 0x0101u
#define OFT_TYPE_ACK 0x0202u
#define OFT_TYPE_DONE 0x0204u
#define OFT_TYPE_RESUME 0x0205u
#define OFT_TYPE_RESUME_ACCEPT 0x0106u
#define OFT_TYPE_RESUME_ACK 0x0207u

struct oft_header {
	uint16_t header_len;
	uint16_t type;
	const uint8_t *cookie;
	uint32_t size;     /* of the current file */
	uint32_t received; /* bytes the receiver already has (resume) */
	uint16_t name_encoding; /* 0 ASCII, 2 UCS-2BE, 3 ISO-8859-1 */
	const uint8_t *name;
	size_t name_len; /* up to the first NUL (two for UCS-2) */
};

/* Does data start with an OFT2 header (or could it, when short)? */
enum proto_detect oft_detect(const uint8_t *data, size_t len);
enum proto_frame oft_frame_header(const uint8_t *data, size_t len, size_t *pdu_len);
int oft_parse(const uint8_t *pdu, size_t len, struct oft_header *h, const char **why);
size_t oft_resync(const uint8_t *data, size_t len);

/* ---- text ---- */

/* AIM text is HTML; it counts as such when it has a tag or an entity. */
bool oscar_text_is_html(const char *s);
/* Append UTF-8 text as UTF-16BE (supplementary planes as surrogate
 * pairs, invalid bytes as U+FFFD). */
bool oscar_put_utf16be(struct bytebuf *out, const char *utf8);
/* Append UTF-8 text as ISO-8859-1; false if a character does not fit. */
bool oscar_put_latin1(struct bytebuf *out, const char *utf8, size_t *bad);
bool oscar_text_is_ascii(const char *s);
bool oscar_text_fits_latin1(const char *s);

/* ---- the OSCAR module's pieces ---- */

struct oscar_state;

int oscar_decode_snac(struct proto_session *s, struct oscar_state *st, enum im_dir dir,
		      const uint8_t *pdu, size_t len);
int oscar_decode_oft(struct proto_session *s, struct oscar_state *st, enum im_dir dir,
		     const uint8_t *pdu, size_t len);
int oscar_encode_event(struct proto_session *s, struct oscar_state *st, enum im_dir dir,
		       const struct im_event *ev, const uint8_t *orig, size_t orig_len,
		       struct bytebuf *out);
/* The server's host ack for the client ICBM orig when it asked for one:
 * local_receipt's contract (1 appended, 0 none expected, -1 cannot). */
int oscar_build_host_ack(struct oscar_state *st, const struct im_event *ev, const uint8_t *orig,
			 size_t orig_len, struct bytebuf *out);

enum oscar_mode {
	OSCAR_MODE_UNKNOWN,
	OSCAR_MODE_FLAP,
	OSCAR_MODE_OFT,
};

struct oscar_state {
	enum oscar_mode mode;
	struct flap_seq seq;
	bool login_sent, logout_sent;
	char *room;         /* chat connection: the room's name, once the server said */
	uint64_t built;     /* ICBMs built from events alone: cookie and request id source */
	/* OFT: raw file bytes each direction still has to send after an ack. */
	uint64_t oft_raw_left[2];
	uint8_t oft_cookie[ICBM_COOKIE_LEN]; /* transfer already logged */
	char *oft_name;
	/* The file each direction is sending, for the file stage. */
	bool oft_open[2];
	uint8_t oft_data_cookie[2][ICBM_COOKIE_LEN];
};

/* ---- oscar_xfer.c: where a transfer's data travel, and the data ---- */

/* The expectation a file proposal announces (cookie: the rendezvous
 * block's; chain: its TLVs). */
void oscar_rendezvous_xfer(const uint8_t *cookie, const uint8_t *chain, size_t chain_len,
			   struct im_xfer *x);
/* OFT2: the sender's raw data start (after `skipped` bytes the receiver
 * had already: resume), go on, and end. */
void oscar_oft_open(struct proto_session *s, struct oscar_state *st, enum im_dir sender,
		    const struct oft_header *h, const char *name);
void oscar_oft_data(struct proto_session *s, struct oscar_state *st, enum im_dir sender,
		    const uint8_t *data, size_t len);
void oscar_oft_close(struct proto_session *s, struct oscar_state *st, enum im_dir sender,
		     bool complete);

#endif
