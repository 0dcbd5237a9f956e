/* The file stage (#20): expectations, content (hash, gaps, MIME), the
 * SOCKS5 and HTTP fronts of data connections, transfers from offer to
 * result event, the store and its caps, and the clamd dialogue against a
 * stand-in clamd written here (the real clamd runs in
 * tests/cases/files_*.sh): clean, infected, an error, silence, absence. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive/purge.h"
#include "expect/expect.h"
#include "files/files.h"
#include "files/files_internal.h"
#include "fake_clamd.h"
#include "testlib.h"

#define MAX_SEEN 32

struct seen {
	struct im_event ev[MAX_SEEN];
	size_t n;
};

static void collect(void *arg, const struct im_event *ev)
{
	struct seen *s = arg;

	if (s->n < MAX_SEEN && event_copy(&s->ev[s->n], ev))
		s->n++;
}

static void seen_free(struct seen *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		event_free(&s->ev[i]);
	s->n = 0;
}

static const uint8_t client_ip[4] = { 10, 0, 0, 22 };
static const uint8_t sender_ip[4] = { 10, 0, 0, 7 };

/* A DCC SEND offer from 10.0.0.7 (listening on port) of name, size. */
static void dcc_offer(struct im_event *ev, uint16_t port, const char *name, uint64_t size)
{
	event_init(ev);
	ev->ts = 100;
	ev->proto = IMW_PROTO_IRC;
	ev->dir = IM_DIR_OUT;
	ev->kind = IM_KIND_FILE;
	ev->flow_id = 1;
	event_set_str(&ev->local, "tim2");
	event_set_str(&ev->remote, "tim1");
	event_set_str(&ev->client, "10.0.0.7:59069");
	event_set_str(&ev->file_name, name);
	event_set_str(&ev->text, name);
	ev->has_file_size = true;
	ev->file_size = size;
	ev->xfer.path = IM_XFER_TCP;
	ev->xfer.from_listener = true;
	ev->xfer.ip_version = 4;
	memcpy(ev->xfer.addr, sender_ip, 4);
	ev->xfer.port = port;
}

/* ---- expectations ---- */

static unsigned watched_added, watched_gone;

static void watch(void *arg, const struct expect_tuple *t, bool added)
{
	(void)arg;
	(void)t;
	if (added)
		watched_added++;
	else
		watched_gone++;
}

static void test_expect_connections(void)
{
	struct expect_table *t = expect_table_new(4, 10);
	struct expect_match m;
	struct im_event ev;
	struct expect_stats st;
	uint8_t other[4] = { 10, 0, 0, 99 };

	watched_added = watched_gone = 0;
	expect_table_watch(t, watch, NULL);
	dcc_offer(&ev, 5000, "a.bin", 10);
	CHECK_INT_EQ(expect_offer(t, &ev, 100), 1);
	/* a connection elsewhere finds nothing */
	CHECK_INT_EQ(expect_connection(t, 4, client_ip, 40000, other, 5000, 101, &m), EXPECT_NONE);
	CHECK_INT_EQ(expect_connection(t, 4, client_ip, 40000, sender_ip, 5001, 101, &m),
		     EXPECT_NONE);
	/* the listener as the server, or (picked up mid-stream) as the client */
	memset(&m, 0, sizeof(m));
	CHECK_INT_EQ(expect_connection(t, 4, sender_ip, 5000, client_ip, 40000, 101, &m),
		     EXPECT_TAKEN);
	CHECK_INT_EQ(m.listener, 0);
	CHECK_STR_EQ(m.offer.file_name, "a.bin");
	event_free(&m.offer);
	/* taken: once only */
	CHECK_INT_EQ(expect_connection(t, 4, client_ip, 40000, sender_ip, 5000, 101, &m),
		     EXPECT_NONE);
	/* the local sender's address on the wire counts as well (NAT) */
	ev.xfer.addr[3] = 200;
	CHECK_INT_EQ(expect_offer(t, &ev, 100), 1);
	CHECK_INT_EQ(watched_added, 3); /* announced and wire address */
	CHECK_INT_EQ(expect_connection(t, 4, client_ip, 40001, sender_ip, 5000, 101, &m),
		     EXPECT_TAKEN);
	CHECK_INT_EQ(m.listener, 1);
	event_free(&m.offer);
	/* expiry */
	ev.xfer.addr[3] = 7;
	CHECK_INT_EQ(expect_offer(t, &ev, 100), 1);
	expect_expire(t, 111);
	CHECK_INT_EQ(expect_connection(t, 4, client_ip, 40002, sender_ip, 5000, 112, &m),
		     EXPECT_NONE);
	expect_stats_get(t, &st);
	CHECK_INT_EQ(st.offered, 3);
	CHECK_INT_EQ(st.matched, 2);
	CHECK_INT_EQ(st.expired, 1);
	CHECK_INT_EQ(st.now, 0);
	CHECK_INT_EQ(watched_gone, watched_added);
	event_free(&ev);
	expect_table_free(t);
}

