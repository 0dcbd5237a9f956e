/* The routing settings of a configuration: local_routing=, address_map=
 * and the bots (bot_NAME=addresses). Loaded whole or not at all, so a
 * reload with a mistake keeps the old settings. */
#include "route/router_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bot/bot.h"

void settings_free(struct router_settings *s)
{
	size_t i;

	address_map_free(&s->map);
	for (i = 0; i < s->n_bots; i++)
		bot_free(s->bots[i]);
	free(s->bots);
	memset(s, 0, sizeof(*s));
}

/* local_routing=: a list of protocols, "all", or a plain on/off. */
static int parse_local(struct router_settings *s, const char *list, char *err, size_t err_size)
{
	bool on;
	int i;

	if (config_parse_bool(list, &on)) {
		for (i = 1; i < IMW_PROTO_MAX; i++)
			s->local[i] = on;
		return 0;
	}
	return config_parse_protocols(list, s->local, err, err_size);
}

static int add_bot(struct router_settings *s, const char *name, const char *addresses, char *err,
		   size_t err_size)
{
	const struct bot_ops *ops = bot_ops_by_name(name);
	struct bot *b, **g;

	if (!ops) {
		snprintf(err, err_size, "no bot named \"%s\" (built in: auditbot)", name);
		return -1;
	}
	b = bot_new(ops, addresses, err, err_size);
	if (!b)
		return -1;
	g = realloc(s->bots, (s->n_bots + 1) * sizeof(*g));
	if (!g) {
		bot_free(b);
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	s->bots = g;
	g[s->n_bots++] = b;
	return 0;
}

int settings_load(struct router_settings *s, const struct imw_config *cfg, char *err,
		  size_t err_size)
{
	const char *name = cfg->path ? cfg->path : "config", *v;
	char sub[512];
	size_t i;

	memset(s, 0, sizeof(*s));
	if ((v = config_get(cfg, "local_routing")) && parse_local(s, v, sub, sizeof(sub)) < 0) {
		snprintf(err, err_size, "%s:%u: local_routing: %s", name,
			 config_line_of(cfg, "local_routing"), sub);
		goto fail;
	}
	if ((v = config_get(cfg, "address_map"))) {
		if (address_map_load(&s->map, v, err, err_size) < 0)
			goto fail;
		s->have_map = true;
	}
	for (i = 0; i < cfg->n_entries; i++) {
		const char *key = cfg->entries[i].key;

		if (strncmp(key, "bot_", 4) != 0)
			continue;
		if (add_bot(s, key + 4, cfg->entries[i].value, sub, sizeof(sub)) < 0) {
			snprintf(err, err_size, "%s:%u: %s: %s", name, cfg->entries[i].line, key, sub);
			goto fail;
		}
	}
	return 0;
fail:
	settings_free(s);
	return -1;
}
