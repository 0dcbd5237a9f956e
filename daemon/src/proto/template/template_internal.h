/* The template module's pieces, private to daemon/src/proto/template/:
 * the wire format, a packet as parsed, the per-session state, and what
 * each file offers the others. A real module keeps the same shape: one
 * internal header, one file per job.
 *
 * TPL, the made-up protocol: every packet is
 *
 *   "TP"  magic, 2 bytes
 *   type  1 byte: HELLO (client: body = the user's name), SEND (client:
 *         body = recipient, NUL, text), DELIVER (server: body = sender,
 *         NUL, text), OK (server: SEND was delivered, empty body)
 *   len   body length, 16 bits big-endian
 *   body  len bytes, UTF-8 */
#ifndef IMW_PROTO_TEMPLATE_INTERNAL_H
#define IMW_PROTO_TEMPLATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"
#include "util/bytebuf.h"

#define TPL_HEADER_LEN 5u
#define TPL_MAX_BODY 4096u
/* The app layer calls a partial PDU longer than this garbage. */
#define TPL_MAX_PDU (TPL_HEADER_LEN + TPL_MAX_BODY)

enum tpl_type {
	TPL_HELLO = 1,
	TPL_SEND = 2,
	TPL_DELIVER = 3,
	TPL_OK = 4,
};

/* One packet, its fields pointing into the PDU. */
struct tpl_packet {
	enum tpl_type type;
	const uint8_t *peer; /* HELLO: the name; SEND: recipient; DELIVER: sender */
	size_t peer_len;
	const uint8_t *text; /* SEND and DELIVER */
	size_t text_len;
	size_t text_off; /* of text, from the PDU's first byte */
};

/* Per session (session_init allocates it, session_free frees it). */
struct tpl_state {
	bool login_sent;
};

static inline struct tpl_state *tpl_state_of(struct proto_session *s)
{
	return s->state;
}

/* ---- template_frame.c: detection, framing, resync ---- */

/* Does a TPL header start at p (as far as len bytes tell)? */
bool tpl_header_plausible(const uint8_t *p, size_t len);
enum proto_detect tpl_detect(const uint8_t *data, size_t len, enum im_dir dir);
enum proto_frame tpl_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			   size_t len, size_t *pdu_len);
size_t tpl_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len);

/* ---- template_decode.c: packets to events ---- */

/* Parse a whole PDU; false with *why on a malformed one. */
bool tpl_parse(const uint8_t *pdu, size_t len, struct tpl_packet *pk, const char **why);
int tpl_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len);

/* ---- template_encode.c: events to packets, receipts ---- */

int tpl_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
	       const uint8_t *orig, size_t orig_len, struct bytebuf *out);
int tpl_local_receipt(struct proto_session *s, const struct im_event *ev, const uint8_t *orig,
		      size_t orig_len, struct bytebuf *out);

#endif
