/* clamd's INSTREAM (clamd(8)): "zINSTREAM\0", then the file in chunks,
 * each a 32-bit big-endian length and its bytes, then a zero length; the
 * answer is one line ended by a NUL: "stream: OK", "stream: NAME FOUND",
 * or "... ERROR". Each dialogue is bounded by the timeout (socket time-
 * outs and an overall deadline), so a clamd that hangs costs a scanner
 * thread that long, never a packet worker: workers only queue jobs and
 * take verdicts from their box. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "files/files_internal.h"
#include "imwire/byteorder.h"

#define SCAN_CHUNK 65536

struct scan_job {
	int fd;
	uint64_t size;
	uint64_t id;
	struct scan_box *box;
	struct scan_job *next;
};

struct scanner {
	char *socket_path;
	unsigned timeout_ms;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct scan_job *head, *tail;
	bool stop;
	pthread_t *threads;
	unsigned n_threads;
};

/* ---- verdict boxes ---- */

struct scan_box *scan_box_new(void)
{
	struct scan_box *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	if (pthread_mutex_init(&b->lock, NULL) != 0) {
		free(b);
		return NULL;
	}
	b->refs = 1;
	return b;
}

static void box_get(struct scan_box *b)
{
	pthread_mutex_lock(&b->lock);
	b->refs++;
	pthread_mutex_unlock(&b->lock);
}

void scan_box_put(struct scan_box *b)
{
	unsigned left;

	pthread_mutex_lock(&b->lock);
	left = --b->refs;
	pthread_mutex_unlock(&b->lock);
	if (left)
		return;
	pthread_mutex_destroy(&b->lock);
	free(b->replies);
	free(b);
}

static void box_post(struct scan_box *b, const struct scan_reply *r)
{
	pthread_mutex_lock(&b->lock);
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct scan_reply *p = realloc(b->replies, cap * sizeof(*p));

		if (!p) {
			b->lost++;
			pthread_mutex_unlock(&b->lock);
			return;
		}
		b->replies = p;
		b->cap = cap;
	}
	b->replies[b->n++] = *r;
	pthread_mutex_unlock(&b->lock);
}

void scan_box_take(struct scan_box *b, struct scan_reply **out, size_t *n)
{
	pthread_mutex_lock(&b->lock);
	*out = b->replies;
	*n = b->n;
	b->replies = NULL;
	b->n = b->cap = 0;
	pthread_mutex_unlock(&b->lock);
}

/* ---- one dialogue ---- */

