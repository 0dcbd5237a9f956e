/* The YMSG module's pieces, private to daemon/src/proto/ymsg/: services,
 * a packet as parsed (header and key/value pairs), the per-session state,
 * and what each file offers the others. */
#ifndef IMW_PROTO_YMSG_INTERNAL_H
#define IMW_PROTO_YMSG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"
#include "util/bytebuf.h"

#define YMSG_HEADER_LEN 20u
#define YMSG_MAX_PDU (YMSG_HEADER_LEN + 0xFFFFu)
/* Keys in use stay below 10000; six digits leave room. */
#define YMSG_MAX_KEY_DIGITS 6u
/* File transfer ids remembered to tell a late info/accept from a seen offer. */
#define YMSG_SEEN_TRANSFERS 32u
#define YMSG_DEFAULT_VERSION 16u
#define YMSG_STATUS_OFFLINE 0x5a55aa56u /* what clients put on outgoing messages */
#define YMSG_STATUS_ERROR 0xffffffffu

enum ymsg_service {
	YS_LOGON = 0x01,
	YS_LOGOFF = 0x02,
	YS_MESSAGE = 0x06,
	YS_CONFINVITE = 0x18,
	YS_CONFLOGON = 0x19,
	YS_CONFDECLINE = 0x1a,
	YS_CONFLOGOFF = 0x1b,
	YS_CONFADDINVITE = 0x1c,
	YS_CONFMSG = 0x1d,
	YS_CHATLOGON = 0x1e,
	YS_CHATLOGOFF = 0x1f,
	YS_FILETRANSFER = 0x46,
	YS_NOTIFY = 0x4b,
	YS_P2PFILEXFER = 0x4d,
	YS_WEBCAM = 0x50,
	YS_AUTHRESP = 0x54,
	YS_AUTH = 0x57,
	YS_CHATONLINE = 0x96,
	YS_CHATGOTO = 0x97,
	YS_CHATJOIN = 0x98,
	YS_CHATLEAVE = 0x99,
	YS_CHATEXIT = 0x9b,
	YS_CHATADDINVITE = 0x9d,
	YS_CHATLOGOUT = 0xa0,
	YS_CHATPING = 0xa1,
	YS_COMMENT = 0xa8,
	YS_FILETRANS_15 = 0xdc,
	YS_FILETRANS_INFO_15 = 0xdd,
	YS_FILETRANS_ACC_15 = 0xde,
};

struct ymsg_header {
	uint16_t version;
	uint16_t vendor;
	uint16_t length;
	uint16_t service;
	uint32_t status;
	uint32_t session;
};

struct ymsg_pair {
	unsigned key;
	size_t off; /* of the value, from the PDU start */
	size_t len;
};

struct ymsg_packet {
	struct ymsg_header h;
	const uint8_t *pdu;
	struct ymsg_pair *pairs;
	size_t n_pairs;
};

struct ymsg_state {
	uint16_t version; /* last seen, for packets we build */
	uint32_t session[2];
	bool logged_in;
	char *seen_transfer[YMSG_SEEN_TRANSFERS];
	size_t next_seen;
};

enum ymsg_scan {
	YMSG_SCAN_OK,
	YMSG_SCAN_SHORT,
	YMSG_SCAN_BAD,
};

static inline struct ymsg_state *ymsg_state_of(struct proto_session *s)
{
	return s->state;
}

/* ---- ymsg_packet.c: packets and their pairs ---- */

/* Is there a YMSG packet at data, and how long is it? */
enum ymsg_scan ymsg_scan_packet(const uint8_t *data, size_t len, size_t *pdu_len);
int ymsg_packet_parse(const uint8_t *pdu, size_t len, struct ymsg_packet *pk);
void ymsg_packet_free(struct ymsg_packet *pk);
const struct ymsg_pair *ymsg_pair_nth(const struct ymsg_packet *pk, unsigned key, size_t nth);
const struct ymsg_pair *ymsg_pair_get(const struct ymsg_packet *pk, unsigned key);
bool ymsg_pair_is(const struct ymsg_packet *pk, const struct ymsg_pair *pr, const char *lit);
char *ymsg_pair_text(const struct ymsg_packet *pk, const struct ymsg_pair *pr);
bool ymsg_pair_number(const struct ymsg_packet *pk, const struct ymsg_pair *pr, uint64_t *v);
bool ymsg_pair_is_local(struct proto_session *s, const struct ymsg_packet *pk,
			const struct ymsg_pair *pr);

/* ---- ymsg_xfer.c: where a file travels ---- */

void ymsg_file_xfer(const struct ymsg_packet *pk, struct im_xfer *x);
/* An info packet naming the relay and token: a rendezvous event. */
int ymsg_decode_relay_info(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk);

/* ---- ymsg_frame.c: framing, resync, detection ---- */

enum proto_frame ymsg_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			    size_t len, size_t *pdu_len);
/* The first offset where frame would not say garbage. */
size_t ymsg_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len);
enum proto_detect ymsg_detect(const uint8_t *data, size_t len, enum im_dir dir);

/* ---- ymsg_decode.c: packets to events ---- */

int ymsg_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len);

/* ---- ymsg_encode.c: events to packets ---- */

int ymsg_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
		const uint8_t *orig, size_t orig_len, struct bytebuf *out);

#endif
