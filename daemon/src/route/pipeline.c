/* Running the three stages: the policy's steps and the router's handlers
 * merged by position within each stage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route/route.h"
#include "route/router_internal.h"

void route_target_free(struct route_target *t)
{
	free(t->session.local_id);
	free(t->session.local_address);
	free(t->as_remote);
	free(t->to);
	memset(t, 0, sizeof(*t));
}

void route_ctx_free(struct route_ctx *ctx)
{
	policy_decision_free(&ctx->decision);
	route_target_free(&ctx->target);
}

static enum route_stage stage_of_policy(enum policy_stage s)
{
	return s == POLICY_STAGE_PRE ? ROUTE_STAGE_PRE : ROUTE_STAGE_POST;
}

/* Runs one stage; in the routing stage stops at the first claim. */
static void run_stage(struct route_ctx *ctx, enum route_stage stage,
		      const struct route_handler_entry *h, size_t n_h)
{
	const struct policy_step *steps = NULL;
	size_t n_steps = 0, i = 0, j = 0;

	if (ctx->policy)
		steps = policy_steps(&n_steps);
	for (;;) {
		while (i < n_steps && (stage_of_policy(steps[i].stage) != stage))
			i++;
		while (j < n_h && h[j].stage != stage)
			j++;
		if (i == n_steps && j == n_h)
			return;
		if (j == n_h || (i < n_steps && steps[i].position <= h[j].position)) {
			policy_run_step(ctx->policy, i, ctx->ev, &ctx->decision);
			i++;
			continue;
		}
		if (h[j].fn(h[j].arg, ctx) && stage == ROUTE_STAGE_ROUTING)
			return;
		j++;
	}
}

void route_decide(struct router *r, struct policy *p, unsigned worker, const struct im_event *ev,
		  struct route_ctx *ctx)
{
	const struct route_handler_entry *h = NULL;
	size_t n_h = 0;

	memset(ctx, 0, sizeof(*ctx));
	ctx->ev = ev;
	ctx->policy = p;
	ctx->router = r;
	ctx->worker = worker;
	ctx->outcome = ROUTE_FORWARDED;
	policy_decision_init(&ctx->decision);
	if (r)
		h = router_handlers(r, &n_h);
	run_stage(ctx, ROUTE_STAGE_PRE, h, n_h);
	if (ctx->decision.filtered)
		ctx->outcome = ROUTE_DROPPED;
	else
		run_stage(ctx, ROUTE_STAGE_ROUTING, h, n_h);
	run_stage(ctx, ROUTE_STAGE_POST, h, n_h);
	if (p)
		policy_account(p, &ctx->decision);
}

static const char *stage_name(enum route_stage s)
{
	switch (s) {
	case ROUTE_STAGE_PRE:
		return "pre-routing";
	case ROUTE_STAGE_ROUTING:
		return "routing";
	case ROUTE_STAGE_POST:
		return "post-routing";
	}
	return "?";
}

char *router_describe(struct router *r)
{
	const struct policy_step *steps;
	const struct route_handler_entry *h = NULL;
	size_t n_steps, n_h = 0, i, j, size = 0;
	char *text = NULL;
	FILE *f = open_memstream(&text, &size);
	int stage;

	if (!f)
		return NULL;
	steps = policy_steps(&n_steps);
	if (r)
		h = router_handlers(r, &n_h);
	for (stage = ROUTE_STAGE_PRE; stage <= ROUTE_STAGE_POST; stage++) {
		for (i = 0, j = 0;;) {
			while (i < n_steps && stage_of_policy(steps[i].stage) != (enum route_stage)stage)
				i++;
			while (j < n_h && h[j].stage != (enum route_stage)stage)
				j++;
			if (i == n_steps && j == n_h)
				break;
			if (j == n_h || (i < n_steps && steps[i].position <= h[j].position)) {
				fprintf(f, "%s %d policy:%s\n", stage_name((enum route_stage)stage),
					steps[i].position, steps[i].name);
				i++;
			} else {
				fprintf(f, "%s %d %s\n", stage_name((enum route_stage)stage),
					h[j].position, h[j].name);
				j++;
			}
		}
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
