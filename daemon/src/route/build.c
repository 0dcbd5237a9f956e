/* Building the table every mode runs, and what it runs over. */
#include "route/router.h"

#include <stdio.h>
#include <string.h>

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

int route_setup_load(struct route_setup *rs, const struct imw_config *cfg, enum policy_mode mode,
		     unsigned n_workers, char *err, size_t err_size)
{
	memset(rs, 0, sizeof(*rs));
	/* The lists and rules the policy names must load, and so must the
	 * address map and the bots. */
	if (!(rs->policy = policy_new(cfg, mode, err, err_size)) ||
	    !(rs->router = router_new(cfg, n_workers, err, err_size)))
		goto fail;
	rs->table = route_table_build(rs->policy, rs->router);
	if (!rs->table) {
		snprintf(err, err_size, "out of memory");
		goto fail;
	}
	return 0;
fail:
	route_setup_free(rs);
	return -1;
}

void route_setup_free(struct route_setup *rs)
{
	route_table_unref(rs->table);
	router_free(rs->router);
	policy_unref(rs->policy);
	memset(rs, 0, sizeof(*rs));
}
