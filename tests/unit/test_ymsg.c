/* YMSG module: framing (split, several per segment, bad lengths), every
 * service the module reads, resync, encode and decode(encode()). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "imwire/signatures.h"
#include "harness.h"
#include "proto/ymsg/ymsg.h"
#include "proto/proto.h"
#include "testlib.h"
#include "util/bytebuf.h"

/* Every test's flow: YMSG from 192.0.2.10:40002. */
#define YMSG_FLOW &proto_ymsg, 5, "192.0.2.10:40002"

static void feed_bytes(struct harness *h, enum im_dir dir, const void *data, size_t len)
{
	harness_feed(h, dir, data, len);
}

/* Append a packet: service, status, then key/value pairs ending with -1.
 * The header length is computed, unless len_override is not -1. */
static void vput(struct bytebuf *b, long len_override, unsigned service, uint32_t status,
		 va_list ap)
{
	struct bytebuf body;
	uint8_t h[20];
	int key;

	bytebuf_init(&body);
	while ((key = va_arg(ap, int)) >= 0) {
		const char *v = va_arg(ap, const char *);

		bytebuf_printf(&body, "%d\xC0\x80%s\xC0\x80", key, v);
	}
	memcpy(h, "YMSG", 4);
	imw_store_be16(h + 4, 16);
	imw_store_be16(h + 6, 0);
	imw_store_be16(h + 8, (uint16_t)(len_override >= 0 ? (size_t)len_override : body.len));
	imw_store_be16(h + 10, (uint16_t)service);
	imw_store_be32(h + 12, status);
	imw_store_be32(h + 16, 0x01020304);
	bytebuf_append(b, h, sizeof(h));
	bytebuf_append(b, body.data, body.len);
	bytebuf_free(&body);
}

static void put(struct bytebuf *b, unsigned service, uint32_t status, ...)
{
	va_list ap;

	va_start(ap, status);
	vput(b, -1, service, status, ap);
	va_end(ap);
}

static void put_len(struct bytebuf *b, long len, unsigned service, uint32_t status, ...)
{
	va_list ap;

	va_start(ap, status);
	vput(b, len, service, status, ap);
	va_end(ap);
}

static void send_pkt(struct harness *h, enum im_dir dir, unsigned service, uint32_t status, ...)
{
	struct bytebuf b;
	va_list ap;

	bytebuf_init(&b);
	va_start(ap, status);
	vput(&b, -1, service, status, ap);
	va_end(ap);
	feed_bytes(h, dir, b.data, b.len);
	bytebuf_free(&b);
}

#define event_at harness_event

#define CHECK_EVENT(ev, kind_, dir_, remote_, text_)       \
	do {                                               \
		CHECK_INT_EQ((ev)->kind, kind_);           \
		CHECK_INT_EQ((ev)->dir, dir_);             \
		CHECK_STR_EQ((ev)->remote, remote_);       \
		CHECK_STR_EQ((ev)->text, text_);           \
		CHECK_INT_EQ((ev)->proto, IMW_PROTO_YMSG); \
	} while (0)

#define OUT IM_DIR_OUT
#define IN IM_DIR_IN
#define END -1

static void login(struct harness *h)
{
	send_pkt(h, OUT, 0x57, 0, 1, "alice_y", END);
	send_pkt(h, IN, 0x57, 1, 1, "alice_y", 94, "ASDFGH_challenge", 13, "2", END);
	send_pkt(h, OUT, 0x54, 0, 6, "responsehash", 96, "responsehash2", 0, "alice_y", 2, "alice_y",
		 1, "alice_y", 244, "2097087", 135, "8.1.0.421", END);
	send_pkt(h, IN, 0x01, 0, 0, "alice_y", 1, "alice_y", 8, "1", 7, "bob_y", 10, "0", 11, "5A2B",
		 17, "0", 13, "1", END);
}

static void test_module_table_and_detect(void)
{
	struct bytebuf b;

	CHECK_STR_EQ(proto_ymsg.info->name, "ymsg");
	CHECK_INT_EQ(proto_ymsg.id, IMW_PROTO_YMSG);
	CHECK_INT_EQ(proto_ymsg.info->ports[0], 5050);
	CHECK(proto_module_by_id(IMW_PROTO_YMSG) == &proto_ymsg);
	bytebuf_init(&b);
	put(&b, 0x57, 0, 1, "alice_y", END);
	CHECK(imw_sig_ymsg(b.data, b.len));
	CHECK_INT_EQ(proto_ymsg.detect(b.data, b.len, OUT), PROTO_DETECT_YES);
	CHECK_INT_EQ(proto_ymsg.detect(b.data, 3, OUT), PROTO_DETECT_MAYBE);
	CHECK_INT_EQ(proto_ymsg.detect((const uint8_t *)"YHOO\0\0\0\0", 8, OUT), PROTO_DETECT_NO);
	CHECK_INT_EQ(proto_ymsg.detect((const uint8_t *)"GET / HTTP/1.0\r\n", 16, OUT), PROTO_DETECT_NO);
	/* Picked up mid-packet: the next whole packet decides. */
	{
		struct bytebuf mid;

		bytebuf_init(&mid);
		bytebuf_append(&mid, "lo\xC0\x80" "97\xC0\x80" "1\xC0\x80", 11);
		bytebuf_append(&mid, b.data, b.len);
		CHECK_INT_EQ(proto_ymsg.detect(mid.data, mid.len, IN), PROTO_DETECT_YES);
		bytebuf_free(&mid);
	}
	bytebuf_free(&b);
}

