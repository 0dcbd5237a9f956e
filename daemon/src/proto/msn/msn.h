/* MSN Messenger (MSNP): notification server and switchboard sessions,
 * with MSNP2P file and webcam offers.
 * What the rest of the daemon sees of daemon/src/proto/msn/: the module. */
#ifndef IMW_PROTO_MSN_H
#define IMW_PROTO_MSN_H

#include "proto/proto.h"

extern const struct proto_module proto_msn;

#endif
