#include "flow/flow.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "archive/community_id.h"
#include "archive/session_id.h"

#define DEFAULT_MAX_FLOWS 1000000
#define DEFAULT_IDLE_TIMEOUT 3600.0
/* Linux gives up a half-open connection after about a minute of SYN-ACK
 * retries; a connection that carried nothing for 30 s is not worth more. */
#define DEFAULT_HALFOPEN_TIMEOUT 30.0
#define DEFAULT_MAX_BUFFERED_TOTAL ((size_t)512 * 1024 * 1024)
#define INITIAL_BUCKETS 4096

/* What a flow needs once it carries data: two reassemblers (first: what
 * f->reasm points at; their callbacks get the flow and its table, and
 * know the direction by which of the two contexts they are) and the bytes
 * they and the application layer buffer. Its application layer (f->app)
 * follows in the same allocation (one malloc chunk, not three, for an
 * idle session: issue 23's 512 bytes a flow). */
struct flow_streams {
	struct reasm reasm[2];
	size_t buffered; /* what this flow counts in stats.buffered_bytes */
	struct file_conn *xfer; /* a file's data connection: its bytes go here, not to app */
};

/* app_flow_init's block starts right after the streams. */
_Static_assert(sizeof(struct flow_streams) % _Alignof(struct app_flow) == 0,
	       "an app_flow after flow_streams must be aligned");

/* What f->reasm shows before then: nothing started, nothing held. */
static const struct reasm no_streams[2];

/* The writable block behind f->reasm, NULL before the first data. The
 * cast drops only the const readers see: the block was allocated
 * writable (and reasm is its first member). */
static struct flow_streams *streams_of(const struct flow *f)
{
	if (f->reasm == no_streams)
		return NULL;
	return (struct flow_streams *)(uintptr_t)f->reasm;
}

/* Whom a flow's reassemblers deliver to, given with each call that may
 * deliver (reasm.h: not kept in every reassembler). */
struct stream_target {
	struct flow_table *t;
	struct flow *f;
};

/* A file's data connection goes to the file stage, not to app. */
static void deliver_dir(const struct stream_target *to, enum im_dir dir, const uint8_t *data,
			size_t len, uint64_t offset, double ts)
{
	struct flow_streams *st = streams_of(to->f);

	if (st && st->xfer)
		files_conn_data(to->t->cfg.files, st->xfer, dir, data, len, offset, ts);
	else if (to->f->app)
		app_flow_data(to->f->app, dir, data, len, offset, ts);
}

static void gap_dir(const struct stream_target *to, enum im_dir dir, uint64_t offset,
		    uint64_t len)
{
	struct flow_streams *st = streams_of(to->f);

	if (st && st->xfer)
		files_conn_gap(to->t->cfg.files, st->xfer, dir, offset, len);
	else if (to->f->app)
		app_flow_gap(to->f->app, dir, offset, len);
}

static void on_deliver_out(void *arg, const uint8_t *data, size_t len, uint64_t offset, double ts)
{
	deliver_dir(arg, IM_DIR_OUT, data, len, offset, ts);
}

static void on_deliver_in(void *arg, const uint8_t *data, size_t len, uint64_t offset, double ts)
{
	deliver_dir(arg, IM_DIR_IN, data, len, offset, ts);
}

static void on_gap_out(void *arg, uint64_t offset, uint64_t len)
{
	gap_dir(arg, IM_DIR_OUT, offset, len);
}

static void on_gap_in(void *arg, uint64_t offset, uint64_t len)
{
	gap_dir(arg, IM_DIR_IN, offset, len);
}

/* The reassembler calls that may deliver, with the table's context of
 * direction d and the flow as the target. */
static void stream_flush(struct flow_table *t, struct flow *f, struct flow_streams *st, int d)
{
	struct stream_target to = { t, f };

	reasm_flush(&st->reasm[d], &t->reasm_ctx[d], &to);
}

static void stream_reset(struct flow_table *t, struct flow *f, struct flow_streams *st, int d)
{
	struct stream_target to = { t, f };

	reasm_reset(&st->reasm[d], &t->reasm_ctx[d], &to);
}

