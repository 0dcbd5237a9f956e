/* Gadu-Gadu module: detection, the login generations (with the real ekg
 * capture's bytes), messages old / 8.0 / GG 11, conferences, typing,
 * DCC7 file offers, framing splits, resync, encode. */
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "harness.h"
#include "proto/gg/gg.h"
#include "proto/proto.h"
#include "testlib.h"
#include "util/bytebuf.h"

#define MODULE (&proto_gg)

/* Every test's flow: Gadu-Gadu from 192.0.2.10:40001. */
#define GG_FLOW MODULE, 7, "192.0.2.10:40001"

static void feed_bytes(struct harness *h, enum im_dir dir, const void *data, size_t len)
{
	harness_feed(h, dir, data, len);
}

/* A lost stretch of one direction: what is buffered is dropped. */
static void feed_gap(struct harness *h, enum im_dir dir)
{
	harness_gap(h, dir, 1);
}

#define event_at harness_event

#define CHECK_EVENT(ev, kind_, dir_, remote_, text_)     \
	do {                                             \
		CHECK_INT_EQ((ev)->kind, kind_);         \
		CHECK_INT_EQ((ev)->dir, dir_);           \
		CHECK_STR_EQ((ev)->remote, remote_);     \
		CHECK_STR_EQ((ev)->text, text_);         \
	} while (0)

/* A packet: LE32 type, LE32 length, body. */
static void pkt(struct bytebuf *b, uint32_t type, const void *body, size_t len)
{
	uint8_t hdr[8];

	imw_store_le32(hdr, type);
	imw_store_le32(hdr + 4, (uint32_t)len);
	bytebuf_append(b, hdr, 8);
	bytebuf_append(b, body, len);
}

static void put32(struct bytebuf *b, uint32_t v)
{
	uint8_t w[4];

	imw_store_le32(w, v);
	bytebuf_append(b, w, 4);
}

static void feed_pkt(struct harness *h, enum im_dir dir, uint32_t type, const struct bytebuf *body)
{
	struct bytebuf b;

	bytebuf_init(&b);
	pkt(&b, type, body->data, body->len);
	feed_bytes(h, dir, b.data, b.len);
	bytebuf_free(&b);
}

/* GG_SEND_MSG80 / GG_RECV_MSG80 body as libgadu builds it. */
static void msg80(struct bytebuf *b, bool incoming, uint32_t peer, const char *html,
		  const char *plain_cp1250, const uint32_t *conf, size_t n_conf)
{
	size_t fixed = incoming ? 24 : 20, i;
	size_t plain_off = fixed + strlen(html) + 1;
	size_t attr_off = plain_off + strlen(plain_cp1250) + 1;

	put32(b, peer);
	put32(b, 1374686800u);
	if (incoming)
		put32(b, 1374686801u);
	put32(b, 0x08);
	put32(b, (uint32_t)plain_off);
	put32(b, (uint32_t)attr_off);
	bytebuf_append(b, html, strlen(html) + 1);
	bytebuf_append(b, plain_cp1250, strlen(plain_cp1250) + 1);
	if (n_conf) {
		bytebuf_append_byte(b, 0x01);
		put32(b, (uint32_t)n_conf);
		for (i = 0; i < n_conf; i++)
			put32(b, conf[i]);
	}
	bytebuf_append(b, "\x02\x06\x00\x00\x00\x08\x00\x00\x00", 9);
}

/* The client's packet of john-samples ekg_login.pcap (UIN 48141423), as
 * tshark prints its TCP payload. */
static const uint8_t ekg_login80[] = {
	0x31, 0x00, 0x00, 0x00, 0x8c, 0x00, 0x00, 0x00, 0x6f, 0x94, 0xde, 0x02,
	0x70, 0x6c, 0x02, 0xc1, 0x44, 0x51, 0x45, 0xb9, 0x7c, 0x2f, 0xf8, 0xb9,
	0xaa, 0x52, 0x51, 0xdb, 0x87, 0xa2, 0x61, 0x5e, 0xcf, 0x61, 0xe1, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x80, 0x00, 0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x64, 0x23, 0x00, 0x00,
	0x00, 0x47, 0x61, 0x64, 0x75, 0x2d, 0x47, 0x61, 0x64, 0x75, 0x20, 0x43,
	0x6c, 0x69, 0x65, 0x6e, 0x74, 0x20, 0x42, 0x75, 0x69, 0x6c, 0x64, 0x20,
	0x31, 0x30, 0x2e, 0x31, 0x2e, 0x30, 0x2e, 0x31, 0x31, 0x30, 0x37, 0x30,
	0x00, 0x00, 0x00, 0x00,
};
static const uint8_t welcome[] = { 1, 0, 0, 0, 4, 0, 0, 0, 0x2f, 0x0c, 0xb2, 0xe1 };

