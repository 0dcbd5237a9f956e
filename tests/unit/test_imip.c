/* IMIP module: framing, every block type, error ACKs, resync, encode. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "proto/imip/imip.h"
#include "proto/proto.h"
#include "testlib.h"
#include "util/bytebuf.h"

/* Every test's flow: IMIP from 192.0.2.10:40001. */
#define IMIP_FLOW &proto_imip, 7, "192.0.2.10:40001"

static void feed_bytes(struct harness *h, enum im_dir dir, const void *data, size_t len)
{
	harness_feed(h, dir, data, len);
}

static void feed_str(struct harness *h, enum im_dir dir, const char *s)
{
	feed_bytes(h, dir, s, strlen(s));
}

/* Build a block with a correct size line from its type line and contents. */
static char *block(const char *type, const char *contents)
{
	struct bytebuf b;

	bytebuf_init(&b);
	if (!bytebuf_printf(&b, "%s\r\n%zu\r\n%s", type, strlen(contents), contents) ||
	    !bytebuf_terminate(&b)) {
		bytebuf_free(&b);
		return NULL;
	}
	return (char *)b.data;
}

static void feed_block(struct harness *h, enum im_dir dir, const char *type, const char *contents)
{
	char *b = block(type, contents);

	CHECK(b != NULL);
	if (b)
		feed_str(h, dir, b);
	free(b);
}

#define event_at harness_event

#define CHECK_EVENT(ev, kind_, dir_, remote_, text_)            \
	do {                                                    \
		CHECK_INT_EQ((ev)->kind, kind_);                \
		CHECK_INT_EQ((ev)->dir, dir_);                  \
		CHECK_STR_EQ((ev)->remote, remote_);            \
		CHECK_STR_EQ((ev)->text, text_);                \
		CHECK_INT_EQ((ev)->proto, IMW_PROTO_IMIP);      \
	} while (0)

static const char helo_server[] = "Auth-Type: imip-md5\r\nCapabilities: server-lists\r\n"
				  "ID: 1\r\nKeep-Alive: 60\r\nProtocol: IMIP/1.0\r\n"
				  "Registration\r\nService:\r\nServiceDisplayName: Odigo\r\n"
				  "\r\n1919833824";

static void test_module_table(void)
{
	CHECK_STR_EQ(proto_imip.info->name, "imip");
	CHECK_INT_EQ(proto_imip.id, IMW_PROTO_IMIP);
	CHECK_INT_EQ(proto_imip.info->n_ports, 1);
	CHECK_INT_EQ(proto_imip.info->ports[0], 11319);
	CHECK_INT_EQ(proto_imip.max_pdu, 1024 * 1024);
	CHECK(proto_imip.encode != NULL);
}

static void test_frame_whole_and_partial(void)
{
	struct harness h;
	char *b = block("MESG", "ID: 1001\r\nTo: 23456\r\n\r\nhello");
	size_t len = strlen(b), pdu_len = 0, i;

	harness_init(&h, IMIP_FLOW);
	CHECK_INT_EQ(proto_imip.frame(h.s, IM_DIR_OUT, (const uint8_t *)b, len, &pdu_len),
		     PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, len);
	for (i = 0; i < len; i++)
		CHECK_INT_EQ(proto_imip.frame(h.s, IM_DIR_OUT, (const uint8_t *)b, i, &pdu_len),
			     PROTO_FRAME_NEED_MORE);
	/* A following block does not change the first one's length. */
	{
		struct bytebuf two;

		bytebuf_init(&two);
		CHECK(bytebuf_append_str(&two, b) && bytebuf_append_str(&two, "PING\r\n10\r\nID: 1002\r\n"));
		CHECK_INT_EQ(proto_imip.frame(h.s, IM_DIR_OUT, two.data, two.len, &pdu_len),
			     PROTO_FRAME_PDU);
		CHECK_INT_EQ(pdu_len, len);
		bytebuf_free(&two);
	}
	free(b);
	harness_free(&h);
}

static void test_frame_lf_only(void)
{
	static const char lf[] = "MESG\n27\nID: 5\nTo: 23456\nFrom: 1\n\nhi";
	struct harness h;
	size_t pdu_len = 0;

	harness_init(&h, IMIP_FLOW);
	CHECK_INT_EQ(proto_imip.frame(h.s, IM_DIR_OUT, (const uint8_t *)lf, strlen(lf), &pdu_len),
		     PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, strlen(lf));
	feed_str(&h, IM_DIR_OUT, lf);
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_MESSAGE, IM_DIR_OUT, "23456", "hi");
	CHECK_STR_EQ(event_at(&h, 0)->local, "1");
	harness_free(&h);
}

