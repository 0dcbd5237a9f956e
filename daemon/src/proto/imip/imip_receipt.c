/* What a client expects once a message it sent was delivered, for when
 * imwire delivers it itself. */
#include "proto/imip/imip_internal.h"

int imip_local_receipt(struct proto_session *s, const struct im_event *ev, const uint8_t *orig,
		       size_t orig_len, struct bytebuf *out)
{
	struct imip_block b;
	struct span ack_type;
	const char *why;

	(void)s;
	(void)out;
	if (!ev || ev->dir != IM_DIR_OUT || !orig ||
	    imip_block_parse(orig, orig_len, &b, &why) < 0 || !imip_span_eq(b.head.type, "MESG"))
		return -1;
	if (imip_block_header(&b, "ACK-Type", &ack_type) &&
	    imip_span_eq_ci(imip_span_trim(ack_type), "errors-only"))
		return 0;
	return -1;
}
