/* Gadu-Gadu: LE32 type + LE32 length packets, logins of every generation
 * up to the GG 11 protobuf ones.
 * What the rest of the daemon sees of daemon/src/proto/gg/: the module. */
#ifndef IMW_PROTO_GG_H
#define IMW_PROTO_GG_H

#include "proto/proto.h"

extern const struct proto_module proto_gg;

#endif