static void test_login_and_logout(void)
{
	struct harness h;

	harness_init(&h, YMSG_FLOW);
	login(&h);
	send_pkt(&h, IN, 0x01, 0, 7, "carol_y", 10, "0", END); /* a buddy, not us */
	send_pkt(&h, OUT, 0x02, 0, 0, "alice_y", END);
	CHECK_STR_EQ(h.s->local_id, "alice_y");
	CHECK_INT_EQ(h.c.n, 2);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_LOGIN, IN, "", "");
	CHECK_STR_EQ(event_at(&h, 0)->local, "alice_y");
	CHECK_EVENT(event_at(&h, 1), IM_KIND_LOGOUT, OUT, "", "");
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	harness_free(&h);
}

static void test_messages(void)
{
	struct harness h;

	harness_init(&h, YMSG_FLOW);
	login(&h);
	h.c.n = 1;
	send_pkt(&h, OUT, 0x06, 0x5a55aa56, 1, "alice_y", 5, "bob_y", 14, "hello bob", 97, "1", 63,
		 ";0", 64, "0", END);
	send_pkt(&h, IN, 0x06, 1, 5, "alice_y", 4, "bob_y", 14, "hi alice \xc3\xa9", 97, "1", 63, ";0",
		 END);
	/* Not flagged UTF-8: Latin-1. */
	send_pkt(&h, IN, 0x06, 1, 5, "alice_y", 4, "bob_y", 14, "caf\xe9", END);
	/* Three offline messages in one packet, each opened by key 31. */
	send_pkt(&h, IN, 0x06, 5, 31, "6", 32, "6", 4, "carol_y", 5, "alice_y", 15, "1051790000", 14,
		 "first", 97, "1", 31, "6", 32, "6", 4, "dave_y", 5, "alice_y", 15, "1051790100", 14,
		 "second", 97, "1", 31, "6", 32, "6", 4, "carol_y", 5, "alice_y", 15, "1051790200", 14,
		 "third", 97, "1", END);
	/* Two messages without key 31 (a repeated key starts the next). */
	send_pkt(&h, IN, 0x06, 1, 4, "erin_y", 5, "alice_y", 14, "one", 4, "erin_y", 5, "alice_y", 14,
		 "two", END);
	/* Delivery failure. */
	send_pkt(&h, IN, 0x06, 0xffffffff, 5, "alice_y", 4, "zed_y", 16, "user not found", END);
	CHECK_INT_EQ(h.c.n, 1 + 9);
	CHECK_EVENT(event_at(&h, 1), IM_KIND_MESSAGE, OUT, "bob_y", "hello bob");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_MESSAGE, IN, "bob_y", "hi alice \xc3\xa9");
	CHECK_EVENT(event_at(&h, 3), IM_KIND_MESSAGE, IN, "bob_y", "caf\xc3\xa9");
	CHECK_EVENT(event_at(&h, 4), IM_KIND_MESSAGE, IN, "carol_y", "first");
	CHECK_EVENT(event_at(&h, 5), IM_KIND_MESSAGE, IN, "dave_y", "second");
	CHECK_EVENT(event_at(&h, 6), IM_KIND_MESSAGE, IN, "carol_y", "third");
	CHECK_EVENT(event_at(&h, 7), IM_KIND_MESSAGE, IN, "erin_y", "one");
	CHECK_EVENT(event_at(&h, 8), IM_KIND_MESSAGE, IN, "erin_y", "two");
	CHECK_EVENT(event_at(&h, 9), IM_KIND_ERROR, IN, "zed_y", "user not found");
	CHECK(!event_at(&h, 4)->group);
	/* Spans point at each value in its own packet. */
	CHECK_INT_EQ(event_at(&h, 5)->text_len, 6);
	CHECK(event_at(&h, 5)->text_offset > event_at(&h, 4)->text_offset);
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	harness_free(&h);
}

