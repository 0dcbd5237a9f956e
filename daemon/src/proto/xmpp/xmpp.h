/* Jabber/XMPP (RFC 6120, RFC 6121), client-to-server and server-to-server
 * streams: one top-level element a PDU.
 * What the rest of the daemon sees of daemon/src/proto/xmpp/: the module. */
#ifndef IMW_PROTO_XMPP_H
#define IMW_PROTO_XMPP_H

#include "proto/proto.h"

extern const struct proto_module proto_xmpp;

#endif
