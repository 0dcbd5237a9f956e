/* JSON lines: one object a line (sink_format.c), to a file or a stream.
 * Lines gather in a buffer and go out in one write() per flush; a file's
 * size is tracked so that a write cut short (a full disk) is cut back at
 * once, and so that the writer can record it (undo) and cut back a batch
 * a crash interrupted. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/chain.h"
#include "sink/sink.h"
#include "sink/sink_retain.h"
#include "util/bytebuf.h"

struct jsonl_ctx {
	FILE *out;   /* stream mode */
	int fd;      /* file mode, else -1 */
	char *path;  /* file mode */
	uint64_t dev, ino;
	uint64_t size; /* of the file, as far as we wrote it */
	size_t flush_at;
	/* A flush inside write() failed: the batch fails at flush() too. */
	bool batch_failed;
	struct bytebuf pending;
	/* A purge planned (retention): the next flush rewrites the file
	 * without its rows, the batch (its record) at the end. */
	bool purging;
	struct purge_plan plan;
	char *plan_hold;
};

/* The file's size now: someone may have cut it (logrotate's copytruncate)
 * since we wrote; what we cut back to or record must be the real size. */
static void size_refresh(struct jsonl_ctx *c)
{
	struct stat st;

	if (fstat(c->fd, &st) == 0) {
		c->size = (uint64_t)st.st_size;
		c->dev = (uint64_t)st.st_dev;
		c->ino = (uint64_t)st.st_ino;
	}
}

static void drop_plan(struct jsonl_ctx *c)
{
	if (!c->purging)
		return;
	purge_plan_free(&c->plan);
	free(c->plan_hold);
	c->plan_hold = NULL;
	c->purging = false;
}

/* The purge's batch: the file rewritten whole, renamed over it, opened
 * again. Cut short, the file is as it was and the next attempt plans
 * again; done, the record is in the file and a new plan finds it. */
static int flush_purge(struct sink *s, struct jsonl_ctx *c)
{
	struct stat st;
	uint64_t size;
	int fd, rc;

	rc = retain_jsonl_rewrite(c->path, &c->plan, c->pending.data, c->pending.len, &fd, &size,
				  s->err, sizeof(s->err));
	bytebuf_clear(&c->pending);
	drop_plan(c);
	if (rc < 0) {
		s->err_no = errno;
		return -1;
	}
	close(c->fd);
	c->fd = fd;
	c->size = size;
	if (fstat(fd, &st) == 0) {
		c->dev = (uint64_t)st.st_dev;
		c->ino = (uint64_t)st.st_ino;
	}
	return 0;
}

static int flush_file(struct sink *s, struct jsonl_ctx *c)
{
	const uint8_t *p = c->pending.data;
	size_t n = c->pending.len;

	if (n)
		size_refresh(c);
	while (n) {
		ssize_t w = write(c->fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;

			/* Nothing of this flush counts: no half line stays behind. */
			if (ftruncate(c->fd, (off_t)c->size) < 0)
				e = errno;
			bytebuf_clear(&c->pending);
			return sink_fail(s, e, "jsonl %s: write", c->path);
		}
		p += w;
		n -= (size_t)w;
		c->size += (uint64_t)w;
	}
	bytebuf_clear(&c->pending);
	return 0;
}

static int flush_pending(struct sink *s, struct jsonl_ctx *c)
{
	if (c->fd >= 0 && c->purging)
		return flush_purge(s, c);
	if (c->fd >= 0)
		return flush_file(s, c);
	if (c->pending.len && fwrite(c->pending.data, 1, c->pending.len, c->out) != c->pending.len) {
		bytebuf_clear(&c->pending);
		return sink_fail(s, errno ? errno : EIO, "jsonl: output");
	}
	bytebuf_clear(&c->pending);
	if (fflush(c->out) != 0)
		return sink_fail(s, errno ? errno : EIO, "jsonl: output");
	return 0;
}

static int jsonl_flush(struct sink *s)
{
	struct jsonl_ctx *c = s->ctx;
	int rc = flush_pending(s, c);

	if (c->batch_failed) {
		c->batch_failed = false;
		return -1; /* err still says why */
	}
	return rc;
}

static int jsonl_write(struct sink *s, const struct im_event *ev, uint64_t eventid)
{
	struct jsonl_ctx *c = s->ctx;
	size_t before = c->pending.len;

	(void)eventid;
	if (!sink_format_json(&c->pending, ev) || !bytebuf_append_byte(&c->pending, '\n')) {
		c->pending.len = before;
		return sink_fail(s, ENOMEM, "jsonl: formatting an event");
	}
	if (c->flush_at && c->pending.len >= c->flush_at && flush_pending(s, c) < 0) {
		c->batch_failed = true;
		return -1;
	}
	return 0;
}

static int jsonl_sync(struct sink *s)
{
	struct jsonl_ctx *c = s->ctx;

	if (c->fd >= 0 && fdatasync(c->fd) < 0)
		return sink_fail(s, errno, "jsonl %s: fdatasync", c->path);
	return 0;
}

static size_t jsonl_undo(struct sink *s, const struct im_event *const *evs, size_t n,
			 struct sink_undo *u)
{
	struct jsonl_ctx *c = s->ctx;

	(void)evs;
	if (c->fd >= 0)
		size_refresh(c);
	if (c->fd >= 0 && !sink_undo_add(u, c->path, c->dev, c->ino, c->size)) {
		sink_fail(s, ENOMEM, "jsonl %s: undo record", c->path);
		return 0;
	}
	return n;
}