static void test_typing_and_webcam(void)
{
	struct harness h;

	harness_init(&h, YMSG_FLOW);
	login(&h);
	h.c.n = 1;
	send_pkt(&h, OUT, 0x4b, 0x16, 49, "TYPING", 1, "alice_y", 14, " ", 13, "1", 5, "bob_y", END);
	send_pkt(&h, IN, 0x4b, 0x16, 5, "alice_y", 4, "bob_y", 14, " ", 13, "0", 49, "TYPING", END);
	send_pkt(&h, IN, 0x4b, 0x16, 5, "alice_y", 4, "bob_y", 49, "WEBCAMINVITE", 14, " ", 13, "0", END);
	send_pkt(&h, OUT, 0x4b, 0x16, 49, "WEBCAMINVITE", 14, "1", 13, "0", 1, "alice_y", 5, "bob_y", END);
	send_pkt(&h, IN, 0x4b, 0x16, 5, "alice_y", 4, "bob_y", 49, "GAME", 14, "1", 13, "1", END);
	send_pkt(&h, OUT, 0x50, 0, 1, "alice_y", 5, "bob_y", END);
	send_pkt(&h, IN, 0x50, 1, 61, "a1b2c3d4", 102, "webcam.yahoo.com", END);
	CHECK_INT_EQ(h.c.n, 1 + 5);
	CHECK_EVENT(event_at(&h, 1), IM_KIND_TYPING, OUT, "bob_y", "");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_TYPING, IN, "bob_y", "stopped");
	CHECK_EVENT(event_at(&h, 3), IM_KIND_WEBCAM, IN, "bob_y", "");
	CHECK_EVENT(event_at(&h, 4), IM_KIND_WEBCAM, OUT, "bob_y", "accepted");
	CHECK_EVENT(event_at(&h, 5), IM_KIND_WEBCAM, OUT, "bob_y", "");
	/* Typing is filtered by the session flag. */
	h.s->log_typing = false;
	send_pkt(&h, IN, 0x4b, 0x16, 5, "alice_y", 4, "bob_y", 14, " ", 13, "1", 49, "TYPING", END);
	CHECK_INT_EQ(h.c.n, 6);
	harness_free(&h);
}

static void test_files(void)
{
	struct harness h;

	harness_init(&h, YMSG_FLOW);
	login(&h);
	h.c.n = 1;
	send_pkt(&h, IN, 0x46, 1, 5, "alice_y", 4, "bob_y", 14, "here", 20,
		 "http://fs.yahoo.com/users/bob/report.pdf?token=1", 38, "1051800000", 27,
		 "report.pdf", 28, "120000", END);
	send_pkt(&h, IN, 0x46, 1, 5, "alice_y", 4, "bob_y", 20, "http://fs.yahoo.com/x/song.mp3?t=2", END);
	send_pkt(&h, OUT, 0x4d, 0, 5, "bob_y", 4, "alice_y", 49, "FILEXFER", 1, "alice_y", 13, "1", 27,
		 "photo.jpg", 28, "34567", END);
	send_pkt(&h, IN, 0x4d, 0, 5, "alice_y", 4, "bob_y", 49, "PEERTOPEER", 13, "1", END);
	/* YMSG 15: two files in one offer, then info and accept (no new event). */
	send_pkt(&h, IN, 0xdc, 1, 5, "alice_y", 4, "bob_y", 265, "AbCdEf", 222, "1", 266, "1", 302, "268",
		 300, "268", 27, "a.txt", 28, "10", 301, "268", 300, "268", 27, "b \xc3\xa9.txt", 28,
		 "2000", 301, "268", 303, "268", END);
	send_pkt(&h, OUT, 0xdc, 0, 1, "alice_y", 5, "bob_y", 265, "AbCdEf", 222, "3", END);
	send_pkt(&h, IN, 0xdd, 1, 5, "alice_y", 4, "bob_y", 265, "AbCdEf", 27, "a.txt", 249, "3", 250,
		 "relay.msg.yahoo.com", END);
	send_pkt(&h, OUT, 0xde, 0, 1, "alice_y", 5, "bob_y", 265, "AbCdEf", 27, "a.txt", 249, "3", 251,
		 "token", END);
	/* An info packet for a transfer whose offer we never saw. */
	send_pkt(&h, IN, 0xdd, 1, 5, "alice_y", 4, "bob_y", 265, "ZZZ", 27, "late.zip", 249, "3", END);
	CHECK_INT_EQ(h.c.n, 1 + 6);
	CHECK_EVENT(event_at(&h, 1), IM_KIND_FILE, IN, "bob_y", "report.pdf (120000 bytes)");
	CHECK_STR_EQ(event_at(&h, 1)->file_name, "report.pdf");
	CHECK_INT_EQ(event_at(&h, 1)->file_size, 120000);
	CHECK_EVENT(event_at(&h, 2), IM_KIND_FILE, IN, "bob_y", "song.mp3");
	CHECK(!event_at(&h, 2)->has_file_size);
	CHECK_EVENT(event_at(&h, 3), IM_KIND_FILE, OUT, "bob_y", "photo.jpg (34567 bytes)");
	CHECK_EVENT(event_at(&h, 4), IM_KIND_FILE, IN, "bob_y", "a.txt (10 bytes)");
	CHECK_EVENT(event_at(&h, 5), IM_KIND_FILE, IN, "bob_y", "b \xc3\xa9.txt (2000 bytes)");
	CHECK_INT_EQ(event_at(&h, 5)->file_size, 2000);
	CHECK_EVENT(event_at(&h, 6), IM_KIND_FILE, IN, "bob_y", "late.zip");
	harness_free(&h);
}

/* #20: an offer waits for the relay's address and token, which the info
 * packet names: both clients then speak HTTP to the relay. */