static void test_frame_garbage(void)
{
	static const char *const bad[] = {
		"MESG\r\nabc\r\n",	 /* non-numeric size */
		"MESG\r\n\r\n",		 /* empty size line */
		"MESG\r\n99999999\r\n",	 /* absurd size */
		"MESG\r\n1048577\r\n",	 /* just over the limit */
		"mesg\r\n5\r\n",	 /* not a type word */
		"MESG\r\n12 \r\n",	 /* junk after the digits */
		"MESG\rX\n5\r\n",	 /* stray CR */
		"ABCDEFGHIJKLMNOPQRS\r\n", /* type word too long */
		"\x01\x02\x03",
	};
	struct harness h;
	size_t i, pdu_len;

	harness_init(&h, IMIP_FLOW);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT_EQ(proto_imip.frame(h.s, IM_DIR_OUT, (const uint8_t *)bad[i],
					      strlen(bad[i]), &pdu_len),
			     PROTO_FRAME_GARBAGE);
		CHECK_INT_EQ(
			proto_imip.resync(h.s, IM_DIR_OUT, (const uint8_t *)bad[i], strlen(bad[i])),
			strlen(bad[i]));
	}
	/* A type line that never ends is garbage once it is too long. */
	{
		char longline[600];

		memset(longline, 'x', sizeof(longline));
		memcpy(longline, "MESG ", 5);
		CHECK_INT_EQ(
			proto_imip.frame(h.s, IM_DIR_OUT, (const uint8_t *)longline, 100, &pdu_len),
			PROTO_FRAME_NEED_MORE);
		CHECK_INT_EQ(proto_imip.frame(h.s, IM_DIR_OUT, (const uint8_t *)longline,
					      sizeof(longline), &pdu_len),
			     PROTO_FRAME_GARBAGE);
	}
	harness_free(&h);
}

static void test_detect(void)
{
	static const char helo[] = "HELO\r\n30\r\nID: 1000\r\nProtocol: IMIP/1.0\r\n";
	static const char mid[] = "llo there\r\nPING\r\n10\r\nID: 1002\r\n";

	CHECK_INT_EQ(proto_imip.detect((const uint8_t *)helo, strlen(helo), IM_DIR_OUT),
		     PROTO_DETECT_YES);
	CHECK_INT_EQ(proto_imip.detect((const uint8_t *)helo, 3, IM_DIR_OUT), PROTO_DETECT_MAYBE);
	CHECK_INT_EQ(proto_imip.detect((const uint8_t *)"HELO\r\n3", 7, IM_DIR_OUT),
		     PROTO_DETECT_MAYBE);
	CHECK_INT_EQ(proto_imip.detect((const uint8_t *)mid, strlen(mid), IM_DIR_IN),
		     PROTO_DETECT_YES);
	CHECK_INT_EQ(proto_imip.detect((const uint8_t *)"NICK alice\r\nUSER a 0 * :A\r\n", 27,
				       IM_DIR_OUT),
		     PROTO_DETECT_NO);
	CHECK_INT_EQ(proto_imip.detect((const uint8_t *)"LIST #chan\r\nJOIN #chan\r\n", 24,
				       IM_DIR_OUT),
		     PROTO_DETECT_NO);
	CHECK_INT_EQ(proto_imip.detect((const uint8_t *)"GET / HTTP/1.0\r\n\r\n", 18, IM_DIR_OUT),
		     PROTO_DETECT_NO);
}

