/* The decision runner, after timps' gnr_msg_route: every event runs
 * through one table of handlers in three stages, each handler at a
 * numbered position within its stage.
 *
 *   pre-routing   every handler sees the event (the policy's filters:
 *                 blocks, ACL and DB filter, content rules)
 *   routing       skipped for an event pre-routing filtered; else the
 *                 first handler that claims the event decides where it
 *                 goes (bots, the address map, local routing); unclaimed
 *                 events are forwarded as they came
 *   post-routing  every handler sees the event and the decision (notices)
 *
 * Handlers register into a table (policy_add_handlers,
 * router_add_handlers, or a site's own), which keeps them sorted by stage
 * and position as they come; a table is read-only once it runs, and is
 * shared, reference counted, by every worker until a reload builds the
 * next one. `imwired`, `imwire read` and `imwire replay` build their table
 * with route_table_build from the same configuration; `imwire
 * check-config` prints it.
 *
 * The decision (a policy_decision for the event's PDU, the routing
 * outcome, the target of a local delivery) is returned in a route_ctx;
 * what it means for a stream is the inline engine's business. */
#ifndef IMW_ROUTE_H
#define IMW_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "policy/policy.h"

struct bot;
struct router;

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
	struct bot *bot;              /* ROUTE_TARGET_BOT (its router's) */
	struct router *router;        /* ROUTE_TARGET_BOT: the router that owns bot */
	char *as_remote;  /* the sender as the recipient sees it (owned) */
	char *to;         /* "id@proto" for the log (owned) */
};

struct route_ctx {
	const struct im_event *ev;
	struct policy *policy; /* the table's, may be NULL */
	unsigned worker;       /* the worker deciding (owner of ev's flow) */
	struct policy_decision decision;
	enum route_outcome outcome;
	struct route_target target;
};

/* A handler: pre and post handlers all run (the return value is
 * ignored); in the routing stage the first that returns true decides. */
typedef bool (*route_handler_fn)(void *arg, struct route_ctx *ctx);

struct route_table;

/* An empty table whose handlers decide for policy p (a reference is
 * taken; p may be NULL). NULL when out of memory. */
struct route_table *route_table_new(struct policy *p);
struct route_table *route_table_ref(struct route_table *t);
void route_table_unref(struct route_table *t);

/* Add a handler at a position of a stage; at a taken position it goes
 * after the ones already there. Not once the table runs. -1 when out of
 * memory. */
int route_table_add(struct route_table *t, enum route_stage stage, int position,
		    const char *name, route_handler_fn fn, void *arg);

/* The table every mode runs: p's filters (policy_add_handlers) and, when
 * r is given, the router's built-in routing handlers
 * (router_add_handlers). NULL when out of memory. */
struct route_table *route_table_build(struct policy *p, struct router *r);

/* Runs the three stages for ev. ctx is filled; free it with
 * route_ctx_free. Thread-safe (handlers lock what they share). */
void route_table_run(const struct route_table *t, unsigned worker, const struct im_event *ev,
		     struct route_ctx *ctx);
void route_ctx_free(struct route_ctx *ctx);
void route_target_free(struct route_target *t);

/* True when the table's policy may change an event (t may be NULL). */
bool route_table_may_edit(const struct route_table *t);

/* One line per handler in the order they run ("pre-routing 100
 * policy:..."), for `imwire check-config`; the caller frees. */
char *route_table_describe(const struct route_table *t);

#endif
