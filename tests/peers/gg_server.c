/* A minimal Gadu-Gadu server for the real-peer test: just enough of the
 * 8.0/10 protocol for libgadu to log in and to relay messages.
 *
 * Usage: gg_server PORT SECONDS
 * Listens on 127.0.0.1:PORT, greets each client with GG_WELCOME, accepts
 * any GG_LOGIN80 with GG_LOGIN80_OK, turns each GG_SEND_MSG80 into a
 * GG_RECV_MSG80 for the recipient's connection (and acks it), and ignores
 * the rest. Exits after SECONDS, or once every client that logged in has
 * gone. Passwords are not checked: the test is about the wire format. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 8
#define GG_WELCOME 0x01
#define GG_SEND_MSG_ACK 0x05
#define GG_RECV_MSG80 0x2e
#define GG_SEND_MSG80 0x2d
#define GG_LOGIN80 0x31
#define GG_LOGIN80_OK 0x35
#define MAX_PACKET (64 * 1024)

struct client {
	int fd;
	uint32_t uin;
	uint8_t *buf;
	size_t len;
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_packet(int fd, uint32_t type, const uint8_t *body, size_t len)
{
	uint8_t hdr[8];

	put32(hdr, type);
	put32(hdr + 4, (uint32_t)len);
	return send_all(fd, hdr, 8) < 0 || send_all(fd, body, len) < 0 ? -1 : 0;
}

static struct client *find_uin(struct client *c, size_t n, uint32_t uin)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i].fd >= 0 && c[i].uin == uin)
			return &c[i];
	return NULL;
}

/* GG_SEND_MSG80 (recipient, seq, class, off_plain, off_attr, texts) to
 * GG_RECV_MSG80 (sender, seq, time, class, offsets + 4, same texts). */
static void relay(struct client *all, size_t n, struct client *from, const uint8_t *b, size_t len)
{
	uint8_t ack[12], *out;
	uint32_t off_plain, off_attr;
	struct client *to;

	if (len < 20)
		return;
	off_plain = le32(b + 12);
	off_attr = le32(b + 16);
	to = find_uin(all, n, le32(b));
	put32(ack, to ? 2 : 3); /* delivered or queued */
	memcpy(ack + 4, b, 4);
	memcpy(ack + 8, b + 4, 4);
	send_packet(from->fd, GG_SEND_MSG_ACK, ack, sizeof(ack));
	if (!to)
		return;
	out = malloc(len + 4);
	if (!out)
		return;
	put32(out, from->uin);
	memcpy(out + 4, b + 4, 4);
	put32(out + 8, (uint32_t)time(NULL));
	memcpy(out + 12, b + 8, 4);
	put32(out + 16, off_plain ? off_plain + 4 : 0);
	put32(out + 20, off_attr ? off_attr + 4 : 0);
	memcpy(out + 24, b + 20, len - 20);
	send_packet(to->fd, GG_RECV_MSG80, out, len + 4);
	free(out);
}

/* Handle every complete packet in c->buf; -1 to drop the client. */
static int handle(struct client *all, size_t n, struct client *c)
{
	static const uint8_t ok[4] = { 1, 0, 0, 0 };

	while (c->len >= 8) {
		uint32_t type = le32(c->buf), plen = le32(c->buf + 4);

		if (plen > MAX_PACKET)
			return -1;
		if (c->len < 8 + (size_t)plen)
			return 0;
		if (type == GG_LOGIN80 && plen >= 4) {
			c->uin = le32(c->buf + 8);
			if (send_packet(c->fd, GG_LOGIN80_OK, ok, sizeof(ok)) < 0)
				return -1;
		} else if (type == GG_SEND_MSG80 && c->uin) {
			relay(all, n, c, c->buf + 8, plen);
		}
		memmove(c->buf, c->buf + 8 + plen, c->len - 8 - plen);
		c->len -= 8 + plen;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct client clients[MAX_CLIENTS];
	struct sockaddr_in sa;
	int lfd, one = 1, logged_in = 0;
	time_t deadline;
	size_t i;

	if (argc != 3) {
		fprintf(stderr, "usage: gg_server PORT SECONDS\n");
		return 2;
	}
	deadline = time(NULL) + atoi(argv[2]);
	for (i = 0; i < MAX_CLIENTS; i++) {
		clients[i].fd = -1;
		clients[i].buf = NULL;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 8) < 0) {
		perror("gg_server: listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	while (time(NULL) < deadline) {
		struct pollfd pfd[MAX_CLIENTS + 1];
		size_t np = 0, alive = 0;

		pfd[np].fd = lfd;
		pfd[np++].events = POLLIN;
		for (i = 0; i < MAX_CLIENTS; i++) {
			pfd[np].fd = clients[i].fd;
			pfd[np++].events = POLLIN;
			alive += clients[i].fd >= 0;
		}
		if (logged_in >= 2 && alive == 0)
			break;
		if (poll(pfd, np, 200) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			int fd = accept(lfd, NULL, NULL);
			uint8_t seed[4] = { 0x2a, 0x00, 0x00, 0x00 };

			for (i = 0; fd >= 0 && i < MAX_CLIENTS; i++)
				if (clients[i].fd < 0) {
					clients[i].fd = fd;
					clients[i].uin = 0;
					clients[i].len = 0;
					send_packet(fd, GG_WELCOME, seed, sizeof(seed));
					break;
				}
			if (fd >= 0 && i == MAX_CLIENTS)
				close(fd);
		}
		for (i = 0; i < MAX_CLIENTS; i++) {
			struct client *c = &clients[i];
			uint8_t tmp[4096], *nb;
			ssize_t r;
			uint32_t had = c->uin;

			if (c->fd < 0 || !(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = recv(c->fd, tmp, sizeof(tmp), 0);
			nb = r > 0 ? realloc(c->buf, c->len + (size_t)r) : NULL;
			if (nb) {
				c->buf = nb;
				memcpy(c->buf + c->len, tmp, (size_t)r);
				c->len += (size_t)r;
			}
			if (!nb || handle(clients, MAX_CLIENTS, c) < 0) {
				close(c->fd);
				c->fd = -1;
				continue;
			}
			if (!had && c->uin)
				logged_in++;
		}
	}
	for (i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].fd >= 0)
			close(clients[i].fd);
		free(clients[i].buf);
	}
	close(lfd);
	return 0;
}
