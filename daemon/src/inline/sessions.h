/* The engine's flows that matter beyond their own packets: IM sessions the
 * router knows (so other workers can deliver to them) and flows carrying
 * data we originated (so it is resent until acknowledged). A list per
 * engine (FLOW_LIST_SESSIONS, linked through flow_state); the router's registry is told of a
 * session only when what it knows of it changed, so its lock is rare. */
#ifndef IMW_INLINE_SESSIONS_H
#define IMW_INLINE_SESSIONS_H

#include <stdint.h>

#include "inline/counters.h"
#include "inline/flow_state.h"

struct router;

/* Keep fs findable (deliveries, retransmissions); no-op when it is. */
void sessions_track(struct flow_list *l, struct flow_state *fs);
struct flow_state *sessions_find(const struct flow_list *l, uint64_t flow_id);

/* Register fs's session with the router, or update it, when its user,
 * address or service changed or whether we can send towards its client. */
void sessions_sync(struct flow_list *l, struct flow_state *fs, struct router *r,
		   unsigned worker, struct engine_stats *st);

/* fs is going: take it off the list and out of the router's registry. */
void sessions_forget(struct flow_list *l, struct flow_state *fs, struct router *r,
		     unsigned worker);

#endif