static void test_expect_bounds_and_tokens(void)
{
	struct expect_table *t = expect_table_new(4, 10);
	struct expect_match m;
	struct im_event ev, s5;
	struct expect_stats st;
	unsigned i;

	/* five offers into four places: the oldest gives way */
	for (i = 0; i < 5; i++) {
		dcc_offer(&ev, (uint16_t)(6000 + i), "x", 1);
		CHECK_INT_EQ(expect_offer(t, &ev, 100), 1);
		event_free(&ev);
	}
	expect_stats_get(t, &st);
	CHECK_INT_EQ(st.pushed_out, 1);
	CHECK_INT_EQ(st.now, 4);
	CHECK_INT_EQ(expect_connection(t, 4, client_ip, 1, sender_ip, 6000, 101, &m), EXPECT_NONE);
	CHECK_INT_EQ(expect_connection(t, 4, client_ip, 1, sender_ip, 6004, 101, &m), EXPECT_TAKEN);
	event_free(&m.offer);
	/* the same offer again refreshes it instead of taking a second place */
	dcc_offer(&ev, 6003, "x", 1);
	CHECK_INT_EQ(expect_offer(t, &ev, 105), 1);
	expect_stats_get(t, &st);
	CHECK_INT_EQ(st.now, 3);
	event_free(&ev);
	/* an in-band offer, looked at twice (two sessions see one stream) */
	dcc_offer(&ev, 0, "ibb.txt", 3);
	ev.proto = IMW_PROTO_XMPP;
	ev.xfer.path = IM_XFER_INBAND;
	ev.xfer.ip_version = 0;
	memcpy(ev.xfer.token, "sid1", 4);
	ev.xfer.token_len = 4;
	CHECK_INT_EQ(expect_offer(t, &ev, 105), 1);
	CHECK(expect_token(t, IMW_PROTO_XMPP, IM_XFER_INBAND, (const uint8_t *)"sid1", 4, false, 106,
			   &m));
	CHECK_STR_EQ(m.offer.file_name, "ibb.txt");
	event_free(&m.offer);
	CHECK(expect_token(t, IMW_PROTO_XMPP, IM_XFER_INBAND, (const uint8_t *)"sid1", 4, false, 106,
			   &m));
	event_free(&m.offer);
	CHECK(!expect_token(t, IMW_PROTO_IRC, IM_XFER_INBAND, (const uint8_t *)"sid1", 4, false, 106,
			    &m));
	/* a streamhost completing it: its result reads as the SI offer */
	event_init(&s5);
	s5.proto = IMW_PROTO_XMPP;
	s5.kind = IM_KIND_RENDEZVOUS;
	s5.xfer.path = IM_XFER_SOCKS5;
	s5.xfer.ip_version = 4;
	memcpy(s5.xfer.addr, sender_ip, 4);
	s5.xfer.port = 5000;
	memcpy(s5.xfer.token, "hash", 4);
	s5.xfer.token_len = 4;
	memcpy(s5.xfer.offer_id, "sid1", 4);
	s5.xfer.offer_id_len = 4;
	CHECK_INT_EQ(expect_offer(t, &s5, 106), 1);
	CHECK_INT_EQ(expect_connection(t, 4, client_ip, 2, sender_ip, 5000, 107, &m),
		     EXPECT_SOCKS5);
	CHECK(expect_token(t, IMW_PROTO_NONE, IM_XFER_SOCKS5, (const uint8_t *)"hash", 4, true, 107,
			   &m));
	CHECK_INT_EQ(m.offer.kind, IM_KIND_FILE);
	CHECK_STR_EQ(m.offer.file_name, "ibb.txt");
	CHECK_INT_EQ(m.offer.xfer.path, IM_XFER_SOCKS5);
	event_free(&m.offer);
	CHECK(!expect_token(t, IMW_PROTO_NONE, IM_XFER_SOCKS5, (const uint8_t *)"hash", 4, true, 107,
			    &m));
	/* nothing to expect: a path without address, port or token */
	ev.xfer.path = IM_XFER_TCP;
	ev.xfer.token_len = 0;
	CHECK_INT_EQ(expect_offer(t, &ev, 107), 0);
	ev.xfer.path = IM_XFER_NONE;
	CHECK_INT_EQ(expect_offer(t, &ev, 107), 0);
	event_free(&ev);
	event_free(&s5);
	expect_table_free(t);
}

static void test_parse_endpoint(void)
{
	uint8_t v, a[16];
	uint16_t p;

	CHECK(expect_parse_endpoint("10.0.0.7:59069", &v, a, &p));
	CHECK_INT_EQ(v, 4);
	CHECK_MEM_EQ(a, sender_ip, 4);
	CHECK_INT_EQ(p, 59069);
	CHECK(expect_parse_endpoint("[2001:db8::5]:80", &v, a, &p));
	CHECK_INT_EQ(v, 6);
	CHECK_INT_EQ(a[15], 5);
	CHECK(!expect_parse_endpoint("10.0.0.7", &v, a, &p));
	CHECK(!expect_parse_endpoint("10.0.0.7:99999", &v, a, &p));
	CHECK(!expect_parse_endpoint("[::1]80", &v, a, &p));
	CHECK(!expect_parse_endpoint("host:80", &v, a, &p));
}

/* ---- content, SOCKS5, HTTP ---- */

static void test_content(void)
{
	struct content c;
	char hex[65];

	CHECK_INT_EQ(content_init(&c, 4), 0);
	CHECK(content_add(&c, (const uint8_t *)"ab", 2));
	CHECK(content_add(&c, (const uint8_t *)"c", 1));
	CHECK(content_add(&c, (const uint8_t *)"defg", 4));
	CHECK_INT_EQ(c.bytes, 7);
	CHECK_INT_EQ(c.head_len, 4);
	CHECK_MEM_EQ(c.head, "abcd", 4);
	CHECK(content_sha256(&c, hex)); /* sha256("abcdefg") */
	CHECK_STR_EQ(hex, "7d1a54127b222502f5b79b5fb0803061152a44f92b37e23c6527baf665d4da9a");
	content_free(&c);
	CHECK_INT_EQ(content_init(&c, 4), 0);
	CHECK(content_add(&c, (const uint8_t *)"ab", 2));
	content_gap(&c, 10);
	CHECK(content_add(&c, (const uint8_t *)"cd", 2));
	CHECK_INT_EQ(c.bytes, 4);
	CHECK_INT_EQ(c.gap_bytes, 10);
	CHECK(!content_sha256(&c, hex)); /* a hole: no hash, never a guess */
	CHECK_INT_EQ(c.head_len, 2);
	content_free(&c);
}

