/* A file's end held inline until it is judged (#20, scan_hold=on): the
 * inline engine with a file stage and a stand-in clamd. An IRC session
 * offers a DCC SEND; on its data connection the segments before the last
 * go on at once, the last waits without a verdict while the scanner
 * works; clean lets it go, infected drops it, resets both ends and tells
 * the user of the IRC session; silence past scan_timeout_ms leaves it to
 * scan_fail; the bytes held for verdicts stay within
 * scan_hold_max_bytes, past which scan_fail decides at once. */
#include <bpf/bpf.h>
#include <string.h>
#include <unistd.h>

#include "fake_clamd.h"
#include "files/files.h"
#include "imwire/byteorder.h"
#include "imwire/bpf_maps.h"
#include "inline/bpf_publish.h"
#include "inline/engine.h"
#include "packet/packet.h"
#include "test_packet.h"
#include "testlib.h"

#define IRC_PORT 6667
#define DCC_PORT 5000
#define SEG 1000

struct verdict_seen {
	uint32_t id;
	enum verdict_kind kind;
};

struct bench {
	struct fake_clamd clamd;
	struct files_shared *sh;
	struct files *fs;
	struct engine e;
	struct engine_outq q;
	uint32_t next_id;
	double now;
	struct verdict_seen seen[256];
	size_t n_seen;
	size_t resets;       /* our own RST segments */
	size_t notices;      /* our own segments with payload (the notice) */
	char notice[512];
	int file_results;
	enum im_file_state last_state;
	enum im_scan last_scan;
	uint32_t seq[2][16]; /* per port slot: next seq client [0] and server [1] */
};

static void on_log(void *arg, const struct im_event *ev)
{
	struct bench *b = arg;

	if (ev->kind == IM_KIND_FILE && ev->file.state != IM_FILE_OFFERED) {
		b->file_results++;
		b->last_state = ev->file.state;
		b->last_scan = ev->file.scan;
	}
}

static void collect(struct bench *b)
{
	size_t i;

	for (i = 0; i < b->q.n && b->n_seen < 256; i++) {
		b->seen[b->n_seen].id = b->q.v[i].id;
		b->seen[b->n_seen].kind = b->q.v[i].kind;
		b->n_seen++;
	}
	for (i = 0; i < b->q.n_orig; i++) {
		const uint8_t *ip = b->q.bytes.data + b->q.orig[i].offset;
		size_t ihl = (size_t)(ip[0] & 15) * 4, doff = (size_t)(ip[ihl + 12] >> 4) * 4;
		size_t total = imw_load_be16(ip + 2);

		if (ip[ihl + 13] & TCP_FLAG_RST)
			b->resets++;
		else if (total > ihl + doff) {
			b->notices++;
			snprintf(b->notice, sizeof(b->notice), "%.*s", (int)(total - ihl - doff),
				 (const char *)ip + ihl + doff);
		}
	}
	engine_outq_clear(&b->q);
}

static enum verdict_kind verdict_of(const struct bench *b, uint32_t id, bool *found)
{
	size_t i;

	for (i = 0; i < b->n_seen; i++) {
		if (b->seen[i].id == id) {
			*found = true;
			return b->seen[i].kind;
		}
	}
	*found = false;
	return VERDICT_DROP;
}