/* The session of the protocol text, block by block. */
static void test_login_session(void)
{
	struct harness h;
	const struct im_event *ev;

	harness_init(&h, IMIP_FLOW);
	feed_block(&h, IM_DIR_OUT, "HELO", "ID: 1000\r\nProtocol: IMIP/1.0\r\n\r\n");
	feed_block(&h, IM_DIR_IN, "HELO", helo_server);
	CHECK_INT_EQ(h.c.n, 0);
	feed_block(&h, IM_DIR_OUT, "LOGN 12345",
		   "ID: 1001\r\nClient: Yahoo! IMIP Client\r\nAuth-Type: imip-md5\r\n\r\n"
		   "c35900c24a82592dd2d0db27c647ff17");
	CHECK_INT_EQ(h.c.n, 1);
	ev = event_at(&h, 0);
	CHECK_EVENT(ev, IM_KIND_LOGIN, IM_DIR_OUT, "", "");
	CHECK_STR_EQ(ev->local, "12345");
	CHECK_STR_EQ(ev->client, "192.0.2.10:40001");
	CHECK_INT_EQ(ev->flow_id, 7);
	CHECK_STR_EQ(h.s->local_id, "12345");

	feed_block(&h, IM_DIR_IN, "LOGN 12345",
		   "ID: 2\r\nReference: 1001\r\nBuddy: 23456 \"alice\",34567 \"bob\"\r\n\r\n");
	CHECK_INT_EQ(h.c.n, 2);
	CHECK_EVENT(event_at(&h, 1), IM_KIND_CONTACTS, IM_DIR_IN, "",
		    "23456 \"alice\",34567 \"bob\"");
	CHECK_STR_EQ(event_at(&h, 1)->local, "12345");

	feed_block(&h, IM_DIR_OUT, "STAT ONLINE", "ID: 1002\r\n\r\n");
	feed_block(&h, IM_DIR_IN, "ACK 600", "ID: 3\r\nReference: 1002\r\n\r\n");
	feed_block(&h, IM_DIR_IN, "STAT AWAY", "ID: 4\r\nFrom: 23456\r\n\r\nat lunch");
	feed_block(&h, IM_DIR_IN, "STAT ONLINE", "ID: 5\r\nFrom: 34567\r\n");
	feed_block(&h, IM_DIR_OUT, "PING", "ID: 1003\r\n\r\n");
	feed_block(&h, IM_DIR_IN, "ACK 600", "ID: 6\r\nReference: 1003\r\n\r\n");
	CHECK_INT_EQ(h.c.n, 5);
	CHECK_EVENT(event_at(&h, 2), IM_KIND_PRESENCE, IM_DIR_OUT, "", "ONLINE");
	CHECK_EVENT(event_at(&h, 3), IM_KIND_PRESENCE, IM_DIR_IN, "23456", "AWAY: at lunch");
	CHECK_EVENT(event_at(&h, 4), IM_KIND_PRESENCE, IM_DIR_IN, "34567", "ONLINE");

	feed_block(&h, IM_DIR_OUT, "MESG",
		   "ID: 1004\r\nTo: 23456\r\nACK-Type: errors-only\r\nFrom: 12345\r\n\r\n"
		   "Hello Alice");
	feed_block(&h, IM_DIR_IN, "MESG",
		   "Content-Type: text/plain;charset=utf-8\r\nFrom: 23456 \"alice\"\r\nID: 7\r\n"
		   "Timo: 2003-05-01T12:00:00Z\r\nTo: 12345\r\n\r\nHi! \xc3\xa4\xc3\xb6");
	CHECK_INT_EQ(h.c.n, 7);
	ev = event_at(&h, 5);
	CHECK_EVENT(ev, IM_KIND_MESSAGE, IM_DIR_OUT, "23456", "Hello Alice");
	CHECK_STR_EQ(ev->content_type, "text/plain");
	CHECK(ev->has_text_span);
	CHECK_INT_EQ(ev->text_len, 11);
	ev = event_at(&h, 6);
	CHECK_EVENT(ev, IM_KIND_MESSAGE, IM_DIR_IN, "23456", "Hi! \xc3\xa4\xc3\xb6");
	CHECK_STR_EQ(ev->local, "12345");
	CHECK(ev->has_text_span);
	CHECK_INT_EQ(ev->text_len, 8);
	CHECK_INT_EQ(ev->text_offset + ev->text_len, ev->pdu_len);

	feed_block(&h, IM_DIR_OUT, "LIST ADD 45678",
		   "ID: 1005\r\nList: Buddy\r\nFrom: 12345\r\n\r\nplease add me");
	feed_block(&h, IM_DIR_IN, "ACK 600", "ID: 8\r\nReference: 1005\r\n\r\n");
	feed_block(&h, IM_DIR_IN, "LIST ADD",
		   "From: 56789 \"carol\"\r\nID: 9\r\nList: Buddy\r\n\r\nhi, it's carol");
	feed_block(&h, IM_DIR_OUT, "LIST ACCEPT 56789 \"carol\"", "ID: 1006\r\nFrom: 12345\r\n\r\n");
	feed_block(&h, IM_DIR_OUT, "LIST REMOVE 34567",
		   "ID: 1007\r\nList: Buddy\r\nFrom: 12345\r\n\r\n");
	feed_block(&h, IM_DIR_OUT, "LIST REJECT 67890", "ID: 1008\r\nFrom: 12345\r\n\r\n");
	CHECK_INT_EQ(h.c.n, 12);
	CHECK_EVENT(event_at(&h, 7), IM_KIND_CONTACTS, IM_DIR_OUT, "45678", "add: please add me");
	CHECK_EVENT(event_at(&h, 8), IM_KIND_CONTACTS, IM_DIR_IN, "56789", "add: hi, it's carol");
	CHECK_EVENT(event_at(&h, 9), IM_KIND_CONTACTS, IM_DIR_OUT, "56789", "accept");
	CHECK_EVENT(event_at(&h, 10), IM_KIND_CONTACTS, IM_DIR_OUT, "34567", "remove");
	CHECK_EVENT(event_at(&h, 11), IM_KIND_CONTACTS, IM_DIR_OUT, "67890", "reject");

	feed_block(&h, IM_DIR_OUT, "DISC", "ID: 1009\r\n\r\n");
	feed_block(&h, IM_DIR_IN, "ACK 600", "ID: 10\r\nReference: 1009\r\n\r\n");
	CHECK_INT_EQ(h.c.n, 13);
	CHECK_EVENT(event_at(&h, 12), IM_KIND_LOGOUT, IM_DIR_OUT, "", "");
	CHECK_STR_EQ(event_at(&h, 12)->local, "12345");
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	CHECK_INT_EQ(h.dir[0].garbage + h.dir[1].garbage, 0);
	harness_free(&h);
}

/* text_offset/len must point at the body bytes in the stream. */
static void test_text_span(void)
{
	struct harness h;
	char *b = block("MESG", "ID: 1004\r\nTo: 23456\r\nACK-Type: errors-only\r\nFrom: 12345\r\n"
				"\r\nspan me");
	const struct im_event *ev;

	harness_init(&h, IMIP_FLOW);
	feed_str(&h, IM_DIR_OUT, "PING\r\n12\r\nID: 1003\r\n\r\n");
	feed_str(&h, IM_DIR_OUT, b);
	CHECK_INT_EQ(h.c.n, 1);
	ev = event_at(&h, 0);
	CHECK_INT_EQ(ev->pdu_offset, 22);
	CHECK_INT_EQ(ev->pdu_len, strlen(b));
	CHECK_INT_EQ(ev->text_len, 7);
	if (ev->text_offset + 7 <= strlen(b))
		CHECK_MEM_EQ(b + ev->text_offset, "span me", 7);
	free(b);
	harness_free(&h);
}

