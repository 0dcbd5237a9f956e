/* MSN module: framing of payload commands, switchboard and notification
 * sessions, group conversations, MSG content types (text, typing,
 * invitations, P2P file and webcam offers), resync, encode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "imwire/signatures.h"
#include "harness.h"
#include "proto/msn/msn.h"
#include "proto/proto.h"
#include "testlib.h"
#include "util/bytebuf.h"

/* Every test's flow: MSN from 192.0.2.10:40001. */
#define MSN_FLOW &proto_msn, 3, "192.0.2.10:40001"

static void feed_bytes(struct harness *h, enum im_dir dir, const void *data, size_t len)
{
	harness_feed(h, dir, data, len);
}

static void feed(struct harness *h, enum im_dir dir, const char *s)
{
	harness_feed_str(h, dir, s);
}

/* "MSG <a> <b> <len>\r\n" + the MIME message. */
static void feed_msg(struct harness *h, enum im_dir dir, const char *a, const char *b,
		     const char *mime)
{
	char *line = NULL;

	CHECK(asprintf(&line, "MSG %s %s %zu\r\n%s", a, b, strlen(mime), mime) > 0);
	feed(h, dir, line);
	free(line);
}

#define event_at harness_event

#define CHECK_EVENT(ev, kind_, dir_, remote_, text_)       \
	do {                                               \
		CHECK_INT_EQ((ev)->kind, kind_);           \
		CHECK_INT_EQ((ev)->dir, dir_);             \
		CHECK_STR_EQ((ev)->remote, remote_);       \
		CHECK_STR_EQ((ev)->text, text_);           \
		CHECK_INT_EQ((ev)->proto, IMW_PROTO_MSN);  \
	} while (0)

#define TEXT_MIME(text) \
	"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n" \
	"X-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\n" text
#define TYPING_MIME(who) \
	"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: " who "\r\n\r\n\r\n"

static void test_module_table(void)
{
	CHECK_STR_EQ(proto_msn.info->name, "msn");
	CHECK_INT_EQ(proto_msn.id, IMW_PROTO_MSN);
	CHECK_INT_EQ(proto_msn.info->n_ports, 1);
	CHECK_INT_EQ(proto_msn.info->ports[0], 1863);
	CHECK(proto_msn.encode != NULL);
	CHECK(proto_module_by_id(IMW_PROTO_MSN) == &proto_msn);
}

static void test_detect(void)
{
	static const char ver[] = "VER 1 MSNP8 CVR0\r\n";
	static const char sb[] = "USR 1 alice@example.com 17262740.1050826919.32308\r\n";
	static const char ans[] = "ANS 1 alice@example.com 849102291.520491113 11752013\r\n";
	static const char mid[] = "tail of something\r\nMSG bob@example.com Bob 19\r\nMIME-Version: 1.0\r\n";
	static const char irc[] = "NICK alice\r\nUSER alice 0 * :Alice\r\n";
	static const char user_word[] = "USR hello there\r\n";

	CHECK(imw_sig_msn((const uint8_t *)ver, strlen(ver)));
	CHECK(imw_sig_msn((const uint8_t *)sb, strlen(sb)));
	CHECK(!imw_sig_msn((const uint8_t *)"VER 1 HTTP/1.0\r\n", 16));
	CHECK(!imw_sig_msn((const uint8_t *)user_word, strlen(user_word)));
	CHECK_INT_EQ(proto_msn.detect((const uint8_t *)ver, strlen(ver), IM_DIR_OUT), PROTO_DETECT_YES);
	CHECK_INT_EQ(proto_msn.detect((const uint8_t *)ans, strlen(ans), IM_DIR_OUT), PROTO_DETECT_YES);
	CHECK_INT_EQ(proto_msn.detect((const uint8_t *)mid, strlen(mid), IM_DIR_IN), PROTO_DETECT_YES);
	CHECK_INT_EQ(proto_msn.detect((const uint8_t *)"VE", 2, IM_DIR_OUT), PROTO_DETECT_MAYBE);
	CHECK_INT_EQ(proto_msn.detect((const uint8_t *)irc, strlen(irc), IM_DIR_OUT), PROTO_DETECT_NO);
	CHECK_INT_EQ(proto_msn.detect((const uint8_t *)user_word, strlen(user_word), IM_DIR_OUT),
		     PROTO_DETECT_NO);
	/* The registry puts MSN before IRC, whose signature "VER 1 ..." also passes. */
	{
		size_t n, i, msn = 99, irc_i = 99;
		const struct proto_module *const *mods = proto_modules(&n);

		for (i = 0; i < n; i++) {
			if (mods[i] == &proto_msn)
				msn = i;
			if (mods[i]->id == IMW_PROTO_IRC)
				irc_i = i;
		}
		CHECK(msn < irc_i);
	}
}