/* One segment between 10.0.0.1:cport (the client) and 10.0.0.2:sport. */
static uint32_t segment(struct bench *b, bool from_client, uint16_t cport, uint16_t sport,
			unsigned slot, uint8_t flags, const void *data, size_t len)
{
	struct engine_packet_link link = { .outdev = 2, .physoutdev = from_client ? 3 : 4 };
	uint8_t p[2048];
	uint32_t id = ++b->next_id;
	uint32_t *mine = &b->seq[from_client ? 0 : 1][slot], *theirs = &b->seq[from_client ? 1 : 0][slot];
	struct test_tcp4 t = {
		.src = from_client ? 1 : 2, .dst = from_client ? 2 : 1,
		.sport = from_client ? cport : sport, .dport = from_client ? sport : cport,
		.seq = *mine, .ack = *theirs, .flags = flags, .payload = data, .payload_len = len,
	};
	size_t n;

	link.has_mac = true;
	memset(link.src_mac, from_client ? 0x11 : 0x22, 6);
	if (!(flags & TCP_FLAG_ACK))
		t.ack = 0;
	n = test_tcp4_build(p, &t);
	*mine += (uint32_t)len + ((flags & (TCP_FLAG_SYN | TCP_FLAG_FIN)) ? 1 : 0);
	engine_packet_with_link(&b->e, id, p, n, false, &link, b->now, &b->q);
	b->now += 0.001;
	collect(b);
	return id;
}

static void handshake(struct bench *b, uint16_t cport, uint16_t sport, unsigned slot)
{
	b->seq[0][slot] = 1000 + slot * 100000;
	b->seq[1][slot] = 5000000 + slot * 100000;
	segment(b, true, cport, sport, slot, TCP_FLAG_SYN, NULL, 0);
	segment(b, false, cport, sport, slot, TCP_FLAG_SYN | TCP_FLAG_ACK, NULL, 0);
	segment(b, true, cport, sport, slot, TCP_FLAG_ACK, NULL, 0);
}

/* max_held_bytes: the engine's bound per direction (0: its default). */
static bool bench_init_bound(struct bench *b, enum fake_mode mode, bool fail_open,
			     uint64_t budget, unsigned timeout_ms, size_t max_held_bytes)
{
	struct files_config fc;
	struct engine_config ec;
	char err[256];

	memset(b, 0, sizeof(*b));
	b->now = 1000.0;
	if (!fake_clamd_start(&b->clamd, mode))
		return false;
	files_config_defaults(&fc);
	fc.clamd_socket = b->clamd.path;
	fc.scan_hold = true;
	fc.scan_fail_open = fail_open;
	fc.hold_max_bytes = budget;
	fc.scan_timeout_ms = timeout_ms;
	b->sh = files_shared_new(&fc, err, sizeof(err));
	b->fs = b->sh ? files_new(b->sh, on_log, b, err, sizeof(err)) : NULL;
	if (!b->fs)
		return false;
	engine_config_defaults(&ec);
	ec.flow.files = b->fs;
	if (max_held_bytes)
		ec.max_held_bytes = max_held_bytes;
	engine_outq_init(&b->q);
	return engine_init(&b->e, &ec, on_log, b) == 0;
}

static bool bench_init(struct bench *b, enum fake_mode mode, bool fail_open, uint64_t budget,
		       unsigned timeout_ms)
{
	return bench_init_bound(b, mode, fail_open, budget, timeout_ms, 0);
}

static void bench_free(struct bench *b)
{
	engine_release_all(&b->e, &b->q);
	engine_destroy(&b->e, &b->q);
	engine_outq_free(&b->q);
	files_free(b->fs);
	files_shared_free(b->sh);
	fake_clamd_stop(&b->clamd);
}

/* The IRC session (slot 0) and its DCC SEND offer of size bytes on port. */
static void offer(struct bench *b, uint16_t port, size_t size)
{
	char line[256];

	handshake(b, 40000, IRC_PORT, 0);
	segment(b, true, 40000, IRC_PORT, 0, TCP_FLAG_ACK | TCP_FLAG_PSH, "NICK bob\r\n", 10);
	snprintf(line, sizeof(line), ":irc.test 001 bob :Welcome\r\n:alice!a@h PRIVMSG bob :\001DCC "
				     "SEND data.bin 167772162 %u %zu\001\r\n",
		 (unsigned)port, size);
	segment(b, false, 40000, IRC_PORT, 0, TCP_FLAG_ACK | TCP_FLAG_PSH, line, strlen(line));
	segment(b, true, 40000, IRC_PORT, 0, TCP_FLAG_ACK, NULL, 0);
}