static void test_detect(void)
{
	const struct proto_module *m = MODULE;

	CHECK_INT_EQ(sizeof(ekg_login80), 148);
	CHECK_INT_EQ(m->detect(welcome, sizeof(welcome), IM_DIR_IN), PROTO_DETECT_YES);
	CHECK_INT_EQ(m->detect(welcome, 5, IM_DIR_IN), PROTO_DETECT_MAYBE);
	CHECK_INT_EQ(m->detect(ekg_login80, sizeof(ekg_login80), IM_DIR_OUT), PROTO_DETECT_YES);
	CHECK_INT_EQ(m->detect((const uint8_t *)"GET / HTTP/1.1\r\n", 16, IM_DIR_OUT),
		     PROTO_DETECT_NO);
	CHECK_INT_EQ(m->detect((const uint8_t *)"<stream:stream to='x'>", 22, IM_DIR_OUT),
		     PROTO_DETECT_NO);
	/* A server packet type in the client's direction is not believed. */
	CHECK_INT_EQ(m->detect(welcome, sizeof(welcome), IM_DIR_OUT), PROTO_DETECT_NO);
}

static void test_login80_from_real_capture(void)
{
	struct harness h;

	harness_init(&h, GG_FLOW);
	feed_bytes(&h, IM_DIR_IN, welcome, sizeof(welcome));
	feed_bytes(&h, IM_DIR_OUT, ekg_login80, sizeof(ekg_login80));
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_LOGIN, IM_DIR_OUT, "", "");
	CHECK_STR_EQ(event_at(&h, 0)->local, "48141423");
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	harness_free(&h);
}

static void test_older_logins_and_gg11(void)
{
	static const uint32_t types[] = { 0x0c, 0x13, 0x15, 0x19 };
	struct bytebuf b;
	size_t i;

	bytebuf_init(&b);
	for (i = 0; i < 4; i++) {
		struct harness h;

		harness_init(&h, GG_FLOW);
		bytebuf_clear(&b);
		put32(&b, 1234567 + (uint32_t)i);
		bytebuf_append(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 24);
		feed_pkt(&h, IM_DIR_OUT, types[i], &b);
		CHECK_INT_EQ(h.c.n, 1);
		CHECK_INT_EQ(event_at(&h, 0)->kind, IM_KIND_LOGIN);
		CHECK_INT_EQ(strtoul(event_at(&h, 0)->local, NULL, 10), 1234567 + i);
		harness_free(&h);
	}
	{
		/* GG_LOGIN105: lang "pl" (1), UIN (2) as type, length, digits. */
		struct harness h;
		static const uint8_t login105[] = { 0x0a, 0x02, 'p', 'l', 0x12, 0x0a, 0x00, 0x08, '4',
						    '8', '1', '4', '1', '1', '6', '4', 0x1a, 0x02,
						    0xaa, 0xbb, 0x38, 0x02 };

		harness_init(&h, GG_FLOW);
		bytebuf_clear(&b);
		bytebuf_append(&b, login105, sizeof(login105));
		feed_pkt(&h, IM_DIR_OUT, 0x83, &b);
		CHECK_INT_EQ(h.c.n, 1);
		CHECK_STR_EQ(event_at(&h, 0)->local, "48141164");
		/* A truncated protobuf is refused with a reason. */
		bytebuf_clear(&b);
		bytebuf_append(&b, login105, 9);
		feed_pkt(&h, IM_DIR_OUT, 0x83, &b);
		CHECK_STR_EQ(h.s->last_error, "bad protobuf in GG_LOGIN105");
		harness_free(&h);
	}
	bytebuf_free(&b);
}

