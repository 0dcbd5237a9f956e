/* HTTP CONNECT tunnels: the request and the proxy's answer are skipped,
 * what follows is detected and decoded as the target port's protocol,
 * with stream offsets that still point into the flow. */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/http_tunnel.h"
#include "app/tls_hello.h"
#include "testlib.h"

static void test_request_and_reply(void)
{
	static const char req[] = "CONNECT 10.77.0.2:6667 HTTP/1.1\r\nHost: 10.77.0.2:6667\r\n\r\nNICK";
	size_t head = 0;
	uint16_t port = 0;
	unsigned status = 0;

	CHECK_INT_EQ(http_tunnel_request((const uint8_t *)req, strlen(req), &head, &port),
		     HTTP_TUNNEL_YES);
	CHECK_INT_EQ(head, strlen(req) - 4);
	CHECK_INT_EQ(port, 6667);
	CHECK_INT_EQ(http_tunnel_request((const uint8_t *)req, 20, &head, &port),
		     HTTP_TUNNEL_NEED_MORE);
	CHECK_INT_EQ(http_tunnel_request((const uint8_t *)"CON", 3, &head, &port),
		     HTTP_TUNNEL_NEED_MORE);
	CHECK_INT_EQ(http_tunnel_request((const uint8_t *)"CAP LS 302\r\n", 12, &head, &port),
		     HTTP_TUNNEL_NO);
	/* IRC's own CONNECT (an operator command) is not HTTP. */
	CHECK_INT_EQ(http_tunnel_request((const uint8_t *)"CONNECT irc2 6667\r\n\r\n", 21, &head,
					 &port),
		     HTTP_TUNNEL_NO);
	CHECK_INT_EQ(http_tunnel_request((const uint8_t *)"CONNECT h:99999 HTTP/1.1\r\n\r\n", 28,
					 &head, &port),
		     HTTP_TUNNEL_NO);
	CHECK_INT_EQ(http_tunnel_reply((const uint8_t *)"HTTP/1.1 200 Connection established\r\n\r\n",
				       39, &head, &status),
		     HTTP_TUNNEL_YES);
	CHECK_INT_EQ(status, 200);
	CHECK_INT_EQ(head, 39);
	CHECK_INT_EQ(http_tunnel_reply((const uint8_t *)"HTTP/1.1 407 Proxy", 18, &head, &status),
		     HTTP_TUNNEL_NEED_MORE);
	CHECK_INT_EQ(http_tunnel_reply((const uint8_t *)":irc NOTICE", 11, &head, &status),
		     HTTP_TUNNEL_NO);
}

struct seen {
	size_t n;
	struct im_event ev[8];
};

static void collect(void *arg, const struct im_event *ev)
{
	struct seen *s = arg;

	if (s->n < 8 && event_copy(&s->ev[s->n], ev))
		s->n++;
}

static void feed(struct app_flow *af, enum im_dir dir, const char *text, uint64_t *off)
{
	app_flow_data(af, dir, (const uint8_t *)text, strlen(text), off[dir], 1.0);
	off[dir] += strlen(text);
}

