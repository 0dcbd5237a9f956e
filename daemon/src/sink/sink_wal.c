#include "sink/sink_wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imwire/byteorder.h"
#include "util/crc32.h"

static const char segment_magic[8] = { 'I', 'M', 'W', 'W', 'A', 'L', '0', '1' };
#define FRAME_MAGIC 0x46574D49u /* "IMWF" */

static uint32_t crc(const uint8_t *p, size_t n)
{
	return imw_crc32(0, p, n);
}

void wal_own(const struct wal *w, const char *path)
{
	/* Best effort: a file the daemon user cannot write shows later, as
	 * an append that fails with its reason. */
	if (w->owner.uid >= 0 && chown(path, (uid_t)w->owner.uid, (gid_t)w->owner.gid) < 0)
		return;
}

/* mkdir -p; each directory made here goes to the log's owner. */
static int mkdir_p(const struct wal *w, const char *dir, mode_t mode)
{
	char *path = strdup(dir), *p;
	int rc = 0;

	if (!path)
		return -1;
	for (p = path + 1; rc == 0; p++) {
		char c;

		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(path, mode) == 0)
			wal_own(w, path);
		else if (errno != EEXIST)
			rc = -1;
		*p = c;
		if (!c)
			break;
	}
	free(path);
	return rc;
}

static bool full_pread(int fd, void *buf, size_t n, uint64_t off)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = pread(fd, p, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EBADMSG; /* shorter than its headers say */
			return false;
		}
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return true;
}