static void test_file_xfer(void)
{
	static const uint8_t relay[4] = { 10, 1, 2, 3 };
	const struct im_event *ev;
	struct harness h;

	harness_init(&h, YMSG_FLOW);
	login(&h);
	harness_clear_events(&h);
	send_pkt(&h, IN, 0xdc, 1, 5, "alice_y", 4, "bob_y", 265, "AbCdEf", 222, "1", 27, "a.txt", 28,
		 "10", END);
	ev = event_at(&h, 0);
	CHECK_INT_EQ(ev->xfer.path, IM_XFER_HTTP);
	CHECK_INT_EQ(ev->xfer.ip_version, 0);
	CHECK_MEM_EQ(ev->xfer.token, "AbCdEf", 6);
	harness_clear_events(&h);
	send_pkt(&h, IN, 0xdd, 1, 5, "alice_y", 4, "bob_y", 265, "AbCdEf", 27, "a.txt", 249, "3", 250,
		 "10.1.2.3", 251, "Tk+/=", END);
	CHECK_INT_EQ(h.c.n, 1);
	ev = event_at(&h, 0);
	CHECK_EVENT(ev, IM_KIND_RENDEZVOUS, IN, "bob_y", "10.1.2.3");
	CHECK_INT_EQ(ev->xfer.path, IM_XFER_HTTP);
	CHECK_INT_EQ(ev->xfer.ip_version, 4);
	CHECK_MEM_EQ(ev->xfer.addr, relay, 4);
	CHECK_INT_EQ(ev->xfer.port, 80);
	CHECK_INT_EQ(ev->xfer.token_len, 5);
	CHECK_MEM_EQ(ev->xfer.token, "Tk+/=", 5);
	CHECK_MEM_EQ(ev->xfer.offer_id, "AbCdEf", 6);
	harness_free(&h);
}

static void test_conferences(void)
{
	struct harness h;

	harness_init(&h, YMSG_FLOW);
	login(&h);
	h.c.n = 1;
	send_pkt(&h, IN, 0x18, 1, 1, "alice_y", 57, "bob_y-1234", 50, "bob_y", 58, "join us", 52,
		 "alice_y", 52, "carol_y", 13, "0", END);
	send_pkt(&h, OUT, 0x19, 0, 1, "alice_y", 3, "alice_y", 57, "bob_y-1234", 3, "bob_y", END);
	send_pkt(&h, IN, 0x19, 1, 1, "alice_y", 57, "bob_y-1234", 53, "carol_y", END);
	send_pkt(&h, OUT, 0x1d, 0, 1, "alice_y", 53, "bob_y", 53, "carol_y", 57, "bob_y-1234", 14,
		 "hi all", 97, "1", END);
	send_pkt(&h, IN, 0x1d, 1, 1, "alice_y", 3, "bob_y", 57, "bob_y-1234", 14, "welcome", 97, "1", END);
	send_pkt(&h, OUT, 0x1c, 0, 1, "alice_y", 51, "dave_y", 57, "bob_y-1234", 58, "come too", 52,
		 "dave_y", 53, "bob_y", END);
	send_pkt(&h, IN, 0x1a, 1, 1, "alice_y", 57, "bob_y-1234", 54, "dave_y", 14, "busy", END);
	send_pkt(&h, IN, 0x1b, 1, 1, "alice_y", 57, "bob_y-1234", 56, "carol_y", END);
	send_pkt(&h, OUT, 0x1b, 0, 1, "alice_y", 3, "bob_y", 57, "bob_y-1234", END);
	/* A conference packet without a room is malformed; the next one is fine. */
	send_pkt(&h, IN, 0x1d, 1, 3, "bob_y", 14, "lost", END);
	send_pkt(&h, OUT, 0x1e, 0, 1, "alice_y", 104, "Linux:1", END);
	send_pkt(&h, OUT, 0x1f, 0, 1, "alice_y", END);
	CHECK_INT_EQ(h.c.n, 1 + 10);
	CHECK_EVENT(event_at(&h, 1), IM_KIND_RENDEZVOUS, IN, "bob_y-1234", "bob_y: join us");
	CHECK(event_at(&h, 1)->group);
	CHECK_EVENT(event_at(&h, 2), IM_KIND_JOIN, OUT, "bob_y-1234", "");
	CHECK_EVENT(event_at(&h, 3), IM_KIND_JOIN, IN, "bob_y-1234", "carol_y");
	CHECK_EVENT(event_at(&h, 4), IM_KIND_MESSAGE, OUT, "bob_y-1234", "hi all");
	CHECK(event_at(&h, 4)->group);
	CHECK_EVENT(event_at(&h, 5), IM_KIND_MESSAGE, IN, "bob_y-1234", "bob_y: welcome");
	CHECK_INT_EQ(event_at(&h, 5)->text_len, 7);
	CHECK_EVENT(event_at(&h, 6), IM_KIND_RENDEZVOUS, OUT, "bob_y-1234", "come too");
	CHECK_EVENT(event_at(&h, 7), IM_KIND_PART, IN, "bob_y-1234", "dave_y");
	CHECK_EVENT(event_at(&h, 8), IM_KIND_PART, IN, "bob_y-1234", "carol_y");
	CHECK_EVENT(event_at(&h, 9), IM_KIND_PART, OUT, "bob_y-1234", "");
	CHECK_EVENT(event_at(&h, 10), IM_KIND_JOIN, OUT, "Linux:1", "");
	CHECK_INT_EQ(h.s->stats.malformed, 1);
	CHECK_STR_EQ(h.s->last_error, "conference packet without a room");
	harness_free(&h);
}

