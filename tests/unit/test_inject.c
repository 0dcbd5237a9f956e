/* Segments the inline engine originates, without a kernel: two IRC
 * clients of one server go through one engine as synthetic IPv4 packets
 * with the link facts a bridge's queue gives (the port each direction
 * leaves through, the sender's MAC). A message one writes to the other is
 * taken off the wire, acknowledged in the server's name and injected
 * towards the other in segments of the engine's own, which it resends
 * until they are acknowledged. Model endpoints take every packet that
 * comes out (verdicts and originated segments), check its checksums and
 * keep the bytes they get in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imwire/byteorder.h"
#include "inline/engine.h"
#include "packet/packet.h"
#include "route/router.h"
#include "testlib.h"

#define SERVER_PORT 6667
#define PORT_TO_CLIENTS 7 /* the bridge port server->client packets leave through */
#define PORT_TO_SERVER 8
#define SERVER_WINDOW 29200
#define CLIENT_WINDOW 64240
#define MAX_SENT 256
#define MAX_ORIG 32
#define MAX_LOGGED 64

static const uint8_t server_ip[4] = { 10, 0, 0, 2 };
static const uint8_t server_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

/* One TCP connection of a client to the server, and what each end got. */
struct conn {
	const char *nick;
	uint8_t ip[4];
	uint8_t mac[6];
	uint16_t port;
	uint32_t c_next; /* the client's next seq (its own numbers) */
	uint32_t s_next; /* the server's next seq (its own numbers) */
	uint32_t c_rcv;  /* the next seq the client expects */
	uint32_t s_rcv;
	uint32_t c_last_ack; /* the last ack each end was given */
	uint32_t s_last_ack;
	char c_got[8192]; /* bytes the client got, in order */
	size_t c_got_len;
	char s_got[8192];
	size_t s_got_len;
};

struct logged {
	enum im_kind kind;
	enum im_dir dir;
	char local[64];
	char remote[64];
	char text[256];
	char route[16];
	char route_to[64];
	bool filtered;
};

/* A packet the engine made up, as it came out. */
struct orig {
	uint8_t bytes[2048];
	size_t len;
	struct egress_link link;
};

struct harness {
	struct engine e;
	struct engine_outq q;
	struct router *router;
	struct route_table *table;
	bool with_link;
	struct conn alice, bob;
	uint8_t *sent[MAX_SENT];
	size_t sent_len[MAX_SENT];
	uint32_t next_id;
	double now;
	/* what the last engine call gave */
	int last_verdict;     /* of the packet sent, -1 while it is held */
	uint8_t last_out[2048]; /* its bytes as they went on */
	size_t last_out_len;
	struct orig orig[MAX_ORIG];
	size_t n_orig;
	struct logged log[MAX_LOGGED];
	size_t n_log;
	int bad_checksums;
	int gaps;     /* data a receiver got past a hole */
	int conflicts; /* a byte resent with another value */
};

static char tmpdir[] = "/tmp/imw-inject-XXXXXX";

/* ---- packets ------------------------------------------------------------ */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Both checksums of an IPv4/TCP packet, computed here from scratch. */
static bool checksums_ok(const uint8_t *ip, size_t len)
{
	size_t ihl = (size_t)(ip[0] & 0x0F) * 4, tcp_len;
	uint8_t pseudo[12];

	if (len < ihl + 20 || imw_load_be16(ip + 2) != len)
		return false;
	if (fold(sum16(ip, ihl, 0)) != 0)
		return false;
	tcp_len = len - ihl;
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 6;
	imw_store_be16(pseudo + 10, (uint16_t)tcp_len);
	return fold(sum16(ip + ihl, tcp_len, sum16(pseudo, 12, 0))) == 0;
}

