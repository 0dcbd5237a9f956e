/* The routing stage, after timps: every event runs through a pipeline of
 * handlers in three stages, each handler at a numbered position.
 *
 *   pre-routing   every handler sees the event (the policy filters: blocks,
 *                 ACL and DB filter, content rules, inject_test)
 *   routing       the first handler that claims the event decides where it
 *                 goes (bots, the address map, local routing); unclaimed
 *                 events are forwarded as they came
 *   post-routing  every handler sees the event and the decision (notices)
 *
 * The decision (forwarded, routed locally, dropped, delayed, injected)
 * rides on the logged event. A message routed locally is deleted from the
 * sender's server-bound stream by the inline engine and handed, as a
 * neutral event, to the worker that owns the recipient's session, which
 * encodes it with that session's module and injects it towards the
 * recipient's client. The router is shared by every worker: the session
 * registry and the per-worker mailboxes are locked inside. */
#ifndef IMW_ROUTE_H
#define IMW_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "event/event.h"
#include "policy/policy.h"

struct router;
struct bot;

enum route_stage {
	ROUTE_STAGE_PRE,
	ROUTE_STAGE_ROUTING,
	ROUTE_STAGE_POST,
};

enum route_outcome {
	ROUTE_FORWARDED, /* on to the server, as (possibly rewritten) */
	ROUTE_LOCAL,     /* delivered inside this imwired to a session or a bot */
	ROUTE_DROPPED,   /* blocked by policy */
	ROUTE_DELAYED,   /* local, but the recipient's stream was busy: waits */
	ROUTE_INJECTED,  /* made up by imwired (a bot's reply, a notice) */
};

const char *route_outcome_name(enum route_outcome o);

/* A session known to the router: the worker that owns it and its flow. */
struct route_session {
	unsigned worker;
	uint64_t flow_id;
	enum imw_proto proto;
	char *local_id;
	char *local_address;
};

enum route_target_kind {
	ROUTE_TARGET_NONE,
	ROUTE_TARGET_SESSION,
	ROUTE_TARGET_BOT,
};

struct route_target {
	enum route_target_kind kind;
	struct route_session session; /* ROUTE_TARGET_SESSION (strings owned) */
	struct bot *bot;              /* ROUTE_TARGET_BOT (the router's) */
	char *as_remote;  /* the sender as the recipient sees it (owned) */
	char *to;         /* "id@proto" for the log (owned) */
};

struct route_ctx {
	const struct im_event *ev;
	struct policy *policy; /* may be NULL */
	struct router *router; /* may be NULL: policy only */
	unsigned worker;       /* the worker deciding (owner of ev's flow) */
	struct policy_decision decision;
	enum route_outcome outcome;
	struct route_target target;
};

/* A handler: pre and post handlers all run (the return value is
 * ignored); in the routing stage the first that returns true decides. */
typedef bool (*route_handler_fn)(void *arg, struct route_ctx *ctx);

/* Runs the pipeline for ev. ctx is filled; free it with route_ctx_free. */
void route_decide(struct router *r, struct policy *p, unsigned worker, const struct im_event *ev,
		  struct route_ctx *ctx);
void route_ctx_free(struct route_ctx *ctx);

/* ---- the router ---- */

struct route_stats {
	uint64_t routed_local;
	uint64_t routed_bot;
	uint64_t routed_mapped;
	uint64_t deliveries_posted;
	uint64_t sessions;
	uint64_t alloc_failures;
};

/* Built from local_routing=, address_map= and the bot keys (auditbot=).
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

/* Add a handler at a position of a stage (a bot module, a site's own
 * rule). Handlers of the policy take positions 100..400 of pre-routing
 * and 100 of post-routing; the built-in routing handlers 100 (bots), 200
 * (address map), 300 (local routing). */
int router_add_handler(struct router *r, enum route_stage stage, int position, const char *name,
		       route_handler_fn fn, void *arg);
/* One line per handler in pipeline order ("pre 100 policy:..."), for
 * `imwire check-config`; the caller frees. */
char *router_describe(struct router *r);

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

/* Copies ev into the target worker's mailbox and wakes it. */
int router_post(struct router *r, unsigned worker, uint64_t flow_id, const struct im_event *ev);
/* Everything waiting for a worker, oldest first; the caller frees each
 * ev and the array. *n is 0 when nothing waits. */
struct route_delivery *router_take(struct router *r, unsigned worker, size_t *n);
/* An fd that becomes readable when the worker's mailbox has mail, -1 when
 * none could be made (the worker then polls its mailbox on every tick). */
int router_wake_fd(struct router *r, unsigned worker);
void router_wake_clear(struct router *r, unsigned worker);

/* A bot's answer to a message that was routed to it: calls back with each
 * reply text (the engine injects them towards the sender). */
typedef void (*route_reply_fn)(void *arg, const char *text);
void route_bot_answer(struct route_ctx *ctx, route_reply_fn reply, void *arg);

#endif
