/* inline_peer: the two ends of the inline benchmark, in C so that the
 * measuring side costs microseconds, not the tens a Python loop would add.
 *
 *   inline_peer bulk-server PORT BYTES SECONDS notice|privmsg|privmsg-seq [GREETING]
 *   inline_peer bulk-client HOST PORT SECONDS [LINE]
 *   inline_peer ping-server PORT SECONDS
 *   inline_peer ping-client HOST PORT COUNT SECONDS
 *
 * The bulk server waits for the client's IRC registration, sends GREETING
 * as a user PRIVMSG if given, then BYTES of 1000-byte lines, and closes:
 * server NOTICEs (decoded, not logged, never held) or user PRIVMSGs
 * (each one a logged message, held while incomplete); privmsg-seq numbers
 * them (each text starts with its line number, ten digits), so a test can
 * tell every message apart (tests/cases/faults_writer*.sh).
 * With INLINE_PEER_HASH=1 in the environment, the bulk server prints a
 * hash (FNV-1a, 64 bits) of every byte it sent and the client of every
 * byte it received, so a test compares them (off by default: it costs
 * the client time the benchmark measures). The bulk client registers (then sends LINE, if given), reads to
 * the end and prints what it got and how fast, timed from its first byte
 * to the end of the stream.
 *
 * The ping server answers the first PRIVMSG with "hello back" and the
 * length of the text it got, and echoes every later one; the ping client sends "PRIVMSG bob :hello", then COUNT
 * pings one at a time, and prints the round-trip percentiles.
 *
 * Every wait is bounded by SECONDS; the exit status is 0 only if the run
 * completed. Results go to stdout as key=value pairs on one line. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_LEN 1000
#define LINES_PER_WRITE 64
#define RX_SIZE (256 * 1024)
#define MAX_LINE 4096
#define WARMUP_PINGS 50
#define SEQ_DIGITS 10

static uint64_t fnv1a(uint64_t h, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (uint8_t)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static bool hashing(void)
{
	const char *v = getenv("INLINE_PEER_HASH");

	return v && strcmp(v, "1") == 0;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int remaining_ms(double deadline)
{
	double left = deadline - now_mono();

	if (left <= 0)
		return 0;
	return left > 1000 ? 1000 : (int)(left * 1000) + 1;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;

	*out = strtod(s, &end);
	return (*end || *out <= 0 || *out > 3600) ? -1 : 0;
}

static int listen_one(const char *port_s, double deadline)
{
	struct sockaddr_in sa;
	struct pollfd pfd;
	int ls, fd = -1, one = 1;

	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0)
		return -1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(port_s));
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0) {
		perror("inline_peer: listen");
		close(ls);
		return -1;
	}
	pfd.fd = ls;
	pfd.events = POLLIN;
	while (fd < 0 && remaining_ms(deadline) > 0) {
		if (poll(&pfd, 1, remaining_ms(deadline)) > 0)
			fd = accept(ls, NULL, NULL);
	}
	close(ls);
	if (fd < 0)
		fprintf(stderr, "inline_peer: no connection in time\n");
	return fd;
}

static int connect_to(const char *host, const char *port_s, double deadline)
{
	struct sockaddr_in sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(port_s));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "inline_peer: %s: not an IPv4 address\n", host);
		return -1;
	}
	/* The server may still be starting: retry for a while. */
	while (remaining_ms(deadline) > 0) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		usleep(20000);
	}
	fprintf(stderr, "inline_peer: cannot connect to %s:%s\n", host, port_s);
	return -1;
}

static int send_all(int fd, const char *buf, size_t len, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (remaining_ms(deadline) == 0)
			return -1;
		poll(&pfd, 1, remaining_ms(deadline));
	}
	return 0;
}

/* Buffered line reader with a deadline. */
struct reader {
	int fd;
	char buf[RX_SIZE];
	size_t len;
};

