/* AIM TOC and TOC2: AOL's text gateway to OSCAR (toc.oscar.aol.com:9898).
 *
 * The client opens with "FLAPON\r\n\r\n"; after that both sides speak
 * FLAP (see ../oscar/oscar.h). The client's channel-1 sign-on frame carries TLV 1
 * with the screen name; its channel-2 frames are NUL-terminated commands
 * ("toc_send_im <user> \"<message>\" [auto]"), arguments separated by
 * spaces, quoted ones with backslash escapes. The server's channel-2
 * frames are colon-separated messages ("IM_IN:<user>:<T|F>:<message>"),
 * where the message is the rest of the frame, colons and all.
 *
 * Events are those of the OSCAR module: messages (text as sent, HTML
 * content type when it is HTML), group messages with the room's name as
 * remote and, incoming, "sender: " before the text, typing (TOC2
 * client events, status 2), file proposals (RVOUS_PROPOSE with the
 * file-transfer UUID) and server errors. */
#include <stdlib.h>

#include "proto/toc/toc_internal.h"

static void toc_pdu_count_changed(struct proto_session *s, enum im_dir dir, int delta)
{
	flap_seq_count_changed(&toc_state_of(s)->seq, dir, delta);
}

static bool toc_fixup_pdu(struct proto_session *s, enum im_dir dir, uint8_t *pdu, size_t len)
{
	return flap_seq_fixup(&toc_state_of(s)->seq, dir, pdu, len);
}

static int toc_session_init(struct proto_session *s)
{
	s->state = calloc(1, sizeof(struct toc_state));
	return s->state ? 0 : -1;
}

static void toc_session_free(struct proto_session *s)
{
	struct toc_state *st = toc_state_of(s);
	size_t i;

	if (!st)
		return;
	for (i = 0; i < TOC_MAX_ROOMS; i++) {
		free(st->rooms[i].id);
		free(st->rooms[i].name);
	}
	free(st);
	s->state = NULL;
}

const struct proto_module proto_toc = {
	PROTO_IDENTITY(TOC),
	.max_pdu = FLAP_MAX_PDU,
	.detect = toc_detect,
	.frame = toc_frame,
	.decode = toc_decode,
	.resync = toc_resync,
	.session_init = toc_session_init,
	.session_free = toc_session_free,
	.encode = toc_encode,
	.pdu_count_changed = toc_pdu_count_changed,
	.fixup_pdu = toc_fixup_pdu,
	/* No local_receipt: the TOC server sends nothing back for a command
	 * that succeeded, only ERROR for one that failed (TOC1.0 PROTOCOL). */
};