/* A block whose body arrives in many pieces, byte by byte and in 3 parts. */
static void test_split_block(void)
{
	char *b = block("MESG", "Content-Type: text/plain;charset=utf-8\r\nFrom: 23456 \"alice\"\r\n"
				"ID: 11\r\nTo: 12345\r\n\r\nThis message is split over segments");
	size_t len = strlen(b), i;
	struct harness h;

	harness_init(&h, IMIP_FLOW);
	for (i = 0; i < len; i++) {
		feed_bytes(&h, IM_DIR_IN, b + i, 1);
		CHECK_INT_EQ(h.c.n, i + 1 == len ? 1 : 0);
	}
	CHECK_EVENT(event_at(&h, 0), IM_KIND_MESSAGE, IM_DIR_IN, "23456",
		    "This message is split over segments");
	CHECK_STR_EQ(event_at(&h, 0)->local, "12345");
	harness_free(&h);

	harness_init(&h, IMIP_FLOW);
	feed_bytes(&h, IM_DIR_IN, b, 3);
	feed_bytes(&h, IM_DIR_IN, b + 3, 50);
	CHECK_INT_EQ(h.c.n, 0);
	feed_bytes(&h, IM_DIR_IN, b + 53, len - 53);
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_STR_EQ(event_at(&h, 0)->text, "This message is split over segments");
	harness_free(&h);
	free(b);
}

static void test_error_acks(void)
{
	struct harness h;

	harness_init(&h, IMIP_FLOW);
	feed_block(&h, IM_DIR_OUT, "LOGN 12345",
		   "ID: 1001\r\nClient: Yahoo! IMIP Client\r\nAuth-Type: imip-md5\r\n\r\n"
		   "00000000000000000000000000000000");
	feed_block(&h, IM_DIR_IN, "ACK 810", "ID: 2\r\nReference: 1001\r\n\r\n");
	feed_block(&h, IM_DIR_OUT, "MESG",
		   "ID: 1002\r\nTo: bob!\r\nACK-Type: errors-only\r\nFrom: 12345\r\n\r\nhi bob");
	feed_block(&h, IM_DIR_OUT, "MESG",
		   "ID: 1003\r\nTo: 23456\r\nACK-Type: errors-only\r\nFrom: 12345\r\n\r\nhi alice");
	feed_block(&h, IM_DIR_IN, "ACK 811", "ID: 3\r\nReference: 1002\r\n\r\n");
	feed_block(&h, IM_DIR_OUT, "STAT", "ID: 1004\r\n\r\n");
	feed_block(&h, IM_DIR_IN, "ACK 800", "ID: 4\r\nReference: 1004\r\n\r\n");
	feed_block(&h, IM_DIR_OUT, "STAT SLEEPY", "ID: 1005\r\n\r\n");
	feed_block(&h, IM_DIR_IN, "ACK 801 No such status", "ID: 5\r\nReference: 1005\r\n\r\n");
	feed_block(&h, IM_DIR_OUT, "LIST ADD abc", "ID: 1006\r\nList: Buddy\r\nFrom: 12345\r\n\r\n");
	feed_block(&h, IM_DIR_IN, "ACK 811", "Reference: 1006\r\nID: 6\r\n\r\n");
	/* An ACK about a block we never saw still reports the error. */
	feed_block(&h, IM_DIR_IN, "ACK 811", "ID: 7\r\nReference: 999\r\n\r\n");

	CHECK_INT_EQ(h.c.n, 12);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_LOGIN, IM_DIR_OUT, "", "");
	CHECK_EVENT(event_at(&h, 1), IM_KIND_ERROR, IM_DIR_IN, "", "810 wrong password");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_MESSAGE, IM_DIR_OUT, "bob!", "hi bob");
	CHECK_EVENT(event_at(&h, 3), IM_KIND_MESSAGE, IM_DIR_OUT, "23456", "hi alice");
	CHECK_EVENT(event_at(&h, 4), IM_KIND_ERROR, IM_DIR_IN, "bob!", "811 illegal user id");
	CHECK_EVENT(event_at(&h, 5), IM_KIND_PRESENCE, IM_DIR_OUT, "", "");
	CHECK_EVENT(event_at(&h, 6), IM_KIND_ERROR, IM_DIR_IN, "", "800 missing presence status");
	CHECK_EVENT(event_at(&h, 7), IM_KIND_PRESENCE, IM_DIR_OUT, "", "SLEEPY");
	CHECK_EVENT(event_at(&h, 8), IM_KIND_ERROR, IM_DIR_IN, "", "801 No such status");
	CHECK_EVENT(event_at(&h, 9), IM_KIND_CONTACTS, IM_DIR_OUT, "abc", "add");
	CHECK_EVENT(event_at(&h, 10), IM_KIND_ERROR, IM_DIR_IN, "abc", "811 illegal user id");
	CHECK_EVENT(event_at(&h, 11), IM_KIND_ERROR, IM_DIR_IN, "", "811 illegal user id");
	CHECK_STR_EQ(event_at(&h, 4)->local, "12345");
	harness_free(&h);
}

