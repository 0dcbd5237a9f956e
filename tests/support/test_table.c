#include "test_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "policy/policy.h"

struct route_table *test_table(const char *config_text, struct router *r)
{
	struct imw_config cfg;
	struct policy *p = NULL;
	struct route_table *t = NULL;
	char err[512];

	config_init(&cfg);
	if (config_parse(&cfg, "test.conf", config_text, strlen(config_text), err, sizeof(err),
			 NULL) < 0 ||
	    !(p = policy_new(&cfg, POLICY_LIVE, err, sizeof(err))))
		fprintf(stderr, "  test_table: %s\n", err);
	else if (!(t = route_table_build(p, r)))
		fprintf(stderr, "  test_table: out of memory\n");
	policy_unref(p); /* the table holds its own reference */
	config_free(&cfg);
	return t;
}

struct policy_decision test_decide(struct policy *p, const struct im_event *ev)
{
	struct route_table *t = route_table_build(p, NULL);
	struct route_ctx ctx;
	struct policy_decision d;

	policy_decision_init(&d);
	if (!t) {
		fprintf(stderr, "  test_decide: out of memory\n");
		return d;
	}
	route_table_run(t, 0, ev, &ctx);
	d = ctx.decision;
	policy_decision_init(&ctx.decision);
	route_ctx_free(&ctx);
	route_table_unref(t);
	return d;
}

static bool inject_after(void *arg, struct route_ctx *ctx)
{
	const struct test_inject_rule *rule = arg;
	const struct im_event *ev = ctx->ev;

	if (ev->kind == IM_KIND_MESSAGE && ev->text && !ctx->decision.inject_after &&
	    strstr(ev->text, rule->word))
		ctx->decision.inject_after = strdup(rule->text);
	return false;
}

int test_inject_add(struct route_table *t, const struct test_inject_rule *rule)
{
	return route_table_add(t, ROUTE_STAGE_PRE, 400, "test:inject", inject_after, (void *)rule);
}