/* The next line without its CRLF into out (NUL-terminated): 1, or 0 at
 * the end of the stream, or -1 on timeout or error. */
static int read_line(struct reader *r, char *out, size_t out_size, double deadline)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	char *nl;
	size_t n;
	ssize_t got;

	for (;;) {
		nl = memchr(r->buf, '\n', r->len);
		if (nl) {
			n = (size_t)(nl - r->buf);
			if (n && r->buf[n - 1] == '\r')
				n--;
			if (n >= out_size)
				n = out_size - 1;
			memcpy(out, r->buf, n);
			out[n] = '\0';
			n = (size_t)(nl - r->buf) + 1;
			memmove(r->buf, r->buf + n, r->len - n);
			r->len -= n;
			return 1;
		}
		if (r->len == sizeof(r->buf))
			return -1; /* a line longer than the buffer */
		got = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, MSG_DONTWAIT);
		if (got > 0) {
			r->len += (size_t)got;
			continue;
		}
		if (got == 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (remaining_ms(deadline) == 0)
			return -1;
		poll(&pfd, 1, remaining_ms(deadline));
	}
}

static int bulk_server(int argc, char **argv)
{
	static char block[LINE_LEN * LINES_PER_WRITE];
	static struct reader rd;
	const char *head;
	char line[MAX_LINE], greeting[MAX_LINE];
	unsigned long long total, sent = 0, line_no = 0;
	uint64_t hash = 0xcbf29ce484222325ull;
	double seconds, deadline;
	size_t i, hl, chunk;
	bool numbered = false, hash_on = hashing();
	int fd, rc;

	if (argc < 6 || parse_seconds(argv[4], &seconds) < 0)
		return 2;
	if (strcmp(argv[5], "notice") == 0)
		head = ":srv NOTICE bulk :";
	else if (strcmp(argv[5], "privmsg") == 0)
		head = ":bob!b@h PRIVMSG alice :";
	else if (strcmp(argv[5], "privmsg-seq") == 0)
		head = ":bob!b@h PRIVMSG alice :", numbered = true;
	else
		return 2;
	hl = strlen(head);
	total = strtoull(argv[3], NULL, 10);
	deadline = now_mono() + seconds;
	for (i = 0; i < LINES_PER_WRITE; i++) {
		char *l = block + i * LINE_LEN;

		memcpy(l, head, hl);
		memset(l + hl, 'x', LINE_LEN - hl - 2);
		memcpy(l + LINE_LEN - 2, "\r\n", 2);
	}
	fd = listen_one(argv[2], deadline);
	if (fd < 0)
		return 1;
	rd.fd = fd;
	/* The IRC registration first, so the flow is known before the bulk. */
	do {
		rc = read_line(&rd, line, sizeof(line), deadline);
	} while (rc == 1 && strncmp(line, "USER ", 5) != 0);
	if (rc != 1) {
		fprintf(stderr, "inline_peer: no registration from the client\n");
		close(fd);
		return 1;
	}
	if (argc > 6) {
		snprintf(greeting, sizeof(greeting), ":bob!b@h PRIVMSG alice :%s\r\n", argv[6]);
		if (send_all(fd, greeting, strlen(greeting), deadline) < 0) {
			close(fd);
			return 1;
		}
		if (hash_on)
			hash = fnv1a(hash, greeting, strlen(greeting));
	}
	/* Whole lines only, so the stream stays valid IRC to its end. */
	total -= total % LINE_LEN;
	while (sent < total) {
		chunk = sizeof(block);
		if (total - sent < chunk)
			chunk = (size_t)(total - sent);
		for (i = 0; numbered && i < LINES_PER_WRITE; i++) {
			char *d = block + i * LINE_LEN + hl;
			unsigned long long v = line_no++;
			int k;

			for (k = SEQ_DIGITS - 1; k >= 0; k--, v /= 10)
				d[k] = (char)('0' + v % 10);
			d[SEQ_DIGITS] = ' ';
		}
		if (hash_on)
			hash = fnv1a(hash, block, chunk);
		if (send_all(fd, block, chunk, deadline) < 0) {
			fprintf(stderr, "inline_peer: bulk send stopped after %llu bytes\n", sent);
			break;
		}
		sent += chunk;
	}
	shutdown(fd, SHUT_WR);
	/* Until the client has read everything and closed. */
	while (read_line(&rd, line, sizeof(line), deadline) == 1)
		;
	close(fd);
	if (hash_on)
		printf("sent=%llu fnv=%016llx\n", sent, (unsigned long long)hash);
	else
		printf("sent=%llu\n", sent);
	return sent == total ? 0 : 1;
}

