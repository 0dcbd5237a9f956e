/* The decoding pipeline shared by `imwire read`, `imwired --tap` and the
 * inline engine: flow table -> reassembly -> protocol modules -> sinks,
 * with the counters the summary reports. */
#ifndef IMW_PIPELINE_H
#define IMW_PIPELINE_H

#include <stdio.h>

#include "flow/flow.h"
#include "pipeline/event_ring.h"
#include "sink/sink.h"

#define PIPELINE_MAX_SINKS 8

struct pipeline {
	struct flow_table flows;
	struct sink sinks[PIPELINE_MAX_SINKS];
	size_t n_sinks;
	uint64_t events[IMW_PROTO_MAX][IM_KIND_COUNT];
	uint64_t events_total;
	uint64_t sink_failures;
	uint64_t packets_since_expiry;
	/* Optional (not owned): events are logged as the route table (the
	 * policy's filters, route/route.h) would have filtered them; nothing
	 * is edited offline. */
	struct route_table *table;
	/* Optional (owned, from pipeline_follow_files): file transfers. */
	struct files *files;
	/* Optional (owned, from pipeline_start_writer): the sinks written on a
	 * thread of their own. sink_failures then counts its failures only
	 * after pipeline_sync, pipeline_finish or pipeline_destroy. */
	struct event_ring *ring;
};

int pipeline_init(struct pipeline *pl, const struct flow_config *cfg);
/* Takes ownership of an opened sink; -1 when the sink table is full. */
int pipeline_add_sink(struct pipeline *pl, struct sink *s);
/* Follow file offers to their data (sh not owned, outlives pl): their
 * result events go to the sinks like every other. 0, or -1 with err. */
int pipeline_follow_files(struct pipeline *pl, struct files_shared *sh, char *err,
			  size_t err_size);
/* Write the events to the sinks on a second thread (the offline reader:
 * decoding and writing then share two cores), handed over in batches
 * (pipeline/event_ring.h); the sinks see the same events in the same
 * order as without it. Call after the last pipeline_add_sink; a no-op
 * without sinks. 0, or -1 with errno (no thread: the events are written
 * on the caller's thread as before, nothing else changes). */
int pipeline_start_writer(struct pipeline *pl);
void pipeline_packet(struct pipeline *pl, const struct packet *pkt);
/* Wait until every event delivered so far has been given to the sinks
 * (with the writer thread; a no-op without it): what the caller says on
 * its own afterwards comes after their output, as on one thread. */
void pipeline_sync(struct pipeline *pl);
/* Deliver everything still held (end of input); flows are dropped. The
 * writer thread ends here, after its last event; then the sinks are
 * flushed on the caller's thread. */
void pipeline_finish(struct pipeline *pl);
/* The end of one capture read as unrelated to the next (--separate): its
 * flows end here, held events are delivered, and nothing learnt in it
 * carries over; the sinks stay open. */
void pipeline_end_capture(struct pipeline *pl);
void pipeline_destroy(struct pipeline *pl);

/* Human-readable summary of what was seen (flows, sessions, events,
 * warnings). */
void pipeline_print_summary(const struct pipeline *pl, FILE *out);

#endif