static void test_socks5(void)
{
	static const uint8_t client[] = "\x05\x01\x00"
					"\x05\x01\x00\x03\x04hash\x00\x00"
					"DATA";
	static const uint8_t server[] = "\x05\x00"
					"\x05\x00\x00\x03\x04hash\x00\x00";
	struct socks5 s;
	size_t i, used, total = 0;
	enum socks5_result r = SOCKS5_MORE;

	memset(&s, 0, sizeof(s));
	/* byte by byte: the handshake is 3 + 11 bytes */
	for (i = 0; i < sizeof(client) - 1 && r == SOCKS5_MORE; i++) {
		r = socks5_feed(&s, IM_DIR_OUT, client + i, 1, &used);
		total += used;
	}
	CHECK_INT_EQ(r, SOCKS5_DATA);
	CHECK_INT_EQ(total, 14);
	CHECK_INT_EQ(s.dst_len, 4);
	CHECK_MEM_EQ(s.dst, "hash", 4);
	CHECK_INT_EQ(socks5_feed(&s, IM_DIR_IN, server, sizeof(server) - 1, &used), SOCKS5_DATA);
	CHECK_INT_EQ(used, sizeof(server) - 1);
	/* not SOCKS5, or no "no authentication", or not CONNECT to a name */
	memset(&s, 0, sizeof(s));
	CHECK_INT_EQ(socks5_feed(&s, IM_DIR_OUT, (const uint8_t *)"GET /", 5, &used), SOCKS5_BROKEN);
	memset(&s, 0, sizeof(s));
	CHECK_INT_EQ(socks5_feed(&s, IM_DIR_OUT, (const uint8_t *)"\x05\x01\x02", 3, &used),
		     SOCKS5_BROKEN);
	memset(&s, 0, sizeof(s));
	CHECK_INT_EQ(socks5_feed(&s, IM_DIR_OUT,
				 (const uint8_t *)"\x05\x01\x00\x05\x01\x00\x01\x01\x02\x03\x04\0\0",
				 13, &used),
		     SOCKS5_BROKEN);
	memset(&s, 0, sizeof(s));
	CHECK_INT_EQ(socks5_feed(&s, IM_DIR_IN, (const uint8_t *)"\x05\xff", 2, &used),
		     SOCKS5_BROKEN);
}

static void test_http_relay(void)
{
	static const char post[] = "POST /relay?token=Tk%2B%2F%3D&sender=a&recver=b HTTP/1.1\r\n"
				   "Host: x\r\nContent-Length: 4\r\n\r\nBODY";
	struct http_relay *h = calloc(1, sizeof(*h));
	size_t used;

	CHECK(h != NULL);
	if (!h)
		return;
	CHECK_INT_EQ(http_relay_feed(h, IM_DIR_OUT, (const uint8_t *)post, 20, &used), HTTP_MORE);
	CHECK_INT_EQ(http_relay_feed(h, IM_DIR_OUT, (const uint8_t *)post + 20, sizeof(post) - 21,
				     &used),
		     HTTP_BODY);
	CHECK_INT_EQ(used, sizeof(post) - 1 - 20 - 4);
	CHECK(h->post);
	CHECK_INT_EQ(h->token_len, 5);
	CHECK_MEM_EQ(h->token, "Tk+/=", 5);
	memset(h, 0, sizeof(*h));
	CHECK_INT_EQ(http_relay_feed(h, IM_DIR_OUT,
				     (const uint8_t *)"GET /relay?x=1 HTTP/1.0\r\n\r\n", 27, &used),
		     HTTP_BROKEN);
	memset(h, 0, sizeof(*h));
	CHECK_INT_EQ(http_relay_feed(h, IM_DIR_OUT, (const uint8_t *)"\x05\x01\x00", 3, &used),
		     HTTP_MORE);
	free(h);
}

/* ---- transfers ---- */

static struct files_shared *shared(const char *dir, const char *clamd, unsigned timeout_ms)
{
	struct files_config cfg;
	struct files_shared *sh;
	char err[256];

	files_config_defaults(&cfg);
	cfg.dir = dir;
	cfg.clamd_socket = clamd;
	cfg.scan_timeout_ms = timeout_ms;
	cfg.max_file = 1000;
	cfg.max_total = 1500;
	sh = files_shared_new(&cfg, err, sizeof(err));
	if (!sh)
		fprintf(stderr, "  %s\n", err);
	return sh;
}

static struct files *worker(struct files_shared *sh, struct seen *s)
{
	char err[256];
	struct files *fs = files_new(sh, collect, s, err, sizeof(err));

	if (!fs)
		fprintf(stderr, "  %s\n", err);
	return fs;
}

/* A DCC transfer of data[0..n) announced as size bytes, fed in pieces;
 * the receiver acknowledges in between. */
static void dcc_transfer(struct files *fs, uint64_t flow, uint16_t port, const char *data,
			 size_t n, uint64_t size, bool gap)
{
	struct im_event ev;
	struct file_conn *c;
	enum imw_proto as;
	size_t i, off = 0;

	dcc_offer(&ev, port, "notes.txt", size);
	files_event(fs, &ev, 100);
	event_free(&ev);
	c = files_conn_start(fs, flow, 4, client_ip, 40000, sender_ip, port, 101, &as);
	CHECK(c != NULL);
	CHECK_INT_EQ(as, IMW_PROTO_NONE);
	if (!c)
		return;
	for (i = 0; i < n; i += 7) {
		size_t k = n - i < 7 ? n - i : 7;

		if (gap && i == 7)
			files_conn_gap(fs, c, IM_DIR_IN, off, k);
		else
			files_conn_data(fs, c, IM_DIR_IN, (const uint8_t *)data + i, k, off, 102);
		files_conn_data(fs, c, IM_DIR_OUT, (const uint8_t *)"\0\0\0\7", 4, i / 7 * 4, 102);
		off += k;
	}
	files_conn_end(fs, c, 103);
}

