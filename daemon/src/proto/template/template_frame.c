/* TPL detection, framing and resync. Detection sees the first bytes of
 * either direction, from the stream start or from wherever a mid-stream
 * pick-up began; framing says how long the PDU at the start of the buffer
 * is; resync finds the next plausible PDU start after a gap or garbage.
 * None of them may read past len, and none decides anything from bytes
 * it has not seen: "need more" is an answer. */
#include "imwire/byteorder.h"
#include "proto/template/template_internal.h"

static bool type_known(uint8_t type)
{
	return type >= TPL_HELLO && type <= TPL_OK;
}

bool tpl_header_plausible(const uint8_t *p, size_t len)
{
	if (len >= 1 && p[0] != 'T')
		return false;
	if (len >= 2 && p[1] != 'P')
		return false;
	if (len >= 3 && !type_known(p[2]))
		return false;
	return len < TPL_HEADER_LEN || imw_load_be16(p + 3) <= TPL_MAX_BODY;
}

/* A whole plausible header is a yes: TPL's magic and type byte are
 * specific enough. A real protocol with a looser shape checks more (two
 * lines, a login) and says MAYBE while it cannot tell. */
enum proto_detect tpl_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	(void)dir;
	if (!tpl_header_plausible(data, len))
		return PROTO_DETECT_NO;
	return len < TPL_HEADER_LEN ? PROTO_DETECT_MAYBE : PROTO_DETECT_YES;
}

enum proto_frame tpl_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			   size_t len, size_t *pdu_len)
{
	size_t need;

	(void)s;
	(void)dir;
	if (!tpl_header_plausible(data, len))
		return PROTO_FRAME_GARBAGE;
	if (len < TPL_HEADER_LEN)
		return PROTO_FRAME_NEED_MORE;
	need = TPL_HEADER_LEN + imw_load_be16(data + 3);
	if (len < need)
		return PROTO_FRAME_NEED_MORE;
	*pdu_len = need;
	return PROTO_FRAME_PDU;
}

/* The first offset where a header could start; len when none can (a
 * header cut by the end of the buffer counts: more bytes will tell). */
size_t tpl_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	size_t i;

	(void)s;
	(void)dir;
	for (i = 0; i < len; i++)
		if (data[i] == 'T' && tpl_header_plausible(data + i, len - i))
			return i;
	return len;
}