static void test_malformed_resync(void)
{
	struct harness h;

	harness_init(&h, IMIP_FLOW);
	feed_block(&h, IM_DIR_IN, "STAT ONLINE", "ID: 4\r\nFrom: 23456\r\n\r\n");
	/* A size line that is no number, then the rest of that broken block. */
	feed_str(&h, IM_DIR_IN, "MESG\r\nforty\r\nFrom: 23456\r\nID: 5\r\nTo: 12345\r\n\r\nlost\r\n");
	feed_block(&h, IM_DIR_IN, "MESG", "From: 23456\r\nID: 6\r\nTo: 12345\r\n\r\nfound again");
	feed_block(&h, IM_DIR_IN, "STAT AWAY", "ID: 7\r\nFrom: 23456\r\n\r\n");
	CHECK(h.dir[IM_DIR_IN].garbage >= 1);
	CHECK_INT_EQ(h.c.n, 3);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_PRESENCE, IM_DIR_IN, "23456", "ONLINE");
	CHECK_EVENT(event_at(&h, 1), IM_KIND_MESSAGE, IM_DIR_IN, "23456", "found again");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_PRESENCE, IM_DIR_IN, "23456", "AWAY");
	CHECK_STR_EQ(h.s->local_id, "12345");
	harness_free(&h);

	/* An absurd size, and a resync that only finds a partial head at the end. */
	harness_init(&h, IMIP_FLOW);
	feed_str(&h, IM_DIR_OUT, "MESG\r\n123456789\r\nTo: 1\r\n\r\nxx\r\nPI");
	CHECK_INT_EQ(h.c.n, 0);
	CHECK_INT_EQ(harness_buffered(&h, IM_DIR_OUT), 2);
	feed_str(&h, IM_DIR_OUT, "NG\r\n12\r\nID: 1003\r\n\r\n");
	feed_block(&h, IM_DIR_OUT, "DISC", "ID: 1004\r\n\r\n");
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_INT_EQ(event_at(&h, 0)->kind, IM_KIND_LOGOUT);
	CHECK_INT_EQ(harness_buffered(&h, IM_DIR_OUT), 0);
	harness_free(&h);

	/* The broken block's body runs into the next block mid-line. */
	harness_init(&h, IMIP_FLOW);
	feed_str(&h, IM_DIR_OUT, "MESG\r\nten\r\nTo: 23456\r\n\r\nlost");
	feed_block(&h, IM_DIR_OUT, "MESG", "ID: 1005\r\nTo: 23456\r\nFrom: 12345\r\n\r\nkept");
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_MESSAGE, IM_DIR_OUT, "23456", "kept");
	harness_free(&h);
}

static void test_decode_malformed(void)
{
	static const char *const bad[] = {
		"MESG\r\n10\r\nID: 1\r\n",	     /* size larger than the block */
		"MESG\r\n2\r\nID: 1\r\n",	     /* size smaller than the block */
		"ACK\r\n7\r\nID: 1\r\n",	     /* no status */
		"ACK abc\r\n7\r\nID: 1\r\n",	     /* status not a number */
		"LIST\r\n7\r\nID: 1\r\n",	     /* no operation */
		"MESG\r\n7\r\nID\0 1\r\n",	     /* NUL in a header */
		"",
		"M",
	};
	struct harness h;
	size_t i;

	harness_init(&h, IMIP_FLOW);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = i == 5 ? 16 : strlen(bad[i]);

		h.s->last_error = NULL;
		CHECK_INT_EQ(proto_imip.decode(h.s, IM_DIR_IN, (const uint8_t *)bad[i], len), -1);
		CHECK(h.s->last_error != NULL);
	}
	CHECK_INT_EQ(h.s->stats.malformed, sizeof(bad) / sizeof(bad[0]));
	CHECK_INT_EQ(h.c.n, 0);
	harness_free(&h);
}

/* Every truncation and every single-byte change of a real block must be
 * handled without reading out of bounds (run under ASan). */
static void test_decode_mutations(void)
{
	char *b = block("MESG", "Content-Type: text/plain;charset=iso-8859-1\r\n"
				"From: 23456 \"alice\"\r\nID: 7\r\nTo: 12345\r\n\r\nbody\xe9");
	size_t len = strlen(b), i, pdu_len;
	uint8_t *copy = malloc(len);
	struct harness h;

	CHECK(copy != NULL);
	if (!copy)
		return;
	harness_init(&h, IMIP_FLOW);
	for (i = 0; i <= len; i++) {
		uint8_t *exact = malloc(i ? i : 1);

		CHECK(exact != NULL);
		if (!exact)
			break;
		memcpy(exact, b, i);
		proto_imip.decode(h.s, IM_DIR_IN, exact, i);
		proto_imip.frame(h.s, IM_DIR_IN, exact, i, &pdu_len);
		proto_imip.resync(h.s, IM_DIR_IN, exact, i);
		proto_imip.detect(exact, i, IM_DIR_IN);
		free(exact);
	}
	for (i = 0; i < len; i++) {
		static const uint8_t subst[] = { 0, '\r', '\n', ':', '"', ' ', '9', 0xff };
		size_t k;

		for (k = 0; k < sizeof(subst); k++) {
			memcpy(copy, b, len);
			copy[i] = subst[k];
			proto_imip.decode(h.s, IM_DIR_IN, copy, len);
			proto_imip.frame(h.s, IM_DIR_IN, copy, len, &pdu_len);
			proto_imip.resync(h.s, IM_DIR_IN, copy, len);
		}
	}
	CHECK(h.c.n > 0);
	harness_free(&h);
	free(copy);
	free(b);
}

