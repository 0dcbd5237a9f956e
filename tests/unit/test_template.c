/* The template module (daemon/src/proto/template/), registered only
 * here: the tests a new protocol's module copies along with it. Its
 * callbacks pass the registration check; detection, with the built-in
 * modules registered around it; login and messages both ways with their
 * text spans; a stream split at every byte; garbage, gaps and malformed
 * packets; encode with and without the original, each decoded again;
 * the local receipt. Everything goes through the app layer
 * (tests/unit/harness.h) except where one callback is the point. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "imwire/byteorder.h"
#include "proto/proto.h"
#include "proto/template/template.h"
#include "testlib.h"
#include "util/bytebuf.h"

#define TPL_FLOW &proto_template, 9, "192.0.2.30:41000"

/* A TPL packet: "TP", type, be16 length, peer, NUL, text (or the peer
 * alone for HELLO). */
static void packet(struct bytebuf *b, uint8_t type, const char *peer, const char *text)
{
	size_t body = strlen(peer) + (text ? 1 + strlen(text) : 0);
	uint8_t hdr[5] = { 'T', 'P', type, 0, 0 };

	imw_store_be16(hdr + 3, (uint16_t)body);
	CHECK(bytebuf_append(b, hdr, sizeof(hdr)));
	CHECK(bytebuf_append_str(b, peer));
	if (text)
		CHECK(bytebuf_append_byte(b, 0) && bytebuf_append_str(b, text));
}

static int send_packet(struct harness *h, enum im_dir dir, uint8_t type, const char *peer,
		       const char *text)
{
	struct bytebuf b;
	int rc;

	bytebuf_init(&b);
	packet(&b, type, peer, text);
	rc = harness_feed(h, dir, b.data, b.len);
	bytebuf_free(&b);
	return rc;
}

static void test_registration(void)
{
	char err[128] = "";

	CHECK_INT_EQ(proto_module_check(&proto_template, err, sizeof(err)), 0);
	CHECK_STR_EQ(proto_template.info->name, "template");
	CHECK_INT_EQ(proto_template.id, IMW_PROTO_NONE); /* no row in the table */
}

static void test_detect(void)
{
	const struct proto_module *m = &proto_template;

	CHECK_INT_EQ(m->detect((const uint8_t *)"TP\x01\x00\x05alice", 10, IM_DIR_OUT),
		     PROTO_DETECT_YES);
	CHECK_INT_EQ(m->detect((const uint8_t *)"TP\x03", 3, IM_DIR_IN), PROTO_DETECT_MAYBE);
	CHECK_INT_EQ(m->detect((const uint8_t *)"TP\x09\x00\x00", 5, IM_DIR_OUT), PROTO_DETECT_NO);
	CHECK_INT_EQ(m->detect((const uint8_t *)"TP\x02\xff\xff", 5, IM_DIR_OUT), PROTO_DETECT_NO);
	CHECK_INT_EQ(m->detect((const uint8_t *)"NICK alice\r\n", 12, IM_DIR_OUT), PROTO_DETECT_NO);
}

static void discard(void *arg, const struct im_event *ev)
{
	(void)arg;
	(void)ev;
}

/* Registered after the built-in modules (last in detection order), the
 * template gets its flows and leaves IRC's alone. */
static void test_detect_among_builtins(void)
{
	const struct proto_module *mods[16];
	struct app_config cfg;
	struct app_stats stats;
	struct app_context ctx = { &cfg, &stats, { NULL, discard, NULL, NULL, NULL } };
	struct app_flow *af;
	char err[128];
	size_t n, i;
	const struct proto_module *const *builtin = proto_modules(&n);

	for (i = 0; i < n; i++)
		mods[i] = builtin[i];
	mods[n] = &proto_template;
	app_config_defaults(&cfg);
	CHECK_INT_EQ(app_config_set_modules(&cfg, mods, n + 1, err, sizeof(err)), 0);
	cfg.enabled[IMW_PROTO_NONE] = true;
	memset(&stats, 0, sizeof(stats));
	af = app_flow_new(&ctx, 1, "192.0.2.30:41000", 40000);
	CHECK(af != NULL);
	if (!af)
		return;
	app_flow_data(af, IM_DIR_OUT, (const uint8_t *)"TP\x01\x00\x05", 5, 0, 1.0);
	CHECK_INT_EQ(af->state, APP_DECODING);
	CHECK(af->session.module == &proto_template);
	app_flow_free(af);
	af = app_flow_new(&ctx, 2, "192.0.2.30:41001", 40000);
	CHECK(af != NULL);
	if (!af)
		return;
	app_flow_data(af, IM_DIR_OUT, (const uint8_t *)"NICK alice\r\n", 12, 0, 1.0);
	CHECK(af->state == APP_DECODING && af->session.module->id == IMW_PROTO_IRC);
	app_flow_free(af);
}

