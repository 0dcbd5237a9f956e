/* The app layer (daemon/src/app/) on its own: detection order and its
 * tie-breaks, giving up on flows that are not IM, resync after a gap and
 * after garbage, the max_pdu bound and framer bugs, opaque directions and
 * memory pressure. Real modules where their behaviour is the point, a toy
 * line module (registered like any other) where app.c's own rules are. */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "proto/irc/irc.h"
#include "proto/msn/msn.h"
#include "proto/proto.h"
#include "testlib.h"

#define MAX_EVENTS 16

struct collector {
	struct im_event ev[MAX_EVENTS];
	size_t n;
};

static void collect(void *arg, const struct im_event *ev)
{
	struct collector *c = arg;

	if (c->n < MAX_EVENTS && event_copy(&c->ev[c->n], ev))
		c->n++;
}

static void collector_free(struct collector *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		event_free(&c->ev[i]);
	c->n = 0;
}

/* ---- a toy module: "L:" lines, at most TOY_MAX_PDU bytes ---- */

#define TOY_MAX_PDU 16u

/* What the toy's framer does, so that a test can make it misbehave. */
static enum { TOY_HONEST, TOY_ZERO_LEN, TOY_OVERRUN } toy_framer = TOY_HONEST;

static enum proto_detect toy_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	(void)dir;
	if (len < 2)
		return PROTO_DETECT_MAYBE;
	return data[0] == 'L' && data[1] == ':' ? PROTO_DETECT_YES : PROTO_DETECT_NO;
}

/* A line; NEED_MORE however long it gets (app.c enforces max_pdu). */
static enum proto_frame toy_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
				  size_t len, size_t *pdu_len)
{
	const uint8_t *nl = memchr(data, '\n', len);

	(void)s;
	(void)dir;
	if (!nl)
		return PROTO_FRAME_NEED_MORE;
	if (data[0] != 'L')
		return PROTO_FRAME_GARBAGE;
	*pdu_len = toy_framer == TOY_ZERO_LEN  ? 0
		   : toy_framer == TOY_OVERRUN ? len + 1
					       : (size_t)(nl - data) + 1;
	return PROTO_FRAME_PDU;
}

/* "L:text\n" is a message; "L:tls\n" makes both directions opaque. */
static int toy_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct im_event ev;

	if (len < 3 || pdu[1] != ':')
		return proto_session_malformed(s, "not a toy line");
	if (len == 6 && memcmp(pdu, "L:tls\n", 6) == 0) {
		s->opaque[IM_DIR_OUT] = s->opaque[IM_DIR_IN] = true;
		return 0;
	}
	proto_event_begin(s, &ev, dir, IM_KIND_MESSAGE);
	if (!event_set(&ev.text, (const char *)pdu + 2, len - 3)) {
		event_free(&ev);
		return proto_session_malformed(s, "out of memory");
	}
	proto_event_emit(s, &ev);
	return 0;
}

/* The next line start. */
static size_t toy_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	size_t i;

	(void)s;
	(void)dir;
	for (i = 0; i + 1 < len; i++)
		if (data[i] == 'L' && data[i + 1] == ':')
			return i;
	return len;
}

static const uint16_t toy_ports[] = { 4444 };
static const struct proto_info toy_info = {
	.id = IMW_PROTO_NONE, .name = "toy", .imspector = "TOY", .config_key = "",
	.also = "", .ports = toy_ports, .n_ports = 1,
};
static const struct proto_module toy = {
	.id = IMW_PROTO_NONE, .info = &toy_info, .max_pdu = TOY_MAX_PDU,
	.detect = toy_detect, .frame = toy_frame, .decode = toy_decode, .resync = toy_resync,
};

/* ---- a flow ---- */

struct flow {
	struct app_config cfg;
	struct app_stats stats;
	struct app_context ctx;
	struct app_flow *af;
	struct collector c;
	uint64_t offset[2];
};

