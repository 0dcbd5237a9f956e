/* IMSpector's file log layout, so existing log readers keep working:
 * DIR/{PROTO}/{local}/{remote}/{YYYY-MM-DD}, one line an event.
 *
 * Lines gather per file and go out at flush(), one write() per file.
 * Directories and files are made when a flush needs them; any failure
 * (a file in the way, no permission, a read-only or full file system)
 * fails that flush with what and where, cuts back what it had written,
 * and leaves nothing half-open: the next flush starts afresh. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sink/sink.h"
#include "sink/sink_retain.h"
#include "util/bytebuf.h"

/* Files kept open between flushes (a conversation writes to one file). */
#define OPEN_FILES_MAX 32

struct log_file {
	char *rel;    /* path under dir */
	int fd;       /* -1: not open */
	uint64_t size; /* as far as we wrote it, when open */
	uint64_t used; /* when last written, for closing the least recently used */
	struct bytebuf pending;
	unsigned undo_mark; /* the undo() call that listed it */
};

struct imspector_ctx {
	char *dir;    /* absolute; NULL: stream mode */
	FILE *stream; /* stream mode output */
	size_t flush_at; /* 0: only at flush() */
	size_t pending_total;
	/* A flush made inside write() failed: the batch it belonged to fails
	 * at its flush() too, so no event of it is taken for written. */
	bool batch_failed;
	struct log_file files[OPEN_FILES_MAX];
	size_t n_files;
	uint64_t clock;
	unsigned undo_mark;
	struct sink_date_cache date;
	struct bytebuf rel;
	struct bytebuf full;
	struct bytebuf pending; /* stream mode */
};

