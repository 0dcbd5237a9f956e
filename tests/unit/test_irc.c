/* IRC module: framing, detection, decoding into events, encoding back.
 * Most input lines are copied from the captures in shared/pcaps/irc
 * (tshark's irc.request / irc.response), the rest cover edge cases. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "proto/irc/irc.h"
#include "proto/proto.h"
#include "testlib.h"
#include "util/bytebuf.h"

/* Every test's flow: IRC from 10.0.0.7:59069. */
#define IRC_FLOW &proto_irc, 7, "10.0.0.7:59069"

/* One whole line through the app layer; -1 when the module called it
 * malformed. */
static int line(struct harness *h, enum im_dir dir, const char *pdu)
{
	return harness_feed_str(h, dir, pdu);
}

static enum proto_detect detect(const char *window, enum im_dir dir)
{
	return proto_irc.detect((const uint8_t *)window, strlen(window), dir);
}

static void check_event(const struct im_event *ev, enum im_kind kind, enum im_dir dir,
			const char *remote, bool group, const char *text)
{
	CHECK_INT_EQ(ev->kind, kind);
	CHECK_INT_EQ(ev->dir, dir);
	CHECK_STR_EQ(ev->remote, remote);
	CHECK_INT_EQ(ev->group, group);
	CHECK_STR_EQ(ev->text, text);
	CHECK_INT_EQ(ev->proto, IMW_PROTO_IRC);
	CHECK_STR_EQ(ev->client, "10.0.0.7:59069");
}

static void test_module_table(void)
{
	CHECK_STR_EQ(proto_irc.info->name, "irc");
	CHECK_INT_EQ(proto_irc.id, IMW_PROTO_IRC);
	CHECK_INT_EQ(proto_irc.info->n_ports, 5);
	CHECK_INT_EQ(proto_irc.info->ports[0], 6667);
	CHECK_INT_EQ(proto_irc.info->ports[3], 6697);
	CHECK_INT_EQ(proto_irc.info->ports[4], 7000);
	CHECK_INT_EQ(proto_irc.max_pdu, 65536);
	CHECK(proto_irc.encode != NULL);
}

static void test_frame_lines(void)
{
	struct harness h;
	const char *buf = "PRIVMSG a :b\r\nNICK x\nPING :y";
	const uint8_t *p = (const uint8_t *)buf;
	size_t len = strlen(buf), pdu_len = 0;

	harness_init(&h, IRC_FLOW);
	CHECK_INT_EQ(proto_irc.frame(h.s, IM_DIR_OUT, p, len, &pdu_len), PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, 14);
	CHECK_INT_EQ(proto_irc.frame(h.s, IM_DIR_OUT, p + 14, len - 14, &pdu_len), PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, 7);
	CHECK_INT_EQ(proto_irc.frame(h.s, IM_DIR_OUT, p + 21, len - 21, &pdu_len),
		     PROTO_FRAME_NEED_MORE);
	CHECK_INT_EQ(proto_irc.frame(h.s, IM_DIR_OUT, p, 0, &pdu_len), PROTO_FRAME_NEED_MORE);
	harness_free(&h);
}

static void test_frame_long_lines(void)
{
	struct harness h;
	size_t n = 70000, pdu_len = 0, skip;
	uint8_t *buf = malloc(n);

	harness_init(&h, IRC_FLOW);
	CHECK(buf != NULL);
	if (!buf)
		return;
	/* A 5 KB line (zeek's contentline-irc-5k-line) is one PDU. */
	memset(buf, 'a', 5000);
	buf[5000] = '\r';
	buf[5001] = '\n';
	CHECK_INT_EQ(proto_irc.frame(h.s, IM_DIR_OUT, buf, 5002, &pdu_len), PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, 5002);
	CHECK_INT_EQ(proto_irc.decode(h.s, IM_DIR_OUT, buf, 5002), 0);
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	CHECK_INT_EQ(h.c.n, 0);

	/* No "\n" in 64 KiB: garbage, and resync lands after the next "\n". */
	memset(buf, 'x', n);
	memcpy(buf + 68998, "\r\n", 2);
	CHECK_INT_EQ(proto_irc.frame(h.s, IM_DIR_IN, buf, n, &pdu_len), PROTO_FRAME_GARBAGE);
	skip = proto_irc.resync(h.s, IM_DIR_IN, buf + 1, n - 1);
	CHECK_INT_EQ(skip + 1, 69000);
	/* Still inside the long line with no "\n" yet: consume everything. */
	CHECK_INT_EQ(proto_irc.frame(h.s, IM_DIR_IN, buf, n, &pdu_len), PROTO_FRAME_GARBAGE);
	CHECK_INT_EQ(proto_irc.resync(h.s, IM_DIR_IN, buf + 1, 1000), 1000);
	CHECK_INT_EQ(proto_irc.resync(h.s, IM_DIR_IN, buf + 1001, n - 1001), 69000 - 1001);

	/* The whole stream through frame/resync: only the line after counts. */
	memcpy(buf + 69000, ":bob!b@h PRIVMSG #c :after\r\n", 28);
	harness_feed(&h, IM_DIR_IN, buf, 69000 + 28);
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1)
		check_event(&h.c.ev[0], IM_KIND_MESSAGE, IM_DIR_IN, "#c", true, "bob: after");
	free(buf);
	harness_free(&h);
}

static void test_resync_after_gap(void)
{
	struct harness h;
	const char *mid = "the middle of a line\r\nPRIVMSG #a :x\r\n";
	const char *start = "PRIVMSG #a :whole line\r\n";

	harness_init(&h, IRC_FLOW);
	CHECK_INT_EQ(proto_irc.resync(h.s, IM_DIR_OUT, (const uint8_t *)mid, strlen(mid)), 22);
	/* A gap that ended on a line boundary loses nothing. */
	CHECK_INT_EQ(proto_irc.resync(h.s, IM_DIR_OUT, (const uint8_t *)start, strlen(start)), 0);
	CHECK_INT_EQ(proto_irc.resync(h.s, IM_DIR_OUT, (const uint8_t *)"no newline", 10), 10);
	harness_free(&h);
}

static void test_detect_positive(void)
{
	CHECK_INT_EQ(detect("NICK brotest\r\n", IM_DIR_OUT), PROTO_DETECT_YES);
	CHECK_INT_EQ(detect("USER brotest * * :brotest\r\nNICK brotest\r\n", IM_DIR_OUT),
		     PROTO_DETECT_YES);
	CHECK_INT_EQ(detect("PASS l0m3za\r\n", IM_DIR_OUT), PROTO_DETECT_YES);
	CHECK_INT_EQ(detect("CAP LS 302\r\n", IM_DIR_OUT), PROTO_DETECT_YES);
	CHECK_INT_EQ(detect("NICK br", IM_DIR_OUT), PROTO_DETECT_YES);
	CHECK_INT_EQ(detect("STARTTLS\r\n", IM_DIR_OUT), PROTO_DETECT_YES);
	CHECK_INT_EQ(detect(":leguin.freenode.net NOTICE * :*** Looking up your hostname...\r\n",
			    IM_DIR_IN),
		     PROTO_DETECT_YES);
	CHECK_INT_EQ(detect(":irc.joulunet.org 670  :STARTTLS successful, go ahead with TLS "
			    "handshake\r\n",
			    IM_DIR_IN),
		     PROTO_DETECT_YES);
	/* sniffglue_SkypeIRC: picked up mid-session, no SYN. */
	CHECK_INT_EQ(detect("ISON Thunfisch Smiley SmileyG\r\n", IM_DIR_OUT), PROTO_DETECT_YES);
	CHECK_INT_EQ(detect(":sterling.freenode.net 303 vmlemon :SmileyG \r\n", IM_DIR_IN),
		     PROTO_DETECT_YES);
	/* The window starts in the middle of a line. */
	CHECK_INT_EQ(detect("ng up your hostname...\r\n:yaloki!n=yaloki@x.be PRIVMSG #amarok "
			    ":+eh?\r\n:eean!n=ian@y PRIVMSG #amarok :+ok\r\n",
			    IM_DIR_IN),
		     PROTO_DETECT_YES);
	CHECK_INT_EQ(detect("ms.\r\n:hunt3d.devilz.net 404 damn-0262937047 #s01 :You must\r\n",
			    IM_DIR_IN),
		     PROTO_DETECT_YES);
	/* IRCv3 message tags before the prefix. */
	CHECK_INT_EQ(detect("@time=2025-07-28T20:51:05.978Z :tim1!tim@10.0.0.22 PRIVMSG #testing "
			    ":do we still need more packets?\r\n",
			    IM_DIR_IN),
		     PROTO_DETECT_YES);
	/* Not enough bytes yet. */
	CHECK_INT_EQ(detect(":sterling.freenode.net 303 vml", IM_DIR_IN), PROTO_DETECT_MAYBE);
	CHECK_INT_EQ(detect("ng up your hostname...\r\n:yaloki!n=y", IM_DIR_IN),
		     PROTO_DETECT_MAYBE);
	CHECK_INT_EQ(proto_irc.detect((const uint8_t *)"", 0, IM_DIR_IN), PROTO_DETECT_MAYBE);
}