static int bulk_client(int argc, char **argv)
{
	static char buf[RX_SIZE];
	char reg[MAX_LINE], first[MAX_LINE] = "";
	unsigned long long got = 0;
	uint64_t hash = 0xcbf29ce484222325ull;
	bool hash_on = hashing();
	double seconds, deadline, t0 = 0, t1 = 0;
	size_t first_len = 0;
	struct pollfd pfd;
	ssize_t n;
	int fd, ok = 0;

	if (argc < 5 || parse_seconds(argv[4], &seconds) < 0)
		return 2;
	deadline = now_mono() + seconds;
	fd = connect_to(argv[2], argv[3], deadline);
	if (fd < 0)
		return 1;
	snprintf(reg, sizeof(reg), "NICK alice\r\nUSER a 0 * :A\r\n%s%s", argc > 5 ? argv[5] : "",
		 argc > 5 ? "\r\n" : "");
	if (send_all(fd, reg, strlen(reg), deadline) < 0) {
		close(fd);
		return 1;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (remaining_ms(deadline) > 0) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			if (!got)
				t0 = now_mono();
			if (first_len < sizeof(first) - 1) {
				size_t take = (size_t)n;

				if (take > sizeof(first) - 1 - first_len)
					take = sizeof(first) - 1 - first_len;
				memcpy(first + first_len, buf, take);
				first_len += take;
			}
			got += (unsigned long long)n;
			if (hash_on)
				hash = fnv1a(hash, buf, (size_t)n);
			continue;
		}
		if (n == 0) {
			t1 = now_mono();
			ok = 1;
			break;
		}
		if (errno != EAGAIN && errno != EINTR)
			break;
		poll(&pfd, 1, remaining_ms(deadline));
	}
	if (!ok)
		t1 = now_mono();
	close(fd);
	first[first_len] = '\0';
	first[strcspn(first, "\r\n")] = '\0';
	if (hash_on)
		printf("fnv=%016llx ", (unsigned long long)hash);
	printf("bytes=%llu seconds=%.6f mbytes_per_s=%.1f complete=%d first=%s\n", got,
	       t1 - t0, t1 > t0 ? (double)got / (t1 - t0) / 1e6 : 0.0, ok, first);
	return ok ? 0 : 1;
}

