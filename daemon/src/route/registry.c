/* The session registry: which worker owns the flow of which user's IM
 * session. Two hash tables over the same entries: by (worker, flow) for
 * the engine's updates, and by (protocol, user) for routing lookups. A
 * user id is hashed by its case-folded bare form (an XMPP id without its
 * resource), so every id address_ids_match pairs lands in one bucket. */
#include "route/router_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event/address.h"

#define MAX_SESSIONS 65536
#define FIRST_BUCKETS 64

static size_t flow_bucket(const struct registry *g, unsigned worker, uint64_t flow_id)
{
	uint64_t h = (flow_id ^ ((uint64_t)worker << 48)) * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 32) & (g->n_buckets - 1);
}

static size_t user_bucket(const struct registry *g, enum imw_proto proto, const char *id)
{
	size_t n = address_bare_len(proto, id), i;
	uint64_t h = 1469598103934665603ull ^ (uint64_t)proto; /* FNV-1a */

	for (i = 0; i < n; i++) {
		h ^= (uint8_t)tolower((unsigned char)id[i]);
		h *= 1099511628211ull;
	}
	return (size_t)h & (g->n_buckets - 1);
}

static void link_entry(struct registry *g, struct session_entry *e)
{
	size_t b = flow_bucket(g, e->s.worker, e->s.flow_id);

	e->flow_next = g->by_flow[b];
	g->by_flow[b] = e;
	e->user_bucket = user_bucket(g, e->s.proto, e->s.local_id);
	e->user_next = g->by_user[e->user_bucket];
	g->by_user[e->user_bucket] = e;
}

static void unlink_user(struct registry *g, struct session_entry *e)
{
	struct session_entry **pp;

	for (pp = &g->by_user[e->user_bucket]; *pp; pp = &(*pp)->user_next)
		if (*pp == e) {
			*pp = e->user_next;
			return;
		}
}

static void unlink_flow(struct registry *g, struct session_entry *e)
{
	struct session_entry **pp;

	for (pp = &g->by_flow[flow_bucket(g, e->s.worker, e->s.flow_id)]; *pp;
	     pp = &(*pp)->flow_next)
		if (*pp == e) {
			*pp = e->flow_next;
			return;
		}
}

/* Twice the buckets once there are more entries than buckets. */
static int grow(struct registry *g)
{
	size_t old = g->n_buckets, want = old ? old * 2 : FIRST_BUCKETS, i;
	struct session_entry **by_flow = calloc(want, sizeof(*by_flow));
	struct session_entry **by_user = calloc(want, sizeof(*by_user));
	struct session_entry **old_flow = g->by_flow, *e, *next;

	if (!by_flow || !by_user) {
		free(by_flow);
		free(by_user);
		return -1;
	}
	free(g->by_user);
	g->by_flow = by_flow;
	g->by_user = by_user;
	g->n_buckets = want;
	for (i = 0; i < old; i++)
		for (e = old_flow[i]; e; e = next) {
			next = e->flow_next;
			link_entry(g, e);
		}
	free(old_flow);
	return 0;
}

static void entry_free(struct session_entry *e)
{
	free(e->s.local_id);
	free(e->s.local_address);
	free(e->service);
	free(e);
}

void registry_free(struct registry *g)
{
	size_t i;
	struct session_entry *e, *next;

	for (i = 0; i < g->n_buckets; i++)
		for (e = g->by_flow[i]; e; e = next) {
			next = e->flow_next;
			entry_free(e);
		}
	free(g->by_flow);
	free(g->by_user);
	memset(g, 0, sizeof(*g));
}

struct session_entry *registry_find_flow(const struct registry *g, unsigned worker,
					 uint64_t flow_id)
{
	struct session_entry *e;

	if (!g->n_buckets)
		return NULL;
	for (e = g->by_flow[flow_bucket(g, worker, flow_id)]; e; e = e->flow_next)
		if (e->s.worker == worker && e->s.flow_id == flow_id)
			return e;
	return NULL;
}

struct session_entry *registry_find_user(const struct registry *g, enum imw_proto proto,
					 const char *service, const char *id,
					 const struct session_entry *not)
{
	struct session_entry *e, *best = NULL;

	if (!g->n_buckets)
		return NULL;
	for (e = g->by_user[user_bucket(g, proto, id)]; e; e = e->user_next) {
		if (e == not || e->s.proto != proto || !e->injectable ||
		    (service && strcasecmp(service, e->service) != 0) ||
		    !address_ids_match(proto, id, e->s.local_id))
			continue;
		if (!best || e->order > best->order)
			best = e;
	}
	return best;
}

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

static struct session_entry *add_entry(struct registry *g, unsigned worker, uint64_t flow_id,
				       enum imw_proto proto)
{
	struct session_entry *e;

	if (g->n == MAX_SESSIONS || (g->n >= g->n_buckets && grow(g) < 0))
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->s.local_id = strdup("")) || !(e->service = strdup(""))) {
		if (e)
			entry_free(e);
		return NULL;
	}
	e->s.worker = worker;
	e->s.flow_id = flow_id;
	e->s.proto = proto;
	e->order = g->next_order++;
	link_entry(g, e);
	g->n++;
	return e;
}

int registry_update(struct registry *g, unsigned worker, uint64_t flow_id, enum imw_proto proto,
		    const char *service, const char *local_id, const char *local_address,
		    bool injectable)
{
	struct session_entry *e = registry_find_flow(g, worker, flow_id);
	int rc = 0;

	if (!e && !(e = add_entry(g, worker, flow_id, proto)))
		return -1;
	unlink_user(g, e);
	e->s.proto = proto;
	e->injectable = injectable;
	if (!replace_str(&e->s.local_id, local_id ? local_id : "") ||
	    !replace_str(&e->s.local_address, local_address) ||
	    !replace_str(&e->service, service ? service : ""))
		rc = -1;
	e->user_bucket = user_bucket(g, e->s.proto, e->s.local_id);
	e->user_next = g->by_user[e->user_bucket];
	g->by_user[e->user_bucket] = e;
	return rc;
}

void registry_forget(struct registry *g, unsigned worker, uint64_t flow_id)
{
	struct session_entry *e = registry_find_flow(g, worker, flow_id);

	if (!e)
		return;
	unlink_flow(g, e);
	unlink_user(g, e);
	g->n--;
	entry_free(e);
}