static void test_detect_negative(void)
{
	static const uint8_t tls_hello[] = { 0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00,
					     0xa1, 0x03, 0x03, 0x0a, 0x0d };
	static const uint8_t binary[] = { 0x00, 0x00, 0x00, 0x2a, 0x01, 0x02, '\n', 'N', 'I',
					  'C', 'K', ' ', 'x', '\n' };

	CHECK_INT_EQ(detect("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", IM_DIR_OUT),
		     PROTO_DETECT_NO);
	CHECK_INT_EQ(detect("GET / HTTP/1.1\r\n", IM_DIR_OUT), PROTO_DETECT_NO);
	CHECK_INT_EQ(detect("HTTP/1.1 200 OK\r\nServer: nginx\r\n", IM_DIR_IN), PROTO_DETECT_NO);
	CHECK_INT_EQ(detect("220 mail.example.com ESMTP Postfix\r\n", IM_DIR_IN), PROTO_DETECT_NO);
	CHECK_INT_EQ(detect("EHLO client.example.com\r\n", IM_DIR_OUT), PROTO_DETECT_NO);
	CHECK_INT_EQ(proto_irc.detect(tls_hello, sizeof(tls_hello), IM_DIR_OUT), PROTO_DETECT_NO);
	CHECK_INT_EQ(proto_irc.detect(binary, sizeof(binary), IM_DIR_OUT), PROTO_DETECT_NO);
	CHECK_INT_EQ(detect("HELO\r\n123\r\n", IM_DIR_OUT), PROTO_DETECT_NO);
	CHECK_INT_EQ(detect("MESG\r\n45\r\nTo: bob\r\n", IM_DIR_OUT), PROTO_DETECT_NO);
	CHECK_INT_EQ(detect("SSH-2.0-OpenSSH_9.2\r\n", IM_DIR_IN), PROTO_DETECT_MAYBE);
	CHECK_INT_EQ(detect("SSH-2.0-OpenSSH_9.2\r\nmore text here\r\n", IM_DIR_IN),
		     PROTO_DETECT_NO);
}

static void test_nick_and_login(void)
{
	struct harness h;

	harness_init(&h, IRC_FLOW);
	CHECK_INT_EQ(line(&h, IM_DIR_OUT, "USER brotest * * :brotest\r\n"), 0);
	CHECK_INT_EQ(line(&h, IM_DIR_OUT, "NICK brotest\r\n"), 0);
	CHECK_STR_EQ(h.s->local_id, "brotest");
	CHECK_INT_EQ(h.c.n, 0); /* a NICK can still be refused: login comes with 001 */
	CHECK_INT_EQ(line(&h, IM_DIR_IN, ":leguin.freenode.net 001 brotest :Welcome to the "
					 "freenode Internet Relay Chat Network brotest\r\n"),
		     0);
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1) {
		check_event(&h.c.ev[0], IM_KIND_LOGIN, IM_DIR_IN, "leguin.freenode.net", false, "");
		CHECK_STR_EQ(h.c.ev[0].local, "brotest");
	}
	CHECK_INT_EQ(line(&h, IM_DIR_IN, ":leguin.freenode.net 001 brotest :Welcome\r\n"), 0);
	CHECK_INT_EQ(h.c.n, 1);

	/* After registration a client NICK is only a request... */
	CHECK_INT_EQ(line(&h, IM_DIR_OUT, "NICK !!!!\r\n"), 0);
	CHECK_INT_EQ(line(&h, IM_DIR_OUT, "NICK brotest2\r\n"), 0);
	CHECK_STR_EQ(h.s->local_id, "brotest");
	/* ...until the server says so. Someone else's change is not ours. */
	CHECK_INT_EQ(line(&h, IM_DIR_IN, ":other!o@h NICK :other2\r\n"), 0);
	CHECK_STR_EQ(h.s->local_id, "brotest");
	CHECK_INT_EQ(line(&h, IM_DIR_IN, ":BroTest!~brotest@nat.ICSI.Berkeley.EDU NICK :brotest2\r\n"),
		     0);
	CHECK_STR_EQ(h.s->local_id, "brotest2");
	CHECK_INT_EQ(line(&h, IM_DIR_OUT, "PRIVMSG #brotest :hi\r\n"), 0);
	CHECK_INT_EQ(h.c.n, 2);
	if (h.c.n == 2)
		CHECK_STR_EQ(h.c.ev[1].local, "brotest2");
	harness_free(&h);
}

static void test_nick_in_use(void)
{
	struct harness h;

	/* zeek_irc-more-commands, second connection. */
	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_OUT, "NICK tim\r\n");
	line(&h, IM_DIR_IN, ":ircd1.local 433 * tim :Nickname is already in use.\r\n");
	line(&h, IM_DIR_OUT, "NICK tim_\r\n");
	CHECK_STR_EQ(h.s->local_id, "tim_");
	line(&h, IM_DIR_IN, ":ircd1.local NOTICE tim_ :*** Your hostname does not match up with "
			    "your IP address; using your IP address (172.16.238.1) instead.\r\n");
	line(&h, IM_DIR_IN, ":ircd1.local 001 tim_ :Welcome to the ircd1 IRC Network "
			    "tim_!tim@172.16.238.1\r\n");
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1) {
		CHECK_INT_EQ(h.c.ev[0].kind, IM_KIND_LOGIN);
		CHECK_STR_EQ(h.c.ev[0].local, "tim_");
	}
	harness_free(&h);
}

static void test_midstream_local(void)
{
	struct harness h;

	harness_init(&h, IRC_FLOW);
	CHECK_INT_EQ(line(&h, IM_DIR_OUT, "ISON Thunfisch Smiley SmileyG\r\n"), 0);
	CHECK(h.s->local_id == NULL);
	/* A reply whose first parameter is a trailer names nobody. */
	CHECK_INT_EQ(line(&h, IM_DIR_IN, ":irc.joulunet.org 451  :You have not registered\r\n"), 0);
	CHECK(h.s->local_id == NULL);
	CHECK_INT_EQ(line(&h, IM_DIR_IN, ":sterling.freenode.net 303 vmlemon :SmileyG \r\n"), 0);
	CHECK_STR_EQ(h.s->local_id, "vmlemon");
	CHECK_INT_EQ(h.c.n, 0);
	/* Later numerics do not override it. */
	line(&h, IM_DIR_IN, ":sterling.freenode.net 352 someone #amarok n=x h s n H :0 x\r\n");
	CHECK_STR_EQ(h.s->local_id, "vmlemon");
	harness_free(&h);

	/* Or from the target of an incoming private message. */
	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_IN, ":bob!b@host.example PRIVMSG alice :are you there?\r\n");
	CHECK_STR_EQ(h.s->local_id, "alice");
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1) {
		check_event(&h.c.ev[0], IM_KIND_MESSAGE, IM_DIR_IN, "bob", false, "are you there?");
		CHECK_STR_EQ(h.c.ev[0].local, "alice");
	}
	harness_free(&h);
}

static void test_privmsg_outgoing(void)
{
	struct harness h;
	const char *pdu = "PRIVMSG #testing :hi, i'm chatting for some packets\r\n";

	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_OUT, "NICK tim2\r\n");
	CHECK_INT_EQ(line(&h, IM_DIR_OUT, pdu), 0);
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1) {
		check_event(&h.c.ev[0], IM_KIND_MESSAGE, IM_DIR_OUT, "#testing", true,
			    "hi, i'm chatting for some packets");
		CHECK_STR_EQ(h.c.ev[0].local, "tim2");
		CHECK(h.c.ev[0].has_text_span);
		CHECK_INT_EQ(h.c.ev[0].text_offset, 18);
		CHECK_INT_EQ(h.c.ev[0].text_len, strlen("hi, i'm chatting for some packets"));
	}
	harness_clear_events(&h);

	line(&h, IM_DIR_OUT, "PRIVMSG tim1 :hello there\r\n");
	/* zeek_irc-basic: a one-word text without ':' */
	line(&h, IM_DIR_OUT, "PRIVMSG #brotest test\r\n");
	/* Several targets: one event each. */
	line(&h, IM_DIR_OUT, "PRIVMSG bob,#chan :to both\n");
	CHECK_INT_EQ(h.c.n, 4);
	if (h.c.n == 4) {
		check_event(&h.c.ev[0], IM_KIND_MESSAGE, IM_DIR_OUT, "tim1", false, "hello there");
		check_event(&h.c.ev[1], IM_KIND_MESSAGE, IM_DIR_OUT, "#brotest", true, "test");
		check_event(&h.c.ev[2], IM_KIND_MESSAGE, IM_DIR_OUT, "bob", false, "to both");
		check_event(&h.c.ev[3], IM_KIND_MESSAGE, IM_DIR_OUT, "#chan", true, "to both");
	}
	harness_clear_events(&h);

	/* No text, or only a target: nothing to log. */
	line(&h, IM_DIR_OUT, "PRIVMSG #chan\r\n");
	line(&h, IM_DIR_OUT, "PRIVMSG\r\n");
	CHECK_INT_EQ(h.c.n, 0);
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	harness_free(&h);
}

