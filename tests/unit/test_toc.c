/* TOC module: detection, FLAPON and FLAP framing, client commands with
 * quoting and escapes, server messages with colons in the text, rooms,
 * typing, file proposals, encode (byte-exact, rewritten, built) with
 * decode round trips, FLAP sequence renumbering and resync. */
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "proto/toc/toc.h"
#include "harness.h"
#include "proto/proto.h"
#include "testlib.h"
#include "util/bytebuf.h"

static const struct proto_module *M = &proto_toc;

/* Every test's flow: TOC from 192.0.2.20:40500. */
#define TOC_FLOW M, 5, "192.0.2.20:40500"

/* The FLAP sequence numbers feed_text puts on its frames, per direction
 * (for the one flow of a test that uses feed_text). */
static unsigned text_seq[2];

static void toc_start(struct harness *h)
{
	harness_init(h, TOC_FLOW);
	text_seq[0] = 100;
	text_seq[1] = 9000;
}

static void feed(struct harness *h, enum im_dir dir, const void *data, size_t len)
{
	harness_feed(h, dir, data, len);
}

static uint64_t garbage(const struct harness *h)
{
	return h->dir[0].garbage + h->dir[1].garbage;
}

static uint64_t errors(const struct harness *h)
{
	return h->dir[0].decode_errors + h->dir[1].decode_errors;
}

/* A channel-2 FLAP around text (client commands get their NUL). */
static void frame_text(struct bytebuf *out, unsigned seq, enum im_dir dir, const char *text)
{
	size_t n = strlen(text) + (dir == IM_DIR_OUT ? 1 : 0);
	uint8_t h[6] = { '*', 2, (uint8_t)(seq >> 8), (uint8_t)seq, (uint8_t)(n >> 8), (uint8_t)n };

	CHECK(bytebuf_append(out, h, sizeof(h)));
	CHECK(bytebuf_append(out, text, n));
}

static void feed_text(struct harness *h, enum im_dir dir, const char *text)
{
	struct bytebuf b;

	bytebuf_init(&b);
	frame_text(&b, text_seq[dir]++, dir, text);
	feed(h, dir, b.data, b.len);
	bytebuf_free(&b);
}

#define ev_at harness_event

static void test_detect_and_flapon(void)
{
	struct harness h;
	static const uint8_t signon[] = { '*', 1, 0, 100, 0, 13, 0, 0, 0, 1, 0, 1, 0, 5,
					  'a', 'l', 'i', 'c', 'e' };

	CHECK_INT_EQ(M->detect((const uint8_t *)"FLAPON\r\n\r\n", 10, IM_DIR_OUT), PROTO_DETECT_YES);
	CHECK_INT_EQ(M->detect((const uint8_t *)"FLAP", 4, IM_DIR_OUT), PROTO_DETECT_MAYBE);
	CHECK_INT_EQ(M->detect((const uint8_t *)"*\x02\x00\x01\x00\x0eIM_IN:bob:F:x", 20, IM_DIR_IN),
		     PROTO_DETECT_YES);
	CHECK_INT_EQ(M->detect((const uint8_t *)"*\x02\x00\x01\x00\x0ctoc_send_im ", 18, IM_DIR_OUT),
		     PROTO_DETECT_YES);
	/* OSCAR's binary SNACs are not TOC */
	CHECK_INT_EQ(M->detect((const uint8_t *)"*\x02\x00\x01\x00\x0a\x00\x04\x00\x06\0\0\0\0\0\0",
			       16, IM_DIR_OUT),
		     PROTO_DETECT_NO);
	CHECK_INT_EQ(M->detect((const uint8_t *)"NICK x\r\n", 8, IM_DIR_OUT), PROTO_DETECT_NO);

	toc_start(&h);
	feed(&h, IM_DIR_OUT, "FLAP", 4);
	feed(&h, IM_DIR_OUT, "ON\r\n\r\n", 6);
	feed(&h, IM_DIR_OUT, signon, sizeof(signon));
	CHECK_INT_EQ(errors(&h), 0);
	CHECK_INT_EQ(garbage(&h), 0);
	CHECK_STR_EQ(h.s->local_id, "alice");
	harness_free(&h);
}

