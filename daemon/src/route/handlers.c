/* The router's built-in handlers of the routing stage (bots, the address
 * map, local routing) and the bots' answers. Each takes the router's lock
 * for the settings and registry it reads. */
#include "route/router_internal.h"

#include <stdlib.h>
#include <string.h>

#include "bot/bot.h"
#include "event/address.h"

/* The session a message comes from, when imwired can send towards its
 * client: a message taken off the wire is acknowledged to the sender in
 * its server's name, and a bot answers through that session, so routing
 * needs the same link facts of the sender as of a recipient. Without
 * them the message stays with the server. */
static struct session_entry *session_sender(struct router *r, const struct route_ctx *ctx)
{
	struct session_entry *e = registry_find_flow(&r->reg, ctx->worker, ctx->ev->flow_id);

	return e && e->injectable ? e : NULL;
}

static bool set_session_target(struct route_ctx *ctx, const struct session_entry *e,
			       const char *as_remote)
{
	struct route_target *t = &ctx->target;

	t->kind = ROUTE_TARGET_SESSION;
	t->session.worker = e->s.worker;
	t->session.flow_id = e->s.flow_id;
	t->session.proto = e->s.proto;
	t->session.local_id = strdup(e->s.local_id);
	t->session.local_address = e->s.local_address ? strdup(e->s.local_address) : NULL;
	t->as_remote = strdup(as_remote);
	t->to = address_format(e->s.proto, e->s.local_id);
	if (!t->session.local_id || (e->s.local_address && !t->session.local_address) ||
	    !t->as_remote || !t->to) {
		route_target_free(t);
		return false;
	}
	ctx->outcome = ROUTE_LOCAL;
	return true;
}

/* Messages a local user writes to another user: the only events routing
 * may take off the wire. Channels and rooms stay with their server. */
static bool routable(const struct route_ctx *ctx)
{
	const struct im_event *ev = ctx->ev;

	return ev->kind == IM_KIND_MESSAGE && ev->dir == IM_DIR_OUT && !ev->group && ev->text &&
	       ev->remote && ev->remote[0] && ev->local && ev->local[0] &&
	       !ctx->decision.filtered &&
	       (ctx->decision.action == POLICY_PASS || ctx->decision.action == POLICY_REPLACE_TEXT);
}

static bool route_to_bot(void *arg, struct route_ctx *ctx)
{
	struct router *r = arg;
	struct route_target *t = &ctx->target;
	size_t i, n_bots;
	bool claimed = false;

	if (!routable(ctx))
		return false;
	pthread_mutex_lock(&r->lock);
	n_bots = session_sender(r, ctx) ? r->set.n_bots : 0;
	for (i = 0; i < n_bots && !claimed; i++) {
		if (!bot_answers_to(r->set.bots[i], ctx->ev->proto, ctx->ev->remote))
			continue;
		t->kind = ROUTE_TARGET_BOT;
		t->bot = r->set.bots[i];
		t->router = r;
		t->to = address_format(ctx->ev->proto, ctx->ev->remote);
		if (!t->to) {
			r->stats.alloc_failures++;
			t->kind = ROUTE_TARGET_NONE;
			t->bot = NULL;
			t->router = NULL;
			break;
		}
		ctx->outcome = ROUTE_LOCAL;
		r->stats.routed_bot++;
		claimed = true;
	}
	pthread_mutex_unlock(&r->lock);
	return claimed;
}

struct map_search {
	struct router *r;
	struct route_ctx *ctx;
	bool found;
};

static int try_mapped(void *arg, const struct address_map_side *other)
{
	struct map_search *ms = arg;
	const struct im_event *ev = ms->ctx->ev;
	struct session_entry *sender = registry_find_flow(&ms->r->reg, ms->ctx->worker, ev->flow_id);
	struct session_entry *e = registry_find_user(&ms->r->reg, other->proto, NULL, other->id,
						     sender);
	const char *alias;

	if (!e)
		return 0;
	alias = address_map_alias(&ms->r->set.map, ev->proto, ev->local, other->proto);
	if (!set_session_target(ms->ctx, e, alias ? alias : ev->local)) {
		ms->r->stats.alloc_failures++;
		return -1;
	}
	ms->found = true;
	return 1;
}

