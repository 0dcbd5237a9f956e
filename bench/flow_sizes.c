/* What one idle tracked IM flow costs: the sizes of the structures a flow
 * carries, and the heap (malloc's own count, mallinfo2) that N idle IRC
 * flows hold in a flow table after their handshake, NICK/USER lines and the
 * server's welcome, divided by N. With "halfopen", N flows of a SYN flood
 * (a SYN each, nothing more) instead; with "inline", the same idle
 * sessions through the inline engine (its per-flow state included), as
 * IP packets with every verdict taken.
 *
 * Usage: flow_sizes [N [halfopen|inline]]   (default 100000) */
#include <malloc.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "flow/flow.h"
#include "imwire/byteorder.h"
#include "inline/engine.h"
#include "inline/flow_state.h"
#include "packet/tcp_build.h"
#include "stream/reasm.h"

static void ignore(void *arg, const struct im_event *ev)
{
	(void)arg;
	(void)ev;
}

static void send_packet(struct flow_table *t, unsigned n, bool from_client, uint8_t flags,
			uint32_t seq, uint32_t ack, const char *payload)
{
	struct packet p;
	uint8_t client[4] = { 10, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	uint8_t server[4] = { 192, 0, 2, 1 };

	memset(&p, 0, sizeof(p));
	p.ts = 1000.0 + n * 1e-4;
	p.ip_version = 4;
	memcpy(p.src, from_client ? client : server, 4);
	memcpy(p.dst, from_client ? server : client, 4);
	p.sport = from_client ? (uint16_t)(1024 + n % 60000) : 6667;
	p.dport = from_client ? 6667 : (uint16_t)(1024 + n % 60000);
	p.seq = seq;
	p.ack = ack;
	p.tcp_flags = flags;
	p.payload = (const uint8_t *)payload;
	p.payload_len = strlen(payload);
	flow_table_packet(t, &p);
}

/* The same packet as an IP packet through the inline engine. */
static void engine_send(struct engine *e, struct engine_outq *out, struct bytebuf *b, unsigned n,
			bool from_client, uint8_t flags, uint32_t seq, uint32_t ack,
			const char *payload)
{
	struct tcp_segment_spec s;
	uint8_t client[4] = { 10, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	uint8_t server[4] = { 192, 0, 2, 1 };

	memset(&s, 0, sizeof(s));
	s.ip_version = 4;
	memcpy(s.src, from_client ? client : server, 4);
	memcpy(s.dst, from_client ? server : client, 4);
	s.sport = from_client ? (uint16_t)(1024 + n % 60000) : 6667;
	s.dport = from_client ? 6667 : (uint16_t)(1024 + n % 60000);
	s.seq = seq;
	s.ack = ack;
	s.flags = flags;
	s.window = 502;
	bytebuf_clear(b);
	if (tcp_build_segment(&s, (const uint8_t *)payload, strlen(payload), b) < 0)
		return;
	engine_packet(e, n, b->data, b->len, false, 1000.0 + n * 1e-4, out);
	engine_outq_clear(out);
}

static void print_rss(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		printf("peak RSS %ld KB\n", ru.ru_maxrss);
}

/* N idle IRC sessions through the inline engine. */
static int run_inline(unsigned n, const char *nick, size_t nick_len, const char *welcome,
		      size_t welcome_len)
{
	struct engine_config cfg;
	struct engine e;
	struct engine_outq out;
	struct bytebuf b;
	struct mallinfo2 before, after;
	unsigned i;

	engine_config_defaults(&cfg);
	engine_outq_init(&out);
	bytebuf_init(&b);
	if (engine_init(&e, &cfg, ignore, NULL) < 0)
		return 1;
	before = mallinfo2();
	for (i = 0; i < n; i++) {
		uint32_t c = 1000, s = 5000;

		engine_send(&e, &out, &b, i, true, TCP_FLAG_SYN, c - 1, 0, "");
		engine_send(&e, &out, &b, i, false, TCP_FLAG_SYN | TCP_FLAG_ACK, s - 1, c, "");
		engine_send(&e, &out, &b, i, true, TCP_FLAG_ACK | TCP_FLAG_PSH, c, s, nick);
		engine_send(&e, &out, &b, i, false, TCP_FLAG_ACK | TCP_FLAG_PSH, s,
			    c + (uint32_t)nick_len, welcome);
		engine_send(&e, &out, &b, i, true, TCP_FLAG_ACK, c + (uint32_t)nick_len,
			    s + (uint32_t)welcome_len, "");
	}
	after = mallinfo2();
	printf("sizeof: struct flow_state %zu (of which 2 x struct flow_dir_state %zu)\n",
	       sizeof(struct flow_state), sizeof(struct flow_dir_state));
	printf("%u idle IRC flows through the inline engine: %zu flows tracked, heap in use %.1f "
	       "MiB, %zu bytes per flow (malloc's count, chunk headers included)\n",
	       n, e.flows.n_flows, (double)(after.uordblks - before.uordblks) / (1024.0 * 1024.0),
	       (after.uordblks - before.uordblks) / (n ? n : 1));
	print_rss();
	engine_destroy(&e, &out);
	engine_outq_free(&out);
	bytebuf_free(&b);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 100000, i;
	bool halfopen = argc > 2 && strcmp(argv[2], "halfopen") == 0;
	bool inline_engine = argc > 2 && strcmp(argv[2], "inline") == 0;
	static const char nick[] = "NICK someone\r\nUSER someone 0 * :Some One\r\n";
	static const char welcome[] = ":irc.example 001 someone :Welcome to the network\r\n";
	struct flow_config cfg;
	struct flow_table t;
	struct mallinfo2 before, after;
	size_t per_flow;

	if (inline_engine)
		return run_inline(n, nick, sizeof(nick) - 1, welcome, sizeof(welcome) - 1);
	printf("sizeof: struct flow %zu, 2 x struct reasm %zu (with the first data), struct app_flow %zu "
	       "(of which struct proto_session %zu, 2 x struct app_dir %zu)\n",
	       sizeof(struct flow), sizeof(struct reasm), sizeof(struct app_flow),
	       sizeof(struct proto_session), sizeof(struct app_dir));
	flow_config_defaults(&cfg);
	if (flow_table_init(&t, &cfg, ignore, NULL) < 0)
		return 1;
	before = mallinfo2();
	for (i = 0; i < n; i++) {
		uint32_t c = 1000, s = 5000;

		send_packet(&t, i, true, TCP_FLAG_SYN, c - 1, 0, "");
		if (halfopen)
			continue;
		send_packet(&t, i, false, TCP_FLAG_SYN | TCP_FLAG_ACK, s - 1, c, "");
		send_packet(&t, i, true, TCP_FLAG_ACK | TCP_FLAG_PSH, c, s, nick);
		send_packet(&t, i, false, TCP_FLAG_ACK | TCP_FLAG_PSH, s, c + sizeof(nick) - 1, welcome);
		send_packet(&t, i, true, TCP_FLAG_ACK, c + sizeof(nick) - 1, s + sizeof(welcome) - 1, "");
	}
	after = mallinfo2();
	per_flow = (after.uordblks - before.uordblks) / (n ? n : 1);
	printf("%u %s: %zu flows tracked, %llu IRC sessions, heap in use %.1f MiB, "
	       "%zu bytes per flow (malloc's count, chunk headers included)\n",
	       n, halfopen ? "half-open flows (a SYN each)" : "idle IRC flows", t.n_flows, (unsigned long long)t.stats.app.sessions[IMW_PROTO_IRC],
	       (double)(after.uordblks - before.uordblks) / (1024.0 * 1024.0), per_flow);
	print_rss();
	flow_table_destroy(&t);
	return 0;
}
