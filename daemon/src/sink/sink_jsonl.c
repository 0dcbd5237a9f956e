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

#include "sink/sink.h"
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

static void jsonl_close(struct sink *s)
{
	struct jsonl_ctx *c = s->ctx;

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

static const struct sink_ops jsonl_ops = {
	.name = "jsonl",
	.write = jsonl_write,
	.flush = jsonl_flush,
	.close = jsonl_close,
	.sync = jsonl_sync,
	.undo = jsonl_undo,
	.restore = jsonl_restore,
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
	return 0;
failed:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}