static void test_commands_and_messages(void)
{
	struct harness h;

	toc_start(&h);
	feed_text(&h, IM_DIR_OUT, "toc_signon login.oscar.aol.com 5190 tocuser 0x1234 english \"TIC:x\"");
	CHECK_STR_EQ(h.s->local_id, "tocuser");
	feed_text(&h, IM_DIR_OUT, "toc_send_im bob \"a \\\"quoted\\\" \\$1 \\{x\\}\"");
	feed_text(&h, IM_DIR_OUT, "toc_send_im bob \"plain words\" auto");
	feed_text(&h, IM_DIR_IN, "IM_IN:bob:F:<b>hi:there</b>");
	feed_text(&h, IM_DIR_IN, "IM_IN2:bob:T:F:gone fishing");
	feed_text(&h, IM_DIR_IN, "CHAT_JOIN:77:Den");
	feed_text(&h, IM_DIR_IN, "CHAT_IN:77:eve:F:hello: all");
	feed_text(&h, IM_DIR_OUT, "toc_chat_send 77 \"back\"");
	feed_text(&h, IM_DIR_OUT, "toc_chat_send 78 \"unknown room\"");
	feed_text(&h, IM_DIR_IN, "CLIENT_EVENT2:bob:2");
	feed_text(&h, IM_DIR_IN, "CLIENT_EVENT2:bob:1");
	feed_text(&h, IM_DIR_IN, "UPDATE_BUDDY:bob:T:0:0:0: O");
	CHECK_INT_EQ(errors(&h), 0);
	CHECK_INT_EQ(h.c.n, 9);
	/* Buddies' presence: online, away (class " OU"), offline; the server's
	 * SIGN_ON is the login, once; a sign-off frame the logout. */
	feed_text(&h, IM_DIR_IN, "UPDATE_BUDDY:carl:T:0:0:5: OU");
	feed_text(&h, IM_DIR_IN, "UPDATE_BUDDY2:dora:F:0:0:0: O:0");
	feed_text(&h, IM_DIR_IN, "SIGN_ON:TOC1.0");
	feed_text(&h, IM_DIR_IN, "SIGN_ON:TOC1.0");
	CHECK_INT_EQ(h.c.n, 12);
	CHECK_INT_EQ(ev_at(&h, 8)->kind, IM_KIND_PRESENCE);
	CHECK_STR_EQ(ev_at(&h, 8)->remote, "bob");
	CHECK_STR_EQ(ev_at(&h, 8)->text, "online");
	CHECK_STR_EQ(ev_at(&h, 9)->text, "away");
	CHECK_STR_EQ(ev_at(&h, 10)->remote, "dora");
	CHECK_STR_EQ(ev_at(&h, 10)->text, "offline");
	CHECK_INT_EQ(ev_at(&h, 11)->kind, IM_KIND_LOGIN);
	CHECK_STR_EQ(ev_at(&h, 0)->text, "a \"quoted\" $1 {x}");
	CHECK_STR_EQ(ev_at(&h, 0)->remote, "bob");
	CHECK(!ev_at(&h, 0)->has_text_span); /* escapes: the raw bytes differ */
	CHECK_STR_EQ(ev_at(&h, 1)->text, "plain words");
	CHECK(ev_at(&h, 1)->auto_response);
	CHECK(ev_at(&h, 1)->has_text_span);
	CHECK_INT_EQ(ev_at(&h, 1)->text_len, 11);
	CHECK_STR_EQ(ev_at(&h, 2)->text, "<b>hi:there</b>");
	CHECK_STR_EQ(ev_at(&h, 2)->content_type, "text/html");
	CHECK_INT_EQ(ev_at(&h, 2)->dir, IM_DIR_IN);
	CHECK_STR_EQ(ev_at(&h, 3)->text, "gone fishing");
	CHECK(ev_at(&h, 3)->auto_response);
	CHECK_STR_EQ(ev_at(&h, 4)->remote, "Den");
	CHECK(ev_at(&h, 4)->group);
	CHECK_STR_EQ(ev_at(&h, 4)->text, "eve: hello: all");
	CHECK_STR_EQ(ev_at(&h, 5)->remote, "Den");
	CHECK_INT_EQ(ev_at(&h, 5)->dir, IM_DIR_OUT);
	CHECK_STR_EQ(ev_at(&h, 6)->remote, "78");
	CHECK_INT_EQ(ev_at(&h, 7)->kind, IM_KIND_TYPING);
	CHECK_STR_EQ(ev_at(&h, 7)->local, "tocuser");
	harness_free(&h);
}