/* A flow with the built-in modules (mods NULL) or mods, to server_port. */
static void flow_open(struct flow *f, const struct proto_module *const *mods, size_t n,
		      uint16_t server_port)
{
	char err[128];

	memset(f, 0, sizeof(*f));
	app_config_defaults(&f->cfg);
	if (mods) {
		CHECK_INT_EQ(app_config_set_modules(&f->cfg, mods, n, err, sizeof(err)), 0);
		f->cfg.enabled[IMW_PROTO_NONE] = true; /* the toy has no row */
	}
	f->ctx = (struct app_context){ &f->cfg, &f->stats, { NULL, collect, &f->c, NULL, NULL } };
	f->af = app_flow_new(&f->ctx, 1, "192.0.2.1:40000", server_port);
	CHECK(f->af != NULL);
	if (!f->af)
		exit(2);
}

static void flow_close(struct flow *f)
{
	app_flow_free(f->af);
	collector_free(&f->c);
}

static void put(struct flow *f, enum im_dir dir, const char *s)
{
	size_t len = strlen(s);

	app_flow_data(f->af, dir, (const uint8_t *)s, len, f->offset[dir], 1.0);
	f->offset[dir] += len;
}

static void lose(struct flow *f, enum im_dir dir, uint64_t len)
{
	app_flow_gap(f->af, dir, f->offset[dir], len);
	f->offset[dir] += len;
}

static const struct proto_module *module_of(const struct flow *f)
{
	return f->af->state == APP_DECODING ? f->af->session.module : NULL;
}

/* ---- detection ---- */

/* "VER 1 MSNP8 CVR0" passes both MSN's check and IRC's loose one: the
 * module asked first wins, and that is the table's order. */
static void test_detection_order(void)
{
	const struct proto_module *irc_first[] = { &proto_irc, &proto_msn };
	struct flow f;

	flow_open(&f, NULL, 0, 40001);
	put(&f, IM_DIR_OUT, "VER 1 MSNP8 CVR0\r\n");
	CHECK(module_of(&f) == &proto_msn);
	CHECK_INT_EQ(f.stats.sessions[IMW_PROTO_MSN], 1);
	flow_close(&f);

	flow_open(&f, irc_first, 2, 40001);
	put(&f, IM_DIR_OUT, "VER 1 MSNP8 CVR0\r\n");
	CHECK(module_of(&f) == &proto_irc);
	flow_close(&f);
}

/* A well-known server port breaks the tie before the order does. */
static void test_detection_port_hint(void)
{
	struct flow f;

	flow_open(&f, NULL, 0, 6667);
	put(&f, IM_DIR_OUT, "VER 1 MSNP8 CVR0\r\n");
	CHECK(module_of(&f) == &proto_irc);
	flow_close(&f);

	flow_open(&f, NULL, 0, 1863);
	put(&f, IM_DIR_OUT, "VER 1 MSNP8 CVR0\r\n");
	CHECK(module_of(&f) == &proto_msn);
	flow_close(&f);
}

/* A switched-off protocol is never asked. */
static void test_detection_disabled(void)
{
	struct flow f;

	flow_open(&f, NULL, 0, 40001);
	f.cfg.enabled[IMW_PROTO_MSN] = false;
	put(&f, IM_DIR_OUT, "VER 1 MSNP8 CVR0\r\n");
	CHECK(module_of(&f) == &proto_irc);
	flow_close(&f);
}

/* Not IM: both directions said no, or one said no with 512 bytes while
 * the other stayed silent; a MAYBE waits for more bytes. */
