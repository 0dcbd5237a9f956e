#include "config/config_flow.h"

#include <stdlib.h>
#include <string.h>

void config_apply_flow(const struct imw_config *cfg, struct flow_config *fc)
{
	const char *v;
	int i;

	/* IMSpector decodes only the protocols switched on; a config that
	 * names none keeps imwire's default of all. */
	if (cfg->protocol_listed)
		for (i = 1; i < IMW_PROTO_MAX; i++)
			fc->app.enabled[i] = cfg->protocol_on[i];
	/* IMSpector's default: typing events are logged only when asked for. */
	fc->app.log_typing = cfg->log_typing_events;
	/* encrypted=strip: modules blank the server's offer of TLS. */
	if ((v = config_get(cfg, "encrypted")) && strcmp(v, "strip") == 0)
		for (i = 1; i < IMW_PROTO_MAX; i++)
			fc->app.strip_tls[i] = true;
	fc->local_nets = cfg->local_nets;
	fc->n_local_nets = cfg->n_local_nets;
	if ((v = config_get(cfg, "max_flows")) && strtoull(v, NULL, 10) > 0)
		fc->max_flows = (size_t)strtoull(v, NULL, 10);
	if ((v = config_get(cfg, "idle_timeout")) && strtoull(v, NULL, 10) > 0)
		fc->idle_timeout = (double)strtoull(v, NULL, 10);
	if ((v = config_get(cfg, "halfopen_timeout")) && strtoull(v, NULL, 10) > 0)
		fc->halfopen_timeout = (double)strtoull(v, NULL, 10);
	if ((v = config_get(cfg, "flow_buffer_bytes")))
		fc->reasm.max_buffered_bytes = (size_t)strtoull(v, NULL, 10);
	if ((v = config_get(cfg, "max_buffered_bytes")))
		fc->max_buffered_total = (size_t)strtoull(v, NULL, 10);
}
