/* TOC framing: "FLAPON" then FLAPs (oscar/'s framer), resync at the
 * next FLAP whose body TOC would send, and detection. */
#include <string.h>

#include "imwire/byteorder.h"
#include "imwire/signatures.h"
#include "proto/toc/toc_internal.h"

static bool is_flapon_prefix(const uint8_t *data, size_t len)
{
	size_t n = len < TOC_FLAPON_LEN ? len : TOC_FLAPON_LEN;

	return memcmp(data, TOC_FLAPON, n) == 0;
}

enum proto_detect toc_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	(void)dir;
	if (len == 0)
		return PROTO_DETECT_MAYBE;
	if (imw_sig_toc(data, len))
		return PROTO_DETECT_YES;
	if (len < TOC_FLAPON_LEN && is_flapon_prefix(data, len))
		return PROTO_DETECT_MAYBE;
	if (len < 10 && data[0] == FLAP_MARKER && (len < 2 || data[1] == FLAP_CH_DATA))
		return PROTO_DETECT_MAYBE;
	return PROTO_DETECT_NO;
}

enum proto_frame toc_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			   size_t len, size_t *pdu_len)
{
	(void)s;
	(void)dir;
	if (len && data[0] == 'F') {
		if (!is_flapon_prefix(data, len))
			return PROTO_FRAME_GARBAGE;
		if (len < TOC_FLAPON_LEN)
			return PROTO_FRAME_NEED_MORE;
		*pdu_len = TOC_FLAPON_LEN;
		return PROTO_FRAME_PDU;
	}
	return flap_frame(data, len, pdu_len);
}

/* TOC's channel-2 frames are text; its sign-on frames are OSCAR's. */
static enum flap_body toc_flap_body_check(const uint8_t *flap, size_t avail)
{
	size_t body = imw_load_be16(flap + 4);

	switch (flap[1]) {
	case FLAP_CH_DATA:
		if (body == 0)
			return FLAP_BODY_BAD;
		if (avail < FLAP_HEADER_LEN + 1)
			return FLAP_BODY_UNKNOWN;
		return (flap[6] >= 'a' && flap[6] <= 'z') || (flap[6] >= 'A' && flap[6] <= 'Z')
			       ? FLAP_BODY_GOOD
			       : FLAP_BODY_BAD;
	case FLAP_CH_SIGNON:
		return oscar_flap_body_check(flap, avail);
	case FLAP_CH_KEEPALIVE:
		return body <= FLAP_MAX_KEEPALIVE ? FLAP_BODY_UNKNOWN : FLAP_BODY_BAD;
	default:
		return FLAP_BODY_UNKNOWN;
	}
}

size_t toc_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	(void)s;
	(void)dir;
	return flap_resync(data, len, toc_flap_body_check);
}