static void file_close(struct log_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

static void file_free(struct log_file *f)
{
	file_close(f);
	free(f->rel);
	bytebuf_free(&f->pending);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

static void drop_pending(struct imspector_ctx *c)
{
	size_t i;

	for (i = 0; i < c->n_files; i++)
		bytebuf_clear(&c->files[i].pending);
	c->pending_total = 0;
}

/* The entry for rel, made (not opened) when missing; NULL: no memory. */
static struct log_file *file_for(struct imspector_ctx *c, const char *rel)
{
	struct log_file *f = NULL;
	size_t i, victim = 0;

	for (i = 0; i < c->n_files; i++)
		if (strcmp(c->files[i].rel, rel) == 0)
			return &c->files[i];
	if (c->n_files < OPEN_FILES_MAX) {
		f = &c->files[c->n_files];
		memset(f, 0, sizeof(*f));
		f->fd = -1;
		bytebuf_init(&f->pending);
		f->rel = strdup(rel);
		if (!f->rel)
			return NULL;
		c->n_files++;
		return f;
	}
	/* Full: reuse the least recently used entry with nothing pending. */
	for (i = 0; i < c->n_files; i++) {
		if (c->files[i].pending.len)
			continue;
		if (!f || c->files[i].used < f->used) {
			f = &c->files[i];
			victim = i;
		}
	}
	if (!f)
		return NULL; /* every entry has lines pending: flush first */
	(void)victim;
	file_close(f);
	free(f->rel);
	f->rel = strdup(rel);
	f->used = 0;
	return f->rel ? f : NULL;
}

static bool full_path(struct imspector_ctx *c, const char *rel)
{
	bytebuf_clear(&c->full);
	return bytebuf_append_str(&c->full, c->dir) && bytebuf_append_byte(&c->full, '/') &&
	       bytebuf_append_str(&c->full, rel) && bytebuf_terminate(&c->full);
}

/* mkdir -p of the directories above path (the full path, writable). */
static int make_parents(struct sink *s, char *path, size_t dir_len)
{
	char *p;

	for (p = path + dir_len + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0750) < 0 && errno != EEXIST) {
			int e = errno;

			sink_fail(s, e, "imspector %s: mkdir", path);
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static int file_open(struct sink *s, struct imspector_ctx *c, struct log_file *f)
{
	struct stat st;
	char *path;

	if (!full_path(c, f->rel))
		return sink_fail(s, ENOMEM, "imspector %s", c->dir);
	path = (char *)c->full.data;
	if (make_parents(s, path, strlen(c->dir)) < 0)
		return -1;
	f->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (f->fd < 0)
		return sink_fail(s, errno, "imspector %s: open", path);
	if (fstat(f->fd, &st) < 0) {
		int e = errno;

		file_close(f);
		return sink_fail(s, e, "imspector %s: fstat", path);
	}
	f->size = (uint64_t)st.st_size;
	return 0;
}

static int file_flush(struct sink *s, struct imspector_ctx *c, struct log_file *f)
{
	const uint8_t *p = f->pending.data;
	size_t n = f->pending.len;

	if (f->fd < 0 && file_open(s, c, f) < 0)
		return -1;
	while (n) {
		ssize_t w = write(f->fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;

			if (ftruncate(f->fd, (off_t)f->size) < 0)
				e = errno;
			file_close(f);
			full_path(c, f->rel);
			return sink_fail(s, e, "imspector %s: write", (char *)c->full.data);
		}
		p += w;
		n -= (size_t)w;
		f->size += (uint64_t)w;
	}
	bytebuf_clear(&f->pending);
	return 0;
}

static int flush_stream(struct sink *s, struct imspector_ctx *c)
{
	size_t n = c->pending.len;

	bytebuf_clear(&c->pending);
	c->pending_total = 0;
	if ((n && fwrite(c->pending.data, 1, n, c->stream) != n) || fflush(c->stream) != 0)
		return sink_fail(s, errno ? errno : EIO, "imspector: output");
	return 0;
}

static int flush_files(struct sink *s, struct imspector_ctx *c)
{
	size_t i;

	for (i = 0; i < c->n_files; i++) {
		if (!c->files[i].pending.len)
			continue;
		if (file_flush(s, c, &c->files[i]) < 0) {
			drop_pending(c);
			return -1;
		}
	}
	c->pending_total = 0;
	return 0;
}

static int imspector_flush(struct sink *s)
{
	struct imspector_ctx *c = s->ctx;
	int rc = c->dir ? flush_files(s, c) : flush_stream(s, c);

	if (c->batch_failed) {
		c->batch_failed = false;
		return -1; /* err still says why */
	}
	return rc;
}

/* A flush inside write(): the table is full, or flush_at was reached. */
static int flush_early(struct sink *s, struct imspector_ctx *c)
{
	int rc = c->dir ? flush_files(s, c) : flush_stream(s, c);

	if (rc < 0)
		c->batch_failed = true;
	return rc;
}

static int imspector_write(struct sink *s, const struct im_event *ev, uint64_t eventid)
{
	struct imspector_ctx *c = s->ctx;
	struct log_file *f;
	struct bytebuf *out;
	size_t before;

	(void)eventid;
	/* IMSpector's log readers know four event types; the other kinds
	 * (login, presence, join...) go to the sinks that can say what they
	 * are. */
	if (event_imspector_type(ev->kind) == IMSPECTOR_TYPE_OTHER)
		return 0;
	bytebuf_clear(&c->rel);
	if (!sink_format_imspector_path(&c->rel, ev, &c->date) || !bytebuf_terminate(&c->rel))
		return sink_fail(s, ENOMEM, "imspector: formatting a path");
	if (!c->dir) {
		out = &c->pending;
		before = out->len;
		if (!bytebuf_append(out, c->rel.data, c->rel.len) || !bytebuf_append(out, ": ", 2))
			goto nomem;
	} else {
		f = file_for(c, (const char *)c->rel.data);
		if (!f) {
			if (flush_early(s, c) < 0)
				return -1;
			f = file_for(c, (const char *)c->rel.data);
		}
		if (!f)
			return sink_fail(s, ENOMEM, "imspector %s", c->dir);
		f->used = ++c->clock;
		out = &f->pending;
		before = out->len;
	}
	if (!sink_format_imspector_line(out, ev) || !bytebuf_append_byte(out, '\n'))
		goto nomem;
	c->pending_total += out->len - before;
	if (c->flush_at && c->pending_total >= c->flush_at)
		return flush_early(s, c);
	return 0;
nomem:
	out->len = before;
	return sink_fail(s, ENOMEM, "imspector: formatting an event");
}

static int imspector_sync(struct sink *s)
{
	struct imspector_ctx *c = s->ctx;
	size_t i;

	for (i = 0; i < c->n_files; i++) {
		if (c->files[i].fd >= 0 && fdatasync(c->files[i].fd) < 0) {
			full_path(c, c->files[i].rel);
			return sink_fail(s, errno, "imspector %s: fdatasync", (char *)c->full.data);
		}
	}
	return 0;
}

/* The file of one event and its size now, once per batch. */
static bool undo_one(struct sink *s, struct imspector_ctx *c, const struct im_event *ev,
		     struct sink_undo *u)
{
	struct log_file *f;
	struct stat st;
	uint64_t dev = 0, ino = 0, size = 0;

	if (event_imspector_type(ev->kind) == IMSPECTOR_TYPE_OTHER)
		return true;
	bytebuf_clear(&c->rel);
	if (!sink_format_imspector_path(&c->rel, ev, &c->date) || !bytebuf_terminate(&c->rel))
		return false;
	f = file_for(c, (const char *)c->rel.data);
	if (!f)
		return false;
	if (f->undo_mark == c->undo_mark)
		return true; /* listed already */
	if (!full_path(c, f->rel))
		return false;
	if (stat((char *)c->full.data, &st) == 0) {
		dev = (uint64_t)st.st_dev;
		ino = (uint64_t)st.st_ino;
		size = (uint64_t)st.st_size;
	}
	(void)s;
	if (!sink_undo_add(u, (char *)c->full.data, dev, ino, size))
		return false;
	f->undo_mark = c->undo_mark;
	return true;
}

static size_t imspector_undo(struct sink *s, const struct im_event *const *evs, size_t n,
			     struct sink_undo *u)
{
	struct imspector_ctx *c = s->ctx;
	size_t i;

	if (!c->dir)
		return n;
	c->undo_mark++;
	if (!c->undo_mark)
		c->undo_mark++; /* 0 means "never listed" */
	/* Nothing is pending between batches, so the file table has room;
	 * a batch with more files than it holds lists a file again after its
	 * entry was reused, with the same size (nothing was written yet). */
	for (i = 0; i < n; i++)
		if (!undo_one(s, c, evs[i], u))
			break;
	if (i == 0 && n > 0)
		sink_fail(s, ENOMEM, "imspector %s: undo record", c->dir);
	return i;
}

static int imspector_restore(struct sink *s, const struct sink_undo *u)
{
	struct imspector_ctx *c = s->ctx;
	struct sink_undo_entry e;
	size_t i;

	if (!c->dir)
		return 0;
	/* Sizes change under the open files: open them afresh later. */
	for (i = 0; i < c->n_files; i++)
		file_close(&c->files[i]);
	for (i = 0; i < u->n; i++) {
		if (!sink_undo_get(u, i, &e))
			continue;
		if (sink_undo_restore_file(e.path, &e) < 0)
			return sink_fail(s, errno, "imspector %s: cutting back", e.path);
	}
	return 0;
}

/* Retention: old day files gzipped, expired ones removed (the layout is
 * outside the chain: nothing to record). The files kept open are closed
 * first; the next event of a day opens its file again. */
static int imspector_purge(struct sink *s, const struct purge_request *req, uint64_t id,
			   struct chain_purge *rec)
{
	struct imspector_ctx *c = s->ctx;
	unsigned gzipped = 0, removed = 0;
	size_t i;

	(void)id;
	(void)rec;
	if (!c->dir)
		return 0;
	for (i = 0; i < c->n_files; i++)
		file_close(&c->files[i]);
	if (retain_imspector(c->dir, req, &gzipped, &removed, s->err, sizeof(s->err)) < 0) {
		s->err_no = errno;
		return -1;
	}
	return 0;
}

static void imspector_close(struct sink *s)
{
	struct imspector_ctx *c = s->ctx;
	size_t i;

	imspector_flush(s);
	for (i = 0; i < c->n_files; i++)
		file_free(&c->files[i]);
	free(c->dir);
	bytebuf_free(&c->rel);
	bytebuf_free(&c->full);
	bytebuf_free(&c->pending);
	free(c);
}

static const struct sink_ops imspector_ops = {
	.name = "imspector",
	.write = imspector_write,
	.flush = imspector_flush,
	.close = imspector_close,
	.sync = imspector_sync,
	.undo = imspector_undo,
	.restore = imspector_restore,
	.purge = imspector_purge,
};

static struct imspector_ctx *ctx_new(struct sink *s)
{
	struct imspector_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	bytebuf_init(&c->rel);
	bytebuf_init(&c->full);
	bytebuf_init(&c->pending);
	memset(s, 0, sizeof(*s));
	s->ops = &imspector_ops;
	s->ctx = c;
	return c;
}

int sink_imspector_open_dir(struct sink *s, const char *dir, size_t flush_at)
{
	struct imspector_ctx *c;
	struct stat st;
	char *abs;

	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -1;
	if (stat(dir, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	/* Absolute: the daemon changes to / when it detaches. */
	abs = realpath(dir, NULL);
	if (!abs)
		return -1;
	c = ctx_new(s);
	if (!c) {
		free(abs);
		return -1;
	}
	c->dir = abs;
	c->flush_at = flush_at;
	s->id = malloc(strlen(abs) + sizeof("imspector "));
	if (!s->id) {
		imspector_close(s);
		errno = ENOMEM;
		return -1;
	}
	strcpy(s->id, "imspector ");
	strcat(s->id, abs);
	return 0;
}

int sink_imspector_open_stream(struct sink *s, FILE *out)
{
	struct imspector_ctx *c = ctx_new(s);

	if (!c)
		return -1;
	c->stream = out;
	c->flush_at = 65536;
	return 0;
}