static void test_detection_gives_up(void)
{
	const struct proto_module *mods[] = { &toy };
	char junk[600];
	struct flow f;

	flow_open(&f, mods, 1, 40001);
	put(&f, IM_DIR_OUT, "L");
	CHECK_INT_EQ(f.af->state, APP_DETECTING); /* one byte: maybe */
	put(&f, IM_DIR_OUT, "X");
	CHECK_INT_EQ(f.af->state, APP_DETECTING); /* the server may still speak */
	put(&f, IM_DIR_IN, "HTTP/1.1 200 OK\r\n");
	CHECK_INT_EQ(f.af->state, APP_IGNORED);
	CHECK_INT_EQ(f.stats.flows_ignored, 1);
	CHECK(app_flow_done(f.af));
	flow_close(&f);

	memset(junk, 'x', sizeof(junk) - 1);
	junk[sizeof(junk) - 1] = '\0';
	flow_open(&f, mods, 1, 40001);
	put(&f, IM_DIR_IN, junk);
	CHECK_INT_EQ(f.af->state, APP_IGNORED);
	flow_close(&f);
}

/* Registering a module checks it; the registry's modules pass. */
static void test_registration_checks(void)
{
	struct proto_module broken = toy;
	const struct proto_module *mods[] = { &broken };
	struct app_config cfg;
	char err[128] = "";

	broken.frame = NULL;
	app_config_defaults(&cfg);
	CHECK_INT_EQ(app_config_set_modules(&cfg, mods, 1, err, sizeof(err)), -1);
	CHECK_STR_EQ(err, "module toy: detect, frame, decode and resync are all required");
	CHECK_INT_EQ(proto_registry_check(err, sizeof(err)), 0);
}

/* ---- resync ---- */

/* A hole in the middle of a line: the partial line before it is
 * dropped, the module's resync finds the next line, nothing after the
 * hole is lost. */
static void test_resync_after_gap(void)
{
	struct flow f;

	flow_open(&f, NULL, 0, 6667);
	put(&f, IM_DIR_OUT, "NICK alice\r\nPRIVMSG #a :one\r\nPRIVMSG #a :tw");
	CHECK_INT_EQ(f.c.n, 1);
	lose(&f, IM_DIR_OUT, 100);
	CHECK_INT_EQ(f.stats.gap_resyncs, 1);
	put(&f, IM_DIR_OUT, "e lost\r\nPRIVMSG #a :three\r\n");
	CHECK_INT_EQ(f.c.n, 2);
	if (f.c.n == 2) {
		CHECK_STR_EQ(f.c.ev[0].text, "one");
		CHECK_STR_EQ(f.c.ev[1].text, "three");
		/* offsets stay in stream space across the hole */
		CHECK_INT_EQ(f.c.ev[1].pdu_offset, 43 + 100 + 8);
	}
	CHECK_INT_EQ(f.stats.bytes_skipped, 14 + 8); /* "PRIVMSG #a :tw", "e lost\r\n" */
	flow_close(&f);
}

/* Bytes no framing accepts: skipped one at a time at least, then the
 * module's resync; the next good PDU decodes. */
static void test_resync_after_garbage(void)
{
	const struct proto_module *mods[] = { &toy };
	struct flow f;

	flow_open(&f, mods, 1, 4444);
	put(&f, IM_DIR_OUT, "L:one\nXYZ junk\nL:two\n");
	CHECK_INT_EQ(f.c.n, 2);
	CHECK_INT_EQ(f.stats.garbage_resyncs, 1);
	CHECK_INT_EQ(f.stats.bytes_skipped, 9);
	CHECK_INT_EQ(f.stats.pdus, 2);
	flow_close(&f);
}

/* ---- the max_pdu bound and framer bugs ---- */

/* A PDU still incomplete past max_pdu is garbage, even though the
 * module's framer would wait forever. */
