/* MSN peer-to-peer payloads (application/x-msnmsgrp2p) and the MSNSLP
 * invitations they carry: what a file transfer or webcam offer says. */
#ifndef IMW_PROTO_MSN_P2P_H
#define IMW_PROTO_MSN_P2P_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The binary header before every P2P chunk (MSNP2P v1, little-endian). */
#define MSN_P2P_HEADER_LEN 48u
#define MSN_P2P_FOOTER_LEN 4u

struct msn_p2p_chunk {
	uint32_t session_id; /* 0 for MSNSLP signalling */
	uint32_t id;
	uint64_t offset; /* of this chunk in the whole P2P message */
	uint64_t total;  /* size of the whole P2P message */
	uint32_t size;   /* bytes of data in this chunk */
	uint32_t flags;
	const uint8_t *data;
};

/* Parse the bytes after the MIME headers: header, data, optional footer.
 * -1 when the header does not fit or claims more data than there is. */
int msn_p2p_parse_chunk(const uint8_t *p, size_t n, struct msn_p2p_chunk *c);

enum msn_slp_kind {
	MSN_SLP_OTHER,  /* an SLP message that offers nothing we log */
	MSN_SLP_FILE,   /* INVITE with the file transfer EUF-GUID */
	MSN_SLP_WEBCAM, /* INVITE with a webcam EUF-GUID (push or pull) */
};

struct msn_slp_offer {
	enum msn_slp_kind kind;
	char *to;   /* the To: address without "<msnmsgr:" and ">"; owned */
	char *from; /* likewise */
	char *file_name; /* UTF-8; owned; NULL unless a file context was read */
	uint64_t file_size;
	bool has_file_size;
	uint32_t session_id; /* the body's SessionID: the data chunks carry it */
	bool has_session_id;
};

/* Parse a complete MSNSLP message. Returns 0 with *o filled (free it with
 * msn_slp_offer_free), or -1 when it is not MSNSLP or is malformed. */
int msn_slp_parse(const uint8_t *p, size_t n, struct msn_slp_offer *o, const char **why);
void msn_slp_offer_free(struct msn_slp_offer *o);

/* Application GUIDs of the MSNSLP INVITE body (EUF-GUID). */
#define MSN_EUF_GUID_FILE "{5D3E02AB-6190-11D3-BBBB-00C04F795683}"
#define MSN_EUF_GUID_WEBCAM_PUSH "{4BD96FC0-AB17-4425-A14A-439185962DC8}"
#define MSN_EUF_GUID_WEBCAM_PULL "{1C9AA97E-9C05-4583-A3BD-908A196F1E92}"

#endif
