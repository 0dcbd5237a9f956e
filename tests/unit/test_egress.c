/* Originated packets out: refusals that need no socket, then, in a
 * network namespace of our own (root), a frame on a port and routed IPv4
 * and IPv6 packets read back from loopback byte for byte, and which
 * capability the sockets need (open before CAP_NET_RAW is dropped, send
 * after). */
#include <errno.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "egress/egress.h"
#include "packet/packet.h"
#include "packet/tcp_build.h"
#include "testlib.h"
#include "util/bytebuf.h"

#define LOOPBACK_IFINDEX 1

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };
static bool own_netns;

static void build(struct bytebuf *b, uint8_t version, const char *payload)
{
	struct tcp_segment_spec s;

	memset(&s, 0, sizeof(s));
	s.ip_version = version;
	if (version == 4) {
		memcpy(s.src, "\x7f\x00\x00\x02", 4);
		memcpy(s.dst, "\x7f\x00\x00\x01", 4);
	} else {
		s.src[15] = 1; /* ::1 to ::1: the only IPv6 address lo has */
		s.dst[15] = 1;
	}
	s.sport = 6667;
	s.dport = 40000;
	s.seq = 1000;
	s.ack = 2000;
	s.flags = TCP_FLAG_ACK | TCP_FLAG_PSH;
	s.window = 512;
	s.has_timestamp = true;
	s.tsval = 7;
	s.tsecr = 8;
	s.ip_id = 0x1234;
	bytebuf_clear(b);
	CHECK_INT_EQ(tcp_build_segment(&s, (const uint8_t *)payload, strlen(payload), b), 0);
}

static void test_refuses_what_is_not_ip(void)
{
	struct egress eg;
	static const uint8_t junk[40] = { 0x50 };
	struct egress_link link = { .ifindex = 0 };

	egress_init(&eg);
	errno = 0;
	CHECK_INT_EQ(egress_send(&eg, NULL, junk, sizeof(junk)), -1);
	CHECK_INT_EQ(errno, EINVAL);
	CHECK_INT_EQ(egress_send(&eg, &link, junk, 0), -1);
	/* an IPv4 version nibble with less than a header */
	CHECK_INT_EQ(egress_send(&eg, &link, (const uint8_t *)"\x45\x00", 2), -1);
	CHECK_INT_EQ(eg.stats.send_errors, 3);
	CHECK_INT_EQ(eg.stats.sent, 0);
	/* nothing was opened for them */
	CHECK_INT_EQ(eg.packet_fd, -1);
	CHECK_INT_EQ(eg.raw4_fd, -1);
	CHECK_INT_EQ(eg.raw6_fd, -1);
	egress_close(&eg);
}

static void test_port_without_macs(void)
{
	struct egress eg;
	struct bytebuf b;
	struct egress_link link = { .ifindex = 3, .have_macs = false };

	bytebuf_init(&b);
	build(&b, 4, "x");
	egress_init(&eg);
	errno = 0;
	CHECK_INT_EQ(egress_send(&eg, &link, b.data, b.len), -1);
	CHECK_INT_EQ(errno, EDESTADDRREQ);
	CHECK_INT_EQ(eg.stats.no_link, 1);
	CHECK_INT_EQ(eg.stats.send_errors, 0);
	CHECK_INT_EQ(eg.packet_fd, -1);
	egress_close(&eg);
	bytebuf_free(&b);
}

static int bring_loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return rc;
}