static int jsonl_restore(struct sink *s, const struct sink_undo *u)
{
	struct jsonl_ctx *c = s->ctx;
	struct sink_undo_entry e;
	struct stat st;
	size_t i;

	if (c->fd < 0)
		return 0;
	for (i = 0; i < u->n; i++) {
		if (!sink_undo_get(u, i, &e) || strcmp(e.path, c->path) != 0)
			continue;
		if (fstat(c->fd, &st) < 0)
			return sink_fail(s, errno, "jsonl %s: fstat", c->path);
		/* Only the file we write, and only what was added after e. */
		if ((uint64_t)st.st_dev == e.dev && (uint64_t)st.st_ino == e.ino &&
		    (uint64_t)st.st_size > e.size) {
			if (ftruncate(c->fd, (off_t)e.size) < 0)
				return sink_fail(s, errno, "jsonl %s: ftruncate", c->path);
			c->size = e.size;
		}
	}
	return 0;
}

/* Retention: the file's own purge, and the files logrotate left. */
static int jsonl_purge(struct sink *s, const struct purge_request *req, uint64_t id,
		       struct chain_purge *rec)
{
	struct jsonl_ctx *c = s->ctx;
	unsigned gzipped = 0, removed = 0;
	int rc;

	if (c->fd < 0)
		return 0;
	drop_plan(c);
	if (retain_rotated(c->path, req, &gzipped, &removed, s->err, sizeof(s->err)) < 0) {
		s->err_no = errno;
		return -1;
	}
	rc = retain_jsonl_plan(c->path, req, id, &c->plan, &c->plan_hold, s->err, sizeof(s->err));
	if (rc < 0) {
		s->err_no = errno;
		return -1;
	}
	if (rc > 0) {
		c->purging = true;
		*rec = c->plan.p;
	}
	return rc;
}

static void jsonl_close(struct sink *s)
{
	struct jsonl_ctx *c = s->ctx;

	if (c->purging) /* its record is not written without its rewrite */
		bytebuf_clear(&c->pending);
	drop_plan(c);
	if (c->pending.len)
		flush_pending(s, c);
	if (c->fd >= 0)
		close(c->fd);
	else
		fflush(c->out);
	free(c->path);
	bytebuf_free(&c->pending);
	free(c);
}

/* The hash of the file's last line: "...,\"hash\":\"HEX\"}" ends every
 * chained line. The file ends with the last line a batch completed (the
 * writer cuts back one that did not), so its ids are below before. */
static int jsonl_chain_tail(struct sink *s, uint64_t before, uint8_t hash[32], bool *found)
{
	static const char key[] = ",\"hash\":\"";
	struct jsonl_ctx *c = s->ctx;
	char tail[sizeof(key) - 1 + 64 + 3];
	size_t want = sizeof(tail), len;
	ssize_t n;
	int rfd, e;

	(void)before;
	*found = false;
	if (c->fd < 0 || c->size < want - 1)
		return 0;
	if (c->size < want)
		want = (size_t)c->size;
	/* The sink's own descriptor only appends: read through another. */
	rfd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (rfd < 0)
		return sink_fail(s, errno, "jsonl %s: reading its last line", c->path);
	n = pread(rfd, tail, want, (off_t)(c->size - want));
	e = errno;
	close(rfd);
	if (n != (ssize_t)want)
		return sink_fail(s, n < 0 ? e : EIO, "jsonl %s: reading its last line", c->path);
	len = want;
	/* ...,"hash":"<64 hex>"}\n */
	if (len < sizeof(tail) - 1 || tail[len - 1] != '\n' || tail[len - 2] != '}' ||
	    tail[len - 3] != '"')
		return 0; /* not a chained line: the chain starts over */
	if (memcmp(tail + len - 3 - 64 - (sizeof(key) - 1), key, sizeof(key) - 1) != 0)
		return 0;
	tail[len - 3] = '\0';
	*found = chain_unhex(tail + len - 3 - 64, hash);
	return 0;
}

static const struct sink_ops jsonl_ops = {
	.name = "jsonl",
	.write = jsonl_write,
	.flush = jsonl_flush,
	.close = jsonl_close,
	.sync = jsonl_sync,
	.undo = jsonl_undo,
	.restore = jsonl_restore,
	.chain_tail = jsonl_chain_tail,
	.purge = jsonl_purge,
};

static struct jsonl_ctx *ctx_new(struct sink *s, size_t flush_at)
{
	struct jsonl_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = -1;
	c->flush_at = flush_at;
	bytebuf_init(&c->pending);
	memset(s, 0, sizeof(*s));
	s->ops = &jsonl_ops;
	s->ctx = c;
	return c;
}

int sink_jsonl_open_stream(struct sink *s, FILE *out, size_t flush_at)
{
	struct jsonl_ctx *c = ctx_new(s, flush_at);

	if (!c)
		return -1;
	c->out = out;
	return 0;
}

int sink_jsonl_open_path(struct sink *s, const char *path, size_t flush_at)
{
	struct jsonl_ctx *c;
	struct stat st;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640), e;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !(c = ctx_new(s, flush_at)))
		goto failed;
	c->fd = fd;
	c->dev = (uint64_t)st.st_dev;
	c->ino = (uint64_t)st.st_ino;
	c->size = (uint64_t)st.st_size;
	c->path = strdup(path);
	s->id = malloc(strlen(path) + sizeof("jsonl "));
	if (!c->path || !s->id) {
		c->fd = -1;
		jsonl_close(s);
		free(s->id);
		s->id = NULL;
		errno = ENOMEM;
		goto failed;
	}
	strcpy(s->id, "jsonl ");
	strcat(s->id, path);
	s->chained = true;
	return 0;
failed:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}
