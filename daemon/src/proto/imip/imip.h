/* IMIP (IMUnified): type line, size line, header block and body.
 * What the rest of the daemon sees of daemon/src/proto/imip/: the module. */
#ifndef IMW_PROTO_IMIP_H
#define IMW_PROTO_IMIP_H

#include "proto/proto.h"

extern const struct proto_module proto_imip;

#endif