static void test_frame_payload_commands(void)
{
	static const char msg[] = "MSG 5 N 10\r\n0123456789USR 6 OK\r\n";
	struct harness h;
	size_t pdu_len = 0, i;

	harness_init(&h, MSN_FLOW);
	CHECK_INT_EQ(proto_msn.frame(h.s, IM_DIR_OUT, (const uint8_t *)msg, strlen(msg), &pdu_len),
		     PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, 22);
	for (i = 0; i < 22; i++)
		CHECK_INT_EQ(proto_msn.frame(h.s, IM_DIR_OUT, (const uint8_t *)msg, i, &pdu_len),
			     PROTO_FRAME_NEED_MORE);
	/* The server's QRY answer has no payload although its last word is a number. */
	CHECK_INT_EQ(
		proto_msn.frame(h.s, IM_DIR_IN, (const uint8_t *)"QRY 1049\r\nX", 11, &pdu_len),
		PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, 10);
	CHECK_INT_EQ(proto_msn.frame(h.s, IM_DIR_OUT,
				     (const uint8_t *)"QRY 1049 msmsgs@msnmsgr.com 32\r\n", 32,
				     &pdu_len),
		     PROTO_FRAME_NEED_MORE);
	/* NOT has only the length; ADL's answer says OK. */
	CHECK_INT_EQ(proto_msn.frame(h.s, IM_DIR_IN, (const uint8_t *)"NOT 3\r\nabc", 10, &pdu_len),
		     PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, 10);
	CHECK_INT_EQ(
		proto_msn.frame(h.s, IM_DIR_IN, (const uint8_t *)"ADL 12 OK\r\n", 11, &pdu_len),
		PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, 11);
	CHECK_INT_EQ(proto_msn.frame(h.s, IM_DIR_IN, (const uint8_t *)"UUX 7 0\r\n", 9, &pdu_len),
		     PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, 9);
	CHECK_INT_EQ(proto_msn.frame(h.s, IM_DIR_IN, (const uint8_t *)"hello\r\n", 7, &pdu_len),
		     PROTO_FRAME_GARBAGE);
	CHECK_INT_EQ(proto_msn.frame(h.s, IM_DIR_IN, (const uint8_t *)"MSG 1 N 99999999\r\n", 18,
				     &pdu_len),
		     PROTO_FRAME_PDU); /* 8 digits: not a length, so a plain line */
	/* The length is the last argument whatever the spacing (framing reads
	 * it from the line's end, decoding splits the line from its start). */
	CHECK_INT_EQ(proto_msn.frame(h.s, IM_DIR_IN, (const uint8_t *)"MSG a b 3  \r\nabc", 16,
				     &pdu_len),
		     PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, 16);
	CHECK_INT_EQ(proto_msn.frame(h.s, IM_DIR_IN, (const uint8_t *)"NOT   3\r\nabcX", 13,
				     &pdu_len),
		     PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, 12);
	CHECK_INT_EQ(proto_msn.frame(h.s, IM_DIR_OUT, (const uint8_t *)"MSG 1\tN 0012\r\n", 14,
				     &pdu_len),
		     PROTO_FRAME_NEED_MORE); /* a tab is no separator: two arguments, 12 bytes */
	/* MSG needs two arguments before a length; with one it has no payload. */
	CHECK_INT_EQ(proto_msn.frame(h.s, IM_DIR_OUT, (const uint8_t *)"MSG   3\r\nabc", 12,
				     &pdu_len),
		     PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, 9);
	CHECK_INT_EQ(proto_msn.frame(h.s, IM_DIR_OUT, (const uint8_t *)"MSG \r\nabc", 9, &pdu_len),
		     PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, 6);
	harness_free(&h);
}

/* MIME headers: names in any case, the first of a name counts, a control
 * byte is no '-'; the charset in any case; the sender as sent even when a
 * participant of another case is known. */
static void test_msg_headers(void)
{
	struct harness h;

	harness_init(&h, MSN_FLOW);
	feed(&h, IM_DIR_OUT, "ANS 1 me@example.com 123.456 777\r\n");
	feed(&h, IM_DIR_IN, "IRO 1 1 1 Bob@Example.com Bob\r\n");
	feed_msg(&h, IM_DIR_IN, "bob@example.com", "Bob",
		 "content-TYPE:  TEXT/Plain; CHARSET=\"ISO-8859-1\"\r\n"
		 "Content-Type: text/x-msmsgscontrol\r\n\r\ncaf\xe9");
	feed_msg(&h, IM_DIR_IN, "Bob@Example.com", "Bob",
		 "Content\rType: text/x-msmsgscontrol\r\nCONTENT-TYPE: text/plain; charset=utf-8\r\n"
		 "\r\ncaf\xc3\xa9");
	feed_msg(&h, IM_DIR_IN, "Bob@Example.com", "Bob",
		 "Content-Type: text/x-msmsgscontrol\r\ntypinguser: Bob@Example.com\r\n\r\n");
	CHECK_INT_EQ(h.c.n, 3);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_MESSAGE, IM_DIR_IN, "bob@example.com", "caf\xc3\xa9");
	CHECK_EVENT(event_at(&h, 1), IM_KIND_MESSAGE, IM_DIR_IN, "Bob@Example.com", "caf\xc3\xa9");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_TYPING, IM_DIR_IN, "Bob@Example.com", "");
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	harness_free(&h);
}

/* The switchboard of the book capture, in miniature, fed byte by byte. */
static void test_switchboard_caller(void)
{
	static const char out[] =
		"USR 93 tesla_brian@hotmail.com;{F2A3B4C5-0000-1111-2222-333344445555} 1835953129.2\r\n"
		"CAL 94 tesla_thomas@hotmail.com\r\n";
	static const char in[] = "USR 93 OK tesla_brian@hotmail.com Brian\r\n"
				 "CAL 94 RINGING 1835953129\r\n"
				 "JOI tesla_thomas@hotmail.com;{0A0B0C0D-0000-1111-2222-333344445555} Thomas 2789003324\r\n";
	struct harness h;
	size_t i;

	harness_init(&h, MSN_FLOW);
	for (i = 0; i < strlen(out); i++)
		feed_bytes(&h, IM_DIR_OUT, out + i, 1);
	for (i = 0; i < strlen(in); i++)
		feed_bytes(&h, IM_DIR_IN, in + i, 1);
	CHECK_STR_EQ(h.s->local_id, "tesla_brian@hotmail.com");
	feed_msg(&h, IM_DIR_OUT, "95", "U", TYPING_MIME("tesla_brian@hotmail.com"));
	feed_msg(&h, IM_DIR_OUT, "96", "N", TEXT_MIME("Hey Brian"));
	feed_msg(&h, IM_DIR_IN, "tesla_thomas@hotmail.com", "Thomas",
		 TYPING_MIME("tesla_thomas@hotmail.com"));
	feed_msg(&h, IM_DIR_IN, "tesla_thomas@hotmail.com;{0A0B0C0D-0000-1111-2222-333344445555}",
		 "Thomas", TEXT_MIME("Hey man, whats up? \xc3\xa9"));
	CHECK_INT_EQ(h.c.n, 5);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_JOIN, IM_DIR_IN, "tesla_thomas@hotmail.com", "");
	CHECK_EVENT(event_at(&h, 1), IM_KIND_TYPING, IM_DIR_OUT, "tesla_thomas@hotmail.com", "");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_MESSAGE, IM_DIR_OUT, "tesla_thomas@hotmail.com",
		    "Hey Brian");
	CHECK_EVENT(event_at(&h, 3), IM_KIND_TYPING, IM_DIR_IN, "tesla_thomas@hotmail.com", "");
	CHECK_EVENT(event_at(&h, 4), IM_KIND_MESSAGE, IM_DIR_IN, "tesla_thomas@hotmail.com",
		    "Hey man, whats up? \xc3\xa9");
	CHECK_STR_EQ(event_at(&h, 4)->local, "tesla_brian@hotmail.com");
	CHECK(!event_at(&h, 4)->group);
	/* The text span covers exactly the body in the PDU. */
	CHECK(event_at(&h, 2)->has_text_span);
	CHECK_INT_EQ(event_at(&h, 2)->text_len, 9);
	CHECK_MEM_EQ(h.dir[0].last_pdu + event_at(&h, 2)->text_offset, "Hey Brian", 9);
	CHECK_INT_EQ(h.dir[0].garbage + h.dir[1].garbage, 0);
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	harness_free(&h);
}

