/* capture/prefetch.c: a capture read ahead on a thread of its own gives
 * the packets pcap_source_next_tcp gives, in order, with their payloads
 * and time stamps, then the same end: 0, or -1 with the same error text
 * after the same packets for a file cut short. Stopped early (the reader
 * waiting on a full ring, or not started reading), it ends at once. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/pcap_source.h"
#include "capture/prefetch.h"
#include "test_packet.h"
#include "testlib.h"

#define N_PACKETS 700
#define BIG_PAYLOAD 3000

static char path[64];

static void put32(FILE *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	fwrite(b, 1, 4, f);
}

static void put16(FILE *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	fwrite(b, 1, 2, f);
}

/* Packet i's payload length: 0 to 299 bytes, every 50th far larger than
 * a small ring's batch (it travels in a block of its own). */
static size_t payload_len(unsigned i)
{
	return i % 50 == 7 ? BIG_PAYLOAD : i % 300;
}

/* An Ethernet frame, 10.0.0.1:40000 -> 10.0.0.2:6667, payload bytes
 * derived from i. */
static uint32_t frame(uint8_t *out, unsigned i)
{
	static const uint8_t eth[14] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00 };
	static uint8_t payload[BIG_PAYLOAD];
	struct test_tcp4 t = { .src = 1, .dst = 2, .sport = 40000, .dport = 6667,
			       .seq = 1000 + i * 4000, .ack = 1, .flags = 0x18 };
	size_t k;

	for (k = 0; k < payload_len(i); k++)
		payload[k] = (uint8_t)(i * 7 + k);
	t.payload = payload;
	t.payload_len = payload_len(i);
	memcpy(out, eth, sizeof(eth));
	return (uint32_t)(sizeof(eth) + test_tcp4_build(out + sizeof(eth), &t));
}

/* N_PACKETS records, the last `cut` bytes of the file dropped. */
static void write_capture(size_t cut)
{
	static uint8_t data[14 + 40 + BIG_PAYLOAD];
	FILE *out = fopen(path, "wb");
	long size;
	unsigned i;

	if (!out)
		abort();
	put32(out, 0xA1B2C3D4u);
	put16(out, 2);
	put16(out, 4);
	put32(out, 0);
	put32(out, 0);
	put32(out, 65535);
	put32(out, 1); /* Ethernet */
	for (i = 0; i < N_PACKETS; i++) {
		uint32_t len = frame(data, i);

		put32(out, 1700000000u + i);
		put32(out, i);
		put32(out, len);
		put32(out, len);
		fwrite(data, 1, len, out);
	}
	size = ftell(out);
	fclose(out);
	if (cut && truncate(path, size - (long)cut) != 0)
		abort();
}

struct got {
	unsigned n;
	unsigned bad; /* packets other than the source's own */
	int rc;
	char err[1024];
	uint64_t stats_packets;
};

/* Read the capture directly, or through the prefetch thread with cfg,
 * comparing each packet with what a direct read of the same file gives. */
static void read_capture(const struct pcap_prefetch_config *cfg, struct got *g)
{
	struct pcap_source src, ref;
	struct pcap_prefetch *p;
	struct packet pkt, want;
	char err[1024], ref_err[1024];
	int rc, ref_rc;

	memset(g, 0, sizeof(*g));
	if (pcap_source_open(&src, path, err, sizeof(err)) < 0 ||
	    pcap_source_open(&ref, path, err, sizeof(err)) < 0) {
		CHECK(!"open");
		return;
	}
	p = pcap_prefetch_start(&src, cfg);
	CHECK(p != NULL);
	if (!p)
		return;
	for (;;) {
		rc = pcap_prefetch_next(p, &pkt, g->err, sizeof(g->err));
		ref_rc = pcap_source_next_tcp(&ref, &want, ref_err, sizeof(ref_err));
		if (rc != ref_rc) {
			g->bad++;
			break;
		}
		if (rc != 1)
			break;
		if (pkt.ts != want.ts || pkt.seq != want.seq || pkt.payload_len != want.payload_len ||
		    (pkt.payload_len && memcmp(pkt.payload, want.payload, pkt.payload_len) != 0) ||
		    pkt.sport != want.sport || pkt.l4_offset != want.l4_offset)
			g->bad++;
		g->n++;
	}
	g->rc = rc;
	if (rc < 0 && strcmp(g->err, ref_err) != 0)
		g->bad++;
	/* the end stays the end */
	CHECK_INT_EQ(pcap_prefetch_next(p, &pkt, err, sizeof(err)), rc);
	pcap_prefetch_stop(p);
	g->stats_packets = src.stats.packets;
	CHECK_INT_EQ(src.stats.packets, ref.stats.packets);
	pcap_source_close(&src);
	pcap_source_close(&ref);
}