static void test_malformed_and_resync(void)
{
	struct harness h;
	struct bytebuf b;

	toc_start(&h);
	bytebuf_init(&b);
	feed_text(&h, IM_DIR_IN, "IM_IN:bob");
	CHECK_INT_EQ(errors(&h), 1);
	/* noise with '*' between two messages */
	CHECK(bytebuf_append(&b, "**\x02\x01zz*\x05\x00\x00\x10\x00", 12));
	frame_text(&b, 5, IM_DIR_IN, "IM_IN:bob:F:after noise");
	feed(&h, IM_DIR_IN, b.data, b.len);
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_STR_EQ(ev_at(&h, 0)->text, "after noise");
	CHECK(garbage(&h) >= 1);
	/* a NUL inside a server frame is malformed, not truncation */
	bytebuf_clear(&b);
	frame_text(&b, 6, IM_DIR_IN, "IM_IN:bob:F:abc");
	b.data[6 + 12] = '\0';
	feed(&h, IM_DIR_IN, b.data, b.len);
	CHECK_INT_EQ(errors(&h), 2);
	CHECK_INT_EQ(h.c.n, 1);
	bytebuf_free(&b);
	harness_free(&h);
}

static void test_encode(void)
{
	struct harness h, h2;
	struct bytebuf orig, out;
	struct im_event ev;

	toc_start(&h);
	bytebuf_init(&orig);
	bytebuf_init(&out);
	frame_text(&orig, 300, IM_DIR_OUT, "toc_send_im bob \"hello \\$world\" auto");
	feed(&h, IM_DIR_OUT, orig.data, orig.len);
	CHECK_INT_EQ(h.c.n, 1);
	/* unchanged: byte for byte */
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_OUT, ev_at(&h, 0), orig.data, orig.len, &out), 0);
	CHECK_INT_EQ(out.len, orig.len);
	CHECK_MEM_EQ(out.data, orig.data, orig.len);
	/* a word overwritten in place: the escape before it and the length kept */
	bytebuf_clear(&out);
	CHECK(event_copy(&ev, ev_at(&h, 0)));
	CHECK(event_set_str(&ev.text, "hello $*****"));
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_OUT, &ev, orig.data, orig.len, &out), 0);
	CHECK_INT_EQ(out.len, orig.len);
	CHECK(out.len == orig.len &&
	      memcmp(out.data + 6, "toc_send_im bob \"hello \\$*****\" auto", 37) == 0);
	event_free(&ev);
	/* rewritten: escaped, "auto" and the NUL kept, length recomputed */
	bytebuf_clear(&out);
	CHECK(event_copy(&ev, ev_at(&h, 0)));
	CHECK(event_set_str(&ev.text, "costs $5 (\"cheap\")"));
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_OUT, &ev, orig.data, orig.len, &out), 0);
	CHECK_INT_EQ(imw_load_be16(out.data + 2), 300);
	CHECK_INT_EQ(imw_load_be16(out.data + 4), out.len - 6);
	CHECK(out.len > 6 &&
	      memcmp(out.data + 6, "toc_send_im bob \"costs \\$5 \\(\\\"cheap\\\"\\)\" auto", 45) == 0);
	CHECK_INT_EQ(out.data[out.len - 1], 0);
	harness_init(&h2, TOC_FLOW);
	feed(&h2, IM_DIR_OUT, out.data, out.len);
	CHECK_STR_EQ(ev_at(&h2, 0)->text, "costs $5 (\"cheap\")");
	CHECK(ev_at(&h2, 0)->auto_response);
	harness_free(&h2);
	event_free(&ev);

	/* incoming: IM_IN2 rewritten keeps its fields */
	bytebuf_clear(&orig);
	bytebuf_clear(&out);
	frame_text(&orig, 9000, IM_DIR_IN, "IM_IN2:bob:F:F:old: text");
	feed(&h, IM_DIR_IN, orig.data, orig.len);
	CHECK(event_copy(&ev, ev_at(&h, 1)));
	CHECK(event_set_str(&ev.text, "new"));
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_IN, &ev, orig.data, orig.len, &out), 0);
	CHECK_INT_EQ(out.len, 6 + strlen("IM_IN2:bob:F:F:new"));
	CHECK(memcmp(out.data + 6, "IM_IN2:bob:F:F:new", 18) == 0);
	event_free(&ev);

	/* built from the event alone, both directions, round trip */
	bytebuf_clear(&out);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	CHECK(event_set_str(&ev.remote, "carl"));
	CHECK(event_set_str(&ev.text, "built {text} \\ ok"));
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), 0);
	CHECK_INT_EQ(imw_load_be16(out.data + 2), 301);
	harness_init(&h2, TOC_FLOW);
	feed(&h2, IM_DIR_OUT, out.data, out.len);
	CHECK_STR_EQ(ev_at(&h2, 0)->text, "built {text} \\ ok");
	CHECK_STR_EQ(ev_at(&h2, 0)->remote, "carl");
	harness_free(&h2);
	bytebuf_clear(&out);
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	CHECK_INT_EQ(imw_load_be16(out.data + 2), 9001);
	harness_init(&h2, TOC_FLOW);
	feed(&h2, IM_DIR_IN, out.data, out.len);
	CHECK_STR_EQ(ev_at(&h2, 0)->text, "built {text} \\ ok");
	CHECK_INT_EQ(ev_at(&h2, 0)->dir, IM_DIR_IN);
	harness_free(&h2);
	/* a remote with a colon cannot be written into IM_IN */
	bytebuf_clear(&out);
	CHECK(event_set_str(&ev.remote, "a:b"));
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), -1);
	CHECK_INT_EQ(out.len, 0);
	event_free(&ev);
	bytebuf_free(&orig);
	bytebuf_free(&out);
	harness_free(&h);
}

