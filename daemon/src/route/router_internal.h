/* The router's parts (router.h), one file each: the settings
 * (settings.c), the session registry (registry.c), the mailboxes
 * (mailbox.c), the built-in handlers and bots (handlers.c), tied together
 * in router.c. One lock (router.lock) guards settings and registry: a
 * routing decision reads both and is short. Each mailbox has its own, so
 * a busy worker posting does not wait on the registry. */
#ifndef IMW_ROUTE_ROUTER_INTERNAL_H
#define IMW_ROUTE_ROUTER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "route/address_map.h"
#include "route/router.h"

/* ---- settings.c ---- */

struct router_settings {
	bool local[IMW_PROTO_MAX];
	bool have_map;
	struct address_map map;
	struct bot **bots;
	size_t n_bots;
};

/* -1 with "FILE:LINE: reason" in err. */
int settings_load(struct router_settings *s, const struct imw_config *cfg, char *err,
		  size_t err_size);
void settings_free(struct router_settings *s);

/* ---- registry.c: live sessions, found by flow and by user ---- */

struct session_entry {
	struct route_session s;
	char *service;
	bool injectable;
	uint64_t order; /* registration order: the newest session of a user wins */
	struct session_entry *flow_next;
	struct session_entry *user_next;
	size_t user_bucket;
};

struct registry {
	struct session_entry **by_flow;
	struct session_entry **by_user;
	size_t n_buckets;
	size_t n;
	uint64_t next_order;
};

void registry_free(struct registry *g);
struct session_entry *registry_find_flow(const struct registry *g, unsigned worker,
					 uint64_t flow_id);
/* The newest injectable session of (proto, id) other than `not`, on
 * service when given. */
struct session_entry *registry_find_user(const struct registry *g, enum imw_proto proto,
					 const char *service, const char *id,
					 const struct session_entry *not);
int registry_update(struct registry *g, unsigned worker, uint64_t flow_id, enum imw_proto proto,
		    const char *service, const char *local_id, const char *local_address,
		    bool injectable);
void registry_forget(struct registry *g, unsigned worker, uint64_t flow_id);

/* ---- mailbox.c ---- */

struct mailbox {
	pthread_mutex_t lock;
	atomic_size_t waiting; /* n, readable without the lock */
	struct route_delivery *v;
	size_t n;
	size_t cap;      /* always at least n + reserved */
	size_t reserved;
	int efd;
};

void mailbox_init(struct mailbox *b);
void mailbox_destroy(struct mailbox *b);
int mailbox_reserve(struct mailbox *b);
void mailbox_put_reserved(struct mailbox *b, unsigned worker, uint64_t flow_id,
			  struct im_event *ev);
void mailbox_unreserve(struct mailbox *b);
struct route_delivery *mailbox_take(struct mailbox *b, size_t *n);
void mailbox_wake_clear(struct mailbox *b);

/* ---- router.c ---- */

struct router {
	pthread_mutex_t lock;
	struct router_settings set;
	struct registry reg;
	unsigned n_workers;
	struct mailbox *boxes;
	struct route_stats stats;
};

#endif
