/* The Gadu-Gadu module's pieces, private to daemon/src/proto/gg/: packet
 * types and flags (libgadu's names), a message packet as parsed, the
 * per-session state, and what each file offers the others. */
#ifndef IMW_PROTO_GG_INTERNAL_H
#define IMW_PROTO_GG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"
#include "util/bytebuf.h"
#include "util/cursor.h"

#define GG_HEADER_LEN 8u
/* Contact lists are the biggest packets; a message is at most ~2 KB. */
#define GG_MAX_PDU (1024u * 1024u)
/* A length above this is not believed during detection and resync. */
#define GG_PLAUSIBLE_LEN (64u * 1024u)
#define GG_MAX_CONFERENCE 256u
#define GG_DCC7_FILENAME_LEN 255u

enum gg_type {
	GG_WELCOME = 0x01,
	GG_NEW_STATUS = 0x02,
	GG_LOGIN_OK = 0x03,
	GG_SEND_MSG_ACK = 0x05,
	GG_PONG = 0x07,
	GG_PING = 0x08,
	GG_LOGIN_FAILED = 0x09,
	GG_RECV_MSG = 0x0a,
	GG_SEND_MSG = 0x0b, /* GG_DISCONNECTING from the server */
	GG_LOGIN = 0x0c,    /* GG_NOTIFY_REPLY from the server */
	GG_ADD_NOTIFY = 0x0d,
	GG_REMOVE_NOTIFY = 0x0e,
	GG_NOTIFY_FIRST = 0x0f,
	GG_NOTIFY_LAST = 0x10,
	GG_LIST_EMPTY = 0x12,
	GG_LOGIN_EXT = 0x13,
	GG_PUBDIR50_REQUEST = 0x14,
	GG_LOGIN60 = 0x15,
	GG_USERLIST_REQUEST = 0x16,
	GG_STATUS77 = 0x17,
	GG_NOTIFY_REPLY77 = 0x18,
	GG_LOGIN70 = 0x19,
	GG_DCC7_INFO = 0x1f,
	GG_DCC7_NEW = 0x20,
	GG_DCC7_ACCEPT = 0x21,
	GG_DCC7_REJECT = 0x22,
	GG_DCC7_ID_REQUEST = 0x23,
	GG_DCC7_ABORT = 0x25,
	GG_XML_EVENT = 0x27,
	GG_NEW_STATUS80BETA = 0x28,
	GG_LOGIN80BETA = 0x29,
	GG_XML_ACTION = 0x2c,
	GG_SEND_MSG80 = 0x2d,
	GG_RECV_MSG80 = 0x2e,
	GG_USERLIST_REQUEST80 = 0x2f,
	GG_LOGIN80 = 0x31,
	GG_LOGIN80_OK = 0x35,
	GG_STATUS80 = 0x36,
	GG_NOTIFY_REPLY80 = 0x37,
	GG_NEW_STATUS80 = 0x38,
	GG_USERLIST100_REQUEST = 0x40,
	GG_USERLIST100_REPLY = 0x41,
	GG_LOGIN80_FAILED = 0x43,
	GG_USER_DATA = 0x44,
	GG_RECV_MSG_ACK = 0x46,
	GG_TYPING_NOTIFY = 0x59,
	GG_OWN_MESSAGE = 0x5a,
	GG_NEW_STATUS105 = 0x63,
	GG_SEND_MSG110 = 0x7d,
	GG_RECV_MSG110 = 0x7e,
	GG_LOGIN105 = 0x83,
	GG_LOGIN110_OK = 0x9d,
};

/* Message classes and options (libgadu names). */
#define GG_CLASS_CHAT 0x08
/* A sender that sets this class bit wants no GG_SEND_MSG_ACK (libgadu.h). */
#define GG_CLASS_ACK 0x20
#define GG_ACK_DELIVERED 0x0002
#define GG_MSG_OPTION_CONFERENCE 0x01
#define GG_MSG_OPTION_ATTRIBUTES 0x02
#define GG_MSG_OPTION_IMAGE_REQUEST 0x04
#define GG_MSG_OPTION_IMAGE_REPLY 0x05
#define GG_MSG_OPTION_IMAGE_REPLY_MORE 0x06
#define GG_DCC7_TYPE_FILE 4u

#define GG_DCC7_REMEMBERED 8

