/* MSN Messenger (MSNP), notification server and switchboard sessions.
 *
 * Every command is one CRLF-terminated line: a three-character command
 * (or a three-digit error code), usually a transaction id, then
 * space-separated arguments. Payload commands (MSG, UUX, ADL, NOT...)
 * end their line with a byte count, and exactly that many bytes of
 * payload follow: for MSG a MIME message whose Content-Type says what it
 * is (text, typing, invitation, P2P).
 *
 * Identities: the local id comes from USR (both server kinds) or ANS; the
 * peers of a switchboard from CAL, JOI and IRO, with the MSNP15+
 * ";{endpoint GUID}" suffix dropped so several endpoints of one user count
 * once. A switchboard becomes a group conversation when it holds more
 * than one other participant. Its group id is "groupchat-" followed by
 * the switchboard session id (from "CAL n RINGING id" or ANS) when known,
 * else by 16 hex digits of a 64-bit FNV-1a hash over the sorted,
 * lower-cased ids of everyone present (local id included) at the moment
 * the group formed. The id is then frozen for the switchboard's life, so
 * people leaving or joining later never split one conversation's log.
 * Messages from others in a group carry "sender: " before their text, as
 * IMSpector logs group chats. */
#include <stdlib.h>

#include "proto/msn/msn_internal.h"

static int msn_session_init(struct proto_session *s)
{
	struct msn_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -1;
	bytebuf_init(&st->slp[0].buf);
	bytebuf_init(&st->slp[1].buf);
	s->state = st;
	return 0;
}

static void msn_session_free(struct proto_session *s)
{
	struct msn_state *st = msn_state_of(s);
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->n_peers; i++)
		free(st->peers[i].id);
	free(st->peers);
	free(st->sb_session);
	free(st->group_id);
	free(st->called);
	proto_session_unshare(s, st->format[0]);
	proto_session_unshare(s, st->format[1]);
	bytebuf_free(&st->slp[0].buf);
	bytebuf_free(&st->slp[1].buf);
	free(st);
	s->state = NULL;
}

const struct proto_module proto_msn = {
	PROTO_IDENTITY(MSN),
	.max_pdu = MSN_MAX_PDU,
	.detect = msn_detect,
	.frame = msn_frame,
	.decode = msn_decode,
	.resync = msn_resync,
	.session_init = msn_session_init,
	.session_free = msn_session_free,
	.encode = msn_encode,
	.local_receipt = msn_local_receipt,
};