static void test_privmsg_incoming(void)
{
	struct harness h;

	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_IN, ":sterling.freenode.net 303 vmlemon :SmileyG \r\n");
	line(&h, IM_DIR_IN, ":yaloki!n=yaloki@156.185-64-87.adsl-dyn.isp.belgacom.be PRIVMSG "
			    "#amarok :+how do you mean\r\n");
	line(&h, IM_DIR_IN, "@time=2025-07-28T20:51:11.770Z :tim1!tim@10.0.0.22 PRIVMSG #testing "
			    ":maybe we do\r\n");
	line(&h, IM_DIR_IN, ":tim1!tim@10.0.0.22 PRIVMSG vmlemon :private words\r\n");
	/* Latin-1 text becomes UTF-8. */
	line(&h, IM_DIR_IN, ":tim1!tim@10.0.0.22 PRIVMSG vmlemon :Ume\xe5\r\n");
	CHECK_INT_EQ(h.c.n, 4);
	if (h.c.n == 4) {
		check_event(&h.c.ev[0], IM_KIND_MESSAGE, IM_DIR_IN, "#amarok", true,
			    "yaloki: +how do you mean");
		CHECK_STR_EQ(h.c.ev[0].local, "vmlemon");
		check_event(&h.c.ev[1], IM_KIND_MESSAGE, IM_DIR_IN, "#testing", true,
			    "tim1: maybe we do");
		check_event(&h.c.ev[2], IM_KIND_MESSAGE, IM_DIR_IN, "tim1", false, "private words");
		check_event(&h.c.ev[3], IM_KIND_MESSAGE, IM_DIR_IN, "tim1", false, "Ume\xc3\xa5");
	}
	harness_free(&h);
}

static void test_notice(void)
{
	struct harness h;

	harness_init(&h, IRC_FLOW);
	/* Server notices: server prefix, no prefix, target "*" or AUTH. */
	line(&h, IM_DIR_IN, ":leguin.freenode.net NOTICE * :*** Looking up your hostname...\r\n");
	line(&h, IM_DIR_IN, ":hunt3d.devilz.net NOTICE AUTH :*** Found your hostname\r\n");
	line(&h, IM_DIR_IN, ":ircd1.local NOTICE tim :*** CONNECT: Connecting to server: "
			    "\x02ircd2.local\x02 (172.16.238.11:7000)\r\n");
	line(&h, IM_DIR_IN, "NOTICE AUTH :*** Checking Ident\r\n");
	line(&h, IM_DIR_IN, ":someone!u@h NOTICE * :odd\r\n");
	CHECK_INT_EQ(h.c.n, 0);
	/* A user's notice is a message. */
	line(&h, IM_DIR_IN, ":NickServ!NickServ@services. NOTICE tim :This nickname is "
			    "registered.\r\n");
	line(&h, IM_DIR_OUT, "NOTICE bob :brb\r\n");
	CHECK_INT_EQ(h.c.n, 2);
	if (h.c.n == 2) {
		check_event(&h.c.ev[0], IM_KIND_MESSAGE, IM_DIR_IN, "NickServ", false,
			    "This nickname is registered.");
		check_event(&h.c.ev[1], IM_KIND_MESSAGE, IM_DIR_OUT, "bob", false, "brb");
	}
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	harness_free(&h);
}

static void test_whitespace(void)
{
	struct harness h;

	/* zeek_irc-whitespace */
	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_OUT, "USER brotest * * * * * \r\n");
	line(&h, IM_DIR_OUT, "    NICK brotest\r\n");
	CHECK_STR_EQ(h.s->local_id, "brotest");
	line(&h, IM_DIR_OUT, "    JOIN      #BROTEST\r\n");
	line(&h, IM_DIR_OUT, " PRIVMSG          #BROTEST      :test\r\n");
	line(&h, IM_DIR_OUT, "    QUIT      quitting\r\n");
	CHECK_INT_EQ(h.c.n, 2);
	if (h.c.n == 2) {
		check_event(&h.c.ev[0], IM_KIND_MESSAGE, IM_DIR_OUT, "#BROTEST", true, "test");
		CHECK_INT_EQ(h.c.ev[0].text_offset, 33);
		check_event(&h.c.ev[1], IM_KIND_LOGOUT, IM_DIR_OUT, "", false, "quitting");
	}
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	harness_free(&h);
}

/* Commands and targets in any case, compared a word at a time: only the
 * letters may differ in case, and a long prefix or tag splits at its first
 * space wherever it falls. */
static void test_command_case_and_tokens(void)
{
	struct harness h;

	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_IN, ":a!b@c privMsg #x :one\r\n");
	line(&h, IM_DIR_IN, ":a!b@c PRIVMSG\x7f #x :not a command\r\n");
	line(&h, IM_DIR_IN, ":a!b@c PRIVMSh #x :not PRIVMSG\r\n");
	line(&h, IM_DIR_IN, ":server.example notice auth :a sink in any case\r\n");
	line(&h, IM_DIR_IN, ":a!b@c NOTICE AUTh :still a sink\r\n");
	line(&h, IM_DIR_IN, ":a!b@c NOTICE AUT :a user named AUT\r\n");
	line(&h, IM_DIR_IN, "@k=vvvvvvvvvvvvvvv :nick12345!user12345@host.example.org PRIVMSG "
			    "+chan :two\r\n");
	line(&h, IM_DIR_IN, "@k=vvvvvv :n!u@h PRIVMSG @#chan :three\r\n");
	CHECK_INT_EQ(h.c.n, 4);
	if (h.c.n == 4) {
		check_event(&h.c.ev[0], IM_KIND_MESSAGE, IM_DIR_IN, "#x", true, "a: one");
		check_event(&h.c.ev[1], IM_KIND_MESSAGE, IM_DIR_IN, "a", false,
			    "a user named AUT");
		check_event(&h.c.ev[2], IM_KIND_MESSAGE, IM_DIR_IN, "+chan", true,
			    "nick12345: two");
		check_event(&h.c.ev[3], IM_KIND_MESSAGE, IM_DIR_IN, "@#chan", true, "n: three");
	}
	harness_free(&h);
}

static void test_ctcp(void)
{
	struct harness h;

	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_IN, ":eean!n=ian@amarok/developer/eean PRIVMSG #amarok :+\x01"
			    "ACTION scrolls up\x01\r\n");
	line(&h, IM_DIR_OUT, "PRIVMSG #amarok :\x01"
			     "ACTION waves\x01\r\n");
	line(&h, IM_DIR_IN, ":bob!b@h PRIVMSG me :\x01"
			    "ACTION hugs me\x01\r\n");
	CHECK_INT_EQ(h.c.n, 3);
	if (h.c.n == 3) {
		check_event(&h.c.ev[0], IM_KIND_MESSAGE, IM_DIR_IN, "#amarok", true,
			    "eean: +ACTION scrolls up");
		check_event(&h.c.ev[1], IM_KIND_MESSAGE, IM_DIR_OUT, "#amarok", true,
			    "ACTION waves");
		check_event(&h.c.ev[2], IM_KIND_MESSAGE, IM_DIR_IN, "bob", false, "ACTION hugs me");
	}
	harness_clear_events(&h);
	/* Queries and replies are not messages. */
	line(&h, IM_DIR_IN, ":bob!b@h PRIVMSG me :\x01VERSION\x01\r\n");
	line(&h, IM_DIR_OUT, "NOTICE bob :\x01VERSION irssi v1.4\x01\r\n");
	line(&h, IM_DIR_OUT, "NOTICE bob :\x01PING 1690000000\x01\r\n");
	line(&h, IM_DIR_IN, ":bob!b@h NOTICE me :\x01"
			    "ACTION odd\x01\r\n");
	CHECK_INT_EQ(h.c.n, 0);
	harness_free(&h);
}