static void stream_peer_ack(struct flow_table *t, struct flow *f, struct flow_streams *st,
			    enum im_dir d, uint32_t ack, double ts)
{
	struct stream_target to = { t, f };

	reasm_peer_ack(&st->reasm[d], &t->reasm_ctx[d], &to, ack, ts);
}

static int stream_segment(struct flow_table *t, struct flow *f, struct flow_streams *st,
			  enum im_dir d, uint32_t seq, const struct packet *pkt, bool fin)
{
	struct stream_target to = { t, f };

	return reasm_segment(&st->reasm[d], &t->reasm_ctx[d], &to, seq, pkt->payload,
			     pkt->payload_len, fin, pkt->ts);
}

/* Events on their way down pass the file stage, when there is one, which
 * keeps what their offers announce. Asked per event: the stage may be
 * set after flow_table_init (pipeline_follow_files) and unset before the
 * table goes (workers.c). */
static void emit_event(void *arg, const struct im_event *ev)
{
	struct flow_table *t = arg;

	if (t->cfg.files)
		files_event(t->cfg.files, ev, t->now);
	if (t->emit)
		t->emit(t->emit_arg, ev);
}

/* A module's file piece, with the flow it came from (the session's). */
static void on_file_piece(void *arg, const struct proto_session *s,
			  const struct proto_file_piece *p)
{
	struct flow_table *t = arg;

	if (t->cfg.files)
		files_piece(t->cfg.files, s->flow_id, s, p, proto_session_ts(s));
}

/* By direction: a struct stream_target is each callback's argument. */
static void init_reasm_contexts(struct flow_table *t)
{
	t->reasm_ctx[IM_DIR_OUT] = (struct reasm_context){
		.limits = t->cfg.reasm,
		.cb = { .deliver = on_deliver_out, .gap = on_gap_out },
		.stats = &t->stats.reasm,
	};
	t->reasm_ctx[IM_DIR_IN] = t->reasm_ctx[IM_DIR_OUT];
	t->reasm_ctx[IM_DIR_IN].cb = (struct reasm_callbacks){ .deliver = on_deliver_in,
							       .gap = on_gap_in };
}

void flow_config_defaults(struct flow_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	app_config_defaults(&cfg->app);
	cfg->reasm.max_buffered_bytes = REASM_DEFAULT_MAX_BYTES;
	cfg->reasm.max_buffered_segments = REASM_DEFAULT_MAX_SEGMENTS;
	cfg->max_flows = DEFAULT_MAX_FLOWS;
	cfg->idle_timeout = DEFAULT_IDLE_TIMEOUT;
	cfg->halfopen_timeout = DEFAULT_HALFOPEN_TIMEOUT;
	cfg->max_buffered_total = DEFAULT_MAX_BUFFERED_TOTAL;
}

int flow_table_init(struct flow_table *t, const struct flow_config *cfg, proto_emit_fn emit,
		    void *emit_arg)
{
	memset(t, 0, sizeof(*t));
	t->cfg = *cfg;
	t->n_buckets = INITIAL_BUCKETS;
	t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
	if (!t->buckets)
		return -1;
	t->emit = emit;
	t->emit_arg = emit_arg;
	t->next_id = 1;
	proto_directory_init(&t->directory);
	t->cid_hasher = community_hasher_new(); /* NULL is slower, not wrong */
	init_reasm_contexts(t);
	/* events pass the file stage first (emit_event) */
	t->app_ctx = (struct app_context){ &t->cfg.app, &t->stats.app,
					   { &t->directory, emit_event, t, on_file_piece, t } };
	return 0;
}

