/* What the pipeline (pipeline.c) needs of the router (router.c). */
#ifndef IMW_ROUTE_ROUTER_INTERNAL_H
#define IMW_ROUTE_ROUTER_INTERNAL_H

#include "route/route.h"

struct route_handler_entry {
	enum route_stage stage;
	int position;
	char *name;
	route_handler_fn fn;
	void *arg;
};

/* Sorted by stage, then position; fixed once the workers run. */
const struct route_handler_entry *router_handlers(struct router *r, size_t *n);
void route_target_free(struct route_target *t);

#endif