static void test_dcc(void)
{
	struct harness h;

	harness_init(&h, IRC_FLOW);
	/* zeek_irc-dcc-send.pcapng: an offer is a file event only. */
	line(&h, IM_DIR_OUT, "PRIVMSG tim1 :\x01"
			     "DCC SEND ssh.trace 167772167 59130 1320211\x01\r\n");
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1) {
		check_event(&h.c.ev[0], IM_KIND_FILE, IM_DIR_OUT, "tim1", false,
			    "ssh.trace (1320211 bytes)");
		CHECK_STR_EQ(h.c.ev[0].file_name, "ssh.trace");
		CHECK(h.c.ev[0].has_file_size);
		CHECK_INT_EQ(h.c.ev[0].file_size, 1320211);
	}
	harness_clear_events(&h);

	line(&h, IM_DIR_IN, ":bob!b@h PRIVMSG tim2 :\x01"
			    "DCC SEND \"my holiday.jpg\" 3232235777 5000 42\x01\r\n");
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1) {
		check_event(&h.c.ev[0], IM_KIND_FILE, IM_DIR_IN, "bob", false,
			    "my holiday.jpg (42 bytes)");
		CHECK_STR_EQ(h.c.ev[0].file_name, "my holiday.jpg");
		CHECK_INT_EQ(h.c.ev[0].file_size, 42);
	}
	harness_clear_events(&h);

	/* Old clients leave the size out. */
	line(&h, IM_DIR_OUT, "PRIVMSG bob :\x01"
			     "DCC SEND notes.txt 3232235777 5000\x01\r\n");
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1) {
		CHECK_INT_EQ(h.c.ev[0].kind, IM_KIND_FILE);
		CHECK_STR_EQ(h.c.ev[0].file_name, "notes.txt");
		CHECK(!h.c.ev[0].has_file_size);
		CHECK_STR_EQ(h.c.ev[0].text, "notes.txt");
	}
	harness_clear_events(&h);

	line(&h, IM_DIR_OUT, "PRIVMSG tim1 :\x01"
			     "DCC CHAT CHAT 167772167 59214\x01\r\n");
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1)
		check_event(&h.c.ev[0], IM_KIND_RENDEZVOUS, IM_DIR_OUT, "tim1", false,
			    "DCC CHAT CHAT 167772167 59214");
	harness_free(&h);
}

static void test_join_part_quit(void)
{
	struct harness h;

	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_OUT, "NICK brotest\r\n");
	line(&h, IM_DIR_OUT, "JOIN #brotest\r\n"); /* a request: the server confirms */
	CHECK_INT_EQ(h.c.n, 0);
	line(&h, IM_DIR_IN, ":brotest!~brotest@new-wifi-nat.ICSI.Berkeley.EDU JOIN #brotest\r\n");
	line(&h, IM_DIR_IN, ":tim!tim@netadmin.local JOIN :#testing\r\n");
	line(&h, IM_DIR_IN, "@time=2025-07-28T20:48:39.713Z :tim2!tim@10.0.0.7 JOIN #testing * "
			    ":Tim Wojtulewicz\r\n");
	line(&h, IM_DIR_IN, ":bob!b@h PART #testing :bye\r\n");
	line(&h, IM_DIR_IN, ":tim!tim@netadmin.local KICK #testing tim_ :\r\n");
	line(&h, IM_DIR_IN, ":leguin.freenode.net MODE #brotest +ns\r\n");
	CHECK_INT_EQ(h.c.n, 5);
	if (h.c.n == 5) {
		check_event(&h.c.ev[0], IM_KIND_JOIN, IM_DIR_IN, "#brotest", true, "brotest");
		check_event(&h.c.ev[1], IM_KIND_JOIN, IM_DIR_IN, "#testing", true, "tim");
		check_event(&h.c.ev[2], IM_KIND_JOIN, IM_DIR_IN, "#testing", true, "tim2");
		check_event(&h.c.ev[3], IM_KIND_PART, IM_DIR_IN, "#testing", true, "bob");
		check_event(&h.c.ev[4], IM_KIND_PART, IM_DIR_IN, "#testing", true,
			    "tim_ (kicked by tim)");
	}
	harness_clear_events(&h);
	/* zeek_irc-more-commands: TOPIC, KICK with a reason, INVITE both ways. */
	line(&h, IM_DIR_IN, ":tim!tim@netadmin.local TOPIC #testing :test\r\n");
	line(&h, IM_DIR_IN, ":tim!tim@h KICK #testing bob :too loud\r\n");
	line(&h, IM_DIR_IN, ":tim!tim@netadmin.local INVITE tim_ :#testing\r\n");
	line(&h, IM_DIR_IN, ":ircd1.local 341 brotest tim_ #testing\r\n");
	CHECK_INT_EQ(h.c.n, 4);
	if (h.c.n == 4) {
		check_event(&h.c.ev[0], IM_KIND_TOPIC, IM_DIR_IN, "#testing", true, "tim: test");
		check_event(&h.c.ev[1], IM_KIND_PART, IM_DIR_IN, "#testing", true,
			    "bob (kicked by tim: too loud)");
		check_event(&h.c.ev[2], IM_KIND_RENDEZVOUS, IM_DIR_IN, "tim", false,
			    "invite to #testing");
		check_event(&h.c.ev[3], IM_KIND_RENDEZVOUS, IM_DIR_IN, "tim_", false,
			    "invite to #testing");
	}
	harness_clear_events(&h);
	/* A PRIVMSG without any prefix is a message all the same; a server's
	 * PRIVMSG or NOTICE, or a NOTICE without a prefix, is the server's. */
	line(&h, IM_DIR_IN, "PRIVMSG brotest :replayed without a prefix\r\n");
	line(&h, IM_DIR_IN, ":srv PRIVMSG brotest :from the server\r\n");
	line(&h, IM_DIR_IN, "PRIVMSG #brotest :to the channel\r\n");
	line(&h, IM_DIR_IN, ":irc.example NOTICE brotest :server says\r\n");
	line(&h, IM_DIR_IN, "NOTICE brotest :also the server\r\n");
	CHECK_INT_EQ(h.c.n, 2);
	if (h.c.n == 2) {
		check_event(&h.c.ev[0], IM_KIND_MESSAGE, IM_DIR_IN, "", false,
			    "replayed without a prefix");
		check_event(&h.c.ev[1], IM_KIND_MESSAGE, IM_DIR_IN, "#brotest", true,
			    "to the channel");
	}
	harness_clear_events(&h);
	/* Someone else quitting is not our logout; ours is logged once. */
	line(&h, IM_DIR_IN, ":arkanoid_!n=arkanoid@x QUIT :Connection timed out\r\n");
	line(&h, IM_DIR_OUT, "QUIT quitting\r\n");
	line(&h, IM_DIR_IN, ":brotest!~brotest@new-wifi-nat.ICSI.Berkeley.EDU QUIT :Client Quit\r\n");
	line(&h, IM_DIR_IN, "ERROR :Closing Link: new-wifi-nat.ICSI.Berkeley.EDU (Client Quit)\r\n");
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1)
		check_event(&h.c.ev[0], IM_KIND_LOGOUT, IM_DIR_OUT, "", false, "quitting");
	harness_free(&h);
}

/* encrypted=strip: tls leaves the server's capability lists as blanks. */
static void test_strip_tls_cap(void)
{
	static const struct {
		const char *line, *want;
	} cases[] = {
		{ ":irc.example CAP * LS :multi-prefix tls sasl\r\n",
		  ":irc.example CAP * LS :multi-prefix     sasl\r\n" },
		{ ":irc.example CAP * LS * :tls\r\n", ":irc.example CAP * LS * :   \r\n" },
		{ ":irc.example CAP alice ACK :TLS echo-message\r\n",
		  ":irc.example CAP alice ACK :    echo-message\r\n" },
		{ ":irc.example CAP * NEW tls\r\n", ":irc.example CAP * NEW    \r\n" },
	};
	struct harness h;
	uint8_t buf[128];
	size_t i, n;

	harness_init(&h, IRC_FLOW);
	n = strlen(cases[0].line);
	memcpy(buf, cases[0].line, n);
	CHECK(!proto_irc.fixup_pdu(h.s, IM_DIR_IN, buf, n)); /* not asked to */
	h.s->strip_tls = true;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = strlen(cases[i].line);
		memcpy(buf, cases[i].line, n);
		CHECK(proto_irc.fixup_pdu(h.s, IM_DIR_IN, buf, n));
		CHECK_MEM_EQ(buf, cases[i].want, n);
	}
	/* Lookalikes and the client's own requests stay. */
	memcpy(buf, "CAP REQ :tls\r\n", 14);
	CHECK(!proto_irc.fixup_pdu(h.s, IM_DIR_OUT, buf, 14));
	n = strlen(":bob!b@h PRIVMSG me :CAP * LS :tls\r\n");
	memcpy(buf, ":bob!b@h PRIVMSG me :CAP * LS :tls\r\n", n);
	CHECK(!proto_irc.fixup_pdu(h.s, IM_DIR_IN, buf, n));
	harness_free(&h);
}

