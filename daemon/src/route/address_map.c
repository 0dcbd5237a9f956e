#include "route/address_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/address.h"
#include "config/listfile.h"

struct load_ctx {
	struct address_map *m;
};

static int load_line(void *arg, const char *path, unsigned line, char *text, char *err,
		     size_t err_size)
{
	struct load_ctx *c = arg;
	struct address_map_pair pair, *g;
	char *eq = strchr(text, '='), *left = text, *right, *end, sub[256];
	int i;

	memset(&pair, 0, sizeof(pair));
	/* A comment may follow a pair after a blank. */
	for (end = text; *end; end++) {
		if ((*end == ' ' || *end == '\t') && end[1] == '#') {
			*end = '\0';
			break;
		}
	}
	eq = strchr(text, '=');
	if (!eq) {
		snprintf(err, err_size, "%s:%u: expected \"id@protocol = id@protocol\"", path, line);
		return -1;
	}
	*eq = '\0';
	right = eq + 1;
	for (end = eq; end > left && (end[-1] == ' ' || end[-1] == '\t');)
		*--end = '\0';
	while (*right == ' ' || *right == '\t')
		right++;
	for (end = right + strlen(right); end > right && (end[-1] == ' ' || end[-1] == '\t');)
		*--end = '\0';
	if (address_parse(left, &pair.side[0].proto, &pair.side[0].id, sub, sizeof(sub)) < 0 ||
	    address_parse(right, &pair.side[1].proto, &pair.side[1].id, sub, sizeof(sub)) < 0) {
		snprintf(err, err_size, "%s:%u: %s", path, line, sub);
		goto fail;
	}
	g = realloc(c->m->v, (c->m->n + 1) * sizeof(*g));
	if (!g) {
		snprintf(err, err_size, "%s:%u: out of memory", path, line);
		goto fail;
	}
	c->m->v = g;
	g[c->m->n++] = pair;
	return 0;
fail:
	for (i = 0; i < 2; i++)
		free(pair.side[i].id);
	return -1;
}

int address_map_load(struct address_map *m, const char *path, char *err, size_t err_size)
{
	struct load_ctx c = { .m = m };

	memset(m, 0, sizeof(*m));
	if (listfile_read(path, load_line, &c, err, err_size) < 0) {
		address_map_free(m);
		return -1;
	}
	return 0;
}

void address_map_free(struct address_map *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->v[i].side[0].id);
		free(m->v[i].side[1].id);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static bool side_is(const struct address_map_side *s, enum imw_proto proto, const char *id)
{
	return s->proto == proto && address_ids_match(proto, s->id, id);
}

int address_map_each_peer(const struct address_map *m, enum imw_proto proto, const char *id,
			  address_map_fn fn, void *arg)
{
	size_t i;
	int k, rc;

	for (i = 0; i < m->n; i++)
		for (k = 0; k < 2; k++)
			if (side_is(&m->v[i].side[k], proto, id) &&
			    (rc = fn(arg, &m->v[i].side[!k])) != 0)
				return rc;
	return 0;
}

const char *address_map_alias(const struct address_map *m, enum imw_proto proto, const char *id,
			      enum imw_proto on)
{
	size_t i;
	int k;

	for (i = 0; i < m->n; i++)
		for (k = 0; k < 2; k++)
			if (side_is(&m->v[i].side[k], proto, id) && m->v[i].side[!k].proto == on)
				return m->v[i].side[!k].id;
	return NULL;
}
