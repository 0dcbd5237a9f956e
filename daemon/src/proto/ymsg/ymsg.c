/* Yahoo! Messenger (YMSG).
 *
 * A packet is a 20-byte big-endian header ("YMSG", version, vendor id,
 * payload length, service, status, session id) and a payload of
 * key/value pairs: a decimal key, C0 80, the value, C0 80. C0 80 can
 * never occur inside UTF-8 text, and a key is only digits, so a payload
 * length that points anywhere but the end of a value is caught as soon
 * as the bytes it covers are seen: framing checks the pairs and resyncs
 * on the next "YMSG" instead of swallowing the next packet.
 *
 * Services and what they give:
 *   0x57 AUTH, 0x54 AUTHRESP, 0x01 LOGON  local id (key 1, or 0); the
 *        server's LOGON naming us is the login event; 0x02 LOGOFF logout
 *   0x06 MESSAGE  1/4 from, 5 to, 14 text, 97 UTF-8 flag, 15 time; one
 *        packet may hold several messages (offline messages at login,
 *        each opened by key 31): a repeated key starts the next one
 *   0x4B NOTIFY  49 TYPING with 13 state (text "" when typing starts,
 *        "stopped" when it ends); 49 WEBCAMINVITE (14 " " invites,
 *        "1"/"-1" answers) as webcam events
 *   0x46 FILETRANSFER, 0x4D P2PFILEXFER, 0xDC FILETRANS_15  27 file
 *        name, 28 size (repeated for several files), 222 action (1
 *        offers); 0xDD/0xDE (info, accept) name a file only after the
 *        offer, so they make an event only when the offer was not seen
 *        (capture started late), matched by transfer id (key 265)
 *   0x50 WEBCAM  a webcam request naming a user (5 or 4)
 *   0x18-0x1D conferences (57 room): invite and add-invite (50 host, 58
 *        text) as rendezvous, logon/decline/logoff (53/54/56 who) as
 *        join/part, 0x1D message (3 sender, 14 text); 0x1E/0x1F chat
 *        logon/logoff as join/part of room 104 when one is named (none
 *        when they only log on to or off the chat service)
 *   0x96-0xA8 chat rooms (104 room): 0x98 join (109 members, 130 on our
 *        own join), 0x99/0x9B leave, 0x9D invite (119 inviter, 117
 *        text), 0xA0 logout (as 0x1F), 0xA8 message (109 sender, 117 text);
 *        0x96 online, 0x97 goto and 0xA1 ping carry nothing to log
 * Conference and chat room events are group events whose remote is the
 * room; text from others is prefixed "sender: " as IMSpector does. */
#include <stdlib.h>

#include "proto/ymsg/ymsg_internal.h"

static int ymsg_session_init(struct proto_session *s)
{
	s->state = calloc(1, sizeof(struct ymsg_state));
	return s->state ? 0 : -1;
}

static void ymsg_session_free(struct proto_session *s)
{
	struct ymsg_state *st = ymsg_state_of(s);
	size_t i;

	if (!st)
		return;
	for (i = 0; i < YMSG_SEEN_TRANSFERS; i++)
		free(st->seen_transfer[i]);
	free(st);
	s->state = NULL;
}

const struct proto_module proto_ymsg = {
	PROTO_IDENTITY(YMSG),
	.max_pdu = YMSG_MAX_PDU,
	.detect = ymsg_detect,
	.frame = ymsg_frame,
	.decode = ymsg_decode,
	.resync = ymsg_resync,
	.session_init = ymsg_session_init,
	.session_free = ymsg_session_free,
	.encode = ymsg_encode,
	/* No local_receipt: the server sends nothing back for a delivered
	 * MESSAGE; YMSG 16's MESSAGE_ACK (0xFB) comes from the recipient's
	 * client (libpurple yahoo_process_message) and travels like a message. */
};
