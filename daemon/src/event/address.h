/* Protocol-neutral addresses, after timps: "name@service", where the
 * service is an imwire protocol name ("alice@irc", "12345@icq",
 * "bob@example.org@xmpp": the last '@' starts the service, so an XMPP id
 * keeps its own). */
#ifndef IMW_EVENT_ADDRESS_H
#define IMW_EVENT_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "imwire/protocols.h"

/* Splits s; *id is allocated. -1 with a reason in err: no '@', an empty
 * id, or an unknown protocol. */
int address_parse(const char *s, enum imw_proto *proto, char **id, char *err, size_t err_size);

/* "id@proto" (allocated), NULL on allocation failure. */
char *address_format(enum imw_proto proto, const char *id);

/* The way services compare ids: without case; an XMPP full JID also
 * matches its bare form on either side ("bob@x" names every resource of
 * bob, "bob@x/home" only that one). */
bool address_ids_match(enum imw_proto proto, const char *a, const char *b);

/* Length of the XMPP bare part of id (up to the first '/'), or strlen. */
size_t address_bare_len(enum imw_proto proto, const char *id);

#endif