/* The data (slot, from the server, which listens) in segments; the id of
 * the last one. */
static uint32_t send_file(struct bench *b, uint16_t cport, uint16_t port, unsigned slot,
			  const uint8_t *data, size_t size, uint32_t *ids)
{
	size_t off, i = 0;
	uint32_t last = 0;

	handshake(b, cport, port, slot);
	for (off = 0; off < size; off += SEG, i++) {
		size_t n = size - off < SEG ? size - off : SEG;

		last = segment(b, false, cport, port, slot, TCP_FLAG_ACK | TCP_FLAG_PSH, data + off, n);
		if (ids)
			ids[i] = last;
		segment(b, true, cport, port, slot, TCP_FLAG_ACK, NULL, 0);
	}
	return last;
}

/* Tick until the last file result is in (bounded). */
static void wait_result(struct bench *b, int results)
{
	int i;

	for (i = 0; i < 400 && b->file_results < results; i++) {
		usleep(5000);
		b->now += 0.005;
		engine_tick(&b->e, b->now, &b->q);
		collect(b);
	}
}

static void one_transfer(enum fake_mode mode, bool fail_open, enum verdict_kind want,
			 enum im_file_state state)
{
	struct bench b;
	uint8_t data[3 * SEG];
	uint32_t ids[3];
	bool found;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31);
	CHECK(bench_init(&b, mode, fail_open, 1 << 20, 300));
	offer(&b, DCC_PORT, sizeof(data));
	send_file(&b, 41000, DCC_PORT, 1, data, sizeof(data), ids);
	/* the first two went on at once; the last waits for its verdict */
	CHECK_INT_EQ(verdict_of(&b, ids[0], &found), VERDICT_ACCEPT);
	CHECK(found);
	CHECK_INT_EQ(verdict_of(&b, ids[1], &found), VERDICT_ACCEPT);
	CHECK(found);
	verdict_of(&b, ids[2], &found);
	CHECK(!found);
	wait_result(&b, 1);
	CHECK_INT_EQ(b.file_results, 1);
	CHECK_INT_EQ(b.last_state, state);
	CHECK_INT_EQ(verdict_of(&b, ids[2], &found), want);
	CHECK(found);
	if (want == VERDICT_DROP) {
		CHECK_INT_EQ(b.resets, 2);
		CHECK_INT_EQ(b.e.stats.scan_cuts, 1);
		/* the user of the IRC session is told, as a notice of its protocol */
		CHECK_INT_EQ(b.notices, 1);
		CHECK(strstr(b.notice, "data.bin was blocked") != NULL);
		/* a retransmission of the held bytes is dropped too */
		b.seq[1][1] -= SEG;
		CHECK_INT_EQ(verdict_of(&b, segment(&b, false, 41000, DCC_PORT, 1,
						    TCP_FLAG_ACK | TCP_FLAG_PSH, data + 2 * SEG, SEG),
					&found),
			     VERDICT_DROP);
	} else {
		CHECK_INT_EQ(b.resets, 0);
		CHECK_INT_EQ(b.e.stats.scan_releases, 1);
	}
	bench_free(&b);
}

static void test_clean_released(void)
{
	one_transfer(FAKE_CLEAN, true, VERDICT_ACCEPT, IM_FILE_COMPLETE);
}

static void test_infected_cut(void)
{
	one_transfer(FAKE_FOUND, true, VERDICT_DROP, IM_FILE_CUT);
}

static void test_no_verdict_open(void)
{
	one_transfer(FAKE_SILENT, true, VERDICT_ACCEPT, IM_FILE_COMPLETE);
}

static void test_no_verdict_closed(void)
{
	one_transfer(FAKE_SILENT, false, VERDICT_DROP, IM_FILE_CUT);
}