static void test_max_pdu(void)
{
	const struct proto_module *mods[] = { &toy };
	uint64_t start;
	struct flow f;

	flow_open(&f, mods, 1, 4444);
	put(&f, IM_DIR_OUT, "L:0123456789abc"); /* 15 bytes: may still end */
	CHECK_INT_EQ(f.stats.garbage_resyncs, 0);
	CHECK(app_flow_partial_pdu(f.af, IM_DIR_OUT, &start));
	CHECK_INT_EQ(start, 0);
	put(&f, IM_DIR_OUT, "de"); /* 17 > TOY_MAX_PDU */
	CHECK_INT_EQ(f.stats.garbage_resyncs, 1);
	CHECK(!app_flow_partial_pdu(f.af, IM_DIR_OUT, &start));
	put(&f, IM_DIR_OUT, "f\nL:ok\n");
	CHECK_INT_EQ(f.c.n, 1);
	if (f.c.n == 1)
		CHECK_STR_EQ(f.c.ev[0].text, "ok");
	/* exactly max_pdu is still a PDU */
	put(&f, IM_DIR_OUT, "L:0123456789abc\n");
	CHECK_INT_EQ(f.c.n, 2);
	flow_close(&f);
}

/* A framer that claims a PDU of 0 bytes or past the buffer is treated
 * as garbage: no stall, no overrun. */
static void test_framer_bugs(void)
{
	const struct proto_module *mods[] = { &toy };
	struct flow f;

	toy_framer = TOY_ZERO_LEN;
	flow_open(&f, mods, 1, 4444);
	put(&f, IM_DIR_OUT, "L:a\nL:b\n");
	CHECK_INT_EQ(f.c.n, 0);
	CHECK(f.stats.garbage_resyncs >= 1);
	flow_close(&f);
	toy_framer = TOY_OVERRUN;
	flow_open(&f, mods, 1, 4444);
	put(&f, IM_DIR_OUT, "L:a\nL:b\n");
	CHECK_INT_EQ(f.c.n, 0);
	CHECK(f.stats.garbage_resyncs >= 1);
	flow_close(&f);
	toy_framer = TOY_HONEST;
}

/* ---- opaque directions and memory pressure ---- */

static void test_opaque(void)
{
	const struct proto_module *mods[] = { &toy };
	struct flow f;

	flow_open(&f, mods, 1, 4444);
	put(&f, IM_DIR_OUT, "L:tls\nL:not seen\n");
	CHECK_INT_EQ(f.c.n, 0);
	CHECK_INT_EQ(f.stats.bytes_opaque, 11);
	put(&f, IM_DIR_IN, "L:nor this\n");
	CHECK_INT_EQ(f.stats.bytes_opaque, 22);
	CHECK(app_flow_done(f.af));
	flow_close(&f);
}

static void test_shed(void)
{
	const struct proto_module *mods[] = { &toy };
	struct flow f;

	flow_open(&f, mods, 1, 4444);
	put(&f, IM_DIR_OUT, "L:half a li");
	CHECK(app_flow_buffered(f.af) > 0);
	app_flow_shed(f.af);
	CHECK_INT_EQ(app_flow_buffered(f.af), 0);
	CHECK_INT_EQ(f.stats.shed_flows, 1);
	put(&f, IM_DIR_OUT, "ne\nL:next\n");
	CHECK_INT_EQ(f.c.n, 1);
	if (f.c.n == 1)
		CHECK_STR_EQ(f.c.ev[0].text, "next");
	flow_close(&f);

	/* still detecting: the flow is given up */
	flow_open(&f, mods, 1, 4444);
	put(&f, IM_DIR_OUT, "L");
	app_flow_shed(f.af);
	CHECK_INT_EQ(f.af->state, APP_IGNORED);
	flow_close(&f);
}

int main(void)
{
	RUN_TEST(test_detection_order);
	RUN_TEST(test_detection_port_hint);
	RUN_TEST(test_detection_disabled);
	RUN_TEST(test_detection_gives_up);
	RUN_TEST(test_registration_checks);
	RUN_TEST(test_resync_after_gap);
	RUN_TEST(test_resync_after_garbage);
	RUN_TEST(test_max_pdu);
	RUN_TEST(test_framer_bugs);
	RUN_TEST(test_opaque);
	RUN_TEST(test_shed);
	TEST_MAIN_END();
}
