/* The built-in modules and their identities, both expanded from the
 * protocol table (include/imwire/protocols.h): a module's name, ports
 * and position in detection order are its row's. */
#include <stdlib.h>
#include <string.h>

#include "proto/gg/gg.h"
#include "proto/imip/imip.h"
#include "proto/irc/irc.h"
#include "proto/msn/msn.h"
#include "proto/oscar/oscar.h"
#include "proto/proto.h"
#include "proto/toc/toc.h"
#include "proto/xmpp/xmpp.h"
#include "proto/ymsg/ymsg.h"

#define PORTS_ROW(ID, num, nm, ims, cfg, alt, sig, ...) \
	static const uint16_t ports_##nm[] = { __VA_ARGS__ };
IMW_PROTOCOLS(PORTS_ROW)

#define INFO_ROW(ID, num, nm, ims, cfg, alt, sig, ...)                                   \
	[IMW_PROTO_##ID] = {                                                                 \
		.id = IMW_PROTO_##ID,                                                        \
		.name = #nm,                                                               \
		.imspector = ims,                                                            \
		.config_key = IMW_PROTO_STR(cfg) "_protocol",                                \
		.also = IMW_PROTO_STR(alt),                                                 \
		.ports = ports_##nm,                                                       \
		.n_ports = sizeof(ports_##nm) / sizeof(ports_##nm[0]),                   \
	},

const struct proto_info proto_infos[IMW_PROTO_MAX] = {
	[IMW_PROTO_NONE] = { .id = IMW_PROTO_NONE, .name = "none", .imspector = "none",
			     .config_key = "", .also = "" },
	IMW_PROTOCOLS(INFO_ROW)
};

/* In the table's order, which is detection order. */
#define MODULE_ROW(ID, num, nm, ...) &proto_##nm,

static const struct proto_module *const modules[] = { IMW_PROTOCOLS(MODULE_ROW) };

const struct proto_module *const *proto_modules(size_t *count)
{
	*count = sizeof(modules) / sizeof(modules[0]);
	return modules;
}

const struct proto_module *proto_module_by_id(enum imw_proto id)
{
	size_t i;

	for (i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
		if (modules[i]->id == id)
			return modules[i];
	return NULL;
}