static bool route_by_map(void *arg, struct route_ctx *ctx)
{
	struct router *r = arg;
	struct map_search ms = { .r = r, .ctx = ctx, .found = false };

	if (!routable(ctx))
		return false;
	pthread_mutex_lock(&r->lock);
	if (r->set.have_map && session_sender(r, ctx))
		address_map_each_peer(&r->set.map, ctx->ev->proto, ctx->ev->remote, try_mapped, &ms);
	if (ms.found)
		r->stats.routed_mapped++;
	pthread_mutex_unlock(&r->lock);
	return ms.found;
}

static bool route_locally(void *arg, struct route_ctx *ctx)
{
	struct router *r = arg;
	const struct im_event *ev = ctx->ev;
	struct session_entry *sender, *e = NULL;
	bool claimed = false;

	if (!routable(ctx))
		return false;
	pthread_mutex_lock(&r->lock);
	if (r->set.local[ev->proto] && (sender = session_sender(r, ctx)) &&
	    !address_ids_match(ev->proto, ev->remote, sender->s.local_id))
		e = registry_find_user(&r->reg, ev->proto, sender->service, ev->remote, sender);
	if (e) {
		claimed = set_session_target(ctx, e, ev->local);
		if (claimed)
			r->stats.routed_local++;
		else
			r->stats.alloc_failures++;
	}
	pthread_mutex_unlock(&r->lock);
	return claimed;
}

int router_add_handlers(struct router *r, struct route_table *t)
{
	if (route_table_add(t, ROUTE_STAGE_ROUTING, 100, "bots", route_to_bot, r) < 0 ||
	    route_table_add(t, ROUTE_STAGE_ROUTING, 200, "address_map", route_by_map, r) < 0 ||
	    route_table_add(t, ROUTE_STAGE_ROUTING, 300, "local_routing", route_locally, r) < 0)
		return -1;
	return 0;
}

/* ---- bots --------------------------------------------------------------- */

/* Replies are collected under the lock and handed over after it, so the
 * caller may post them (which takes locks again). */
struct bot_replies {
	char **v;
	size_t n;
	bool failed;
};

static void bot_collect(void *arg, const char *text)
{
	struct bot_replies *c = arg;
	char **g, *copy;

	if (c->n == 16 || c->failed)
		return; /* a bot that talks on and on is cut short */
	copy = strdup(text);
	g = copy ? realloc(c->v, (c->n + 1) * sizeof(*g)) : NULL;
	if (!g) {
		free(copy);
		c->failed = true;
		return;
	}
	c->v = g;
	g[c->n++] = copy;
}

void route_bot_answer(struct route_ctx *ctx, route_reply_fn reply, void *arg)
{
	struct router *r = ctx->target.router;
	struct bot_replies c = { NULL, 0, false };
	struct bot_message m;
	size_t i;
	bool live = false;

	if (!r || ctx->target.kind != ROUTE_TARGET_BOT)
		return;
	memset(&m, 0, sizeof(m));
	m.proto = ctx->ev->proto;
	m.from = ctx->ev->local;
	m.to = ctx->ev->remote;
	m.text = ctx->decision.action == POLICY_REPLACE_TEXT ? ctx->decision.text : ctx->ev->text;
	m.ts = ctx->ev->ts;
	m.policy_notice = ctx->policy ? policy_notice_copy(ctx->policy) : NULL;
	/* The lock keeps a reload from freeing the bot while it answers. */
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->set.n_bots; i++)
		live |= r->set.bots[i] == ctx->target.bot;
	if (live)
		ctx->target.bot->ops->on_message(ctx->target.bot, &m, bot_collect, &c);
	if (c.failed)
		r->stats.alloc_failures++;
	pthread_mutex_unlock(&r->lock);
	free((char *)m.policy_notice);
	for (i = 0; i < c.n; i++) {
		reply(arg, c.v[i]);
		free(c.v[i]);
	}
	free(c.v);
}