static void test_starttls(void)
{
	struct harness h;
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00,
					 0x16 };
	size_t pdu_len = 0;

	/* zeek_irc-starttls */
	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_OUT, "STARTTLS\r\n");
	CHECK(!h.s->opaque[IM_DIR_OUT] && !h.s->opaque[IM_DIR_IN]);
	line(&h, IM_DIR_IN, ":irc.joulunet.org 670  :STARTTLS successful, go ahead with TLS "
			    "handshake\r\n");
	CHECK(h.s->opaque[IM_DIR_OUT] && h.s->opaque[IM_DIR_IN]);
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1)
		check_event(&h.c.ev[0], IM_KIND_ENCRYPTED, IM_DIR_IN, "irc.joulunet.org", false,
			    "STARTTLS");
	CHECK(h.s->local_id == NULL);
	harness_free(&h);

	/* Refused: stays in clear text. */
	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_OUT, "STARTTLS\r\n");
	line(&h, IM_DIR_IN, ":irc.example.net 691 alice :STARTTLS failed\r\n");
	CHECK(!h.s->opaque[IM_DIR_OUT] && !h.s->opaque[IM_DIR_IN]);
	CHECK_INT_EQ(h.c.n, 0);
	harness_free(&h);

	/* A TLS record where a line should start: framed by its length. */
	harness_init(&h, IRC_FLOW);
	CHECK_INT_EQ(proto_irc.frame(h.s, IM_DIR_OUT, hello, 4, &pdu_len), PROTO_FRAME_NEED_MORE);
	CHECK_INT_EQ(proto_irc.frame(h.s, IM_DIR_OUT, hello, sizeof(hello), &pdu_len),
		     PROTO_FRAME_PDU);
	CHECK_INT_EQ(pdu_len, 9);
	CHECK_INT_EQ(proto_irc.decode(h.s, IM_DIR_OUT, hello, pdu_len), 0);
	CHECK_INT_EQ(proto_irc.decode(h.s, IM_DIR_OUT, hello, pdu_len), 0);
	CHECK(h.s->opaque[IM_DIR_OUT] && h.s->opaque[IM_DIR_IN]);
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1)
		check_event(&h.c.ev[0], IM_KIND_ENCRYPTED, IM_DIR_OUT, "", false, "TLS");
	harness_free(&h);
}

static void test_malformed(void)
{
	struct harness h;
	static const uint8_t binary[] = { 0x8b, 0x00, 0x1f, 0x02, '\n' };

	harness_init(&h, IRC_FLOW);
	CHECK_INT_EQ(proto_irc.decode(h.s, IM_DIR_IN, binary, sizeof(binary)), -1);
	CHECK_INT_EQ(h.s->stats.malformed, 1);
	CHECK(h.s->last_error != NULL);
	CHECK_INT_EQ(line(&h, IM_DIR_IN, ":prefix.only\r\n"), -1);
	CHECK_INT_EQ(line(&h, IM_DIR_IN, ": PRIVMSG #a :x\r\n"), -1);
	CHECK_INT_EQ(line(&h, IM_DIR_OUT, "PRIV%MSG #a :x\r\n"), -1);
	CHECK_INT_EQ(line(&h, IM_DIR_OUT, "\xff\xfe garbage\r\n"), -1);
	CHECK_INT_EQ(h.s->stats.malformed, 5);
	/* Blank lines, unknown and lower-case commands are fine. */
	CHECK_INT_EQ(line(&h, IM_DIR_OUT, "\r\n"), 0);
	CHECK_INT_EQ(line(&h, IM_DIR_OUT, "   \n"), 0);
	CHECK_INT_EQ(line(&h, IM_DIR_OUT, "map\r\n"), 0);
	CHECK_INT_EQ(line(&h, IM_DIR_IN, ":ircd1.local 015 tim :ircd1.local (893 InspIRCd-3.16.0)"
					 "      1 [100.00%] [Up: 1m28s]\r\n"),
		     0);
	CHECK_INT_EQ(h.s->stats.malformed, 5);
	CHECK_INT_EQ(h.c.n, 0);
	harness_free(&h);
}

static void test_echo_message(void)
{
	struct harness h;

	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_OUT, "NICK tim2\r\n");
	line(&h, IM_DIR_IN, "@time=2025-07-28T20:48:30.026Z :ircd1.local CAP * ACK :multi-prefix "
			    "echo-message server-time\r\n");
	line(&h, IM_DIR_OUT, "PRIVMSG #testing :more packets\r\n");
	line(&h, IM_DIR_IN, ":tim2!tim@10.0.0.7 PRIVMSG #testing :more packets\r\n");
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1)
		check_event(&h.c.ev[0], IM_KIND_MESSAGE, IM_DIR_OUT, "#testing", true,
			    "more packets");
	harness_free(&h);
}

/* Decode pdu in a fresh session (local "me"), encode each message event
 * back with the PDU as original, check the identity and a changed text. */
static void roundtrip(enum im_dir dir, const char *pdu, const char *new_text,
		      const char *expect_pdu)
{
	struct harness h, h2;
	struct bytebuf out;
	struct im_event ev;

	harness_init(&h, IRC_FLOW);
	proto_session_set_local(h.s, "me", 2);
	CHECK_INT_EQ(line(&h, dir, pdu), 0);
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n != 1) {
		harness_free(&h);
		return;
	}
	bytebuf_init(&out);
	CHECK_INT_EQ(
		proto_irc.encode(h.s, dir, &h.c.ev[0], (const uint8_t *)pdu, strlen(pdu), &out), 0);
	CHECK_INT_EQ(out.len, strlen(pdu));
	if (out.len == strlen(pdu))
		CHECK_MEM_EQ(out.data, pdu, out.len);

	bytebuf_clear(&out);
	CHECK(event_copy(&ev, &h.c.ev[0]));
	CHECK(event_set_str(&ev.text, new_text));
	CHECK_INT_EQ(proto_irc.encode(h.s, dir, &ev, (const uint8_t *)pdu, strlen(pdu), &out), 0);
	CHECK(bytebuf_terminate(&out));
	if (expect_pdu)
		CHECK_STR_EQ((const char *)out.data, expect_pdu);
	harness_init(&h2, IRC_FLOW);
	proto_session_set_local(h2.s, "me", 2);
	CHECK_INT_EQ(line(&h2, dir, (const char *)out.data), 0);
	CHECK_INT_EQ(h2.c.n, 1);
	if (h2.c.n == 1) {
		CHECK_STR_EQ(h2.c.ev[0].text, new_text);
		CHECK_STR_EQ(h2.c.ev[0].remote, ev.remote);
		CHECK_INT_EQ(h2.c.ev[0].group, ev.group);
	}
	event_free(&ev);
	bytebuf_free(&out);
	harness_free(&h2);
	harness_free(&h);
}

static void test_encode_with_orig(void)
{
	roundtrip(IM_DIR_OUT, "PRIVMSG #testing :hi, i'm chatting for some packets\r\n",
		  "hi, i'm ******** for some packets",
		  "PRIVMSG #testing :hi, i'm ******** for some packets\r\n");
	roundtrip(IM_DIR_OUT, " PRIVMSG          #BROTEST      :test\r\n", "best",
		  " PRIVMSG          #BROTEST      :best\r\n");
	/* One word without ':' must gain one to carry spaces. */
	roundtrip(IM_DIR_OUT, "PRIVMSG #brotest test\n", "two words",
		  "PRIVMSG #brotest :two words\n");
	roundtrip(IM_DIR_IN,
		  ":yaloki!n=yaloki@156.185-64-87.adsl-dyn.isp.belgacom.be PRIVMSG #amarok :+how do "
		  "you mean\r\n",
		  "yaloki: +how do you ****",
		  ":yaloki!n=yaloki@156.185-64-87.adsl-dyn.isp.belgacom.be PRIVMSG #amarok :+how do "
		  "you ****\r\n");
	roundtrip(IM_DIR_IN,
		  "@time=2025-07-28T20:51:11.770Z :tim1!tim@10.0.0.22 PRIVMSG #testing :maybe we "
		  "do\r\n",
		  "tim1: maybe we don't",
		  "@time=2025-07-28T20:51:11.770Z :tim1!tim@10.0.0.22 PRIVMSG #testing :maybe we "
		  "don't\r\n");
	roundtrip(IM_DIR_IN, ":bob!b@h PRIVMSG me :secret plan\r\n", "****** plan",
		  ":bob!b@h PRIVMSG me :****** plan\r\n");
	/* Untouched bytes stay as they were: a Latin-1 byte too. */
	roundtrip(IM_DIR_IN, ":bob!b@h NOTICE me :Ume\xe5\r\n", "Ume\xc3\xa5 ok",
		  ":bob!b@h NOTICE me :Ume\xe5 ok\r\n");
	roundtrip(IM_DIR_IN, ":bob!b@h NOTICE me :Ume\xe5 frak\r\n", "Ume\xc3\xa5 ****",
		  ":bob!b@h NOTICE me :Ume\xe5 ****\r\n");
	/* A censored word is overwritten in place: a one-word text sent
	 * without ':' keeps its length (issue 18, item 3). */
	roundtrip(IM_DIR_OUT, "PRIVMSG #brotest test\r\n", "****", "PRIVMSG #brotest ****\r\n");
	roundtrip(IM_DIR_OUT, "PRIVMSG #brotest test stray\r\n", "t**t",
		  "PRIVMSG #brotest t**t stray\r\n");
	roundtrip(IM_DIR_OUT, "PRIVMSG  bob  :a frak b frak c\r\n", "a **** b **** c",
		  "PRIVMSG  bob  :a **** b **** c\r\n");
	/* CTCP marks come back around the same command. */
	roundtrip(IM_DIR_IN, ":eean!n=ian@x PRIVMSG #amarok :+\x01"
			     "ACTION scrolls up\x01\r\n",
		  "eean: +ACTION scrolls down",
		  ":eean!n=ian@x PRIVMSG #amarok :+\x01"
		  "ACTION scrolls down\x01\r\n");
	roundtrip(IM_DIR_OUT, "PRIVMSG #c :\x01"
			      "ACTION waves\x01\r\n",
		  "ACTION ***", "PRIVMSG #c :\x01"
				"ACTION ***\x01\r\n");
	/* A line break in the new text must not start a new command. */
	roundtrip(IM_DIR_OUT, "PRIVMSG bob :hello\r\n", "hi  QUIT :bye",
		  "PRIVMSG bob :hi  QUIT :bye\r\n");
}

