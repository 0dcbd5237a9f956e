/* Gadu-Gadu (port 8074): packets of LE32 type + LE32 length + payload.
 *
 * Packet layouts follow libgadu's protocol description. Texts are
 * Windows-1250 in the old packets (GG_SEND_MSG, GG_RECV_MSG, the plain
 * part of the 8.0 messages) and UTF-8 in the 8.0 HTML part and in the
 * GG 11 protobuf packets.
 *
 * Event conventions:
 * - local is the UIN of the login packet (any of the login generations,
 *   including the GG 11 protobuf login used by current libpurple).
 * - a message's text is its plain part; a message with only an HTML part
 *   gives the HTML as text/html.
 * - a conference (a recipient list in the message options) is a group
 *   conversation whose remote is the sorted, comma-separated list of every
 *   participant but the local user, so both directions name it alike; an
 *   incoming conference text is prefixed "sender: " as IRC channels are.
 *   libgadu sends one copy of a conference message per recipient: only
 *   the first copy is logged.
 * - text_offset/len are set for the old packets when the text is ASCII
 *   (its bytes are then its UTF-8 text); the 8.0 packets carry the text
 *   twice, so only encode can change them. */
#include <stdlib.h>

#include "proto/gg/gg_internal.h"

static int gg_session_init(struct proto_session *s)
{
	s->state = calloc(1, sizeof(struct gg_state));
	return s->state ? 0 : -1;
}

static void gg_session_free(struct proto_session *s)
{
	struct gg_state *st = gg_state_of(s);

	if (!st)
		return;
	free(st->conf_remote);
	free(st);
	s->state = NULL;
}

const struct proto_module proto_gg = {
	PROTO_IDENTITY(GG),
	.max_pdu = GG_MAX_PDU,
	.detect = gg_detect,
	.frame = gg_frame,
	.decode = gg_decode,
	.resync = gg_resync,
	.session_init = gg_session_init,
	.session_free = gg_session_free,
	.encode = gg_encode,
	.local_receipt = gg_local_receipt,
};
