/* The event tap: one more sink behind the writer, which sees every event
 * the writer writes. It counts them (per protocol, kind and direction, for
 * the metrics; per flow, for `imwire sessions`) and copies each, as a JSON
 * line, to the subscribers of `imwire tail` whose filter it passes.
 *
 * It never blocks the writer: a subscriber is a bounded buffer (TAP_SUB_MAX
 * bytes) and an eventfd; one that falls further behind loses events, and
 * the number lost is handed to it with the next lines it takes. With no
 * subscriber an event costs a lock and a few counters.
 *
 * The tap is shared by the writer's thread (the sink) and the control
 * socket's (subscriptions, counts): it lives until both let go. */
#ifndef IMW_CONTROL_TAP_H
#define IMW_CONTROL_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "sink/sink.h"
#include "util/bytebuf.h"

#define TAP_SUB_MAX (1024 * 1024)
#define TAP_FLOWS_MAX 65536 /* flows whose events are counted at once */

struct event_tap;
struct tap_sub;

struct tap_filter {
	enum imw_proto proto; /* IMW_PROTO_NONE: any */
	int kind;             /* enum im_kind, or -1: any */
	const char *user;     /* local or remote id (case-insensitive), or NULL */
};

/* A new tap (the caller's reference); NULL on allocation failure. */
struct event_tap *event_tap_new(void);
/* A sink writing into t: it takes a reference, sink_close drops it. */
void event_tap_sink(struct event_tap *t, struct sink *s);
void event_tap_ref(struct event_tap *t);
void event_tap_unref(struct event_tap *t);

/* Events seen so far: out[proto][kind][dir]. */
void event_tap_counts(struct event_tap *t, uint64_t out[IMW_PROTO_MAX][IM_KIND_COUNT][2]);
/* Events of one flow (its id and client address, as events carry them);
 * 0 when none was seen. */
uint64_t event_tap_flow_events(struct event_tap *t, uint64_t flow_id, const char *client);

/* A subscriber; NULL on allocation failure. */
struct tap_sub *event_tap_subscribe(struct event_tap *t, const struct tap_filter *f);
void event_tap_unsubscribe(struct event_tap *t, struct tap_sub *sub);
/* Readable when lines wait. */
int tap_sub_fd(const struct tap_sub *sub);
/* Append the waiting lines to out; returns how many events were lost to
 * this subscriber since the last call. */
uint64_t tap_sub_take(struct event_tap *t, struct tap_sub *sub, struct bytebuf *out);

#endif