static void test_dcc_transfers(void)
{
	static const char text[] = "hello, this is a plain text file\n";
	struct files_shared *sh = shared(NULL, NULL, 0);
	struct seen s = { 0 };
	struct files *fs = sh ? worker(sh, &s) : NULL;
	struct files_stats st;
	const struct im_event *r;

	CHECK(fs != NULL);
	if (!fs) {
		files_shared_free(sh);
		return;
	}
	dcc_transfer(fs, 2, 5000, text, sizeof(text) - 1, sizeof(text) - 1, false);
	CHECK_INT_EQ(s.n, 1);
	r = &s.ev[0];
	CHECK_INT_EQ(r->kind, IM_KIND_FILE);
	CHECK_STR_EQ(r->file_name, "notes.txt");
	CHECK_STR_EQ(r->remote, "tim1");
	CHECK_INT_EQ(r->flow_id, 1);
	CHECK_INT_EQ(r->file.data_flow, 2);
	CHECK_INT_EQ(r->file.state, IM_FILE_COMPLETE);
	CHECK_INT_EQ(r->file.bytes, sizeof(text) - 1);
	CHECK(r->file.has_sha256);
	CHECK_STR_EQ(r->file.sha256, "1af93af83d5b9932fe03a112db274eac447c9b1fd0813fc1304ca82c2771db03");
	CHECK_STR_EQ(r->file.mime, "text/plain");
	CHECK_INT_EQ(r->file.scan, IM_SCAN_NONE);
	CHECK_INT_EQ(r->xfer.path, IM_XFER_NONE);
	CHECK(r->categories == NULL);
	seen_free(&s);
	/* a hole: incomplete, no hash */
	dcc_transfer(fs, 3, 5001, text, sizeof(text) - 1, sizeof(text) - 1, true);
	CHECK_INT_EQ(s.n, 1);
	CHECK_INT_EQ(s.ev[0].file.state, IM_FILE_INCOMPLETE);
	CHECK_INT_EQ(s.ev[0].file.gap_bytes, 7);
	CHECK(!s.ev[0].file.has_sha256);
	seen_free(&s);
	/* the connection ends short of the announced size */
	dcc_transfer(fs, 4, 5002, text, 10, 1000, false);
	CHECK_INT_EQ(s.n, 1);
	CHECK_INT_EQ(s.ev[0].file.state, IM_FILE_INCOMPLETE);
	CHECK_INT_EQ(s.ev[0].file.bytes, 10);
	CHECK(s.ev[0].file.has_sha256); /* of the 10 bytes that came */
	seen_free(&s);
	/* an empty file */
	dcc_transfer(fs, 5, 5003, text, 0, 0, false);
	CHECK_INT_EQ(s.n, 1);
	CHECK_INT_EQ(s.ev[0].file.state, IM_FILE_COMPLETE);
	CHECK_STR_EQ(s.ev[0].file.sha256,
		     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	seen_free(&s);
	files_stats_get(fs, &st);
	CHECK_INT_EQ(st.transfers, 4);
	CHECK_INT_EQ(st.completed, 2);
	CHECK_INT_EQ(st.incomplete, 2);
	CHECK_INT_EQ(st.gap_bytes, 7);
	files_free(fs);
	files_shared_free(sh);
}

static void test_socks5_and_inband_transfers(void)
{
	static const uint8_t greet[] = "\x05\x01\x00\x05\x01\x00\x03\x04hash\x00\x00";
	static const uint8_t reply[] = "\x05\x00\x05\x00\x00\x03\x04hash\x00\x00";
	struct files_shared *sh = shared(NULL, NULL, 0);
	struct seen s = { 0 };
	struct files *fs = sh ? worker(sh, &s) : NULL;
	struct proto_session sess;
	struct proto_module mod = { .id = IMW_PROTO_XMPP };
	struct proto_file_piece p;
	struct im_event ev;
	struct file_conn *c;
	enum imw_proto as;

	CHECK(fs != NULL);
	if (!fs) {
		files_shared_free(sh);
		return;
	}
	/* an SI offer, then its streamhost */
	dcc_offer(&ev, 0, "si.txt", 5);
	ev.proto = IMW_PROTO_XMPP;
	ev.xfer.path = IM_XFER_INBAND;
	ev.xfer.ip_version = 0;
	ev.xfer.port = 0;
	memcpy(ev.xfer.token, "sid1", 4);
	ev.xfer.token_len = 4;
	files_event(fs, &ev, 100);
	ev.kind = IM_KIND_RENDEZVOUS;
	ev.xfer.path = IM_XFER_SOCKS5;
	ev.xfer.ip_version = 4;
	ev.xfer.port = 5000;
	memcpy(ev.xfer.token, "hash", 4);
	memcpy(ev.xfer.offer_id, "sid1", 4);
	ev.xfer.offer_id_len = 4;
	files_event(fs, &ev, 100);
	/* the target connects through the proxy: data come from the proxy */
	c = files_conn_start(fs, 9, 4, client_ip, 40000, sender_ip, 5000, 101, &as);
	CHECK(c != NULL);
	if (c) {
		files_conn_data(fs, c, IM_DIR_OUT, greet, 5, 0, 101);
		files_conn_data(fs, c, IM_DIR_IN, reply, 2, 0, 101);
		files_conn_data(fs, c, IM_DIR_OUT, greet + 5, sizeof(greet) - 6, 5, 101);
		files_conn_data(fs, c, IM_DIR_IN, reply + 2, sizeof(reply) - 3, 2, 101);
		CHECK_INT_EQ(s.n, 0);
		files_conn_data(fs, c, IM_DIR_IN, (const uint8_t *)"12345", 5, 12, 102);
		files_conn_end(fs, c, 103);
	}
	CHECK_INT_EQ(s.n, 1);
	CHECK_STR_EQ(s.ev[0].file_name, "si.txt");
	CHECK_INT_EQ(s.ev[0].kind, IM_KIND_FILE);
	CHECK_INT_EQ(s.ev[0].file.state, IM_FILE_COMPLETE);
	CHECK_INT_EQ(s.ev[0].file.bytes, 5);
	seen_free(&s);
	/* the initiator's connection to the proxy names the same, now used */
	c = files_conn_start(fs, 10, 4, client_ip, 40001, sender_ip, 5000, 101, &as);
	CHECK(c == NULL); /* the streamhost's expectation went with the first */
	/* in-band: the SI offer is still there for the session's OPEN */
	memset(&sess, 0, sizeof(sess));
	sess.module = &mod;
	sess.client = (char *)"10.0.0.7:1";
	memset(&p, 0, sizeof(p));
	p.op = PROTO_FILE_OPEN;
	p.dir = IM_DIR_OUT;
	p.token = (const uint8_t *)"sid1";
	p.token_len = 4;
	files_piece(fs, 11, &sess, &p, 104);
	p.op = PROTO_FILE_DATA;
	p.data = (const uint8_t *)"ab";
	p.len = 2;
	files_piece(fs, 11, &sess, &p, 104);
	p.data = (const uint8_t *)"cde";
	p.len = 3;
	files_piece(fs, 11, &sess, &p, 105); /* all 5 announced bytes: judged now */
	CHECK_INT_EQ(s.n, 1);
	CHECK_STR_EQ(s.ev[0].file_name, "si.txt");
	CHECK_INT_EQ(s.ev[0].file.data_flow, 11);
	CHECK_INT_EQ(s.ev[0].file.state, IM_FILE_COMPLETE);
	seen_free(&s);
	p.op = PROTO_FILE_CLOSE;
	files_piece(fs, 11, &sess, &p, 106); /* nothing open any more */
	CHECK_INT_EQ(s.n, 0);
	/* an in-band stream nobody offered: what the session knows */
	p.op = PROTO_FILE_OPEN;
	p.token = (const uint8_t *)"zz";
	p.token_len = 2;
	p.name = "n.bin";
	files_piece(fs, 12, &sess, &p, 107);
	p.op = PROTO_FILE_DATA;
	p.data = (const uint8_t *)"x";
	p.len = 1;
	files_piece(fs, 12, &sess, &p, 107);
	files_flow_end(fs, 12, 108); /* no close: incomplete */
	CHECK_INT_EQ(s.n, 1);
	CHECK_STR_EQ(s.ev[0].file_name, "n.bin");
	CHECK_STR_EQ(s.ev[0].client, "10.0.0.7:1");
	CHECK_INT_EQ(s.ev[0].file.state, IM_FILE_INCOMPLETE);
	seen_free(&s);
	event_free(&ev);
	files_free(fs);
	files_shared_free(sh);
}

static void test_store(void)
{
	char dir[] = "/tmp/imwire-files-XXXXXX", path[512];
	struct files_shared *sh;
	struct seen s = { 0 };
	struct files *fs;
	struct files_stats st;
	struct stat sb;
	char big[1200];

	CHECK(mkdtemp(dir) != NULL);
	sh = shared(dir, NULL, 0);
	fs = sh ? worker(sh, &s) : NULL;
	CHECK(fs != NULL);
	if (!fs) {
		files_shared_free(sh);
		return;
	}
	memset(big, 'b', sizeof(big));
	dcc_transfer(fs, 2, 5000, "first file\n", 11, 11, false);
	dcc_transfer(fs, 3, 5001, "first file\n", 11, 11, false); /* the same content */
	dcc_transfer(fs, 4, 5002, big, 1200, 1200, false);         /* over max_file */
	dcc_transfer(fs, 5, 5003, big, 900, 900, false);
	dcc_transfer(fs, 6, 5004, big + 1, 800, 800, false);       /* over max_total */
	dcc_transfer(fs, 7, 5005, "gap gap gap gap", 15, 15, true); /* never stored */
	CHECK_INT_EQ(s.n, 6);
	if (s.n == 6) {
		snprintf(path, sizeof(path), "%s/%.2s/%s", dir, s.ev[0].file.sha256,
			 s.ev[0].file.sha256);
		CHECK_STR_EQ(s.ev[0].file.stored, path);
		CHECK(stat(path, &sb) == 0 && sb.st_size == 11);
		CHECK_STR_EQ(s.ev[1].file.stored, path);
		CHECK(s.ev[2].file.stored == NULL);
		CHECK(s.ev[3].file.stored != NULL);
		CHECK(s.ev[4].file.stored == NULL);
		CHECK(s.ev[5].file.stored == NULL);
	}
	files_stats_get(fs, &st);
	CHECK_INT_EQ(st.stored, 2);
	CHECK_INT_EQ(st.store_duplicates, 1);
	CHECK_INT_EQ(st.store_refused, 1); /* over max_file: never copied at all */
	seen_free(&s);
	files_free(fs);
	files_shared_free(sh);
	/* a restart counts what is there, and removes unfinished copies */
	snprintf(path, sizeof(path), "%s/.partial/left-over", dir);
	CHECK(fopen(path, "w") != NULL);
	sh = shared(dir, NULL, 0);
	fs = sh ? worker(sh, &s) : NULL;
	CHECK(stat(path, &sb) < 0 && errno == ENOENT);
	if (fs) {
		dcc_transfer(fs, 2, 5000, big + 2, 700, 700, false); /* 911 + 700 > 1500 */
		CHECK_INT_EQ(s.n, 1);
		CHECK(s.n == 1 && s.ev[0].file.stored == NULL);
		seen_free(&s);
		files_free(fs);
	}
	files_shared_free(sh);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	CHECK(system(path) == 0);
}

/* ---- retention of the store ---- */

#define DAY_US (86400ll * 1000000)

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A hash made of one digit, 64 times. */
static void hex_of(char hex[65], char digit)
{
	memset(hex, digit, 64);
	hex[64] = '\0';
}

static void stored_path(char *out, size_t size, const char *dir, const char *hex,
			const char *suffix)
{
	snprintf(out, size, "%s/%.2s/%s%s", dir, hex, hex, suffix);
}

/* content of n bytes ('x') kept as hex, referred to by local: store_keep's result. */
static int put(struct store *st, const char *hex, size_t n, const char *local)
{
	char buf[256], *path = NULL, *final = NULL;
	int fd = store_spool(st, &path), rc;

	CHECK(fd >= 0 && n <= sizeof(buf));
	if (fd < 0)
		return -2;
	memset(buf, 'x', n);
	CHECK(write(fd, buf, n) == (ssize_t)n);
	close(fd);
	rc = store_keep(st, path, n, hex, local, &final);
	free(path);
	free(final);
	return rc;
}

static void set_age(const char *dir, const char *hex, int64_t age_us)
{
	char path[512];
	int64_t t = now_us() - age_us;
	struct timespec times[2] = { { t / 1000000, (long)(t % 1000000) * 1000 },
				     { t / 1000000, (long)(t % 1000000) * 1000 } };

	stored_path(path, sizeof(path), dir, hex, "");
	CHECK(utimensat(AT_FDCWD, path, times, 0) == 0);
}

static bool exists(const char *dir, const char *hex, const char *suffix)
{
	char path[512];
	struct stat sb;

	stored_path(path, sizeof(path), dir, hex, suffix);
	return stat(path, &sb) == 0;
}

static void check_refs(const char *dir, const char *hex, const char *want)
{
	char path[512], got[256];
	FILE *f;
	size_t n = 0;

	stored_path(path, sizeof(path), dir, hex, ".refs");
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (f) {
		n = fread(got, 1, sizeof(got) - 1, f);
		fclose(f);
	}
	got[n] = '\0';
	CHECK_STR_EQ(got, want);
}

static int64_t age_of(const char *dir, const char *hex)
{
	char path[512];
	struct stat sb;

	stored_path(path, sizeof(path), dir, hex, "");
	if (stat(path, &sb) < 0)
		return -1;
	return now_us() - ((int64_t)sb.st_mtim.tv_sec * 1000000 + sb.st_mtim.tv_nsec / 1000);
}

/* Each reference: mtime now, its id once in the sidecar; a pass removes
 * exactly the files last referred to before the cutoff that no held id
 * referred to (no sidecar: nobody), with their sidecars and sizes. */
static void test_store_retention(void)
{
	char dir[] = "/tmp/imwire-retain-XXXXXX", path[512], err[256];
	char a[65], b[65], c[65], d[65], e[65], f[65], g[65];
	struct purge_hold hold;
	struct files_retention pass, all;
	uint64_t ref_failures, total;
	struct store *st;

	CHECK(mkdtemp(dir) != NULL);
	st = store_open(dir, 100, 160, err, sizeof(err));
	CHECK(st != NULL);
	if (!st)
		return;
	hex_of(a, 'a');
	hex_of(b, 'b');
	hex_of(c, 'c');
	hex_of(d, 'd');
	hex_of(e, 'e');
	hex_of(f, 'f');
	hex_of(g, '1');
	CHECK_INT_EQ(put(st, a, 10, "alice"), 1);
	CHECK_INT_EQ(put(st, a, 10, "bob"), 0);   /* the same content again */
	CHECK_INT_EQ(put(st, a, 10, "alice"), 0); /* an id listed once */
	check_refs(dir, a, "alice\nbob\n");
	CHECK_INT_EQ(put(st, b, 20, "carol"), 1);
	CHECK_INT_EQ(put(st, c, 30, "dave"), 1);
	CHECK_INT_EQ(put(st, d, 40, NULL), 1); /* as an older imwire left it */
	CHECK(!exists(dir, d, ".refs"));
	CHECK_INT_EQ(put(st, e, 50, "eve"), 1);
	CHECK_INT_EQ(put(st, e, 50, "Carol/phone"), 0); /* a resource of a held account */
	check_refs(dir, e, "eve\nCarol/phone\n");
	CHECK_INT_EQ(put(st, f, 55, "frank"), -1);      /* 150 + 55 > 160 */
	/* a sidecar whose file is gone (a pass cut short) */
	snprintf(path, sizeof(path), "%s/%.2s", dir, g);
	CHECK(mkdir(path, 0750) == 0);
	stored_path(path, sizeof(path), dir, g, ".refs");
	{
		FILE *o = fopen(path, "w");

		CHECK(o != NULL);
		if (o) {
			fputs("carol\n", o);
			fclose(o);
		}
	}

	set_age(dir, a, 10 * DAY_US);
	set_age(dir, b, 10 * DAY_US);
	set_age(dir, c, 1 * DAY_US);
	set_age(dir, d, 10 * DAY_US);
	set_age(dir, e, 10 * DAY_US);
	CHECK(purge_hold_parse(&hold, "carol"));
	CHECK_INT_EQ(store_retain(st, now_us() - 5 * DAY_US, &hold, &pass), 0);
	CHECK_INT_EQ(pass.removed, 2); /* a (alice, bob) and d (no sidecar) */
	CHECK_INT_EQ(pass.removed_bytes, 50);
	CHECK_INT_EQ(pass.held, 2); /* b (carol), e (Carol/phone) */
	CHECK_INT_EQ(pass.failed, 0);
	CHECK(!exists(dir, a, "") && !exists(dir, a, ".refs"));
	CHECK(!exists(dir, d, ""));
	CHECK(exists(dir, b, "") && exists(dir, b, ".refs"));
	CHECK(exists(dir, c, "") && exists(dir, c, ".refs")); /* young */
	CHECK(exists(dir, e, "") && exists(dir, e, ".refs"));
	CHECK(!exists(dir, g, ".refs")); /* the orphan */
	store_counts_get(st, &all, &ref_failures, &total);
	CHECK_INT_EQ(total, 100); /* 20 + 30 + 50 */
	CHECK_INT_EQ(ref_failures, 0);
	CHECK_INT_EQ(put(st, f, 55, "frank"), 1); /* 100 + 55 fits now */

	/* a reference refreshes the time: an old file sent again stays */
	set_age(dir, c, 10 * DAY_US);
	CHECK(age_of(dir, c) > 9 * DAY_US);
	CHECK_INT_EQ(put(st, c, 30, "frank"), 0);
	CHECK(age_of(dir, c) >= 0 && age_of(dir, c) < 60ll * 1000000);
	check_refs(dir, c, "dave\nfrank\n");
	CHECK_INT_EQ(store_retain(st, now_us() - 5 * DAY_US, &hold, &pass), 0);
	CHECK_INT_EQ(pass.removed, 0);
	CHECK_INT_EQ(pass.held, 2);
	CHECK(exists(dir, c, ""));

	/* the hold lifted: what it kept goes with the next pass */
	purge_hold_free(&hold);
	CHECK(purge_hold_parse(&hold, ""));
	CHECK_INT_EQ(store_retain(st, now_us() - 5 * DAY_US, &hold, &pass), 0);
	CHECK_INT_EQ(pass.removed, 2);
	CHECK_INT_EQ(pass.removed_bytes, 70);
	CHECK(!exists(dir, b, "") && !exists(dir, b, ".refs"));
	CHECK(!exists(dir, e, "") && !exists(dir, e, ".refs"));
	store_counts_get(st, &all, &ref_failures, &total);
	CHECK_INT_EQ(all.removed, 4);
	CHECK_INT_EQ(all.removed_bytes, 120);
	CHECK_INT_EQ(all.held, 4);
	CHECK_INT_EQ(total, 85); /* c 30 + f 55 */
	purge_hold_free(&hold);
	store_close(st);
	/* a restart counts content, not sidecars */
	st = store_open(dir, 100, 160, err, sizeof(err));
	CHECK(st != NULL);
	if (st) {
		store_counts_get(st, &all, &ref_failures, &total);
		CHECK_INT_EQ(total, 85);
		store_close(st);
	}
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	CHECK(system(path) == 0);
}

/* Through the file stage: the result event's local id is the reference,
 * files_shared_retain applies a request, and one worker of several
 * reports the store's counts. */
static void test_files_retention(void)
{
	char dir[] = "/tmp/imwire-retain-XXXXXX", path[512];
	struct files_shared *sh;
	struct seen s = { 0 };
	struct files *fs1, *fs2;
	struct files_stats st1, st2;
	struct files_retention pass;
	struct purge_request req;
	int64_t t;
	struct timespec times[2];

	CHECK(mkdtemp(dir) != NULL);
	sh = shared(dir, NULL, 0);
	fs1 = sh ? worker(sh, &s) : NULL;
	fs2 = sh ? worker(sh, &s) : NULL;
	CHECK(fs1 != NULL && fs2 != NULL);
	if (!fs1 || !fs2)
		goto out;
	dcc_transfer(fs2, 2, 5000, "kept for a while\n", 17, 17, false);
	CHECK_INT_EQ(s.n, 1);
	if (s.n != 1 || !s.ev[0].file.stored)
		goto out;
	snprintf(path, sizeof(path), "%s.refs", s.ev[0].file.stored);
	{
		FILE *f = fopen(path, "r");
		char got[64] = "";

		CHECK(f != NULL);
		if (f) {
			CHECK(fgets(got, sizeof(got), f) != NULL);
			fclose(f);
		}
		CHECK_STR_EQ(got, "tim2\n"); /* the offer's local id */
	}
	req.before_us = now_us() - 5 * DAY_US;
	req.compress_us = 0;
	req.hold = "TIM2";
	CHECK_INT_EQ(files_shared_retain(sh, &req, &pass), 0);
	CHECK_INT_EQ(pass.removed, 0); /* young */
	t = now_us() - 10 * DAY_US;
	times[0].tv_sec = times[1].tv_sec = t / 1000000;
	times[0].tv_nsec = times[1].tv_nsec = 0;
	CHECK(utimensat(AT_FDCWD, s.ev[0].file.stored, times, 0) == 0);
	CHECK_INT_EQ(files_shared_retain(sh, &req, &pass), 0);
	CHECK_INT_EQ(pass.removed, 0);
	CHECK_INT_EQ(pass.held, 1);
	req.hold = "";
	CHECK_INT_EQ(files_shared_retain(sh, &req, &pass), 0);
	CHECK_INT_EQ(pass.removed, 1);
	CHECK_INT_EQ(pass.removed_bytes, 17);
	CHECK(access(s.ev[0].file.stored, F_OK) < 0 && access(path, F_OK) < 0);
	files_stats_get(fs1, &st1);
	files_stats_get(fs2, &st2);
	CHECK_INT_EQ(st1.store_expired + st2.store_expired, 1); /* counted once */
	CHECK_INT_EQ(st1.store_expired_bytes + st2.store_expired_bytes, 17);
	CHECK_INT_EQ(st1.store_held + st2.store_held, 1);
	CHECK_INT_EQ(st1.stored + st2.stored, 1);
out:
	seen_free(&s);
	if (fs1)
		files_free(fs1);
	if (fs2)
		files_free(fs2);
	files_shared_free(sh);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	CHECK(system(path) == 0);
}

/* ---- scanning, against a stand-in clamd (tests/support/fake_clamd.c) ---- */

static void scan_one(enum fake_mode mode, enum im_scan want, const char *sig, const char *cats)
{
	static const char body[] = "a body to scan";
	struct fake_clamd f;
	struct files_shared *sh;
	struct seen s = { 0 };
	struct files *fs;
	struct files_stats st;

	CHECK(fake_clamd_start(&f, mode));
	sh = shared(NULL, f.path, 200);
	fs = sh ? worker(sh, &s) : NULL;
	CHECK(fs != NULL);
	if (fs) {
		dcc_transfer(fs, 2, 5000, body, sizeof(body) - 1, sizeof(body) - 1, false);
		files_stats_get(fs, &st);
		CHECK_INT_EQ(st.pending_scans, 1);
		CHECK_INT_EQ(s.n, 0); /* nothing before the verdict */
		files_drain(fs);
		CHECK_INT_EQ(s.n, 1);
		if (s.n == 1) {
			CHECK_INT_EQ(s.ev[0].file.scan, want);
			/* Silence: our deadline or the socket's, whichever came first. */
			if (sig)
				CHECK_STR_EQ(s.ev[0].file.signature ? s.ev[0].file.signature : "",
					     sig);
			if (cats)
				CHECK_STR_EQ(s.ev[0].categories ? s.ev[0].categories : "", cats);
			else
				CHECK(s.ev[0].categories == NULL);
		}
		seen_free(&s);
		files_free(fs);
	}
	files_shared_free(sh); /* waits for the scanner threads */
	if (mode != FAKE_SILENT)
		CHECK_INT_EQ(f.last_size, sizeof(body) - 1);
	fake_clamd_stop(&f);
}

static void test_scan_verdicts(void)
{
	scan_one(FAKE_CLEAN, IM_SCAN_CLEAN, "", NULL);
	scan_one(FAKE_FOUND, IM_SCAN_INFECTED, "Eicar-Test-Signature", "malware");
	scan_one(FAKE_ERROR, IM_SCAN_ERROR, "INSTREAM size limit exceeded. ERROR", "unscanned");
	scan_one(FAKE_SILENT, IM_SCAN_TIMEOUT, NULL, "unscanned");
}

static void test_scan_without_clamd(void)
{
	struct files_shared *sh = shared(NULL, "/tmp/imwire-no-such-clamd.sock", 500);
	struct seen s = { 0 };
	struct files *fs = sh ? worker(sh, &s) : NULL;

	CHECK(fs != NULL);
	if (fs) {
		dcc_transfer(fs, 2, 5000, "abc", 3, 3, false);
		/* content with a hole is not sent: said so at once */
		dcc_transfer(fs, 3, 5001, "abcdefghijklmnop", 16, 16, true);
		CHECK_INT_EQ(s.n, 1);
		CHECK(s.n >= 1 && strstr(s.ev[0].file.signature, "gaps") != NULL);
		files_drain(fs);
		CHECK_INT_EQ(s.n, 2);
		if (s.n == 2) {
			CHECK_INT_EQ(s.ev[1].file.scan, IM_SCAN_ERROR);
			CHECK(strstr(s.ev[1].file.signature, "cannot connect to clamd") != NULL);
			CHECK_STR_EQ(s.ev[1].categories ? s.ev[1].categories : "", "unscanned");
		}
		seen_free(&s);
		files_free(fs);
	}
	files_shared_free(sh);
}

/* Transfers one worker follows at once are bounded; past the bound a
 * transfer is counted, never followed. */
static void test_live_transfers_bounded(void)
{
	struct files_shared *sh = shared(NULL, NULL, 0);
	struct seen s = { 0 };
	struct files *fs = sh ? worker(sh, &s) : NULL;
	struct file_conn *c[1100];
	struct files_stats st;
	struct im_event ev;
	enum imw_proto as;
	size_t i, got = 0;

	CHECK(fs != NULL);
	if (!fs) {
		files_shared_free(sh);
		return;
	}
	for (i = 0; i < 1100; i++) {
		dcc_offer(&ev, (uint16_t)(10000 + i), "f", 10);
		files_event(fs, &ev, 100);
		event_free(&ev);
		c[i] = files_conn_start(fs, 100 + i, 4, client_ip, 40000, sender_ip,
					(uint16_t)(10000 + i), 101, &as);
		got += c[i] != NULL;
	}
	CHECK_INT_EQ(got, 1024);
	files_stats_get(fs, &st);
	CHECK_INT_EQ(st.alloc_failures, 1100 - 1024);
	for (i = 0; i < 1100; i++)
		if (c[i])
			files_conn_end(fs, c[i], 102);
	CHECK_INT_EQ(s.n, 1024 > MAX_SEEN ? MAX_SEEN : 1024);
	seen_free(&s);
	files_free(fs);
	files_shared_free(sh);
}

int main(void)
{
	RUN_TEST(test_expect_connections);
	RUN_TEST(test_expect_bounds_and_tokens);
	RUN_TEST(test_parse_endpoint);
	RUN_TEST(test_content);
	RUN_TEST(test_socks5);
	RUN_TEST(test_http_relay);
	RUN_TEST(test_dcc_transfers);
	RUN_TEST(test_socks5_and_inband_transfers);
	RUN_TEST(test_store);
	RUN_TEST(test_store_retention);
	RUN_TEST(test_files_retention);
	RUN_TEST(test_scan_verdicts);
	RUN_TEST(test_scan_without_clamd);
	RUN_TEST(test_live_transfers_bounded);
	TEST_MAIN_END();
}
