/* Jabber/XMPP (RFC 6120, RFC 6121): client-to-server and server-to-server.
 *
 * A PDU is one of: the stream header (an optional <?xml ...?> and the
 * <stream:stream ...> start tag), one complete top-level element (a
 * stanza, or stream-level negotiation like <starttls/>), the closing
 * </stream:stream>, or a run of white space between them (keepalives,
 * decoded as nothing). The framer runs the streaming tokenizer over the
 * bytes of the PDU under way and keeps its state between calls, so a
 * stanza split over any number of segments is scanned once. A stanza
 * that arrives whole is built into its tree from those same tokens, which
 * the decoder takes; a split one is parsed again, whole, by the decoder.
 * The tokenizer and tree blocks of a PDU under way are the decoding
 * thread's spares between PDUs: an idle session holds neither, and the
 * stanzas of all its sessions reuse one of each (xmpp_tree.c). The tree
 * knows each node's namespace (no walk up to ask) and whether a value or
 * text holds a reference (decoded in place when not).
 *
 * A complete PDU is decoded into a small element tree of that one stanza
 * (spans into the PDU, bounded by the PDU size); the stream as a whole is
 * never held.
 *
 * Event conventions:
 * - remote is the peer's JID as written (to of what we send, from of what
 *   we receive); for MUC groupchat it is the bare room JID with group set,
 *   and an incoming groupchat text is prefixed "nick: " (IMSpector's way
 *   of keeping the sender of a channel message).
 * - local is the full JID from the resource-binding result, else what the
 *   stream header or an incoming stanza's "to" says.
 * - the message text is the <body> with references decoded; a message
 *   with only an XHTML-IM part gives its markup as text/html.
 * - text_offset/len are set only when the body's bytes on the wire are
 *   exactly its text (no references, no CDATA), so a same-length edit of
 *   those bytes is an edit of the text. */
#include <stdlib.h>

#include "proto/xmpp/xmpp_internal.h"

static int xmpp_session_init(struct proto_session *s)
{
	s->state = calloc(1, sizeof(struct xmpp_state));
	return s->state ? 0 : -1;
}

static void xmpp_session_free(struct proto_session *s)
{
	struct xmpp_state *st = xmpp_state_of(s);

	if (!st)
		return;
	xmpp_framer_free(&st->framer[IM_DIR_OUT]);
	xmpp_framer_free(&st->framer[IM_DIR_IN]);
	proto_session_unshare(s, st->stream_to);
	free(st);
	s->state = NULL;
}

const struct proto_module proto_xmpp = {
	PROTO_IDENTITY(XMPP),
	.max_pdu = XMPP_MAX_PDU,
	.detect = xmpp_detect,
	.frame = xmpp_frame,
	.decode = xmpp_decode,
	.resync = xmpp_resync,
	.session_init = xmpp_session_init,
	.session_free = xmpp_session_free,
	.encode = xmpp_encode,
	.fixup_pdu = xmpp_fixup_pdu,
	.local_receipt = xmpp_local_receipt,
};