static void test_charsets(void)
{
	struct harness h;

	harness_init(&h, IMIP_FLOW);
	feed_block(&h, IM_DIR_IN, "MESG",
		   "Content-Type: text/plain; charset=ISO-8859-1\r\nFrom: 23456\r\nID: 1\r\n"
		   "To: 12345\r\n\r\ncaf\xe9");
	/* No charset: UTF-8, and a stray Latin-1 byte is taken as Latin-1. */
	feed_block(&h, IM_DIR_IN, "MESG", "From: 23456\r\nID: 2\r\nTo: 12345\r\n\r\nna\xefve");
	feed_block(&h, IM_DIR_IN, "MESG",
		   "Content-Type: text/html;charset=\"utf-8\"\r\nFrom: 23456\r\nID: 3\r\n"
		   "To: 12345\r\n\r\n<b>x</b>");
	CHECK_INT_EQ(h.c.n, 3);
	CHECK_STR_EQ(event_at(&h, 0)->text, "caf\xc3\xa9");
	CHECK_STR_EQ(event_at(&h, 1)->text, "na\xc3\xafve");
	CHECK_STR_EQ(event_at(&h, 2)->text, "<b>x</b>");
	CHECK_STR_EQ(event_at(&h, 2)->content_type, "text/html");
	CHECK_STR_EQ(event_at(&h, 0)->content_type, "text/plain");
	harness_free(&h);
}

/* Picked up mid-session: the local id comes from the messages. */
static void test_midstream_local(void)
{
	struct harness h;

	harness_init(&h, IMIP_FLOW);
	feed_str(&h, IM_DIR_IN, "end of some body\r\n");
	feed_block(&h, IM_DIR_IN, "MESG", "From: 23456 \"alice\"\r\nID: 9\r\nTo: 12345\r\n\r\nhi");
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_STR_EQ(event_at(&h, 0)->local, "12345");
	harness_free(&h);

	harness_init(&h, IMIP_FLOW);
	feed_block(&h, IM_DIR_OUT, "MESG",
		   "ID: 1004\r\nTo: 23456\r\nACK-Type: errors-only\r\nFrom: 12345\r\n\r\nyo");
	CHECK_STR_EQ(event_at(&h, 0)->local, "12345");
	harness_free(&h);

	/* The server's LOGN is the login when the client's was missed. */
	harness_init(&h, IMIP_FLOW);
	feed_block(&h, IM_DIR_IN, "LOGN 12345", "ID: 2\r\nReference: 1001\r\n\r\n");
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_LOGIN, IM_DIR_IN, "", "");
	CHECK_STR_EQ(event_at(&h, 0)->local, "12345");
	harness_free(&h);
}

/* Decode one PDU into the harness and return the last event. */
static const struct im_event *decode_one(struct harness *h, enum im_dir dir, const uint8_t *pdu,
					 size_t len)
{
	size_t before = h->c.n;

	CHECK_INT_EQ(proto_imip.decode(h->s, dir, pdu, len), 0);
	CHECK_INT_EQ(h->c.n, before + 1);
	return event_at(h, h->c.n - 1);
}

static void test_encode_with_orig(void)
{
	char *orig = block("MESG", "Content-Type: text/plain;charset=utf-8\r\n"
				   "From: 23456 \"alice\"\r\nID: 7\r\n"
				   "Timo: 2003-05-01T12:00:00Z\r\nTo: 12345\r\n\r\nyou are a fool");
	size_t orig_len = strlen(orig);
	const struct im_event *ev;
	struct im_event edited;
	struct bytebuf out;
	struct harness h;
	size_t pdu_len = 0;
	char *want;

	harness_init(&h, IMIP_FLOW);
	bytebuf_init(&out);
	ev = decode_one(&h, IM_DIR_IN, (const uint8_t *)orig, orig_len);

	/* Unchanged text: byte for byte the original. */
	CHECK_INT_EQ(proto_imip.encode(h.s, IM_DIR_IN, ev, (const uint8_t *)orig, orig_len, &out),
		     0);
	CHECK_INT_EQ(out.len, orig_len);
	CHECK_MEM_EQ(out.data, orig, orig_len);

	/* Changed text: same headers, new body, new size line. */
	CHECK(event_copy(&edited, ev));
	CHECK(event_set_str(&edited.text, "you are a ****, \xe2\x98\xba"));
	bytebuf_clear(&out);
	CHECK_INT_EQ(
		proto_imip.encode(h.s, IM_DIR_IN, &edited, (const uint8_t *)orig, orig_len, &out),
		0);
	want = block("MESG", "Content-Type: text/plain;charset=utf-8\r\n"
			     "From: 23456 \"alice\"\r\nID: 7\r\n"
			     "Timo: 2003-05-01T12:00:00Z\r\nTo: 12345\r\n\r\n"
			     "you are a ****, \xe2\x98\xba");
	CHECK_INT_EQ(out.len, strlen(want));
	CHECK(out.len == strlen(want) && memcmp(out.data, want, out.len) == 0);
	CHECK_INT_EQ(proto_imip.frame(h.s, IM_DIR_IN, out.data, out.len, &pdu_len),
		     PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, out.len);
	ev = decode_one(&h, IM_DIR_IN, out.data, out.len);
	CHECK_EVENT(ev, IM_KIND_MESSAGE, IM_DIR_IN, "23456", "you are a ****, \xe2\x98\xba");
	free(want);

	/* Empty text keeps the empty line. */
	CHECK(event_set_str(&edited.text, ""));
	bytebuf_clear(&out);
	CHECK_INT_EQ(
		proto_imip.encode(h.s, IM_DIR_IN, &edited, (const uint8_t *)orig, orig_len, &out),
		0);
	ev = decode_one(&h, IM_DIR_IN, out.data, out.len);
	CHECK_STR_EQ(ev->text, "");
	CHECK_INT_EQ(out.len, orig_len - strlen("you are a fool"));

	/* Not a MESG, or not a block at all: cannot be re-encoded. */
	CHECK_INT_EQ(proto_imip.encode(h.s, IM_DIR_IN, &edited,
				       (const uint8_t *)"PING\r\n10\r\nID: 1002\r\n", 20, &out),
		     -1);
	CHECK_INT_EQ(proto_imip.encode(h.s, IM_DIR_IN, &edited, (const uint8_t *)"junk", 4, &out),
		     -1);
	event_free(&edited);
	bytebuf_free(&out);
	harness_free(&h);
	free(orig);
}

