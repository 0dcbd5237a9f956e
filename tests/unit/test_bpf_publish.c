/* The classifier's side of "a crash loses nothing", against the real BPF
 * object (loaded here without pinning) and the real kernel (needs root):
 *  - bpf_publish: the canonical key, one xlate entry per direction,
 *    base offset and live edits from a seqmap, overflow, fetch, forget;
 *  - the tc program run on crafted packets (BPF_PROG_TEST_RUN): an
 *    edited flow is steered while the daemon's socket is in the liveness
 *    map and translated from the first packet after it closed; seq, ack
 *    and SACK blocks (even and odd offsets) map exactly as seqmap maps
 *    them, across the 2^32 wrap; a retransmission of a live edit's bytes
 *    is dropped and counted; acks fold edits into the base offset as
 *    seqmap_acknowledge does; checksums stay right; a new SYN clears a
 *    dead daemon's entries; a flow the LRU forgot is still translated;
 *  - two CPUs classifying packets of the same new flow at once count it
 *    once (the decision is one compare-and-swap). */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "imwire.skel.h"
#include "imwire/marks.h"
#include "inline/bpf_publish.h"
#include "testlib.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define F_FIN 0x01
#define F_SYN 0x02
#define F_ACK 0x10
#define F_PSH 0x08

/* ---- the classifier, loaded unpinned ---------------------------------- */

struct fixture {
	struct imwire_bpf *skel;
	int prog;
	int xlate;
	int liveness;
	int flows;
	int counters;
	struct bpf_publish pub;
};

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static bool fixture_up(struct fixture *fx)
{
	struct imw_proto_conf on = { .enabled = 1 };
	struct bpf_map *m;
	uint32_t key, proto = IMW_PROTO_IRC;
	uint16_t port = 6667;

	memset(fx, 0, sizeof(*fx));
	libbpf_set_print(quiet);
	fx->skel = imwire_bpf__open();
	if (!fx->skel)
		return false;
	bpf_object__for_each_map(m, fx->skel->obj)
		bpf_map__set_pin_path(m, NULL); /* nothing of the test lands in bpffs */
	if (imwire_bpf__load(fx->skel) < 0) {
		fprintf(stderr, "  cannot load the classifier: %s (needs root and BPF)\n",
			strerror(errno));
		imwire_bpf__destroy(fx->skel);
		fx->skel = NULL;
		return false;
	}
	fx->prog = bpf_program__fd(fx->skel->progs.imwire_classify);
	fx->xlate = bpf_map__fd(fx->skel->maps.xlate);
	fx->liveness = bpf_map__fd(fx->skel->maps.liveness);
	fx->flows = bpf_map__fd(fx->skel->maps.flows);
	fx->counters = bpf_map__fd(fx->skel->maps.counters);
	for (key = 1; key < IMW_PROTO_MAX; key++)
		bpf_map_update_elem(bpf_map__fd(fx->skel->maps.protocols), &key, &on, BPF_ANY);
	bpf_map_update_elem(bpf_map__fd(fx->skel->maps.ports), &port, &proto, BPF_ANY);
	bpf_publish_use_fd(&fx->pub, fx->xlate);
	return true;
}

static void fixture_down(struct fixture *fx)
{
	if (fx->skel)
		imwire_bpf__destroy(fx->skel); /* closes xlate too */
	fx->skel = NULL;
}

static void set_proto(struct fixture *fx, bool enabled)
{
	struct imw_proto_conf c = { .enabled = enabled };
	uint32_t key = IMW_PROTO_IRC;

	bpf_map_update_elem(bpf_map__fd(fx->skel->maps.protocols), &key, &c, BPF_ANY);
}

/* A live daemon's socket in the liveness map (-1 when it cannot be put). */
static int daemon_up(struct fixture *fx)
{
	int sock = socket(AF_UNIX, SOCK_DGRAM, 0);
	uint64_t fd = (uint64_t)sock; /* the map's values are 8 bytes */
	uint32_t key = 0;

	if (sock >= 0 && bpf_map_update_elem(fx->liveness, &key, &fd, BPF_NOEXIST) < 0) {
		close(sock);
		return -1;
	}
	return sock;
}

static struct imw_counters irc_counters(struct fixture *fx)
{
	struct imw_counters sum = { 0 }, *per;
	int ncpu = libbpf_num_possible_cpus(), i;
	uint32_t key = IMW_PROTO_IRC;

	per = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*per));
	if (per && ncpu > 0 && bpf_map_lookup_elem(fx->counters, &key, per) == 0) {
		for (i = 0; i < ncpu; i++) {
			sum.fixed_up += per[i].fixed_up;
			sum.held_for_successor += per[i].held_for_successor;
			sum.folded += per[i].folded;
			sum.stale_cleared += per[i].stale_cleared;
			sum.steered += per[i].steered;
		}
	}
	free(per);
	return sum;
}

/* ---- packets ---------------------------------------------------------- */

static const uint8_t client_ip[4] = { 10, 0, 0, 1 }, server_ip[4] = { 10, 0, 0, 2 };
#define CLIENT_PORT 40000
#define SERVER_PORT 6667
#define ETH 14
#define IP 20
#define TCP_AT (ETH + IP)

struct seg {
	bool from_client;
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;
	uint16_t sport, dport; /* 0: the test flow's */
	const uint32_t *sack;  /* n_sack pairs of left, right */
	int n_sack;
	bool odd; /* one NOP before the SACK option instead of two */
	size_t len;            /* payload bytes ('x') */
};