/* Ten transfers at once against a budget of three segments (the held
 * packets, headers and all): three wait, the others are decided at once
 * (scan_fail=open: they go on); the peak of what waited stays within the
 * budget. */
#define PACKET (SEG + 40)
static void test_budget(void)
{
	struct bench b;
	uint8_t data[2 * SEG];
	uint32_t last[10];
	unsigned i, waited = 0;
	bool found;

	memset(data, 'x', sizeof(data));
	CHECK(bench_init(&b, FAKE_SILENT, true, 3 * PACKET, 2000));
	b.clamd.silent_ms = 300;
	offer(&b, DCC_PORT, sizeof(data));
	for (i = 1; i < 10; i++) {
		char line[160];

		snprintf(line, sizeof(line), ":alice!a@h PRIVMSG bob :\001DCC SEND d%u.bin 167772162 %u "
					     "%zu\001\r\n",
			 i, DCC_PORT + i, sizeof(data));
		segment(&b, false, 40000, IRC_PORT, 0, TCP_FLAG_ACK | TCP_FLAG_PSH, line, strlen(line));
	}
	for (i = 0; i < 10; i++)
		last[i] = send_file(&b, (uint16_t)(41000 + i), (uint16_t)(DCC_PORT + i), 1 + i, data,
				    sizeof(data), NULL);
	for (i = 0; i < 10; i++) {
		verdict_of(&b, last[i], &found);
		waited += !found;
	}
	CHECK_INT_EQ(waited, 3);
	CHECK_INT_EQ(b.e.stats.scan_held_bytes_peak, 3 * PACKET);
	CHECK(b.e.stats.scan_held_bytes_peak > 0);
	wait_result(&b, 10);
	for (i = 0; i < 10; i++)
		CHECK_INT_EQ(verdict_of(&b, last[i], &found), VERDICT_ACCEPT);
	bench_free(&b);
}

/* What would let a waiting end go without a verdict: the engine's bound
 * on held bytes (smaller than the last segment here), the flow expiring,
 * the daemon stopping. Each leaves it to scan_fail: open lets it go,
 * closed drops it; never sent on unjudged otherwise. */
enum forced { BY_BOUND, BY_EXPIRY, BY_SHUTDOWN, BY_SHUTDOWN_HANDED };