static void test_typing_filtered(void)
{
	struct harness h;

	harness_init(&h, MSN_FLOW);
	h.s->log_typing = false;
	feed(&h, IM_DIR_OUT, "ANS 1 me@example.com 123.456 777\r\n");
	feed(&h, IM_DIR_IN, "IRO 1 1 1 bob@example.com Bob\r\n");
	feed_msg(&h, IM_DIR_IN, "bob@example.com", "Bob", TYPING_MIME("bob@example.com"));
	feed_msg(&h, IM_DIR_IN, "bob@example.com", "Bob", TEXT_MIME("hi"));
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_MESSAGE, IM_DIR_IN, "bob@example.com", "hi");
	harness_free(&h);
}

/* ANS into a switchboard with two others: a group named by the session id. */
static void test_group_from_answer(void)
{
	struct harness h;

	harness_init(&h, MSN_FLOW);
	feed(&h, IM_DIR_OUT, "ANS 1 me@example.com 849102291.520491113 11752013\r\n");
	feed(&h, IM_DIR_IN, "IRO 1 1 2 bob@example.com Bob\r\nIRO 1 2 2 carol@example.com Carol\r\n"
			    "ANS 1 OK\r\n");
	feed_msg(&h, IM_DIR_IN, "carol@example.com", "Carol", TEXT_MIME("hello all"));
	feed_msg(&h, IM_DIR_IN, "bob@example.com", "Bob", TYPING_MIME("bob@example.com"));
	feed_msg(&h, IM_DIR_OUT, "2", "A", TEXT_MIME("hi both"));
	feed(&h, IM_DIR_IN, "BYE carol@example.com\r\n");
	/* Still the same conversation after Carol left. */
	feed_msg(&h, IM_DIR_IN, "bob@example.com", "Bob", TEXT_MIME("she left"));
	feed(&h, IM_DIR_IN, "JOI dave@example.com Dave 0\r\n");
	CHECK_INT_EQ(h.c.n, 6);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_MESSAGE, IM_DIR_IN, "groupchat-11752013",
		    "carol@example.com: hello all");
	CHECK(event_at(&h, 0)->group);
	CHECK_INT_EQ(event_at(&h, 0)->text_len, 9); /* the span is the raw body */
	CHECK_EVENT(event_at(&h, 1), IM_KIND_TYPING, IM_DIR_IN, "groupchat-11752013",
		    "bob@example.com");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_MESSAGE, IM_DIR_OUT, "groupchat-11752013", "hi both");
	CHECK(event_at(&h, 2)->group);
	CHECK_EVENT(event_at(&h, 3), IM_KIND_PART, IM_DIR_IN, "groupchat-11752013",
		    "carol@example.com");
	CHECK_EVENT(event_at(&h, 4), IM_KIND_MESSAGE, IM_DIR_IN, "groupchat-11752013",
		    "bob@example.com: she left");
	CHECK_EVENT(event_at(&h, 5), IM_KIND_JOIN, IM_DIR_IN, "groupchat-11752013", "dave@example.com");
	harness_free(&h);
}

/* Picked up mid-session (no CAL, no ANS): the id comes from the roster. */
static void run_roster_group(const char *first, const char *second, char *id, size_t id_size)
{
	struct harness h;

	harness_init(&h, MSN_FLOW);
	feed(&h, IM_DIR_OUT, "USR 1 Me@Example.com 123.456\r\n");
	feed(&h, IM_DIR_IN, "USR 1 OK me@example.com Me\r\n");
	feed_msg(&h, IM_DIR_IN, first, "X", TEXT_MIME("one"));
	feed_msg(&h, IM_DIR_IN, second, "Y", TEXT_MIME("two"));
	CHECK_INT_EQ(h.c.n, 2);
	CHECK(!event_at(&h, 0)->group);
	CHECK_STR_EQ(event_at(&h, 0)->remote, first);
	CHECK(event_at(&h, 1)->group);
	snprintf(id, id_size, "%s", event_at(&h, 1)->remote);
	harness_free(&h);
}

static void test_group_from_roster(void)
{
	char a[64], b[64];
	/* FNV-1a 64 of "bob@example.com\0carol@example.com\0me@example.com\0". */
	uint64_t hash = 0xcbf29ce484222325ull;
	const char ids[] = "bob@example.com\0carol@example.com\0me@example.com";
	char want[64];
	size_t i;

	for (i = 0; i < sizeof(ids); i++)
		hash = (hash ^ (uint8_t)ids[i]) * 0x100000001b3ull;
	snprintf(want, sizeof(want), "groupchat-%016llx", (unsigned long long)hash);
	run_roster_group("bob@example.com", "carol@example.com", a, sizeof(a));
	run_roster_group("carol@example.com", "Bob@Example.com", b, sizeof(b));
	CHECK_STR_EQ(a, want);
	CHECK_STR_EQ(b, want);
}