static void test_login_and_messages(void)
{
	struct harness h;
	const struct im_event *ev;

	harness_init(&h, TPL_FLOW);
	CHECK_INT_EQ(send_packet(&h, IM_DIR_OUT, 1, "alice", NULL), 0);
	CHECK_STR_EQ(h.s->local_id, "alice");
	CHECK_INT_EQ(send_packet(&h, IM_DIR_OUT, 2, "bob", "hello bob"), 0);
	CHECK_INT_EQ(send_packet(&h, IM_DIR_IN, 4, "", NULL), 0);
	CHECK_INT_EQ(send_packet(&h, IM_DIR_IN, 3, "bob", "hi alice"), 0);
	CHECK_INT_EQ(h.c.n, 3);
	CHECK_INT_EQ(harness_event(&h, 0)->kind, IM_KIND_LOGIN);
	ev = harness_event(&h, 1);
	CHECK_INT_EQ(ev->kind, IM_KIND_MESSAGE);
	CHECK_INT_EQ(ev->dir, IM_DIR_OUT);
	CHECK_STR_EQ(ev->remote, "bob");
	CHECK_STR_EQ(ev->text, "hello bob");
	CHECK_STR_EQ(ev->local, "alice");
	CHECK_STR_EQ(ev->client, "192.0.2.30:41000");
	/* the span points at the text in the PDU */
	CHECK(ev->has_text_span && ev->text_len == 9);
	CHECK(h.dir[IM_DIR_OUT].last_len >= ev->text_offset + ev->text_len);
	CHECK_MEM_EQ(h.dir[IM_DIR_OUT].last_pdu + ev->text_offset, "hello bob", 9);
	ev = harness_event(&h, 2);
	CHECK_INT_EQ(ev->dir, IM_DIR_IN);
	CHECK_STR_EQ(ev->remote, "bob");
	CHECK_STR_EQ(ev->text, "hi alice");
	CHECK_INT_EQ(h.dir[0].decode_errors + h.dir[1].decode_errors, 0);
	harness_free(&h);
}

/* TCP may cut anywhere: every split gives the same events. */
static void test_split_at_every_byte(void)
{
	struct bytebuf b;
	struct harness h;
	size_t cut;

	bytebuf_init(&b);
	packet(&b, 1, "alice", NULL);
	packet(&b, 2, "bob", "one");
	packet(&b, 2, "carol", "two");
	for (cut = 1; cut < b.len; cut++) {
		harness_init(&h, TPL_FLOW);
		harness_feed(&h, IM_DIR_OUT, b.data, cut);
		harness_feed(&h, IM_DIR_OUT, b.data + cut, b.len - cut);
		CHECK_INT_EQ(h.c.n, 3);
		CHECK_STR_EQ(harness_event(&h, 2)->text, "two");
		CHECK_INT_EQ(harness_buffered(&h, IM_DIR_OUT), 0);
		harness_free(&h);
	}
	bytebuf_free(&b);
}

static void test_garbage_gap_malformed(void)
{
	struct harness h;

	harness_init(&h, TPL_FLOW);
	/* garbage: skipped up to the next plausible header */
	harness_feed_str(&h, IM_DIR_OUT, "junk junk");
	CHECK_INT_EQ(send_packet(&h, IM_DIR_OUT, 2, "bob", "after junk"), 0);
	CHECK(h.dir[IM_DIR_OUT].garbage >= 1);
	CHECK_INT_EQ(h.c.n, 1);
	/* a gap inside a packet: the rest of it is dropped, the next decodes */
	harness_feed(&h, IM_DIR_IN, "TP\x03\x00\x10" "bo", 7);
	harness_gap(&h, IM_DIR_IN, 4);
	harness_feed(&h, IM_DIR_IN, "xxxxxxxxxx", 10);
	CHECK_INT_EQ(send_packet(&h, IM_DIR_IN, 3, "bob", "after the gap"), 0);
	CHECK_INT_EQ(h.c.n, 2);
	CHECK_STR_EQ(harness_event(&h, 1)->text, "after the gap");
	/* malformed: counted, the session goes on */
	CHECK_INT_EQ(send_packet(&h, IM_DIR_IN, 2, "bob", "SEND from the server"), -1);
	CHECK_INT_EQ(harness_feed(&h, IM_DIR_OUT, "TP\x02\x00\x03" "bob", 8), -1); /* no NUL */
	CHECK_STR_EQ(h.s->last_error, "TPL message without a NUL after its peer");
	CHECK_INT_EQ(send_packet(&h, IM_DIR_OUT, 2, "bob", "still fine"), 0);
	CHECK_INT_EQ(h.c.n, 3);
	harness_free(&h);
}

