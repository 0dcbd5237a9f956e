/* Building the table every mode runs: the policy's handlers, then the
 * router's. */
#include "route/router.h"

struct route_table *route_table_build(struct policy *p, struct router *r)
{
	struct route_table *t = route_table_new(p);

	if (!t)
		return NULL;
	if ((p && policy_add_handlers(p, t) < 0) || (r && router_add_handlers(r, t) < 0)) {
		route_table_unref(t);
		return NULL;
	}
	return t;
}