static void test_notification_server(void)
{
	struct harness h;

	harness_init(&h, MSN_FLOW);
	feed(&h, IM_DIR_OUT, "VER 1 MSNP15 MSNP14 CVR0\r\nCVR 2 0x0409 winnt 5.1 i386 MSNMSGR 8.5 msmsgs alice@example.com\r\n"
			     "USR 3 SSO I alice@example.com\r\n");
	feed(&h, IM_DIR_IN, "VER 1 MSNP15\r\nCVR 2 8.5.1288 8.5.1288 8.1.0178 http://x http://y\r\n"
			    "USR 3 SSO S MBI_KEY_OLD 8CLhG/xfgYZ7TyEs/0Ra\r\n"
			    "USR 4 OK alice@example.com 1 0\r\n");
	/* The server's profile message: not chat. */
	feed_msg(&h, IM_DIR_IN, "Hotmail", "Hotmail",
		 "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\n"
		 "LoginTime: 1188910000\r\n\r\n");
	feed(&h, IM_DIR_OUT, "CHG 5 NLN 1342210084\r\n");
	feed(&h, IM_DIR_IN, "CHG 5 NLN 1342210084\r\nILN 5 AWY bob@example.com Bob 0\r\n"
			    "NLN BSY 1:carol@example.com Carol 0\r\nFLN bob@example.com\r\n");
	/* Payload commands keep framing in step: a UBX whose payload looks like a command. */
	feed(&h, IM_DIR_IN, "UBX carol@example.com 22\r\nFLN x@y\r\nUSR 9 OK z@z\r\n");
	feed(&h, IM_DIR_IN, "RNG 11752013 65.54.228.15:1863 CKI 849102291.520491113 bob@example.com Bob\r\n");
	feed(&h, IM_DIR_OUT, "UUX 6 57\r\n<Data><PSM>busy</PSM><CurrentMedia></CurrentMedia></Data>OUT\r\n");
	CHECK_INT_EQ(strlen("<Data><PSM>busy</PSM><CurrentMedia></CurrentMedia></Data>"), 57);
	CHECK_INT_EQ(h.c.n, 7);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_LOGIN, IM_DIR_IN, "", "");
	CHECK_STR_EQ(event_at(&h, 0)->local, "alice@example.com");
	CHECK_EVENT(event_at(&h, 1), IM_KIND_PRESENCE, IM_DIR_OUT, "", "NLN");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_PRESENCE, IM_DIR_IN, "bob@example.com", "AWY");
	CHECK_EVENT(event_at(&h, 3), IM_KIND_PRESENCE, IM_DIR_IN, "carol@example.com", "BSY");
	CHECK_EVENT(event_at(&h, 4), IM_KIND_PRESENCE, IM_DIR_IN, "bob@example.com", "FLN");
	CHECK_EVENT(event_at(&h, 5), IM_KIND_RENDEZVOUS, IM_DIR_IN, "bob@example.com", "");
	CHECK_EVENT(event_at(&h, 6), IM_KIND_LOGOUT, IM_DIR_OUT, "", "");
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	harness_free(&h);
}

static void test_invite_file(void)
{
	struct harness h;

	harness_init(&h, MSN_FLOW);
	feed(&h, IM_DIR_OUT, "ANS 1 me@example.com 1.2 42\r\n");
	feed(&h, IM_DIR_IN, "IRO 1 1 1 bob@example.com Bob\r\n");
	feed_msg(&h, IM_DIR_IN, "bob@example.com", "Bob",
		 "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\n"
		 "Application-Name: File Transfer\r\n"
		 "Application-GUID: {5D3E02AB-6190-11d3-BBBB-00C04F795683}\r\n"
		 "Invitation-Command: INVITE\r\nInvitation-Cookie: 28271\r\n"
		 "Application-File: report.doc\r\nApplication-FileSize: 48128\r\n"
		 "Connectivity: N\r\n\r\n");
	feed_msg(&h, IM_DIR_OUT, "2", "N",
		 "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\n"
		 "Invitation-Command: ACCEPT\r\nInvitation-Cookie: 28271\r\nLaunch-Application: FALSE\r\n\r\n");
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_FILE, IM_DIR_IN, "bob@example.com",
		    "report.doc (48128 bytes)");
	CHECK_STR_EQ(event_at(&h, 0)->file_name, "report.doc");
	CHECK(event_at(&h, 0)->has_file_size);
	CHECK_INT_EQ(event_at(&h, 0)->file_size, 48128);
	harness_free(&h);
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(struct bytebuf *out, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);

		bytebuf_append_byte(out, (uint8_t)b64chars[v >> 18 & 63]);
		bytebuf_append_byte(out, (uint8_t)b64chars[v >> 12 & 63]);
		bytebuf_append_byte(out, i + 1 < n ? (uint8_t)b64chars[v >> 6 & 63] : '=');
		bytebuf_append_byte(out, i + 2 < n ? (uint8_t)b64chars[v & 63] : '=');
	}
}

/* MSNSLP INVITE text for a file (ASCII name) or webcam. */
static void slp_invite(struct bytebuf *slp, const char *to, const char *from, const char *guid,
		       const char *name, uint64_t size)
{
	struct bytebuf body, ctx;
	uint8_t hdr[20];
	size_t i;

	bytebuf_init(&body);
	bytebuf_init(&ctx);
	bytebuf_printf(&body, "EUF-GUID: %s\r\nSessionID: 94850\r\nAppID: %d\r\nContext: ", guid,
		       name ? 2 : 4);
	if (name) {
		memset(hdr, 0, sizeof(hdr));
		imw_store_le32(hdr, 574);
		imw_store_le32(hdr + 4, 2);
		imw_store_le32(hdr + 8, (uint32_t)size);
		imw_store_le32(hdr + 12, (uint32_t)(size >> 32));
		imw_store_le32(hdr + 16, 1);
		bytebuf_append(&ctx, hdr, sizeof(hdr));
		for (i = 0; i < 260; i++) {
			uint8_t u[2] = { (uint8_t)(i < strlen(name) ? name[i] : 0), 0 };

			bytebuf_append(&ctx, u, 2);
		}
		for (i = 0; i < 30; i++)
			bytebuf_append_byte(&ctx, 0);
		bytebuf_append(&ctx, "\xff\xff\xff\xff", 4);
		base64(&body, ctx.data, ctx.len);
	} else {
		bytebuf_append_str(&body, "ewBCADgAQgA1ADMAMAAwADEAfQA=");
	}
	bytebuf_append(&body, "\r\n\r\n", 4);
	bytebuf_append_byte(&body, 0);
	bytebuf_printf(slp,
		       "INVITE MSNMSGR:%s MSNSLP/1.0\r\nTo: <msnmsgr:%s>\r\nFrom: <msnmsgr:%s;{11111111-2222-3333-4444-555555555555}>\r\n"
		       "Via: MSNSLP/1.0/TLP ;branch={33517CE4-02FC-4428-B6F4-39927229B722}\r\n"
		       "CSeq: 0 \r\nCall-ID: {9D79AE57-1BD5-444B-B14E-3FC9BB2B5D58}\r\nMax-Forwards: 0\r\n"
		       "Content-Type: application/x-msnmsgr-sessionreqbody\r\nContent-Length: %zu\r\n\r\n",
		       to, to, from, body.len);
	bytebuf_append(slp, body.data, body.len);
	bytebuf_free(&body);
	bytebuf_free(&ctx);
}