static void test_chat_rooms(void)
{
	struct harness h;

	harness_init(&h, YMSG_FLOW);
	login(&h);
	h.c.n = 1;
	send_pkt(&h, OUT, 0x96, 0, 1, "alice_y", 109, "alice_y", 6, "abcde", END);
	send_pkt(&h, OUT, 0x98, 0, 1, "alice_y", 104, "Linux, FreeBSD, Solaris:1", 129, "1600326591",
		 62, "2", END);
	send_pkt(&h, IN, 0x98, 1, 1, "alice_y", 104, "Linux, FreeBSD, Solaris:1", 105, "topic here",
		 108, "2", 109, "alice_y", 109, "frank_y", 130, "4", END);
	send_pkt(&h, IN, 0x98, 1, 1, "alice_y", 104, "Linux, FreeBSD, Solaris:1", 108, "1", 109,
		 "gina_y", END);
	send_pkt(&h, IN, 0xa8, 1, 1, "alice_y", 104, "Linux, FreeBSD, Solaris:1", 109, "frank_y", 117,
		 "anyone here?", 124, "1", END);
	send_pkt(&h, OUT, 0xa8, 0, 1, "alice_y", 104, "Linux, FreeBSD, Solaris:1", 117, "me", 124, "1",
		 END);
	send_pkt(&h, OUT, 0x9d, 0, 1, "alice_y", 118, "bob_y", 104, "Linux, FreeBSD, Solaris:1", 117,
		 "come", 129, "1600326591", END);
	send_pkt(&h, IN, 0x9d, 1, 1, "alice_y", 119, "frank_y", 104, "Other:2", 117, "see here", END);
	send_pkt(&h, IN, 0x99, 1, 1, "alice_y", 104, "Linux, FreeBSD, Solaris:1", 109, "gina_y", END);
	send_pkt(&h, IN, 0xa1, 1, END);
	send_pkt(&h, OUT, 0x97, 0, 109, "frank_y", 1, "alice_y", END);
	send_pkt(&h, OUT, 0x9b, 0, 104, "Linux, FreeBSD, Solaris:1", 109, "alice_y", 108, "1", END);
	send_pkt(&h, OUT, 0xa0, 0, 1, "alice_y", END);
	CHECK_INT_EQ(h.c.n, 1 + 9);
	CHECK_EVENT(event_at(&h, 1), IM_KIND_JOIN, OUT, "Linux, FreeBSD, Solaris:1", "");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_JOIN, IN, "Linux, FreeBSD, Solaris:1", "alice_y, frank_y");
	CHECK_EVENT(event_at(&h, 3), IM_KIND_JOIN, IN, "Linux, FreeBSD, Solaris:1", "gina_y");
	CHECK_EVENT(event_at(&h, 4), IM_KIND_MESSAGE, IN, "Linux, FreeBSD, Solaris:1",
		    "frank_y: anyone here?");
	CHECK(event_at(&h, 4)->group);
	CHECK_EVENT(event_at(&h, 5), IM_KIND_MESSAGE, OUT, "Linux, FreeBSD, Solaris:1", "me");
	CHECK_EVENT(event_at(&h, 6), IM_KIND_RENDEZVOUS, OUT, "Linux, FreeBSD, Solaris:1", "come");
	CHECK_EVENT(event_at(&h, 7), IM_KIND_RENDEZVOUS, IN, "Other:2", "frank_y: see here");
	CHECK_EVENT(event_at(&h, 8), IM_KIND_PART, IN, "Linux, FreeBSD, Solaris:1", "gina_y");
	CHECK_EVENT(event_at(&h, 9), IM_KIND_PART, OUT, "Linux, FreeBSD, Solaris:1", "");
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	harness_free(&h);
}

