/* Test probe for originating packets (tests/cases/egress_netns.sh), built
 * by the case script from the daemon's own sources.
 *
 *   egress_probe inject -i IFACE -p PORT -a BYTES -v VARIANTS -d PAYLOAD
 *                       [-n NETNS -r PAYLOAD] [-t SECONDS]
 *     Watches IFACE (a bridge port towards the client) with libpcap and
 *     learns the connection to server port PORT. Once the server has sent
 *     BYTES of payload and the client acknowledged all of it, sends one
 *     server->client data segment per variant (comma-separated) built with
 *     tcp_build_segment and sent with egress_send as a frame on IFACE with
 *     the learnt MACs, and reports whether the client's kernel acknowledged
 *     it. "good" carries PAYLOAD; the others carry "bad:NAME;" with one
 *     thing wrong: badsum (TCP checksum), badmac (destination MAC),
 *     oldts (tsval behind the last one: PAWS), futureack (acks data the
 *     client never sent), nots (no timestamp option). With -n, then enters
 *     the network namespace NETNS (the server's) and sends the next
 *     segment, carrying the -r PAYLOAD, routed through a raw IP socket.
 *     Exits 0 when every "good" and routed segment was acknowledged.
 *
 *   egress_probe meta QUEUE COUNT SECONDS
 *     Binds NFQUEUE QUEUE, prints the metadata of the first COUNT TCP
 *     packets (accepting every packet), then exits.
 *
 * Every wait is bounded (-t, default 10 s overall). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "egress/egress.h"
#include "nfq/nfq.h"
#include "packet/packet.h"
#include "packet/tcp_build.h"
#include "stream/reasm.h" /* seq_after */
#include "util/bytebuf.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void format_mac(char *buf, size_t size, const uint8_t *mac, size_t n)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < n && off + 4 <= size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%02x", i ? ":" : "", mac[i]);
}

/* ------------------------------------------------------------------ */
/* inject */

struct side {
	bool seen;
	uint8_t ip_version;
	uint8_t addr[16];
	uint16_t port;
	uint8_t mac[6];
	uint32_t next_seq; /* one past the highest byte (or SYN/FIN) sent */
	uint32_t ack;
	uint16_t window;
	bool ts;
	uint32_t tsval, tsecr;
	uint64_t payload_bytes;
};

struct probe {
	pcap_t *pcap;
	uint16_t port;
	struct side server, client;
	bool frozen; /* injecting: our own frames must not move the server's state */
	uint32_t client_acks;
	uint32_t last_client_ack;
};

static void learn(struct probe *p, const uint8_t *frame, size_t caplen, size_t wirelen)
{
	struct packet pkt;
	const char *why;
	struct side *s;
	uint32_t end, tsval, tsecr;

	memset(&pkt, 0, sizeof(pkt));
	if (packet_parse(DLT_EN10MB, frame, caplen, wirelen, &pkt, &why) != PACKET_OK ||
	    pkt.truncated)
		return;
	if (pkt.sport == p->port) {
		if (p->frozen)
			return;
		s = &p->server;
		memcpy(s->mac, frame + 6, 6);
		memcpy(p->client.mac, frame, 6);
	} else if (pkt.dport == p->port) {
		s = &p->client;
		if (p->frozen) {
			p->client_acks++;
			p->last_client_ack = pkt.ack;
		}
	} else {
		return;
	}
	end = pkt.seq + (uint32_t)pkt.payload_len + (pkt.tcp_flags & TCP_FLAG_SYN ? 1 : 0) +
	      (pkt.tcp_flags & TCP_FLAG_FIN ? 1 : 0);
	if (!s->seen || seq_after(end, s->next_seq))
		s->next_seq = end;
	s->seen = true;
	s->ip_version = pkt.ip_version;
	memcpy(s->addr, pkt.src, 16);
	s->port = pkt.sport;
	if (pkt.tcp_flags & TCP_FLAG_ACK)
		s->ack = pkt.ack;
	s->window = pkt.window;
	s->payload_bytes += pkt.payload_len;
	if (tcp_read_timestamp(frame + pkt.l3_offset, &pkt, &tsval, &tsecr)) {
		s->ts = true;
		s->tsval = tsval;
		s->tsecr = tsecr;
	}
}

