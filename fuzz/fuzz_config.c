/* The configuration parser on arbitrary text: it either accepts the text
 * or fails with a message, never crashes, and an accepted configuration
 * applies to a flow configuration and answers lookups. */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore_warning(const char *msg)
{
	if (!msg || !*msg)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imw_config cfg;
	struct flow_config fc;
	char err[256];
	size_t i;

	config_init(&cfg);
	err[0] = '\0';
	if (config_parse(&cfg, "fuzz.conf", (const char *)data, size, err, sizeof(err),
			 ignore_warning) == 0) {
		flow_config_defaults(&fc);
		config_apply_flow(&cfg, &fc);
		for (i = 0; i < cfg.n_entries; i++)
			if (!cfg.entries[i].key || !cfg.entries[i].value ||
			    config_get(&cfg, cfg.entries[i].key) == NULL)
				abort();
	} else if (err[0] == '\0' || strlen(err) >= sizeof(err)) {
		abort(); /* a refusal always says why */
	}
	config_free(&cfg);
	return 0;
}
