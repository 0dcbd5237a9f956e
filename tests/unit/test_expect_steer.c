/* Expected connections entered in the classifier's expect map (#20):
 * each tuple expectation while it lives, keyed as the BPF program looks
 * it up (listener v4-mapped, any peer), with its protocol and a deadline
 * its lifetime ahead; gone once its connection came or it timed out; an
 * in-band expectation never entered. A map of the real layout, made here. */
#include <bpf/bpf.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "classifier/expect_steer.h"
#include "imwire/bpf_maps.h"
#include "testlib.h"

static int make_map(void)
{
	return bpf_map_create(BPF_MAP_TYPE_HASH, "test_expect", sizeof(struct imw_expect_key),
			      sizeof(struct imw_expect_val), IMW_MAX_EXPECT, NULL);
}

static size_t count(int fd)
{
	struct imw_expect_key k, next;
	size_t n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void offer(struct im_event *ev, enum im_xfer_path path, uint16_t port)
{
	event_init(ev);
	ev->proto = IMW_PROTO_IRC;
	ev->kind = IM_KIND_FILE;
	ev->xfer.path = path;
	ev->xfer.from_listener = true;
	ev->xfer.ip_version = 4;
	memcpy(ev->xfer.addr, "\x0a\x00\x00\x07", 4);
	ev->xfer.port = port;
	if (path == IM_XFER_INBAND) {
		memcpy(ev->xfer.token, "sid", 3);
		ev->xfer.token_len = 3;
	}
}

static void test_entries_follow_expectations(void)
{
	int fd = make_map();
	struct expect_table *t = expect_table_new(16, 30);
	struct expect_steer s;
	struct imw_expect_key k;
	struct imw_expect_val v;
	struct expect_match m;
	struct im_event ev;
	uint64_t before = now_ns();
	static const uint8_t a[4] = { 10, 0, 0, 7 }, b[4] = { 10, 0, 0, 22 };

	CHECK(fd >= 0);
	if (fd < 0 || !t) {
		expect_table_free(t);
		return;
	}
	expect_steer_use_fd(&s, fd);
	expect_steer_follow(&s, t);
	offer(&ev, IM_XFER_TCP, 5000);
	CHECK_INT_EQ(expect_offer(t, &ev, 100), 1);
	event_free(&ev);
	offer(&ev, IM_XFER_INBAND, 0);
	CHECK_INT_EQ(expect_offer(t, &ev, 100), 1);
	event_free(&ev);
	CHECK_INT_EQ(count(fd), 1); /* the in-band one has no connection to steer */
	memset(&k, 0, sizeof(k));
	k.listen_addr[10] = k.listen_addr[11] = 0xff;
	memcpy(k.listen_addr + 12, a, 4);
	k.listen_port = 5000;
	CHECK(bpf_map_lookup_elem(fd, &k, &v) == 0);
	CHECK_INT_EQ(v.proto, IMW_PROTO_IRC);
	CHECK(v.expires_ns >= before + 29000000000ull && v.expires_ns <= now_ns() + 30000000000ull);
	/* the connection came: the entry goes */
	CHECK_INT_EQ(expect_connection(t, 4, b, 40000, a, 5000, 101, &m), EXPECT_TAKEN);
	event_free(&m.offer);
	CHECK_INT_EQ(count(fd), 0);
	/* an offer that times out leaves too */
	offer(&ev, IM_XFER_TCP, 5001);
	CHECK_INT_EQ(expect_offer(t, &ev, 100), 1);
	event_free(&ev);
	CHECK_INT_EQ(count(fd), 1);
	expect_expire(t, 131);
	CHECK_INT_EQ(count(fd), 0);
	CHECK_INT_EQ(s.entered, 2);
	CHECK_INT_EQ(s.removed, 2);
	CHECK_INT_EQ(s.failures, 0);
	expect_table_free(t);
	expect_steer_close(&s);
}

int main(void)
{
	RUN_TEST(test_entries_follow_expectations);
	TEST_MAIN_END();
}