static double monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int connect_clamd(const char *path, unsigned timeout_ms)
{
	struct sockaddr_un sa;
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const uint8_t *p, size_t n, double deadline)
{
	while (n) {
		ssize_t w;

		if (monotonic_ms() > deadline)
			return false;
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Stream size bytes of src; false when clamd stopped listening (it may
 * still have said why: the caller reads the answer either way). */
static bool send_stream(int sock, int src, uint64_t size, double deadline)
{
	static const uint8_t zero[4] = { 0, 0, 0, 0 };
	uint8_t *buf = malloc(4 + SCAN_CHUNK);
	uint64_t off = 0;
	bool ok = buf != NULL;

	while (ok && off < size) {
		size_t want = size - off < SCAN_CHUNK ? (size_t)(size - off) : SCAN_CHUNK;
		ssize_t r = pread(src, buf + 4, want, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ok = false;
			break;
		}
		imw_store_be32(buf, (uint32_t)r);
		ok = send_all(sock, buf, 4 + (size_t)r, deadline);
		off += (uint64_t)r;
	}
	free(buf);
	return ok && send_all(sock, zero, sizeof(zero), deadline);
}

/* clamd's answer up to its NUL (or the end of the connection); *late:
 * the wait for it ran out (the socket's timeout, or the deadline). */
static size_t read_answer(int sock, char *out, size_t size, double deadline, bool *late)
{
	size_t n = 0;

	*late = false;
	while (n + 1 < size) {
		ssize_t r;

		if (monotonic_ms() >= deadline) {
			*late = true;
			break;
		}
		r = recv(sock, out + n, size - 1 - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			*late = true;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(out, '\0', n))
			break;
	}
	out[n] = '\0';
	return strlen(out);
}

static enum im_scan parse_answer(const char *a, char *signature, size_t sig_size)
{
	size_t n = strlen(a);
	const char *p = strncmp(a, "stream: ", 8) == 0 ? a + 8 : NULL;

	while (n && (a[n - 1] == '\n' || a[n - 1] == ' '))
		n--;
	if (p && (size_t)(a + n - p) == 2 && strncmp(p, "OK", 2) == 0)
		return IM_SCAN_CLEAN;
	if (p && n >= 14 && strncmp(a + n - 6, " FOUND", 6) == 0) {
		snprintf(signature, sig_size, "%.*s", (int)(a + n - 6 - p), p);
		return IM_SCAN_INFECTED;
	}
	snprintf(signature, sig_size, "%.*s", (int)n, a);
	return IM_SCAN_ERROR;
}

enum im_scan scan_fd(const char *socket_path, unsigned timeout_ms, int fd, uint64_t size,
		     char *signature, size_t sig_size)
{
	static const char cmd[] = "zINSTREAM";
	double deadline = monotonic_ms() + timeout_ms;
	char answer[512];
	enum im_scan v;
	bool late;
	int sock;

	signature[0] = '\0';
	sock = connect_clamd(socket_path, timeout_ms);
	if (sock < 0) {
		snprintf(signature, sig_size, "cannot connect to clamd: %s", strerror(errno));
		return IM_SCAN_ERROR;
	}
	if (!send_all(sock, (const uint8_t *)cmd, sizeof(cmd), deadline)) {
		close(sock);
		snprintf(signature, sig_size, "clamd did not take the command");
		return monotonic_ms() > deadline ? IM_SCAN_TIMEOUT : IM_SCAN_ERROR;
	}
	send_stream(sock, fd, size, deadline);
	if (!read_answer(sock, answer, sizeof(answer), deadline, &late)) {
		close(sock);
		if (late || monotonic_ms() > deadline) {
			snprintf(signature, sig_size, "no verdict within scan_timeout_ms");
			return IM_SCAN_TIMEOUT;
		}
		snprintf(signature, sig_size, "no answer from clamd");
		return IM_SCAN_ERROR;
	}
	close(sock);
	v = parse_answer(answer, signature, sig_size);
	return v;
}

/* ---- the threads ---- */

static void *scan_thread(void *arg)
{
	struct scanner *sc = arg;

	for (;;) {
		struct scan_job *j;
		struct scan_reply r;

		pthread_mutex_lock(&sc->lock);
		while (!sc->head && !sc->stop)
			pthread_cond_wait(&sc->wake, &sc->lock);
		j = sc->head;
		if (j) {
			sc->head = j->next;
			if (!sc->head)
				sc->tail = NULL;
		}
		pthread_mutex_unlock(&sc->lock);
		if (!j)
			return NULL; /* stopping, and nothing left */
		memset(&r, 0, sizeof(r));
		r.id = j->id;
		r.verdict = scan_fd(sc->socket_path, sc->timeout_ms, j->fd, j->size, r.signature,
				    sizeof(r.signature));
		close(j->fd);
		box_post(j->box, &r);
		scan_box_put(j->box);
		free(j);
	}
}

struct scanner *scanner_new(const char *socket_path, unsigned threads, unsigned timeout_ms,
			    char *err, size_t err_size)
{
	struct scanner *sc = calloc(1, sizeof(*sc));
	unsigned i;

	if (!sc || !(sc->socket_path = strdup(socket_path)) ||
	    !(sc->threads = calloc(threads ? threads : 1, sizeof(*sc->threads)))) {
		snprintf(err, err_size, "scanner: out of memory");
		goto fail;
	}
	sc->timeout_ms = timeout_ms;
	pthread_mutex_init(&sc->lock, NULL);
	pthread_cond_init(&sc->wake, NULL);
	for (i = 0; i < (threads ? threads : 1); i++) {
		if (pthread_create(&sc->threads[i], NULL, scan_thread, sc) != 0) {
			snprintf(err, err_size, "scanner: cannot start a thread");
			sc->n_threads = i;
			scanner_free(sc);
			return NULL;
		}
	}
	sc->n_threads = i;
	return sc;
fail:
	if (sc) {
		free(sc->socket_path);
		free(sc->threads);
		free(sc);
	}
	return NULL;
}

void scanner_free(struct scanner *sc)
{
	unsigned i;

	if (!sc)
		return;
	pthread_mutex_lock(&sc->lock);
	sc->stop = true;
	pthread_cond_broadcast(&sc->wake);
	pthread_mutex_unlock(&sc->lock);
	for (i = 0; i < sc->n_threads; i++)
		pthread_join(sc->threads[i], NULL);
	pthread_cond_destroy(&sc->wake);
	pthread_mutex_destroy(&sc->lock);
	free(sc->socket_path);
	free(sc->threads);
	free(sc);
}

bool scanner_submit(struct scanner *sc, int fd, uint64_t size, uint64_t id, struct scan_box *box)
{
	struct scan_job *j = calloc(1, sizeof(*j));

	if (!j) {
		close(fd);
		return false;
	}
	j->fd = fd;
	j->size = size;
	j->id = id;
	j->box = box;
	box_get(box);
	pthread_mutex_lock(&sc->lock);
	if (sc->tail)
		sc->tail->next = j;
	else
		sc->head = j;
	sc->tail = j;
	pthread_cond_signal(&sc->wake);
	pthread_mutex_unlock(&sc->lock);
	return true;
}
