/* IMSpector's file log layout, so existing log readers keep working:
 * DIR/{PROTO}/{local}/{remote}/{YYYY-MM-DD}, one line an event.
 *
 * Lines gather per file and go out at flush(), one write() per file.
 * Directories and files are made when a flush needs them; any failure
 * (a file in the way, no permission, a read-only or full file system)
 * fails that flush with what and where, cuts back what it had written,
 * and leaves nothing half-open: the next flush starts afresh.
 *
 * Files stay open between flushes (a conversation writes to one file),
 * up to open_max of them (a quarter of RLIMIT_NOFILE, at most
 * OPEN_FILES_MAX); past that the least recently written is closed. A file
 * is found by its path in a hash table, so thousands of conversations cost
 * no more per event than one. open() comes first and the directories
 * above a file are made only when it says ENOENT: a layout that exists
 * costs no mkdir.
 *
 * The operator may remove, rename or replace a log file (or its
 * directory) while it is open: at most once every RECHECK_MS, before a
 * flush writes to a file it holds open, the path is stat()ed and compared
 * with the descriptor's device and inode; when it is gone or names another
 * file, the descriptor is closed and the path opened (and made) afresh, so
 * lines written after that go to the path, never to a file no longer
 * there. Lines flushed within RECHECK_MS of the removal may still go to the
 * removed file, as with any program that appends to an open file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sink/sink.h"
#include "sink/sink_retain.h"
#include "util/bytebuf.h"

/* Files kept open between flushes, at most (fewer when RLIMIT_NOFILE is
 * low: a quarter of it, so the daemon's sockets and databases keep room). */
#define OPEN_FILES_MAX 1024
#define OPEN_FILES_MIN 8
/* How often a file kept open is checked to be still the one at its path. */
#define RECHECK_MS 1000

struct log_file {
	char *rel;     /* path under dir */
	size_t rel_len;
	uint64_t hash;
	int fd;        /* -1: not open */
	uint64_t size; /* as far as we wrote it, when open */
	uint64_t dev, ino; /* of fd, when open */
	uint64_t checked_ms; /* when the path last was seen to name fd's file */
	struct bytebuf pending;
	unsigned undo_mark; /* the undo() call that listed it */
	struct log_file *hnext;              /* hash chain */
	struct log_file *lru_prev, *lru_next; /* open files, most recent first */
	struct log_file *dirty_next;         /* files with lines pending, in order */
};

struct imspector_ctx {
	char *dir;    /* absolute; NULL: stream mode */
	FILE *stream; /* stream mode output */
	size_t flush_at; /* 0: only at flush() */
	size_t pending_total;
	/* A flush made inside write() failed: the batch it belonged to fails
	 * at its flush() too, so no event of it is taken for written. */
	bool batch_failed;
	struct log_file **buckets; /* hash table of the files known, by rel */
	size_t n_buckets;          /* a power of two */
	size_t n_files;
	struct log_file *lru_head, *lru_tail; /* the open files */
	size_t n_open, open_max;
	struct log_file *dirty_head, **dirty_tail;
	uint64_t now_ms; /* the clock at this flush */
	unsigned undo_mark;
	struct sink_date_cache date;
	struct bytebuf rel;
	struct bytebuf full;
	struct bytebuf pending; /* stream mode */
};

/* The path's hash, eight bytes a step (a path is some 50 bytes, hashed
 * once an event); the fold at the end brings the high bits down to the
 * bucket bits. */