/* A body longer than TPL's limit never frames. */
static void test_max_pdu(void)
{
	struct harness h;
	uint8_t hdr[5] = { 'T', 'P', 2, 0x10, 0x01 }; /* 4097 */

	harness_init(&h, TPL_FLOW);
	harness_feed(&h, IM_DIR_OUT, hdr, sizeof(hdr));
	CHECK(h.dir[IM_DIR_OUT].garbage >= 1);
	CHECK_INT_EQ(send_packet(&h, IM_DIR_OUT, 2, "bob", "next"), 0);
	CHECK_INT_EQ(h.c.n, 1);
	harness_free(&h);
}

/* Encode, then decode the result in a fresh flow: the new text, the same
 * peer. */
static void check_round_trip(const struct bytebuf *pdu, enum im_dir dir, const char *remote,
			     const char *text)
{
	struct harness h;

	harness_init(&h, TPL_FLOW);
	CHECK_INT_EQ(harness_feed(&h, dir, pdu->data, pdu->len), 0);
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_STR_EQ(harness_event(&h, 0)->remote, remote);
	CHECK_STR_EQ(harness_event(&h, 0)->text, text);
	harness_free(&h);
}

static void test_encode(void)
{
	struct harness h;
	struct bytebuf orig, out;
	struct im_event ev;

	harness_init(&h, TPL_FLOW);
	bytebuf_init(&orig);
	bytebuf_init(&out);
	packet(&orig, 2, "bob", "bad words");
	harness_feed(&h, IM_DIR_OUT, orig.data, orig.len);
	CHECK(h.c.n == 1 && event_copy(&ev, harness_event(&h, 0)));
	/* unchanged text: byte for byte */
	CHECK_INT_EQ(proto_template.encode(h.s, IM_DIR_OUT, &ev, orig.data, orig.len, &out), 0);
	CHECK(out.len == orig.len && memcmp(out.data, orig.data, orig.len) == 0);
	/* rewritten, longer: the length follows */
	bytebuf_clear(&out);
	CHECK(event_set_str(&ev.text, "kind and longer words"));
	CHECK_INT_EQ(proto_template.encode(h.s, IM_DIR_OUT, &ev, orig.data, orig.len, &out), 0);
	check_round_trip(&out, IM_DIR_OUT, "bob", "kind and longer words");
	/* built from the event alone, both ways */
	bytebuf_clear(&out);
	CHECK_INT_EQ(proto_template.encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), 0);
	check_round_trip(&out, IM_DIR_OUT, "bob", "kind and longer words");
	bytebuf_clear(&out);
	CHECK(event_set_str(&ev.remote, "carol"));
	CHECK_INT_EQ(proto_template.encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), 0);
	check_round_trip(&out, IM_DIR_IN, "carol", "kind and longer words");
	/* cannot: no remote, or not a message; nothing left half-written */
	bytebuf_clear(&out);
	CHECK(event_set_str(&ev.remote, ""));
	CHECK_INT_EQ(proto_template.encode(h.s, IM_DIR_IN, &ev, NULL, 0, &out), -1);
	ev.kind = IM_KIND_TYPING;
	CHECK_INT_EQ(proto_template.encode(h.s, IM_DIR_OUT, &ev, orig.data, orig.len, &out), -1);
	CHECK_INT_EQ(out.len, 0);
	event_free(&ev);
	bytebuf_free(&orig);
	bytebuf_free(&out);
	harness_free(&h);
}

static void test_local_receipt(void)
{
	static const uint8_t ok[] = { 'T', 'P', 4, 0, 0 };
	struct harness h;
	struct bytebuf orig, out;

	harness_init(&h, TPL_FLOW);
	bytebuf_init(&orig);
	bytebuf_init(&out);
	packet(&orig, 2, "bob", "deliver me");
	harness_feed(&h, IM_DIR_OUT, orig.data, orig.len);
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_INT_EQ(proto_template.local_receipt(h.s, harness_event(&h, 0), orig.data, orig.len,
						  &out),
		     1);
	CHECK(out.len == sizeof(ok) && memcmp(out.data, ok, sizeof(ok)) == 0);
	bytebuf_free(&orig);
	bytebuf_free(&out);
	harness_free(&h);
}

int main(void)
{
	RUN_TEST(test_registration);
	RUN_TEST(test_detect);
	RUN_TEST(test_detect_among_builtins);
	RUN_TEST(test_login_and_messages);
	RUN_TEST(test_split_at_every_byte);
	RUN_TEST(test_garbage_gap_malformed);
	RUN_TEST(test_max_pdu);
	RUN_TEST(test_encode);
	RUN_TEST(test_local_receipt);
	TEST_MAIN_END();
}
