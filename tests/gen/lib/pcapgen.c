#include "pcapgen.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ETH_HLEN 14
#define VLAN_HLEN 4
#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define TCP_HLEN 20
#define TCP_MSS_OPT_LEN 4
#define DEFAULT_MSS 1460
#define DEFAULT_WINDOW 65535
#define DEFAULT_CLIENT_ISN 0x1a2b3c4du
#define DEFAULT_SERVER_ISN 0x5e6f7081u
#define MAX_FAULT_SEGMENTS 32

struct pcapgen {
	pcap_t *dead;
	pcap_dumper_t *dumper;
	enum pcapgen_link link;
	uint64_t now_usec;
	uint32_t step_usec;
	bool failed;
};

static const uint8_t mac[2][6] = {
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 }, /* client */
	{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 }, /* server */
};

struct pcapgen *pcapgen_open(const char *path, enum pcapgen_link link)
{
	struct pcapgen *g = calloc(1, sizeof(*g));

	if (!g) {
		fprintf(stderr, "pcapgen: out of memory\n");
		return NULL;
	}
	g->link = link;
	g->dead = pcap_open_dead(link == PCAPGEN_LINK_RAW ? DLT_RAW : DLT_EN10MB, 65535);
	if (!g->dead) {
		fprintf(stderr, "pcapgen: pcap_open_dead failed\n");
		free(g);
		return NULL;
	}
	g->dumper = pcap_dump_open(g->dead, path);
	if (!g->dumper) {
		fprintf(stderr, "pcapgen: %s: %s\n", path, pcap_geterr(g->dead));
		pcap_close(g->dead);
		free(g);
		return NULL;
	}
	pcapgen_set_clock(g, PCAPGEN_DEFAULT_BASE_SEC, PCAPGEN_DEFAULT_STEP_USEC);
	return g;
}

int pcapgen_close(struct pcapgen *g)
{
	int rc;

	if (!g)
		return -1;
	rc = g->failed ? -1 : 0;
	if (pcap_dump_flush(g->dumper) != 0)
		rc = -1;
	pcap_dump_close(g->dumper);
	pcap_close(g->dead);
	free(g);
	if (rc)
		fprintf(stderr, "pcapgen: writing the capture failed\n");
	return rc;
}

void pcapgen_set_clock(struct pcapgen *g, uint64_t base_sec, uint32_t step_usec)
{
	g->now_usec = base_sec * 1000000u;
	g->step_usec = step_usec;
}

void pcapgen_advance(struct pcapgen *g, uint64_t usec)
{
	g->now_usec += usec;
}