struct gg_state {
	/* The last conference copy logged: later copies of it are skipped. */
	uint32_t conf_seq;
	char *conf_remote;
	uint32_t injected_seq;
	/* The last DCC7 offers, and which way each went (gg_xfer.c). */
	uint8_t dcc7_ids[GG_DCC7_REMEMBERED][8];
	enum im_dir dcc7_dirs[GG_DCC7_REMEMBERED];
	bool dcc7_used[GG_DCC7_REMEMBERED];
	unsigned next_dcc7;
};

/* A decoded message, whatever its packet generation. */
struct gg_msg {
	uint32_t peer; /* recipient (out) or sender (in) */
	uint32_t seq;
	uint32_t msgclass;
	uint32_t time;
	const uint8_t *plain; /* CP1250 (old/8.0) or UTF-8 (GG 11) */
	size_t plain_len;
	size_t plain_off; /* in the PDU */
	bool plain_utf8;
	const uint8_t *html; /* UTF-8 */
	size_t html_len;
	const uint8_t *attrs; /* options after the texts */
	size_t attrs_len;
	size_t fixed_len; /* bytes before the first text, header excluded */
	uint32_t conference[GG_MAX_CONFERENCE];
	size_t n_conference;
	uint64_t chat_id; /* GG 11 group chats */
};

struct pb_field {
	uint32_t number;
	uint8_t wire;
	uint64_t varint; /* wire types 0, 1, 5 */
	const uint8_t *data; /* wire type 2 */
	size_t len;
};

static inline struct gg_state *gg_state_of(struct proto_session *s)
{
	return s->state;
}

/* ---- gg_xfer.c: where a DCC7 file travels ---- */

/* The expectation of a GG_DCC7_NEW with connection id (8 bytes). */
void gg_dcc7_new_xfer(struct gg_state *st, enum im_dir dir, const uint8_t *id, struct im_xfer *x);
/* GG_DCC7_INFO: a rendezvous event naming where the file will travel. */
int gg_decode_dcc7_info(struct proto_session *s, enum im_dir dir, const uint8_t *body,
			size_t len);

/* ---- gg_frame.c: framing, resync, detection ---- */

enum proto_detect gg_detect(const uint8_t *data, size_t len, enum im_dir dir);
enum proto_frame gg_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len,
			  size_t *pdu_len);
size_t gg_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len);

/* ---- gg_packet.c: packet layouts ---- */

/* The next field; false at the end or on a malformed encoding (*bad). */
bool gg_pb_next(struct cursor *c, struct pb_field *f, bool *bad);
/* libgadu's protobuf UIN: a type byte, a length byte, decimal digits. */
bool gg_pb_uin(const uint8_t *p, size_t n, uint32_t *uin);
int gg_parse_msg110(const uint8_t *body, size_t len, struct gg_msg *m, const char **why);
size_t gg_strnlen_bytes(const uint8_t *p, size_t n);
/* GG_SEND_MSG / GG_RECV_MSG: fixed fields, CP1250 text, NUL, options. */
int gg_parse_msg_old(const uint8_t *body, size_t len, bool incoming, struct gg_msg *m,
		     const char **why);
/* GG_SEND_MSG80 / GG_RECV_MSG80: fixed fields with the offsets (from the
 * payload start) of the plain text and of the options; HTML first. */
int gg_parse_msg80(const uint8_t *body, size_t len, bool incoming, struct gg_msg *m,
		   const char **why);

/* ---- gg_decode.c: packets to events ---- */

uint32_t gg_local_uin(const struct proto_session *s);
int gg_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len);

/* ---- gg_encode.c: events to message packets ---- */

int gg_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
	      const uint8_t *orig, size_t orig_len, struct bytebuf *out);

/* ---- gg_receipt.c: local delivery receipts ---- */

/* The server answers a client's GG_SEND_MSG or GG_SEND_MSG80 with
 * GG_SEND_MSG_ACK {LE32 status, recipient, seq} (libgadu.h struct
 * gg_send_msg_ack), unless the message class carries GG_CLASS_ACK; a
 * message imwire delivered was delivered: GG_ACK_DELIVERED. The GG 11
 * GG_SEND_MSG110 is answered by a protobuf GG110MessageAck (message and
 * conversation ids only the server assigns), which is not built here. */
int gg_local_receipt(struct proto_session *s, const struct im_event *ev, const uint8_t *orig,
		     size_t orig_len, struct bytebuf *out);

#endif