void flow_table_reconfigure(struct flow_table *t, const struct flow_config *cfg)
{
	int i;

	for (i = 0; i < IMW_PROTO_MAX; i++) {
		t->cfg.app.enabled[i] = cfg->app.enabled[i];
		t->cfg.app.strip_tls[i] = cfg->app.strip_tls[i];
	}
	t->cfg.app.log_typing = cfg->app.log_typing;
	t->cfg.app.detect_window = cfg->app.detect_window;
	t->cfg.reasm = cfg->reasm;
	t->cfg.max_flows = cfg->max_flows;
	t->cfg.max_buffered_total = cfg->max_buffered_total;
	t->cfg.idle_timeout = cfg->idle_timeout;
	t->cfg.halfopen_timeout = cfg->halfopen_timeout;
	t->cfg.local_nets = cfg->local_nets;
	t->cfg.n_local_nets = cfg->n_local_nets;
}

static size_t addr_len(uint8_t ip_version)
{
	return ip_version == 6 ? 16 : 4;
}

/* One endpoint as a word: an IPv4 address and the port side by side
 * (distinct endpoints, distinct words), an IPv6 address folded in. Whole
 * words, not a byte at a time: this is hashed for every packet. */
static uint64_t endpoint_word(uint8_t v, const uint8_t *addr, uint16_t port)
{
	uint64_t lo, hi;
	uint32_t w;

	if (v == 6) {
		memcpy(&lo, addr, 8);
		memcpy(&hi, addr + 8, 8);
		return ((lo * 0xC2B2AE3D27D4EB4FULL + hi) ^ port) * 0x9E3779B97F4A7C15ULL;
	}
	memcpy(&w, addr, 4);
	return ((uint64_t)w << 16 | port) * 0x9E3779B97F4A7C15ULL;
}

/* Symmetric: both directions of a flow hash alike (the endpoints' words
 * combined by xor). The final mix brings the high bits, where the
 * products carry most of their input, down to the bucket bits. */
static inline uint64_t hash_endpoints(uint8_t v, const uint8_t *a, uint16_t pa,
				      const uint8_t *b, uint16_t pb)
{
	uint64_t h = endpoint_word(v, a, pa) ^ endpoint_word(v, b, pb) ^ v;

	h ^= h >> 32;
	h *= 0xD6E8FEB86659FD93ULL;
	return h ^ h >> 32;
}

static size_t bucket_in(uint64_t hash, size_t n_buckets)
{
	return (size_t)hash & (n_buckets - 1);
}

static size_t bucket_of(const struct flow_table *t, uint8_t v, const uint8_t *a, uint16_t pa,
			const uint8_t *b, uint16_t pb)
{
	return bucket_in(hash_endpoints(v, a, pa, b, pb), t->n_buckets);
}

static bool endpoint_eq(const struct flow *f, int side, const uint8_t *addr, uint16_t port)
{
	/* Constant lengths, so the comparison is inline loads, not a call:
	 * this runs for every packet. */
	if (f->port[side] != port)
		return false;
	return f->ip_version == 6 ? memcmp(f->addr[side], addr, 16) == 0
				  : memcmp(f->addr[side], addr, 4) == 0;
}

static struct flow *lookup(struct flow_table *t, const struct packet *pkt, enum im_dir *dir)
{
	size_t b = bucket_of(t, pkt->ip_version, pkt->src, pkt->sport, pkt->dst, pkt->dport);
	struct flow *f;

	for (f = t->buckets[b]; f; f = f->hash_next) {
		if (f->ip_version != pkt->ip_version)
			continue;
		if (endpoint_eq(f, IM_DIR_OUT, pkt->src, pkt->sport) &&
		    endpoint_eq(f, IM_DIR_IN, pkt->dst, pkt->dport)) {
			*dir = IM_DIR_OUT;
			return f;
		}
		if (endpoint_eq(f, IM_DIR_IN, pkt->src, pkt->sport) &&
		    endpoint_eq(f, IM_DIR_OUT, pkt->dst, pkt->dport)) {
			*dir = IM_DIR_IN;
			return f;
		}
	}
	return NULL;
}

/* One least-recently-used list per class (f->cls), so that choosing a
 * victim is taking a tail: O(1), and never an IM session while a
 * half-open flow is left. */