static void test_encode_newline_injection(void)
{
	struct harness h;
	struct bytebuf out;
	const char *pdu = "PRIVMSG bob :hello\r\n";

	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_OUT, pdu);
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n != 1) {
		harness_free(&h);
		return;
	}
	CHECK(event_set_str(&h.c.ev[0].text, "hi\r\nQUIT :bye\n"));
	bytebuf_init(&out);
	CHECK_INT_EQ(proto_irc.encode(h.s, IM_DIR_OUT, &h.c.ev[0], (const uint8_t *)pdu,
				      strlen(pdu), &out),
		     0);
	CHECK(bytebuf_terminate(&out));
	CHECK_STR_EQ((const char *)out.data, "PRIVMSG bob :hi  QUIT :bye \r\n");
	bytebuf_clear(&out);
	/* Built afresh, each line of the text is a message line of its own. */
	CHECK_INT_EQ(proto_irc.encode(h.s, IM_DIR_OUT, &h.c.ev[0], NULL, 0, &out), 0);
	CHECK(bytebuf_terminate(&out));
	CHECK_STR_EQ((const char *)out.data, "PRIVMSG bob :hi\r\nPRIVMSG bob :QUIT :bye\r\n");
	/* Only messages can be encoded; a failure leaves out untouched. */
	bytebuf_clear(&out);
	h.c.ev[0].kind = IM_KIND_JOIN;
	CHECK_INT_EQ(proto_irc.encode(h.s, IM_DIR_OUT, &h.c.ev[0], NULL, 0, &out), -1);
	CHECK_INT_EQ(out.len, 0);
	bytebuf_free(&out);
	harness_free(&h);
}

/* Build an event from neutral fields, encode without context, decode. */
static void fresh(enum im_dir dir, const char *remote, bool group, const char *text,
		  const char *expect_pdu)
{
	struct harness h;
	struct bytebuf out;
	struct im_event ev;

	harness_init(&h, IRC_FLOW);
	proto_session_set_local(h.s, "alice", 5);
	event_init(&ev);
	ev.proto = IMW_PROTO_IRC;
	ev.kind = IM_KIND_MESSAGE;
	ev.dir = dir;
	ev.group = group;
	CHECK(event_set_str(&ev.remote, remote) && event_set_str(&ev.text, text) &&
	      event_set_str(&ev.local, "alice"));
	bytebuf_init(&out);
	CHECK_INT_EQ(proto_irc.encode(h.s, dir, &ev, NULL, 0, &out), 0);
	CHECK(bytebuf_terminate(&out));
	CHECK_STR_EQ((const char *)out.data, expect_pdu);
	CHECK_INT_EQ(line(&h, dir, (const char *)out.data), 0);
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1) {
		check_event(&h.c.ev[0], IM_KIND_MESSAGE, dir, remote, group, text);
		CHECK_STR_EQ(h.c.ev[0].local, "alice");
	}
	event_free(&ev);
	bytebuf_free(&out);
	harness_free(&h);
}

/* A text longer than an IRC line (a message from another protocol) is
 * cut into lines that each fit 512 bytes, at blanks where there are any
 * and never inside a UTF-8 sequence; decoded, they give the text back. */
static void test_encode_fresh_long_text(void)
{
	struct harness h;
	struct im_event ev;
	struct bytebuf out, joined;
	char text[1300];
	size_t i, start, base, n_lines = 0;

	for (i = 0; i + 1 < sizeof(text); i++)
		text[i] = (char)(i % 10 == 9 ? ' ' : 'a' + (char)(i % 7));
	text[sizeof(text) - 1] = '\0';
	harness_init(&h, IRC_FLOW);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	CHECK(event_set_str(&ev.local, "me"));
	CHECK(event_set_str(&ev.remote, "alice"));
	CHECK(event_set_str(&ev.text, text));
	bytebuf_init(&out);
	bytebuf_init(&joined);
	CHECK_INT_EQ(proto_irc.encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	for (start = 0, i = 0; i + 1 < out.len; i++) {
		if (out.data[i] != '\r' || out.data[i + 1] != '\n')
			continue;
		CHECK(i + 2 - start <= 512);
		n_lines++;
		start = i + 2;
	}
	CHECK_INT_EQ(start, out.len);
	CHECK(n_lines >= 3);
	line(&h, IM_DIR_IN, ":irc.test 001 me :hi\r\n");
	base = h.c.n;
	CHECK(bytebuf_terminate(&out));
	for (start = 0, i = 0; i + 1 < out.len; i++) {
		char one[600];

		if (out.data[i] != '\r' || out.data[i + 1] != '\n')
			continue;
		if (i + 2 - start >= sizeof(one))
			break; /* too long: counted as a failure above */
		memcpy(one, out.data + start, i + 2 - start);
		one[i + 2 - start] = '\0';
		line(&h, IM_DIR_IN, one);
		start = i + 2;
	}
	CHECK_INT_EQ(h.c.n - base, n_lines);
	for (i = base; i < h.c.n; i++)
		CHECK(bytebuf_append_str(&joined, i > base ? " " : "") &&
		      bytebuf_append_str(&joined, h.c.ev[i].text));
	CHECK(bytebuf_terminate(&joined));
	CHECK_STR_EQ((const char *)joined.data, text);
	/* No blank at all: cut between UTF-8 sequences. */
	for (i = 0; i + 2 < sizeof(text); i += 2) {
		text[i] = (char)0xc3;
		text[i + 1] = (char)0xa9;
	}
	text[i] = '\0';
	CHECK(event_set_str(&ev.text, text));
	bytebuf_clear(&out);
	CHECK_INT_EQ(proto_irc.encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	for (start = 0, i = 0; i + 1 < out.len; i++) {
		if (out.data[i] != '\r' || out.data[i + 1] != '\n')
			continue;
		CHECK(i + 2 - start <= 512);
		CHECK((out.data[i - 1] & 0xe0) != 0xc0); /* no lead byte left alone */
		start = i + 2;
	}
	bytebuf_free(&out);
	bytebuf_free(&joined);
	event_free(&ev);
	harness_free(&h);
}

static void test_encode_fresh(void)
{
	struct harness h;
	struct bytebuf out;
	struct im_event ev;

	fresh(IM_DIR_OUT, "bob", false, "hello bob", "PRIVMSG bob :hello bob\r\n");
	fresh(IM_DIR_OUT, "#chan", true, "hello all", "PRIVMSG #chan :hello all\r\n");
	fresh(IM_DIR_IN, "bob", false, "hi alice", ":bob!bob@imwire PRIVMSG alice :hi alice\r\n");
	fresh(IM_DIR_IN, "#chan", true, "bob: hi all: yes",
	      ":bob!bob@imwire PRIVMSG #chan :hi all: yes\r\n");

	/* A remote that would split the command line is refused. */
	harness_init(&h, IRC_FLOW);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	CHECK(event_set_str(&ev.remote, "bob QUIT") && event_set_str(&ev.text, "x"));
	bytebuf_init(&out);
	CHECK_INT_EQ(proto_irc.encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), -1);
	CHECK(event_set_str(&ev.remote, ""));
	CHECK_INT_EQ(proto_irc.encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), -1);
	CHECK_INT_EQ(out.len, 0);
	bytebuf_free(&out);
	event_free(&ev);
	harness_free(&h);
}

/* The service local routing pairs sessions by: the network's name from
 * ISUPPORT, else the welcoming server's name. */
static void test_service(void)
{
	struct harness h;

	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_OUT, "NICK alice\r\n");
	CHECK(h.s->service == NULL);
	line(&h, IM_DIR_IN, ":tungsten.libera.chat 001 alice :Welcome to the Libera.Chat Internet "
			    "Relay Chat Network alice\r\n");
	CHECK_STR_EQ(h.s->service, "tungsten.libera.chat");
	line(&h, IM_DIR_IN, ":tungsten.libera.chat 005 alice CALLERID=g WHOX ETRACE FNC "
			    "SAFELIST ELIST=CMNTU KNOCK MONITOR=100 CHANTYPES=# :are supported\r\n");
	CHECK_STR_EQ(h.s->service, "tungsten.libera.chat");
	line(&h, IM_DIR_IN, ":tungsten.libera.chat 005 alice CHANLIMIT=#:250 NETWORK=Libera.Chat "
			    "NICKLEN=16 :are supported by this server\r\n");
	CHECK_STR_EQ(h.s->service, "Libera.Chat");
	/* A NETWORK= in the trailing text is prose, not a token. */
	line(&h, IM_DIR_IN, ":tungsten.libera.chat 005 alice :NETWORK=Other\r\n");
	CHECK_STR_EQ(h.s->service, "Libera.Chat");
	harness_free(&h);
}