static int ping_server(int argc, char **argv)
{
	static struct reader rd;
	char line[MAX_LINE], reply[MAX_LINE + 64];
	const char *text;
	double seconds, deadline;
	bool first = true;
	int fd, one = 1, rc;
	unsigned long answered = 0;

	if (argc < 4 || parse_seconds(argv[3], &seconds) < 0)
		return 2;
	deadline = now_mono() + seconds;
	fd = listen_one(argv[2], deadline);
	if (fd < 0)
		return 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rd.fd = fd;
	while ((rc = read_line(&rd, line, sizeof(line), deadline)) == 1) {
		if (strncmp(line, "PRIVMSG ", 8) != 0 || !(text = strstr(line, " :")))
			continue;
		/* The first answer tells how long the hello that arrived was,
		 * so a rewrite on the way in shows even when the way out
		 * rewrites too. */
		if (first)
			snprintf(reply, sizeof(reply),
				 ":bob!b@h PRIVMSG alice :hello back, you sent %zu bytes\r\n",
				 strlen(text + 2));
		else
			snprintf(reply, sizeof(reply), ":bob!b@h PRIVMSG alice :%s\r\n", text + 2);
		first = false;
		if (send_all(fd, reply, strlen(reply), deadline) < 0)
			break;
		answered++;
	}
	close(fd);
	printf("answered=%lu\n", answered);
	return rc == 0 ? 0 : 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int ping_client(int argc, char **argv)
{
	static struct reader rd;
	char line[MAX_LINE], msg[128], want[128], hello_reply[MAX_LINE] = "";
	double seconds, deadline, t0, *rtt, sum = 0;
	long count, i, done = 0;
	int fd, one = 1, rc = 1;
	const char *reg = "NICK alice\r\nUSER a 0 * :A\r\nPRIVMSG bob :hello\r\n";

	if (argc < 6 || parse_seconds(argv[5], &seconds) < 0)
		return 2;
	count = strtol(argv[4], NULL, 10);
	if (count < 1 || count > 1000000)
		return 2;
	rtt = calloc((size_t)count, sizeof(*rtt));
	if (!rtt)
		return 1;
	deadline = now_mono() + seconds;
	fd = connect_to(argv[2], argv[3], deadline);
	if (fd < 0) {
		free(rtt);
		return 1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rd.fd = fd;
	if (send_all(fd, reg, strlen(reg), deadline) < 0 ||
	    read_line(&rd, hello_reply, sizeof(hello_reply), deadline) != 1)
		goto out;
	/* Unmeasured warm-up, then the measured pings; each waits for its
	 * own echo, so exactly one message is in flight. */
	for (i = -WARMUP_PINGS; i < count; i++) {
		snprintf(msg, sizeof(msg), "PRIVMSG bob :ping %ld\r\n", i);
		snprintf(want, sizeof(want), ":bob!b@h PRIVMSG alice :ping %ld", i);
		t0 = now_mono();
		if (send_all(fd, msg, strlen(msg), deadline) < 0)
			goto out;
		do {
			if (read_line(&rd, line, sizeof(line), deadline) != 1)
				goto out;
		} while (strcmp(line, want) != 0);
		if (i >= 0) {
			rtt[i] = (now_mono() - t0) * 1e6;
			sum += rtt[i];
			done++;
		}
	}
	rc = 0;
out:
	close(fd);
	if (done) {
		qsort(rtt, (size_t)done, sizeof(*rtt), cmp_double);
		printf("pings=%ld median_us=%.1f p99_us=%.1f mean_us=%.1f min_us=%.1f "
		       "max_us=%.1f hello_reply=%s\n",
		       done, rtt[done / 2], rtt[(size_t)((double)done * 0.99)], sum / (double)done,
		       rtt[0], rtt[done - 1], hello_reply);
	} else {
		printf("pings=0 hello_reply=%s\n", hello_reply);
	}
	free(rtt);
	return rc == 0 && done == count ? 0 : 1;
}

int main(int argc, char **argv)
{
	int rc = 2;

	if (argc >= 2 && strcmp(argv[1], "bulk-server") == 0)
		rc = bulk_server(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "bulk-client") == 0)
		rc = bulk_client(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "ping-server") == 0)
		rc = ping_server(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "ping-client") == 0)
		rc = ping_client(argc, argv);
	if (rc == 2)
		fprintf(stderr, "usage: inline_peer bulk-server PORT BYTES SECONDS notice|privmsg|privmsg-seq [GREETING]\n"
				"       inline_peer bulk-client HOST PORT SECONDS [LINE]\n"
				"       inline_peer ping-server PORT SECONDS\n"
				"       inline_peer ping-client HOST PORT COUNT SECONDS\n");
	return rc;
}
