/* What decides events, loaded from one configuration: the policy, the
 * router and the table over both (route_table_build). */
#include "route/router.h"

#include <stdio.h>
#include <string.h>

int route_setup_load_report(struct route_setup *rs, const struct imw_config *cfg,
			    enum policy_mode mode, unsigned n_workers, struct config_report *r)
{
	unsigned errors = r->errors;
	char err[512];

	memset(rs, 0, sizeof(*rs));
	/* The lists and rules the policy names must load, and so must the
	 * address map and the bots: each says what is wrong with it. */
	rs->policy = policy_new_report(cfg, mode, r);
	rs->router = router_new(cfg, n_workers, err, sizeof(err));
	if (!rs->router)
		config_report_error(r, "%s", err);
	if (r->errors == errors && !(rs->table = route_table_build(rs->policy, rs->router)))
		config_report_error(r, "out of memory");
	if (r->errors == errors)
		return 0;
	route_setup_free(rs);
	return -1;
}

int route_setup_load(struct route_setup *rs, const struct imw_config *cfg, enum policy_mode mode,
		     unsigned n_workers, char *err, size_t err_size)
{
	struct config_first_error fe;
	struct config_report r;

	config_report_first_error(&r, &fe, err, err_size, NULL);
	return route_setup_load_report(rs, cfg, mode, n_workers, &r);
}

void route_setup_free(struct route_setup *rs)
{
	route_table_unref(rs->table);
	router_free(rs->router);
	policy_unref(rs->policy);
	memset(rs, 0, sizeof(*rs));
}
