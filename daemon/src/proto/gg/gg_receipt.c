/* What a client expects once a message it sent was delivered, for when
 * imwire delivers it itself: the server's GG_SEND_MSG_ACK. */
#include <stdlib.h>

#include "imwire/byteorder.h"
#include "proto/gg/gg_internal.h"

int gg_local_receipt(struct proto_session *s, const struct im_event *ev, const uint8_t *orig,
		     size_t orig_len, struct bytebuf *out)
{
	struct gg_msg *m;
	uint8_t ack[GG_HEADER_LEN + 12];
	const char *why;
	uint32_t type;
	int rc = -1;

	(void)s;
	if (!ev || ev->dir != IM_DIR_OUT || !orig || orig_len < GG_HEADER_LEN ||
	    imw_load_le32(orig + 4) != orig_len - GG_HEADER_LEN)
		return -1;
	type = imw_load_le32(orig);
	if (type != GG_SEND_MSG && type != GG_SEND_MSG80)
		return -1;
	m = malloc(sizeof(*m));
	if (!m)
		return -1;
	if (type == GG_SEND_MSG)
		rc = gg_parse_msg_old(orig + GG_HEADER_LEN, orig_len - GG_HEADER_LEN, false, m,
				      &why);
	else
		rc = gg_parse_msg80(orig + GG_HEADER_LEN, orig_len - GG_HEADER_LEN, false, m, &why);
	if (rc == 0 && (m->msgclass & GG_CLASS_ACK)) {
		rc = 0;
	} else if (rc == 0) {
		imw_store_le32(ack, GG_SEND_MSG_ACK);
		imw_store_le32(ack + 4, 12);
		imw_store_le32(ack + 8, GG_ACK_DELIVERED);
		imw_store_le32(ack + 12, m->peer);
		imw_store_le32(ack + 16, m->seq);
		rc = bytebuf_append(out, ack, sizeof(ack)) ? 1 : -1;
	}
	free(m);
	return rc;
}
