/* The router: routing settings, the built-in routing handlers, the
 * session registry and the workers' mailboxes. One lock guards settings
 * and registry (a routing decision reads both; it is short); each mailbox
 * has its own, so a busy worker posting does not wait on the registry. */
#include "route/route.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bot/bot.h"
#include "event/address.h"
#include "route/address_map.h"
#include "route/router_internal.h"

#define MAX_SESSIONS 65536
#define MAX_MAILBOX 4096

struct session_entry {
	struct route_session s;
	char *service;
	bool injectable;
};

struct mailbox {
	pthread_mutex_t lock;
	atomic_size_t waiting; /* b->n, readable without the lock */
	struct route_delivery *v;
	size_t n;
	size_t cap;
	int efd;
};

struct router_settings {
	bool local[IMW_PROTO_MAX];
	bool have_map;
	struct address_map map;
	struct bot **bots;
	size_t n_bots;
};

struct router {
	pthread_mutex_t lock;
	struct router_settings set;
	struct route_handler_entry *handlers; /* sorted by stage, position */
	size_t n_handlers;
	struct session_entry *sessions;
	size_t n_sessions;
	size_t cap_sessions;
	unsigned n_workers;
	struct mailbox *boxes;
	struct route_stats stats;
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

/* ---- settings --------------------------------------------------------- */

static void settings_free(struct router_settings *s)
{
	size_t i;

	address_map_free(&s->map);
	for (i = 0; i < s->n_bots; i++)
		bot_free(s->bots[i]);
	free(s->bots);
	memset(s, 0, sizeof(*s));
}

/* local_routing=: a list of protocols, "all", or a plain on/off. */
static int parse_local(struct router_settings *s, const char *list, char *err, size_t err_size)
{
	bool on;
	int i;

	if (config_parse_bool(list, &on)) {
		for (i = 1; i < IMW_PROTO_MAX; i++)
			s->local[i] = on;
		return 0;
	}
	return config_parse_protocols(list, s->local, err, err_size);
}

static int add_bot(struct router_settings *s, const char *name, const char *addresses, char *err,
		   size_t err_size)
{
	const struct bot_ops *ops = bot_ops_by_name(name);
	struct bot *b, **g;

	if (!ops) {
		snprintf(err, err_size, "no bot named \"%s\" (built in: auditbot)", name);
		return -1;
	}
	b = bot_new(ops, addresses, err, err_size);
	if (!b)
		return -1;
	g = realloc(s->bots, (s->n_bots + 1) * sizeof(*g));
	if (!g) {
		bot_free(b);
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	s->bots = g;
	g[s->n_bots++] = b;
	return 0;
}

static int settings_load(struct router_settings *s, const struct imw_config *cfg, char *err,
			 size_t err_size)
{
	const char *name = cfg->path ? cfg->path : "config", *v;
	char sub[512];
	size_t i;

	memset(s, 0, sizeof(*s));
	if ((v = config_get(cfg, "local_routing")) && parse_local(s, v, sub, sizeof(sub)) < 0) {
		snprintf(err, err_size, "%s:%u: local_routing: %s", name,
			 config_line_of(cfg, "local_routing"), sub);
		goto fail;
	}
	if ((v = config_get(cfg, "address_map"))) {
		if (address_map_load(&s->map, v, err, err_size) < 0)
			goto fail;
		s->have_map = true;
	}
	for (i = 0; i < cfg->n_entries; i++) {
		const char *key = cfg->entries[i].key;

		if (strncmp(key, "bot_", 4) != 0)
			continue;
		if (add_bot(s, key + 4, cfg->entries[i].value, sub, sizeof(sub)) < 0) {
			snprintf(err, err_size, "%s:%u: %s: %s", name, cfg->entries[i].line, key, sub);
			goto fail;
		}
	}
	return 0;
fail:
	settings_free(s);
	return -1;
}

/* ---- the built-in routing handlers -------------------------------------- */

static struct session_entry *session_find_flow(struct router *r, unsigned worker,
					       uint64_t flow_id)
{
	size_t i;

	for (i = 0; i < r->n_sessions; i++)
		if (r->sessions[i].s.worker == worker && r->sessions[i].s.flow_id == flow_id)
			return &r->sessions[i];
	return NULL;
}

/* The session a message comes from, when imwired can send towards its
 * client: a message taken off the wire is acknowledged to the sender in
 * its server's name, and a bot answers through that session, so routing
 * needs the same link facts of the sender as of a recipient. Without
 * them the message stays with the server. */
static struct session_entry *session_sender(struct router *r, const struct route_ctx *ctx)
{
	struct session_entry *e = session_find_flow(r, ctx->worker, ctx->ev->flow_id);

	return e && e->injectable ? e : NULL;
}

/* The newest injectable session of (proto, id), on service when given. */
static struct session_entry *session_find_user(struct router *r, enum imw_proto proto,
					       const char *service, const char *id,
					       const struct session_entry *not)
{
	size_t i = r->n_sessions;

	while (i-- > 0) {
		struct session_entry *e = &r->sessions[i];

		if (e == not || e->s.proto != proto || !e->injectable ||
		    (service && strcasecmp(service, e->service) != 0))
			continue;
		if (address_ids_match(proto, id, e->s.local_id))
			return e;
	}
	return NULL;
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
		t->to = address_format(ctx->ev->proto, ctx->ev->remote);
		if (!t->to) {
			r->stats.alloc_failures++;
			t->kind = ROUTE_TARGET_NONE;
			t->bot = NULL;
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
	struct session_entry *sender = session_find_flow(ms->r, ms->ctx->worker, ev->flow_id);
	struct session_entry *e = session_find_user(ms->r, other->proto, NULL, other->id, sender);
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
		e = session_find_user(r, ev->proto, sender->service, ev->remote, sender);
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

/* ---- construction ------------------------------------------------------- */

static int insert_handler(struct router *r, enum route_stage stage, int position,
			  const char *name, route_handler_fn fn, void *arg)
{
	struct route_handler_entry *g, h;
	size_t i;

	h.stage = stage;
	h.position = position;
	h.fn = fn;
	h.arg = arg;
	h.name = strdup(name);
	if (!h.name)
		return -1;
	g = realloc(r->handlers, (r->n_handlers + 1) * sizeof(*g));
	if (!g) {
		free(h.name);
		return -1;
	}
	r->handlers = g;
	for (i = r->n_handlers; i > 0; i--) {
		const struct route_handler_entry *p = &g[i - 1];

		if (p->stage < stage || (p->stage == stage && p->position <= position))
			break;
		g[i] = g[i - 1];
	}
	g[i] = h;
	r->n_handlers++;
	return 0;
}

int router_add_handler(struct router *r, enum route_stage stage, int position, const char *name,
		       route_handler_fn fn, void *arg)
{
	return insert_handler(r, stage, position, name, fn, arg);
}

struct router *router_new(const struct imw_config *cfg, unsigned n_workers, char *err,
			  size_t err_size)
{
	struct router *r = calloc(1, sizeof(*r));
	unsigned w;

	if (!r || n_workers == 0) {
		snprintf(err, err_size, "out of memory");
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->n_workers = n_workers;
	r->boxes = calloc(n_workers, sizeof(*r->boxes));
	if (!r->boxes) {
		snprintf(err, err_size, "out of memory");
		pthread_mutex_destroy(&r->lock);
		free(r);
		return NULL;
	}
	for (w = 0; w < n_workers; w++) {
		pthread_mutex_init(&r->boxes[w].lock, NULL);
		atomic_init(&r->boxes[w].waiting, 0);
		/* Without an eventfd the worker still drains on every tick. */
		r->boxes[w].efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	}
	if (settings_load(&r->set, cfg, err, err_size) < 0 ||
	    insert_handler(r, ROUTE_STAGE_ROUTING, 100, "bots", route_to_bot, r) < 0 ||
	    insert_handler(r, ROUTE_STAGE_ROUTING, 200, "address_map", route_by_map, r) < 0 ||
	    insert_handler(r, ROUTE_STAGE_ROUTING, 300, "local_routing", route_locally, r) < 0) {
		if (!err[0])
			snprintf(err, err_size, "out of memory");
		router_free(r);
		return NULL;
	}
	return r;
}

void router_free(struct router *r)
{
	size_t i;
	unsigned w;

	if (!r)
		return;
	settings_free(&r->set);
	for (i = 0; i < r->n_handlers; i++)
		free(r->handlers[i].name);
	free(r->handlers);
	for (i = 0; i < r->n_sessions; i++) {
		free(r->sessions[i].s.local_id);
		free(r->sessions[i].s.local_address);
		free(r->sessions[i].service);
	}
	free(r->sessions);
	for (w = 0; w < r->n_workers; w++) {
		struct mailbox *b = &r->boxes[w];

		for (i = 0; i < b->n; i++)
			event_free(&b->v[i].ev);
		free(b->v);
		if (b->efd >= 0)
			close(b->efd);
		pthread_mutex_destroy(&b->lock);
	}
	free(r->boxes);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int router_reload(struct router *r, const struct imw_config *cfg, char *err, size_t err_size)
{
	struct router_settings fresh, old;

	if (settings_load(&fresh, cfg, err, err_size) < 0)
		return -1;
	pthread_mutex_lock(&r->lock);
	old = r->set;
	r->set = fresh;
	pthread_mutex_unlock(&r->lock);
	settings_free(&old);
	return 0;
}

bool router_active(struct router *r)
{
	bool any;
	int i;

	if (!r)
		return false;
	pthread_mutex_lock(&r->lock);
	any = r->set.have_map || r->set.n_bots;
	for (i = 0; i < IMW_PROTO_MAX; i++)
		any |= r->set.local[i];
	pthread_mutex_unlock(&r->lock);
	return any;
}

void router_get_stats(struct router *r, struct route_stats *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->stats;
	out->sessions = r->n_sessions;
	pthread_mutex_unlock(&r->lock);
}

const struct route_handler_entry *router_handlers(struct router *r, size_t *n)
{
	*n = r->n_handlers;
	return r->handlers;
}

/* ---- registry ----------------------------------------------------------- */

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool replace_str(char **field, const char *v)
{
	char *copy = NULL;

	if (same_str(*field, v))
		return true;
	if (v && !(copy = strdup(v)))
		return false;
	free(*field);
	*field = copy;
	return true;
}

int router_session_update(struct router *r, unsigned worker, uint64_t flow_id,
			  enum imw_proto proto, const char *service, const char *local_id,
			  const char *local_address, bool injectable)
{
	struct session_entry *e;
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	e = session_find_flow(r, worker, flow_id);
	if (!e) {
		if (r->n_sessions == MAX_SESSIONS) {
			rc = -1;
			goto out;
		}
		if (r->n_sessions == r->cap_sessions) {
			size_t cap = r->cap_sessions ? r->cap_sessions * 2 : 16;
			struct session_entry *g = realloc(r->sessions, cap * sizeof(*g));

			if (!g) {
				rc = -1;
				goto out;
			}
			r->sessions = g;
			r->cap_sessions = cap;
		}
		e = &r->sessions[r->n_sessions++];
		memset(e, 0, sizeof(*e));
		e->s.worker = worker;
		e->s.flow_id = flow_id;
	}
	e->s.proto = proto;
	e->injectable = injectable;
	if (!replace_str(&e->s.local_id, local_id ? local_id : "") ||
	    !replace_str(&e->s.local_address, local_address) ||
	    !replace_str(&e->service, service ? service : ""))
		rc = -1;
out:
	if (rc < 0)
		r->stats.alloc_failures++;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void router_session_forget(struct router *r, unsigned worker, uint64_t flow_id)
{
	struct session_entry *e;

	pthread_mutex_lock(&r->lock);
	e = session_find_flow(r, worker, flow_id);
	if (e) {
		free(e->s.local_id);
		free(e->s.local_address);
		free(e->service);
		/* Keep the order: the newest session of a user wins a lookup. */
		memmove(e, e + 1, (size_t)(r->sessions + r->n_sessions - (e + 1)) * sizeof(*e));
		r->n_sessions--;
	}
	pthread_mutex_unlock(&r->lock);
}

/* ---- mailboxes ---------------------------------------------------------- */

int router_post(struct router *r, unsigned worker, uint64_t flow_id, const struct im_event *ev)
{
	struct mailbox *b;
	struct route_delivery *d;
	uint64_t one = 1;
	int rc = -1;

	if (worker >= r->n_workers)
		return -1;
	b = &r->boxes[worker];
	pthread_mutex_lock(&b->lock);
	if (b->n == MAX_MAILBOX)
		goto out;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		struct route_delivery *g = realloc(b->v, cap * sizeof(*g));

		if (!g)
			goto out;
		b->v = g;
		b->cap = cap;
	}
	d = &b->v[b->n];
	d->worker = worker;
	d->flow_id = flow_id;
	if (!event_copy(&d->ev, ev))
		goto out;
	b->n++;
	atomic_store(&b->waiting, b->n);
	rc = 0;
	if (b->efd >= 0 && write(b->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		rc = 0; /* the worker still drains on its next tick */
out:
	pthread_mutex_unlock(&b->lock);
	pthread_mutex_lock(&r->lock);
	if (rc == 0)
		r->stats.deliveries_posted++;
	else
		r->stats.alloc_failures++;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* One read resets an eventfd; EAGAIN means it was clear already. */
static void clear_wake(int efd)
{
	uint64_t count;
	ssize_t got;

	if (efd < 0)
		return;
	got = read(efd, &count, sizeof(count));
	(void)got;
}

struct route_delivery *router_take(struct router *r, unsigned worker, size_t *n)
{
	struct mailbox *b;
	struct route_delivery *v = NULL;

	*n = 0;
	if (worker >= r->n_workers)
		return NULL;
	b = &r->boxes[worker];
	/* Called after every packet: an empty box costs no lock. */
	if (atomic_load(&b->waiting) == 0)
		return NULL;
	pthread_mutex_lock(&b->lock);
	if (b->n) {
		v = b->v;
		*n = b->n;
		b->v = NULL;
		b->n = b->cap = 0;
		atomic_store(&b->waiting, 0);
		/* Under the lock a post cannot slip between emptying and clearing. */
		clear_wake(b->efd);
	}
	pthread_mutex_unlock(&b->lock);
	return v;
}

int router_wake_fd(struct router *r, unsigned worker)
{
	return worker < r->n_workers ? r->boxes[worker].efd : -1;
}

void router_wake_clear(struct router *r, unsigned worker)
{
	if (worker < r->n_workers)
		clear_wake(r->boxes[worker].efd);
}

/* ---- bots --------------------------------------------------------------- */

/* Replies are collected under the lock and handed over after it, so the
 * caller may post them (which takes the lock again). */
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
	struct router *r = ctx->router;
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