static void fill_checksums(uint8_t *p, size_t total)
{
	uint8_t pseudo[12];

	imw_store_be16(p + 10, 0);
	imw_store_be16(p + 10, fold(sum16(p, 20, 0)));
	imw_store_be16(p + 36, 0);
	memcpy(pseudo, p + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 6;
	imw_store_be16(pseudo + 10, (uint16_t)(total - 20));
	imw_store_be16(p + 36, fold(sum16(p + 20, total - 20, sum16(pseudo, 12, 0))));
}

static size_t make_packet(uint8_t *p, const struct conn *c, bool from_client, uint32_t seq,
			  uint32_t ack, uint8_t flags, const char *payload, size_t plen)
{
	bool syn = flags & TCP_FLAG_SYN;
	size_t opt = syn ? 4 : 0, total = 20 + 20 + opt + plen;

	memset(p, 0, 40 + opt);
	p[0] = 0x45;
	imw_store_be16(p + 2, (uint16_t)total);
	imw_store_be16(p + 4, (uint16_t)(seq & 0xFFFF));
	p[6] = 0x40; /* DF */
	p[8] = 64;
	p[9] = 6;
	memcpy(p + 12, from_client ? c->ip : server_ip, 4);
	memcpy(p + 16, from_client ? server_ip : c->ip, 4);
	imw_store_be16(p + 20, from_client ? c->port : SERVER_PORT);
	imw_store_be16(p + 22, from_client ? SERVER_PORT : c->port);
	imw_store_be32(p + 24, seq);
	imw_store_be32(p + 28, ack);
	p[32] = (uint8_t)((5 + opt / 4) << 4);
	p[33] = flags;
	imw_store_be16(p + 34, from_client ? CLIENT_WINDOW : SERVER_WINDOW);
	if (syn) {
		p[40] = 2, p[41] = 4;
		/* Clients announce the smallest MSS, so a long delivery is cut. */
		imw_store_be16(p + 42, from_client ? 536 : 1460);
	}
	memcpy(p + 40 + opt, payload, plen);
	fill_checksums(p, total);
	return total;
}

static struct conn *conn_of_port(struct harness *h, uint16_t port)
{
	if (port == h->alice.port)
		return &h->alice;
	if (port == h->bob.port)
		return &h->bob;
	return NULL;
}

/* A packet reaches the end it is addressed to. */
static void arrive(struct harness *h, const uint8_t *pkt, size_t len)
{
	struct packet pp;
	const char *why;
	bool to_server;
	struct conn *c;
	uint32_t *rcv, *last_ack;
	char *got;
	size_t *got_len, i;

	if (!checksums_ok(pkt, len))
		h->bad_checksums++;
	memset(&pp, 0, sizeof(pp));
	if (packet_parse_ip(pkt, len, len, &pp, &why) != PACKET_OK) {
		h->bad_checksums++;
		return;
	}
	to_server = pp.dport == SERVER_PORT;
	c = conn_of_port(h, to_server ? pp.sport : pp.dport);
	if (!c)
		return;
	rcv = to_server ? &c->s_rcv : &c->c_rcv;
	last_ack = to_server ? &c->s_last_ack : &c->c_last_ack;
	got = to_server ? c->s_got : c->c_got;
	got_len = to_server ? &c->s_got_len : &c->c_got_len;
	if (pp.tcp_flags & TCP_FLAG_ACK)
		*last_ack = pp.ack;
	if (pp.tcp_flags & TCP_FLAG_SYN) {
		*rcv = pp.seq + 1;
		return;
	}
	if (!pp.payload_len)
		return;
	if (pp.seq == *rcv) {
		if (*got_len + pp.payload_len <= sizeof(c->c_got)) {
			memcpy(got + *got_len, pp.payload, pp.payload_len);
			*got_len += pp.payload_len;
		}
		*rcv += (uint32_t)pp.payload_len;
	} else if ((int32_t)(pp.seq - *rcv) < 0) {
		/* Again: what overlaps must be what was got before. */
		uint32_t back = *rcv - pp.seq;

		for (i = 0; i < pp.payload_len && i < back; i++)
			if (back - i <= *got_len && got[*got_len - (back - i)] != (char)pp.payload[i])
				h->conflicts++;
	} else {
		h->gaps++;
	}
}

static void drain(struct harness *h, uint32_t current_id)
{
	size_t i;

	for (i = 0; i < h->q.n; i++) {
		const struct verdict *o = &h->q.v[i];
		bool modified = o->kind == VERDICT_ACCEPT_MODIFIED;
		const uint8_t *bytes;
		size_t len;

		if (o->id >= MAX_SENT) {
			CHECK(o->id < MAX_SENT);
			continue;
		}
		bytes = modified ? h->q.bytes.data + o->offset : h->sent[o->id];
		len = modified ? o->len : h->sent_len[o->id];
		if (o->id == current_id) {
			h->last_verdict = (int)o->kind;
			h->last_out_len = 0;
			if (o->kind != VERDICT_DROP && len <= sizeof(h->last_out)) {
				memcpy(h->last_out, bytes, len);
				h->last_out_len = len;
			}
		}
		if (o->kind != VERDICT_DROP && bytes)
			arrive(h, bytes, len);
	}
	h->n_orig = 0;
	for (i = 0; i < h->q.n_orig; i++) {
		const struct engine_origin *o = &h->q.orig[i];

		if (h->n_orig < MAX_ORIG && o->len <= sizeof(h->orig[0].bytes)) {
			memcpy(h->orig[h->n_orig].bytes, h->q.bytes.data + o->offset, o->len);
			h->orig[h->n_orig].len = o->len;
			h->orig[h->n_orig].link = o->link;
			h->n_orig++;
		}
		arrive(h, h->q.bytes.data + o->offset, o->len);
	}
	engine_outq_clear(&h->q);
}

static void link_for(const struct conn *c, bool from_client, struct engine_packet_link *l)
{
	memset(l, 0, sizeof(*l));
	l->outdev = 3; /* the bridge */
	l->physoutdev = from_client ? PORT_TO_SERVER : PORT_TO_CLIENTS;
	l->has_mac = true;
	memcpy(l->src_mac, from_client ? c->mac : server_mac, 6);
}

/* One end sends: data from its next seq, acking what it got. */
static void send_pkt(struct harness *h, struct conn *c, bool from_client, uint8_t flags,
		     const char *payload)
{
	uint8_t buf[2048];
	size_t plen = strlen(payload), n;
	uint32_t id = h->next_id++;
	uint32_t *next = from_client ? &c->c_next : &c->s_next;
	uint32_t ack = from_client ? c->c_rcv : c->s_rcv;
	struct engine_packet_link link;

	if (id >= MAX_SENT) {
		CHECK(id < MAX_SENT);
		return;
	}
	n = make_packet(buf, c, from_client, *next, (flags & TCP_FLAG_ACK) ? ack : 0, flags, payload,
			plen);
	h->sent[id] = malloc(n);
	if (!h->sent[id]) {
		CHECK(h->sent[id] != NULL);
		return;
	}
	memcpy(h->sent[id], buf, n);
	h->sent_len[id] = n;
	*next += (uint32_t)plen + ((flags & (TCP_FLAG_SYN | TCP_FLAG_FIN)) ? 1 : 0);
	h->last_verdict = -1;
	link_for(c, from_client, &link);
	if (h->with_link)
		engine_packet_with_link(&h->e, id, buf, n, false, &link, h->now, &h->q);
	else
		engine_packet(&h->e, id, buf, n, false, h->now, &h->q);
	drain(h, id);
}

/* The client acks up to a point of its own choosing. */
static void client_acks_upto(struct harness *h, struct conn *c, uint32_t ack)
{
	uint32_t saved = c->c_rcv;

	c->c_rcv = ack;
	send_pkt(h, c, true, TCP_FLAG_ACK, "");
	c->c_rcv = saved;
}

#define CLIENT_SAYS(h, c, s) send_pkt((h), (c), true, TCP_FLAG_ACK | TCP_FLAG_PSH, (s))
#define SERVER_SAYS(h, c, s) send_pkt((h), (c), false, TCP_FLAG_ACK | TCP_FLAG_PSH, (s))
#define CLIENT_ACKS(h, c) send_pkt((h), (c), true, TCP_FLAG_ACK, "")
#define SERVER_ACKS(h, c) send_pkt((h), (c), false, TCP_FLAG_ACK, "")

static void tick(struct harness *h, double now)
{
	h->now = now;
	engine_tick(&h->e, now, &h->q);
	drain(h, UINT32_MAX);
}

/* ---- the engine --------------------------------------------------------- */

static void on_log(void *arg, const struct im_event *ev)
{
	struct harness *h = arg;
	struct logged *l;

	if (h->n_log == MAX_LOGGED)
		return;
	l = &h->log[h->n_log++];
	memset(l, 0, sizeof(*l));
	l->kind = ev->kind;
	l->dir = ev->dir;
	l->filtered = ev->filtered;
	snprintf(l->local, sizeof(l->local), "%s", ev->local ? ev->local : "");
	snprintf(l->remote, sizeof(l->remote), "%s", ev->remote ? ev->remote : "");
	snprintf(l->text, sizeof(l->text), "%s", ev->text ? ev->text : "");
	snprintf(l->route, sizeof(l->route), "%s", ev->route ? ev->route : "");
	snprintf(l->route_to, sizeof(l->route_to), "%s", ev->route_to ? ev->route_to : "");
}

/* The last logged message event with this text. */
static const struct logged *logged_message(const struct harness *h, enum im_dir dir,
					   const char *text)
{
	size_t i = h->n_log;

	while (i-- > 0)
		if (h->log[i].kind == IM_KIND_MESSAGE && h->log[i].dir == dir &&
		    strcmp(h->log[i].text, text) == 0)
			return &h->log[i];
	return NULL;
}

static void init_conn(struct conn *c, const char *nick, uint8_t host, uint16_t port,
		      uint32_t c_isn, uint32_t s_isn)
{
	memset(c, 0, sizeof(*c));
	c->nick = nick;
	c->ip[0] = 10, c->ip[3] = host;
	c->mac[0] = 0x02, c->mac[5] = host;
	c->port = port;
	c->c_next = c_isn;
	c->s_next = s_isn;
}

static bool setup(struct harness *h, bool with_link)
{
	char path[300], err[512];
	struct imw_config cfg;
	struct engine_config ec;
	FILE *f;

	memset(h, 0, sizeof(*h));
	h->with_link = with_link;
	h->now = 1000.0;
	init_conn(&h->alice, "alice", 1, 40001, 1000000, 5000000);
	/* bob's numbers wrap while the test runs */
	init_conn(&h->bob, "bob", 3, 40002, 2000000, 0xFFFFFF00u);
	engine_outq_init(&h->q);
	snprintf(path, sizeof(path), "%s/inject.conf", tmpdir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return false;
	fputs("local_routing=irc\nbot_auditbot=auditbot@irc\n", f);
	fclose(f);
	config_init(&cfg);
	if (config_load(&cfg, path, err, sizeof(err), NULL) == 0)
		h->router = router_new(&cfg, 1, err, sizeof(err));
	config_free(&cfg);
	CHECK(h->router != NULL);
	if (!h->router) {
		fprintf(stderr, "  %s\n", err);
		return false;
	}
	/* No policy: the router's handlers alone decide. */
	h->table = route_table_build(NULL, h->router);
	CHECK(h->table != NULL);
	engine_config_defaults(&ec);
	ec.table = h->table;
	ec.router = h->router;
	ec.worker = 0;
	ec.mss_headroom = 0;
	CHECK_INT_EQ(engine_init(&h->e, &ec, on_log, h), 0);
	return true;
}

static void teardown(struct harness *h)
{
	size_t i;

	engine_destroy(&h->e, &h->q);
	drain(h, UINT32_MAX);
	engine_outq_free(&h->q);
	route_table_unref(h->table);
	router_free(h->router);
	for (i = 0; i < MAX_SENT; i++)
		free(h->sent[i]);
}

/* Handshake, registration, and the server's welcome with the full
 * address, which the others see the user under. */
static void login(struct harness *h, struct conn *c)
{
	char line[256];

	send_pkt(h, c, true, TCP_FLAG_SYN, "");
	send_pkt(h, c, false, TCP_FLAG_SYN | TCP_FLAG_ACK, "");
	CLIENT_ACKS(h, c);
	snprintf(line, sizeof(line), "NICK %s\r\nUSER %c 0 * :%s\r\n", c->nick, c->nick[0], c->nick);
	CLIENT_SAYS(h, c, line);
	snprintf(line, sizeof(line),
		 ":irc.test 001 %s :Welcome to the Internet Relay Network %s!~%c@10.0.0.%u\r\n",
		 c->nick, c->nick, c->nick[0], c->ip[3]);
	SERVER_SAYS(h, c, line);
	CLIENT_ACKS(h, c);
	CHECK_INT_EQ(c->c_got_len, strlen(line));
}

static bool login_both(struct harness *h, bool with_link)
{
	struct route_stats st;

	if (!setup(h, with_link))
		return false;
	login(h, &h->alice);
	login(h, &h->bob);
	router_get_stats(h->router, &st);
	CHECK_INT_EQ(st.sessions, 2);
	return true;
}

static bool ends_with(const char *got, size_t len, const char *tail)
{
	size_t n = strlen(tail);

	return len >= n && memcmp(got + len - n, tail, n) == 0;
}

static void check_tail(const char *got, size_t len, const char *tail)
{
	CHECK(ends_with(got, len, tail));
	if (!ends_with(got, len, tail))
		fprintf(stderr, "  got \"%.*s\", want it to end with \"%s\"\n", (int)len, got, tail);
}

struct seg {
	bool ok;
	struct packet p;
};

static struct seg parse_orig(const struct orig *o)
{
	struct seg s;
	const char *why;

	memset(&s, 0, sizeof(s));
	s.ok = packet_parse_ip(o->bytes, o->len, o->len, &s.p, &why) == PACKET_OK &&
	       checksums_ok(o->bytes, o->len);
	return s;
}

static bool payload_is(const struct packet *p, const char *text)
{
	return p->payload_len == strlen(text) && memcmp(p->payload, text, p->payload_len) == 0;
}

/* An originated segment towards a client: from the server's address and
 * port, out of the port the server's packets take, between the server's
 * and the client's MACs. */
static void check_towards_client(const struct orig *o, const struct seg *s, const struct conn *c)
{
	CHECK(s->ok);
	CHECK_INT_EQ(s->p.ip_version, 4);
	CHECK_MEM_EQ(s->p.src, server_ip, 4);
	CHECK_MEM_EQ(s->p.dst, c->ip, 4);
	CHECK_INT_EQ(s->p.sport, SERVER_PORT);
	CHECK_INT_EQ(s->p.dport, c->port);
	CHECK_INT_EQ(s->p.window, SERVER_WINDOW);
	CHECK(o->link.have_macs);
	CHECK_INT_EQ(o->link.ifindex, PORT_TO_CLIENTS);
	CHECK_MEM_EQ(o->link.src_mac, server_mac, 6);
	CHECK_MEM_EQ(o->link.dst_mac, c->mac, 6);
	CHECK_INT_EQ(o->bytes[8], 64); /* the server's TTL */
	CHECK(o->bytes[6] & 0x40);     /* DF */
}

/* ---- tests -------------------------------------------------------------- */

static void test_message_to_local_user(void)
{
	struct harness h;
	const char *line = ":alice!~a@10.0.0.1 PRIVMSG bob :hi there\r\n";
	const char *back = ":bob!~b@10.0.0.3 PRIVMSG alice :hello alice\r\n";
	uint32_t alice_s, bob_s, server_got;
	const struct logged *l;
	struct seg ack, data;

	if (!login_both(&h, true))
		goto out;
	alice_s = h.alice.s_next;
	bob_s = h.bob.s_next;
	server_got = (uint32_t)h.alice.s_got_len;
	CLIENT_SAYS(&h, &h.alice, "PRIVMSG bob :hi there\r\n");
	CHECK_INT_EQ(h.last_verdict, VERDICT_DROP);
	CHECK_INT_EQ(h.n_orig, 2);
	if (h.n_orig != 2)
		goto out;
	/* (a) alice hears from "the server" that it got her line. */
	ack = parse_orig(&h.orig[0]);
	check_towards_client(&h.orig[0], &ack, &h.alice);
	CHECK_INT_EQ(ack.p.tcp_flags, TCP_FLAG_ACK);
	CHECK_INT_EQ(ack.p.payload_len, 0);
	CHECK_INT_EQ(ack.p.seq, alice_s);
	CHECK_INT_EQ(ack.p.ack, h.alice.c_next);
	CHECK_INT_EQ(h.alice.c_last_ack, h.alice.c_next);
	/* (b) bob gets it from alice's full address, at his stream's end. */
	data = parse_orig(&h.orig[1]);
	check_towards_client(&h.orig[1], &data, &h.bob);
	CHECK_INT_EQ(data.p.tcp_flags, TCP_FLAG_ACK | TCP_FLAG_PSH);
	CHECK_INT_EQ(data.p.seq, bob_s);
	CHECK_INT_EQ(data.p.ack, h.bob.c_next);
	CHECK(payload_is(&data.p, line));
	check_tail(h.bob.c_got, h.bob.c_got_len, line);
	/* The server never saw it. */
	CHECK_INT_EQ(h.alice.s_got_len, server_got);
	CHECK_INT_EQ(h.e.stats.routed_local, 1);
	CHECK_INT_EQ(h.e.stats.deliveries, 1);
	CHECK_INT_EQ(h.e.stats.deliveries_delayed, 0);
	CHECK_INT_EQ(h.e.stats.deletions_acked, 1);
	CHECK_INT_EQ(h.e.stats.segments_originated, 2);
	/* The log: alice's line routed to bob, and the delivery to bob. */
	l = logged_message(&h, IM_DIR_OUT, "hi there");
	CHECK(l != NULL);
	if (l) {
		CHECK_STR_EQ(l->route, "local");
		CHECK_STR_EQ(l->route_to, "bob@irc");
		CHECK_STR_EQ(l->local, "alice");
		CHECK_STR_EQ(l->remote, "bob");
		CHECK(!l->filtered);
	}
	l = logged_message(&h, IM_DIR_IN, "hi there");
	CHECK(l != NULL);
	if (l) {
		CHECK_STR_EQ(l->route, "local");
		CHECK_STR_EQ(l->route_to, "bob@irc");
		CHECK_STR_EQ(l->local, "bob");
		CHECK_STR_EQ(l->remote, "alice");
	}

	/* bob acks it; the server gets an ack of its own bytes only. */
	CLIENT_ACKS(&h, &h.bob);
	CHECK_INT_EQ(h.last_verdict, VERDICT_ACCEPT_MODIFIED);
	CHECK_INT_EQ(h.bob.s_last_ack, h.bob.s_next);
	CHECK_INT_EQ(h.bob.s_last_ack, bob_s);
	/* The server's next line to bob comes after the injected one. */
	SERVER_SAYS(&h, &h.bob, ":irc.test NOTICE bob :later\r\n");
	CHECK_INT_EQ(h.last_verdict, VERDICT_ACCEPT_MODIFIED);
	if (h.last_out_len > 24)
		CHECK_INT_EQ(imw_load_be32(h.last_out + 24), bob_s + (uint32_t)strlen(line));
	check_tail(h.bob.c_got, h.bob.c_got_len,
		   ":alice!~a@10.0.0.1 PRIVMSG bob :hi there\r\n:irc.test NOTICE bob :later\r\n");
	CLIENT_ACKS(&h, &h.bob);
	CHECK_INT_EQ(h.bob.s_last_ack, h.bob.s_next);
	/* Acknowledged: nothing to resend, ever. */
	tick(&h, h.now + 1.0);
	tick(&h, h.now + 30.0);
	CHECK_INT_EQ(h.n_orig, 0);
	CHECK_INT_EQ(h.e.stats.origin_retransmits, 0);

	/* And back, from bob's full address. */
	CLIENT_SAYS(&h, &h.bob, "PRIVMSG alice :hello alice\r\n");
	CHECK_INT_EQ(h.last_verdict, VERDICT_DROP);
	CHECK_INT_EQ(h.n_orig, 2);
	check_tail(h.alice.c_got, h.alice.c_got_len, back);
	CHECK_INT_EQ(h.bob.c_last_ack, h.bob.c_next);
	CLIENT_ACKS(&h, &h.alice);
	CHECK_INT_EQ(h.alice.s_last_ack, h.alice.s_next);
	/* alice's next real line goes to the server with her numbers shifted
	 * back past the deleted one, and the server's ack comes back shifted. */
	CLIENT_SAYS(&h, &h.alice, "JOIN #talk\r\n");
	CHECK_INT_EQ(h.last_verdict, VERDICT_ACCEPT_MODIFIED);
	check_tail(h.alice.s_got, h.alice.s_got_len, "USER a 0 * :alice\r\nJOIN #talk\r\n");
	SERVER_ACKS(&h, &h.alice);
	CHECK_INT_EQ(h.alice.c_last_ack, h.alice.c_next);
	CHECK_INT_EQ(h.gaps, 0);
	CHECK_INT_EQ(h.conflicts, 0);
	CHECK_INT_EQ(h.bad_checksums, 0);
	CHECK_INT_EQ(h.e.stats.routed_local, 2);
out:
	teardown(&h);
}

static void test_retransmit_until_acked(void)
{
	struct harness h;
	struct orig first;
	struct seg a, b;
	double t;
	uint64_t resent;
	int k, n_ticks;

	if (!login_both(&h, true))
		goto out;
	CLIENT_SAYS(&h, &h.alice, "PRIVMSG bob :are you there?\r\n");
	CHECK_INT_EQ(h.n_orig, 2);
	if (h.n_orig != 2)
		goto out;
	first = h.orig[1];
	/* Too early. */
	tick(&h, h.now + 0.1);
	CHECK_INT_EQ(h.n_orig, 0);
	/* bob said nothing: the same bytes at the same place. */
	tick(&h, 1000.25);
	CHECK_INT_EQ(h.n_orig, 1);
	CHECK_INT_EQ(h.e.stats.origin_retransmits, 1);
	if (h.n_orig == 1) {
		a = parse_orig(&first);
		b = parse_orig(&h.orig[0]);
		check_towards_client(&h.orig[0], &b, &h.bob);
		CHECK_INT_EQ(b.p.seq, a.p.seq);
		CHECK_INT_EQ(b.p.ack, a.p.ack);
		CHECK(b.p.payload_len == a.p.payload_len &&
		      memcmp(b.p.payload, a.p.payload, a.p.payload_len) == 0);
	}
	/* The timeout doubled. */
	tick(&h, 1000.25 + 0.3);
	CHECK_INT_EQ(h.n_orig, 0);
	tick(&h, 1000.25 + 0.45);
	CHECK_INT_EQ(h.n_orig, 1);
	CHECK_INT_EQ(h.e.stats.origin_retransmits, 2);
	/* Acknowledged: quiet. */
	CLIENT_ACKS(&h, &h.bob);
	tick(&h, 1010.0);
	tick(&h, 1100.0);
	CHECK_INT_EQ(h.n_orig, 0);
	CHECK_INT_EQ(h.e.stats.origin_retransmits, 2);
	CHECK_INT_EQ(h.e.stats.origin_given_up, 0);
	check_tail(h.bob.c_got, h.bob.c_got_len, ":alice!~a@10.0.0.1 PRIVMSG bob :are you there?\r\n");

	/* Never acknowledged: resent a bounded number of times, then given up. */
	CLIENT_SAYS(&h, &h.alice, "PRIVMSG bob :hello?\r\n");
	CHECK_INT_EQ(h.n_orig, 2);
	resent = h.e.stats.origin_retransmits;
	t = h.now;
	n_ticks = 0;
	for (k = 0; k < 30 && !h.e.stats.origin_given_up; k++) {
		t += 6.0;
		tick(&h, t);
		n_ticks++;
	}
	CHECK_INT_EQ(h.e.stats.origin_given_up, 1);
	CHECK_INT_EQ(h.e.stats.origin_retransmits - resent, 10);
	CHECK_INT_EQ(n_ticks, 11);
	for (k = 0; k < 3; k++) {
		t += 6.0;
		tick(&h, t);
		CHECK_INT_EQ(h.n_orig, 0);
	}
	CHECK_INT_EQ(h.e.stats.origin_given_up, 1);
	CHECK_INT_EQ(h.gaps, 0);
	CHECK_INT_EQ(h.conflicts, 0);
	CHECK_INT_EQ(h.bad_checksums, 0);
out:
	teardown(&h);
}

/* A line towards bob has begun when alice writes to him: her message
 * must not land inside it, so it waits for the line's end and rides
 * right after it. held: the engine holds the half line (policy may still
 * change it) rather than sending it on. */
static void check_delivery_waits(const char *half, const char *rest, bool held)
{
	struct harness h;
	const char *line = ":alice!~a@10.0.0.1 PRIVMSG bob :hi there\r\n";
	char want[512], whole[256];
	const struct logged *l;
	size_t before;

	snprintf(whole, sizeof(whole), "%s%s", half, rest);
	if (!login_both(&h, true))
		goto out;
	before = h.bob.c_got_len;
	SERVER_SAYS(&h, &h.bob, half);
	CHECK_INT_EQ(h.last_verdict, held ? -1 : VERDICT_ACCEPT);
	CHECK_INT_EQ(h.bob.c_got_len, before + (held ? 0 : strlen(half)));
	/* alice's line is taken off the wire and acked at once; bob's copy
	 * waits. */
	CLIENT_SAYS(&h, &h.alice, "PRIVMSG bob :hi there\r\n");
	CHECK_INT_EQ(h.last_verdict, VERDICT_DROP);
	CHECK_INT_EQ(h.n_orig, 1);
	CHECK_INT_EQ(h.alice.c_last_ack, h.alice.c_next);
	CHECK_INT_EQ(h.e.stats.deliveries, 1);
	CHECK_INT_EQ(h.e.stats.deliveries_delayed, 1);
	CHECK_INT_EQ(h.bob.c_got_len, before + (held ? 0 : strlen(half)));
	l = logged_message(&h, IM_DIR_IN, "hi there");
	CHECK(l != NULL);
	if (l) {
		CHECK_STR_EQ(l->route, "delayed");
		CHECK_STR_EQ(l->route_to, "bob@irc");
	}
	/* The line completes: the message rides in the same segment. */
	SERVER_SAYS(&h, &h.bob, rest);
	CHECK_INT_EQ(h.last_verdict, VERDICT_ACCEPT_MODIFIED);
	snprintf(want, sizeof(want), "%s%s", rest, line);
	CHECK(h.last_out_len == 40 + strlen(want) && memcmp(h.last_out + 40, want, strlen(want)) == 0);
	snprintf(want, sizeof(want), "%s%s", whole, line);
	check_tail(h.bob.c_got, h.bob.c_got_len, want);
	CHECK_INT_EQ(h.bob.c_got_len, before + strlen(want));
	/* bob's ack of all of it reaches the server as an ack of its bytes. */
	CLIENT_ACKS(&h, &h.bob);
	CHECK_INT_EQ(h.bob.s_last_ack, h.bob.s_next);
	SERVER_SAYS(&h, &h.bob, ":irc.test NOTICE bob :next\r\n");
	snprintf(want, sizeof(want), "%s%s:irc.test NOTICE bob :next\r\n", whole, line);
	check_tail(h.bob.c_got, h.bob.c_got_len, want);
	CLIENT_ACKS(&h, &h.bob);
	CHECK_INT_EQ(h.bob.s_last_ack, h.bob.s_next);
	tick(&h, h.now + 5.0);
	CHECK_INT_EQ(h.n_orig, 0);
	CHECK_INT_EQ(h.gaps, 0);
	CHECK_INT_EQ(h.conflicts, 0);
	CHECK_INT_EQ(h.bad_checksums, 0);
out:
	teardown(&h);
}

/* Half of another user's message to bob: held. */
static void test_delivery_waits_for_held_line(void)
{
	check_delivery_waits(":carol!~c@10.0.0.9 PRIVMSG bob :first half", " and the rest\r\n", true);
}

/* Half of a line the server itself says (no policy edits those, so it
 * is not held): the delivery must wait all the same. */
static void test_delivery_waits_for_server_line(void)
{
	check_delivery_waits(":irc.test NOTICE bob :first half", " and the rest\r\n", false);
}

static void test_auditbot_reply(void)
{
	struct harness h;
	const char *reply = ":AuditBot!AuditBot@imwire PRIVMSG alice :auditbot commands: !policy "
			    "(the IM policy of this network), !help\r\n";
	const struct logged *l;
	uint32_t alice_s, alice_acked, server_got;
	struct seg ack, data;

	if (!login_both(&h, true))
		goto out;
	alice_s = h.alice.s_next;
	alice_acked = h.alice.c_last_ack;
	server_got = (uint32_t)h.alice.s_got_len;
	CLIENT_SAYS(&h, &h.alice, "PRIVMSG AuditBot :!help\r\n");
	CHECK_INT_EQ(h.last_verdict, VERDICT_DROP);
	CHECK_INT_EQ(h.n_orig, 2);
	if (h.n_orig != 2)
		goto out;
	ack = parse_orig(&h.orig[0]);
	check_towards_client(&h.orig[0], &ack, &h.alice);
	CHECK_INT_EQ(ack.p.payload_len, 0);
	CHECK_INT_EQ(ack.p.seq, alice_s);
	CHECK_INT_EQ(ack.p.ack, h.alice.c_next);
	data = parse_orig(&h.orig[1]);
	check_towards_client(&h.orig[1], &data, &h.alice);
	CHECK_INT_EQ(data.p.seq, alice_s);
	/* The reply carries the last ack the server itself sent (before the
	 * deleted line): older than the one just made up, which a receiver
	 * takes as an old, harmless ack; never one past what alice sent. */
	CHECK(data.p.ack == h.alice.c_next || data.p.ack == alice_acked);
	CHECK(payload_is(&data.p, reply));
	check_tail(h.alice.c_got, h.alice.c_got_len, reply);
	CHECK_INT_EQ(h.alice.s_got_len, server_got);
	CHECK_INT_EQ(h.e.stats.routed_bot, 1);
	CHECK_INT_EQ(h.e.stats.routed_local, 0);
	l = logged_message(&h, IM_DIR_OUT, "!help");
	CHECK(l != NULL);
	if (l) {
		CHECK_STR_EQ(l->route, "local");
		CHECK_STR_EQ(l->route_to, "AuditBot@irc");
	}
	l = logged_message(&h, IM_DIR_IN,
			   "auditbot commands: !policy (the IM policy of this network), !help");
	CHECK(l != NULL);
	if (l) {
		CHECK_STR_EQ(l->route, "injected");
		CHECK_STR_EQ(l->route_to, "alice@irc");
		CHECK_STR_EQ(l->local, "alice");
		CHECK_STR_EQ(l->remote, "AuditBot");
	}
	/* Anything else: a pointer to !help. */
	CLIENT_SAYS(&h, &h.alice, "PRIVMSG auditbot :hello\r\n");
	check_tail(h.alice.c_got, h.alice.c_got_len,
		   ":auditbot!auditbot@imwire PRIVMSG alice :I am the audit bot of this network. Try "
		   "!help.\r\n");
	/* The server's own lines follow the replies; acks map back. */
	CLIENT_ACKS(&h, &h.alice);
	CHECK_INT_EQ(h.alice.s_last_ack, h.alice.s_next);
	SERVER_SAYS(&h, &h.alice, ":irc.test NOTICE alice :still here\r\n");
	check_tail(h.alice.c_got, h.alice.c_got_len,
		   "Try !help.\r\n:irc.test NOTICE alice :still here\r\n");
	CLIENT_ACKS(&h, &h.alice);
	CHECK_INT_EQ(h.alice.s_last_ack, h.alice.s_next);
	tick(&h, h.now + 5.0);
	CHECK_INT_EQ(h.e.stats.origin_retransmits, 0);
	CHECK_INT_EQ(h.gaps, 0);
	CHECK_INT_EQ(h.conflicts, 0);
	CHECK_INT_EQ(h.bad_checksums, 0);
out:
	teardown(&h);
}

/* A delivery longer than the recipient's segments is cut to them, PSH on
 * the last; what the recipient acked is not sent again. bob's numbers
 * wrap on the way. */
static void test_long_delivery_in_segments(void)
{
	struct harness h;
	char text[521], said[600], line[600];
	struct seg a, b, r;
	uint32_t bob_s;

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	memcpy(text, "begin", 5);
	memcpy(text + sizeof(text) - 4, "end", 3);
	snprintf(said, sizeof(said), "PRIVMSG bob :%s\r\n", text);
	/* Delivered as two lines of at most 512 bytes (no blank to cut at). */
	snprintf(line, sizeof(line),
		 ":alice!~a@10.0.0.1 PRIVMSG bob :%.478s\r\n:alice!~a@10.0.0.1 PRIVMSG bob :%s\r\n",
		 text, text + 478);
	if (!login_both(&h, true))
		goto out;
	bob_s = h.bob.s_next;
	CLIENT_SAYS(&h, &h.alice, said);
	CHECK_INT_EQ(h.last_verdict, VERDICT_DROP);
	CHECK_INT_EQ(h.n_orig, 3);
	if (h.n_orig != 3)
		goto out;
	a = parse_orig(&h.orig[1]);
	b = parse_orig(&h.orig[2]);
	check_towards_client(&h.orig[1], &a, &h.bob);
	check_towards_client(&h.orig[2], &b, &h.bob);
	/* bob announced an MSS of 536 in his SYN. */
	CHECK_INT_EQ(a.p.payload_len, 536);
	CHECK_INT_EQ(b.p.payload_len, strlen(line) - 536);
	CHECK_INT_EQ(a.p.seq, bob_s);
	CHECK_INT_EQ(b.p.seq, bob_s + 536);
	CHECK_INT_EQ(a.p.tcp_flags, TCP_FLAG_ACK);
	CHECK_INT_EQ(b.p.tcp_flags, TCP_FLAG_ACK | TCP_FLAG_PSH);
	CHECK(a.p.seq > b.p.seq); /* wrapped in between */
	CHECK(imw_load_be16(h.orig[1].bytes + 4) != imw_load_be16(h.orig[2].bytes + 4));
	check_tail(h.bob.c_got, h.bob.c_got_len, line);
	/* bob acks the first segment only: the second alone goes again. */
	client_acks_upto(&h, &h.bob, bob_s + 536);
	tick(&h, h.now + 0.25);
	CHECK_INT_EQ(h.n_orig, 1);
	if (h.n_orig == 1) {
		r = parse_orig(&h.orig[0]);
		CHECK(r.ok);
		CHECK_INT_EQ(r.p.seq, bob_s + 536);
		CHECK_INT_EQ(r.p.payload_len, strlen(line) - 536);
		CHECK(r.p.payload_len == b.p.payload_len &&
		      memcmp(r.p.payload, line + 536, r.p.payload_len) == 0);
	}
	CLIENT_ACKS(&h, &h.bob);
	tick(&h, h.now + 10.0);
	CHECK_INT_EQ(h.n_orig, 0);
	CHECK_INT_EQ(h.e.stats.origin_retransmits, 1);
	SERVER_SAYS(&h, &h.bob, ":irc.test NOTICE bob :after the wrap\r\n");
	check_tail(h.bob.c_got, h.bob.c_got_len, "end\r\n:irc.test NOTICE bob :after the wrap\r\n");
	CLIENT_ACKS(&h, &h.bob);
	CHECK_INT_EQ(h.bob.s_last_ack, h.bob.s_next);
	CHECK_INT_EQ(h.gaps, 0);
	CHECK_INT_EQ(h.conflicts, 0);
	CHECK_INT_EQ(h.bad_checksums, 0);
out:
	teardown(&h);
}

/* bob's acks while a delivery is on its way, or half received, say
 * nothing new to the server: it had all its bytes acknowledged before,
 * and must never see its acknowledgement move back. */
static void test_server_ack_never_moves_back(void)
{
	struct harness h;
	char text[521], said[600];
	uint32_t bob_s;

	memset(text, 'y', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	snprintf(said, sizeof(said), "PRIVMSG bob :%s\r\n", text);
	if (!login_both(&h, true))
		goto out;
	bob_s = h.bob.s_next;
	CHECK_INT_EQ(h.bob.s_last_ack, bob_s);
	CLIENT_SAYS(&h, &h.alice, said);
	CHECK_INT_EQ(h.n_orig, 3);
	/* bob writes before the delivery reached him: his ack is where it was. */
	client_acks_upto(&h, &h.bob, bob_s);
	CHECK_INT_EQ(h.bob.s_last_ack, bob_s);
	/* He got the first segment only. */
	client_acks_upto(&h, &h.bob, bob_s + 536);
	CHECK_INT_EQ(h.bob.s_last_ack, bob_s);
	CLIENT_ACKS(&h, &h.bob);
	CHECK_INT_EQ(h.bob.s_last_ack, bob_s);
out:
	teardown(&h);
}

/* The deleted line is acknowledged in the server's name only when the
 * server has everything before it; otherwise the server's own ack, which
 * the engine maps past the deleted bytes, tells the client. A line routed
 * out of a segment with others leaves the rest to go on. */
static void test_deleted_line_acked_by_the_server_itself(void)
{
	struct harness h;
	uint32_t server_had;

	if (!login_both(&h, true))
		goto out;
	CLIENT_SAYS(&h, &h.alice, "JOIN #talk\r\n");
	server_had = h.alice.s_rcv;
	CLIENT_SAYS(&h, &h.alice, "PRIVMSG bob :quick one\r\n");
	CHECK_INT_EQ(h.last_verdict, VERDICT_DROP);
	/* Only bob's copy: the server still owes the ack of "JOIN". */
	CHECK_INT_EQ(h.n_orig, 1);
	CHECK_INT_EQ(h.e.stats.deletions_acked, 0);
	check_tail(h.bob.c_got, h.bob.c_got_len, ":alice!~a@10.0.0.1 PRIVMSG bob :quick one\r\n");
	CHECK(h.alice.c_last_ack != h.alice.c_next);
	SERVER_SAYS(&h, &h.alice, ":alice!~a@10.0.0.1 JOIN #talk\r\n");
	CHECK_INT_EQ(h.alice.s_rcv, server_had);
	CHECK_INT_EQ(h.alice.c_last_ack, h.alice.c_next);

	/* A routed line between two others in one segment. */
	CLIENT_SAYS(&h, &h.alice, "PRIVMSG #talk :before\r\nPRIVMSG bob :between\r\n"
				  "PRIVMSG #talk :after\r\n");
	CHECK_INT_EQ(h.last_verdict, VERDICT_ACCEPT_MODIFIED);
	check_tail(h.alice.s_got, h.alice.s_got_len,
		   "JOIN #talk\r\nPRIVMSG #talk :before\r\nPRIVMSG #talk :after\r\n");
	check_tail(h.bob.c_got, h.bob.c_got_len, ":alice!~a@10.0.0.1 PRIVMSG bob :between\r\n");
	SERVER_ACKS(&h, &h.alice);
	CHECK_INT_EQ(h.alice.c_last_ack, h.alice.c_next);
	CHECK_INT_EQ(h.e.stats.deletions_acked, 0);
	CHECK_INT_EQ(h.e.stats.routed_local, 2);
	CHECK_INT_EQ(h.gaps, 0);
	CHECK_INT_EQ(h.bad_checksums, 0);
out:
	teardown(&h);
}

/* With IRCv3 echo-message alice's client waits for the server's echo of
 * what it sent: the engine makes it up, from alice's full address. */
static void test_echo_message_receipt(void)
{
	struct harness h;
	const char *echo = ":alice!~a@10.0.0.1 PRIVMSG bob :hi there\r\n";
	struct seg ack, data;
	uint32_t alice_s;

	if (!setup(&h, true))
		goto out;
	send_pkt(&h, &h.alice, true, TCP_FLAG_SYN, "");
	send_pkt(&h, &h.alice, false, TCP_FLAG_SYN | TCP_FLAG_ACK, "");
	CLIENT_ACKS(&h, &h.alice);
	CLIENT_SAYS(&h, &h.alice, "CAP LS 302\r\nNICK alice\r\nUSER a 0 * :alice\r\n");
	SERVER_SAYS(&h, &h.alice, ":irc.test CAP * LS :echo-message multi-prefix\r\n");
	CLIENT_SAYS(&h, &h.alice, "CAP REQ :echo-message\r\n");
	SERVER_SAYS(&h, &h.alice, ":irc.test CAP * ACK :echo-message\r\n");
	CLIENT_SAYS(&h, &h.alice, "CAP END\r\n");
	SERVER_SAYS(&h, &h.alice, ":irc.test 001 alice :Welcome to the Internet Relay Network "
				  "alice!~a@10.0.0.1\r\n");
	CLIENT_ACKS(&h, &h.alice);
	login(&h, &h.bob);
	alice_s = h.alice.s_next;
	CLIENT_SAYS(&h, &h.alice, "PRIVMSG bob :hi there\r\n");
	CHECK_INT_EQ(h.last_verdict, VERDICT_DROP);
	CHECK_INT_EQ(h.e.stats.receipts_synthesised, 1);
	/* The ack, the echo to alice, bob's copy. */
	CHECK_INT_EQ(h.n_orig, 3);
	if (h.n_orig != 3)
		goto out;
	ack = parse_orig(&h.orig[0]);
	check_towards_client(&h.orig[0], &ack, &h.alice);
	CHECK_INT_EQ(ack.p.payload_len, 0);
	CHECK_INT_EQ(ack.p.ack, h.alice.c_next);
	data = parse_orig(&h.orig[1]);
	check_towards_client(&h.orig[1], &data, &h.alice);
	CHECK_INT_EQ(data.p.seq, alice_s);
	CHECK(payload_is(&data.p, echo));
	data = parse_orig(&h.orig[2]);
	check_towards_client(&h.orig[2], &data, &h.bob);
	CHECK(payload_is(&data.p, echo));
	check_tail(h.alice.c_got, h.alice.c_got_len, echo);
	check_tail(h.bob.c_got, h.bob.c_got_len, echo);
	/* Both acked: nothing is resent. */
	CLIENT_ACKS(&h, &h.alice);
	CLIENT_ACKS(&h, &h.bob);
	CHECK_INT_EQ(h.alice.s_last_ack, h.alice.s_next);
	CHECK_INT_EQ(h.bob.s_last_ack, h.bob.s_next);
	tick(&h, h.now + 5.0);
	CHECK_INT_EQ(h.n_orig, 0);
	CHECK_INT_EQ(h.gaps, 0);
	CHECK_INT_EQ(h.bad_checksums, 0);
out:
	teardown(&h);
}

/* Without the queue's link facts nothing can be sent: nobody is a
 * recipient routing may choose, and the message goes to the server. */
static void test_without_link_facts_nothing_is_originated(void)
{
	struct harness h;
	const struct logged *l;
	size_t n;

	if (!login_both(&h, false))
		goto out;
	CLIENT_SAYS(&h, &h.alice, "PRIVMSG bob :hi there\r\n");
	CHECK_INT_EQ(h.last_verdict, VERDICT_ACCEPT);
	CHECK_INT_EQ(h.n_orig, 0);
	check_tail(h.alice.s_got, h.alice.s_got_len, "PRIVMSG bob :hi there\r\n");
	l = logged_message(&h, IM_DIR_OUT, "hi there");
	CHECK(l != NULL);
	if (l) {
		CHECK_STR_EQ(l->route, "forwarded");
		CHECK_STR_EQ(l->route_to, "");
	}
	CHECK_INT_EQ(h.e.stats.routed_local, 0);
	CHECK_INT_EQ(h.e.stats.deliveries, 0);
	/* The server relays it as usual. */
	SERVER_SAYS(&h, &h.bob, ":alice!~a@10.0.0.1 PRIVMSG bob :hi there\r\n");
	CHECK_INT_EQ(h.last_verdict, VERDICT_ACCEPT);
	check_tail(h.bob.c_got, h.bob.c_got_len, ":alice!~a@10.0.0.1 PRIVMSG bob :hi there\r\n");
	tick(&h, h.now + 1.0);
	CHECK_INT_EQ(h.n_orig, 0);
	CHECK_INT_EQ(h.e.stats.segments_originated, 0);
	/* Nor does a bot take a line it could never answer. */
	n = h.alice.s_got_len;
	CLIENT_SAYS(&h, &h.alice, "PRIVMSG auditbot :!help\r\n");
	CHECK_INT_EQ(h.n_orig, 0);
	CHECK_INT_EQ(h.last_verdict, VERDICT_ACCEPT);
	CHECK_INT_EQ(h.alice.s_got_len, n + strlen("PRIVMSG auditbot :!help\r\n"));
	CHECK_INT_EQ(h.e.stats.routed_bot, 0);
	CHECK_INT_EQ(h.e.stats.segments_originated, 0);
	CHECK_INT_EQ(h.bad_checksums, 0);
out:
	teardown(&h);
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(tmpdir)) {
		printf("FAIL mkdtemp\n");
		return 1;
	}
	RUN_TEST(test_message_to_local_user);
	RUN_TEST(test_retransmit_until_acked);
	RUN_TEST(test_delivery_waits_for_held_line);
	RUN_TEST(test_delivery_waits_for_server_line);
	RUN_TEST(test_auditbot_reply);
	RUN_TEST(test_long_delivery_in_segments);
	RUN_TEST(test_server_ack_never_moves_back);
	RUN_TEST(test_deleted_line_acked_by_the_server_itself);
	RUN_TEST(test_echo_message_receipt);
	RUN_TEST(test_without_link_facts_nothing_is_originated);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	TEST_MAIN_END();
}
