#include "bot/bot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/address.h"

static const struct bot_ops *const builtin[] = {
	&auditbot_ops,
};

const struct bot_ops *bot_ops_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (strcmp(builtin[i]->name, name) == 0)
			return builtin[i];
	return NULL;
}

void bot_free(struct bot *b)
{
	size_t i;

	if (!b)
		return;
	if (b->ops->free)
		b->ops->free(b);
	for (i = 0; i < b->n_addresses; i++)
		free(b->addresses[i].id);
	free(b->addresses);
	free(b);
}

static int add_address(struct bot *b, const char *text, char *err, size_t err_size)
{
	struct bot_address *g;
	enum imw_proto proto;
	char *id;

	if (address_parse(text, &proto, &id, err, err_size) < 0)
		return -1;
	g = realloc(b->addresses, (b->n_addresses + 1) * sizeof(*g));
	if (!g) {
		free(id);
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	b->addresses = g;
	g[b->n_addresses].proto = proto;
	g[b->n_addresses].id = id;
	b->n_addresses++;
	return 0;
}

struct bot *bot_new(const struct bot_ops *ops, const char *addresses, char *err, size_t err_size)
{
	struct bot *b = calloc(1, sizeof(*b));
	char *copy = strdup(addresses), *tok, *save = NULL;

	if (!b || !copy) {
		snprintf(err, err_size, "out of memory");
		goto fail;
	}
	b->ops = ops;
	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
		if (add_address(b, tok, err, err_size) < 0)
			goto fail;
	if (!b->n_addresses) {
		snprintf(err, err_size, "bot %s has no address (id@protocol, ...)", ops->name);
		goto fail;
	}
	if (ops->init && ops->init(b) < 0) {
		snprintf(err, err_size, "bot %s: cannot start", ops->name);
		goto fail;
	}
	free(copy);
	return b;
fail:
	free(copy);
	if (b) {
		b->ops = &(const struct bot_ops){ .name = "" };
		bot_free(b);
	}
	return NULL;
}

bool bot_answers_to(const struct bot *b, enum imw_proto proto, const char *id)
{
	size_t i;

	for (i = 0; i < b->n_addresses; i++)
		if (b->addresses[i].proto == proto &&
		    address_ids_match(proto, b->addresses[i].id, id))
			return true;
	return false;
}