static uint64_t rel_hash(const char *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	if (n) {
		w = 0;
		memcpy(&w, s, n);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static size_t open_max_for_limit(void)
{
	struct rlimit rl;
	size_t n = OPEN_FILES_MAX;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 4 < (rlim_t)n)
		n = (size_t)(rl.rlim_cur / 4);
	return n < OPEN_FILES_MIN ? OPEN_FILES_MIN : n;
}

static void lru_unlink(struct imspector_ctx *c, struct log_file *f)
{
	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		c->lru_head = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		c->lru_tail = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

static void lru_push_front(struct imspector_ctx *c, struct log_file *f)
{
	f->lru_prev = NULL;
	f->lru_next = c->lru_head;
	if (c->lru_head)
		c->lru_head->lru_prev = f;
	else
		c->lru_tail = f;
	c->lru_head = f;
}

static void file_close(struct imspector_ctx *c, struct log_file *f)
{
	if (f->fd < 0)
		return;
	close(f->fd);
	f->fd = -1;
	lru_unlink(c, f);
	c->n_open--;
}

static void close_all(struct imspector_ctx *c)
{
	while (c->lru_head)
		file_close(c, c->lru_head);
}

/* The entry taken out of the table and freed (closed, nothing pending). */
static void file_forget(struct imspector_ctx *c, struct log_file *f)
{
	struct log_file **pp = &c->buckets[f->hash & (c->n_buckets - 1)];

	file_close(c, f);
	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	c->n_files--;
	free(f->rel);
	bytebuf_free(&f->pending);
	free(f);
}

/* Entries neither open nor pending are dropped, so the table holds about
 * open_max files, not every file ever written. */
static void forget_idle(struct imspector_ctx *c)
{
	size_t i;

	for (i = 0; i < c->n_buckets; i++) {
		struct log_file *f = c->buckets[i], *next;

		for (; f; f = next) {
			next = f->hnext;
			if (f->fd < 0 && !f->pending.len)
				file_forget(c, f);
		}
	}
}

static void drop_pending(struct imspector_ctx *c)
{
	struct log_file *f;

	for (f = c->dirty_head; f; f = f->dirty_next)
		bytebuf_clear(&f->pending);
	c->dirty_head = NULL;
	c->dirty_tail = &c->dirty_head;
	c->pending_total = 0;
}

static bool table_grow(struct imspector_ctx *c)
{
	size_t n = c->n_buckets ? c->n_buckets * 2 : 64, i;
	struct log_file **b = calloc(n, sizeof(*b));

	if (!b)
		return false;
	for (i = 0; i < c->n_buckets; i++) {
		struct log_file *f = c->buckets[i], *next;

		for (; f; f = next) {
			next = f->hnext;
			f->hnext = b[f->hash & (n - 1)];
			b[f->hash & (n - 1)] = f;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->n_buckets = n;
	return true;
}

/* The entry for rel, made (not opened) when missing; NULL: no memory. */
static struct log_file *file_for(struct imspector_ctx *c, const char *rel, size_t len)
{
	uint64_t h = rel_hash(rel, len);
	struct log_file *f;

	if (c->n_buckets) {
		for (f = c->buckets[h & (c->n_buckets - 1)]; f; f = f->hnext)
			if (f->hash == h && f->rel_len == len && memcmp(f->rel, rel, len) == 0)
				return f;
	}
	if (c->n_files >= c->n_buckets && !table_grow(c))
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->rel = malloc(len + 1);
	if (!f->rel) {
		free(f);
		return NULL;
	}
	memcpy(f->rel, rel, len);
	f->rel[len] = '\0';
	f->rel_len = len;
	f->hash = h;
	f->fd = -1;
	bytebuf_init(&f->pending);
	f->hnext = c->buckets[h & (c->n_buckets - 1)];
	c->buckets[h & (c->n_buckets - 1)] = f;
	c->n_files++;
	return f;
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

static int open_append(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
}

static int file_open(struct sink *s, struct imspector_ctx *c, struct log_file *f)
{
	struct stat st;
	char *path;
	int fd;

	if (!full_path(c, f->rel))
		return sink_fail(s, ENOMEM, "imspector %s", c->dir);
	path = (char *)c->full.data;
	fd = open_append(path);
	if (fd < 0 && errno == ENOENT) {
		/* A directory above it is missing (new, or removed). */
		if (make_parents(s, path, strlen(c->dir)) < 0)
			return -1;
		fd = open_append(path);
	}
	if (fd < 0)
		return sink_fail(s, errno, "imspector %s: open", path);
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return sink_fail(s, e, "imspector %s: fstat", path);
	}
	f->fd = fd;
	f->size = (uint64_t)st.st_size;
	f->dev = (uint64_t)st.st_dev;
	f->ino = (uint64_t)st.st_ino;
	f->checked_ms = c->now_ms;
	lru_push_front(c, f);
	c->n_open++;
	/* Over the bound: the least recently written goes (never f). */
	while (c->n_open > c->open_max && c->lru_tail != f)
		file_close(c, c->lru_tail);
	return 0;
}

/* A file held open still at its path? Else closed, to be opened afresh. */
static void file_recheck(struct imspector_ctx *c, struct log_file *f)
{
	struct stat st;

	if (f->fd < 0 || c->now_ms - f->checked_ms < RECHECK_MS)
		return;
	if (full_path(c, f->rel) && stat((char *)c->full.data, &st) == 0 &&
	    (uint64_t)st.st_dev == f->dev && (uint64_t)st.st_ino == f->ino) {
		f->checked_ms = c->now_ms;
		return;
	}
	file_close(c, f);
}

static int file_flush(struct sink *s, struct imspector_ctx *c, struct log_file *f)
{
	const uint8_t *p = f->pending.data;
	size_t n = f->pending.len;

	file_recheck(c, f);
	if (f->fd < 0 && file_open(s, c, f) < 0)
		return -1;
	if (c->lru_head != f) {
		lru_unlink(c, f);
		lru_push_front(c, f);
	}
	while (n) {
		ssize_t w = write(f->fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;

			if (ftruncate(f->fd, (off_t)f->size) < 0)
				e = errno;
			file_close(c, f);
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
	struct log_file *f;

	c->now_ms = monotonic_ms();
	for (f = c->dirty_head; f; f = f->dirty_next) {
		if (file_flush(s, c, f) < 0) {
			drop_pending(c);
			return -1;
		}
	}
	c->dirty_head = NULL;
	c->dirty_tail = &c->dirty_head;
	c->pending_total = 0;
	if (c->n_files > 2 * c->open_max)
		forget_idle(c);
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
		f = file_for(c, (const char *)c->rel.data, c->rel.len);
		if (!f)
			return sink_fail(s, ENOMEM, "imspector %s", c->dir);
		out = &f->pending;
		before = out->len;
		if (!before) {
			f->dirty_next = NULL;
			*c->dirty_tail = f;
			c->dirty_tail = &f->dirty_next;
		}
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
	struct log_file *f;

	for (f = c->lru_head; f; f = f->lru_next) {
		if (fdatasync(f->fd) < 0) {
			full_path(c, f->rel);
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
	f = file_for(c, (const char *)c->rel.data, c->rel.len);
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
	close_all(c);
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

	(void)id;
	(void)rec;
	if (!c->dir)
		return 0;
	close_all(c);
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
	for (i = 0; i < c->n_buckets; i++)
		while (c->buckets[i])
			file_forget(c, c->buckets[i]);
	free(c->buckets);
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
	c->dirty_tail = &c->dirty_head;
	c->open_max = open_max_for_limit();
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