static void login(struct harness *h)
{
	harness_init(h, GG_FLOW);
	feed_bytes(h, IM_DIR_IN, welcome, sizeof(welcome));
	feed_bytes(h, IM_DIR_OUT, ekg_login80, sizeof(ekg_login80));
}

static void test_messages_80_cp1250(void)
{
	struct harness h;
	struct bytebuf b;
	const struct im_event *ev;

	login(&h);
	bytebuf_init(&b);
	/* "Zażółć gęślą jaźń" in Windows-1250. */
	msg80(&b, false, 2345678, "<span>Za\xC5\xBC\xC3\xB3\xC5\x82\xC4\x87</span>",
	      "Za\xBF\xF3\xB3\xE6 g\xEA\x9Cl\xB9 ja\x9F\xF1", NULL, 0);
	feed_pkt(&h, IM_DIR_OUT, 0x2d, &b);
	bytebuf_clear(&b);
	msg80(&b, true, 2345678, "<b>only html</b>", "", NULL, 0);
	feed_pkt(&h, IM_DIR_IN, 0x2e, &b);
	CHECK_INT_EQ(h.c.n, 3);
	ev = event_at(&h, 1);
	CHECK_EVENT(ev, IM_KIND_MESSAGE, IM_DIR_OUT, "2345678",
		    "Za\xC5\xBC\xC3\xB3\xC5\x82\xC4\x87 g\xC4\x99\xC5\x9Bl\xC4\x85 "
		    "ja\xC5\xBA\xC5\x84");
	CHECK_STR_EQ(ev->local, "48141423");
	CHECK_STR_EQ(ev->content_type, "text/plain");
	CHECK(!ev->has_text_span);
	ev = event_at(&h, 2);
	CHECK_EVENT(ev, IM_KIND_MESSAGE, IM_DIR_IN, "2345678", "<b>only html</b>");
	CHECK_STR_EQ(ev->content_type, "text/html");
	bytebuf_free(&b);
	harness_free(&h);
}

static void test_old_messages_and_conference(void)
{
	static const uint32_t others[] = { 3456789, 48141423 };
	struct harness h;
	struct bytebuf b;
	const struct im_event *ev;
	size_t i;

	login(&h);
	bytebuf_init(&b);
	put32(&b, 2345678);
	put32(&b, 77);
	put32(&b, 0x08);
	bytebuf_append(&b, "plain old", 10);
	feed_pkt(&h, IM_DIR_OUT, 0x0b, &b);
	/* An incoming conference message: sender 2345678, others listed. */
	bytebuf_clear(&b);
	put32(&b, 2345678);
	put32(&b, 78);
	put32(&b, 1374686801u);
	put32(&b, 0x08);
	bytebuf_append(&b, "hi both", 8);
	bytebuf_append_byte(&b, 0x01);
	put32(&b, 2);
	put32(&b, others[0]);
	put32(&b, others[1]);
	feed_pkt(&h, IM_DIR_IN, 0x0a, &b);
	/* Our answer goes to each participant: two copies, logged once. */
	for (i = 0; i < 2; i++) {
		uint32_t to = i == 0 ? 2345678 : 3456789, other = i == 0 ? 3456789 : 2345678;

		bytebuf_clear(&b);
		msg80(&b, false, to, "<span>re</span>", "re", &other, 1);
		feed_pkt(&h, IM_DIR_OUT, 0x2d, &b);
	}
	CHECK_INT_EQ(h.c.n, 4);
	ev = event_at(&h, 1);
	CHECK_EVENT(ev, IM_KIND_MESSAGE, IM_DIR_OUT, "2345678", "plain old");
	CHECK(ev->has_text_span);
	CHECK_INT_EQ(ev->text_offset, 8 + 12);
	CHECK_INT_EQ(ev->text_len, 9);
	ev = event_at(&h, 2);
	CHECK_EVENT(ev, IM_KIND_MESSAGE, IM_DIR_IN, "2345678,3456789", "2345678: hi both");
	CHECK(ev->group);
	ev = event_at(&h, 3);
	CHECK_EVENT(ev, IM_KIND_MESSAGE, IM_DIR_OUT, "2345678,3456789", "re");
	CHECK(ev->group);
	bytebuf_free(&b);
	harness_free(&h);
}

