#include "util/version.h"

#include "imwire_version.h" /* generated: build/gen/imwire_version.h */

const char *imw_version(void)
{
	return IMW_VERSION;
}

const char *imw_default_config(void)
{
	return IMW_SYSCONFDIR "/imwire/imwire.conf";
}
