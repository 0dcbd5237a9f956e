/* The handler table and the three loops that run it. */
#include "route/route.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


struct route_handler {
	enum route_stage stage;
	int position;
	char *name;
	route_handler_fn fn;
	void *arg;
};

struct route_table {
	atomic_int refs;
	struct policy *policy;
	bool may_edit; /* the policy can change something (asked for every PDU) */
	struct route_handler *v; /* sorted by stage, then position */
	size_t n;
	size_t first[ROUTE_STAGE_POST + 2]; /* where each stage begins; [POST + 1] = n */
};

const char *route_outcome_name(enum route_outcome o)
{
	switch (o) {
	case ROUTE_FORWARDED:
		return "forwarded";
	case ROUTE_LOCAL:
		return "local";
	case ROUTE_DROPPED:
		return "dropped";
	case ROUTE_DELAYED:
		return "delayed";
	case ROUTE_INJECTED:
		return "injected";
	}
	return "?";
}

struct route_table *route_table_new(struct policy *p)
{
	struct route_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	atomic_init(&t->refs, 1);
	t->policy = policy_ref(p);
	t->may_edit = p && !policy_is_empty(p);
	return t;
}

struct route_table *route_table_ref(struct route_table *t)
{
	if (t)
		atomic_fetch_add(&t->refs, 1);
	return t;
}

void route_table_unref(struct route_table *t)
{
	size_t i;

	if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	for (i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	policy_unref(t->policy);
	free(t);
}

int route_table_add(struct route_table *t, enum route_stage stage, int position,
		    const char *name, route_handler_fn fn, void *arg)
{
	struct route_handler h = { stage, position, strdup(name), fn, arg }, *g;
	size_t i;
	int s;

	if (!h.name)
		return -1;
	g = realloc(t->v, (t->n + 1) * sizeof(*g));
	if (!g) {
		free(h.name);
		return -1;
	}
	t->v = g;
	for (i = t->n; i > 0; i--) {
		const struct route_handler *p = &g[i - 1];

		if (p->stage < stage || (p->stage == stage && p->position <= position))
			break;
		g[i] = g[i - 1];
	}
	g[i] = h;
	t->n++;
	for (s = ROUTE_STAGE_POST + 1; s > (int)stage; s--)
		t->first[s]++;
	return 0;
}

void route_table_run(const struct route_table *t, unsigned worker, const struct im_event *ev,
		     struct route_ctx *ctx)
{
	const struct route_handler *h = t->v;
	size_t i;

	memset(ctx, 0, sizeof(*ctx));
	ctx->ev = ev;
	ctx->policy = t->policy;
	ctx->worker = worker;
	ctx->outcome = ROUTE_FORWARDED;
	policy_decision_init(&ctx->decision);
	for (i = t->first[ROUTE_STAGE_PRE]; i < t->first[ROUTE_STAGE_ROUTING]; i++)
		h[i].fn(h[i].arg, ctx);
	if (ctx->decision.filtered) {
		ctx->outcome = ROUTE_DROPPED;
	} else {
		for (i = t->first[ROUTE_STAGE_ROUTING]; i < t->first[ROUTE_STAGE_POST]; i++)
			if (h[i].fn(h[i].arg, ctx))
				break;
	}
	for (i = t->first[ROUTE_STAGE_POST]; i < t->n; i++)
		h[i].fn(h[i].arg, ctx);
}

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

bool route_table_may_edit(const struct route_table *t)
{
	return t && t->may_edit;
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

char *route_table_describe(const struct route_table *t)
{
	char *text = NULL;
	size_t size = 0, i;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		return NULL;
	for (i = 0; i < t->n; i++)
		fprintf(f, "%s %d %s\n", stage_name(t->v[i].stage), t->v[i].position, t->v[i].name);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
