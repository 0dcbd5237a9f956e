#include <strings.h>

#include "policy/filters.h"

bool ids_equal(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

bool party_matches(const char *listed, const char *id, const char *bare)
{
	return ids_equal(listed, id) || ids_equal(listed, bare);
}
