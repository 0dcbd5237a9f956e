/* IMIP (IMUnified, Odigo/Yahoo! on port 11319).
 *
 * A block is a type line, a decimal size line, then exactly `size` bytes
 * of "Name: value" header lines, an optional empty line and an optional
 * body. The text says lines end in CRLF; a bare LF is accepted as well.
 * Clients number their blocks with "ID:"; the server mirrors the number
 * in "Reference:" of its ACK, which is how an error ACK is tied to the
 * message or contact request that failed. */
#include <stdlib.h>

#include "proto/imip/imip_internal.h"

static int imip_session_init(struct proto_session *s)
{
	s->state = calloc(1, sizeof(struct imip_state));
	return s->state ? 0 : -1;
}

static void imip_session_free(struct proto_session *s)
{
	struct imip_state *st = imip_state_of(s);
	size_t i;

	if (!st)
		return;
	for (i = 0; i < IMIP_PENDING; i++)
		imip_pending_clear(&st->pending[i]);
	free(st);
	s->state = NULL;
}

const struct proto_module proto_imip = {
	PROTO_IDENTITY(IMIP),
	.max_pdu = IMIP_MAX_PDU,
	.detect = imip_detect,
	.frame = imip_frame,
	.decode = imip_decode,
	.resync = imip_resync,
	.session_init = imip_session_init,
	.session_free = imip_session_free,
	.encode = imip_encode,
	.local_receipt = imip_local_receipt,
};
