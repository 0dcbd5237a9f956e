/* The flow table under floods: a flow that never carried data costs no
 * reassembly or application state; past max_flows the victim is the least
 * recently used flow of the first non-empty class (never carried data,
 * then no known user, then IM sessions with one), and evicting such a
 * session is reported (the first, then at most once per
 * FLOW_EVICT_LOG_SECONDS, with how many went unreported); half-open flows
 * expire after halfopen_timeout, the others after idle_timeout. */
#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"
#include "testlib.h"

static size_t events;

static void count_event(void *arg, const struct im_event *ev)
{
	(void)arg;
	(void)ev;
	events++;
}

static void packet_of(struct packet *p, unsigned n, bool from_client, uint8_t flags, uint32_t seq,
		      uint32_t ack, const char *payload, double ts)
{
	uint8_t client[4] = { 10, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	uint8_t server[4] = { 192, 0, 2, 1 };

	memset(p, 0, sizeof(*p));
	p->ts = ts;
	p->ip_version = 4;
	memcpy(p->src, from_client ? client : server, 4);
	memcpy(p->dst, from_client ? server : client, 4);
	p->sport = from_client ? (uint16_t)(1024 + n % 60000) : 6667;
	p->dport = from_client ? 6667 : (uint16_t)(1024 + n % 60000);
	p->seq = seq;
	p->ack = ack;
	p->tcp_flags = flags;
	p->payload = (const uint8_t *)payload;
	p->payload_len = strlen(payload);
}

static void send_pkt(struct flow_table *t, unsigned n, bool from_client, uint8_t flags,
		     uint32_t seq, uint32_t ack, const char *payload, double ts)
{
	struct packet p;

	packet_of(&p, n, from_client, flags, seq, ack, payload, ts);
	flow_table_packet(t, &p);
}

static struct flow *find(struct flow_table *t, unsigned n)
{
	struct packet p;
	enum im_dir dir;
	size_t b;
	struct flow *f;

	packet_of(&p, n, true, TCP_FLAG_ACK, 0, 0, "", 0);
	for (b = 0; b < t->n_buckets; b++)
		for (f = t->buckets[b]; f; f = f->hash_next)
			if (memcmp(f->addr[IM_DIR_OUT], p.src, 4) == 0 &&
			    f->port[IM_DIR_OUT] == p.sport)
				return f;
	(void)dir;
	return NULL;
}

static const char nick[] = "NICK someone\r\nUSER someone 0 * :Some One\r\n";

/* n: handshake, then NICK/USER: an IRC session whose user is known. */
static void session(struct flow_table *t, unsigned n, double ts)
{
	send_pkt(t, n, true, TCP_FLAG_SYN, 999, 0, "", ts);
	send_pkt(t, n, false, TCP_FLAG_SYN | TCP_FLAG_ACK, 4999, 1000, "", ts);
	send_pkt(t, n, true, TCP_FLAG_ACK | TCP_FLAG_PSH, 1000, 5000, nick, ts);
}

/* n: a connection that carries bytes of no known protocol. */
static void anonymous(struct flow_table *t, unsigned n, double ts)
{
	send_pkt(t, n, true, TCP_FLAG_SYN, 99, 0, "", ts);
	send_pkt(t, n, true, TCP_FLAG_ACK | TCP_FLAG_PSH, 100, 1, "\x01\x02\x03", ts);
}

static void syn_only(struct flow_table *t, unsigned n, double ts)
{
	send_pkt(t, n, true, TCP_FLAG_SYN, 7, 0, "", ts);
}

static void test_halfopen_flow_is_small(void)
{
	struct flow_config cfg;
	struct flow_table t;
	struct flow *f;

	flow_config_defaults(&cfg);
	CHECK_INT_EQ(flow_table_init(&t, &cfg, count_event, NULL), 0);
	syn_only(&t, 1, 1.0);
	send_pkt(&t, 1, false, TCP_FLAG_SYN | TCP_FLAG_ACK, 4999, 8, "", 1.0);
	send_pkt(&t, 1, true, TCP_FLAG_ACK, 8, 5000, "", 1.0); /* handshake done */
	f = find(&t, 1);
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(f->app == NULL);
	CHECK_INT_EQ(f->cls, FLOW_CLASS_HALFOPEN);
	CHECK(!f->reasm[0].started); /* readers see a pair that never started */
	/* the first data makes them, with the SYNs replayed: data at ISN + 1
	 * is stream offset 0 and decodes */
	send_pkt(&t, 1, true, TCP_FLAG_ACK | TCP_FLAG_PSH, 8, 5000, nick, 1.0);
	CHECK(f->app != NULL);
	CHECK(f->reasm[IM_DIR_OUT].started);
	CHECK_INT_EQ(f->reasm[IM_DIR_OUT].offset, sizeof(nick) - 1);
	CHECK_INT_EQ(f->reasm[IM_DIR_IN].offset, 0);
	CHECK(f->reasm[IM_DIR_IN].started);
	CHECK_INT_EQ(f->cls, FLOW_CLASS_IDENTIFIED);
	CHECK(f->app->session.local_id && strcmp(f->app->session.local_id, "someone") == 0);
	flow_table_destroy(&t);
}

/* What an idle session keeps (issue 23, memory per idle flow): no
 * framing buffer, no out-of-order block, and the network's name shared
 * with the other sessions of the table (one counted copy, alive while any
 * session holds it). */
static void test_idle_sessions_share_and_hold_nothing(void)
{
	static const char welcome[] = ":irc.example 001 someone :Welcome to the network\r\n";
	struct flow_config cfg;
	struct flow_table t;
	struct flow *a, *b;
	unsigned n;

	flow_config_defaults(&cfg);
	CHECK_INT_EQ(flow_table_init(&t, &cfg, count_event, NULL), 0);
	for (n = 1; n <= 2; n++) {
		session(&t, n, 1.0);
		send_pkt(&t, n, false, TCP_FLAG_ACK | TCP_FLAG_PSH, 5000, 1000 + sizeof(nick) - 1,
			 welcome, 1.0);
	}
	a = find(&t, 1);
	b = find(&t, 2);
	CHECK(a && b && a->app && b->app);
	if (!a || !b || !a->app || !b->app)
		return;
	CHECK(a->app->dir[IM_DIR_OUT].buf == NULL && a->app->dir[IM_DIR_IN].buf == NULL);
	CHECK(a->reasm[IM_DIR_OUT].held == NULL && a->reasm[IM_DIR_IN].held == NULL);
	CHECK(a->app->client == NULL); /* the session's own copy is the one */
	CHECK(a->app->session.service && strcmp(a->app->session.service, "irc.example") == 0);
	CHECK(a->app->session.service == b->app->session.service);
	/* a partial line is held, and let go once complete */
	send_pkt(&t, 1, true, TCP_FLAG_ACK | TCP_FLAG_PSH, 1000 + sizeof(nick) - 1,
		 5000 + sizeof(welcome) - 1, "PRIVMSG bob :half", 1.0);
	CHECK(a->app->dir[IM_DIR_OUT].buf != NULL);
	send_pkt(&t, 1, true, TCP_FLAG_ACK | TCP_FLAG_PSH, 1000 + sizeof(nick) - 1 + 17,
		 5000 + sizeof(welcome) - 1, " and whole\r\n", 1.0);
	CHECK(a->app->dir[IM_DIR_OUT].buf == NULL);
	flow_table_close(&t, a);
	/* the other session's copy outlives the first session */
	CHECK(strcmp(b->app->session.service, "irc.example") == 0);
	flow_table_destroy(&t);
}

struct evictions {
	unsigned calls;
	uint64_t unlogged;
	char last[32];
};

static void on_evicted(void *arg, const struct flow *f, uint64_t unlogged)
{
	struct evictions *ev = arg;

	ev->calls++;
	ev->unlogged += unlogged;
	snprintf(ev->last, sizeof(ev->last), "%s", f->app->session.local_id);
}

/* A SYN flood against sessions and anonymous flows: only its own
 * half-open flows go, oldest first, however old the sessions are. */
static void test_eviction_order(void)
{
	struct evictions ev = { 0 };
	struct flow_config cfg;
	struct flow_table t;
	unsigned i;

	flow_config_defaults(&cfg);
	cfg.max_flows = 100;
	cfg.evicted_session = on_evicted;
	cfg.evicted_arg = &ev;
	CHECK_INT_EQ(flow_table_init(&t, &cfg, count_event, NULL), 0);
	for (i = 0; i < 20; i++)
		session(&t, i, 1.0);
	for (i = 20; i < 40; i++)
		anonymous(&t, i, 2.0);
	for (i = 40; i < 10040; i++)
		syn_only(&t, i, 3.0 + i * 1e-4);
	CHECK_INT_EQ(t.n_flows, 100);
	CHECK_INT_EQ(t.stats.flows_evicted, 9940);
	CHECK_INT_EQ(t.stats.evicted_halfopen, 9940);
	CHECK_INT_EQ(t.stats.evicted_anonymous, 0);
	CHECK_INT_EQ(t.stats.evicted_identified, 0);
	for (i = 0; i < 40; i++)
		CHECK(find(&t, i) != NULL);
	CHECK(find(&t, 10039) != NULL); /* the newest SYNs stay */
	CHECK(find(&t, 9979) == NULL); /* 40 kept, and the 60 newest SYNs */
	CHECK(find(&t, 9980) != NULL);
	/* nothing half-open left: data flows without a user go next */
	for (i = 40; i < 10040; i++) {
		struct flow *f = find(&t, i);

		if (f)
			flow_table_close(&t, f);
	}
	for (i = 20000; i < 20060; i++)
		anonymous(&t, i, 4.0);
	CHECK_INT_EQ(t.n_flows, 100);
	for (i = 20060; i < 20070; i++)
		anonymous(&t, i, 4.0); /* 10 over: the 10 oldest anonymous */
	CHECK_INT_EQ(t.stats.evicted_anonymous, 10);
	for (i = 0; i < 20; i++)
		CHECK(find(&t, i) != NULL);
	for (i = 20; i < 30; i++)
		CHECK(find(&t, i) == NULL);
	CHECK_INT_EQ(ev.calls, 0);
	flow_table_destroy(&t);
}

/* Only sessions left: the least recently used goes, and says so: the
 * first at once, then once per FLOW_EVICT_LOG_SECONDS with a count. */
static void test_session_eviction_reported(void)
{
	struct evictions ev = { 0 };
	struct flow_config cfg;
	struct flow_table t;
	unsigned i;

	flow_config_defaults(&cfg);
	cfg.max_flows = 10;
	cfg.evicted_session = on_evicted;
	cfg.evicted_arg = &ev;
	CHECK_INT_EQ(flow_table_init(&t, &cfg, count_event, NULL), 0);
	for (i = 0; i < 10; i++)
		session(&t, i, 1.0 + i);
	/* session 0 is used again: 1 is now the least recently used */
	send_pkt(&t, 0, true, TCP_FLAG_ACK | TCP_FLAG_PSH, 1000 + sizeof(nick) - 1, 5000,
		 "PING x\r\n", 20.0);
	session(&t, 100, 21.0);
	CHECK_INT_EQ(t.stats.evicted_identified, 1);
	CHECK_INT_EQ(ev.calls, 1);
	CHECK(find(&t, 1) == NULL);
	CHECK(find(&t, 0) != NULL);
	for (i = 101; i < 106; i++)
		session(&t, i, 22.0); /* within 10 s: counted, not reported */
	CHECK_INT_EQ(ev.calls, 1);
	session(&t, 200, 32.0);
	CHECK_INT_EQ(ev.calls, 2);
	CHECK_INT_EQ(ev.unlogged, 5);
	CHECK_INT_EQ(t.stats.evicted_identified, 7);
	flow_table_destroy(&t);
}

/* Half-open flows expire at halfopen_timeout, the rest at idle_timeout. */
static void test_timeouts_by_class(void)
{
	struct flow_config cfg;
	struct flow_table t;

	flow_config_defaults(&cfg);
	cfg.halfopen_timeout = 30;
	cfg.idle_timeout = 600;
	CHECK_INT_EQ(flow_table_init(&t, &cfg, count_event, NULL), 0);
	session(&t, 1, 100.0);
	anonymous(&t, 2, 100.0);
	syn_only(&t, 3, 100.0);
	flow_table_expire(&t, 129.0);
	CHECK_INT_EQ(t.n_flows, 3);
	flow_table_expire(&t, 131.0);
	CHECK_INT_EQ(t.n_flows, 2);
	CHECK(find(&t, 3) == NULL);
	CHECK_INT_EQ(t.stats.expired_halfopen, 1);
	flow_table_expire(&t, 699.0);
	CHECK_INT_EQ(t.n_flows, 2);
	flow_table_expire(&t, 701.0);
	CHECK_INT_EQ(t.n_flows, 0);
	CHECK_INT_EQ(t.stats.flows_expired, 3);
	flow_table_destroy(&t);
}

/* A SYN retransmitted on a finished, never-used connection is the same
 * connection; a SYN with another ISN is a new one. */
static void test_syn_reuse_without_streams(void)
{
	struct flow_config cfg;
	struct flow_table t;

	flow_config_defaults(&cfg);
	CHECK_INT_EQ(flow_table_init(&t, &cfg, count_event, NULL), 0);
	syn_only(&t, 5, 1.0);
	send_pkt(&t, 5, false, TCP_FLAG_RST | TCP_FLAG_ACK, 0, 8, "", 1.0);
	CHECK_INT_EQ(t.n_flows, 0); /* an RST ends it */
	syn_only(&t, 5, 2.0);
	send_pkt(&t, 5, true, TCP_FLAG_FIN | TCP_FLAG_ACK, 8, 1, "", 2.0);
	CHECK_INT_EQ(t.n_flows, 1);
	syn_only(&t, 5, 2.5); /* the same SYN again: the same flow */
	CHECK_INT_EQ(t.stats.flows_created, 2);
	send_pkt(&t, 5, true, TCP_FLAG_SYN, 77777, 0, "", 3.0);
	CHECK_INT_EQ(t.stats.flows_created, 3);
	CHECK_INT_EQ(t.n_flows, 1);
	flow_table_destroy(&t);
}

int main(void)
{
	RUN_TEST(test_halfopen_flow_is_small);
	RUN_TEST(test_idle_sessions_share_and_hold_nothing);
	RUN_TEST(test_eviction_order);
	RUN_TEST(test_session_eviction_reported);
	RUN_TEST(test_timeouts_by_class);
	RUN_TEST(test_syn_reuse_without_streams);
	TEST_MAIN_END();
}
