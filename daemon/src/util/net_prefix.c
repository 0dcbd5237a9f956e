#include "util/net_prefix.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

bool net_prefix_parse(const char *text, struct net_prefix *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	char *end;
	unsigned long bits;

	if (alen == 0 || alen >= sizeof(buf))
		return false;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->ip_version = 4;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->ip_version = 6;
	else
		return false;
	bits = out->ip_version == 4 ? 32 : 128;
	if (slash) {
		unsigned long max = bits;

		bits = strtoul(slash + 1, &end, 10);
		if (end == slash + 1 || *end != '\0' || bits > max)
			return false;
	}
	out->bits = (unsigned)bits;
	return true;
}

bool net_prefix_contains(const struct net_prefix *p, uint8_t ip_version, const uint8_t *addr)
{
	unsigned full = p->bits / 8, rest = p->bits % 8;

	if (p->ip_version != ip_version)
		return false;
	if (memcmp(p->addr, addr, full) != 0)
		return false;
	if (rest && ((p->addr[full] ^ addr[full]) & (uint8_t)(0xFF << (8 - rest))))
		return false;
	return true;
}