static void forced(enum forced how, enum fake_mode mode, bool fail_open, enum verdict_kind want)
{
	struct bench b;
	uint8_t data[3 * SEG];
	struct bpf_publish publish;
	uint32_t last;
	int xlate = -1;
	bool found;

	memset(&publish, 0, sizeof(publish));
	memset(data, 'y', sizeof(data));
	CHECK(bench_init_bound(&b, mode, fail_open, 1 << 20, 300, how == BY_BOUND ? SEG / 2 : 0));
	if (how == BY_SHUTDOWN_HANDED) {
		/* publishing to a classifier's xlate map (only one of its
		 * shape here) is what makes a stop a hand-over */
		xlate = bpf_map_create(BPF_MAP_TYPE_HASH, "test_xlate", sizeof(struct imw_xlate_key),
				       sizeof(struct imw_xlate), 64, NULL);
		CHECK(xlate >= 0);
		bpf_publish_use_fd(&publish, xlate);
		b.e.cfg.publish = &publish;
	}
	offer(&b, DCC_PORT, sizeof(data));
	last = send_file(&b, 41000, DCC_PORT, 1, data, sizeof(data), NULL);
	if (how == BY_BOUND) {
		/* decided at once, by scan_fail */
		CHECK_INT_EQ(verdict_of(&b, last, &found), want);
		CHECK(found);
		CHECK_INT_EQ(b.e.stats.scan_yields, 1);
	} else if (how == BY_EXPIRY) {
		verdict_of(&b, last, &found);
		CHECK(!found);
		b.now += b.e.cfg.flow.idle_timeout + 1;
		engine_tick(&b.e, b.now, &b.q);
		collect(&b);
		CHECK_INT_EQ(verdict_of(&b, last, &found), want);
		CHECK(found);
		CHECK_INT_EQ(b.e.stats.scan_yields, 1);
	} else {
		verdict_of(&b, last, &found);
		CHECK(!found);
		if (how == BY_SHUTDOWN_HANDED) {
			/* A planned stop hands over first (the engine frozen);
			 * the sender's retransmission of the held end, drained
			 * from the queue then, never passes unjudged. */
			engine_hand_over(&b.e, b.now);
			CHECK(b.e.frozen);
			b.seq[1][1] -= SEG;
			CHECK_INT_EQ(verdict_of(&b, segment(&b, false, 41000, DCC_PORT, 1,
							    TCP_FLAG_ACK | TCP_FLAG_PSH,
							    data + 2 * SEG, SEG),
						&found),
				     VERDICT_DROP);
			CHECK(found);
		}
		/* as worker_stop: judged first, then every held packet goes */
		engine_judge_files(&b.e, b.now, &b.q);
		engine_release_all(&b.e, &b.q);
		collect(&b);
		CHECK_INT_EQ(verdict_of(&b, last, &found), want);
		CHECK(found);
		CHECK_INT_EQ(b.e.stats.scan_yields, 0);
		CHECK_INT_EQ(b.file_results, 1);
	}
	wait_result(&b, 1);
	CHECK_INT_EQ(b.file_results, 1);
	CHECK_INT_EQ(b.last_state, want == VERDICT_DROP ? IM_FILE_CUT : IM_FILE_COMPLETE);
	bench_free(&b);
	if (xlate >= 0)
		close(xlate);
}

static void test_bound_fail_open(void)
{
	forced(BY_BOUND, FAKE_SILENT, true, VERDICT_ACCEPT);
}

static void test_bound_fail_closed(void)
{
	forced(BY_BOUND, FAKE_SILENT, false, VERDICT_DROP);
}

static void test_expiry_fail_open(void)
{
	forced(BY_EXPIRY, FAKE_SILENT, true, VERDICT_ACCEPT);
}

static void test_expiry_fail_closed(void)
{
	forced(BY_EXPIRY, FAKE_SILENT, false, VERDICT_DROP);
}

static void test_shutdown_infected_dropped(void)
{
	forced(BY_SHUTDOWN, FAKE_FOUND, true, VERDICT_DROP);
}

static void test_shutdown_silent_closed_dropped(void)
{
	forced(BY_SHUTDOWN, FAKE_SILENT, false, VERDICT_DROP);
}

static void test_shutdown_clean_released(void)
{
	forced(BY_SHUTDOWN, FAKE_CLEAN, false, VERDICT_ACCEPT);
}

static void test_handed_over_silent_closed_dropped(void)
{
	forced(BY_SHUTDOWN_HANDED, FAKE_SILENT, false, VERDICT_DROP);
}

static void test_handed_over_clean_released(void)
{
	forced(BY_SHUTDOWN_HANDED, FAKE_CLEAN, false, VERDICT_ACCEPT);
}

int main(void)
{
	RUN_TEST(test_clean_released);
	RUN_TEST(test_infected_cut);
	RUN_TEST(test_no_verdict_open);
	RUN_TEST(test_no_verdict_closed);
	RUN_TEST(test_budget);
	RUN_TEST(test_bound_fail_open);
	RUN_TEST(test_bound_fail_closed);
	RUN_TEST(test_expiry_fail_open);
	RUN_TEST(test_expiry_fail_closed);
	RUN_TEST(test_shutdown_infected_dropped);
	RUN_TEST(test_shutdown_silent_closed_dropped);
	RUN_TEST(test_shutdown_clean_released);
	RUN_TEST(test_handed_over_silent_closed_dropped);
	RUN_TEST(test_handed_over_clean_released);
	TEST_MAIN_END();
}
