/* HTTP CONNECT tunnels: the request and the proxy's answer are skipped,
 * what follows is detected and decoded as the target port's protocol,
 * with stream offsets that still point into the flow. */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/http_tunnel.h"
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
	struct app_flow *af;
	uint64_t off[2] = { 1, 1 };
	size_t i;

	memset(&stats, 0, sizeof(stats));
	memset(&s, 0, sizeof(s));
	app_config_defaults(&cfg);
	af = app_flow_new(&cfg, &stats, NULL, 1, "10.77.0.1:40000", 3128, collect, &s);
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
	af = app_flow_new(&cfg, &stats, NULL, 2, "10.77.0.1:40001", 3128, collect, &s);
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

int main(void)
{
	RUN_TEST(test_request_and_reply);
	RUN_TEST(test_tunnelled_irc);
	TEST_MAIN_END();
}