struct frame {
	uint8_t b[2048];
	size_t len;
	uint32_t sack_at; /* offset of the first SACK block in b */
};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold16(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The TCP checksum over pseudo header and segment: 0xffff when right. */
static uint16_t tcp_sum(const struct frame *f)
{
	size_t tcp_len = f->len - TCP_AT;
	uint32_t sum = sum16(f->b + ETH + 12, 8, 0) + 6 + (uint32_t)tcp_len;

	return fold16(sum16(f->b + TCP_AT, tcp_len, sum));
}

static void build(struct frame *f, const struct seg *s)
{
	uint8_t *ip = f->b + ETH, *tcp = f->b + TCP_AT, *o;
	size_t opt_len = 0, tcp_len;
	int i;

	memset(f, 0, sizeof(*f));
	f->b[12] = 0x08; /* IPv4 */
	o = tcp + 20;
	if (s->n_sack) {
		if (!s->odd)
			o[opt_len++] = 1;
		o[opt_len++] = 1;
		o[opt_len++] = 5;
		o[opt_len++] = (uint8_t)(2 + 8 * s->n_sack);
		f->sack_at = (uint32_t)(TCP_AT + 20 + opt_len);
		for (i = 0; i < 2 * s->n_sack; i++, opt_len += 4)
			put32(o + opt_len, s->sack[i]);
		while (opt_len % 4)
			o[opt_len++] = 0; /* EOL padding */
	}
	tcp_len = 20 + opt_len + s->len;
	memset(tcp + 20 + opt_len, 'x', s->len);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((IP + tcp_len) >> 8);
	ip[3] = (uint8_t)(IP + tcp_len);
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, s->from_client ? client_ip : server_ip, 4);
	memcpy(ip + 16, s->from_client ? server_ip : client_ip, 4);
	{
		uint16_t c = (uint16_t)~fold16(sum16(ip, IP, 0));

		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
	}
	{
		uint16_t sp = s->sport ? s->sport : (s->from_client ? CLIENT_PORT : SERVER_PORT);
		uint16_t dp = s->dport ? s->dport : (s->from_client ? SERVER_PORT : CLIENT_PORT);

		tcp[0] = (uint8_t)(sp >> 8);
		tcp[1] = (uint8_t)sp;
		tcp[2] = (uint8_t)(dp >> 8);
		tcp[3] = (uint8_t)dp;
	}
	put32(tcp + 4, s->seq);
	put32(tcp + 8, s->ack);
	tcp[12] = (uint8_t)(((20 + opt_len) / 4) << 4);
	tcp[13] = s->flags;
	tcp[14] = 0xff;
	f->len = TCP_AT + tcp_len;
	{
		uint16_t c = (uint16_t)~tcp_sum(f);

		tcp[16] = (uint8_t)(c >> 8);
		tcp[17] = (uint8_t)c;
	}
}

/* Run the classifier on s: its verdict, the frame as it left, its mark. */
static int run(struct fixture *fx, const struct seg *s, struct frame *out, uint32_t *mark)
{
	struct frame in;
	struct __sk_buff ctx = { 0 }, ctx_out = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	build(&in, s);
	*out = in;
	opts.data_in = in.b;
	opts.data_size_in = (uint32_t)in.len;
	opts.data_out = out->b;
	opts.data_size_out = sizeof(out->b);
	opts.ctx_in = &ctx;
	opts.ctx_size_in = sizeof(ctx);
	opts.ctx_out = &ctx_out;
	opts.ctx_size_out = sizeof(ctx_out);
	opts.repeat = 1;
	if (bpf_prog_test_run_opts(fx->prog, &opts) < 0) {
		fprintf(stderr, "  test run: %s\n", strerror(errno));
		return -1;
	}
	out->len = opts.data_size_out;
	if (mark)
		*mark = ctx_out.mark;
	return (int)opts.retval;
}

static uint32_t out_seq(const struct frame *f)
{
	return get32(f->b + TCP_AT + 4);
}

static uint32_t out_ack(const struct frame *f)
{
	return get32(f->b + TCP_AT + 8);
}

static uint32_t out_sack(const struct frame *f, int i)
{
	return get32(f->b + f->sack_at + 4 * i);
}

static void test_flow(struct flow *f)
{
	memset(f, 0, sizeof(*f));
	f->ip_version = 4;
	memcpy(f->addr[IM_DIR_OUT], client_ip, 4);
	memcpy(f->addr[IM_DIR_IN], server_ip, 4);
	f->port[IM_DIR_OUT] = CLIENT_PORT;
	f->port[IM_DIR_IN] = SERVER_PORT;
}

/* ---- bpf_publish on its own ------------------------------------------- */

static void flow_v4(struct flow *f, const char *client, uint16_t cport, const char *server,
		    uint16_t sport)
{
	memset(f, 0, sizeof(*f));
	f->ip_version = 4;
	inet_pton(AF_INET, client, f->addr[IM_DIR_OUT]);
	inet_pton(AF_INET, server, f->addr[IM_DIR_IN]);
	f->port[IM_DIR_OUT] = cport;
	f->port[IM_DIR_IN] = sport;
}

static void test_key_is_canonical(void)
{
	static const uint8_t mapped_1[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 77, 0, 1 };
	static const uint8_t mapped_2[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 77, 0, 2 };
	struct imw_flow_key k1, k2;
	struct flow f, g;
	unsigned side;

	flow_v4(&f, "10.77.0.1", 40001, "10.77.0.2", 7778);
	bpf_publish_key(&f, &k1, &side);
	CHECK_INT_EQ(side, 0);
	CHECK_MEM_EQ(k1.addr_a, mapped_1, 16);
	CHECK_MEM_EQ(k1.addr_b, mapped_2, 16);
	CHECK_INT_EQ(k1.port_a, 40001);
	CHECK_INT_EQ(k1.port_b, 7778);
	/* the same connection seen with the roles swapped: same key */
	flow_v4(&g, "10.77.0.2", 7778, "10.77.0.1", 40001);
	bpf_publish_key(&g, &k2, &side);
	CHECK_INT_EQ(side, 1);
	CHECK_MEM_EQ(&k1, &k2, sizeof(k1));
	/* same address: the lower port is side a */
	flow_v4(&f, "127.0.0.1", 6667, "127.0.0.1", 5000);
	bpf_publish_key(&f, &k1, &side);
	CHECK_INT_EQ(side, 1);
	CHECK_INT_EQ(k1.port_a, 5000);
	/* IPv6 goes in as it is */
	memset(&f, 0, sizeof(f));
	f.ip_version = 6;
	f.addr[IM_DIR_OUT][0] = 0xfd;
	f.addr[IM_DIR_OUT][15] = 2;
	f.addr[IM_DIR_IN][0] = 0xfd;
	f.addr[IM_DIR_IN][15] = 1;
	bpf_publish_key(&f, &k1, &side);
	CHECK_INT_EQ(side, 1);
	CHECK_INT_EQ(k1.addr_a[15], 1);
	CHECK_INT_EQ(k1.addr_a[0], 0xfd);
}