static void test_tunnelled_irc(void)
{
	static const char req[] = "CONNECT 10.77.0.2:6667 HTTP/1.1\r\nHost: 10.77.0.2:6667\r\n\r\n";
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	struct app_config cfg;
	struct app_stats stats;
	struct seen s;
	struct app_context ctx = { &cfg, &stats, { NULL, collect, &s, NULL, NULL } };
	struct app_flow *af;
	uint64_t off[2] = { 1, 1 };
	size_t i;

	memset(&stats, 0, sizeof(stats));
	memset(&s, 0, sizeof(s));
	app_config_defaults(&cfg);
	af = app_flow_new(&ctx, 1, "10.77.0.1:40000", 3128);
	CHECK(af != NULL);
	if (!af)
		return;
	feed(af, IM_DIR_OUT, "CONNECT 10.77.0.2:6667 ", off);
	feed(af, IM_DIR_OUT, req + 23, off);
	feed(af, IM_DIR_IN, ok, off);
	feed(af, IM_DIR_OUT, "NICK alice\r\nUSER alice 0 * :alice\r\n", off);
	feed(af, IM_DIR_IN, ":irc.test 001 alice :Welcome alice!alice@10.77.0.1\r\n", off);
	feed(af, IM_DIR_OUT, "PRIVMSG bob :through the proxy\r\n", off);
	CHECK_INT_EQ(af->state, APP_DECODING);
	CHECK_INT_EQ(af->tunnel, APP_TUNNEL_OPEN);
	CHECK_INT_EQ(af->server_port, 6667);
	CHECK_INT_EQ(stats.tunnels, 1);
	CHECK_INT_EQ(s.n, 2);
	if (s.n == 2) {
		CHECK_INT_EQ(s.ev[0].kind, IM_KIND_LOGIN);
		CHECK_INT_EQ(s.ev[1].kind, IM_KIND_MESSAGE);
		CHECK_STR_EQ(s.ev[1].text, "through the proxy");
		CHECK_STR_EQ(s.ev[1].local, "alice");
		/* Offsets count the CONNECT head: the rewrite engine edits there. */
		CHECK_INT_EQ(s.ev[1].pdu_offset, 1 + strlen(req) + 35);
	}
	for (i = 0; i < s.n; i++)
		event_free(&s.ev[i]);
	app_flow_free(af);

	/* A proxy that says no: the flow is not looked at further. */
	memset(&s, 0, sizeof(s));
	off[0] = off[1] = 1;
	af = app_flow_new(&ctx, 2, "10.77.0.1:40001", 3128);
	CHECK(af != NULL);
	if (!af)
		return;
	feed(af, IM_DIR_OUT, req, off);
	feed(af, IM_DIR_IN, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", off);
	CHECK_INT_EQ(af->state, APP_IGNORED);
	CHECK_INT_EQ(stats.tunnels_refused, 1);
	CHECK_INT_EQ(s.n, 0);
	app_flow_free(af);
}

/* A ClientHello (TLS 1.2 record) naming host, or none when host is NULL. */
static size_t client_hello(uint8_t *b, const char *host)
{
	size_t n = 0, hs, exts, hn = host ? strlen(host) : 0;

	b[n++] = 22, b[n++] = 3, b[n++] = 1, n += 2; /* record, length later */
	hs = n;
	b[n++] = 1, n += 3;                          /* ClientHello, length later */
	b[n++] = 3, b[n++] = 3;
	memset(b + n, 0x5a, 32), n += 32;            /* random */
	b[n++] = 0;                                  /* session id */
	b[n++] = 0, b[n++] = 2, b[n++] = 0x13, b[n++] = 0x01; /* one suite */
	b[n++] = 1, b[n++] = 0;                      /* null compression */
	exts = n;
	n += 2;
	if (host) {
		b[n++] = 0, b[n++] = 0;                       /* server_name */
		b[n++] = 0, b[n++] = (uint8_t)(hn + 5);
		b[n++] = 0, b[n++] = (uint8_t)(hn + 3);
		b[n++] = 0, b[n++] = 0, b[n++] = (uint8_t)hn; /* host_name */
		memcpy(b + n, host, hn), n += hn;
	}
	b[exts] = (uint8_t)((n - exts - 2) >> 8), b[exts + 1] = (uint8_t)(n - exts - 2);
	b[hs + 1] = 0, b[hs + 2] = (uint8_t)((n - hs - 4) >> 8), b[hs + 3] = (uint8_t)(n - hs - 4);
	b[3] = (uint8_t)((n - 5) >> 8), b[4] = (uint8_t)(n - 5);
	return n;
}

/* Direct-TLS IM: one encrypted event naming the service, nothing else. */
static void test_direct_tls(void)
{
	static const struct {
		uint16_t port;
		const char *host;
		enum imw_proto proto; /* IMW_PROTO_NONE: not IM */
	} cases[] = {
		{ 5223, "chat.example.org", IMW_PROTO_XMPP },
		{ 6697, "irc.example.net", IMW_PROTO_IRC },
		{ 6697, NULL, IMW_PROTO_IRC },
		{ 443, "slogin.oscar.aol.com", IMW_PROTO_OSCAR },
		{ 443, "www.example.com", IMW_PROTO_NONE },
	};
	struct app_config cfg;
	struct app_stats stats;
	uint8_t hello[256];
	size_t i, n;

	app_config_defaults(&cfg);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct seen s;
		struct app_context ctx = { &cfg, &stats, { NULL, collect, &s, NULL, NULL } };
		struct app_flow *af;

		memset(&stats, 0, sizeof(stats));
		memset(&s, 0, sizeof(s));
		af = app_flow_new(&ctx, 1, "10.0.0.1:40000", cases[i].port);
		CHECK(af != NULL);
		if (!af)
			return;
		n = client_hello(hello, cases[i].host);
		/* in two pieces: the hello is waited for */
		app_flow_data(af, IM_DIR_OUT, hello, 20, 1, 1.0);
		CHECK_INT_EQ(s.n, 0);
		app_flow_data(af, IM_DIR_OUT, hello + 20, n - 20, 21, 1.0);
		if (cases[i].proto == IMW_PROTO_NONE) {
			CHECK_INT_EQ(s.n, 0);
		} else {
			CHECK_INT_EQ(s.n, 1);
			if (s.n == 1) {
				CHECK_INT_EQ(s.ev[0].kind, IM_KIND_ENCRYPTED);
				CHECK_INT_EQ(s.ev[0].proto, cases[i].proto);
				CHECK_STR_EQ(s.ev[0].remote, cases[i].host ? cases[i].host : "");
				CHECK_STR_EQ(s.ev[0].text, "TLS");
				event_free(&s.ev[0]);
			}
			CHECK(app_flow_done(af));
		}
		app_flow_free(af);
	}
	/* A truncated or lying hello never reads past what it was given. */
	n = client_hello(hello, "chat.example.org");
	for (i = 0; i < n; i++) {
		const uint8_t *sni;
		size_t sni_len;

		hello[4] = (uint8_t)(i > 5 ? i - 5 : 0);
		tls_hello_sni(hello, i, &sni, &sni_len);
	}
}

int main(void)
{
	RUN_TEST(test_request_and_reply);
	RUN_TEST(test_tunnelled_irc);
	RUN_TEST(test_direct_tls);
	TEST_MAIN_END();
}