static void test_framing_split_and_batched(void)
{
	struct harness h;
	struct bytebuf b;
	size_t i, pdu_len = 0;

	harness_init(&h, YMSG_FLOW);
	bytebuf_init(&b);
	put(&b, 0x06, 0x5a55aa56, 1, "alice_y", 5, "bob_y", 14, "byte by byte", 97, "1", END);
	for (i = 0; i < b.len; i++) {
		CHECK_INT_EQ(proto_ymsg.frame(h.s, OUT, b.data, i, &pdu_len),
			     PROTO_FRAME_NEED_MORE);
		feed_bytes(&h, OUT, b.data + i, 1);
	}
	CHECK_INT_EQ(h.c.n, 1);
	/* Three packets in one segment. */
	bytebuf_clear(&b);
	put(&b, 0x06, 1, 5, "alice_y", 4, "bob_y", 14, "one", END);
	put(&b, 0x4b, 0x16, 5, "alice_y", 4, "bob_y", 49, "TYPING", 13, "1", 14, " ", END);
	put(&b, 0x06, 1, 5, "alice_y", 4, "bob_y", 14, "two", END);
	CHECK_INT_EQ(proto_ymsg.frame(h.s, IN, b.data, b.len, &pdu_len), PROTO_FRAME_PDU);
	feed_bytes(&h, IN, b.data, b.len);
	CHECK_INT_EQ(h.c.n, 4);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_MESSAGE, OUT, "bob_y", "byte by byte");
	CHECK_EVENT(event_at(&h, 1), IM_KIND_MESSAGE, IN, "bob_y", "one");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_TYPING, IN, "bob_y", "");
	CHECK_EVENT(event_at(&h, 3), IM_KIND_MESSAGE, IN, "bob_y", "two");
	CHECK_INT_EQ(h.dir[0].garbage + h.dir[1].garbage, 0);
	/* An empty payload is a whole packet. */
	bytebuf_clear(&b);
	put(&b, 0x4c, 0, END);
	CHECK_INT_EQ(proto_ymsg.frame(h.s, OUT, b.data, b.len, &pdu_len), PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, 20);
	bytebuf_free(&b);
	harness_free(&h);
}

static void test_malformed_lengths(void)
{
	struct harness h;
	struct bytebuf b;
	size_t pdu_len = 0;

	harness_init(&h, YMSG_FLOW);
	bytebuf_init(&b);
	/* Too long: the claimed payload runs into the next header; caught
	 * before the claimed length has arrived, so nothing stalls. */
	put_len(&b, 200, 0x06, 1, 5, "alice_y", 4, "bob_y", 14, "too long", END);
	put(&b, 0x06, 1, 5, "alice_y", 4, "bob_y", 14, "after long", END);
	CHECK_INT_EQ(proto_ymsg.frame(h.s, IN, b.data, b.len, &pdu_len), PROTO_FRAME_GARBAGE);
	feed_bytes(&h, IN, b.data, b.len);
	/* Too short: the payload would end inside a value. */
	bytebuf_clear(&b);
	put_len(&b, 30, 0x06, 1, 5, "alice_y", 4, "bob_y", 14, "too short", END);
	put(&b, 0x06, 1, 5, "alice_y", 4, "bob_y", 14, "after short", END);
	feed_bytes(&h, IN, b.data, b.len);
	/* A key that is not a number. */
	bytebuf_clear(&b);
	bytebuf_append(&b, "YMSG\0\x10\0\0\0\x0c\0\x06\0\0\0\x01\0\0\0\0" "ab\xC0\x80" "cd\xC0\x80" "ef\xC0\x80", 32);
	put(&b, 0x06, 1, 5, "alice_y", 4, "bob_y", 14, "after bad key", END);
	feed_bytes(&h, IN, b.data, b.len);
	/* Junk between packets. */
	bytebuf_clear(&b);
	bytebuf_append(&b, "\x00\x01garbageYMS", 12);
	put(&b, 0x06, 1, 5, "alice_y", 4, "bob_y", 14, "after junk", END);
	feed_bytes(&h, IN, b.data, b.len);
	CHECK_INT_EQ(h.c.n, 4);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_MESSAGE, IN, "bob_y", "after long");
	CHECK_EVENT(event_at(&h, 1), IM_KIND_MESSAGE, IN, "bob_y", "after short");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_MESSAGE, IN, "bob_y", "after bad key");
	CHECK_EVENT(event_at(&h, 3), IM_KIND_MESSAGE, IN, "bob_y", "after junk");
	CHECK(h.dir[1].garbage >= 4);
	CHECK_INT_EQ(harness_buffered(&h, IM_DIR_IN), 0);
	bytebuf_free(&b);
	harness_free(&h);
}

static struct im_event decode_last(const uint8_t *pdu, size_t len, enum im_dir dir)
{
	struct harness h;
	struct im_event ev;

	event_init(&ev);
	harness_init(&h, YMSG_FLOW);
	login(&h);
	h.c.n = 1;
	feed_bytes(&h, dir, pdu, len);
	if (h.c.n >= 2) {
		CHECK(event_copy(&ev, &h.c.ev[h.c.n - 1]));
	} else {
		fprintf(stderr, "  decode_last: no event\n");
		testlib_failures_in_test++;
	}
	harness_free(&h);
	return ev;
}