/* One entry per direction, under the sender's side; edits in sequence
 * numbers; out-of-range values refused; forget drops both. */
static void test_publish_fetch_forget(void)
{
	struct bpf_publish_edit edits[2] = {
		{ .in_start = 10, .in_len = 3, .out_len = 5 },
		{ .in_start = 20, .in_len = 0, .out_len = 4, .ack_at_start = true },
	};
	struct bpf_publish_state st;
	struct imw_xlate_key k;
	struct imw_xlate v;
	struct fixture fx;
	struct flow f;
	int32_t delta[2];
	unsigned side;

	if (!fixture_up(&fx)) {
		CHECK(!"classifier loaded");
		return;
	}
	/* the server is side a here: the client's direction is side 1 */
	flow_v4(&f, "10.77.0.9", 50000, "10.77.0.2", 6667);
	CHECK_INT_EQ(bpf_publish_lookup(&fx.pub, &f, delta), 0);
	CHECK_INT_EQ(bpf_publish_flow(&fx.pub, &f, IM_DIR_OUT, 0xfffffff0u, 12, edits, 2,
				      IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_delta(&fx.pub, &f, IM_DIR_IN, -7, IMW_PROTO_IRC), 0);
	memset(&k, 0, sizeof(k));
	bpf_publish_key(&f, &k.flow, &side);
	CHECK_INT_EQ(side, 1);
	k.side = 1;
	CHECK_INT_EQ(bpf_map_lookup_elem(fx.xlate, &k, &v), 0);
	CHECK_INT_EQ(v.d.base_delta, 12);
	CHECK_INT_EQ(v.d.n_edits, 2);
	CHECK_INT_EQ(v.d.proto, IMW_PROTO_IRC);
	CHECK_INT_EQ(v.d.edits[0].in_seq, 0xfffffffau);
	CHECK_INT_EQ(v.d.edits[1].in_seq, 4); /* wrapped */
	CHECK_INT_EQ(v.d.edits[1].flags, IMW_XLATE_ACK_AT_START);
	CHECK(v.stamp_ns > 0);
	k.side = 0;
	CHECK_INT_EQ(bpf_map_lookup_elem(fx.xlate, &k, &v), 0);
	CHECK_INT_EQ(v.d.base_delta, -7);
	CHECK_INT_EQ(bpf_publish_fetch(&fx.pub, &f, IM_DIR_OUT, &st), 1);
	CHECK_INT_EQ(st.n_edits, 2);
	CHECK_INT_EQ(st.edits[0].out_len, 5);
	CHECK(!st.overflow);
	/* new data of the client's direction: 12 + 2 + 4 */
	CHECK_INT_EQ(bpf_publish_lookup(&fx.pub, &f, delta), 1);
	CHECK_INT_EQ(delta[IM_DIR_OUT], 18);
	CHECK_INT_EQ(delta[IM_DIR_IN], -7);
	/* refused: beyond 32 bits, edits out of order; the entry untouched */
	CHECK_INT_EQ(bpf_publish_delta(&fx.pub, &f, IM_DIR_OUT, (int64_t)1 << 40, IMW_PROTO_IRC),
		     -1);
	CHECK_INT_EQ(errno, ERANGE);
	edits[1].in_start = 11;
	CHECK_INT_EQ(bpf_publish_flow(&fx.pub, &f, IM_DIR_OUT, 0, 0, edits, 2, IMW_PROTO_IRC), -1);
	CHECK_INT_EQ(errno, ERANGE);
	CHECK_INT_EQ(fx.pub.errors, 2);
	CHECK_INT_EQ(bpf_publish_lookup(&fx.pub, &f, delta), 1);
	CHECK_INT_EQ(delta[IM_DIR_OUT], 18);
	CHECK_INT_EQ(bpf_publish_forget(&fx.pub, &f), 0);
	CHECK_INT_EQ(bpf_publish_lookup(&fx.pub, &f, delta), 0);
	CHECK_INT_EQ(bpf_publish_forget(&fx.pub, &f), 0); /* twice is fine */
	CHECK_INT_EQ(fx.pub.published, 2);
	fixture_down(&fx);
}

/* A seqmap publishes its base offset and its live edits; one that never
 * changed the stream publishes nothing; past IMW_XLATE_EDITS edits the
 * list is cut and marked. */
static void test_seqmap_publish(void)
{
	struct bpf_publish_state st;
	struct fixture fx;
	struct seqmap m;
	struct flow f;
	int32_t delta[2];
	int i;

	if (!fixture_up(&fx)) {
		CHECK(!"classifier loaded");
		return;
	}
	test_flow(&f);
	seqmap_init(&m, 1000);
	CHECK_INT_EQ(bpf_publish_seqmap(&fx.pub, &f, IM_DIR_OUT, &m, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_lookup(&fx.pub, &f, delta), 0); /* identity: nothing */
	CHECK_INT_EQ(seqmap_add_edit(&m, 10, 3, (const uint8_t *)"tiger", 5), 0);
	CHECK_INT_EQ(bpf_publish_seqmap(&fx.pub, &f, IM_DIR_OUT, &m, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_fetch(&fx.pub, &f, IM_DIR_OUT, &st), 1);
	CHECK_INT_EQ(st.n_edits, 1);
	CHECK_INT_EQ(st.edits[0].in_seq, 1010);
	CHECK_INT_EQ(st.base_delta, 0);
	seqmap_acknowledge(&m, 100);
	CHECK_INT_EQ(bpf_publish_seqmap(&fx.pub, &f, IM_DIR_OUT, &m, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_fetch(&fx.pub, &f, IM_DIR_OUT, &st), 1);
	CHECK_INT_EQ(st.n_edits, 0);
	CHECK_INT_EQ(st.base_delta, 2);
	for (i = 0; i < IMW_XLATE_EDITS + 3; i++)
		CHECK_INT_EQ(seqmap_add_edit(&m, 200 + 10 * (uint64_t)i, 1,
					     (const uint8_t *)"ab", 2), 0);
	CHECK_INT_EQ(bpf_publish_seqmap(&fx.pub, &f, IM_DIR_OUT, &m, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_fetch(&fx.pub, &f, IM_DIR_OUT, &st), 1);
	CHECK_INT_EQ(st.n_edits, IMW_XLATE_EDITS);
	CHECK(st.overflow);
	CHECK_INT_EQ(st.limit_seq, 1000 + 200 + 10 * IMW_XLATE_EDITS);
	CHECK_INT_EQ(fx.pub.overflowed, 1);
	seqmap_free(&m);
	fixture_down(&fx);
}

/* Without a classifier every call is a harmless no-op. */
static void test_no_classifier(void)
{
	struct bpf_publish p;
	struct bpf_publish_state st;
	struct flow f;
	int32_t delta[2];

	CHECK_INT_EQ(bpf_publish_open(&p, "/nonexistent/imwire"), -1);
	flow_v4(&f, "10.0.0.1", 40000, "10.0.0.2", 6667);
	CHECK_INT_EQ(bpf_publish_delta(&p, &f, IM_DIR_OUT, 5, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_lookup(&p, &f, delta), 0);
	CHECK_INT_EQ(bpf_publish_fetch(&p, &f, IM_DIR_OUT, &st), 0);
	CHECK_INT_EQ(bpf_publish_forget(&p, &f), 0);
	bpf_publish_close(&p);
	CHECK_INT_EQ(bpf_publish_delta(NULL, &f, IM_DIR_OUT, 5, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_lookup(NULL, &f, delta), 0);
	CHECK_INT_EQ(bpf_publish_forget(NULL, &f), 0);
}

/* ---- the classifier on packets ---------------------------------------- */

/* An unedited IRC flow is steered whether or not a daemon lives. */
static void test_unedited_flow_is_steered(void)
{
	struct seg s = { .from_client = true, .seq = 1, .ack = 1, .flags = F_ACK | F_PSH, .len = 10 };
	struct fixture fx;
	struct frame out;
	uint32_t mark = 0;

	if (!fixture_up(&fx)) {
		CHECK(!"classifier loaded");
		return;
	}
	CHECK_INT_EQ(run(&fx, &s, &out, &mark), TC_ACT_OK);
	CHECK(mark & IMW_MARK_STEER);
	CHECK_INT_EQ(imw_mark_proto(mark), IMW_PROTO_IRC);
	CHECK_INT_EQ(out_seq(&out), 1);
	CHECK_INT_EQ(tcp_sum(&out), 0xffff);
	fixture_down(&fx);
}

/* Liveness: an edited flow goes to the daemon while its socket is in the
 * map, and is translated by the very next packet after the socket closed
 * (as at exit, crash or kill -9); with the protocol off it is translated
 * even while the daemon lives. */
static void test_liveness(void)
{
	struct seg s = { .from_client = true, .seq = 5000, .ack = 1, .flags = F_ACK | F_PSH, .len = 10 };
	struct fixture fx;
	struct frame out;
	struct flow f;
	uint32_t mark = 0;
	int sock;

	if (!fixture_up(&fx)) {
		CHECK(!"classifier loaded");
		return;
	}
	test_flow(&f);
	CHECK_INT_EQ(bpf_publish_delta(&fx.pub, &f, IM_DIR_OUT, 7, IMW_PROTO_IRC), 0);
	sock = daemon_up(&fx);
	CHECK(sock >= 0);
	CHECK_INT_EQ(run(&fx, &s, &out, &mark), TC_ACT_OK);
	CHECK(mark & IMW_MARK_STEER);
	CHECK_INT_EQ(out_seq(&out), 5000); /* the daemon translates */
	close(sock);
	CHECK_INT_EQ(run(&fx, &s, &out, &mark), TC_ACT_OK);
	CHECK(!(mark & IMW_MARK_STEER));
	CHECK_INT_EQ(out_seq(&out), 5007);
	CHECK_INT_EQ(tcp_sum(&out), 0xffff);
	/* a second daemon can hold it again; with the protocol off the
	 * classifier translates anyway (the daemon no longer sees it) */
	sock = daemon_up(&fx);
	CHECK(sock >= 0);
	set_proto(&fx, false);
	CHECK_INT_EQ(run(&fx, &s, &out, &mark), TC_ACT_OK);
	CHECK(!(mark & IMW_MARK_STEER));
	CHECK_INT_EQ(out_seq(&out), 5007);
	set_proto(&fx, true);
	CHECK_INT_EQ(run(&fx, &s, &out, &mark), TC_ACT_OK);
	CHECK(mark & IMW_MARK_STEER);
	CHECK_INT_EQ(irc_counters(&fx).fixed_up, 2);
	if (sock >= 0)
		close(sock);
	fixture_down(&fx);
}

/* The client's direction: base near 2^32 (offsets wrap), a replacement,
 * an insertion, a deletion and a shrinking replacement, all live. */
#define CB 0xffffff00u
static void client_map(struct seqmap *m)
{
	seqmap_init(m, CB);
	seqmap_add_edit(m, 100, 3, (const uint8_t *)"tiger", 5);
	seqmap_add_edit(m, 300, 0, (const uint8_t *)"inserted", 7);
	seqmap_add_edit(m, 400, 10, NULL, 0);
	seqmap_add_edit(m, 500, 20, (const uint8_t *)"four", 4);
}

/* seq of the client's segments; acks and SACK blocks of the server's,
 * against seqmap's own answers. */
static void test_translation_matches_seqmap(void)
{
	static const uint64_t data_at[][2] = { /* offset, length: touching no edit */
		{ 0, 100 }, { 103, 50 }, { 150, 149 }, { 300, 100 }, { 410, 90 }, { 520, 1000 },
	};
	static const uint64_t acks[] = { 0, 99, 100, 101, 102, 104, 105, 200, 302, 303, 305,
					 309, 310, 395, 400, 401, 490, 495, 496, 497, 499, 500, 1000 };
	static const uint64_t sacks[][2] = { { 101, 104 }, { 150, 305 }, { 303, 400 },
					     { 495, 499 }, { 102, 600 }, { 700, 800 } };
	struct fixture fx;
	struct frame out;
	struct seqmap m;
	struct flow f;
	uint32_t mark, blocks[8];
	size_t i;
	int b;

	if (!fixture_up(&fx)) {
		CHECK(!"classifier loaded");
		return;
	}
	test_flow(&f);
	client_map(&m);
	CHECK_INT_EQ(bpf_publish_seqmap(&fx.pub, &f, IM_DIR_OUT, &m, IMW_PROTO_IRC), 0);
	for (i = 0; i < sizeof(data_at) / sizeof(data_at[0]); i++) {
		struct seg s = { .from_client = true, .seq = seqmap_seq_of(&m, data_at[i][0]),
				 .ack = 77, .flags = F_ACK | F_PSH, .len = data_at[i][1] };

		CHECK_INT_EQ(run(&fx, &s, &out, &mark), TC_ACT_OK);
		CHECK_INT_EQ(out_seq(&out), seqmap_seq_of(&m, seqmap_out_of_in(&m, data_at[i][0])));
		CHECK_INT_EQ(out_ack(&out), 77); /* the server's direction is not edited */
		CHECK_INT_EQ(tcp_sum(&out), 0xffff);
	}
	/* SACK blocks, two packets of up to four blocks, even and odd
	 * offsets; the ack (0) folds nothing */
	for (b = 0; b < 2; b++) {
		struct seg s = { .from_client = false, .seq = 9, .ack = CB, .flags = F_ACK,
				 .sack = blocks, .n_sack = b ? 2 : 4, .odd = b == 1 };
		int n;

		for (n = 0; n < s.n_sack; n++) {
			blocks[2 * n] = seqmap_seq_of(&m, sacks[2 * b + n][0]);
			blocks[2 * n + 1] = seqmap_seq_of(&m, sacks[2 * b + n][1]);
		}
		CHECK_INT_EQ(run(&fx, &s, &out, &mark), TC_ACT_OK);
		for (n = 0; n < s.n_sack; n++) {
			CHECK_INT_EQ(out_sack(&out, 2 * n),
				     seqmap_seq_of(&m, seqmap_in_of_out_left(&m, sacks[2 * b + n][0])));
			CHECK_INT_EQ(out_sack(&out, 2 * n + 1),
				     seqmap_seq_of(&m, seqmap_in_of_out_right(&m, sacks[2 * b + n][1])));
		}
		CHECK_INT_EQ(tcp_sum(&out), 0xffff);
	}
	/* acks, rising: each maps as seqmap_in_of_out, and folds the edits
	 * it covers into the base offset exactly as seqmap_acknowledge */
	for (i = 0; i < sizeof(acks) / sizeof(acks[0]); i++) {
		struct seg s = { .from_client = false, .seq = 9, .ack = seqmap_seq_of(&m, acks[i]),
				 .flags = F_ACK };
		struct bpf_publish_state st;

		CHECK_INT_EQ(run(&fx, &s, &out, &mark), TC_ACT_OK);
		CHECK_INT_EQ(out_ack(&out), seqmap_seq_of(&m, seqmap_in_of_out(&m, acks[i])));
		CHECK_INT_EQ(tcp_sum(&out), 0xffff);
		seqmap_acknowledge(&m, acks[i]);
		CHECK_INT_EQ(bpf_publish_fetch(&fx.pub, &f, IM_DIR_OUT, &st), 1);
		CHECK_INT_EQ(st.n_edits, m.n_edits);
		CHECK_INT_EQ(st.base_delta, m.base_delta);
	}
	CHECK_INT_EQ(m.n_edits, 0);
	CHECK_INT_EQ(irc_counters(&fx).folded, 4);
	/* after the folds, new data still lands where seqmap puts it */
	{
		struct seg s = { .from_client = true, .seq = seqmap_seq_of(&m, 2000), .ack = 77,
				 .flags = F_ACK | F_PSH, .len = 10 };

		CHECK_INT_EQ(run(&fx, &s, &out, &mark), TC_ACT_OK);
		CHECK_INT_EQ(out_seq(&out), seqmap_seq_of(&m, 2000 + 2 + 7 - 10 - 16));
	}
	seqmap_free(&m);
	fixture_down(&fx);
}

/* A retransmission that needs a live edit's bytes cannot be rebuilt
 * here: dropped and counted, whether it overlaps a replaced range or
 * would carry an insertion (one at p rides on the segment (x, p]). */
static void test_retransmission_of_live_edit_held(void)
{
	static const uint64_t held[][2] = { { 95, 10 }, { 100, 3 }, { 102, 1 }, { 290, 10 },
					    { 299, 2 }, { 405, 1 }, { 390, 20 }, { 0, 1000 } };
	static const uint64_t passed[][2] = { { 90, 10 }, { 103, 5 }, { 300, 5 }, { 410, 5 } };
	struct fixture fx;
	struct frame out;
	struct seqmap m;
	struct flow f;
	uint32_t mark;
	size_t i;

	if (!fixture_up(&fx)) {
		CHECK(!"classifier loaded");
		return;
	}
	test_flow(&f);
	client_map(&m);
	CHECK_INT_EQ(bpf_publish_seqmap(&fx.pub, &f, IM_DIR_OUT, &m, IMW_PROTO_IRC), 0);
	for (i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
		struct seg s = { .from_client = true, .seq = seqmap_seq_of(&m, held[i][0]),
				 .ack = 1, .flags = F_ACK | F_PSH, .len = held[i][1] };

		CHECK_INT_EQ(run(&fx, &s, &out, &mark), TC_ACT_SHOT);
	}
	for (i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		struct seg s = { .from_client = true, .seq = seqmap_seq_of(&m, passed[i][0]),
				 .ack = 1, .flags = F_ACK | F_PSH, .len = passed[i][1] };

		CHECK_INT_EQ(run(&fx, &s, &out, &mark), TC_ACT_OK);
	}
	CHECK_INT_EQ(irc_counters(&fx).held_for_successor, sizeof(held) / sizeof(held[0]));
	/* once the receiver acknowledged the first edit, its bytes are no
	 * longer needed: a late duplicate passes translated */
	{
		struct seg ack = { .from_client = false, .seq = 9,
				   .ack = seqmap_seq_of(&m, seqmap_out_of_in(&m, 150)), .flags = F_ACK };
		struct seg dup = { .from_client = true, .seq = seqmap_seq_of(&m, 100), .ack = 1,
				   .flags = F_ACK | F_PSH, .len = 3 };

		CHECK_INT_EQ(run(&fx, &ack, &out, &mark), TC_ACT_OK);
		CHECK_INT_EQ(run(&fx, &dup, &out, &mark), TC_ACT_OK);
		seqmap_acknowledge(&m, seqmap_out_of_in(&m, 150));
		CHECK_INT_EQ(out_seq(&out), seqmap_seq_of(&m, seqmap_out_of_in(&m, 100)));
	}
	seqmap_free(&m);
	fixture_down(&fx);
}

/* More live edits than the list holds: the rest is only the successor's,
 * acks are not claimed past what the list vouches for. */
static void test_overflow_holds_the_rest(void)
{
	struct fixture fx;
	struct frame out;
	struct seqmap m;
	struct flow f;
	uint32_t mark, limit;
	int i;

	if (!fixture_up(&fx)) {
		CHECK(!"classifier loaded");
		return;
	}
	test_flow(&f);
	seqmap_init(&m, 5000);
	for (i = 0; i < IMW_XLATE_EDITS + 2; i++)
		seqmap_add_edit(&m, 100 + 10 * (uint64_t)i, 2, (const uint8_t *)"abc", 3);
	CHECK_INT_EQ(bpf_publish_seqmap(&fx.pub, &f, IM_DIR_OUT, &m, IMW_PROTO_IRC), 0);
	limit = 5000 + 100 + 10 * IMW_XLATE_EDITS;
	{
		struct seg before = { .from_client = true, .seq = 5000, .ack = 1,
				      .flags = F_ACK | F_PSH, .len = 100 };
		struct seg past = { .from_client = true, .seq = limit + 2, .ack = 1,
				    .flags = F_ACK | F_PSH, .len = 5 };
		struct seg upto = { .from_client = true, .seq = limit - 5, .ack = 1,
				    .flags = F_ACK | F_PSH, .len = 5 };
		struct seg bare = { .from_client = true, .seq = limit, .ack = 1, .flags = F_ACK };
		struct seg far_ack = { .from_client = false, .seq = 9, .ack = limit + 1000,
				       .flags = F_ACK };

		CHECK_INT_EQ(run(&fx, &before, &out, &mark), TC_ACT_OK);
		CHECK_INT_EQ(out_seq(&out), 5000);
		CHECK_INT_EQ(run(&fx, &past, &out, &mark), TC_ACT_SHOT);
		CHECK_INT_EQ(run(&fx, &upto, &out, &mark), TC_ACT_SHOT);
		CHECK_INT_EQ(run(&fx, &bare, &out, &mark), TC_ACT_OK);
		CHECK_INT_EQ(out_seq(&out), limit + IMW_XLATE_EDITS);
		CHECK_INT_EQ(run(&fx, &far_ack, &out, &mark), TC_ACT_OK);
		CHECK_INT_EQ(out_ack(&out), limit);
	}
	seqmap_free(&m);
	fixture_down(&fx);
}

/* A dead daemon's entries of a closed connection must not touch a new
 * connection on the same addresses: its SYN clears them. */
static void test_new_syn_clears_stale_entries(void)
{
	struct seg syn = { .from_client = true, .seq = 123, .flags = F_SYN };
	struct bpf_publish_state st;
	struct fixture fx;
	struct frame out;
	struct flow f;
	uint32_t mark;

	if (!fixture_up(&fx)) {
		CHECK(!"classifier loaded");
		return;
	}
	test_flow(&f);
	CHECK_INT_EQ(bpf_publish_delta(&fx.pub, &f, IM_DIR_OUT, 5, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_delta(&fx.pub, &f, IM_DIR_IN, 9, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(run(&fx, &syn, &out, &mark), TC_ACT_OK);
	CHECK_INT_EQ(out_seq(&out), 123);
	CHECK(mark & IMW_MARK_STEER);
	CHECK_INT_EQ(bpf_publish_fetch(&fx.pub, &f, IM_DIR_OUT, &st), 0);
	CHECK_INT_EQ(bpf_publish_fetch(&fx.pub, &f, IM_DIR_IN, &st), 0);
	CHECK_INT_EQ(irc_counters(&fx).stale_cleared, 2);
	fixture_down(&fx);
}

/* The flows LRU forgot an edited flow on a port no rule knows (a flood
 * pushed it out): its xlate entry still says IRC, and it is translated. */
static void test_lru_loss_keeps_translation(void)
{
	struct seg s = { .from_client = true, .seq = 700, .ack = 1, .flags = F_ACK | F_PSH,
			 .dport = 7777, .len = 4 };
	struct imw_flow_key key;
	struct fixture fx;
	struct frame out;
	struct flow f;
	uint32_t mark;
	unsigned side;

	if (!fixture_up(&fx)) {
		CHECK(!"classifier loaded");
		return;
	}
	test_flow(&f);
	f.port[IM_DIR_IN] = 7777;
	CHECK_INT_EQ(bpf_publish_delta(&fx.pub, &f, IM_DIR_OUT, 11, IMW_PROTO_IRC), 0);
	bpf_publish_key(&f, &key, &side);
	CHECK_INT_EQ(run(&fx, &s, &out, &mark), TC_ACT_OK);
	CHECK_INT_EQ(out_seq(&out), 711);
	CHECK_INT_EQ(bpf_map_delete_elem(fx.flows, &key), 0); /* evicted */
	CHECK_INT_EQ(run(&fx, &s, &out, &mark), TC_ACT_OK);
	CHECK_INT_EQ(out_seq(&out), 711);
	fixture_down(&fx);
}

/* Does a segment carrying input [x, x + len) need a live edit's bytes
 * (seqmap_build_output's rules: a replaced range it overlaps, or an
 * insertion at p with x < p <= x + len)? */
static bool needs_edit(const struct seqmap *m, uint64_t x, uint64_t len)
{
	size_t i;

	for (i = 0; i < m->n_edits; i++) {
		const struct seqmap_edit *e = &m->edits[i];

		if (e->in_len ? x < e->in_start + e->in_len && x + len > e->in_start
			      : x < e->in_start && e->in_start <= x + len)
			return true;
	}
	return false;
}

static unsigned rnd(unsigned *state, unsigned n)
{
	*state = *state * 1103515245u + 12345u;
	return (*state >> 8) % n;
}

/* Random maps (replacements, deletions, insertions of both kinds, up to
 * the 16 the list holds) at random bases, near the 2^32 wrap among them:
 * every segment, ack and SACK edge the classifier maps as seqmap does. */
static void test_random_maps_match_seqmap(void)
{
	static const char bytes[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	unsigned state = 16, round, q, mismatches = 0;
	struct fixture fx;
	struct frame out;
	struct flow f;
	uint32_t mark;

	if (!fixture_up(&fx)) {
		CHECK(!"classifier loaded");
		return;
	}
	test_flow(&f);
	for (round = 0; round < 40; round++) {
		uint32_t base = round % 4 == 0 ? 0xffffffffu - rnd(&state, 400) : state * 2654435761u;
		uint64_t pos = rnd(&state, 20), out_max;
		struct seqmap m;
		int i, n = 1 + (int)rnd(&state, IMW_XLATE_EDITS);

		seqmap_init(&m, base);
		for (i = 0; i < n; i++) {
			uint64_t in_len = rnd(&state, 3) ? 1 + rnd(&state, 20) : 0;
			size_t out_len = rnd(&state, 4) ? 1 + rnd(&state, 30) : (in_len ? 0 : 5);

			if (in_len == 0 && rnd(&state, 2))
				seqmap_add_own_insertion(&m, pos, (const uint8_t *)bytes, out_len);
			else
				seqmap_add_edit(&m, pos, in_len, (const uint8_t *)bytes, out_len);
			pos += in_len + rnd(&state, 40);
		}
		out_max = seqmap_out_of_in(&m, pos + 50);
		for (q = 0; q < 30; q++) {
			uint64_t x = rnd(&state, (unsigned)pos + 50), len = 1 + rnd(&state, 60);
			struct seg s = { .from_client = true, .seq = seqmap_seq_of(&m, x), .ack = 1,
					 .flags = F_ACK | F_PSH, .len = len };
			int rc;

			CHECK_INT_EQ(bpf_publish_seqmap(&fx.pub, &f, IM_DIR_OUT, &m, IMW_PROTO_IRC), 0);
			rc = run(&fx, &s, &out, &mark);
			if (needs_edit(&m, x, len) ? rc != TC_ACT_SHOT
						   : rc != TC_ACT_OK || out_seq(&out) !=
							seqmap_seq_of(&m, seqmap_out_of_in(&m, x)))
				mismatches++;
		}
		for (q = 0; q < 30; q++) {
			/* SACK blocks above the ack, as receivers send them (what the
			 * ack folds is then mapped alike with or without the fold) */
			uint64_t a = rnd(&state, (unsigned)out_max + 1), k = 0;
			uint64_t l = a + 1 + rnd(&state, 80), r = l + 1 + rnd(&state, 80);
			uint32_t blocks[2] = { seqmap_seq_of(&m, l), seqmap_seq_of(&m, r) };
			struct seg ack = { .from_client = false, .seq = 9, .ack = seqmap_seq_of(&m, a),
					   .flags = F_ACK, .sack = blocks, .n_sack = 1, .odd = q & 1 };
			struct bpf_publish_state st;

			CHECK_INT_EQ(bpf_publish_seqmap(&fx.pub, &f, IM_DIR_OUT, &m, IMW_PROTO_IRC), 0);
			if (run(&fx, &ack, &out, &mark) != TC_ACT_OK ||
			    out_ack(&out) != seqmap_seq_of(&m, seqmap_in_of_out(&m, a)) ||
			    out_sack(&out, 0) != seqmap_seq_of(&m, seqmap_in_of_out_left(&m, l)) ||
			    out_sack(&out, 1) != seqmap_seq_of(&m, seqmap_in_of_out_right(&m, r)) ||
			    tcp_sum(&out) != 0xffff)
				mismatches++;
			/* the fold took the edits seqmap_acknowledge would */
			while (k < m.n_edits && m.edits[k].out_start + m.edits[k].out_len <= a &&
			       m.edits[k].out_start < a)
				k++;
			if (bpf_publish_fetch(&fx.pub, &f, IM_DIR_OUT, &st) != 1 ||
			    st.n_edits != m.n_edits - k)
				mismatches++;
		}
		seqmap_free(&m);
	}
	CHECK_INT_EQ(mismatches, 0);
	fixture_down(&fx);
}

/* The stamp says when the classifier last saw the flow (even steering
 * it to a live daemon); the reaper drops only what has been idle longer
 * than it is told. */
static void test_stamp_and_reap(void)
{
	struct seg s = { .from_client = true, .seq = 5000, .ack = 1, .flags = F_ACK | F_PSH, .len = 4 };
	struct imw_xlate_key k;
	struct imw_xlate v;
	struct fixture fx;
	struct frame out;
	struct flow f, g;
	uint32_t mark;
	unsigned side;
	int sock;

	if (!fixture_up(&fx)) {
		CHECK(!"classifier loaded");
		return;
	}
	test_flow(&f);
	test_flow(&g);
	g.port[IM_DIR_OUT] = 40002;
	CHECK_INT_EQ(bpf_publish_delta(&fx.pub, &f, IM_DIR_OUT, 3, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_delta(&fx.pub, &g, IM_DIR_OUT, 3, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_delta(&fx.pub, &g, IM_DIR_IN, 4, IMW_PROTO_IRC), 0);
	/* both made idle long ago, then f's packet crosses a live daemon */
	memset(&k, 0, sizeof(k));
	bpf_publish_key(&f, &k.flow, &side);
	k.side = side;
	CHECK_INT_EQ(bpf_map_lookup_elem(fx.xlate, &k, &v), 0);
	v.stamp_ns = 1;
	CHECK_INT_EQ(bpf_map_update_elem(fx.xlate, &k, &v, BPF_EXIST), 0);
	bpf_publish_key(&g, &k.flow, &side);
	for (k.side = 0; k.side < 2; k.side++) {
		CHECK_INT_EQ(bpf_map_lookup_elem(fx.xlate, &k, &v), 0);
		v.stamp_ns = 1;
		CHECK_INT_EQ(bpf_map_update_elem(fx.xlate, &k, &v, BPF_EXIST), 0);
	}
	sock = daemon_up(&fx);
	CHECK_INT_EQ(run(&fx, &s, &out, &mark), TC_ACT_OK);
	CHECK(mark & IMW_MARK_STEER);
	close(sock);
	CHECK_INT_EQ(bpf_publish_reap(&fx.pub, 1000000000ull), 2); /* g's two directions */
	CHECK_INT_EQ(fx.pub.reaped, 2);
	CHECK_INT_EQ(bpf_publish_lookup(&fx.pub, &f, (int32_t[2]){ 0, 0 }), 1);
	CHECK_INT_EQ(bpf_publish_lookup(&fx.pub, &g, (int32_t[2]){ 0, 0 }), 0);
	CHECK_INT_EQ(bpf_publish_reap(&fx.pub, 1000000000ull), 0);
	fixture_down(&fx);
}

/* ---- two CPUs, one flow ------------------------------------------------ */

#define RACE_FLOWS 2000
#define RACE_REPEAT 3 /* per side: 6 data packets, the flow is decided on the 4th */

struct racer {
	struct fixture *fx;
	bool from_client;
	atomic_uint *started; /* flows this side began; shared by both sides */
	int cpu;
	int failures;
};

/* Each flow's data packets from both ends at once, one side per CPU: the
 * two start each flow together, so that the packet that decides it meets
 * the other CPU's packets of the same flow. */
static void *race_side(void *arg)
{
	struct racer *r = arg;
	struct frame in, out;
	cpu_set_t cpus;
	unsigned i, spins;

	CPU_ZERO(&cpus);
	CPU_SET(r->cpu, &cpus);
	pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus); /* best effort */
	for (i = 0; i < RACE_FLOWS; i++) {
		struct seg s = { .from_client = r->from_client, .seq = 1, .ack = 1,
				 .flags = F_ACK | F_PSH, .len = 64 };
		LIBBPF_OPTS(bpf_test_run_opts, opts);

		/* not IRC's port: 'x' bytes match no signature */
		s.sport = (uint16_t)(r->from_client ? 20000 + i : 8080);
		s.dport = (uint16_t)(r->from_client ? 8080 : 20000 + i);
		build(&in, &s);
		opts.data_in = in.b;
		opts.data_size_in = (uint32_t)in.len;
		opts.data_out = out.b;
		opts.data_size_out = sizeof(out.b);
		opts.repeat = RACE_REPEAT;
		atomic_fetch_add(&r->started[r->from_client], 1);
		for (spins = 0; atomic_load(&r->started[!r->from_client]) < i + 1; spins++)
			if (spins > 1000)
				sched_yield(); /* the other side is not running */
		if (bpf_prog_test_run_opts(r->fx->prog, &opts) < 0 || opts.retval != TC_ACT_OK)
			r->failures++;
	}
	return NULL;
}

static uint64_t other_flows(struct fixture *fx)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	uint32_t key = IMW_PROTO_NONE;
	struct imw_counters *per;
	uint64_t n = 0;

	per = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*per));
	if (per && ncpu > 0 && bpf_map_lookup_elem(fx->counters, &key, per) == 0)
		for (i = 0; i < ncpu; i++)
			n += per[i].flows;
	free(per);
	return n;
}

/* Packets of one flow meet on two CPUs (its two directions, or a
 * sender's segments from process and softirq context): the flow is
 * decided, and counted, once. With plain stores both CPUs could take it
 * past the packets it is looked at, and the bulk HTTP flow of
 * bpf_classifier.sh was then counted twice now and then. */
static void test_two_cpus_count_a_flow_once(void)
{
	atomic_uint started[2] = { 0, 0 };
	struct racer side[2];
	pthread_t th[2];
	struct fixture fx;
	int i, ok = 0;

	if (!fixture_up(&fx)) {
		CHECK(!"classifier loaded");
		return;
	}
	for (i = 0; i < 2; i++) {
		side[i] = (struct racer){ &fx, i == 1, started, i, 0 };
		if (pthread_create(&th[i], NULL, race_side, &side[i]) == 0)
			ok++;
	}
	CHECK_INT_EQ(ok, 2);
	for (i = 0; i < ok; i++)
		pthread_join(th[i], NULL);
	CHECK_INT_EQ(side[0].failures + side[1].failures, 0);
	if (ok == 2)
		CHECK_INT_EQ(other_flows(&fx), RACE_FLOWS);
	fixture_down(&fx);
}

int main(void)
{
	RUN_TEST(test_key_is_canonical);
	RUN_TEST(test_publish_fetch_forget);
	RUN_TEST(test_seqmap_publish);
	RUN_TEST(test_no_classifier);
	RUN_TEST(test_unedited_flow_is_steered);
	RUN_TEST(test_liveness);
	RUN_TEST(test_translation_matches_seqmap);
	RUN_TEST(test_retransmission_of_live_edit_held);
	RUN_TEST(test_overflow_holds_the_rest);
	RUN_TEST(test_new_syn_clears_stale_entries);
	RUN_TEST(test_lru_loss_keeps_translation);
	RUN_TEST(test_random_maps_match_seqmap);
	RUN_TEST(test_stamp_and_reap);
	RUN_TEST(test_two_cpus_count_a_flow_once);
	TEST_MAIN_END();
}
