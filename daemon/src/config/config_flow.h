/* The decoding-related configuration keys (protocol switches, typing
 * events, local_nets, flow and buffer limits) applied to a flow table's
 * configuration. Apart from config.h, so that the stages that read only
 * policy keys (policy/, route/) do not pull in the flow table, the app
 * layer, the protocols and reassembly. */
#ifndef IMW_CONFIG_FLOW_H
#define IMW_CONFIG_FLOW_H

#include "config/config.h"
#include "flow/flow.h"

void config_apply_flow(const struct imw_config *cfg, struct flow_config *fc);

#endif
