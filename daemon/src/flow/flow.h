/* The flow table: TCP connections keyed by their 5-tuple (both
 * directions map to one flow), each with two reassemblers and an
 * application-layer state. Flows start on a SYN or mid-stream, expire
 * when idle, and are evicted least-recently-used past a cap. */
#ifndef IMW_FLOW_H
#define IMW_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "files/files.h"
#include "packet/packet.h"
#include "stream/reasm.h"
#include "util/net_prefix.h"

struct flow;

struct flow_config {
	struct app_config app;
	struct reasm_limits reasm;
	size_t max_flows;       /* LRU eviction beyond this */
	/* Reassembly and framing bytes held over all flows. Past it, the
	 * least recently used flows give up what they buffer (holes become
	 * gaps, partial PDUs are dropped) until a quarter is free again. */
	size_t max_buffered_total;
	double idle_timeout;    /* seconds without packets before a flow expires */
	const struct net_prefix *local_nets; /* the client side lives here, when set */
	size_t n_local_nets;
	/* Called when a flow with f->ext set is released (the inline engine
	 * keeps its per-flow state there). */
	void (*ext_release)(void *arg, struct flow *f);
	void *ext_arg;
	/* Not owned, may be NULL: the file stage. File offers in the events
	 * become expectations; a connection one announced carries its bytes
	 * there instead of to the application layer, and modules hand it the
	 * files they find in their own streams. */
	struct files *files;
};

void flow_config_defaults(struct flow_config *cfg);

struct flow_stats {
	uint64_t packets;
	uint64_t tcp_packets;
	uint64_t bytes;           /* TCP payload bytes seen */
	uint64_t flows_created;
	uint64_t flows_midstream; /* created without a SYN */
	uint64_t flows_expired;
	uint64_t flows_evicted;   /* LRU cap hit */
	uint64_t flows_closed;
	uint64_t truncated_payloads; /* snaplen cut a segment: treated as lost */
	uint64_t alloc_failures;
	uint64_t buffered_bytes;  /* now: reassembly + framing bytes held by all flows */
	uint64_t buffered_peak;
	uint64_t pressure_sheds;  /* flows that gave up their buffers at max_buffered_total */
	struct reasm_stats reasm; /* summed over closed flows and at flush */
	struct app_stats app;
};

struct flow;

/* Tells a reassembler callback which flow and direction it serves. */
struct flow_dir_ref {
	struct flow *flow;
	struct flow_table *table;
	enum im_dir dir;
};

struct flow {
	uint64_t id;
	uint8_t ip_version;
	uint8_t addr[2][16]; /* [IM_DIR_OUT] = client, [IM_DIR_IN] = server */
	uint16_t port[2];
	bool syn_seen;
	bool fin_seen[2];
	bool rst_seen;
	double first_ts;
	double last_ts;
	struct reasm reasm[2]; /* by direction of travel: [IM_DIR_OUT] client to server */
	struct flow_dir_ref ref[2];
	struct app_flow *app;
	struct file_conn *xfer; /* a file's data connection: its bytes go here, not to app */
	size_t buffered; /* what this flow counts in stats.buffered_bytes */
	void *ext; /* owned by whoever set ext_release */
	struct flow *hash_next;
	struct flow *lru_prev; /* most recently used at the head */
	struct flow *lru_next;
};

struct flow_table {
	struct flow_config cfg;
	struct flow **buckets;
	size_t n_buckets;
	size_t n_flows;
	uint64_t next_id;
	struct flow *lru_head;
	struct flow *lru_tail;
	double now;
	proto_emit_fn emit;
	void *emit_arg;
	struct flow_stats stats;
	struct proto_directory directory; /* shared by this table's sessions */
};

/* cfg is copied (local_nets must outlive the table). */
int flow_table_init(struct flow_table *t, const struct flow_config *cfg, proto_emit_fn emit,
		    void *emit_arg);
/* Flush every flow (delivering held data), then free everything. */
void flow_table_destroy(struct flow_table *t);

/* One parsed TCP packet: find or create its flow, feed reassembly, and
 * release the flow when both directions closed. */
void flow_table_packet(struct flow_table *t, const struct packet *pkt);

/* The same in steps, for the inline engine: find (or create, on a SYN or
 * data) the packet's flow and set *dir; NULL when the packet starts no
 * flow. */
struct flow *flow_table_get(struct flow_table *t, const struct packet *pkt, enum im_dir *dir);
/* Feed the packet to the flow's reassembly (and so to the decoders);
 * returns true when the connection is over. */
bool flow_table_feed(struct flow_table *t, struct flow *f, enum im_dir dir,
		     const struct packet *pkt);
/* Release a flow now (flushing what it holds). */
void flow_table_close(struct flow_table *t, struct flow *f);

/* Expire flows idle for longer than the timeout at time `now`. */
void flow_table_expire(struct flow_table *t, double now);

/* Flush and drop every flow (end of input). */
void flow_table_flush_all(struct flow_table *t);
/* Flush every flow and forget what sessions learnt from one another: the
 * packets that follow are an unrelated capture (imwire read --separate). */
void flow_table_forget(struct flow_table *t);

#endif
