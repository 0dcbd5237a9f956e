/* IRC (RFC 1459, RFC 2812, IRCv3 message tags).
 *
 * One line is one PDU: "[@tags ][:prefix ]COMMAND params[ :trailer]\n",
 * with an optional "\r" before the "\n". Real clients and servers put runs
 * of spaces between fields and before the command, so every separator is
 * "one or more spaces".
 *
 * Event conventions (IMSpector compatible where IMSpector had one):
 * - The text of PRIVMSG and NOTICE is the IRC trailer exactly as sent,
 *   including freenode's identify-msg "+"/"-" marker, so it can be
 *   compared with what tshark shows as irc.*.trailer.
 * - An incoming channel message is prefixed with "<sender>: ", because a
 *   channel event's remote is the channel and the sender would be lost.
 * - CTCP: a trailer that starts with \x01 (after an optional +/- marker) is
 *   a CTCP request. ACTION and DCC SEND are logged as messages whose text
 *   is the trailer with every \x01 removed ("ACTION waves"): the log keeps
 *   what was on the wire minus control bytes, and the encoder can restore
 *   them. DCC SEND is a file event only, DCC CHAT is a rendezvous, every
 *   other CTCP (VERSION, PING, CTCP replies in NOTICE) is not a message.
 * - Messages from a server (a prefix without "!" or "@"), NOTICEs without
 *   a prefix and messages to "*" or "AUTH" are connection notices, not IM;
 *   a PRIVMSG without any prefix is a message whose sender is unknown
 *   (remote "" for a private message).
 * - TOPIC is a topic event ("nick: text"), INVITE a rendezvous ("invite to
 *   #chan") for both sides, KICK a part ("nick (kicked by op: reason)").
 * - encrypted=strip: "tls" in the server's CAP LS, CAP NEW and CAP ACK
 *   lists becomes blanks (irc_fixup_pdu), so the client never asks for
 *   STARTTLS; a 670 the client gets anyway is left to policy. */
#include "proto/irc/irc_internal.h"

const struct proto_module proto_irc = {
	PROTO_IDENTITY(IRC),
	.max_pdu = IRC_MAX_PDU,
	.detect = irc_detect,
	.frame = irc_frame,
	.decode = irc_decode,
	.resync = irc_resync,
	.encode = irc_encode,
	.partial_may_edit = irc_partial_may_edit,
	.local_receipt = irc_local_receipt,
	.fixup_pdu = irc_fixup_pdu,
};