static void lru_unlink(struct flow_table *t, struct flow *f)
{
	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		t->lru_head[f->cls] = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		t->lru_tail[f->cls] = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

static void lru_push_front(struct flow_table *t, struct flow *f)
{
	f->lru_prev = NULL;
	f->lru_next = t->lru_head[f->cls];
	if (t->lru_head[f->cls])
		t->lru_head[f->cls]->lru_prev = f;
	t->lru_head[f->cls] = f;
	if (!t->lru_tail[f->cls])
		t->lru_tail[f->cls] = f;
}

static enum flow_class class_of(const struct flow *f)
{
	if (!flow_seen(f, FLOW_SEEN_DATA))
		return FLOW_CLASS_HALFOPEN;
	if (f->app && f->app->state == APP_DECODING && f->app->session.local_id)
		return FLOW_CLASS_IDENTIFIED;
	return FLOW_CLASS_ANONYMOUS;
}

/* f was just used: to the front of its class's list (which data or a
 * login may have changed).
 *
 * Exact, not approximate (relinking only now and then, a CLOCK bit):
 * the lists are more than the eviction order. Each is in order of use
 * (of last_ts, for packets in time order): flow_table_expire stops at
 * the first tail not yet idle, flow_table_flush_all releases the oldest
 * tail first (the order of the events held to the end), and eviction
 * (test_flow) takes the exact least recently used. An approximation
 * would change which flows expire when, and the order of output. The only
 * relink skipped is the one that changes nothing (f at the head of its
 * list already). */
static void lru_touch(struct flow_table *t, struct flow *f)
{
	enum flow_class c = class_of(f);

	if (c == f->cls && t->lru_head[c] == f)
		return;
	lru_unlink(t, f);
	f->cls = (uint8_t)c;
	lru_push_front(t, f);
}

static void release(struct flow_table *t, struct flow *f, enum flow_end why)
{
	size_t b = bucket_of(t, f->ip_version, f->addr[0], f->port[0], f->addr[1], f->port[1]);
	struct flow_streams *st = streams_of(f);
	struct flow **pp;
	int d;

	if (st) {
		for (d = 0; d < 2; d++)
			stream_flush(t, f, st, d);
		for (d = 0; d < 2; d++)
			reasm_free(&st->reasm[d]);
	}
	if (f->ext && t->cfg.ext_release)
		t->cfg.ext_release(t->cfg.ext_arg, f, why);
	if (t->cfg.files) {
		if (st && st->xfer)
			files_conn_end(t->cfg.files, st->xfer, f->last_ts);
		files_flow_end(t->cfg.files, f->id, f->last_ts);
	}
	app_flow_release(f->app);
	if (st) {
		t->stats.buffered_bytes -= st->buffered;
		free(st);
	}
	for (pp = &t->buckets[b]; *pp; pp = &(*pp)->hash_next) {
		if (*pp == f) {
			*pp = f->hash_next;
			break;
		}
	}
	lru_unlink(t, f);
	t->n_flows--;
	free(f);
}

/* Is f a connection an offer announced? Then its bytes are a file's (or
 * a module's that frames it: decode_as). Asked with the first data. */
static void claim_for_files(struct flow_table *t, struct flow *f, struct flow_streams *st)
{
	enum imw_proto decode_as = IMW_PROTO_NONE;
	const struct proto_module *m;

	st->xfer = files_conn_start(t->cfg.files, f->id, f->ip_version, f->addr[IM_DIR_OUT],
				    f->port[IM_DIR_OUT], f->addr[IM_DIR_IN], f->port[IM_DIR_IN],
				    t->now, &decode_as);
	if (!f->app)
		return;
	m = decode_as != IMW_PROTO_NONE ? proto_module_by_id(decode_as) : NULL;
	if (m)
		app_flow_decode_as(f->app, m);
}
static bool is_local(const struct flow_table *t, uint8_t v, const uint8_t *addr)
{
	size_t i;

	for (i = 0; i < t->cfg.n_local_nets; i++)
		if (net_prefix_contains(&t->cfg.local_nets[i], v, addr))
			return true;
	return false;
}

/* Is the packet's sender the client? On a SYN the answer is certain;
 * mid-stream it is a guess from local_nets, then well-known ports, then
 * the ephemeral-port convention. */
static bool sender_is_client(const struct flow_table *t, const struct packet *pkt)
{
	bool src_local, dst_local, src_srv, dst_srv;

	if (pkt->tcp_flags & TCP_FLAG_SYN)
		return !(pkt->tcp_flags & TCP_FLAG_ACK);
	if (t->cfg.n_local_nets) {
		src_local = is_local(t, pkt->ip_version, pkt->src);
		dst_local = is_local(t, pkt->ip_version, pkt->dst);
		if (src_local != dst_local)
			return src_local;
	}
	src_srv = app_server_port(&t->cfg.app, pkt->sport);
	dst_srv = app_server_port(&t->cfg.app, pkt->dport);
	if (src_srv != dst_srv)
		return dst_srv;
	if (pkt->sport != pkt->dport)
		return pkt->sport > pkt->dport;
	return true;
}

static bool grow(struct flow_table *t)
{
	size_t nb = t->n_buckets * 2, i, b;
	struct flow **nbk = calloc(nb, sizeof(*nbk)), *f, *next;

	if (!nbk)
		return false;
	for (i = 0; i < t->n_buckets; i++) {
		for (f = t->buckets[i]; f; f = next) {
			next = f->hash_next;
			b = bucket_in(hash_endpoints(f->ip_version, f->addr[0], f->port[0],
						     f->addr[1], f->port[1]),
				      nb);
			f->hash_next = nbk[b];
			nbk[b] = f;
		}
	}
	free(t->buckets);
	t->buckets = nbk;
	t->n_buckets = nb;
	return true;
}

/* The least recently used flow of the first non-empty class. */
static struct flow *eviction_victim(struct flow_table *t)
{
	int c;

	for (c = 0; c < FLOW_CLASSES; c++)
		if (t->lru_tail[c])
			return t->lru_tail[c];
	return NULL;
}

/* The cap is reached: make room. An IM session with a known user goes
 * only when nothing else is left, and says so (rate-limited). */
static void evict_one(struct flow_table *t)
{
	struct flow *f = eviction_victim(t);

	if (!f)
		return;
	t->stats.flows_evicted++;
	if (f->cls == FLOW_CLASS_HALFOPEN) {
		t->stats.evicted_halfopen++;
	} else if (f->cls == FLOW_CLASS_ANONYMOUS) {
		t->stats.evicted_anonymous++;
	} else {
		t->stats.evicted_identified++;
		if (t->stats.evicted_identified == 1 ||
		    t->now - t->evict_logged_at >= FLOW_EVICT_LOG_SECONDS) {
			if (t->cfg.evicted_session)
				t->cfg.evicted_session(t->cfg.evicted_arg, f, t->evict_unlogged);
			t->evict_logged_at = t->now;
			t->evict_unlogged = 0;
		} else {
			t->evict_unlogged++;
		}
	}
	release(t, f, FLOW_END_EVICTED);
}

/* What the archive asks of every event of the flow: the server's
 * address, a session id and the flow's Community ID. */
/* The archive's fields of the flow: the server's "ip:port" in server,
 * the Community ID in cid and the session id in sid, set in ends (those
 * that cannot be made stay NULL). */
static void flow_ends(struct flow_table *t, const struct flow *f, struct app_ends *ends,
		      char *server, size_t server_size, char cid[COMMUNITY_ID_SIZE],
		      char sid[SESSION_ID_SIZE])
{
	struct community_flow cf = {
		f->ip_version, f->addr[IM_DIR_OUT], f->addr[IM_DIR_IN],
		f->port[IM_DIR_OUT], f->port[IM_DIR_IN], IPPROTO_TCP,
	};

	packet_format_endpoint(server, server_size, f->ip_version, f->addr[IM_DIR_IN],
			       f->port[IM_DIR_IN]);
	*ends = (struct app_ends){ .server = server };
	if (community_id_v1_with(t->cid_hasher, &cf, 0, cid) < 0)
		return;
	session_id_make(sid, cid, f->first_ts);
	ends->session_id = sid;
	ends->community_id = cid;
}

static struct flow *create(struct flow_table *t, const struct packet *pkt, enum im_dir *dir)
{
	struct flow *f;
	size_t b, n = addr_len(pkt->ip_version);
	bool client_sends = sender_is_client(t, pkt);

	if (t->n_flows >= t->cfg.max_flows)
		evict_one(t);
	if (t->n_flows >= t->n_buckets && !grow(t))
		t->stats.alloc_failures++; /* keep going with longer chains */
	f = calloc(1, sizeof(*f));
	if (!f) {
		t->stats.alloc_failures++;
		return NULL;
	}
	f->id = t->next_id++;
	f->ip_version = pkt->ip_version;
	*dir = client_sends ? IM_DIR_OUT : IM_DIR_IN;
	memcpy(f->addr[IM_DIR_OUT], client_sends ? pkt->src : pkt->dst, n);
	memcpy(f->addr[IM_DIR_IN], client_sends ? pkt->dst : pkt->src, n);
	f->port[IM_DIR_OUT] = client_sends ? pkt->sport : pkt->dport;
	f->port[IM_DIR_IN] = client_sends ? pkt->dport : pkt->sport;
	f->first_ts = f->last_ts = pkt->ts;
	f->reasm = no_streams;
	f->cls = FLOW_CLASS_HALFOPEN;
	b = bucket_of(t, f->ip_version, f->addr[0], f->port[0], f->addr[1], f->port[1]);
	f->hash_next = t->buckets[b];
	t->buckets[b] = f;
	lru_push_front(t, f);
	t->n_flows++;
	t->stats.flows_created++;
	if (!(pkt->tcp_flags & TCP_FLAG_SYN))
		t->stats.flows_midstream++;
	return f;
}

/* The reassemblers and the application layer, made with the flow's first
 * data: replayed the SYNs seen so far. Returns false when out of memory
 * (counted; the next packet tries again). */
static bool open_streams(struct flow_table *t, struct flow *f)
{
	struct flow_streams *st;
	struct app_ends ends;
	char client[64], server[64], cid[COMMUNITY_ID_SIZE], sid[SESSION_ID_SIZE];
	int d;

	packet_format_endpoint(client, sizeof(client), f->ip_version, f->addr[IM_DIR_OUT],
			       f->port[IM_DIR_OUT]);
	flow_ends(t, f, &ends, server, sizeof(server), cid, sid);
	st = calloc(1, sizeof(*st) + app_flow_size(client, &ends));
	if (!st) {
		t->stats.alloc_failures++;
		return false;
	}
	for (d = 0; d < 2; d++) {
		/* the table's limits, callbacks and counters, shared by every
		 * flow, are given with each call (stream_*) */
		reasm_init(&st->reasm[d]);
		if (flow_seen(f, FLOW_SEEN_ISN(d)))
			reasm_syn(&st->reasm[d], f->isn[d]);
	}
	f->reasm = st->reasm;
	f->app = (struct app_flow *)(void *)(st + 1);
	app_flow_init(f->app, &t->app_ctx, f->id, client, &ends, f->port[IM_DIR_IN]);
	if (t->cfg.files)
		claim_for_files(t, f, st);
	return true;
}

/* Does this packet need the streams: data, a FIN, or an ack of bytes the
 * other direction sent after its SYN (which a capture may have missed)? */
static bool needs_streams(const struct flow *f, enum im_dir dir, const struct packet *pkt)
{
	enum im_dir other = dir == IM_DIR_OUT ? IM_DIR_IN : IM_DIR_OUT;

	if (pkt->payload_len || (pkt->tcp_flags & TCP_FLAG_FIN))
		return true;
	return (pkt->tcp_flags & TCP_FLAG_ACK) && !(pkt->tcp_flags & TCP_FLAG_SYN) &&
	       flow_seen(f, FLOW_SEEN_ISN(other)) && pkt->ack != f->isn[other] + 1;
}

static struct flow *get(struct flow_table *t, const struct packet *pkt, enum im_dir *dir,
			bool bare_ack_too)
{
	struct flow *f = lookup(t, pkt, dir);
	bool syn = pkt->tcp_flags & TCP_FLAG_SYN;

	t->now = pkt->ts;
	/* A new SYN on a finished connection's 4-tuple is a new connection
	 * (not a retransmission of the SYN that opened it). */
	if (f && syn && !(pkt->tcp_flags & TCP_FLAG_ACK) &&
	    (f->seen & (FLOW_SEEN_RST | FLOW_SEEN_FIN(0) | FLOW_SEEN_FIN(1))) &&
	    !(streams_of(f) ? f->reasm[*dir].started && f->reasm[*dir].next_seq == pkt->seq + 1
			 : flow_seen(f, FLOW_SEEN_ISN(*dir)) && f->isn[*dir] == pkt->seq)) {
		t->stats.flows_closed++;
		release(t, f, FLOW_END_CLOSED);
		f = NULL;
	}
	if (!f) {
		if (pkt->tcp_flags & TCP_FLAG_RST)
			return NULL;
		if (!syn && pkt->payload_len == 0 && !bare_ack_too)
			return NULL; /* a bare ACK tells nothing worth a flow */
		f = create(t, pkt, dir);
		if (!f)
			return NULL;
		f->first_ts = pkt->ts;
	}
	f->last_ts = pkt->ts;
	/* made before the caller looks at f->reasm for this packet */
	if (!streams_of(f) && needs_streams(f, *dir, pkt))
		open_streams(t, f);
	lru_touch(t, f);
	return f;
}

struct flow *flow_table_get(struct flow_table *t, const struct packet *pkt, enum im_dir *dir)
{
	return get(t, pkt, dir, false);
}

struct flow *flow_table_get_midstream(struct flow_table *t, const struct packet *pkt,
				      enum im_dir *dir)
{
	return get(t, pkt, dir, true);
}

bool flow_table_start_stream(struct flow_table *t, struct flow *f, enum im_dir dir, uint32_t seq,
			     uint64_t offset)
{
	struct flow_streams *st;

	if (!streams_of(f) && !open_streams(t, f))
		return false;
	st = streams_of(f);
	return reasm_start(&st->reasm[dir], seq, offset);
}

static size_t flow_buffered(const struct flow *f)
{
	return reasm_held_bytes(&f->reasm[0]) + reasm_held_bytes(&f->reasm[1]) +
	       (f->app ? app_flow_buffered(f->app) : 0);
}

/* The oldest flow of all classes (for the buffer and flush walks). */
static struct flow *oldest(const struct flow_table *t)
{
	struct flow *best = NULL;
	int c;

	for (c = 0; c < FLOW_CLASSES; c++)
		if (t->lru_tail[c] && (!best || t->lru_tail[c]->last_ts < best->last_ts))
			best = t->lru_tail[c];
	return best;
}

static void account(struct flow_table *t, struct flow *f)
{
	struct flow_streams *st = streams_of(f);
	size_t now;

	if (!st)
		return; /* buffers nothing yet */
	now = flow_buffered(f);
	t->stats.buffered_bytes = t->stats.buffered_bytes - st->buffered + now;
	st->buffered = now;
	if (t->stats.buffered_bytes > t->stats.buffered_peak)
		t->stats.buffered_peak = t->stats.buffered_bytes;
}

/* Over the global cap: the least recently used flows give up what they
 * buffer, oldest first, never the flow being fed (keep), until a quarter
 * of the cap is free. */
static void shed_buffers(struct flow_table *t, const struct flow *keep)
{
	size_t target = t->cfg.max_buffered_total - t->cfg.max_buffered_total / 4;
	struct flow_streams *st;
	struct flow *f, *prev;
	int c, d;

	/* in eviction order: flows without a known user give up theirs first */
	for (c = 0; c < FLOW_CLASSES; c++) {
		for (f = t->lru_tail[c]; f && t->stats.buffered_bytes > target; f = prev) {
			prev = f->lru_prev;
			st = streams_of(f);
			if (f == keep || !st || st->buffered == 0)
				continue;
			for (d = 0; d < 2; d++)
				stream_flush(t, f, st, d);
			if (f->app)
				app_flow_shed(f->app);
			t->stats.pressure_sheds++;
			account(t, f);
		}
	}
}

bool flow_table_feed(struct flow_table *t, struct flow *f, enum im_dir dir,
		     const struct packet *pkt)
{
	bool syn = pkt->tcp_flags & TCP_FLAG_SYN, fin = pkt->tcp_flags & TCP_FLAG_FIN;
	uint32_t seq = pkt->seq;

	struct flow_streams *st = streams_of(f);

	t->stats.tcp_packets++;
	t->stats.bytes += pkt->payload_len;
	if (pkt->payload_len)
		f->seen |= FLOW_SEEN_DATA;
	if (syn) {
		f->seen |= FLOW_SEEN_ISN(dir);
		f->isn[dir] = seq;
		if (st)
			reasm_syn(&st->reasm[dir], seq);
		seq++;
	}
	if (st && (pkt->tcp_flags & TCP_FLAG_ACK))
		stream_peer_ack(t, f, st, dir == IM_DIR_OUT ? IM_DIR_IN : IM_DIR_OUT, pkt->ack,
				pkt->ts);
	if (pkt->truncated) {
		/* The peer's ack will report the missing bytes as a gap. */
		t->stats.truncated_payloads++;
	} else if (st && (pkt->payload_len || fin)) {
		if (stream_segment(t, f, st, dir, seq, pkt, fin) < 0)
			t->stats.alloc_failures++;
	}
	if (fin)
		f->seen |= FLOW_SEEN_FIN(dir);
	if (pkt->tcp_flags & TCP_FLAG_RST) {
		f->seen |= FLOW_SEEN_RST;
		if (st) {
			stream_reset(t, f, st, 0);
			stream_reset(t, f, st, 1);
		}
	}
	account(t, f);
	/* data or a login moves it to a later-evicted class */
	if (f->cls != class_of(f))
		lru_touch(t, f);
	if (t->cfg.max_buffered_total && t->stats.buffered_bytes > t->cfg.max_buffered_total)
		shed_buffers(t, f);
	return flow_seen(f, FLOW_SEEN_RST) || (f->reasm[0].closed && f->reasm[1].closed);
}

void flow_table_close(struct flow_table *t, struct flow *f)
{
	t->stats.flows_closed++;
	release(t, f, FLOW_END_CLOSED);
}

void flow_table_packet(struct flow_table *t, const struct packet *pkt)
{
	enum im_dir dir = IM_DIR_OUT;
	struct flow *f = flow_table_get(t, pkt, &dir);

	if (!f) {
		t->stats.tcp_packets++;
		return;
	}
	if (flow_table_feed(t, f, dir, pkt))
		flow_table_close(t, f);
}

void flow_table_expire(struct flow_table *t, double now)
{
	struct flow *f;
	double timeout;
	int c;

	for (c = 0; c < FLOW_CLASSES; c++) {
		timeout = c == FLOW_CLASS_HALFOPEN ? t->cfg.halfopen_timeout : t->cfg.idle_timeout;
		while ((f = t->lru_tail[c]) && now - f->last_ts > timeout) {
			t->stats.flows_expired++;
			if (c == FLOW_CLASS_HALFOPEN)
				t->stats.expired_halfopen++;
			release(t, f, FLOW_END_EXPIRED);
		}
	}
}

void flow_table_flush_all(struct flow_table *t)
{
	struct flow *f;

	/* Oldest first, so events come out roughly in time order. */
	while ((f = oldest(t)))
		release(t, f, FLOW_END_FLUSHED);
}

void flow_table_forget(struct flow_table *t)
{
	flow_table_flush_all(t);
	proto_directory_free(&t->directory);
	proto_directory_init(&t->directory);
}

void flow_table_destroy(struct flow_table *t)
{
	flow_table_flush_all(t);
	free(t->buckets);
	t->buckets = NULL;
	proto_directory_free(&t->directory);
	community_hasher_free(t->cid_hasher);
	t->cid_hasher = NULL;
}
