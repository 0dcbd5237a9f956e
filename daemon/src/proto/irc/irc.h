/* IRC (RFC 1459, RFC 2812, IRCv3 message tags): one line a PDU.
 * What the rest of the daemon sees of daemon/src/proto/irc/: the module. */
#ifndef IMW_PROTO_IRC_H
#define IMW_PROTO_IRC_H

#include "proto/proto.h"

extern const struct proto_module proto_irc;

#endif
