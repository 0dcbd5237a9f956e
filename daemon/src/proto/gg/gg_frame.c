/* Gadu-Gadu framing (LE32 type, LE32 length), resync at the next
 * plausible header of a type the side sends, and detection from the
 * server's welcome or the client's login. */
#include <string.h>

#include "imwire/byteorder.h"
#include "proto/gg/gg_internal.h"

/* What each side sends: detection and resync believe only these. */
static const uint8_t client_types[] = {
	GG_NEW_STATUS, GG_PONG, GG_PING, GG_SEND_MSG, GG_LOGIN, GG_ADD_NOTIFY, GG_REMOVE_NOTIFY,
	GG_NOTIFY_FIRST, GG_NOTIFY_LAST, GG_LIST_EMPTY, GG_LOGIN_EXT, GG_PUBDIR50_REQUEST,
	GG_LOGIN60, GG_USERLIST_REQUEST, GG_LOGIN70, GG_DCC7_INFO, GG_DCC7_NEW, GG_DCC7_ACCEPT,
	GG_DCC7_REJECT, GG_DCC7_ID_REQUEST, GG_DCC7_ABORT, GG_NEW_STATUS80BETA, GG_LOGIN80BETA,
	GG_SEND_MSG80, GG_USERLIST_REQUEST80, GG_LOGIN80, GG_NEW_STATUS80, GG_USERLIST100_REQUEST,
	GG_RECV_MSG_ACK, GG_TYPING_NOTIFY, GG_NEW_STATUS105, GG_SEND_MSG110, GG_LOGIN105,
};

static const uint8_t server_types[] = {
	GG_WELCOME, GG_STATUS77, GG_LOGIN_OK, GG_SEND_MSG_ACK, GG_PONG, GG_PING, GG_LOGIN_FAILED,
	GG_RECV_MSG, GG_SEND_MSG, GG_LOGIN, 0x0d, GG_PUBDIR50_REQUEST, 0x0e, 0x0f, 0x10, 0x11,
	GG_NOTIFY_REPLY77, GG_DCC7_INFO, GG_DCC7_NEW, GG_DCC7_ACCEPT, GG_DCC7_REJECT, 0x23,
	0x25, GG_XML_EVENT, 0x2a, 0x2b, GG_XML_ACTION, GG_RECV_MSG80, 0x30, GG_LOGIN80_OK,
	GG_STATUS80, GG_NOTIFY_REPLY80, GG_USERLIST100_REPLY, GG_LOGIN80_FAILED, GG_USER_DATA,
	GG_TYPING_NOTIFY, GG_OWN_MESSAGE, GG_RECV_MSG110, GG_LOGIN110_OK,
};

static bool type_in(const uint8_t *list, size_t n, uint32_t type)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] == type)
			return true;
	return false;
}

static bool type_known(enum im_dir dir, uint32_t type)
{
	return dir == IM_DIR_OUT ? type_in(client_types, sizeof(client_types), type)
				 : type_in(server_types, sizeof(server_types), type);
}

static bool is_login_type(uint32_t type)
{
	return type == GG_LOGIN || type == GG_LOGIN_EXT || type == GG_LOGIN60 ||
	       type == GG_LOGIN70 || type == GG_LOGIN80BETA || type == GG_LOGIN80 ||
	       type == GG_LOGIN105;
}

/* Could a packet header start at p (for dir)? Looks at the following
 * header too when the buffer holds it, to tell GG from random bytes. */
static bool header_plausible(const uint8_t *p, size_t n, enum im_dir dir, bool need_chain)
{
	uint32_t type, len;

	if (n < GG_HEADER_LEN)
		return false;
	type = imw_load_le32(p);
	len = imw_load_le32(p + 4);
	if (!type_known(dir, type) || len > GG_PLAUSIBLE_LEN)
		return false;
	if (type == GG_WELCOME && len != 4)
		return false;
	if (!need_chain || n - GG_HEADER_LEN < len)
		return true;
	if (n - GG_HEADER_LEN == len)
		return true;
	return header_plausible(p + GG_HEADER_LEN + len, n - GG_HEADER_LEN - len, dir, false) ||
	       n - GG_HEADER_LEN - len < GG_HEADER_LEN;
}

enum proto_detect gg_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	static const uint8_t welcome[] = { 1, 0, 0, 0, 4, 0, 0, 0 };
	uint32_t type, plen;

	if (len < GG_HEADER_LEN) {
		if (dir == IM_DIR_IN && memcmp(data, welcome, len) == 0)
			return PROTO_DETECT_MAYBE;
		if (len >= 4 && dir == IM_DIR_OUT && !is_login_type(imw_load_le32(data)))
			return PROTO_DETECT_NO;
		return len >= 4 && !type_known(dir, imw_load_le32(data)) ? PROTO_DETECT_NO
									 : PROTO_DETECT_MAYBE;
	}
	type = imw_load_le32(data);
	plen = imw_load_le32(data + 4);
	if (dir == IM_DIR_IN && memcmp(data, welcome, sizeof(welcome)) == 0)
		return len == 12 || len >= 12 + GG_HEADER_LEN ? PROTO_DETECT_YES : PROTO_DETECT_MAYBE;
	if (dir == IM_DIR_OUT && is_login_type(type) && plen >= 16 && plen <= 4096) {
		/* A login carries a non-zero UIN first (GG 11: protobuf field 1). */
		if (len < GG_HEADER_LEN + 4)
			return PROTO_DETECT_MAYBE;
		if (type == GG_LOGIN105 || imw_load_le32(data + GG_HEADER_LEN) != 0)
			return PROTO_DETECT_YES;
	}
	/* Mid-stream: a known packet whose length leads to another one. */
	if (!header_plausible(data, len, dir, true))
		return PROTO_DETECT_NO;
	if (len - GG_HEADER_LEN < plen)
		return PROTO_DETECT_MAYBE;
	if (len - GG_HEADER_LEN - plen < GG_HEADER_LEN)
		return len - GG_HEADER_LEN == plen ? PROTO_DETECT_YES : PROTO_DETECT_MAYBE;
	return PROTO_DETECT_YES;
}

enum proto_frame gg_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len,
			  size_t *pdu_len)
{
	uint32_t type, plen;

	(void)s;
	(void)dir;
	if (len < GG_HEADER_LEN)
		return PROTO_FRAME_NEED_MORE;
	type = imw_load_le32(data);
	plen = imw_load_le32(data + 4);
	/* Every packet type ever used is below 0x100. */
	if (type == 0 || type > 0xff || plen > GG_MAX_PDU - GG_HEADER_LEN)
		return PROTO_FRAME_GARBAGE;
	if (len - GG_HEADER_LEN < plen)
		return PROTO_FRAME_NEED_MORE;
	*pdu_len = GG_HEADER_LEN + plen;
	return PROTO_FRAME_PDU;
}

size_t gg_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	size_t pos;

	(void)s;
	for (pos = 0; pos + GG_HEADER_LEN <= len; pos++)
		if (header_plausible(data + pos, len - pos, dir, true))
			return pos;
	/* Keep a tail that may still become a header. */
	return len < GG_HEADER_LEN ? 0 : len - GG_HEADER_LEN + 1;
}