static void on_frame(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	learn((struct probe *)(void *)arg, bytes, h->caplen, h->len);
}

/* Reads frames until done(p) or the deadline; false on timeout. */
static bool pump_until(struct probe *p, bool (*done)(const struct probe *, const void *),
		       const void *arg, double deadline)
{
	struct pollfd pfd = { .fd = pcap_get_selectable_fd(p->pcap), .events = POLLIN };

	while (!done(p, arg)) {
		double left = deadline - now();

		if (left <= 0)
			return false;
		if (poll(&pfd, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			return false;
		if (pcap_dispatch(p->pcap, -1, on_frame, (u_char *)p) < 0)
			return false;
	}
	return true;
}

static bool quiescent(const struct probe *p, const void *arg)
{
	uint64_t after = *(const uint64_t *)arg;

	return p->server.seen && p->client.seen && p->server.payload_bytes >= after &&
	       p->client.ack == p->server.next_seq;
}

static bool acked_past(const struct probe *p, const void *arg)
{
	uint32_t end = *(const uint32_t *)arg;

	return p->client_acks && !seq_after(end, p->last_client_ack);
}

static int open_capture(struct probe *p, const char *iface)
{
	char errbuf[PCAP_ERRBUF_SIZE], filter[64];
	struct bpf_program prog;

	p->pcap = pcap_create(iface, errbuf);
	if (!p->pcap) {
		fprintf(stderr, "pcap: %s\n", errbuf);
		return -1;
	}
	pcap_set_snaplen(p->pcap, 65535);
	pcap_set_immediate_mode(p->pcap, 1);
	pcap_set_promisc(p->pcap, 0);
	if (pcap_activate(p->pcap) < 0 || pcap_setnonblock(p->pcap, 1, errbuf) < 0) {
		fprintf(stderr, "pcap %s: %s\n", iface, pcap_geterr(p->pcap));
		return -1;
	}
	snprintf(filter, sizeof(filter), "tcp port %u", p->port);
	if (pcap_compile(p->pcap, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0 ||
	    pcap_setfilter(p->pcap, &prog) < 0) {
		fprintf(stderr, "pcap filter: %s\n", pcap_geterr(p->pcap));
		return -1;
	}
	pcap_freecode(&prog);
	return 0;
}

static void spec_from(const struct probe *p, struct tcp_segment_spec *spec, uint32_t seq,
		      uint16_t ip_id)
{
	memset(spec, 0, sizeof(*spec));
	spec->ip_version = p->server.ip_version;
	memcpy(spec->src, p->server.addr, 16);
	memcpy(spec->dst, p->client.addr, 16);
	spec->sport = p->server.port;
	spec->dport = p->client.port;
	spec->seq = seq;
	spec->ack = p->client.next_seq;
	spec->flags = TCP_FLAG_ACK | TCP_FLAG_PSH;
	spec->window = p->server.window;
	spec->has_timestamp = p->server.ts;
	spec->tsval = p->server.tsval;
	/* what the server would echo: the client's newest timestamp */
	spec->tsecr = p->client.ts ? p->client.tsval : p->server.tsecr;
	spec->ip_id = ip_id;
}

/* Sends one segment and waits for the client to acknowledge it; prints a
 * line "NAME sent ... -> acked|not-acked". Returns 1 acked, 0 not, -1
 * when it could not be sent. */
static int try_segment(struct probe *p, struct egress *eg, const struct egress_link *link,
		       const char *name, struct tcp_segment_spec *spec, const char *payload,
		       double wait, bool corrupt_checksum)
{
	struct bytebuf b;
	size_t len = strlen(payload);
	uint32_t end = spec->seq + (uint32_t)len;
	bool acked;

	bytebuf_init(&b);
	if (tcp_build_segment(spec, (const uint8_t *)payload, len, &b) < 0) {
		printf("%s build-failed\n", name);
		return -1;
	}
	if (corrupt_checksum)
		b.data[(spec->ip_version == 4 ? 20 : 40) + 17] ^= 0x5A;
	p->client_acks = 0;
	if (egress_send(eg, link, b.data, b.len) < 0) {
		printf("%s send-failed %s\n", name, strerror(errno));
		bytebuf_free(&b);
		return -1;
	}
	bytebuf_free(&b);
	acked = pump_until(p, acked_past, &end, now() + wait);
	printf("%s sent seq=%u len=%zu ts=%s -> %s (client segments %u, last ack %u)\n", name,
	       spec->seq, len, spec->has_timestamp ? "yes" : "no", acked ? "acked" : "not-acked",
	       p->client_acks, p->last_client_ack);
	fflush(stdout);
	return acked ? 1 : 0;
}

static int enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "netns %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int run_inject(int argc, char **argv)
{
	const char *iface = NULL, *variants = "good", *payload = "INJECTED", *netns = NULL;
	const char *routed_payload = "ROUTED";
	struct probe p;
	struct egress eg;
	struct egress_link link;
	struct tcp_segment_spec spec;
	uint64_t after = 1;
	double limit = 10, deadline;
	uint32_t seq;
	uint16_t ip_id = 0x4242;
	char list[256], *name, *save = NULL, mac1[32], mac2[32];
	int opt, ok = 1, rc;

	memset(&p, 0, sizeof(p));
	while ((opt = getopt(argc, argv, "i:p:a:v:d:n:r:t:")) != -1) {
		switch (opt) {
		case 'i': iface = optarg; break;
		case 'p': p.port = (uint16_t)atoi(optarg); break;
		case 'a': after = strtoull(optarg, NULL, 10); break;
		case 'v': variants = optarg; break;
		case 'd': payload = optarg; break;
		case 'n': netns = optarg; break;
		case 'r': routed_payload = optarg; break;
		case 't': limit = atof(optarg); break;
		default: return 2;
		}
	}
	if (!iface || !p.port || strlen(variants) >= sizeof(list)) {
		fprintf(stderr, "inject: -i IFACE -p PORT required\n");
		return 2;
	}
	deadline = now() + limit;
	if (open_capture(&p, iface) < 0)
		return 1;
	printf("listening on %s\n", iface);
	fflush(stdout);
	if (!pump_until(&p, quiescent, &after, deadline)) {
		printf("never quiescent: server %s (%llu bytes), client %s\n",
		       p.server.seen ? "seen" : "unseen", (unsigned long long)p.server.payload_bytes,
		       p.client.seen ? "seen" : "unseen");
		return 1;
	}
	p.frozen = true;
	format_mac(mac1, sizeof(mac1), p.server.mac, 6);
	format_mac(mac2, sizeof(mac2), p.client.mac, 6);
	printf("learnt server_mac=%s client_mac=%s seq=%u ack=%u window=%u ts=%s tsval=%u "
	       "tsecr=%u\n",
	       mac1, mac2, p.server.next_seq, p.client.next_seq, p.server.window,
	       p.server.ts ? "yes" : "no", p.server.tsval, p.client.tsval);
	fflush(stdout);

	egress_init(&eg);
	memset(&link, 0, sizeof(link));
	link.ifindex = if_nametoindex(iface);
	memcpy(link.src_mac, p.server.mac, 6);
	memcpy(link.dst_mac, p.client.mac, 6);
	link.have_macs = true;
	seq = p.server.next_seq;
	snprintf(list, sizeof(list), "%s", variants);
	for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		struct egress_link l = link;
		char bad[64];
		bool good = strcmp(name, "good") == 0, badsum = false;

		spec_from(&p, &spec, seq, ip_id++);
		if (strcmp(name, "badsum") == 0)
			badsum = true;
		else if (strcmp(name, "badmac") == 0)
			memcpy(l.dst_mac, "\x02\x00\x00\x00\x00\x99", 6);
		else if (strcmp(name, "oldts") == 0)
			spec.tsval -= 1000;
		else if (strcmp(name, "futureack") == 0)
			spec.ack += 100000;
		else if (strcmp(name, "nots") == 0)
			spec.has_timestamp = false;
		else if (!good) {
			fprintf(stderr, "unknown variant %s\n", name);
			return 2;
		}
		snprintf(bad, sizeof(bad), "bad:%s;", name);
		rc = try_segment(&p, &eg, &l, name, &spec, good ? payload : bad,
				 good ? 3.0 : 0.7, badsum);
		if (rc > 0)
			seq += (uint32_t)strlen(good ? payload : bad);
		if (good && rc <= 0)
			ok = 0;
	}
	printf("egress stats: sent=%llu send_errors=%llu no_link=%llu\n",
	       (unsigned long long)eg.stats.sent, (unsigned long long)eg.stats.send_errors,
	       (unsigned long long)eg.stats.no_link);
	if (netns) {
		/* The raw socket opens lazily, in the namespace current then:
		 * the server's, which has the address and route. */
		if (enter_netns(netns) < 0)
			return 1;
		spec_from(&p, &spec, seq, ip_id++);
		rc = try_segment(&p, &eg, NULL, "routed", &spec, routed_payload, 3.0, false);
		if (rc <= 0)
			ok = 0;
	}
	egress_close(&eg);
	pcap_close(p.pcap);
	return ok ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* meta */

struct meta_ctx {
	struct verdict v[4096];
	size_t n;
	unsigned printed;
	unsigned want;
};

static void on_queued(void *arg, uint32_t id, const uint8_t *ip, size_t len, bool gso,
		      const struct nfqueue_meta *meta)
{
	struct meta_ctx *ctx = arg;
	struct packet pkt;
	const char *why;
	char src[64], dst[64], mac[32];

	(void)gso;
	if (ctx->n < sizeof(ctx->v) / sizeof(ctx->v[0])) {
		memset(&ctx->v[ctx->n], 0, sizeof(ctx->v[ctx->n]));
		ctx->v[ctx->n].id = id;
		ctx->v[ctx->n].kind = VERDICT_ACCEPT;
		ctx->n++;
	}
	memset(&pkt, 0, sizeof(pkt));
	if (!ip || packet_parse_ip(ip, len, len, &pkt, &why) != PACKET_OK ||
	    ctx->printed >= ctx->want)
		return;
	packet_format_endpoint(src, sizeof(src), pkt.ip_version, pkt.src, pkt.sport);
	packet_format_endpoint(dst, sizeof(dst), pkt.ip_version, pkt.dst, pkt.dport);
	format_mac(mac, sizeof(mac), meta->hwaddr, meta->hwaddr_len);
	printf("meta src=%s dst=%s indev=%u outdev=%u physindev=%u physoutdev=%u hwaddr_len=%u "
	       "hwaddr=%s\n",
	       src, dst, meta->indev, meta->outdev, meta->physindev, meta->physoutdev,
	       meta->hwaddr_len, meta->hwaddr_len ? mac : "-");
	fflush(stdout);
	ctx->printed++;
}

static int run_meta(int argc, char **argv)
{
	struct nfqueue q;
	struct meta_ctx ctx;
	struct pollfd pfd;
	char err[256];
	double deadline;

	if (argc != 4) {
		fprintf(stderr, "meta QUEUE COUNT SECONDS\n");
		return 2;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.want = (unsigned)atoi(argv[2]);
	deadline = now() + atof(argv[3]);
	if (nfqueue_open(&q, (uint16_t)atoi(argv[1]), 0, true, err, sizeof(err)) < 0) {
		fprintf(stderr, "nfqueue: %s\n", err);
		return 1;
	}
	printf("bound queue %s\n", argv[1]);
	fflush(stdout);
	pfd.fd = nfqueue_fd(&q);
	pfd.events = POLLIN;
	while (ctx.printed < ctx.want && now() < deadline) {
		if (poll(&pfd, 1, 50) > 0 && nfqueue_receive(&q, on_queued, &ctx) < 0)
			break;
		nfqueue_send_verdicts(&q, ctx.v, ctx.n, NULL, false, 0);
		ctx.n = 0;
	}
	nfqueue_close(&q);
	return ctx.printed >= ctx.want ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "inject") == 0)
		return run_inject(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "meta") == 0)
		return run_meta(argc - 1, argv + 1);
	fprintf(stderr, "usage: egress_probe inject|meta ... (see the source)\n");
	return 2;
}