/* One MSG carrying a P2P chunk of an SLP message. */
static void feed_p2p(struct harness *h, enum im_dir dir, const char *a, const char *b,
		     const char *dest, const uint8_t *slp, size_t total, size_t offset, size_t size)
{
	struct bytebuf mime;
	uint8_t hdr[48];
	char *line = NULL;

	bytebuf_init(&mime);
	bytebuf_printf(&mime, "MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: %s\r\n\r\n",
		       dest);
	memset(hdr, 0, sizeof(hdr));
	imw_store_le32(hdr + 4, 9270001);
	imw_store_le32(hdr + 8, (uint32_t)offset);
	imw_store_le32(hdr + 16, (uint32_t)total);
	imw_store_le32(hdr + 24, (uint32_t)size);
	imw_store_le32(hdr + 32, 4421);
	bytebuf_append(&mime, hdr, sizeof(hdr));
	bytebuf_append(&mime, slp + offset, size);
	bytebuf_append(&mime, "\0\0\0\0", 4);
	CHECK(asprintf(&line, "MSG %s %s %zu\r\n", a, b, mime.len) > 0);
	feed(h, dir, line);
	feed_bytes(h, dir, mime.data, mime.len);
	free(line);
	bytebuf_free(&mime);
}

static void test_p2p_offers(void)
{
	struct harness h;
	struct bytebuf slp, cam;

	bytebuf_init(&slp);
	bytebuf_init(&cam);
	harness_init(&h, MSN_FLOW);
	feed(&h, IM_DIR_OUT, "ANS 1 me@example.com 1.2 42\r\n");
	feed(&h, IM_DIR_IN, "IRO 1 1 1 bob@example.com Bob\r\n");
	/* A file offer from Bob in one chunk. */
	slp_invite(&slp, "me@example.com", "bob@example.com", "{5D3E02AB-6190-11D3-BBBB-00C04F795683}",
		   "holiday.jpg", 5000000000ull);
	feed_p2p(&h, IM_DIR_IN, "bob@example.com", "Bob", "me@example.com", slp.data, slp.len, 0,
		 slp.len);
	/* Our file offer in two chunks. */
	bytebuf_clear(&slp);
	slp_invite(&slp, "bob@example.com", "me@example.com", "{5D3E02AB-6190-11D3-BBBB-00C04F795683}",
		   "notes.txt", 1234);
	feed_p2p(&h, IM_DIR_OUT, "3", "D", "bob@example.com", slp.data, slp.len, 0, 700);
	CHECK_INT_EQ(h.c.n, 1);
	feed_p2p(&h, IM_DIR_OUT, "4", "D", "bob@example.com", slp.data, slp.len, 700, slp.len - 700);
	/* A webcam invitation from Bob. */
	slp_invite(&cam, "me@example.com", "bob@example.com", "{4BD96FC0-AB17-4425-A14A-439185962DC8}",
		   NULL, 0);
	feed_p2p(&h, IM_DIR_IN, "bob@example.com", "Bob", "me@example.com", cam.data, cam.len, 0,
		 cam.len);
	CHECK_INT_EQ(h.c.n, 3);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_FILE, IM_DIR_IN, "bob@example.com",
		    "holiday.jpg (5000000000 bytes)");
	CHECK_STR_EQ(event_at(&h, 0)->file_name, "holiday.jpg");
	CHECK_INT_EQ(event_at(&h, 0)->file_size, 5000000000ll);
	CHECK_EVENT(event_at(&h, 1), IM_KIND_FILE, IM_DIR_OUT, "bob@example.com",
		    "notes.txt (1234 bytes)");
	CHECK_INT_EQ(event_at(&h, 1)->file_size, 1234);
	CHECK_EVENT(event_at(&h, 2), IM_KIND_WEBCAM, IM_DIR_IN, "bob@example.com", "");
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	/* A chunk claiming more data than it has is malformed, and the stream goes on. */
	feed_msg(&h, IM_DIR_IN, "bob@example.com", "Bob",
		 "MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: me@example.com\r\n\r\n"
		 "\0\0\0\0\1\0\0\0");
	feed_msg(&h, IM_DIR_IN, "bob@example.com", "Bob", TEXT_MIME("still here"));
	CHECK_INT_EQ(h.s->stats.malformed, 1);
	CHECK_EVENT(event_at(&h, 3), IM_KIND_MESSAGE, IM_DIR_IN, "bob@example.com", "still here");
	bytebuf_free(&slp);
	bytebuf_free(&cam);
	harness_free(&h);
}

/* One MSG carrying a P2P data chunk of session sid (file data flags). */
static void feed_p2p_data(struct harness *h, uint32_t sid, const uint8_t *file, size_t total,
			  size_t offset, size_t size, uint32_t flags)
{
	struct bytebuf mime;
	uint8_t hdr[48];
	char *line = NULL;

	bytebuf_init(&mime);
	bytebuf_printf(&mime, "MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\n"
			      "P2P-Dest: me@example.com\r\n\r\n");
	memset(hdr, 0, sizeof(hdr));
	imw_store_le32(hdr, sid);
	imw_store_le32(hdr + 4, 9270002);
	imw_store_le32(hdr + 8, (uint32_t)offset);
	imw_store_le32(hdr + 16, (uint32_t)total);
	imw_store_le32(hdr + 24, (uint32_t)size);
	imw_store_le32(hdr + 28, flags);
	bytebuf_append(&mime, hdr, sizeof(hdr));
	bytebuf_append(&mime, file + offset, size);
	bytebuf_append(&mime, "\0\0\0\2", 4);
	CHECK(asprintf(&line, "MSG bob@example.com Bob %zu\r\n", mime.len) > 0);
	feed(h, IM_DIR_IN, line);
	feed_bytes(h, IM_DIR_IN, mime.data, mime.len);
	free(line);
	bytebuf_free(&mime);
}

/* #20: a P2P file offer expects its data in-band, named by its SessionID;
 * the data chunks reach the file stage in order, a hole as a gap. */
