/* The router: local routing between the users of this imwired, the
 * address map and bots, after timps. It owns the routing settings
 * (local_routing=, address_map=, bot_*=, replaced on a reload), the
 * registry of live IM sessions (which worker owns which user's flow), and
 * one mailbox per worker. Its built-in handlers claim events in the
 * routing stage of a route table (route.h); a message routed locally is
 * deleted from the sender's server-bound stream by the inline engine and
 * handed, as a neutral event, through the mailboxes to the worker that
 * owns the recipient's session, which encodes it with that session's
 * module and injects it towards the recipient's client. Shared by every
 * worker: each part locks inside. */
#ifndef IMW_ROUTE_ROUTER_H
#define IMW_ROUTE_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "event/event.h"
#include "route/route.h"

struct route_stats {
	uint64_t routed_local;
	uint64_t routed_bot;
	uint64_t routed_mapped;
	uint64_t deliveries_posted;
	uint64_t sessions;
	uint64_t alloc_failures;
};

/* Built from local_routing=, address_map= and the bot keys (bot_auditbot=).
 * NULL with "FILE:LINE: reason" in err when something is wrong. */
struct router *router_new(const struct imw_config *cfg, unsigned n_workers, char *err,
			  size_t err_size);
void router_free(struct router *r);
/* Take the routing settings of a new configuration (SIGHUP); the session
 * registry and mailboxes stay. -1 with err, keeping the old settings. */
int router_reload(struct router *r, const struct imw_config *cfg, char *err, size_t err_size);
/* True when some handler may ever claim an event (else the engine need
 * not keep a registry nor link facts). */
bool router_active(struct router *r);
void router_get_stats(struct router *r, struct route_stats *out);

/* The built-in routing handlers into t: 100 bots, 200 address_map, 300
 * local_routing. -1 when out of memory. */
int router_add_handlers(struct router *r, struct route_table *t);

/* The session registry. service tells servers of one protocol apart (the
 * IRC server's address, the XMPP domain); "" when the protocol has one
 * network. injectable: imwired can send towards this client now. */
int router_session_update(struct router *r, unsigned worker, uint64_t flow_id,
			  enum imw_proto proto, const char *service, const char *local_id,
			  const char *local_address, bool injectable);
void router_session_forget(struct router *r, unsigned worker, uint64_t flow_id);

/* A message for the owner of a session: ev is the neutral message as the
 * recipient should see it (dir in, local = recipient, remote = sender). */
struct route_delivery {
	unsigned worker;
	uint64_t flow_id;
	struct im_event ev; /* owned */
};

/* A place in worker's mailbox, taken when a message is decided and filled
 * once it may go, so the hand-over itself cannot fail: -1 when the box is
 * full or out of memory. Every reservation is posted or given back. */
int router_reserve(struct router *r, unsigned worker);
/* Moves ev (left empty) into the reserved place and wakes the worker. */
void router_post_reserved(struct router *r, unsigned worker, uint64_t flow_id,
			  struct im_event *ev);
void router_unreserve(struct router *r, unsigned worker);
/* Reserve and post a copy of ev at once. */
int router_post(struct router *r, unsigned worker, uint64_t flow_id, const struct im_event *ev);
/* Everything waiting for a worker, oldest first; the caller frees each
 * ev and the array. *n is 0 when nothing waits. */
struct route_delivery *router_take(struct router *r, unsigned worker, size_t *n);
/* An fd that becomes readable when the worker's mailbox has mail, -1 when
 * none could be made (the worker then polls its mailbox on every tick). */
int router_wake_fd(struct router *r, unsigned worker);
void router_wake_clear(struct router *r, unsigned worker);

/* What decides events, from one configuration: the policy, the router and
 * the table over both (route_table_build). imwired, `imwire read`,
 * `imwire replay` and `imwire check-config` all load it this way. */
struct route_setup {
	struct policy *policy;
	struct router *router;
	struct route_table *table;
};

/* -1 after every problem of the policy's lists and databases, the
 * address map and the bots went to r, with its warnings (nothing is left
 * to free then). */
int route_setup_load_report(struct route_setup *rs, const struct imw_config *cfg,
			    enum policy_mode mode, unsigned n_workers, struct config_report *r);
/* The same, with the first error as "FILE:LINE: reason" in err and the
 * warnings dropped. */
int route_setup_load(struct route_setup *rs, const struct imw_config *cfg, enum policy_mode mode,
		     unsigned n_workers, char *err, size_t err_size);
void route_setup_free(struct route_setup *rs);

/* A bot's answer to a message that was routed to it (ctx->target is the
 * bot): calls back with each reply text (the engine injects them towards
 * the sender). */
typedef void (*route_reply_fn)(void *arg, const char *text);
void route_bot_answer(struct route_ctx *ctx, route_reply_fn reply, void *arg);

#endif
