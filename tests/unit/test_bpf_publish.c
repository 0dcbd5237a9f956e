/* Publishing collapsed sequence offsets into the classifier's flow map:
 * the key is the classifier's canonical one (v4-mapped addresses, lower
 * side first), each direction lands in its sender's slot, an existing
 * classifier verdict is kept, and a collapsed seqmap publishes its base
 * offset. Runs against a real LRU hash map created here (needs root). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "inline/bpf_publish.h"
#include "testlib.h"

static int make_map(void)
{
	return bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "test_flows", sizeof(struct imw_flow_key),
			      sizeof(struct imw_flow_state), 64, NULL);
}

static void flow_v4(struct flow *f, const char *client, uint16_t cport, const char *server,
		    uint16_t sport)
{
	unsigned a, b, c, d;

	memset(f, 0, sizeof(*f));
	f->ip_version = 4;
	sscanf(client, "%u.%u.%u.%u", &a, &b, &c, &d);
	f->addr[IM_DIR_OUT][0] = (uint8_t)a;
	f->addr[IM_DIR_OUT][1] = (uint8_t)b;
	f->addr[IM_DIR_OUT][2] = (uint8_t)c;
	f->addr[IM_DIR_OUT][3] = (uint8_t)d;
	sscanf(server, "%u.%u.%u.%u", &a, &b, &c, &d);
	f->addr[IM_DIR_IN][0] = (uint8_t)a;
	f->addr[IM_DIR_IN][1] = (uint8_t)b;
	f->addr[IM_DIR_IN][2] = (uint8_t)c;
	f->addr[IM_DIR_IN][3] = (uint8_t)d;
	f->port[IM_DIR_OUT] = cport;
	f->port[IM_DIR_IN] = sport;
}

static void test_key_is_canonical(void)
{
	static const uint8_t mapped_1[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 77, 0, 1 };
	static const uint8_t mapped_2[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 77, 0, 2 };
	struct imw_flow_key k1, k2;
	struct flow f, g;
	unsigned side;

	flow_v4(&f, "10.77.0.1", 40001, "10.77.0.2", 7778);
	bpf_publish_key(&f, &k1, &side);
	CHECK_INT_EQ(side, 0);
	CHECK_MEM_EQ(k1.addr_a, mapped_1, 16);
	CHECK_MEM_EQ(k1.addr_b, mapped_2, 16);
	CHECK_INT_EQ(k1.port_a, 40001);
	CHECK_INT_EQ(k1.port_b, 7778);
	/* the same connection seen with the roles swapped: same key */
	flow_v4(&g, "10.77.0.2", 7778, "10.77.0.1", 40001);
	bpf_publish_key(&g, &k2, &side);
	CHECK_INT_EQ(side, 1);
	CHECK_MEM_EQ(&k1, &k2, sizeof(k1));
	/* same address: the lower port is side a */
	flow_v4(&f, "127.0.0.1", 6667, "127.0.0.1", 5000);
	bpf_publish_key(&f, &k1, &side);
	CHECK_INT_EQ(side, 1);
	CHECK_INT_EQ(k1.port_a, 5000);
	/* IPv6 goes in as it is */
	memset(&f, 0, sizeof(f));
	f.ip_version = 6;
	f.addr[IM_DIR_OUT][0] = 0xfd;
	f.addr[IM_DIR_OUT][15] = 2;
	f.addr[IM_DIR_IN][0] = 0xfd;
	f.addr[IM_DIR_IN][15] = 1;
	bpf_publish_key(&f, &k1, &side);
	CHECK_INT_EQ(side, 1);
	CHECK_INT_EQ(k1.addr_a[15], 1);
	CHECK_INT_EQ(k1.addr_a[0], 0xfd);
}