static void test_encode_with_orig(void)
{
	struct harness h;
	struct bytebuf orig, out, want;
	struct im_event ev, back;

	harness_init(&h, YMSG_FLOW);
	bytebuf_init(&orig);
	bytebuf_init(&out);
	bytebuf_init(&want);
	put(&orig, 0x06, 1, 5, "alice_y", 4, "bob_y", 14, "you are a jerk", 97, "1", 63, ";0", END);
	ev = decode_last(orig.data, orig.len, IN);
	CHECK_INT_EQ(proto_ymsg.encode(h.s, IN, &ev, orig.data, orig.len, &out), 0);
	CHECK(out.len == orig.len && memcmp(out.data, orig.data, orig.len) == 0);
	bytebuf_clear(&out);
	CHECK(event_set_str(&ev.text, "you are a **** \xe2\x9c\x93"));
	CHECK_INT_EQ(proto_ymsg.encode(h.s, IN, &ev, orig.data, orig.len, &out), 0);
	put(&want, 0x06, 1, 5, "alice_y", 4, "bob_y", 14, "you are a **** \xe2\x9c\x93", 97, "1", 63,
	    ";0", END);
	CHECK(out.len == want.len && memcmp(out.data, want.data, want.len) == 0);
	back = decode_last(out.data, out.len, IN);
	CHECK_EVENT(&back, IM_KIND_MESSAGE, IN, "bob_y", "you are a **** \xe2\x9c\x93");
	event_free(&back);
	event_free(&ev);

	/* The second of three offline messages: only its value changes. */
	bytebuf_clear(&orig);
	bytebuf_clear(&out);
	bytebuf_clear(&want);
	put(&orig, 0x06, 5, 31, "6", 4, "carol_y", 14, "first", 31, "6", 4, "dave_y", 14, "second", 31,
	    "6", 4, "carol_y", 14, "third", END);
	{
		struct harness d;

		harness_init(&d, YMSG_FLOW);
		feed_bytes(&d, IN, orig.data, orig.len);
		CHECK_INT_EQ(d.c.n, 3);
		CHECK(d.c.n == 3 && event_copy(&ev, &d.c.ev[1]));
		harness_free(&d);
	}
	CHECK(event_set_str(&ev.text, "2nd (Latin-1: \xc3\xa9)"));
	CHECK_INT_EQ(proto_ymsg.encode(h.s, IN, &ev, orig.data, orig.len, &out), 0);
	put(&want, 0x06, 5, 31, "6", 4, "carol_y", 14, "first", 31, "6", 4, "dave_y", 14,
	    "2nd (Latin-1: \xe9)", 31, "6", 4, "carol_y", 14, "third", END);
	CHECK(out.len == want.len && memcmp(out.data, want.data, want.len) == 0);
	event_free(&ev);

	/* A chat room message from someone else: the "sender: " prefix goes. */
	bytebuf_clear(&orig);
	bytebuf_clear(&out);
	bytebuf_clear(&want);
	put(&orig, 0xa8, 1, 104, "Room:1", 109, "frank_y", 117, "bad word", 124, "1", END);
	ev = decode_last(orig.data, orig.len, IN);
	CHECK_STR_EQ(ev.text, "frank_y: bad word");
	CHECK(event_set_str(&ev.text, "frank_y: *** word"));
	CHECK_INT_EQ(proto_ymsg.encode(h.s, IN, &ev, orig.data, orig.len, &out), 0);
	put(&want, 0xa8, 1, 104, "Room:1", 109, "frank_y", 117, "*** word", 124, "1", END);
	CHECK(out.len == want.len && memcmp(out.data, want.data, want.len) == 0);
	event_free(&ev);
	bytebuf_free(&orig);
	bytebuf_free(&out);
	bytebuf_free(&want);
	harness_free(&h);
}

/* A notice is a message of the conversation, in the peer's name towards
 * the client: its text, marked by response_prefix/postfix (the defaults
 * when none is configured), shows that imwire wrote it (proto/notice.h). */
static void test_notice_marked(void)
{
	static const char marked[] = "Message from imwire: -=This conversation is logged.=-";
	struct harness h;
	struct bytebuf out, want;
	struct im_event ev, back;

	harness_init(&h, YMSG_FLOW);
	login(&h);
	bytebuf_init(&out);
	bytebuf_init(&want);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	ev.notice = true;
	CHECK(event_set_str(&ev.remote, "bob_y") &&
	      event_set_str(&ev.text, "This conversation is logged."));
	/* The receiver's bytes, whole. */
	CHECK_INT_EQ(proto_ymsg.encode(h.s, IN, &ev, NULL, 0, &out), 0);
	put(&want, 0x06, 1, 5, "alice_y", 4, "bob_y", 14, marked, 97, "1", END);
	CHECK_INT_EQ(out.len, want.len);
	CHECK_MEM_EQ(out.data, want.data, want.len);
	back = decode_last(out.data, out.len, IN);
	CHECK_EVENT(&back, IM_KIND_MESSAGE, IN, "bob_y", marked);
	event_free(&back);
	/* A configured mark, towards the remote (in the local user's name). */
	CHECK(event_set_str(&ev.notice_prefix, "[imwire] ") && event_set_str(&ev.notice_postfix, ""));
	bytebuf_clear(&out);
	CHECK_INT_EQ(proto_ymsg.encode(h.s, OUT, &ev, NULL, 0, &out), 0);
	back = decode_last(out.data, out.len, OUT);
	CHECK_EVENT(&back, IM_KIND_MESSAGE, OUT, "bob_y", "[imwire] This conversation is logged.");
	event_free(&back);
	/* Marked already (the responder's): not twice. */
	CHECK(event_set_str(&ev.text, "[imwire] Blocked by policy: x"));
	bytebuf_clear(&out);
	CHECK_INT_EQ(proto_ymsg.encode(h.s, IN, &ev, NULL, 0, &out), 0);
	back = decode_last(out.data, out.len, IN);
	CHECK_EVENT(&back, IM_KIND_MESSAGE, IN, "bob_y", "[imwire] Blocked by policy: x");
	event_free(&back);
	/* In a chat room the notice is said by "imwire", not by a member. */
	ev.group = true;
	CHECK(event_set_str(&ev.remote, "Room:1") && event_set_str(&ev.text, "Logged."));
	bytebuf_clear(&out);
	CHECK_INT_EQ(proto_ymsg.encode(h.s, IN, &ev, NULL, 0, &out), 0);
	back = decode_last(out.data, out.len, IN);
	CHECK_EVENT(&back, IM_KIND_MESSAGE, IN, "Room:1", "imwire: [imwire] Logged.");
	event_free(&back);
	event_free(&ev);
	bytebuf_free(&out);
	bytebuf_free(&want);
	harness_free(&h);
}

