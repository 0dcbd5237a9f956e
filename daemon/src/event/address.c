#include "event/address.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event/event.h"

int address_parse(const char *s, enum imw_proto *proto, char **id, char *err, size_t err_size)
{
	const char *at = strrchr(s, '@');
	enum imw_proto p;

	*id = NULL;
	if (!at || at == s || !at[1]) {
		snprintf(err, err_size, "\"%s\" is not an address (id@protocol)", s);
		return -1;
	}
	p = event_proto_from_name(at + 1);
	if (p == IMW_PROTO_NONE) {
		snprintf(err, err_size, "unknown protocol \"%s\" in \"%s\" (irc, xmpp, msn, icq, ...)",
			 at + 1, s);
		return -1;
	}
	*id = strndup(s, (size_t)(at - s));
	if (!*id) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	*proto = p;
	return 0;
}

char *address_format(enum imw_proto proto, const char *id)
{
	const char *name = event_proto_name(proto);
	size_t n = strlen(id) + strlen(name) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s@%s", id, name);
	return s;
}

size_t address_bare_len(enum imw_proto proto, const char *id)
{
	const char *slash;

	if (proto == IMW_PROTO_XMPP && (slash = strchr(id, '/')))
		return (size_t)(slash - id);
	return strlen(id);
}

bool address_ids_match(enum imw_proto proto, const char *a, const char *b)
{
	size_t la, lb;

	if (!a || !b)
		return false;
	if (strcasecmp(a, b) == 0)
		return true;
	if (proto != IMW_PROTO_XMPP)
		return false;
	la = address_bare_len(proto, a);
	lb = address_bare_len(proto, b);
	/* One side bare, and the bare parts equal. */
	if ((la != strlen(a) && lb != strlen(b)) || la != lb)
		return false;
	return strncasecmp(a, b, la) == 0;
}
