/* The built-in modules and their identities, both expanded from the
 * protocol table (include/imwire/protocols.h): a module's name, ports
 * and position in detection order are its row's. */
#include <stdio.h>
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

static int refuse(char *err, size_t err_size, const struct proto_module *m, const char *what)
{
	snprintf(err, err_size, "module %s: %s",
		 m->info && m->info->name && m->info->name[0] ? m->info->name : "(unnamed)", what);
	return -1;
}

/* Optional callbacks that only work together. */
static const char *pairs_broken(const struct proto_module *m)
{
	if (!m->session_init != !m->session_free)
		return m->session_init ? "session_init without session_free"
				       : "session_free without session_init";
	if (m->pdu_count_changed && !m->fixup_pdu)
		return "pdu_count_changed without fixup_pdu";
	if (m->local_receipt && !m->encode)
		return "local_receipt without encode";
	return NULL;
}

int proto_module_check(const struct proto_module *m, char *err, size_t err_size)
{
	const char *why;

	if (!m) {
		snprintf(err, err_size, "no module");
		return -1;
	}
	if (!m->info || !m->info->name || !m->info->name[0])
		return refuse(err, err_size, m, "no identity (info and its name)");
	if ((unsigned)m->id >= IMW_PROTO_MAX || m->info->id != m->id)
		return refuse(err, err_size, m, "id does not match its info");
	if (m->info->n_ports && !m->info->ports)
		return refuse(err, err_size, m, "n_ports without ports");
	if (!m->detect || !m->frame || !m->decode || !m->resync)
		return refuse(err, err_size, m,
			      "detect, frame, decode and resync are all required");
	if (m->max_pdu == 0)
		return refuse(err, err_size, m, "max_pdu is 0");
	why = pairs_broken(m);
	return why ? refuse(err, err_size, m, why) : 0;
}

#define ROW_ID(ID, ...) IMW_PROTO_##ID,

int proto_registry_check(char *err, size_t err_size)
{
	static const enum imw_proto order[] = { IMW_PROTOCOLS(ROW_ID) };
	size_t i;

	if (sizeof(modules) / sizeof(modules[0]) != sizeof(order) / sizeof(order[0]) ||
	    sizeof(order) / sizeof(order[0]) != IMW_PROTO_MAX - 1) {
		snprintf(err, err_size, "the module registry and the protocol table differ in size");
		return -1;
	}
	for (i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		const struct proto_module *m = modules[i];

		if (proto_module_check(m, err, err_size) < 0)
			return -1;
		if (m->id != order[i] || m->info != &proto_infos[m->id])
			return refuse(err, err_size, m, "not its row of the protocol table");
		if (!m->info->n_ports)
			return refuse(err, err_size, m, "no well-known port in the protocol table");
	}
	return 0;
}
