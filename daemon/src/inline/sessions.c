#include "inline/sessions.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "inline/origin.h"
#include "route/router.h"

void sessions_track(struct flow_list *l, struct flow_state *fs)
{
	flow_list_add(l, fs, FLOW_LIST_SESSIONS);
}

struct flow_state *sessions_find(const struct flow_list *l, uint64_t flow_id)
{
	struct flow_state *fs;

	for (fs = l->head; fs; fs = fs->link[FLOW_LIST_SESSIONS].next)
		if (fs->flow->id == flow_id)
			return fs;
	return NULL;
}

/* The service that tells servers of one protocol apart: what the module
 * learnt (the IRC network's name), the XMPP domain, else the server's
 * address for IRC; "" for protocols with one network. Allocated; NULL
 * when out of memory. */
static char *service_of(const struct flow *f, const struct proto_session *s)
{
	const char *at, *slash;
	char addr[INET6_ADDRSTRLEN];

	if (s->service)
		return strdup(s->service);
	switch (s->module->id) {
	case IMW_PROTO_IRC:
		if (!inet_ntop(f->ip_version == 6 ? AF_INET6 : AF_INET, f->addr[IM_DIR_IN], addr,
			       sizeof(addr)))
			return strdup("");
		return strdup(addr);
	case IMW_PROTO_XMPP:
		if (s->local_id && (at = strchr(s->local_id, '@'))) {
			slash = strchr(at, '/');
			return strndup(at + 1, slash ? (size_t)(slash - at - 1) : strlen(at + 1));
		}
		return strdup("");
	default:
		return strdup("");
	}
}

static bool str_changed(char **cache, const char *now)
{
	char *copy;

	if ((!*cache && !now) || (*cache && now && strcmp(*cache, now) == 0))
		return false;
	copy = now ? strdup(now) : NULL;
	if (now && !copy)
		return false; /* try again next packet */
	free(*cache);
	*cache = copy;
	return true;
}

void sessions_sync(struct flow_list *l, struct flow_state *fs, struct router *r,
		   unsigned worker, struct engine_stats *st)
{
	struct flow *f = fs->flow;
	struct proto_session *s;
	struct egress_link link;
	struct session_reg *reg;
	char *service;
	bool injectable, changed;

	if (!f->app || f->app->state != APP_DECODING)
		return;
	s = &f->app->session;
	if (!s->local_id || !s->local_id[0] || !s->module->encode)
		return;
	injectable = fs->dir[IM_DIR_IN].started && origin_link(fs, IM_DIR_IN, &link) &&
		     !s->opaque[IM_DIR_IN] && !(f->seen & (FLOW_SEEN_FIN(IM_DIR_IN) | FLOW_SEEN_RST));
	if (!flow_state_told(fs)) {
		st->alloc_failures++;
		return; /* tried again with the next packet */
	}
	reg = &fs->told->reg;
	changed = str_changed(&reg->local, s->local_id);
	changed |= str_changed(&reg->address, s->local_address);
	changed |= str_changed(&reg->service, s->service);
	if (!changed && reg->registered && injectable == reg->injectable)
		return;
	service = service_of(f, s);
	if (!service) {
		st->alloc_failures++;
		return; /* tried again with the next packet */
	}
	if (router_session_update(r, worker, f->id, s->module->id, service, s->local_id,
				  s->local_address, injectable) == 0) {
		reg->registered = true;
		reg->injectable = injectable;
		sessions_track(l, fs);
	}
	free(service);
}

void sessions_forget(struct flow_list *l, struct flow_state *fs, struct router *r,
		     unsigned worker)
{
	if (fs->told && fs->told->reg.registered && r)
		router_session_forget(r, worker, fs->flow->id);
	if (fs->told)
		fs->told->reg.registered = false;
	flow_list_remove(l, fs, FLOW_LIST_SESSIONS);
}