static void test_local_address(void)
{
	struct harness h;

	/* ngircd: the welcome ends with the full address. */
	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_OUT, "NICK alice\r\n");
	CHECK(h.s->local_address == NULL);
	line(&h, IM_DIR_IN, ":irc.example.net 001 alice :Welcome to the Internet Relay Network "
			    "alice!~alice@10.77.0.1\r\n");
	CHECK_STR_EQ(h.s->local_address, "alice!~alice@10.77.0.1");
	/* Someone else's rename is not ours; ours keeps user and host. */
	line(&h, IM_DIR_IN, ":bob!~bob@10.77.0.3 NICK :bobby\r\n");
	CHECK_STR_EQ(h.s->local_address, "alice!~alice@10.77.0.1");
	line(&h, IM_DIR_OUT, "NICK alice2\r\n");
	CHECK_STR_EQ(h.s->local_address, "alice!~alice@10.77.0.1");
	line(&h, IM_DIR_IN, ":Alice!~alice@10.77.0.1 NICK :alice2\r\n");
	CHECK_STR_EQ(h.s->local_id, "alice2");
	CHECK_STR_EQ(h.s->local_address, "alice2!~alice@10.77.0.1");
	/* A JOIN shows the address others see now (a cloak set later). */
	line(&h, IM_DIR_IN, ":alice2!~alice@user/alice JOIN #c\r\n");
	CHECK_STR_EQ(h.s->local_address, "alice2!~alice@user/alice");
	line(&h, IM_DIR_IN, ":carol!c@h JOIN #c\r\n");
	CHECK_STR_EQ(h.s->local_address, "alice2!~alice@user/alice");
	harness_free(&h);

	/* freenode ends its welcome with the nick alone: the first JOIN. */
	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_IN, ":leguin.freenode.net 001 brotest :Welcome to the freenode Internet "
			    "Relay Chat Network brotest\r\n");
	CHECK_STR_EQ(h.s->local_id, "brotest");
	CHECK(h.s->local_address == NULL);
	line(&h, IM_DIR_IN, ":brotest!~brotest@nat.ICSI.Berkeley.EDU JOIN :#brotest\r\n");
	CHECK_STR_EQ(h.s->local_address, "brotest!~brotest@nat.ICSI.Berkeley.EDU");
	harness_free(&h);

	/* An address that names another nick, or is not an address. */
	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_IN, ":s 001 tim :Welcome to the Network tom!tim@h\r\n");
	CHECK(h.s->local_address == NULL);
	line(&h, IM_DIR_IN, ":s 001 tim :Welcome to the Network tim!@h\r\n");
	CHECK(h.s->local_address == NULL);
	line(&h, IM_DIR_IN, ":s 001 tim :Welcome to the Network tim!t@\r\n");
	CHECK(h.s->local_address == NULL);
	line(&h, IM_DIR_IN, ":s 001 tim :Welcome to the Network tim!t@h@i\r\n");
	CHECK(h.s->local_address == NULL);
	line(&h, IM_DIR_IN, ":s 001 tim :Welcome tim!tim@172.16.238.1\r\n");
	CHECK_STR_EQ(h.s->local_address, "tim!tim@172.16.238.1");
	harness_free(&h);
}

/* Decoded events leave remote_address unset: a fresh line built from a
 * copy of one (inject rules) keeps the made-up nick!nick@imwire sender;
 * the router sets it from the sending session's local_address. */
static void test_remote_address_not_decoded(void)
{
	struct harness h;

	harness_init(&h, IRC_FLOW);
	proto_session_set_local(h.s, "alice", 5);
	line(&h, IM_DIR_IN, ":bob!~bob@10.77.0.3 PRIVMSG alice :hi\r\n");
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1)
		CHECK(h.c.ev[0].remote_address == NULL);
	harness_free(&h);
}

/* A message encoded for alice's client from neutral fields plus the
 * sender's address, decoded back by the module. */
static void fresh_from(const char *remote, bool group, const char *address, const char *text,
		       const char *expect_pdu, const char *decoded_remote)
{
	struct harness h;
	struct bytebuf out;
	struct im_event ev;

	harness_init(&h, IRC_FLOW);
	proto_session_set_local(h.s, "alice", 5);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	ev.dir = IM_DIR_IN;
	ev.group = group;
	CHECK(event_set_str(&ev.remote, remote) && event_set_str(&ev.text, text) &&
	      event_set_str(&ev.local, "alice") && event_set_str(&ev.remote_address, address));
	bytebuf_init(&out);
	CHECK_INT_EQ(proto_irc.encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	CHECK(bytebuf_terminate(&out));
	CHECK_STR_EQ((const char *)out.data, expect_pdu);
	CHECK_INT_EQ(line(&h, IM_DIR_IN, (const char *)out.data), 0);
	CHECK_INT_EQ(h.c.n, 1);
	if (h.c.n == 1) {
		check_event(&h.c.ev[0], IM_KIND_MESSAGE, IM_DIR_IN, decoded_remote, group, text);
		CHECK_STR_EQ(h.c.ev[0].local, "alice");
		CHECK(h.c.ev[0].remote_address == NULL);
	}
	event_free(&ev);
	bytebuf_free(&out);
	harness_free(&h);
}

static void test_encode_fresh_remote_address(void)
{
	fresh_from("bob", false, "bob!~bob@10.77.0.3", "hi alice",
		   ":bob!~bob@10.77.0.3 PRIVMSG alice :hi alice\r\n", "bob");
	/* Nicks compare without case, as the server does; the address is
	 * how the server spells it. */
	fresh_from("bob", false, "Bob!~bob@10.77.0.3", "hi",
		   ":Bob!~bob@10.77.0.3 PRIVMSG alice :hi\r\n", "Bob");
	/* Another nick's address, or no address: the made-up one. */
	fresh_from("bob", false, "carol!~c@10.77.0.4", "hi",
		   ":bob!bob@imwire PRIVMSG alice :hi\r\n", "bob");
	fresh_from("bob", false, "bob@10.77.0.3", "hi", ":bob!bob@imwire PRIVMSG alice :hi\r\n",
		   "bob");
	fresh_from("bob", false, "bob!~bob@h PRIVMSG x", "hi",
		   ":bob!bob@imwire PRIVMSG alice :hi\r\n", "bob");
	fresh_from("#chan", true, "bob!~bob@10.77.0.3", "bob: hi all",
		   ":bob!~bob@10.77.0.3 PRIVMSG #chan :hi all\r\n", "#chan");
}

/* Decode the client's line, ask for the receipt of its message event. */
static int receipt(struct harness *h, const char *pdu, size_t event, struct bytebuf *out)
{
	size_t before = h->c.n;

	CHECK_INT_EQ(line(h, IM_DIR_OUT, pdu), 0);
	CHECK(h->c.n > before + event);
	if (h->c.n <= before + event)
		return -2;
	return proto_irc.local_receipt(h->s, &h->c.ev[before + event], (const uint8_t *)pdu,
				       strlen(pdu), out);
}

static void check_receipt(struct harness *h, const char *pdu, size_t event, const char *expect)
{
	struct bytebuf out;

	bytebuf_init(&out);
	CHECK_INT_EQ(receipt(h, pdu, event, &out), 1);
	CHECK(bytebuf_terminate(&out));
	CHECK_STR_EQ((const char *)out.data, expect);
	bytebuf_free(&out);
}

static void test_local_receipt(void)
{
	struct harness h;
	struct bytebuf out;
	size_t n;

	CHECK(proto_irc.local_receipt != NULL);
	/* Without echo-message a server says nothing when it delivered. */
	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_OUT, "NICK alice\r\n");
	line(&h, IM_DIR_IN, ":irc.example.net 001 alice :Welcome to the Internet Relay Network "
			    "alice!~alice@10.77.0.1\r\n");
	bytebuf_init(&out);
	CHECK_INT_EQ(receipt(&h, "PRIVMSG bob :hi\r\n", 0, &out), 0);
	CHECK_INT_EQ(out.len, 0);

	line(&h, IM_DIR_IN, ":irc.example.net CAP alice ACK :echo-message\r\n");
	check_receipt(&h, "PRIVMSG bob :hi there\r\n", 0,
		      ":alice!~alice@10.77.0.1 PRIVMSG bob :hi there\r\n");
	check_receipt(&h, "NOTICE bob :fyi\n", 0, ":alice!~alice@10.77.0.1 NOTICE bob :fyi\r\n");
	check_receipt(&h, "PRIVMSG bob word\r\n", 0, ":alice!~alice@10.77.0.1 PRIVMSG bob :word\r\n");
	/* The text's bytes as sent, CTCP marks and Latin-1 included. */
	check_receipt(&h, "PRIVMSG bob :\x01" "ACTION waves\x01\r\n", 0,
		      ":alice!~alice@10.77.0.1 PRIVMSG bob :\x01" "ACTION waves\x01\r\n");
	check_receipt(&h, "PRIVMSG bob :Ume\xe5\r\n", 0,
		      ":alice!~alice@10.77.0.1 PRIVMSG bob :Ume\xe5\r\n");
	/* One echo per event: the target the event names. */
	check_receipt(&h, "PRIVMSG bob,Carol :to both\r\n", 1,
		      ":alice!~alice@10.77.0.1 PRIVMSG Carol :to both\r\n");
	/* Client-only tags and the label come back; others are the server's. */
	check_receipt(&h, "@label=abc;+typing=done;msgid=x;labelx=1 PRIVMSG bob :tagged\r\n", 0,
		      "@label=abc;+typing=done :alice!~alice@10.77.0.1 PRIVMSG bob :tagged\r\n");
	check_receipt(&h, "@time=2025 PRIVMSG bob :untagged\r\n", 0,
		      ":alice!~alice@10.77.0.1 PRIVMSG bob :untagged\r\n");

	/* The synthesised echo reads as the server's: not logged twice. */
	n = h.c.n;
	CHECK_INT_EQ(line(&h, IM_DIR_IN, ":alice!~alice@10.77.0.1 PRIVMSG bob :hi there\r\n"), 0);
	CHECK_INT_EQ(h.c.n, n);

	/* An incoming event, or no PDU, has no receipt to give. */
	line(&h, IM_DIR_IN, ":bob!~bob@10.77.0.3 PRIVMSG alice :hi\r\n");
	CHECK(h.c.n == n + 1);
	if (h.c.n == n + 1) {
		CHECK_INT_EQ(
			proto_irc.local_receipt(h.s, &h.c.ev[n], (const uint8_t *)"x\r\n", 3, &out),
			-1);
		h.c.ev[n].dir = IM_DIR_OUT;
		CHECK_INT_EQ(proto_irc.local_receipt(h.s, &h.c.ev[n], NULL, 0, &out), -1);
	}
	CHECK_INT_EQ(out.len, 0);
	bytebuf_free(&out);
	harness_free(&h);

	/* The address unknown: the nick made into one, as encode does. */
	harness_init(&h, IRC_FLOW);
	line(&h, IM_DIR_OUT, "NICK alice\r\n");
	line(&h, IM_DIR_IN, ":s CAP * ACK :multi-prefix echo-message\r\n");
	check_receipt(&h, "PRIVMSG bob :hi\r\n", 0, ":alice!alice@imwire PRIVMSG bob :hi\r\n");
	harness_free(&h);
}