static void test_encode_charset_and_no_blank(void)
{
	char *latin = block("MESG", "Content-Type: text/plain;charset=iso-8859-1\r\nFrom: 23456\r\n"
				    "ID: 7\r\nTo: 12345\r\n\r\ncaf\xe9");
	char *bare = block("MESG", "ID: 1004\nTo: 23456\nFrom: 12345");
	const struct im_event *ev;
	struct im_event edited;
	struct bytebuf out;
	struct harness h;

	harness_init(&h, IMIP_FLOW);
	bytebuf_init(&out);
	ev = decode_one(&h, IM_DIR_IN, (const uint8_t *)latin, strlen(latin));
	CHECK_STR_EQ(ev->text, "caf\xc3\xa9");
	CHECK(event_copy(&edited, ev));
	CHECK(event_set_str(&edited.text, "th\xc3\xa9 \xe2\x98\xba"));
	CHECK_INT_EQ(proto_imip.encode(h.s, IM_DIR_IN, &edited, (const uint8_t *)latin,
				       strlen(latin), &out),
		     0);
	/* Latin-1 on the wire; what Latin-1 lacks becomes '?'. */
	CHECK(out.len > 5 && memcmp(out.data + out.len - 5, "th\xe9 ?", 5) == 0);
	ev = decode_one(&h, IM_DIR_IN, out.data, out.len);
	CHECK_STR_EQ(ev->text, "th\xc3\xa9 ?");
	event_free(&edited);

	/* A block without empty line or final LF gets both when a body appears. */
	ev = decode_one(&h, IM_DIR_OUT, (const uint8_t *)bare, strlen(bare));
	CHECK_EVENT(ev, IM_KIND_MESSAGE, IM_DIR_OUT, "23456", "");
	CHECK(event_copy(&edited, ev));
	CHECK(event_set_str(&edited.text, "new"));
	bytebuf_clear(&out);
	CHECK_INT_EQ(proto_imip.encode(h.s, IM_DIR_OUT, &edited, (const uint8_t *)bare,
				       strlen(bare), &out),
		     0);
	CHECK_INT_EQ(out.len, strlen("MESG\r\n37\r\nID: 1004\nTo: 23456\nFrom: 12345\r\n\r\nnew"));
	CHECK(out.len == 47 &&
	      memcmp(out.data, "MESG\r\n37\r\nID: 1004\nTo: 23456\nFrom: 12345\r\n\r\nnew", 47) == 0);
	ev = decode_one(&h, IM_DIR_OUT, out.data, out.len);
	CHECK_EVENT(ev, IM_KIND_MESSAGE, IM_DIR_OUT, "23456", "new");
	event_free(&edited);
	bytebuf_free(&out);
	harness_free(&h);
	free(latin);
	free(bare);
}

static void test_encode_fresh(void)
{
	struct im_event ev;
	struct bytebuf out;
	struct harness h, h2;
	const struct im_event *got;
	size_t pdu_len = 0;

	harness_init(&h, IMIP_FLOW);
	bytebuf_init(&out);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	ev.dir = IM_DIR_OUT;
	CHECK(event_set_str(&ev.local, "12345") && event_set_str(&ev.remote, "23456") &&
	      event_set_str(&ev.text, "injected \xc3\xa4"));
	CHECK_INT_EQ(proto_imip.encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), 0);
	CHECK_INT_EQ(proto_imip.frame(h.s, IM_DIR_OUT, out.data, out.len, &pdu_len),
		     PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, out.len);
	CHECK(out.len > 6 && memcmp(out.data, "MESG\r\n", 6) == 0);

	/* A fresh session, as a decoder that never saw this flow before. */
	harness_init(&h2, IMIP_FLOW);
	got = decode_one(&h2, IM_DIR_OUT, out.data, out.len);
	CHECK_EVENT(got, IM_KIND_MESSAGE, IM_DIR_OUT, "23456", "injected \xc3\xa4");
	CHECK_STR_EQ(got->local, "12345");
	harness_free(&h2);

	ev.dir = IM_DIR_IN;
	bytebuf_clear(&out);
	CHECK_INT_EQ(proto_imip.encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	harness_init(&h2, IMIP_FLOW);
	got = decode_one(&h2, IM_DIR_IN, out.data, out.len);
	CHECK_EVENT(got, IM_KIND_MESSAGE, IM_DIR_IN, "23456", "injected \xc3\xa4");
	CHECK_STR_EQ(got->local, "12345");
	CHECK_STR_EQ(got->content_type, "text/plain");
	harness_free(&h2);

	/* Header injection through a user id is refused. */
	CHECK(event_set_str(&ev.remote, "23456\r\nTo: 666"));
	CHECK_INT_EQ(proto_imip.encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), -1);
	CHECK(event_set_str(&ev.remote, ""));
	CHECK_INT_EQ(proto_imip.encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), -1);
	ev.kind = IM_KIND_PRESENCE;
	CHECK(event_set_str(&ev.remote, "23456"));
	CHECK_INT_EQ(proto_imip.encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), -1);

	event_free(&ev);
	bytebuf_free(&out);
	harness_free(&h);
}