static void test_publish_lookup_forget(void)
{
	struct bpf_publish p;
	struct imw_flow_state st;
	struct imw_flow_key key;
	struct flow f;
	int32_t delta[2] = { 0, 0 };
	unsigned side;
	int fd = make_map();

	if (fd < 0) {
		fprintf(stderr, "  cannot create a BPF map: %s (needs root and BPF)\n",
			strerror(errno));
		CHECK(fd >= 0);
		return;
	}
	bpf_publish_use_fd(&p, fd);
	/* server is side a here: the client's offset goes to slot 1 */
	flow_v4(&f, "10.77.0.9", 50000, "10.77.0.2", 6667);
	CHECK_INT_EQ(bpf_publish_lookup(&p, &f, delta), 0);
	CHECK_INT_EQ(bpf_publish_delta(&p, &f, IM_DIR_OUT, 12, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_delta(&p, &f, IM_DIR_IN, -7, IMW_PROTO_IRC), 0);
	bpf_publish_key(&f, &key, &side);
	CHECK_INT_EQ(side, 1);
	CHECK_INT_EQ(bpf_map_lookup_elem(fd, &key, &st), 0);
	CHECK_INT_EQ(st.verdict, IMW_FLOW_STEER);
	CHECK_INT_EQ(st.proto, IMW_PROTO_IRC);
	CHECK_INT_EQ(st.flags & IMW_FLOW_HAS_DELTA, IMW_FLOW_HAS_DELTA);
	CHECK_INT_EQ(st.seq_delta[1], 12);
	CHECK_INT_EQ(st.seq_delta[0], -7);
	CHECK_INT_EQ(bpf_publish_lookup(&p, &f, delta), 1);
	CHECK_INT_EQ(delta[IM_DIR_OUT], 12);
	CHECK_INT_EQ(delta[IM_DIR_IN], -7);
	/* beyond 32 bits: refused, the entry untouched */
	CHECK_INT_EQ(bpf_publish_delta(&p, &f, IM_DIR_OUT, (int64_t)1 << 40, IMW_PROTO_IRC), -1);
	CHECK_INT_EQ(errno, ERANGE);
	CHECK_INT_EQ(bpf_publish_lookup(&p, &f, delta), 1);
	CHECK_INT_EQ(delta[IM_DIR_OUT], 12);
	CHECK_INT_EQ(bpf_publish_forget(&p, &f), 0);
	CHECK_INT_EQ(bpf_publish_lookup(&p, &f, delta), 0);
	CHECK_INT_EQ(bpf_publish_forget(&p, &f), 0); /* twice is fine */
	bpf_publish_close(&p);
}

/* The classifier decided the flow first (XMPP on an odd port): its
 * verdict and protocol stay, only the offsets are added. */
static void test_keeps_classifier_verdict(void)
{
	struct imw_flow_state st = { .verdict = IMW_FLOW_STEER, .proto = IMW_PROTO_XMPP,
				     .data_packets = 1 };
	struct imw_flow_key key;
	struct bpf_publish p;
	struct flow f;
	unsigned side;
	int fd = make_map();

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	bpf_publish_use_fd(&p, fd);
	flow_v4(&f, "10.0.0.1", 40000, "10.0.0.2", 15222);
	bpf_publish_key(&f, &key, &side);
	CHECK_INT_EQ(bpf_map_update_elem(fd, &key, &st, BPF_ANY), 0);
	CHECK_INT_EQ(bpf_publish_delta(&p, &f, IM_DIR_OUT, 3, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_map_lookup_elem(fd, &key, &st), 0);
	CHECK_INT_EQ(st.proto, IMW_PROTO_XMPP);
	CHECK_INT_EQ(st.data_packets, 1);
	CHECK_INT_EQ(st.seq_delta[side], 3);
	CHECK_INT_EQ(st.seq_delta[side ^ 1], 0);
	bpf_publish_close(&p);
}

/* A seqmap publishes only once its edits are acknowledged. */
static void test_seqmap_collapse(void)
{
	struct bpf_publish p;
	struct seqmap m;
	struct flow f;
	int32_t delta[2];
	int fd = make_map();

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	bpf_publish_use_fd(&p, fd);
	flow_v4(&f, "10.0.0.1", 40000, "10.0.0.2", 6667);
	seqmap_init(&m, 1000);
	CHECK_INT_EQ(bpf_publish_seqmap(&p, &f, IM_DIR_OUT, &m, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_lookup(&p, &f, delta), 0); /* identity: nothing */
	/* "cat" -> "tiger" at 10: +2 */
	CHECK_INT_EQ(seqmap_add_edit(&m, 10, 3, (const uint8_t *)"tiger", 5), 0);
	CHECK_INT_EQ(bpf_publish_seqmap(&p, &f, IM_DIR_OUT, &m, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_lookup(&p, &f, delta), 0); /* live edit: nothing yet */
	seqmap_acknowledge(&m, 100);
	CHECK_INT_EQ(m.n_edits, 0);
	CHECK_INT_EQ(bpf_publish_seqmap(&p, &f, IM_DIR_OUT, &m, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_lookup(&p, &f, delta), 1);
	CHECK_INT_EQ(delta[IM_DIR_OUT], 2);
	CHECK_INT_EQ(delta[IM_DIR_IN], 0);
	seqmap_free(&m);
	bpf_publish_close(&p);
}

/* Without a classifier every call is a harmless no-op. */
static void test_no_classifier(void)
{
	struct bpf_publish p;
	struct flow f;
	int32_t delta[2];

	CHECK_INT_EQ(bpf_publish_open(&p, "/nonexistent/imwire"), -1);
	flow_v4(&f, "10.0.0.1", 40000, "10.0.0.2", 6667);
	CHECK_INT_EQ(bpf_publish_delta(&p, &f, IM_DIR_OUT, 5, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_lookup(&p, &f, delta), 0);
	CHECK_INT_EQ(bpf_publish_forget(&p, &f), 0);
	bpf_publish_close(&p);
	CHECK_INT_EQ(bpf_publish_delta(NULL, &f, IM_DIR_OUT, 5, IMW_PROTO_IRC), 0);
	CHECK_INT_EQ(bpf_publish_lookup(NULL, &f, delta), 0);
	CHECK_INT_EQ(bpf_publish_forget(NULL, &f), 0);
}

int main(void)
{
	RUN_TEST(test_key_is_canonical);
	RUN_TEST(test_publish_lookup_forget);
	RUN_TEST(test_keeps_classifier_verdict);
	RUN_TEST(test_seqmap_collapse);
	RUN_TEST(test_no_classifier);
	TEST_MAIN_END();
}