/* A packet socket that sees every frame on lo, both ways. */
static int open_listener(void)
{
	struct sockaddr_ll sll;
	struct timeval tv = { .tv_sec = 1, .tv_usec = 0 };
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	if (fd < 0)
		return -1;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = LOOPBACK_IFINDEX;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* True when a frame on lo carries exactly want (after a 14-byte
 * Ethernet header whose first 12 bytes are macs, when macs is set). */
static bool frame_seen(int fd, const uint8_t *macs, uint16_t ethertype, const uint8_t *want,
		       size_t len)
{
	static uint8_t frame[70000];
	int i;

	for (i = 0; i < 50; i++) {
		ssize_t n = recv(fd, frame, sizeof(frame), 0);

		if (n < 0)
			return false;
		if ((size_t)n != len + 14 || frame[12] != ethertype >> 8 ||
		    frame[13] != (ethertype & 0xFF) || memcmp(frame + 14, want, len) != 0)
			continue;
		if (!macs || memcmp(frame, macs, 12) == 0)
			return true;
	}
	return false;
}

static void test_frame_on_port(void)
{
	struct egress eg;
	struct bytebuf b;
	struct egress_link link = { .ifindex = LOOPBACK_IFINDEX, .have_macs = true };
	uint8_t macs[12];
	int fd;

	CHECK(own_netns);
	if (!own_netns)
		return;
	memcpy(link.src_mac, mac_a, 6);
	memcpy(link.dst_mac, mac_b, 6);
	memcpy(macs, mac_b, 6);
	memcpy(macs + 6, mac_a, 6);
	bytebuf_init(&b);
	egress_init(&eg);
	fd = open_listener();
	CHECK(fd >= 0);
	build(&b, 4, "frame on a port, IPv4");
	CHECK_INT_EQ(egress_send(&eg, &link, b.data, b.len), 0);
	CHECK(fd >= 0 && frame_seen(fd, macs, ETH_P_IP, b.data, b.len));
	build(&b, 6, "frame on a port, IPv6");
	CHECK_INT_EQ(egress_send(&eg, &link, b.data, b.len), 0);
	CHECK(fd >= 0 && frame_seen(fd, macs, ETH_P_IPV6, b.data, b.len));
	CHECK_INT_EQ(eg.stats.sent, 2);
	/* one packet socket for every port; no raw IP socket needed */
	CHECK(eg.packet_fd >= 0);
	CHECK_INT_EQ(eg.raw4_fd, -1);
	CHECK_INT_EQ(eg.raw6_fd, -1);
	if (fd >= 0)
		close(fd);
	egress_close(&eg);
	bytebuf_free(&b);
}

static void test_routed(void)
{
	struct egress eg;
	struct bytebuf b;
	struct egress_link l3 = { .ifindex = 0 };
	int fd;

	CHECK(own_netns);
	if (!own_netns)
		return;
	bytebuf_init(&b);
	egress_init(&eg);
	fd = open_listener();
	CHECK(fd >= 0);
	build(&b, 4, "routed IPv4");
	CHECK_INT_EQ(egress_send(&eg, NULL, b.data, b.len), 0);
	/* the kernel keeps our header as it is: same bytes on the wire */
	CHECK(fd >= 0 && frame_seen(fd, NULL, ETH_P_IP, b.data, b.len));
	build(&b, 6, "routed IPv6");
	CHECK_INT_EQ(egress_send(&eg, &l3, b.data, b.len), 0);
	CHECK(fd >= 0 && frame_seen(fd, NULL, ETH_P_IPV6, b.data, b.len));
	CHECK_INT_EQ(eg.stats.sent, 2);
	CHECK_INT_EQ(eg.packet_fd, -1);
	CHECK(eg.raw4_fd >= 0);
	CHECK(eg.raw6_fd >= 0);
	if (fd >= 0)
		close(fd);
	egress_close(&eg);
	CHECK_INT_EQ(eg.raw4_fd, -1);
	bytebuf_free(&b);
}

static int keep_only_net_admin(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = 1u << CAP_NET_ADMIN;
	return (int)syscall(SYS_capset, &hdr, data);
}

/* In a child, as imwired after privileges_drop: sockets opened before
 * CAP_NET_RAW is dropped keep working; opening one after fails. Exit
 * status bits say which step went wrong. */
static int capability_child(void)
{
	struct egress before, after;
	struct bytebuf b;
	struct egress_link link = { .ifindex = LOOPBACK_IFINDEX, .have_macs = true };
	char err[128];
	int status = 0;

	memcpy(link.src_mac, mac_a, 6);
	memcpy(link.dst_mac, mac_b, 6);
	bytebuf_init(&b);
	build(&b, 4, "after the drop");
	egress_init(&before);
	egress_init(&after);
	if (egress_open(&before, err, sizeof(err)) < 0)
		status |= 1;
	if (keep_only_net_admin() < 0)
		status |= 2;
	if (egress_send(&before, &link, b.data, b.len) < 0 ||
	    egress_send(&before, NULL, b.data, b.len) < 0)
		status |= 4;
	errno = 0;
	if (egress_send(&after, &link, b.data, b.len) != -1 || errno != EPERM)
		status |= 8;
	errno = 0;
	if (egress_send(&after, NULL, b.data, b.len) != -1 || errno != EPERM)
		status |= 16;
	if (egress_open(&after, err, sizeof(err)) != -1 || !strstr(err, "packet socket"))
		status |= 32;
	egress_close(&before);
	egress_close(&after);
	bytebuf_free(&b);
	return status;
}

static void test_sockets_need_net_raw_to_open_only(void)
{
	pid_t pid;
	int status = -1;

	CHECK(own_netns);
	if (!own_netns)
		return;
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(capability_child());
	if (pid > 0)
		CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_INT_EQ(WEXITSTATUS(status), 0);
}

int main(void)
{
	RUN_TEST(test_refuses_what_is_not_ip);
	RUN_TEST(test_port_without_macs);
	/* Everything below sends real packets: only in a namespace of our
	 * own, where nothing else listens. */
	own_netns = unshare(CLONE_NEWNET) == 0 && bring_loopback_up() == 0;
	if (!own_netns)
		fprintf(stderr, "  cannot make a network namespace (needs root): %s\n",
			strerror(errno));
	RUN_TEST(test_frame_on_port);
	RUN_TEST(test_routed);
	RUN_TEST(test_sockets_need_net_raw_to_open_only);
	TEST_MAIN_END();
}
