/* The inline engine on random segment sequences of a few IPv4 flows.
 *
 * The engine runs with rewriting and deleting rules (regex_replace, as a
 * configuration gives them) and the test-only inserting handler
 * (tests/support), so edits, holding and the sequence map are exercised. Input: records of a header
 * (flow and direction, TCP flags, sequence and ack offsets relative to
 * each side's ISN, payload length, clock step) followed by the payload.
 * The check that matters: every packet gets exactly one verdict, before or
 * at shutdown (a held packet is never lost, never answered twice), and a
 * modified packet is a well-formed IPv4/TCP packet of the same flow. */
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "inline/engine.h"
#include "packet/packet.h"
#include "packet/tcp_edit.h"
#include "test_packet.h"
#include "test_table.h"

#define MAX_PACKETS 512
#define N_FLOWS 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t verdicts[MAX_PACKETS];

/* Built once and kept for the process: the rules never change. */
static struct route_table *rules(void)
{
	static const struct test_inject_rule inject = { "hello", "injected line" };
	static struct route_table *t;

	if (!t) {
		t = test_table("regex_replace=/secret/a much longer replacement/\n"
			       "regex_replace=/dropme//b\n",
			       NULL);
		if (!t || test_inject_add(t, &inject) < 0)
			abort();
	}
	return t;
}

static void ignore_event(void *arg, const struct im_event *ev)
{
	(void)arg;
	(void)ev;
}

static void drain(struct engine_outq *q)
{
	size_t i;

	for (i = 0; i < q->n; i++) {
		const struct verdict *o = &q->v[i];

		if (o->id >= MAX_PACKETS || verdicts[o->id]++)
			abort(); /* unknown id, or a second verdict */
		if (o->kind == VERDICT_ACCEPT_MODIFIED) {
			struct packet pkt;
			const char *why;

			if (o->offset + o->len > q->bytes.len)
				abort();
			if (packet_parse_ip(q->bytes.data + o->offset, o->len, o->len, &pkt, &why) !=
			    PACKET_OK)
				abort();
		}
	}
	engine_outq_clear(q);
}

static size_t make_packet(uint8_t *p, unsigned flow, bool from_client, uint32_t seq,
			  uint32_t ack, uint8_t flags, const uint8_t *payload, size_t plen)
{
	uint16_t cport = (uint16_t)(40000 + flow), sport = flow == 2 ? 5222 : 6667;
	uint8_t opt[4];
	struct test_tcp4 t = {
		.src = from_client ? 1 : 2, .dst = from_client ? 2 : 1,
		.sport = from_client ? cport : sport, .dport = from_client ? sport : cport,
		.seq = seq, .ack = ack, .flags = flags,
		.options = opt, .options_len = (flags & TCP_FLAG_SYN) ? 4 : 0,
		.payload = payload, .payload_len = plen,
	};

	test_mss_option(opt, 1460);
	return test_tcp4_build(p, &t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t flag_sets[] = {
		TCP_FLAG_ACK | TCP_FLAG_PSH, TCP_FLAG_ACK, TCP_FLAG_SYN, TCP_FLAG_SYN | TCP_FLAG_ACK,
		TCP_FLAG_ACK | TCP_FLAG_FIN, TCP_FLAG_RST, TCP_FLAG_ACK | TCP_FLAG_PSH,
		TCP_FLAG_ACK | TCP_FLAG_PSH,
	};
	struct engine_config cfg;
	struct engine e;
	struct engine_outq q;
	uint8_t pkt[2048];
	size_t pos = 0, i;
	uint32_t id = 0, isn[N_FLOWS][2];
	double now = 1000.0;

	memset(verdicts, 0, sizeof(verdicts));
	engine_config_defaults(&cfg);
	cfg.table = rules();
	cfg.max_held_packets = 8;
	cfg.max_held_bytes = 4096;
	cfg.flow.max_flows = 2; /* three flows: eviction runs too */
	if (engine_init(&e, &cfg, ignore_event, NULL) != 0)
		return 0;
	engine_outq_init(&q);
	for (i = 0; i < N_FLOWS; i++) {
		isn[i][0] = 0xFFFFFF00u + (uint32_t)i * 7;
		isn[i][1] = 5000 + (uint32_t)i * 100000;
	}
	while (pos + 7 <= size && id < MAX_PACKETS) {
		const uint8_t *h = data + pos;
		unsigned flow = (h[0] & 0x0F) % N_FLOWS;
		bool from_client = !(h[0] & 0x10);
		uint8_t flags = flag_sets[h[1] % sizeof(flag_sets)];
		uint32_t seq = isn[flow][!from_client] + (flags & TCP_FLAG_SYN ? 0 : 1) +
			       imw_load_be16(h + 2) % 4096;
		uint32_t ack = isn[flow][from_client] + 1 + imw_load_be16(h + 4) % 4096;
		size_t plen = h[6], n;

		pos += 7;
		if (plen > size - pos)
			plen = size - pos;
		if (flags & (TCP_FLAG_SYN | TCP_FLAG_RST))
			plen = 0;
		n = make_packet(pkt, flow, from_client, seq, ack, flags, data + pos, plen);
		pos += plen;
		engine_packet(&e, id++, pkt, n, h[0] & 0x20, now, &q);
		drain(&q);
		if (h[0] & 0x40) {
			now += (h[0] & 0x80) ? 0.2 : 0.02;
			engine_tick(&e, now, &q);
			drain(&q);
		}
		if ((h[1] & 0xF8) == 0xF8) {
			engine_release_all(&e, &q);
			drain(&q);
		}
	}
	engine_destroy(&e, &q);
	drain(&q);
	engine_outq_free(&q);
	for (i = 0; i < id; i++)
		if (verdicts[i] != 1)
			abort(); /* a packet never answered */
	return 0;
}
