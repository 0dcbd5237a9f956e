/* Yahoo! Messenger (YMSG): 20-byte header and key/value payload.
 * What the rest of the daemon sees of daemon/src/proto/ymsg/: the module. */
#ifndef IMW_PROTO_YMSG_H
#define IMW_PROTO_YMSG_H

#include "proto/proto.h"

extern const struct proto_module proto_ymsg;

#endif
