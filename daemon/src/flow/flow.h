/* The flow table: TCP connections keyed by their 5-tuple (both
 * directions map to one flow), each with two reassemblers and an
 * application-layer state, allocated with the first data (a half-open
 * flow costs little). Flows start on a SYN or mid-stream and expire when
 * idle. Past a cap, one is evicted, least recently used within the first
 * non-empty class: flows that never carried data, then flows without a
 * known local user, and IM sessions with one last (logged). */
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

/* Why the table lets go of a flow. */
enum flow_end {
	FLOW_END_CLOSED,  /* both sides finished or reset, or a new SYN reuses its addresses */
	FLOW_END_EXPIRED, /* idle past its class's timeout */
	FLOW_END_EVICTED, /* the table was full (max_flows): the connection may go on */
	FLOW_END_FLUSHED, /* end of input or shutdown: the connection may go on */
};

struct flow_config {
	struct app_config app;
	struct reasm_limits reasm;
	size_t max_flows;       /* eviction beyond this, by class (enum flow_class) */
	/* Reassembly and framing bytes held over all flows. Past it, the
	 * least recently used flows give up what they buffer (holes become
	 * gaps, partial PDUs are dropped) until a quarter is free again. */
	size_t max_buffered_total;
	double idle_timeout;    /* seconds without packets before a flow expires */
	double halfopen_timeout; /* the same for a flow that never carried data */
	const struct net_prefix *local_nets; /* the client side lives here, when set */
	size_t n_local_nets;
	/* Called when a flow with f->ext set is released (the inline engine
	 * keeps its per-flow state there), with why: only a connection that
	 * ended is over; an evicted or flushed one may still carry traffic. */
	void (*ext_release)(void *arg, struct flow *f, enum flow_end why);
	void *ext_arg;
	/* Optional: an IM session with a known local user was evicted at the
	 * cap. Called for the first such eviction, then at most once per
	 * FLOW_EVICT_LOG_SECONDS (packet time) with how many more there were
	 * in between (not logged). */
	void (*evicted_session)(void *arg, const struct flow *f, uint64_t unlogged);
	void *evicted_arg;
	/* Not owned, may be NULL: the file stage. File offers in the events
	 * become expectations; a connection one announced carries its bytes
	 * there instead of to the application layer, and modules hand it the
	 * files they find in their own streams. */
	struct files *files;
};

#define FLOW_EVICT_LOG_SECONDS 10.0

/* What eviction looks at, in the order it takes from. */
enum flow_class {
	FLOW_CLASS_HALFOPEN,   /* no data byte yet: half-open, or a handshake and silence */
	FLOW_CLASS_ANONYMOUS,  /* carried data, no local user known */
	FLOW_CLASS_IDENTIFIED, /* an IM session whose local user is known */
	FLOW_CLASSES
};

void flow_config_defaults(struct flow_config *cfg);

struct flow_stats {
	uint64_t packets;
	uint64_t tcp_packets;
	uint64_t bytes;           /* TCP payload bytes seen */
	uint64_t flows_created;
	uint64_t flows_midstream; /* created without a SYN */
	uint64_t flows_expired;
	uint64_t flows_evicted;   /* max_flows hit: all classes */
	uint64_t evicted_halfopen;
	uint64_t evicted_anonymous;
	uint64_t evicted_identified; /* IM sessions with a local user: logged */
	uint64_t expired_halfopen;   /* of flows_expired: at halfopen_timeout */
	uint64_t flows_closed;
	uint64_t truncated_payloads; /* snaplen cut a segment: treated as lost */
	uint64_t alloc_failures;
	uint64_t buffered_bytes;  /* now: reassembly + framing bytes held by all flows */
	uint64_t buffered_peak;
	uint64_t pressure_sheds;  /* flows that gave up their buffers at max_buffered_total */
	struct reasm_stats reasm; /* every flow's reassemblers count here */
	struct app_stats app;
};

struct flow;

/* struct flow's seen: what the flow's packets showed, a bit each. */
#define FLOW_SEEN_FIN(dir) (1u << (dir)) /* a FIN from that direction */
#define FLOW_SEEN_ISN(dir) (4u << (dir)) /* its SYN: isn[dir] is valid */
#define FLOW_SEEN_RST 16u
#define FLOW_SEEN_DATA 32u /* some packet carried payload */

/* Kept small (120 bytes, a 128-byte malloc chunk): a SYN flood and every
 * idle session are paid in these. */