/* A notice is a MESG of the conversation, from the peer towards the
 * client: its text, marked by response_prefix/postfix (the defaults when
 * none is configured), shows that imwire wrote it (proto/notice.h). */
static void test_notice_marked(void)
{
	static const char marked[] = "Message from imwire: -=This conversation is logged.=-";
	struct im_event ev;
	struct bytebuf out;
	struct harness h, h2;
	const struct im_event *got;
	char want[512], block[400];

	harness_init(&h, IMIP_FLOW);
	bytebuf_init(&out);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	ev.dir = IM_DIR_IN;
	ev.notice = true;
	CHECK(event_set_str(&ev.local, "12345") && event_set_str(&ev.remote, "23456") &&
	      event_set_str(&ev.text, "This conversation is logged."));
	CHECK_INT_EQ(proto_imip.encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	/* The receiver's bytes, whole (900001: the first id imwire gives). */
	snprintf(block, sizeof(block),
		 "Content-Type: text/plain;charset=utf-8\r\nFrom: 23456\r\nID: 900001\r\n"
		 "To: 12345\r\n\r\n%s",
		 marked);
	snprintf(want, sizeof(want), "MESG\r\n%zu\r\n%s", strlen(block), block);
	CHECK_INT_EQ(out.len, strlen(want));
	CHECK_MEM_EQ(out.data, want, strlen(want));
	harness_init(&h2, IMIP_FLOW);
	got = decode_one(&h2, IM_DIR_IN, out.data, out.len);
	CHECK_EVENT(got, IM_KIND_MESSAGE, IM_DIR_IN, "23456", marked);
	harness_free(&h2);
	/* A configured mark, towards the remote (in the local user's name). */
	CHECK(event_set_str(&ev.notice_prefix, "[imwire] ") && event_set_str(&ev.notice_postfix, ""));
	bytebuf_clear(&out);
	CHECK_INT_EQ(proto_imip.encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), 0);
	harness_init(&h2, IMIP_FLOW);
	got = decode_one(&h2, IM_DIR_OUT, out.data, out.len);
	CHECK_EVENT(got, IM_KIND_MESSAGE, IM_DIR_OUT, "23456", "[imwire] This conversation is logged.");
	harness_free(&h2);
	/* Marked already (the responder's): not twice. */
	CHECK(event_set_str(&ev.text, "[imwire] Blocked by policy: x"));
	bytebuf_clear(&out);
	CHECK_INT_EQ(proto_imip.encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	harness_init(&h2, IMIP_FLOW);
	got = decode_one(&h2, IM_DIR_IN, out.data, out.len);
	CHECK_EVENT(got, IM_KIND_MESSAGE, IM_DIR_IN, "23456", "[imwire] Blocked by policy: x");
	harness_free(&h2);
	event_free(&ev);
	bytebuf_free(&out);
	harness_free(&h);
}

/* A delivered MESG sent with "ACK-Type: errors-only" expects nothing back. */
static void test_local_receipt(void)
{
	static const char *const mesg[] = {
		"ID: 1004\r\nTo: 23456\r\nACK-Type: errors-only\r\nFrom: 12345\r\n\r\nyo",
		"ID: 1005\r\nTo: 23456\r\nFrom: 12345\r\n\r\nno ack type",
		"ID: 1006\r\nTo: 23456\r\nACK-Type: always\r\nFrom: 12345\r\n\r\nother",
	};
	static const int want[] = { 0, -1, -1 };
	struct harness h;
	struct bytebuf out;
	const struct im_event *ev;
	char *b;
	size_t i;

	CHECK(proto_imip.local_receipt != NULL);
	bytebuf_init(&out);
	for (i = 0; i < sizeof(mesg) / sizeof(mesg[0]); i++) {
		harness_init(&h, IMIP_FLOW);
		b = block("MESG", mesg[i]);
		ev = decode_one(&h, IM_DIR_OUT, (const uint8_t *)b, strlen(b));
		CHECK_INT_EQ(ev->kind, IM_KIND_MESSAGE);
		CHECK_INT_EQ(proto_imip.local_receipt(h.s, ev, (const uint8_t *)b, strlen(b), &out),
			     want[i]);
		CHECK_INT_EQ(out.len, 0);
		free(b);
		harness_free(&h);
	}
	bytebuf_free(&out);
}

int main(void)
{
	RUN_TEST(test_module_table);
	RUN_TEST(test_frame_whole_and_partial);
	RUN_TEST(test_frame_lf_only);
	RUN_TEST(test_frame_garbage);
	RUN_TEST(test_detect);
	RUN_TEST(test_login_session);
	RUN_TEST(test_text_span);
	RUN_TEST(test_split_block);
	RUN_TEST(test_error_acks);
	RUN_TEST(test_malformed_resync);
	RUN_TEST(test_decode_malformed);
	RUN_TEST(test_decode_mutations);
	RUN_TEST(test_charsets);
	RUN_TEST(test_midstream_local);
	RUN_TEST(test_encode_with_orig);
	RUN_TEST(test_encode_charset_and_no_blank);
	RUN_TEST(test_encode_fresh);
	RUN_TEST(test_notice_marked);
	RUN_TEST(test_local_receipt);
	TEST_MAIN_END();
}