/* A notice is an IM of the conversation, in the buddy's name towards the
 * client: its text, marked by response_prefix/postfix (the defaults when
 * none is configured), shows that imwire wrote it (proto/notice.h). */
static void test_notice_marked(void)
{
	struct harness h, h2;
	struct bytebuf out, want;
	struct im_event ev;

	toc_start(&h);
	bytebuf_init(&out);
	bytebuf_init(&want);
	feed_text(&h, IM_DIR_IN, "IM_IN:bob:F:hi");
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	ev.notice = true;
	CHECK(event_set_str(&ev.remote, "bob") &&
	      event_set_str(&ev.text, "This conversation is logged."));
	/* The receiver's bytes, whole: the next server FLAP. */
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	frame_text(&want, 9001, IM_DIR_IN,
		   "IM_IN:bob:F:Message from imwire: -=This conversation is logged.=-");
	CHECK_INT_EQ(out.len, want.len);
	CHECK_MEM_EQ(out.data, want.data, want.len);
	/* A configured mark, towards the remote (in the local user's name). */
	CHECK(event_set_str(&ev.notice_prefix, "[imwire] ") && event_set_str(&ev.notice_postfix, ""));
	bytebuf_clear(&out);
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), 0);
	harness_init(&h2, TOC_FLOW);
	feed(&h2, IM_DIR_OUT, out.data, out.len);
	CHECK_STR_EQ(ev_at(&h2, 0)->remote, "bob");
	CHECK_STR_EQ(ev_at(&h2, 0)->text, "[imwire] This conversation is logged.");
	harness_free(&h2);
	/* Marked already (the responder's): not twice. */
	CHECK(event_set_str(&ev.text, "[imwire] Blocked by policy: x"));
	bytebuf_clear(&out);
	bytebuf_clear(&want);
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	frame_text(&want, 9001, IM_DIR_IN, "IM_IN:bob:F:[imwire] Blocked by policy: x");
	CHECK_INT_EQ(out.len, want.len);
	CHECK_MEM_EQ(out.data, want.data, want.len);
	event_free(&ev);
	bytebuf_free(&out);
	bytebuf_free(&want);
	harness_free(&h);
}