static void test_gg11_messages(void)
{
	static const uint8_t recv110[] = { 0x0a, 0x09, 0x00, 0x07, '2', '3', '4', '5', '6', '7', '8',
					   0x18, 0x05, 0x2a, 0x0c, 'c', 'z', 'e', 0xc5, 0x9b, 0xc4,
					   0x87, ' ', 'g', 'g', '1', '1', 0x32, 0x03, '<', 'p', '>' };
	struct harness h;
	struct bytebuf b;

	login(&h);
	bytebuf_init(&b);
	bytebuf_append(&b, recv110, sizeof(recv110));
	feed_pkt(&h, IM_DIR_IN, 0x7e, &b);
	CHECK_INT_EQ(h.c.n, 2);
	CHECK_EVENT(event_at(&h, 1), IM_KIND_MESSAGE, IM_DIR_IN, "2345678",
		    "cze\xC5\x9B\xC4\x87 gg11");
	bytebuf_free(&b);
	harness_free(&h);
}

static void test_typing_and_dcc7_file(void)
{
	struct harness h;
	struct bytebuf b;
	uint8_t name[255];
	const struct im_event *ev;

	login(&h);
	bytebuf_init(&b);
	bytebuf_append(&b, "\x05\x00", 2);
	put32(&b, 2345678);
	feed_pkt(&h, IM_DIR_IN, 0x59, &b);
	bytebuf_clear(&b);
	bytebuf_append(&b, "\x00\x00", 2);
	put32(&b, 2345678);
	feed_pkt(&h, IM_DIR_OUT, 0x59, &b);
	bytebuf_clear(&b);
	bytebuf_append(&b, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	put32(&b, 48141423);
	put32(&b, 2345678);
	put32(&b, 4);
	memset(name, 0, sizeof(name));
	memcpy(name, "r\xEA" "cznik.txt", 11); /* "ręcznik" in Windows-1250 */
	bytebuf_append(&b, name, sizeof(name));
	put32(&b, 5000000);
	put32(&b, 1);
	bytebuf_append(&b, "01234567890123456789", 20);
	feed_pkt(&h, IM_DIR_OUT, 0x20, &b);
	CHECK_INT_EQ(h.c.n, 4);
	CHECK_EVENT(event_at(&h, 1), IM_KIND_TYPING, IM_DIR_IN, "2345678", "typing");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_TYPING, IM_DIR_OUT, "2345678", "stopped");
	ev = event_at(&h, 3);
	CHECK_EVENT(ev, IM_KIND_FILE, IM_DIR_OUT, "2345678",
		    "r\xC4\x99" "cznik.txt (4299967296 bytes)");
	CHECK_STR_EQ(ev->file_name, "r\xC4\x99" "cznik.txt");
	CHECK(ev->has_file_size && ev->file_size == 4299967296ull);
	bytebuf_free(&b);
	harness_free(&h);
}

