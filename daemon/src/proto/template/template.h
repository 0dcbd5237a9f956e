/* The template module: a complete, tested protocol module to copy when
 * adding a protocol (docs/adding-a-protocol.md). It speaks TPL, a
 * made-up protocol that exists only for this, and is built only into
 * the test binaries, where tests register it (app_config_set_modules).
 * What the rest of the daemon sees of a protocol folder: its module. */
#ifndef IMW_PROTO_TEMPLATE_H
#define IMW_PROTO_TEMPLATE_H

#include "proto/proto.h"

extern const struct proto_module proto_template;

#endif