static void test_p2p_file_data(void)
{
	struct harness h;
	struct bytebuf slp;
	uint8_t file[3000];
	size_t i;

	for (i = 0; i < sizeof(file); i++)
		file[i] = (uint8_t)(i * 13);
	bytebuf_init(&slp);
	harness_init(&h, MSN_FLOW);
	feed(&h, IM_DIR_OUT, "ANS 1 me@example.com 1.2 42\r\n");
	slp_invite(&slp, "me@example.com", "bob@example.com", "{5D3E02AB-6190-11D3-BBBB-00C04F795683}",
		   "data.bin", sizeof(file));
	feed_p2p(&h, IM_DIR_IN, "bob@example.com", "Bob", "me@example.com", slp.data, slp.len, 0,
		 slp.len);
	CHECK_INT_EQ(event_at(&h, 0)->xfer.path, IM_XFER_INBAND);
	CHECK_INT_EQ(event_at(&h, 0)->xfer.token_len, 5);
	CHECK_MEM_EQ(event_at(&h, 0)->xfer.token, "94850", 5);
	/* the data preparation message is not file data */
	feed_p2p_data(&h, 94850, (const uint8_t *)"\0\0\0\0", 4, 0, 4, 0);
	CHECK_INT_EQ(h.files.opens, 0);
	feed_p2p_data(&h, 94850, file, sizeof(file), 0, 1202, 0x01000030);
	feed_p2p_data(&h, 94850, file, sizeof(file), 1202, 1202, 0x01000030);
	feed_p2p_data(&h, 94850, file, sizeof(file), 1202, 1202, 0x01000030); /* again */
	feed_p2p_data(&h, 94850, file, sizeof(file), 2404, 596, 0x01000030);
	CHECK_INT_EQ(h.files.opens, 1);
	CHECK_STR_EQ(h.files.token, "94850");
	CHECK_INT_EQ(h.files.size, sizeof(file));
	CHECK_INT_EQ(h.files.len, sizeof(file));
	CHECK(h.files.len == sizeof(file) && memcmp(h.files.data, file, sizeof(file)) == 0);
	CHECK_INT_EQ(h.files.closes, 1);
	CHECK(h.files.complete);
	CHECK_INT_EQ(h.files.gaps, 0);
	/* a chunk lost in the middle of a second transfer */
	feed_p2p_data(&h, 5555, file, sizeof(file), 0, 1000, 0x01000030);
	feed_p2p_data(&h, 5555, file, sizeof(file), 2000, 1000, 0x01000030);
	CHECK_INT_EQ(h.files.opens, 2);
	CHECK_INT_EQ(h.files.gaps, 1);
	CHECK_INT_EQ(h.files.gap_bytes, 1000);
	CHECK_INT_EQ(h.files.closes, 2);
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	bytebuf_free(&slp);
	harness_free(&h);
}

static void test_malformed_and_resync(void)
{
	struct harness h;

	harness_init(&h, MSN_FLOW);
	feed(&h, IM_DIR_OUT, "ANS 1 me@example.com 1.2 42\r\n");
	feed(&h, IM_DIR_IN, "IRO 1 1 1 bob@example.com Bob\r\n");
	/* No Content-Type: counted, nothing emitted. */
	feed_msg(&h, IM_DIR_IN, "bob@example.com", "Bob", "MIME-Version: 1.0\r\n\r\nhi");
	CHECK_INT_EQ(h.s->stats.malformed, 1);
	/* Binary junk, then a good message: resync finds the MSG line. */
	feed(&h, IM_DIR_IN, "\x01\x02junk junk\r\nmore junk");
	feed(&h, IM_DIR_IN, "\r\n");
	feed_msg(&h, IM_DIR_IN, "bob@example.com", "Bob", TEXT_MIME("after junk"));
	CHECK(h.dir[1].garbage > 0);
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_MESSAGE, IM_DIR_IN, "bob@example.com", "after junk");
	harness_free(&h);
}

static struct im_event decode_one(const uint8_t *pdu, size_t len, enum im_dir dir,
				  const char *setup_out, const char *setup_in)
{
	struct harness h;
	struct im_event ev;

	event_init(&ev);
	harness_init(&h, MSN_FLOW);
	if (setup_out)
		feed(&h, IM_DIR_OUT, setup_out);
	if (setup_in)
		feed(&h, IM_DIR_IN, setup_in);
	while (h.c.n)
		event_free(&h.c.ev[--h.c.n]);
	feed_bytes(&h, dir, pdu, len);
	if (h.c.n >= 1) {
		CHECK(event_copy(&ev, &h.c.ev[h.c.n - 1]));
	} else {
		fprintf(stderr, "  decode_one: no event\n");
		testlib_failures_in_test++;
	}
	harness_free(&h);
	return ev;
}

static void test_encode_with_orig(void)
{
	static const char setup_out[] = "ANS 1 me@example.com 1.2 42\r\n";
	static const char setup_in[] = "IRO 1 1 1 bob@example.com Bob\r\n";
	static const char mime[] = TEXT_MIME("Hey Brian");
	struct bytebuf orig, out;
	struct im_event ev, back;
	struct harness h;
	char *want = NULL;

	bytebuf_init(&orig);
	bytebuf_init(&out);
	bytebuf_printf(&orig, "MSG 96 N %zu\r\n%s", strlen(mime), mime);
	ev = decode_one(orig.data, orig.len, IM_DIR_OUT, setup_out, setup_in);
	harness_init(&h, MSN_FLOW);
	/* Same text: the same bytes. */
	CHECK_INT_EQ(proto_msn.encode(h.s, IM_DIR_OUT, &ev, orig.data, orig.len, &out), 0);
	CHECK_INT_EQ(out.len, orig.len);
	CHECK_MEM_EQ(out.data, orig.data, orig.len);
	/* New text: only the length and the body change. */
	bytebuf_clear(&out);
	CHECK(event_set_str(&ev.text, "Hey *****, caf\xc3\xa9"));
	CHECK_INT_EQ(proto_msn.encode(h.s, IM_DIR_OUT, &ev, orig.data, orig.len, &out), 0);
	CHECK(asprintf(&want, "MSG 96 N %zu\r\n%sHey *****, caf\xc3\xa9",
		       strlen(mime) - 9 + strlen("Hey *****, caf\xc3\xa9"), TEXT_MIME("")) > 0);
	CHECK_INT_EQ(out.len, strlen(want));
	CHECK(out.len == strlen(want) && memcmp(out.data, want, out.len) == 0);
	back = decode_one(out.data, out.len, IM_DIR_OUT, setup_out, setup_in);
	CHECK_EVENT(&back, IM_KIND_MESSAGE, IM_DIR_OUT, "bob@example.com", "Hey *****, caf\xc3\xa9");
	event_free(&back);
	/* Typing cannot be re-encoded with a text. */
	ev.kind = IM_KIND_TYPING;
	bytebuf_clear(&out);
	CHECK_INT_EQ(proto_msn.encode(h.s, IM_DIR_OUT, &ev, orig.data, orig.len, &out), -1);
	CHECK_INT_EQ(out.len, 0);
	free(want);
	event_free(&ev);
	harness_free(&h);
	bytebuf_free(&orig);
	bytebuf_free(&out);
}

