/* accept_queue: the cheapest NFQUEUE consumer that still does what
 * imwired must do to see the bytes (copy-packet mode, GSO super-packets,
 * fail-open, a large receive buffer), and accepts everything with one
 * batch verdict per read burst. The benchmark runs it to tell the cost of
 * the queue itself from the cost of imwired's engine.
 *
 *   accept_queue QUEUE_NUM SECONDS
 *
 * Stops on SIGTERM/SIGINT or after SECONDS, printing the packet count. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Room for several 64 KiB GSO super-packets per read. */
#define RX_BUFFER (256 * 1024)
#define RCVBUF (16 * 1024 * 1024)
#define QUEUE_MAX_LEN 65536

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct burst {
	uint32_t max_id;
	bool any;
	unsigned long long packets;
	unsigned long long bytes;
	unsigned long long gso;
};

static int on_message(const struct nlmsghdr *nlh, void *data)
{
	struct burst *b = data;
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	struct nfqnl_msg_packet_hdr *ph;
	uint32_t id;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	if (!b->any || id > b->max_id)
		b->max_id = id;
	b->any = true;
	b->packets++;
	if (attr[NFQA_PAYLOAD])
		b->bytes += mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	if (attr[NFQA_SKB_INFO] &&
	    (ntohl(mnl_attr_get_u32(attr[NFQA_SKB_INFO])) & NFQA_SKB_GSO))
		b->gso++;
	return MNL_CB_OK;
}

static int send_msg(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		perror("accept_queue: netlink send");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char rx[RX_BUFFER];
	char tx[8192];
	struct nlmsghdr *nlh;
	struct mnl_socket *nl;
	struct pollfd pfd;
	struct sigaction sa;
	struct burst b = { 0 };
	struct timespec start, now;
	uint32_t flags = NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN;
	unsigned long long enobufs = 0, verdicts = 0;
	unsigned portid;
	uint16_t num;
	double seconds;
	int rcvbuf = RCVBUF, rc = 0;
	ssize_t n;

	if (argc != 3) {
		fprintf(stderr, "usage: accept_queue QUEUE_NUM SECONDS\n");
		return 2;
	}
	num = (uint16_t)strtoul(argv[1], NULL, 10);
	seconds = strtod(argv[2], NULL);
	if (seconds <= 0 || seconds > 3600) {
		fprintf(stderr, "accept_queue: SECONDS must be in (0, 3600]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("accept_queue: netlink");
		return 1;
	}
	portid = mnl_socket_get_portid(nl);
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

	nlh = nfq_nlmsg_put(tx, NFQNL_MSG_CONFIG, num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (send_msg(nl, nlh) < 0)
		goto fail;
	nlh = nfq_nlmsg_put(tx, NFQNL_MSG_CONFIG, num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xFFFF);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
	nfq_nlmsg_cfg_put_qmaxlen(nlh, QUEUE_MAX_LEN);
	if (send_msg(nl, nlh) < 0)
		goto fail;
	fprintf(stderr, "accept_queue: queue %u ready\n", num);

	pfd.fd = mnl_socket_get_fd(nl);
	pfd.events = POLLIN;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!stop_requested) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((double)(now.tv_sec - start.tv_sec) +
			    (double)(now.tv_nsec - start.tv_nsec) / 1e9 > seconds)
			break;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		/* Everything waiting, then one verdict for the whole burst: ids
		 * are in order and every packet is accepted. */
		b.any = false;
		for (;;) {
			n = recv(pfd.fd, rx, sizeof(rx), MSG_DONTWAIT);
			if (n < 0) {
				if (errno == ENOBUFS) {
					enobufs++;
					continue;
				}
				if (errno == EAGAIN || errno == EINTR)
					break;
				perror("accept_queue: recv");
				rc = 1;
				stop_requested = 1;
				break;
			}
			mnl_cb_run(rx, (size_t)n, 0, portid, on_message, &b);
		}
		if (b.any) {
			nlh = nfq_nlmsg_put(tx, NFQNL_MSG_VERDICT_BATCH, num);
			nfq_nlmsg_verdict_put(nlh, (int)b.max_id, NF_ACCEPT);
			if (send_msg(nl, nlh) < 0)
				rc = 1;
			verdicts++;
		}
	}
	fprintf(stderr,
		"accept_queue: %llu packets (%llu GSO), %llu bytes, %llu batch verdicts, "
		"%llu ENOBUFS\n",
		b.packets, b.gso, b.bytes, verdicts, enobufs);
	mnl_socket_close(nl);
	return rc;
fail:
	mnl_socket_close(nl);
	return 1;
}