static void test_split_and_resync(void)
{
	struct bytebuf b, body;
	size_t cut;

	bytebuf_init(&b);
	bytebuf_init(&body);
	msg80(&body, true, 2345678, "<span>whole</span>", "whole", NULL, 0);
	pkt(&b, 0x2e, body.data, body.len);
	for (cut = 1; cut < b.len; cut++) {
		struct harness h;

		login(&h);
		feed_bytes(&h, IM_DIR_IN, b.data, cut);
		feed_bytes(&h, IM_DIR_IN, b.data + cut, b.len - cut);
		CHECK_INT_EQ(h.c.n, 2);
		CHECK_STR_EQ(event_at(&h, 1)->text, "whole");
		harness_free(&h);
		if (testlib_failures_in_test)
			break;
	}
	{
		struct harness h;

		login(&h);
		feed_bytes(&h, IM_DIR_IN, "\xde\xad\xbe\xef\xff\xff\xff\xff junk", 13);
		feed_bytes(&h, IM_DIR_IN, b.data, b.len);
		CHECK_INT_EQ(h.c.n, 2);
		CHECK_STR_EQ(event_at(&h, 1)->text, "whole");
		CHECK(h.dir[1].garbage >= 1);
		/* A packet cut by a capture gap; the one after it is found. */
		feed_bytes(&h, IM_DIR_IN, b.data, 30);
		feed_gap(&h, IM_DIR_IN);
		feed_bytes(&h, IM_DIR_IN, b.data + 40, b.len - 40);
		feed_bytes(&h, IM_DIR_IN, b.data, b.len);
		CHECK_INT_EQ(h.c.n, 3);
		CHECK_STR_EQ(event_at(&h, 2)->text, "whole");
		/* Offsets outside the packet are a clear error, not a read. */
		bytebuf_clear(&body);
		put32(&body, 2345678);
		put32(&body, 1);
		put32(&body, 2);
		put32(&body, 8);
		put32(&body, 9999);
		put32(&body, 0);
		feed_pkt(&h, IM_DIR_IN, 0x2e, &body);
		CHECK_STR_EQ(h.s->last_error, "message text offsets outside the packet");
		harness_free(&h);
	}
	bytebuf_free(&body);
	bytebuf_free(&b);
}

static void test_encode(void)
{
	static const uint32_t other = 3456789;
	struct harness h;
	struct bytebuf body, orig, out;
	struct im_event ev;
	size_t before;

	login(&h);
	bytebuf_init(&body);
	bytebuf_init(&orig);
	bytebuf_init(&out);
	msg80(&body, true, 2345678, "<span>bad word</span>", "bad word", &other, 1);
	pkt(&orig, 0x2e, body.data, body.len);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	ev.group = true;
	event_set_str(&ev.text, "2345678: b*d <w\xC3\xB3rd> \xE2\x82\xAC");
	CHECK_INT_EQ(MODULE->encode(h.s, IM_DIR_IN, &ev, orig.data, orig.len, &out), 0);
	CHECK_INT_EQ(imw_load_le32(out.data), 0x2e);
	CHECK_INT_EQ(imw_load_le32(out.data + 4), out.len - 8);
	before = h.c.n;
	feed_bytes(&h, IM_DIR_IN, out.data, out.len);
	CHECK_INT_EQ(h.c.n, before + 1);
	CHECK_EVENT(event_at(&h, before), IM_KIND_MESSAGE, IM_DIR_IN, "2345678,3456789",
		    "2345678: b*d <w\xC3\xB3rd> \xE2\x82\xAC");
	/* The HTML part is escaped; the plain part is Windows-1250. */
	CHECK(memmem(out.data, out.len, "<span style=\"color:#000000;\">b*d &lt;w\xC3\xB3rd&gt; "
					"\xE2\x82\xAC</span>", 52) != NULL);
	CHECK(memmem(out.data, out.len, "b*d <w\xF3rd> \x80", 13) != NULL);
	/* A word overwritten in place: both parts keep their lengths, every
	 * other byte (the HTML's tags, offsets, options) is the original's. */
	bytebuf_clear(&out);
	event_set_str(&ev.text, "2345678: *** word");
	CHECK_INT_EQ(MODULE->encode(h.s, IM_DIR_IN, &ev, orig.data, orig.len, &out), 0);
	CHECK_INT_EQ(out.len, orig.len);
	if (out.len == orig.len) {
		uint8_t *was = memmem(orig.data, orig.len, "<span>bad", 9);
		size_t after = was ? (size_t)(was - orig.data) + 9 : orig.len;
		uint8_t *plain = memmem(orig.data + after, orig.len - after, "bad", 3);
		size_t i, diffs = 0;

		for (i = 0; i < orig.len; i++)
			diffs += out.data[i] != orig.data[i];
		CHECK_INT_EQ(diffs, 6);
		CHECK(was && memcmp(out.data + (was - orig.data), "<span>***", 9) == 0);
		CHECK(plain && memcmp(out.data + (plain - orig.data), "***", 3) == 0);
	}

	/* Built from the neutral fields: a GG_SEND_MSG80 that decodes back. */
	bytebuf_clear(&out);
	ev.group = false;
	event_set_str(&ev.remote, "2345678");
	event_set_str(&ev.text, "fresh\nline");
	CHECK_INT_EQ(MODULE->encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), 0);
	CHECK_INT_EQ(imw_load_le32(out.data), 0x2d);
	before = h.c.n;
	feed_bytes(&h, IM_DIR_OUT, out.data, out.len);
	CHECK_INT_EQ(h.c.n, before + 1);
	CHECK_EVENT(event_at(&h, before), IM_KIND_MESSAGE, IM_DIR_OUT, "2345678", "fresh\nline");
	CHECK(memmem(out.data, out.len, "fresh<br>line", 13) != NULL);
	event_set_str(&ev.remote, "bob");
	CHECK_INT_EQ(MODULE->encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), -1);
	event_free(&ev);
	bytebuf_free(&out);
	bytebuf_free(&orig);
	bytebuf_free(&body);
	harness_free(&h);
}