struct flow {
	uint64_t id;
	uint8_t addr[2][16]; /* [IM_DIR_OUT] = client, [IM_DIR_IN] = server */
	uint16_t port[2];
	uint32_t isn[2];     /* of each direction's SYN, when FLOW_SEEN_ISN */
	uint8_t ip_version;
	uint8_t seen;        /* FLOW_SEEN_* */
	uint8_t cls;         /* enum flow_class: the eviction list it is on */
	double first_ts;     /* its first packet (a session's "since", the archive's session id) */
	double last_ts;
	/* By direction of travel ([IM_DIR_OUT] client to server), read-only:
	 * a shared never-started pair until the flow's first data, then the
	 * flow's own (with its buffers, flow.c's struct flow_streams). */
	const struct reasm *reasm;
	struct app_flow *app; /* NULL until the first data, too (then in its block) */
	void *ext; /* owned by whoever set ext_release */
	struct flow *hash_next;
	struct flow *lru_prev; /* most recently used at the head of its class's list */
	struct flow *lru_next;
};

/* Did the flow's packets show all of bits (FLOW_SEEN_*)? */
static inline bool flow_seen(const struct flow *f, unsigned bits)
{
	return (f->seen & bits) == bits;
}

struct community_hasher;

struct flow_table {
	struct flow_config cfg;
	struct flow **buckets;
	size_t n_buckets;
	size_t n_flows;
	uint64_t next_id;
	struct flow *lru_head[FLOW_CLASSES];
	struct flow *lru_tail[FLOW_CLASSES];
	double now;
	double evict_logged_at;   /* packet time of the last evicted_session call */
	uint64_t evict_unlogged;  /* identified evictions since */
	proto_emit_fn emit;
	void *emit_arg;
	struct flow_stats stats;
	struct proto_directory directory; /* shared by this table's sessions */
	/* SHA-1 fetched once for every flow's Community ID (NULL: each ID
	 * looks it up itself, slower, the same ID). */
	struct community_hasher *cid_hasher;
	/* Every flow's reassembler of a direction refers to that direction's
	 * context: the limits, callbacks and counters (stats.reasm); every
	 * flow's application layer to app_ctx. */
	struct reasm_context reasm_ctx[2];
	struct app_context app_ctx;
};

/* cfg is copied (local_nets must outlive the table). */
int flow_table_init(struct flow_table *t, const struct flow_config *cfg, proto_emit_fn emit,
		    void *emit_arg);
/* Flush every flow (delivering held data), then free everything. */
void flow_table_destroy(struct flow_table *t);
/* A reload: the settings of cfg (protocols, typing, TLS stripping, the
 * detection window, reassembly bounds, limits, timeouts, local_nets) for
 * what comes next; callbacks and modules stay. New flows get all of it;
 * flows being detected see the protocols at once; an established session
 * keeps what it started with. local_nets must outlive its use, as at init. */
void flow_table_reconfigure(struct flow_table *t, const struct flow_config *cfg);

/* One parsed TCP packet: find or create its flow, feed reassembly, and
 * release the flow when both directions closed. */
void flow_table_packet(struct flow_table *t, const struct packet *pkt);

/* The same in steps, for the inline engine: find (or create, on a SYN or
 * data) the packet's flow and set *dir; NULL when the packet starts no
 * flow. */
struct flow *flow_table_get(struct flow_table *t, const struct packet *pkt, enum im_dir *dir);
/* The same for a packet that flow_table_get ignores (a bare ACK of a
 * connection met mid-stream): the caller knows the flow matters (a
 * predecessor edited it). NULL when out of memory or for a RST. */
struct flow *flow_table_get_midstream(struct flow_table *t, const struct packet *pkt,
				      enum im_dir *dir);
/* Direction dir's reassembly, not started yet, starts at seq, which is
 * stream offset `offset`: a flow taken over from a predecessor keeps the
 * offsets its edits were recorded in. Makes the flow's streams when it
 * has none. False when dir has started already or out of memory. */
bool flow_table_start_stream(struct flow_table *t, struct flow *f, enum im_dir dir, uint32_t seq,
			     uint64_t offset);
/* Feed the packet to the flow's reassembly (and so to the decoders);
 * returns true when the connection is over. */
bool flow_table_feed(struct flow_table *t, struct flow *f, enum im_dir dir,
		     const struct packet *pkt);
/* Release a flow now (flushing what it holds). */
void flow_table_close(struct flow_table *t, struct flow *f);

/* Expire flows idle for longer than their class's timeout at `now`. */
void flow_table_expire(struct flow_table *t, double now);

/* Flush and drop every flow (end of input). */
void flow_table_flush_all(struct flow_table *t);
/* Flush every flow and forget what sessions learnt from one another: the
 * packets that follow are an unrelated capture (imwire read --separate). */
void flow_table_forget(struct flow_table *t);

#endif
