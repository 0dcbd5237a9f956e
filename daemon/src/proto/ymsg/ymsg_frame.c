/* YMSG framing, resync on the next "YMSG" whose pairs check out, and
 * detection. */
#include "imwire/signatures.h"
#include "proto/ymsg/ymsg_internal.h"

enum proto_frame ymsg_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			    size_t len, size_t *pdu_len)
{
	(void)s;
	(void)dir;
	switch (ymsg_scan_packet(data, len, pdu_len)) {
	case YMSG_SCAN_OK:
		return PROTO_FRAME_PDU;
	case YMSG_SCAN_SHORT:
		return PROTO_FRAME_NEED_MORE;
	case YMSG_SCAN_BAD:
		break;
	}
	return PROTO_FRAME_GARBAGE;
}

size_t ymsg_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	size_t pos, pdu_len;

	(void)s;
	(void)dir;
	for (pos = 0; pos < len; pos++)
		if (data[pos] == 'Y' &&
		    ymsg_scan_packet(data + pos, len - pos, &pdu_len) != YMSG_SCAN_BAD)
			return pos;
	return len;
}

enum proto_detect ymsg_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	size_t pos, pdu_len;

	(void)dir;
	if (imw_sig_ymsg(data, len))
		return PROTO_DETECT_YES;
	if (len < 12 && ymsg_scan_packet(data, len, &pdu_len) == YMSG_SCAN_SHORT)
		return PROTO_DETECT_MAYBE;
	/* Picked up mid-packet: a whole packet further on will do. */
	for (pos = 1; pos + YMSG_HEADER_LEN <= len; pos++)
		if (data[pos] == 'Y' &&
		    ymsg_scan_packet(data + pos, len - pos, &pdu_len) == YMSG_SCAN_OK)
			return PROTO_DETECT_YES;
	return PROTO_DETECT_NO;
}