/* A fresh incoming message decodes back to the same remote, text, local. */
static void test_encode_fresh_incoming(void)
{
	struct harness h;
	struct bytebuf out;
	struct im_event ev;
	size_t before;

	login(&h);
	bytebuf_init(&out);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	ev.dir = IM_DIR_IN;
	ev.ts = 1374686801.0;
	CHECK(event_set_str(&ev.remote, "2345678") &&
	      event_set_str(&ev.text, "za\xC5\xBC\xC3\xB3\xC5\x82\xC4\x87 <b>"));
	CHECK_INT_EQ(MODULE->encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	CHECK_INT_EQ(imw_load_le32(out.data), 0x2e);
	before = h.c.n;
	feed_bytes(&h, IM_DIR_IN, out.data, out.len);
	CHECK_INT_EQ(h.c.n, before + 1);
	CHECK_EVENT(event_at(&h, before), IM_KIND_MESSAGE, IM_DIR_IN, "2345678",
		    "za\xC5\xBC\xC3\xB3\xC5\x82\xC4\x87 <b>");
	CHECK_STR_EQ(event_at(&h, before)->local, "48141423");
	CHECK(!event_at(&h, before)->group);
	event_free(&ev);
	bytebuf_free(&out);
	harness_free(&h);
}

/* A notice is a message of the conversation, in the peer's name towards
 * the client: its text, marked by response_prefix/postfix (the defaults
 * when none is configured), shows that imwire wrote it (proto/notice.h). */
static void test_notice_marked(void)
{
	static const char marked[] = "Message from imwire: -=This conversation is logged.=-";
	struct harness h;
	struct bytebuf out;
	struct im_event ev;
	size_t before;

	login(&h);
	bytebuf_init(&out);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	ev.dir = IM_DIR_IN;
	ev.ts = 1374686801.0;
	ev.notice = true;
	CHECK(event_set_str(&ev.remote, "2345678") &&
	      event_set_str(&ev.text, "This conversation is logged."));
	CHECK_INT_EQ(MODULE->encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	CHECK_INT_EQ(imw_load_le32(out.data), 0x2e);
	/* The receiver's bytes: the marked text in the HTML part and in the
	 * plain part (NUL-terminated), from the peer. */
	CHECK(memmem(out.data, out.len, marked, strlen(marked)) != NULL);
	CHECK(memmem(out.data, out.len, marked, sizeof(marked)) != NULL);
	CHECK_INT_EQ(imw_load_le32(out.data + 8), 2345678);
	before = h.c.n;
	feed_bytes(&h, IM_DIR_IN, out.data, out.len);
	CHECK_INT_EQ(h.c.n, before + 1);
	CHECK_EVENT(event_at(&h, before), IM_KIND_MESSAGE, IM_DIR_IN, "2345678", marked);
	/* A configured mark, towards the remote (in the local user's name). */
	CHECK(event_set_str(&ev.notice_prefix, "[imwire] ") && event_set_str(&ev.notice_postfix, ""));
	bytebuf_clear(&out);
	CHECK_INT_EQ(MODULE->encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), 0);
	before = h.c.n;
	feed_bytes(&h, IM_DIR_OUT, out.data, out.len);
	CHECK_INT_EQ(h.c.n, before + 1);
	CHECK_EVENT(event_at(&h, before), IM_KIND_MESSAGE, IM_DIR_OUT, "2345678",
		    "[imwire] This conversation is logged.");
	/* Marked already (the responder's): not twice. */
	CHECK(event_set_str(&ev.text, "[imwire] Blocked by policy: x"));
	bytebuf_clear(&out);
	CHECK_INT_EQ(MODULE->encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	before = h.c.n;
	feed_bytes(&h, IM_DIR_IN, out.data, out.len);
	CHECK_INT_EQ(h.c.n, before + 1);
	CHECK_EVENT(event_at(&h, before), IM_KIND_MESSAGE, IM_DIR_IN, "2345678",
		    "[imwire] Blocked by policy: x");
	event_free(&ev);
	bytebuf_free(&out);
	harness_free(&h);
}

/* The ack the client's library waits for: delivered, its recipient and seq. */
static void test_local_receipt(void)
{
	static const uint8_t want[] = { 0x05, 0, 0, 0, 12, 0, 0, 0, 0x02, 0, 0, 0,
					0xce, 0xca, 0x23, 0x00,	/* 2345678 */
					0x50, 0x0e, 0xf0, 0x51 }; /* 1374686800 */
	struct harness h;
	struct bytebuf body, orig, out;
	size_t before;

	CHECK(MODULE->local_receipt != NULL);
	login(&h);
	bytebuf_init(&body);
	bytebuf_init(&orig);
	bytebuf_init(&out);
	msg80(&body, false, 2345678, "<span>hi</span>", "hi", NULL, 0);
	pkt(&orig, 0x2d, body.data, body.len);
	before = h.c.n;
	feed_bytes(&h, IM_DIR_OUT, orig.data, orig.len);
	CHECK_INT_EQ(h.c.n, before + 1);
	CHECK_INT_EQ(MODULE->local_receipt(h.s, event_at(&h, before), orig.data, orig.len, &out),
		     1);
	CHECK_INT_EQ(out.len, sizeof(want));
	if (out.len == sizeof(want))
		CHECK_MEM_EQ(out.data, want, sizeof(want));
	/* The client side reads it as one packet, not as a message. */
	before = h.c.n;
	feed_bytes(&h, IM_DIR_IN, out.data, out.len);
	CHECK_INT_EQ(h.c.n, before);
	CHECK_INT_EQ(h.dir[IM_DIR_IN].garbage + h.dir[IM_DIR_IN].decode_errors, 0);

	/* The old GG_SEND_MSG too. */
	bytebuf_clear(&body);
	bytebuf_clear(&orig);
	bytebuf_clear(&out);
	put32(&body, 3456789);
	put32(&body, 77);
	put32(&body, 0x08);
	bytebuf_append(&body, "plain old", 10);
	pkt(&orig, 0x0b, body.data, body.len);
	before = h.c.n;
	feed_bytes(&h, IM_DIR_OUT, orig.data, orig.len);
	CHECK_INT_EQ(MODULE->local_receipt(h.s, event_at(&h, before), orig.data, orig.len, &out),
		     1);
	CHECK_INT_EQ(out.len, 20);
	if (out.len == 20) {
		CHECK_INT_EQ(imw_load_le32(out.data + 8), 2);
		CHECK_INT_EQ(imw_load_le32(out.data + 12), 3456789);
		CHECK_INT_EQ(imw_load_le32(out.data + 16), 77);
	}

	/* GG_CLASS_ACK: the sender asked for no ack. */
	bytebuf_clear(&orig);
	bytebuf_clear(&out);
	imw_store_le32(body.data + 8, 0x08 | 0x20);
	pkt(&orig, 0x0b, body.data, body.len);
	before = h.c.n;
	feed_bytes(&h, IM_DIR_OUT, orig.data, orig.len);
	CHECK_INT_EQ(MODULE->local_receipt(h.s, event_at(&h, before), orig.data, orig.len, &out),
		     0);
	CHECK_INT_EQ(out.len, 0);
	/* Not a client message packet: nothing this module can answer. */
	CHECK_INT_EQ(
		MODULE->local_receipt(h.s, event_at(&h, before), welcome, sizeof(welcome), &out),
		-1);
	CHECK_INT_EQ(out.len, 0);
	bytebuf_free(&body);
	bytebuf_free(&orig);
	bytebuf_free(&out);
	harness_free(&h);
}

/* #20: a DCC7 offer waits for its info; the info names where the file
 * travels (the sender listens when it tells), an 8-byte id first. */
static void test_dcc7_xfer(void)
{
	static const uint8_t addr[4] = { 192, 0, 2, 10 };
	struct harness h;
	struct bytebuf b;
	uint8_t name[255], info[32];
	const struct im_event *ev;

	login(&h);
	harness_clear_events(&h);
	bytebuf_init(&b);
	bytebuf_append(&b, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	put32(&b, 48141423);
	put32(&b, 2345678);
	put32(&b, 4);
	memset(name, 0, sizeof(name));
	memcpy(name, "a.txt", 5);
	bytebuf_append(&b, name, sizeof(name));
	put32(&b, 1000);
	put32(&b, 0);
	bytebuf_append(&b, "01234567890123456789", 20);
	feed_pkt(&h, IM_DIR_OUT, 0x20, &b);
	ev = event_at(&h, 0);
	CHECK_INT_EQ(ev->kind, IM_KIND_FILE);
	CHECK_INT_EQ(ev->xfer.path, IM_XFER_TCP);
	CHECK_INT_EQ(ev->xfer.ip_version, 0);
	CHECK_INT_EQ(ev->xfer.token_len, 16);
	CHECK_MEM_EQ(ev->xfer.token, "1122334455667788", 16);
	harness_clear_events(&h);
	bytebuf_clear(&b);
	put32(&b, 2345678);
	put32(&b, 1);
	bytebuf_append(&b, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	memset(info, 0, sizeof(info));
	memcpy(info, "192.0.2.10 1550", 15);
	bytebuf_append(&b, info, sizeof(info));
	bytebuf_append(&b, "0123456789012345678901234567890", 32);
	feed_pkt(&h, IM_DIR_OUT, 0x1f, &b);
	ev = event_at(&h, 0);
	CHECK_EVENT(ev, IM_KIND_RENDEZVOUS, IM_DIR_OUT, "2345678", "192.0.2.10 1550");
	CHECK_INT_EQ(ev->xfer.path, IM_XFER_TCP);
	CHECK_INT_EQ(ev->xfer.ip_version, 4);
	CHECK_MEM_EQ(ev->xfer.addr, addr, 4);
	CHECK_INT_EQ(ev->xfer.port, 1550);
	CHECK(ev->xfer.from_listener);
	CHECK_INT_EQ(ev->xfer.preamble, 8);
	CHECK_MEM_EQ(ev->xfer.offer_id, "1122334455667788", 16);
	harness_clear_events(&h);
	/* the receiver listening (an info the other way), then a bad one */
	feed_pkt(&h, IM_DIR_IN, 0x1f, &b);
	CHECK(!event_at(&h, 0)->xfer.from_listener);
	harness_clear_events(&h);
	bytebuf_clear(&b);
	put32(&b, 2345678);
	put32(&b, 1);
	bytebuf_append(&b, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	memset(info, 0, sizeof(info));
	memcpy(info, "nowhere", 7);
	bytebuf_append(&b, info, sizeof(info));
	feed_pkt(&h, IM_DIR_IN, 0x1f, &b);
	CHECK_INT_EQ(h.c.n, 0);
	CHECK_INT_EQ(h.s->stats.malformed, 1);
	bytebuf_free(&b);
	harness_free(&h);
}

int main(void)
{
	RUN_TEST(test_detect);
	RUN_TEST(test_login80_from_real_capture);
	RUN_TEST(test_older_logins_and_gg11);
	RUN_TEST(test_messages_80_cp1250);
	RUN_TEST(test_old_messages_and_conference);
	RUN_TEST(test_gg11_messages);
	RUN_TEST(test_typing_and_dcc7_file);
	RUN_TEST(test_dcc7_xfer);
	RUN_TEST(test_split_and_resync);
	RUN_TEST(test_encode);
	RUN_TEST(test_encode_fresh_incoming);
	RUN_TEST(test_notice_marked);
	RUN_TEST(test_local_receipt);
	TEST_MAIN_END();
}
