/* IMIP framing (type line, size line, then exactly that many bytes),
 * resync at the next known block type, and detection. */
#include "proto/imip/imip_internal.h"

enum proto_frame imip_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			    size_t len, size_t *pdu_len)
{
	struct imip_head h;

	(void)s;
	(void)dir;
	switch (imip_scan_head(data, len, false, &h)) {
	case IMIP_SCAN_SHORT:
		return PROTO_FRAME_NEED_MORE;
	case IMIP_SCAN_BAD:
		return PROTO_FRAME_GARBAGE;
	case IMIP_SCAN_OK:
		break;
	}
	if (len - h.head_len < h.size)
		return PROTO_FRAME_NEED_MORE;
	*pdu_len = h.head_len + h.size;
	return PROTO_FRAME_PDU;
}

size_t imip_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	struct imip_head h;
	size_t pos;

	(void)s;
	(void)dir;
	for (pos = 0; pos < len; pos++)
		if (data[pos] >= 'A' && data[pos] <= 'Z' &&
		    imip_scan_head(data + pos, len - pos, true, &h) != IMIP_SCAN_BAD)
			return pos;
	return len;
}

enum proto_detect imip_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	struct imip_head h;
	size_t pos;

	(void)dir;
	switch (imip_scan_head(data, len, true, &h)) {
	case IMIP_SCAN_OK:
		return PROTO_DETECT_YES;
	case IMIP_SCAN_SHORT:
		return PROTO_DETECT_MAYBE;
	case IMIP_SCAN_BAD:
		break;
	}
	/* Picked up mid-block: a complete block head on a later line will do. */
	pos = 0;
	while (pos < len) {
		while (pos < len && data[pos] != '\n')
			pos++;
		if (++pos >= len)
			break;
		if (imip_scan_head(data + pos, len - pos, true, &h) == IMIP_SCAN_OK)
			return PROTO_DETECT_YES;
	}
	return PROTO_DETECT_NO;
}
