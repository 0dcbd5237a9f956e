/* The router object: its settings, registry and mailboxes under their
 * locks (router_internal.h). */
#include "route/router_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct router *router_new(const struct imw_config *cfg, unsigned n_workers, char *err,
			  size_t err_size)
{
	struct router *r = calloc(1, sizeof(*r));
	unsigned w;

	if (!r || n_workers == 0 || !(r->boxes = calloc(n_workers, sizeof(*r->boxes)))) {
		snprintf(err, err_size, "out of memory");
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->n_workers = n_workers;
	for (w = 0; w < n_workers; w++)
		mailbox_init(&r->boxes[w]);
	if (settings_load(&r->set, cfg, err, err_size) < 0) {
		router_free(r);
		return NULL;
	}
	return r;
}

void router_free(struct router *r)
{
	unsigned w;

	if (!r)
		return;
	settings_free(&r->set);
	registry_free(&r->reg);
	for (w = 0; w < r->n_workers; w++)
		mailbox_destroy(&r->boxes[w]);
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
	out->sessions = r->reg.n;
	pthread_mutex_unlock(&r->lock);
}

int router_session_update(struct router *r, unsigned worker, uint64_t flow_id,
			  enum imw_proto proto, const char *service, const char *local_id,
			  const char *local_address, bool injectable)
{
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = registry_update(&r->reg, worker, flow_id, proto, service, local_id, local_address,
			     injectable);
	if (rc < 0)
		r->stats.alloc_failures++;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void router_session_forget(struct router *r, unsigned worker, uint64_t flow_id)
{
	pthread_mutex_lock(&r->lock);
	registry_forget(&r->reg, worker, flow_id);
	pthread_mutex_unlock(&r->lock);
}

static void count(struct router *r, bool posted)
{
	pthread_mutex_lock(&r->lock);
	if (posted)
		r->stats.deliveries_posted++;
	else
		r->stats.alloc_failures++;
	pthread_mutex_unlock(&r->lock);
}

int router_reserve(struct router *r, unsigned worker)
{
	if (worker < r->n_workers && mailbox_reserve(&r->boxes[worker]) == 0)
		return 0;
	count(r, false);
	return -1;
}

void router_post_reserved(struct router *r, unsigned worker, uint64_t flow_id,
			  struct im_event *ev)
{
	mailbox_put_reserved(&r->boxes[worker], worker, flow_id, ev);
	count(r, true);
}

void router_unreserve(struct router *r, unsigned worker)
{
	mailbox_unreserve(&r->boxes[worker]);
}

int router_post(struct router *r, unsigned worker, uint64_t flow_id, const struct im_event *ev)
{
	struct im_event copy;

	if (router_reserve(r, worker) < 0)
		return -1;
	if (!event_copy(&copy, ev)) {
		router_unreserve(r, worker);
		count(r, false);
		return -1;
	}
	router_post_reserved(r, worker, flow_id, &copy);
	return 0;
}

struct route_delivery *router_take(struct router *r, unsigned worker, size_t *n)
{
	*n = 0;
	if (worker >= r->n_workers)
		return NULL;
	return mailbox_take(&r->boxes[worker], n);
}

int router_wake_fd(struct router *r, unsigned worker)
{
	return worker < r->n_workers ? r->boxes[worker].efd : -1;
}

void router_wake_clear(struct router *r, unsigned worker)
{
	if (worker < r->n_workers)
		mailbox_wake_clear(&r->boxes[worker]);
}