int pcapgen_write_frame(struct pcapgen *g, const uint8_t *frame, size_t len)
{
	struct pcap_pkthdr hdr;

	if (len > 65535) {
		fprintf(stderr, "pcapgen: frame of %zu bytes is too long\n", len);
		g->failed = true;
		return -1;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.ts.tv_sec = (time_t)(g->now_usec / 1000000u);
	hdr.ts.tv_usec = (suseconds_t)(g->now_usec % 1000000u);
	hdr.caplen = (bpf_u_int32)len;
	hdr.len = (bpf_u_int32)len;
	pcap_dump((u_char *)g->dumper, &hdr, frame);
	g->now_usec += g->step_usec;
	return 0;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t sum_be16(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static uint16_t fold_sum(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int pcapgen_tcp_open(struct pcapgen_tcp *t, struct pcapgen *g, const char *client_ip,
		     uint16_t client_port, const char *server_ip, uint16_t server_port,
		     const struct pcapgen_tcp_opts *opts)
{
	static const struct pcapgen_tcp_opts defaults;
	uint32_t client_isn, server_isn;
	int family;

	memset(t, 0, sizeof(*t));
	if (!g)
		return -1;
	if (!opts)
		opts = &defaults;
	family = strchr(client_ip, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, client_ip, t->addr[PCAPGEN_TO_SERVER]) != 1 ||
	    inet_pton(family, server_ip, t->addr[PCAPGEN_TO_CLIENT]) != 1) {
		fprintf(stderr, "pcapgen: bad address pair %s, %s\n", client_ip, server_ip);
		return -1;
	}
	t->g = g;
	t->family = family;
	t->port[PCAPGEN_TO_SERVER] = client_port;
	t->port[PCAPGEN_TO_CLIENT] = server_port;
	client_isn = opts->client_isn ? opts->client_isn : DEFAULT_CLIENT_ISN;
	server_isn = opts->server_isn ? opts->server_isn : DEFAULT_SERVER_ISN;
	/* As after the handshake; pcapgen_tcp_handshake writes it out. */
	t->next_seq[PCAPGEN_TO_SERVER] = client_isn + 1;
	t->next_seq[PCAPGEN_TO_CLIENT] = server_isn + 1;
	t->rcv_next[PCAPGEN_TO_SERVER] = server_isn + 1;
	t->rcv_next[PCAPGEN_TO_CLIENT] = client_isn + 1;
	t->ip_id[PCAPGEN_TO_SERVER] = 0x1000;
	t->ip_id[PCAPGEN_TO_CLIENT] = 0x2000;
	t->mss = opts->mss ? opts->mss : DEFAULT_MSS;
	t->window = opts->window ? opts->window : DEFAULT_WINDOW;
	t->vlan = opts->vlan;
	t->vlan_id = opts->vlan_id;
	t->no_auto_ack = opts->no_auto_ack;
	return 0;
}

static int write_tcp(struct pcapgen_tcp *t, enum pcapgen_dir dir, uint32_t seq, uint32_t ack,
		     uint8_t flags, const uint8_t *data, size_t len)
{
	enum pcapgen_dir other = dir == PCAPGEN_TO_SERVER ? PCAPGEN_TO_CLIENT : PCAPGEN_TO_SERVER;
	bool v6 = t->family == AF_INET6;
	size_t link_len = 0, ip_len = v6 ? IPV6_HLEN : IPV4_HLEN;
	size_t opt_len = (flags & PCAPGEN_SYN) ? TCP_MSS_OPT_LEN : 0;
	size_t tcp_len = TCP_HLEN + opt_len + len, total;
	uint8_t *frame, *ip, *tcp;
	uint32_t sum;
	int rc;

	if (t->g->link == PCAPGEN_LINK_ETHERNET)
		link_len = ETH_HLEN + (t->vlan ? VLAN_HLEN : 0);
	if (tcp_len > 65535 - IPV4_HLEN) {
		fprintf(stderr, "pcapgen: segment of %zu bytes is too long\n", len);
		t->g->failed = true;
		return -1;
	}
	total = link_len + ip_len + tcp_len;
	frame = calloc(1, total);
	if (!frame) {
		fprintf(stderr, "pcapgen: out of memory\n");
		t->g->failed = true;
		return -1;
	}
	if (link_len) {
		memcpy(frame, mac[other], 6);
		memcpy(frame + 6, mac[dir], 6);
		if (t->vlan) {
			put_be16(frame + 12, 0x8100);
			put_be16(frame + 14, t->vlan_id & 0x0fff);
			put_be16(frame + 16, v6 ? 0x86dd : 0x0800);
		} else {
			put_be16(frame + 12, v6 ? 0x86dd : 0x0800);
		}
	}
	ip = frame + link_len;
	tcp = ip + ip_len;
	if (v6) {
		put_be32(ip, 0x60000000u);
		put_be16(ip + 4, (uint16_t)tcp_len);
		ip[6] = 6; /* TCP */
		ip[7] = 64;
		memcpy(ip + 8, t->addr[dir], 16);
		memcpy(ip + 24, t->addr[other], 16);
	} else {
		ip[0] = 0x45;
		put_be16(ip + 2, (uint16_t)(IPV4_HLEN + tcp_len));
		put_be16(ip + 4, t->ip_id[dir]++);
		put_be16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, t->addr[dir], 4);
		memcpy(ip + 16, t->addr[other], 4);
		put_be16(ip + 10, fold_sum(sum_be16(0, ip, IPV4_HLEN)));
	}
	put_be16(tcp, t->port[dir]);
	put_be16(tcp + 2, t->port[other]);
	put_be32(tcp + 4, seq);
	put_be32(tcp + 8, (flags & PCAPGEN_ACK) ? ack : 0);
	tcp[12] = (uint8_t)(((TCP_HLEN + opt_len) / 4) << 4);
	tcp[13] = flags;
	put_be16(tcp + 14, t->window);
	if (opt_len) {
		tcp[20] = 2; /* MSS */
		tcp[21] = 4;
		put_be16(tcp + 22, t->mss);
	}
	if (len)
		memcpy(tcp + TCP_HLEN + opt_len, data, len);

	/* Pseudo-header: addresses, protocol, TCP length. */
	sum = v6 ? sum_be16(0, ip + 8, 32) : sum_be16(0, ip + 12, 8);
	sum += 6;
	sum += (uint32_t)(tcp_len >> 16) + (uint32_t)(tcp_len & 0xffff);
	sum = sum_be16(sum, tcp, tcp_len);
	put_be16(tcp + 16, fold_sum(sum));

	rc = pcapgen_write_frame(t->g, frame, total);
	free(frame);
	return rc;
}

int pcapgen_tcp_segment(struct pcapgen_tcp *t, enum pcapgen_dir dir, int64_t seq_delta,
			uint8_t flags, const void *data, size_t len)
{
	uint32_t seq = t->next_seq[dir] + (uint32_t)seq_delta;

	return write_tcp(t, dir, seq, t->rcv_next[dir], flags, data, len);
}

int pcapgen_tcp_handshake(struct pcapgen_tcp *t)
{
	uint32_t client_isn = t->next_seq[PCAPGEN_TO_SERVER] - 1;
	uint32_t server_isn = t->next_seq[PCAPGEN_TO_CLIENT] - 1;

	if (write_tcp(t, PCAPGEN_TO_SERVER, client_isn, 0, PCAPGEN_SYN, NULL, 0) < 0 ||
	    write_tcp(t, PCAPGEN_TO_CLIENT, server_isn, client_isn + 1, PCAPGEN_SYN | PCAPGEN_ACK,
		      NULL, 0) < 0 ||
	    write_tcp(t, PCAPGEN_TO_SERVER, client_isn + 1, server_isn + 1, PCAPGEN_ACK, NULL, 0) < 0)
		return -1;
	return 0;
}

int pcapgen_tcp_ack(struct pcapgen_tcp *t, enum pcapgen_dir dir)
{
	return write_tcp(t, dir, t->next_seq[dir], t->rcv_next[dir], PCAPGEN_ACK, NULL, 0);
}

struct cut {
	size_t off;
	size_t len;
};

/* Segment boundaries: the requested sizes first, then mss-sized pieces. */
static int plan_segments(const struct pcapgen_tcp *t, size_t len, const struct pcapgen_send *send,
			 struct cut **cuts, size_t *n)
{
	size_t cap = 8, off = 0, i = 0;
	struct cut *c = malloc(cap * sizeof(*c));

	if (!c)
		return -1;
	*n = 0;
	while (off < len) {
		size_t want = t->mss;

		if (send && i < send->n_split && send->split[i] > 0)
			want = send->split[i];
		if (want > len - off)
			want = len - off;
		if (*n == cap) {
			struct cut *bigger = realloc(c, 2 * cap * sizeof(*c));

			if (!bigger) {
				free(c);
				return -1;
			}
			c = bigger;
			cap *= 2;
		}
		c[*n].off = off;
		c[*n].len = want;
		(*n)++;
		off += want;
		i++;
	}
	*cuts = c;
	return 0;
}

static bool fault(uint32_t mask, size_t seg)
{
	return seg < MAX_FAULT_SEGMENTS && (mask >> seg) & 1u;
}

int pcapgen_tcp_send(struct pcapgen_tcp *t, enum pcapgen_dir dir, const void *data, size_t len,
		     const struct pcapgen_send *send)
{
	static const struct pcapgen_send plain;
	enum pcapgen_dir other = dir == PCAPGEN_TO_SERVER ? PCAPGEN_TO_CLIENT : PCAPGEN_TO_SERVER;
	const uint8_t *bytes = data;
	uint32_t start = t->next_seq[dir], received_to = start + (uint32_t)len;
	struct cut *cuts = NULL;
	size_t n = 0, k;
	bool hole = false;
	int rc = 0;

	if (!send)
		send = &plain;
	if (plan_segments(t, len, send, &cuts, &n) < 0) {
		fprintf(stderr, "pcapgen: out of memory\n");
		t->g->failed = true;
		return -1;
	}
	for (k = 0; k < n && rc == 0; k++) {
		size_t order[2], m = 1, j;

		order[0] = k;
		if (fault(send->swap_mask, k) && k + 1 < n) {
			order[0] = k + 1;
			order[1] = k;
			m = 2;
			k++;
		}
		for (j = 0; j < m && rc == 0; j++) {
			const struct cut *c = &cuts[order[j]];
			uint8_t flags = PCAPGEN_ACK | (order[j] + 1 == n ? PCAPGEN_PSH : 0);
			int copies = fault(send->dup_mask, order[j]) ? 2 : 1;

			if (fault(send->drop_mask, order[j])) {
				if (!hole)
					received_to = start + (uint32_t)c->off;
				hole = true;
				continue;
			}
			while (copies-- > 0 && rc == 0)
				rc = write_tcp(t, dir, start + (uint32_t)c->off, t->rcv_next[dir], flags,
					       bytes + c->off, c->len);
		}
	}
	free(cuts);
	if (rc < 0)
		return -1;
	t->next_seq[dir] = start + (uint32_t)len;
	/* The receiver acknowledges up to the first hole, if it was in step. */
	if (t->rcv_next[other] == start)
		t->rcv_next[other] = received_to;
	if (!t->no_auto_ack && len)
		return pcapgen_tcp_ack(t, other);
	return 0;
}

int pcapgen_tcp_send_str(struct pcapgen_tcp *t, enum pcapgen_dir dir, const char *s)
{
	return pcapgen_tcp_send(t, dir, s, strlen(s), NULL);
}

int pcapgen_tcp_close(struct pcapgen_tcp *t, enum pcapgen_dir first)
{
	enum pcapgen_dir second = first == PCAPGEN_TO_SERVER ? PCAPGEN_TO_CLIENT : PCAPGEN_TO_SERVER;

	if (write_tcp(t, first, t->next_seq[first], t->rcv_next[first], PCAPGEN_FIN | PCAPGEN_ACK,
		      NULL, 0) < 0)
		return -1;
	t->next_seq[first]++;
	if (t->rcv_next[second] == t->next_seq[first] - 1)
		t->rcv_next[second]++;
	if (write_tcp(t, second, t->next_seq[second], t->rcv_next[second],
		      PCAPGEN_FIN | PCAPGEN_ACK, NULL, 0) < 0)
		return -1;
	t->next_seq[second]++;
	if (t->rcv_next[first] == t->next_seq[second] - 1)
		t->rcv_next[first]++;
	return pcapgen_tcp_ack(t, first);
}

int pcapgen_tcp_reset(struct pcapgen_tcp *t, enum pcapgen_dir dir)
{
	return write_tcp(t, dir, t->next_seq[dir], t->rcv_next[dir], PCAPGEN_RST | PCAPGEN_ACK, NULL,
			 0);
}