static void test_sequence_renumbering(void)
{
	struct harness h;
	struct bytebuf b;

	toc_start(&h);
	bytebuf_init(&b);
	frame_text(&b, 0xFFFF, IM_DIR_OUT, "toc_send_im bob \"x\"");
	feed(&h, IM_DIR_OUT, b.data, b.len);
	M->pdu_count_changed(h.s, IM_DIR_OUT, 1);
	bytebuf_clear(&b);
	frame_text(&b, 0x0000, IM_DIR_OUT, "toc_send_im bob \"y\"");
	CHECK(M->fixup_pdu(h.s, IM_DIR_OUT, b.data, b.len));
	CHECK_INT_EQ(imw_load_be16(b.data + 2), 1);
	bytebuf_clear(&b);
	frame_text(&b, 50, IM_DIR_IN, "IM_IN:bob:F:z");
	CHECK(!M->fixup_pdu(h.s, IM_DIR_IN, b.data, b.len));
	CHECK_INT_EQ(imw_load_be16(b.data + 2), 50);
	M->pdu_count_changed(h.s, IM_DIR_IN, -1);
	CHECK(M->fixup_pdu(h.s, IM_DIR_IN, b.data, b.len));
	CHECK_INT_EQ(imw_load_be16(b.data + 2), 49);
	bytebuf_free(&b);
	harness_free(&h);
}

static void test_file_proposal(void)
{
	struct harness h;

	toc_start(&h);
	/* TLV 10001: kind 1, count 1, size 4096, "photo.jpg" */
	feed_text(&h, IM_DIR_IN,
		  "RVOUS_PROPOSE:bob:09461343-4C7F-11D1-8222-444553540000:ODAwMDAwMDE=:1:"
		  "10.0.0.1:10.0.0.1:0.0.0.0:5190:10001:AAEAAQAAEABwaG90by5qcGcA");
	feed_text(&h, IM_DIR_IN,
		  "RVOUS_PROPOSE:bob:748F2420-6287-11D1-8222-444553540000:ODAwMDAwMDE=:1:"
		  "10.0.0.1:10.0.0.1:0.0.0.0:5190");
	CHECK_INT_EQ(errors(&h), 0);
	CHECK_INT_EQ(h.c.n, 2);
	CHECK_INT_EQ(ev_at(&h, 0)->kind, IM_KIND_FILE);
	CHECK_STR_EQ(ev_at(&h, 0)->file_name, "photo.jpg");
	CHECK_INT_EQ(ev_at(&h, 0)->file_size, 4096);
	CHECK_STR_EQ(ev_at(&h, 0)->remote, "bob");
	CHECK_INT_EQ(ev_at(&h, 1)->kind, IM_KIND_RENDEZVOUS);
	CHECK_STR_EQ(ev_at(&h, 1)->text, "748F2420-6287-11D1-8222-444553540000");
	harness_free(&h);
}

int main(void)
{
	RUN_TEST(test_detect_and_flapon);
	RUN_TEST(test_commands_and_messages);
	RUN_TEST(test_malformed_and_resync);
	RUN_TEST(test_encode);
	RUN_TEST(test_notice_marked);
	RUN_TEST(test_sequence_renumbering);
	RUN_TEST(test_file_proposal);
	TEST_MAIN_END();
}