static void test_encode_fresh_round_trip(void)
{
	struct harness h;
	struct bytebuf out;
	struct im_event ev, back;

	harness_init(&h, YMSG_FLOW);
	login(&h);
	bytebuf_init(&out);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	CHECK(event_set_str(&ev.remote, "bob_y") && event_set_str(&ev.text, "injected \xc3\xa9"));
	CHECK_INT_EQ(proto_ymsg.encode(h.s, OUT, &ev, NULL, 0, &out), 0);
	CHECK(out.len > 20 && memcmp(out.data, "YMSG\0\x10\0\0", 8) == 0);
	CHECK_INT_EQ(imw_load_be16(out.data + 8), out.len - 20);
	CHECK_INT_EQ(imw_load_be16(out.data + 10), 0x06);
	back = decode_last(out.data, out.len, OUT);
	CHECK_EVENT(&back, IM_KIND_MESSAGE, OUT, "bob_y", "injected \xc3\xa9");
	event_free(&back);
	bytebuf_clear(&out);
	CHECK_INT_EQ(proto_ymsg.encode(h.s, IN, &ev, NULL, 0, &out), 0);
	back = decode_last(out.data, out.len, IN);
	CHECK_EVENT(&back, IM_KIND_MESSAGE, IN, "bob_y", "injected \xc3\xa9");
	CHECK_STR_EQ(back.local, "alice_y");
	event_free(&back);
	/* A chat room message both ways. */
	ev.group = true;
	CHECK(event_set_str(&ev.remote, "Room:1") && event_set_str(&ev.text, "frank_y: hello room"));
	bytebuf_clear(&out);
	CHECK_INT_EQ(proto_ymsg.encode(h.s, IN, &ev, NULL, 0, &out), 0);
	back = decode_last(out.data, out.len, IN);
	CHECK_EVENT(&back, IM_KIND_MESSAGE, IN, "Room:1", "frank_y: hello room");
	CHECK(back.group);
	event_free(&back);
	bytebuf_clear(&out);
	CHECK(event_set_str(&ev.text, "my words"));
	CHECK_INT_EQ(proto_ymsg.encode(h.s, OUT, &ev, NULL, 0, &out), 0);
	back = decode_last(out.data, out.len, OUT);
	CHECK_EVENT(&back, IM_KIND_MESSAGE, OUT, "Room:1", "my words");
	event_free(&back);
	/* Without any local id there is no sender to put in key 1. */
	bytebuf_clear(&out);
	ev.group = false;
	CHECK_INT_EQ(proto_ymsg.encode(NULL, OUT, &ev, NULL, 0, &out), -1);
	CHECK(event_set_str(&ev.local, "alice_y"));
	CHECK_INT_EQ(proto_ymsg.encode(NULL, OUT, &ev, NULL, 0, &out), 0);
	/* Not a message: nothing. */
	ev.kind = IM_KIND_TYPING;
	bytebuf_clear(&out);
	CHECK_INT_EQ(proto_ymsg.encode(h.s, OUT, &ev, NULL, 0, &out), -1);
	CHECK_INT_EQ(out.len, 0);
	event_free(&ev);
	bytebuf_free(&out);
	harness_free(&h);
}

int main(void)
{
	RUN_TEST(test_module_table_and_detect);
	RUN_TEST(test_login_and_logout);
	RUN_TEST(test_messages);
	RUN_TEST(test_typing_and_webcam);
	RUN_TEST(test_files);
	RUN_TEST(test_file_xfer);
	RUN_TEST(test_conferences);
	RUN_TEST(test_chat_rooms);
	RUN_TEST(test_framing_split_and_batched);
	RUN_TEST(test_malformed_lengths);
	RUN_TEST(test_encode_with_orig);
	RUN_TEST(test_encode_fresh_round_trip);
	RUN_TEST(test_notice_marked);
	TEST_MAIN_END();
}
