/* Address prefixes ("192.168.0.0/16", "2001:db8::/32", a bare address
 * for a single host): local_nets= in the configuration, and the flow
 * table's question which side of a connection is the local client. */
#ifndef IMW_UTIL_NET_PREFIX_H
#define IMW_UTIL_NET_PREFIX_H

#include <stdbool.h>
#include <stdint.h>

struct net_prefix {
	uint8_t ip_version;
	uint8_t addr[16];
	unsigned bits;
};

bool net_prefix_parse(const char *text, struct net_prefix *out);
/* addr: 4 bytes for IPv4, 16 for IPv6, as ip_version says. */
bool net_prefix_contains(const struct net_prefix *p, uint8_t ip_version, const uint8_t *addr);

#endif
