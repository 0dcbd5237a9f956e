#include "egress/egress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define ETH_HEADER 14

/* A packet socket with protocol 0 receives nothing: it only sends. */
static int open_packet(void)
{
	return socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
}

/* IPPROTO_RAW implies the header is ours (IP_HDRINCL for IPv4, and the
 * same for IPv6), and such a socket is never handed incoming packets. */
static int open_raw(int family)
{
	return socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
}

void egress_init(struct egress *eg)
{
	memset(eg, 0, sizeof(*eg));
	eg->packet_fd = -1;
	eg->raw4_fd = -1;
	eg->raw6_fd = -1;
}

int egress_open(struct egress *eg, char *err, size_t err_size)
{
	int rc = 0;

	if (eg->packet_fd < 0 && (eg->packet_fd = open_packet()) < 0) {
		snprintf(err, err_size, "packet socket: %s", strerror(errno));
		rc = -1;
	}
	if (eg->raw4_fd < 0 && (eg->raw4_fd = open_raw(AF_INET)) < 0 && rc == 0) {
		snprintf(err, err_size, "raw IPv4 socket: %s", strerror(errno));
		rc = -1;
	}
	if (eg->raw6_fd < 0 && (eg->raw6_fd = open_raw(AF_INET6)) < 0 && rc == 0) {
		snprintf(err, err_size, "raw IPv6 socket: %s", strerror(errno));
		rc = -1;
	}
	return rc;
}

void egress_close(struct egress *eg)
{
	if (eg->packet_fd >= 0)
		close(eg->packet_fd);
	if (eg->raw4_fd >= 0)
		close(eg->raw4_fd);
	if (eg->raw6_fd >= 0)
		close(eg->raw6_fd);
	eg->packet_fd = eg->raw4_fd = eg->raw6_fd = -1;
}

static ssize_t send_frame(struct egress *eg, const struct egress_link *link, uint16_t ethertype,
			  const uint8_t *ip, size_t len)
{
	uint8_t eth[ETH_HEADER];
	struct sockaddr_ll to;
	struct iovec iov[2];
	struct msghdr msg;

	if (eg->packet_fd < 0 && (eg->packet_fd = open_packet()) < 0)
		return -1;
	memcpy(eth, link->dst_mac, 6);
	memcpy(eth + 6, link->src_mac, 6);
	eth[12] = (uint8_t)(ethertype >> 8);
	eth[13] = (uint8_t)ethertype;
	memset(&to, 0, sizeof(to));
	to.sll_family = AF_PACKET;
	to.sll_protocol = htons(ethertype);
	to.sll_ifindex = (int)link->ifindex;
	to.sll_halen = 6;
	memcpy(to.sll_addr, link->dst_mac, 6);
	iov[0].iov_base = eth;
	iov[0].iov_len = sizeof(eth);
	iov[1].iov_base = (void *)ip;
	iov[1].iov_len = len;
	memset(&msg, 0, sizeof(msg));
	msg.msg_name = &to;
	msg.msg_namelen = sizeof(to);
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	return sendmsg(eg->packet_fd, &msg, MSG_DONTWAIT);
}

static ssize_t send_routed(struct egress *eg, int version, const uint8_t *ip, size_t len)
{
	if (version == 4) {
		struct sockaddr_in to;

		if (eg->raw4_fd < 0 && (eg->raw4_fd = open_raw(AF_INET)) < 0)
			return -1;
		memset(&to, 0, sizeof(to));
		to.sin_family = AF_INET;
		memcpy(&to.sin_addr, ip + 16, 4);
		return sendto(eg->raw4_fd, ip, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
	} else {
		struct sockaddr_in6 to;

		if (eg->raw6_fd < 0 && (eg->raw6_fd = open_raw(AF_INET6)) < 0)
			return -1;
		memset(&to, 0, sizeof(to));
		to.sin6_family = AF_INET6;
		memcpy(&to.sin6_addr, ip + 24, 16);
		return sendto(eg->raw6_fd, ip, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
	}
}

int egress_send(struct egress *eg, const struct egress_link *link, const uint8_t *ip, size_t len)
{
	int version = len ? ip[0] >> 4 : 0;
	ssize_t n;

	if ((version != 4 || len < 20) && (version != 6 || len < 40)) {
		eg->stats.send_errors++;
		errno = EINVAL;
		return -1;
	}
	if (link && link->ifindex && !link->have_macs) {
		eg->stats.no_link++;
		errno = EDESTADDRREQ;
		return -1;
	}
	if (link && link->ifindex)
		n = send_frame(eg, link, version == 4 ? ETH_P_IP : ETH_P_IPV6, ip, len);
	else
		n = send_routed(eg, version, ip, len);
	if (n < 0) {
		eg->stats.send_errors++;
		return -1;
	}
	if ((size_t)n != (link && link->ifindex ? len + ETH_HEADER : len)) {
		eg->stats.send_errors++;
		errno = EMSGSIZE;
		return -1;
	}
	eg->stats.sent++;
	return 0;
}
