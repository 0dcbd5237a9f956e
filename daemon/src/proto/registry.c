#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

static const struct proto_module *const modules[] = {
	&proto_toc, /* before OSCAR: FLAPON and TOC text frames share FLAP framing */
	&proto_oscar,
	&proto_ymsg,
	&proto_imip, /* before IRC: IMIP's size line is the stricter signature */
	&proto_xmpp,
	&proto_gg,
	&proto_msn, /* before IRC: "VER 1 MSNP8" passes IRC's loose signature */
	&proto_irc,
};

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

