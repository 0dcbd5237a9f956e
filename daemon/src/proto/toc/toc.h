/* AIM TOC and TOC2: AOL's text gateway to OSCAR, over FLAP framing
 * (borrowed from oscar/).
 * What the rest of the daemon sees of daemon/src/proto/toc/: the module. */
#ifndef IMW_PROTO_TOC_H
#define IMW_PROTO_TOC_H

#include "proto/proto.h"

extern const struct proto_module proto_toc;

#endif