static void test_encode_latin1_and_group(void)
{
	static const char setup_out[] = "ANS 1 me@example.com 1.2 42\r\n";
	static const char setup_in[] = "IRO 1 1 2 bob@example.com Bob\r\nIRO 1 2 2 carol@example.com Carol\r\n";
	static const char latin_mime[] = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n\r\nna\xefve";
	struct bytebuf orig, out;
	struct im_event ev, back;
	struct harness h;

	bytebuf_init(&orig);
	bytebuf_init(&out);
	harness_init(&h, MSN_FLOW);
	bytebuf_printf(&orig, "MSG carol@example.com Carol %zu\r\n%s", strlen(latin_mime), latin_mime);
	ev = decode_one(orig.data, orig.len, IM_DIR_IN, setup_out, setup_in);
	CHECK_EVENT(&ev, IM_KIND_MESSAGE, IM_DIR_IN, "groupchat-42", "carol@example.com: na\xc3\xafve");
	CHECK(ev.group);
	CHECK(event_set_str(&ev.text, "carol@example.com: d\xc3\xa9j\xc3\xa0 \xe2\x82\xac"));
	CHECK_INT_EQ(proto_msn.encode(h.s, IM_DIR_IN, &ev, orig.data, orig.len, &out), 0);
	/* Latin-1 body, the sender prefix gone, the euro sign as '?'. */
	CHECK(out.len > 6 && memcmp(out.data + out.len - 6, "d\xe9j\xe0 ?", 6) == 0);
	/* 19 + 46 + 2 bytes of headers and 6 of body. */
	CHECK(out.len > 32 && memcmp(out.data, "MSG carol@example.com Carol 73\r\n", 32) == 0);
	back = decode_one(out.data, out.len, IM_DIR_IN, setup_out, setup_in);
	CHECK_STR_EQ(back.text, "carol@example.com: d\xc3\xa9j\xc3\xa0 ?");
	event_free(&back);
	event_free(&ev);
	harness_free(&h);
	bytebuf_free(&orig);
	bytebuf_free(&out);
}

static void test_encode_fresh_round_trip(void)
{
	static const char setup_out[] = "USR 1 me@example.com 1.2\r\nCAL 2 bob@example.com\r\n";
	static const char setup_in[] = "USR 1 OK me@example.com Me\r\nJOI bob@example.com Bob\r\n";
	struct im_event ev, back;
	struct bytebuf out;
	struct harness h;

	bytebuf_init(&out);
	harness_init(&h, MSN_FLOW);
	feed(&h, IM_DIR_OUT, setup_out);
	feed(&h, IM_DIR_IN, setup_in);
	feed_msg(&h, IM_DIR_OUT, "7", "N", TEXT_MIME("seen"));
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	ev.dir = IM_DIR_OUT;
	CHECK(event_set_str(&ev.remote, "bob@example.com") && event_set_str(&ev.text, "injected \xc3\xbc"));
	CHECK_INT_EQ(proto_msn.encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), 0);
	CHECK(out.len > 14 && memcmp(out.data, "MSG 7 U ", 8) == 0);
	/* The client's own format is reused. */
	CHECK(memmem(out.data, out.len, "X-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n", 51) != NULL);
	back = decode_one(out.data, out.len, IM_DIR_OUT, setup_out, setup_in);
	CHECK_EVENT(&back, IM_KIND_MESSAGE, IM_DIR_OUT, "bob@example.com", "injected \xc3\xbc");
	event_free(&back);
	/* Towards the client, from the neutral fields alone (no session). */
	bytebuf_clear(&out);
	ev.dir = IM_DIR_IN;
	CHECK_INT_EQ(proto_msn.encode(NULL, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	CHECK(memcmp(out.data, "MSG bob@example.com bob@example.com ", 36) == 0);
	back = decode_one(out.data, out.len, IM_DIR_IN, setup_out, setup_in);
	CHECK_EVENT(&back, IM_KIND_MESSAGE, IM_DIR_IN, "bob@example.com", "injected \xc3\xbc");
	event_free(&back);
	/* A remote with a space cannot be a user id on a command line. */
	bytebuf_clear(&out);
	CHECK(event_set_str(&ev.remote, "bob smith"));
	CHECK_INT_EQ(proto_msn.encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), -1);
	CHECK_INT_EQ(out.len, 0);
	event_free(&ev);
	harness_free(&h);
	bytebuf_free(&out);
}

/* A notice (notice_text, blocked_notice_text, the responder's) is a MSG of
 * the conversation, in the peer's name towards the client: its text is
 * what shows that imwire wrote it, marked by response_prefix/postfix
 * (proto/notice.h), the defaults when none is configured. */
