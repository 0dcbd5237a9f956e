/* The address map file of the routing stage (address_map=FILE): one pair
 * of addresses per line, "alice@msn = 12345@icq", '#' comments. A pair
 * names one person on two services: a message to either address is
 * delivered to the other's session when that one passes through this
 * imwired, and a sender who has an address on the recipient's service is
 * shown under it. Internal to route/. */
#ifndef IMW_ROUTE_ADDRESS_MAP_H
#define IMW_ROUTE_ADDRESS_MAP_H

#include <stddef.h>

#include "imwire/protocols.h"

struct address_map_side {
	enum imw_proto proto;
	char *id;
};

struct address_map_pair {
	struct address_map_side side[2];
};

struct address_map {
	struct address_map_pair *v;
	size_t n;
};

/* -1 with "FILE:LINE: reason" in err. */
int address_map_load(struct address_map *m, const char *path, char *err, size_t err_size);
void address_map_free(struct address_map *m);

/* The other sides of pairs that name (proto, id), in file order: calls fn
 * for each until it returns non-zero, and returns that value (0: none). */
typedef int (*address_map_fn)(void *arg, const struct address_map_side *other);
int address_map_each_peer(const struct address_map *m, enum imw_proto proto, const char *id,
			  address_map_fn fn, void *arg);

/* The id (proto, id) has on service `on`, NULL when the map gives none. */
const char *address_map_alias(const struct address_map *m, enum imw_proto proto, const char *id,
			      enum imw_proto on);

#endif