static void small_config(struct pcap_prefetch_config *cfg)
{
	cfg->batches = 3;
	cfg->batch_packets = 5;
	cfg->batch_bytes = 1024;
}

static void test_same_packets(void)
{
	struct pcap_prefetch_config cfg;
	struct got g;

	write_capture(0);
	small_config(&cfg);
	read_capture(&cfg, &g);
	CHECK_INT_EQ(g.n, N_PACKETS);
	CHECK_INT_EQ(g.bad, 0);
	CHECK_INT_EQ(g.rc, 0);
	pcap_prefetch_config_defaults(&cfg);
	read_capture(&cfg, &g);
	CHECK_INT_EQ(g.n, N_PACKETS);
	CHECK_INT_EQ(g.bad, 0);
	CHECK_INT_EQ(g.rc, 0);
	CHECK_INT_EQ(g.stats_packets, N_PACKETS);
}

/* Cut inside the last record: the packets before it, then the source's
 * own error, word for word. */
static void test_error_after_the_same_packets(void)
{
	struct pcap_prefetch_config cfg;
	struct got g;

	write_capture(5);
	small_config(&cfg);
	read_capture(&cfg, &g);
	CHECK_INT_EQ(g.n, N_PACKETS - 1);
	CHECK_INT_EQ(g.bad, 0);
	CHECK_INT_EQ(g.rc, -1);
	CHECK(g.err[0] != '\0');
}

/* Stopped after three packets (the reader then waits on a full ring), and
 * stopped before reading any: both end at once, nothing left behind. */
static void test_stop_early(void)
{
	struct pcap_prefetch_config cfg;
	struct pcap_source src;
	struct pcap_prefetch *p;
	struct packet pkt;
	char err[1024];
	int i;

	write_capture(0);
	small_config(&cfg);
	CHECK(pcap_source_open(&src, path, err, sizeof(err)) == 0);
	p = pcap_prefetch_start(&src, &cfg);
	CHECK(p != NULL);
	for (i = 0; p && i < 3; i++)
		CHECK_INT_EQ(pcap_prefetch_next(p, &pkt, err, sizeof(err)), 1);
	usleep(20000); /* let the reader fill the ring and wait */
	pcap_prefetch_stop(p);
	/* the source is ours again: it goes on after what the reader took */
	CHECK(src.stats.packets >= 3 && src.stats.packets <= 3 * 5 + 1);
	pcap_source_close(&src);

	CHECK(pcap_source_open(&src, path, err, sizeof(err)) == 0);
	p = pcap_prefetch_start(&src, &cfg);
	CHECK(p != NULL);
	pcap_prefetch_stop(p);
	pcap_source_close(&src);
	pcap_prefetch_stop(NULL);
}

static void test_bad_config(void)
{
	struct pcap_prefetch_config cfg;
	struct pcap_source src;
	char err[1024];

	write_capture(0);
	CHECK(pcap_source_open(&src, path, err, sizeof(err)) == 0);
	small_config(&cfg);
	cfg.batches = 1;
	errno = 0;
	CHECK(pcap_prefetch_start(&src, &cfg) == NULL);
	CHECK_INT_EQ(errno, EINVAL);
	small_config(&cfg);
	cfg.batch_packets = 0;
	CHECK(pcap_prefetch_start(&src, &cfg) == NULL);
	pcap_source_close(&src);
}

int main(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/imw_prefetch_XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return 1;
	close(fd);
	RUN_TEST(test_same_packets);
	RUN_TEST(test_error_after_the_same_packets);
	RUN_TEST(test_stop_early);
	RUN_TEST(test_bad_config);
	unlink(path);
	TEST_MAIN_END();
}