static void test_notice_marked(void)
{
	static const char setup_out[] = "USR 1 me@example.com 1.2\r\nCAL 2 bob@example.com\r\n";
	static const char setup_in[] = "USR 1 OK me@example.com Me\r\nJOI bob@example.com Bob\r\n";
	static const char body_head[] = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
					"X-MMS-IM-Format: FN=Segoe%20UI; EF=; CO=0; CS=1; PF=0\r\n\r\n";
	static const char marked[] = "Message from imwire: -=This conversation is logged.=-";
	char want[512];
	struct im_event ev, back;
	struct bytebuf out;

	bytebuf_init(&out);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	ev.dir = IM_DIR_IN;
	ev.notice = true;
	CHECK(event_set_str(&ev.remote, "bob@example.com") &&
	      event_set_str(&ev.text, "This conversation is logged."));
	/* The receiver's bytes, whole: the default mark around the text. */
	CHECK_INT_EQ(proto_msn.encode(NULL, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	snprintf(want, sizeof(want), "MSG bob@example.com bob@example.com %zu\r\n%s%s",
		 strlen(body_head) + strlen(marked), body_head, marked);
	CHECK_INT_EQ(out.len, strlen(want));
	CHECK_MEM_EQ(out.data, want, strlen(want));
	back = decode_one(out.data, out.len, IM_DIR_IN, setup_out, setup_in);
	CHECK_EVENT(&back, IM_KIND_MESSAGE, IM_DIR_IN, "bob@example.com", marked);
	event_free(&back);
	/* A configured mark; towards the remote too (in the local user's name). */
	CHECK(event_set_str(&ev.notice_prefix, "[imwire] ") && event_set_str(&ev.notice_postfix, ""));
	bytebuf_clear(&out);
	ev.dir = IM_DIR_OUT;
	CHECK_INT_EQ(proto_msn.encode(NULL, IM_DIR_OUT, &ev, NULL, 0, &out), 0);
	back = decode_one(out.data, out.len, IM_DIR_OUT, setup_out, setup_in);
	CHECK_EVENT(&back, IM_KIND_MESSAGE, IM_DIR_OUT, "bob@example.com",
		    "[imwire] This conversation is logged.");
	event_free(&back);
	/* The responder's text carries the mark already: not twice. */
	CHECK(event_set_str(&ev.text, "[imwire] Blocked by policy: x"));
	bytebuf_clear(&out);
	ev.dir = IM_DIR_IN;
	CHECK_INT_EQ(proto_msn.encode(NULL, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	CHECK(memmem(out.data, out.len, "\r\n\r\n[imwire] Blocked by policy: x", 33) != NULL);
	CHECK(memmem(out.data, out.len, "[imwire] [imwire]", 17) == NULL);
	/* In a room, the notice is said by "imwire", not by a member. */
	ev.group = true;
	CHECK(event_set_str(&ev.text, "Logged."));
	bytebuf_clear(&out);
	CHECK_INT_EQ(proto_msn.encode(NULL, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	CHECK(out.len > 20 && memcmp(out.data, "MSG imwire imwire ", 18) == 0);
	CHECK(memmem(out.data, out.len, "\r\n\r\n[imwire] Logged.", 20) != NULL);
	event_free(&ev);
	bytebuf_free(&out);
}

/* The receipt a client expects for its MSG, by ack type. */
static void check_receipt(const char *trid, const char *type, int want_rc, const char *want)
{
	static const char setup_out[] = "USR 1 me@example.com 1.2\r\nCAL 2 bob@example.com\r\n";
	static const char setup_in[] = "USR 1 OK me@example.com Me\r\nJOI bob@example.com Bob\r\n";
	static const char mime[] = TEXT_MIME("deliver me");
	struct bytebuf orig, out;
	struct im_event ev;
	struct harness h;

	bytebuf_init(&orig);
	bytebuf_init(&out);
	harness_init(&h, MSN_FLOW);
	bytebuf_printf(&orig, "MSG %s %s %zu\r\n%s", trid, type, strlen(mime), mime);
	ev = decode_one(orig.data, orig.len, IM_DIR_OUT, setup_out, setup_in);
	CHECK_EVENT(&ev, IM_KIND_MESSAGE, IM_DIR_OUT, "bob@example.com", "deliver me");
	CHECK_INT_EQ(proto_msn.local_receipt(h.s, &ev, orig.data, orig.len, &out), want_rc);
	CHECK(bytebuf_terminate(&out));
	CHECK_STR_EQ((const char *)out.data, want);
	if (want_rc == 1) {
		/* The client's decoder side: the ACK is one whole PDU. */
		size_t pdu_len = 0;

		CHECK_INT_EQ(proto_msn.frame(h.s, IM_DIR_IN, out.data, out.len, &pdu_len),
			     PROTO_FRAME_PDU);
		CHECK_INT_EQ(pdu_len, out.len);
		CHECK_INT_EQ(proto_msn.decode(h.s, IM_DIR_IN, out.data, out.len), 0);
	}
	event_free(&ev);
	harness_free(&h);
	bytebuf_free(&orig);
	bytebuf_free(&out);
}

static void test_local_receipt(void)
{
	struct bytebuf out;
	struct harness h;
	struct im_event ev;
	static const char not_msg[] = "CAL 2 bob@example.com\r\n";

	CHECK(proto_msn.local_receipt != NULL);
	check_receipt("12", "A", 1, "ACK 12\r\n");
	check_receipt("4", "D", 1, "ACK 4\r\n");
	check_receipt("96", "N", 0, ""); /* NAK only when delivery failed */
	check_receipt("95", "U", 0, "");
	/* Not a client MSG: nothing to acknowledge. */
	harness_init(&h, MSN_FLOW);
	bytebuf_init(&out);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	ev.dir = IM_DIR_OUT;
	CHECK_INT_EQ(
		proto_msn.local_receipt(h.s, &ev, (const uint8_t *)not_msg, strlen(not_msg), &out),
		-1);
	CHECK_INT_EQ(proto_msn.local_receipt(h.s, &ev, NULL, 0, &out), -1);
	ev.dir = IM_DIR_IN;
	CHECK_INT_EQ(proto_msn.local_receipt(h.s, &ev, (const uint8_t *)"MSG 1 A 0\r\n", 11, &out),
		     -1);
	CHECK_INT_EQ(out.len, 0);
	event_free(&ev);
	bytebuf_free(&out);
	harness_free(&h);
}

int main(void)
{
	RUN_TEST(test_module_table);
	RUN_TEST(test_detect);
	RUN_TEST(test_frame_payload_commands);
	RUN_TEST(test_switchboard_caller);
	RUN_TEST(test_msg_headers);
	RUN_TEST(test_typing_filtered);
	RUN_TEST(test_group_from_answer);
	RUN_TEST(test_group_from_roster);
	RUN_TEST(test_notification_server);
	RUN_TEST(test_invite_file);
	RUN_TEST(test_p2p_offers);
	RUN_TEST(test_p2p_file_data);
	RUN_TEST(test_malformed_and_resync);
	RUN_TEST(test_encode_with_orig);
	RUN_TEST(test_encode_latin1_and_group);
	RUN_TEST(test_encode_fresh_round_trip);
	RUN_TEST(test_notice_marked);
	RUN_TEST(test_local_receipt);
	TEST_MAIN_END();
}