/* The client side of zeek_irc-basic through the app layer, split into
 * arbitrary chunks as TCP would deliver it. */
static void test_stream_basic(void)
{
	static const char client[] = "USER brotest * * :brotest\r\nNICK brotest\r\nJOIN #brotest\r\n"
				     "PRIVMSG #brotest test\r\nQUIT quitting\r\n";
	const uint8_t *p = (const uint8_t *)client;
	size_t len = sizeof(client) - 1, cut;
	struct harness h;

	for (cut = 1; cut < len; cut += 7) {
		harness_init(&h, IRC_FLOW);
		/* TCP delivers the first `cut` bytes, later the rest. */
		CHECK_INT_EQ(harness_feed(&h, IM_DIR_OUT, p, cut), 0);
		CHECK_INT_EQ(harness_feed(&h, IM_DIR_OUT, p + cut, len - cut), 0);
		CHECK_INT_EQ(h.c.n, 2);
		if (h.c.n == 2) {
			check_event(&h.c.ev[0], IM_KIND_MESSAGE, IM_DIR_OUT, "#brotest", true, "test");
			CHECK_STR_EQ(h.c.ev[0].local, "brotest");
			CHECK_INT_EQ(h.c.ev[1].kind, IM_KIND_LOGOUT);
		}
		harness_free(&h);
	}
}

/* Where a DCC SEND's data will travel (#20): the expectation on its file
 * event. */
static void test_dcc_xfer(void)
{
	static const uint8_t ten_0_0_7[4] = { 10, 0, 0, 7 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5 };
	const struct im_xfer *x;
	struct harness h;

	harness_init(&h, IRC_FLOW);
	/* zeek_irc-dcc-send.pcapng: the sender listens at 10.0.0.7:59130 */
	line(&h, IM_DIR_OUT, "PRIVMSG tim1 :\x01"
			     "DCC SEND ssh.trace 167772167 59130 1320211\x01\r\n");
	x = &harness_event(&h, 0)->xfer;
	CHECK_INT_EQ(x->path, IM_XFER_TCP);
	CHECK_INT_EQ(x->ip_version, 4);
	CHECK_MEM_EQ(x->addr, ten_0_0_7, 4);
	CHECK_INT_EQ(x->port, 59130);
	CHECK(x->from_listener);
	CHECK_INT_EQ(x->token_len, 0);
	harness_clear_events(&h);
	/* reverse DCC: port 0 and a token; the answer listens and receives */
	line(&h, IM_DIR_OUT, "PRIVMSG bob :\x01"
			     "DCC SEND a.bin 167772167 0 42 77\x01\r\n");
	x = &harness_event(&h, 0)->xfer;
	CHECK_INT_EQ(x->path, IM_XFER_TCP);
	CHECK_INT_EQ(x->port, 0);
	CHECK_INT_EQ(x->token_len, 2);
	CHECK_MEM_EQ(x->token, "77", 2);
	harness_clear_events(&h);
	line(&h, IM_DIR_IN, ":bob!b@h PRIVMSG tim2 :\x01"
			    "DCC SEND a.bin 3232235777 4000 42 77\x01\r\n");
	x = &harness_event(&h, 0)->xfer;
	CHECK_INT_EQ(x->port, 4000);
	CHECK(!x->from_listener);
	CHECK_MEM_EQ(x->token, "77", 2);
	harness_clear_events(&h);
	/* IPv6 as text */
	line(&h, IM_DIR_IN, ":bob!b@h PRIVMSG tim2 :\x01"
			    "DCC SEND b.bin 2001:db8::5 4001 7\x01\r\n");
	x = &harness_event(&h, 0)->xfer;
	CHECK_INT_EQ(x->ip_version, 6);
	CHECK_MEM_EQ(x->addr, v6, 16);
	CHECK_INT_EQ(x->port, 4001);
	harness_clear_events(&h);
	/* no usable address or port: logged, nothing to expect */
	line(&h, IM_DIR_IN, ":bob!b@h PRIVMSG tim2 :\x01"
			    "DCC SEND c.bin nowhere 99999 7\x01\r\n");
	CHECK_INT_EQ(harness_event(&h, 0)->kind, IM_KIND_FILE);
	CHECK_INT_EQ(harness_event(&h, 0)->xfer.path, IM_XFER_NONE);
	harness_clear_events(&h);
	line(&h, IM_DIR_IN, ":bob!b@h PRIVMSG tim2 :\x01"
			    "DCC SEND d.bin 0 5000 7\x01\r\n");
	CHECK_INT_EQ(harness_event(&h, 0)->xfer.path, IM_XFER_NONE);
	harness_free(&h);
}

int main(void)
{
	RUN_TEST(test_module_table);
	RUN_TEST(test_frame_lines);
	RUN_TEST(test_frame_long_lines);
	RUN_TEST(test_resync_after_gap);
	RUN_TEST(test_detect_positive);
	RUN_TEST(test_detect_negative);
	RUN_TEST(test_nick_and_login);
	RUN_TEST(test_nick_in_use);
	RUN_TEST(test_midstream_local);
	RUN_TEST(test_privmsg_outgoing);
	RUN_TEST(test_privmsg_incoming);
	RUN_TEST(test_notice);
	RUN_TEST(test_whitespace);
	RUN_TEST(test_command_case_and_tokens);
	RUN_TEST(test_ctcp);
	RUN_TEST(test_dcc);
	RUN_TEST(test_dcc_xfer);
	RUN_TEST(test_join_part_quit);
	RUN_TEST(test_starttls);
	RUN_TEST(test_strip_tls_cap);
	RUN_TEST(test_malformed);
	RUN_TEST(test_echo_message);
	RUN_TEST(test_encode_with_orig);
	RUN_TEST(test_encode_newline_injection);
	RUN_TEST(test_encode_fresh);
	RUN_TEST(test_encode_fresh_long_text);
	RUN_TEST(test_stream_basic);
	RUN_TEST(test_local_address);
	RUN_TEST(test_service);
	RUN_TEST(test_remote_address_not_decoded);
	RUN_TEST(test_encode_fresh_remote_address);
	RUN_TEST(test_local_receipt);
	TEST_MAIN_END();
}