static bool full_write(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static char *segment_path(const char *wal_dir, uint64_t first)
{
	size_t n = strlen(wal_dir) + 1 + 16 + sizeof(".wal");
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%016" PRIx64 ".wal", wal_dir, first);
	return p;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct frame_header {
	uint32_t body_len;
	uint64_t first_seq;
	uint32_t count;
	uint32_t body_crc;
	uint64_t time_us;
};

static bool parse_header(const uint8_t *h, struct frame_header *fh)
{
	if (imw_load_le32(h) != FRAME_MAGIC || imw_load_le32(h + 32) != crc(h, 32))
		return false;
	fh->body_len = imw_load_le32(h + 4);
	fh->first_seq = imw_load_le64(h + 8);
	fh->count = imw_load_le32(h + 16);
	fh->body_crc = imw_load_le32(h + 20);
	fh->time_us = imw_load_le64(h + 24);
	return fh->body_len <= WAL_FRAME_BODY_MAX && fh->count > 0 &&
	       fh->first_seq + fh->count > fh->first_seq;
}

void wal_frame_seal(uint8_t *frame, size_t len, uint32_t count)
{
	size_t body = len - WAL_FRAME_HEADER;

	memset(frame, 0, WAL_FRAME_HEADER);
	imw_store_le32(frame, FRAME_MAGIC);
	imw_store_le32(frame + 4, (uint32_t)body);
	imw_store_le32(frame + 16, count);
	imw_store_le32(frame + 20, crc(frame + WAL_FRAME_HEADER, body));
}

/* ---- the lock ---- */

static int take_lock(struct wal *w, char *err, size_t err_size)
{
	char path[4096], pid[32];
	ssize_t n;


	snprintf(path, sizeof(path), "%s/lock", w->dir);
	w->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (w->lock_fd < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	wal_own(w, path);
	if (flock(w->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		n = pread(w->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (e == EWOULDBLOCK)
			snprintf(err, err_size,
				 "%s is in use by another process (pid %s): two instances never "
				 "share a spool; give each its own spool_dir",
				 w->dir, pid[0] ? pid : "unknown");
		else
			snprintf(err, err_size, "%s: flock: %s", path, strerror(e));
		return -1;
	}
	if (wal_note_pid(w) < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int wal_note_pid(const struct wal *w)
{
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());

	if (ftruncate(w->lock_fd, 0) < 0 || pwrite(w->lock_fd, pid, (size_t)n, 0) != n)
		return -1;
	return 0;
}

/* ---- segments ---- */

static bool segs_push(struct wal *w, uint64_t first, uint64_t bytes)
{
	if (w->n_segs == w->cap_segs) {
		size_t cap = w->cap_segs ? w->cap_segs * 2 : 8;
		struct wal_segment *s = realloc(w->segs, cap * sizeof(*s));

		if (!s)
			return false;
		w->segs = s;
		w->cap_segs = cap;
	}
	w->segs[w->n_segs++] = (struct wal_segment){ first, bytes, 0 };
	return true;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct wal_segment *x = a, *y = b;

	return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

static int list_segments(struct wal *w)
{
	DIR *d = opendir(w->wal_dir);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char *end;
		uint64_t first;

		if (strlen(de->d_name) != 20 || strcmp(de->d_name + 16, ".wal") != 0)
			continue;
		first = strtoull(de->d_name, &end, 16);
		if (end != de->d_name + 16)
			continue;
		if (!segs_push(w, first, 0)) {
			rc = -1;
			break;
		}
	}
	closedir(d);
	if (w->n_segs)
		qsort(w->segs, w->n_segs, sizeof(*w->segs), cmp_seg);
	return rc;
}

/* Read a segment back: its complete frames; cut what follows them. Bodies
 * are checked in the last segment (where a crash tears) and read back
 * later by the sinks everywhere. */
static int scan_segment(struct wal *w, struct wal_segment *s, bool last, uint64_t *max_end)
{
	char *path = segment_path(w->wal_dir, s->first_seq);
	uint8_t h[WAL_FRAME_HEADER];
	struct frame_header fh;
	struct stat st;
	uint8_t *body = NULL;
	uint64_t off = WAL_SEGMENT_HEADER, size;
	int fd = -1, rc = -1;

	if (!path)
		return -1;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		goto out;
	size = (uint64_t)st.st_size;
	if (size < WAL_SEGMENT_HEADER || !full_pread(fd, h, WAL_SEGMENT_HEADER, 0) ||
	    memcmp(h, segment_magic, 8) != 0) {
		/* Cut before its header was complete: rewrite it empty. */
		uint8_t hdr[WAL_SEGMENT_HEADER] = { 0 };

		memcpy(hdr, segment_magic, 8);
		imw_store_le64(hdr + 8, s->first_seq);
		if (ftruncate(fd, 0) < 0 || pwrite(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
			goto out;
		w->torn_bytes += size;
		size = WAL_SEGMENT_HEADER;
	}
	while (size - off >= WAL_FRAME_HEADER) {
		if (!full_pread(fd, h, WAL_FRAME_HEADER, off) || !parse_header(h, &fh) ||
		    size - off - WAL_FRAME_HEADER < fh.body_len || fh.first_seq < s->first_seq)
			break;
		if (last) {
			uint8_t *nb = realloc(body, fh.body_len ? fh.body_len : 1);

			if (!nb)
				goto out;
			body = nb;
			if (!full_pread(fd, body, fh.body_len, off + WAL_FRAME_HEADER) ||
			    crc(body, fh.body_len) != fh.body_crc)
				break;
		}
		if (fh.first_seq + fh.count > *max_end)
			*max_end = fh.first_seq + fh.count;
		w->events_at_open += fh.count;
		s->events += fh.count;
		off += WAL_FRAME_HEADER + fh.body_len;
	}
	if (off < size) {
		if (last)
			w->torn_bytes += size - off;
		else
			w->damaged_frames++;
		if (ftruncate(fd, (off_t)off) < 0 || fdatasync(fd) < 0)
			goto out;
	}
	s->bytes = off;
	w->total_bytes += off;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(body);
	free(path);
	return rc;
}

/* A new, empty last segment whose events start at first. */
static int segment_create(struct wal *w, uint64_t first)
{
	uint8_t hdr[WAL_SEGMENT_HEADER] = { 0 };
	char *path = segment_path(w->wal_dir, first);
	int fd, e;

	if (!path)
		return -1;
	memcpy(hdr, segment_magic, 8);
	imw_store_le64(hdr + 8, first);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd >= 0)
		wal_own(w, path);
	if (fd < 0 || !full_write(fd, hdr, sizeof(hdr))) {
		e = errno;
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		free(path);
		errno = e;
		return -1;
	}
	free(path);
	if (!segs_push(w, first, WAL_SEGMENT_HEADER)) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	if (w->tail_fd >= 0) {
		/* Rolled over: synced later, by whoever syncs. */
		if (w->n_unsynced == w->cap_unsynced) {
			size_t cap = w->cap_unsynced ? w->cap_unsynced * 2 : 4;
			int *u = realloc(w->unsynced, cap * sizeof(*u));

			if (!u) {
				fdatasync(w->tail_fd);
				close(w->tail_fd);
				w->tail_fd = -1;
			} else {
				w->unsynced = u;
				w->cap_unsynced = cap;
			}
		}
		if (w->tail_fd >= 0)
			w->unsynced[w->n_unsynced++] = w->tail_fd;
	}
	w->tail_fd = fd;
	w->total_bytes += WAL_SEGMENT_HEADER;
	w->dir_unsynced = true;
	return 0;
}

int wal_open(struct wal *w, const char *dir, uint64_t min_next_seq, uint64_t segment_max,
	     const struct wal_owner *owner, char *err, size_t err_size)
{
	uint64_t max_end = 0, t;
	size_t i, n;

	memset(w, 0, sizeof(*w));
	w->owner.uid = owner ? owner->uid : -1;
	w->owner.gid = owner ? owner->gid : -1;
	w->lock_fd = -1;
	w->tail_fd = -1;
	w->segment_max = segment_max ? segment_max : WAL_DEFAULT_SEGMENT_BYTES;
	w->dir = strdup(dir);
	n = strlen(dir) + sizeof("/wal");
	w->wal_dir = malloc(n);
	if (!w->dir || !w->wal_dir) {
		snprintf(err, err_size, "out of memory");
		goto failed;
	}
	snprintf(w->wal_dir, n, "%s/wal", dir);
	if (mkdir_p(w, dir, 0750) < 0) {
		snprintf(err, err_size, "%s: cannot create: %s", dir, strerror(errno));
		goto failed;
	}
	if (take_lock(w, err, err_size) < 0)
		goto failed;
	if (mkdir(w->wal_dir, 0750) == 0) {
		wal_own(w, w->wal_dir);
	} else if (errno != EEXIST) {
		snprintf(err, err_size, "%s: cannot create: %s", w->wal_dir, strerror(errno));
		goto failed;
	}
	if (list_segments(w) < 0) {
		snprintf(err, err_size, "%s: %s", w->wal_dir, strerror(errno));
		goto failed;
	}
	for (i = 0; i < w->n_segs; i++) {
		if (scan_segment(w, &w->segs[i], i + 1 == w->n_segs, &max_end) < 0) {
			snprintf(err, err_size, "%s: reading back segment %016" PRIx64 ": %s",
				 w->wal_dir, w->segs[i].first_seq, strerror(errno));
			goto failed;
		}
		if (w->segs[i].first_seq > max_end)
			max_end = w->segs[i].first_seq;
	}
	w->first_seq_at_open = w->n_segs ? w->segs[0].first_seq : 0;
	/* Above everything seen and above the clock: ids stay unique even
	 * when the log was removed, as long as the clock does not go back
	 * further than the events went forward. */
	t = now_us();
	w->next_seq = max_end;
	if (w->next_seq < min_next_seq)
		w->next_seq = min_next_seq;
	if (w->next_seq < t)
		w->next_seq = t;
	if (w->n_segs) {
		char *path = segment_path(w->wal_dir, w->segs[w->n_segs - 1].first_seq);

		w->tail_fd = path ? open(path, O_WRONLY | O_APPEND | O_CLOEXEC) : -1;
		free(path);
		if (w->tail_fd < 0) {
			snprintf(err, err_size, "%s: %s", w->wal_dir, strerror(errno));
			goto failed;
		}
	} else if (segment_create(w, w->next_seq) < 0) {
		snprintf(err, err_size, "%s: cannot create a segment: %s", w->wal_dir,
			 strerror(errno));
		goto failed;
	}
	if (!w->n_segs)
		w->first_seq_at_open = w->next_seq;
	return 0;
failed:
	wal_close(w);
	return -1;
}

void wal_close(struct wal *w)
{
	struct wal_sync_work work;
	size_t i;

	if (w->wal_dir && wal_sync_begin(w, &work) == 0)
		wal_sync_run(&work);
	for (i = 0; i < w->n_unsynced; i++)
		close(w->unsynced[i]);
	if (w->tail_fd >= 0)
		close(w->tail_fd);
	if (w->lock_fd >= 0)
		close(w->lock_fd); /* releases the flock */
	free(w->unsynced);
	free(w->segs);
	free(w->dir);
	free(w->wal_dir);
	memset(w, 0, sizeof(*w));
	w->lock_fd = -1;
	w->tail_fd = -1;
}

uint64_t wal_first_seq(const struct wal *w)
{
	return w->n_segs ? w->segs[0].first_seq : w->next_seq;
}

int wal_append(struct wal *w, uint8_t *frame, size_t len, uint32_t count, uint64_t time_us,
	       uint64_t *first_seq, struct wal_pos *pos)
{
	struct wal_segment *last;
	uint64_t first = w->next_seq;
	int e;

	*first_seq = first;
	w->next_seq += count;
	imw_store_le64(frame + 8, first);
	imw_store_le64(frame + 24, time_us);
	imw_store_le32(frame + 32, crc(frame, 32));
	last = w->n_segs ? &w->segs[w->n_segs - 1] : NULL;
	/* Roll over at the size, or when the last segment could not be
	 * appended to (its file gone bad). */
	if (!last || w->tail_fd < 0 || last->bytes >= w->segment_max) {
		if (segment_create(w, first) < 0)
			return -1;
		last = &w->segs[w->n_segs - 1];
	}
	if (!full_write(w->tail_fd, frame, len)) {
		e = errno;
		/* Nothing of a refused frame stays: the next frame must follow
		 * the last complete one. If even that fails, a new segment. */
		if (ftruncate(w->tail_fd, (off_t)last->bytes) < 0) {
			close(w->tail_fd);
			w->tail_fd = -1;
		}
		errno = e;
		return -1;
	}
	pos->seg = last->first_seq;
	pos->off = last->bytes;
	last->bytes += len;
	last->events += count;
	w->total_bytes += len;
	return 0;
}

int wal_locate(const struct wal *w, uint64_t seq, struct wal_pos *pos)
{
	uint8_t h[WAL_FRAME_HEADER];
	struct frame_header fh;
	const struct wal_segment *s;
	uint64_t off;
	size_t i = 0;
	char *path;
	int fd;

	if (!w->n_segs) {
		errno = ENOENT;
		return -1;
	}
	while (i + 1 < w->n_segs && w->segs[i + 1].first_seq <= seq)
		i++;
	s = &w->segs[i];
	pos->seg = s->first_seq;
	pos->off = WAL_SEGMENT_HEADER;
	path = segment_path(w->wal_dir, s->first_seq);
	fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	free(path);
	if (fd < 0)
		return -1;
	for (off = WAL_SEGMENT_HEADER; s->bytes - off >= WAL_FRAME_HEADER;) {
		if (!full_pread(fd, h, WAL_FRAME_HEADER, off) || !parse_header(h, &fh))
			break;
		if (fh.first_seq + fh.count > seq)
			break;
		off += WAL_FRAME_HEADER + fh.body_len;
	}
	close(fd);
	if (off >= s->bytes && i + 1 < w->n_segs) {
		pos->seg = w->segs[i + 1].first_seq;
		pos->off = WAL_SEGMENT_HEADER;
	} else {
		pos->off = off;
	}
	return 0;
}

uint64_t wal_count_events(const struct wal *w, uint64_t seg, uint64_t from_seq)
{
	uint8_t h[WAL_FRAME_HEADER];
	struct frame_header fh;
	const struct wal_segment *s = NULL;
	uint64_t off, n = 0;
	size_t i;
	char *path;
	int fd;

	for (i = 0; i < w->n_segs; i++)
		if (w->segs[i].first_seq == seg)
			s = &w->segs[i];
	if (!s)
		return 0;
	if (from_seq <= s->first_seq)
		return s->events;
	path = segment_path(w->wal_dir, seg);
	fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	free(path);
	if (fd < 0)
		return 0;
	for (off = WAL_SEGMENT_HEADER; s->bytes - off >= WAL_FRAME_HEADER;) {
		if (!full_pread(fd, h, WAL_FRAME_HEADER, off) || !parse_header(h, &fh))
			break;
		if (fh.first_seq + fh.count > from_seq)
			n += fh.first_seq >= from_seq ? fh.count : fh.first_seq + fh.count - from_seq;
		off += WAL_FRAME_HEADER + fh.body_len;
	}
	close(fd);
	return n;
}

static void remove_first_segment(struct wal *w)
{
	char *path = segment_path(w->wal_dir, w->segs[0].first_seq);

	if (path)
		unlink(path);
	free(path);
	w->total_bytes -= w->segs[0].bytes;
	memmove(w->segs, w->segs + 1, (w->n_segs - 1) * sizeof(*w->segs));
	w->n_segs--;
	w->dir_unsynced = true;
}

uint64_t wal_trim(struct wal *w, uint64_t seq)
{
	uint64_t freed = 0;

	while (w->n_segs > 1 && w->segs[1].first_seq <= seq) {
		freed += w->segs[0].bytes;
		remove_first_segment(w);
	}
	return freed;
}

bool wal_drop_oldest(struct wal *w, uint64_t *first, uint64_t *end)
{
	if (w->n_segs < 2)
		return false;
	*first = w->segs[0].first_seq;
	*end = w->segs[1].first_seq;
	remove_first_segment(w);
	return true;
}

int wal_sync_begin(struct wal *w, struct wal_sync_work *work)
{
	size_t n = w->n_unsynced + (w->tail_fd >= 0 ? 1 : 0);

	memset(work, 0, sizeof(*work));
	work->dir_fd = -1;
	work->fds = malloc((n ? n : 1) * sizeof(int));
	if (!work->fds)
		return -1;
	if (w->n_unsynced)
		memcpy(work->fds, w->unsynced, w->n_unsynced * sizeof(int));
	work->n = w->n_unsynced;
	w->n_unsynced = 0;
	/* The tail stays ours: sync a duplicate, which run() closes. */
	if (w->tail_fd >= 0) {
		int fd = fcntl(w->tail_fd, F_DUPFD_CLOEXEC, 0);

		if (fd >= 0)
			work->fds[work->n++] = fd;
	}
	if (w->dir_unsynced) {
		work->dir_fd = open(w->wal_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		w->dir_unsynced = false;
	}
	return 0;
}

int wal_sync_run(struct wal_sync_work *work)
{
	int rc = 0, e = 0;
	size_t i;

	for (i = 0; i < work->n; i++) {
		if (fdatasync(work->fds[i]) < 0 && !e)
			e = errno;
		close(work->fds[i]);
	}
	if (work->dir_fd >= 0) {
		if (fsync(work->dir_fd) < 0 && !e)
			e = errno;
		close(work->dir_fd);
	}
	free(work->fds);
	memset(work, 0, sizeof(*work));
	if (e) {
		errno = e;
		rc = -1;
	}
	return rc;
}

void wal_read_limit_of(const struct wal *w, uint64_t seg, struct wal_read_limit *lim)
{
	size_t i;

	memset(lim, 0, sizeof(*lim));
	lim->seg = seg;
	for (i = 0; i < w->n_segs; i++) {
		if (w->segs[i].first_seq != seg)
			continue;
		lim->seg_end = w->segs[i].bytes;
		if (i + 1 < w->n_segs)
			lim->next_seg = w->segs[i + 1].first_seq;
		return;
	}
	/* Gone (dropped at the size bound): the first segment after it. */
	for (i = 0; i < w->n_segs; i++) {
		if (w->segs[i].first_seq > seg) {
			lim->next_seg = w->segs[i].first_seq;
			return;
		}
	}
}

void wal_reader_init(struct wal_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	bytebuf_init(&r->buf);
}

void wal_reader_free(struct wal_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	bytebuf_free(&r->buf);
	free(r->frames);
	wal_reader_init(r);
}

static int reader_open(struct wal_reader *r, const struct wal *w, uint64_t seg)
{
	char *path;

	if (r->fd >= 0 && r->seg == seg)
		return 0;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	path = segment_path(w->wal_dir, seg);
	if (!path) {
		errno = ENOMEM;
		return -1;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (r->fd < 0)
		return -1;
	r->seg = seg;
	return 0;
}

static bool push_frame(struct wal_reader *r, const struct wal_frame *f)
{
	if (r->n_frames == r->cap_frames) {
		size_t cap = r->cap_frames ? r->cap_frames * 2 : 16;
		struct wal_frame *nf = realloc(r->frames, cap * sizeof(*nf));

		if (!nf)
			return false;
		r->frames = nf;
		r->cap_frames = cap;
	}
	r->frames[r->n_frames++] = *f;
	return true;
}

int wal_read(struct wal_reader *r, const struct wal *w, const struct wal_read_limit *lim,
	     struct wal_pos *pos, uint64_t min_seq, size_t max_events)
{
	uint8_t h[WAL_FRAME_HEADER];
	struct frame_header fh;
	size_t events = 0;

	bytebuf_clear(&r->buf);
	r->n_frames = 0;
	if (pos->seg != lim->seg)
		return 0; /* the caller's limit is for another segment */
	/* A segment that went (dropped at the size bound) continues at the
	 * next one the caller knows of. */
	if (!lim->seg_end) {
		if (lim->next_seg) {
			pos->seg = lim->next_seg;
			pos->off = WAL_SEGMENT_HEADER;
		}
		return 0;
	}
	if (reader_open(r, w, pos->seg) < 0)
		return -1;
	while (events < max_events) {
		struct wal_frame f;

		if (lim->seg_end - pos->off < WAL_FRAME_HEADER) {
			/* This segment is read to its end: on to the next, if any. */
			if (lim->next_seg && !r->n_frames) {
				pos->seg = lim->next_seg;
				pos->off = WAL_SEGMENT_HEADER;
			}
			break;
		}
		if (!full_pread(r->fd, h, WAL_FRAME_HEADER, pos->off))
			return -1;
		if (!parse_header(h, &fh) || lim->seg_end - pos->off - WAL_FRAME_HEADER < fh.body_len) {
			errno = EBADMSG;
			return -1;
		}
		if (fh.first_seq + fh.count <= min_seq) {
			pos->off += WAL_FRAME_HEADER + fh.body_len;
			continue;
		}
		if (!bytebuf_reserve(&r->buf, fh.body_len)) {
			errno = ENOMEM;
			return -1;
		}
		if (!full_pread(r->fd, r->buf.data + r->buf.len, fh.body_len, pos->off + WAL_FRAME_HEADER))
			return -1;
		if (crc(r->buf.data + r->buf.len, fh.body_len) != fh.body_crc) {
			errno = EBADMSG;
			return -1;
		}
		f.first_seq = fh.first_seq;
		f.count = fh.count;
		f.time_us = fh.time_us;
		f.body = r->buf.len;
		f.body_len = fh.body_len;
		f.pos = *pos;
		if (!push_frame(r, &f)) {
			errno = ENOMEM;
			return -1;
		}
		r->buf.len += fh.body_len;
		events += fh.first_seq >= min_seq ? fh.count : fh.first_seq + fh.count - min_seq;
		pos->off += WAL_FRAME_HEADER + fh.body_len;
	}
	return 0;
}
