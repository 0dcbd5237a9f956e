/* Retention of the file sinks (sink_retain.h). */
#include "sink/sink_retain.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "archive/jsonl_row.h"

#define COPY_CHUNK 65536

/* err = "WHAT PATH: strerror(e)"; errno = e; -1. */
static int fail(char *err, size_t err_size, int e, const char *what, const char *path)
{
	snprintf(err, err_size, "%s%s%s: %s", what, *what ? " " : "", path, strerror(e));
	errno = e;
	return -1;
}

/* ---- gzip ---- */

static int gzip_copy(int in, gzFile out)
{
	char buf[COPY_CHUNK];
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (gzwrite(out, buf, (unsigned)n) != (int)n)
			return -1;
	return n < 0 ? -1 : 0;
}

int retain_gzip(const char *path, char *err, size_t err_size)
{
	char gz[4096];
	struct stat st;
	struct timespec times[2];
	gzFile out;
	int in, fd, e;

	if ((size_t)snprintf(gz, sizeof(gz), "%s.gz", path) >= sizeof(gz))
		return fail(err, err_size, ENAMETOOLONG, "", path);
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0) {
		e = errno;
		if (in >= 0)
			close(in);
		return fail(err, err_size, e, "gzip", path);
	}
	fd = open(gz, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 0777);
	if (fd < 0) {
		e = errno;
		close(in);
		return fail(err, err_size, e, "gzip", gz);
	}
	out = gzdopen(dup(fd), "wb9");
	e = !out || gzip_copy(in, out) < 0 ? (errno ? errno : EIO) : 0;
	if (out && gzclose(out) != Z_OK && !e)
		e = EIO;
	if (!e && fdatasync(fd) < 0)
		e = errno;
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	if (!e)
		futimens(fd, times);
	if (!e && fchown(fd, st.st_uid, st.st_gid) < 0 && errno != EPERM)
		e = errno;
	close(fd);
	close(in);
	if (e) {
		unlink(gz);
		return fail(err, err_size, e, "gzip", path);
	}
	if (unlink(path) < 0)
		return fail(err, err_size, errno, "gzip removing", path);
	return 0;
}

/* ---- JSON lines: the plan ---- */

/* Calls fn for each event line of the file (gzip or not). */
static int each_row(const char *path, int (*fn)(void *arg, const struct verify_row *r),
		    void *arg, char *err, size_t err_size)
{
	gzFile f = gzopen(path, "rb");
	struct jsonl_row j;
	struct verify_row r;
	char *line = NULL;
	size_t cap = 0, len = 0;
	int rc = 0, c;

	if (!f)
		return fail(err, err_size, errno ? errno : ENOMEM, "", path);
	jsonl_row_init(&j);
	while (rc == 0) {
		c = gzgetc(f);
		if (c != '\n' && c != -1) {
			if (len + 2 > cap) {
				char *grown = realloc(line, cap ? cap * 2 : 4096);

				if (!grown) {
					rc = fail(err, err_size, ENOMEM, "", path);
					break;
				}
				line = grown;
				cap = cap ? cap * 2 : 4096;
			}
			line[len++] = (char)c;
			continue;
		}
		if (len) {
			line[len] = '\0';
			if (jsonl_row_parse(&j, line, &r))
				rc = fn(arg, &r);
			len = 0;
		}
		if (c == -1)
			break;
	}
	free(line);
	jsonl_row_free(&j);
	if (gzclose_r(f) != Z_OK && rc == 0)
		rc = fail(err, err_size, EIO, "", path);
	return rc < 0 ? -1 : 0;
}

struct survey {
	uint64_t id;
	int64_t before_us;
	bool found;     /* the record of id is there */
	uint64_t prev_to; /* the `to` of the last purge before id */
	uint64_t to;    /* the last id below id older than the cutoff */
	bool bad_record;
};

static int survey_row(void *arg, const struct verify_row *r)
{
	struct survey *s = arg;
	struct chain_purge p;

	if (r->f.eventid == s->id)
		s->found = true;
	if (r->f.eventid >= s->id)
		return 0;
	if (r->f.action && strcmp(r->f.action, "purge") == 0) {
		if (chain_purge_parse(r->f.text, &p))
			s->prev_to = p.to;
		else
			s->bad_record = true;
	}
	if (r->f.ts_us < s->before_us && r->f.eventid > s->to)
		s->to = r->f.eventid;
	return 0;
}

static int plan_row(void *arg, const struct verify_row *r)
{
	purge_plan_row(arg, r->f.eventid, r->f.ts_us, r->f.local, r->f.kind,
		       r->has_hash ? r->hash : NULL);
	return 0;
}

int retain_jsonl_plan(const char *path, const struct purge_request *req, uint64_t id,
		      struct purge_plan *pl, char **hold_copy, char *err, size_t err_size)
{
	struct survey s = { id, req->before_us, false, 0, 0, false };
	int rc;

	*hold_copy = NULL;
	if (each_row(path, survey_row, &s, err, err_size) < 0)
		return -1;
	if (s.bad_record) {
		snprintf(err, err_size, "jsonl %s: a purge record that does not parse", path);
		return -1;
	}
	/* A purge covers all before it (purge.h): never less than the last. */
	if (s.to < s.prev_to)
		s.to = s.prev_to;
	if (s.found || !s.to)
		return 0;
	*hold_copy = strdup(req->hold);
	if (!*hold_copy || !purge_plan_begin(pl, 0, s.to, req->before_us, *hold_copy)) {
		free(*hold_copy);
		*hold_copy = NULL;
		return fail(err, err_size, ENOMEM, "jsonl retention", path);
	}
	rc = each_row(path, plan_row, pl, err, err_size);
	if (rc == 0 && !purge_plan_end(pl))
		rc = fail(err, err_size, ENOMEM, "jsonl retention", path);
	if (rc < 0 || !pl->p.removed) {
		/* A failure, or all of it held: no record. */
		purge_plan_free(pl);
		free(*hold_copy);
		*hold_copy = NULL;
		return rc;
	}
	return 1;
}

/* ---- JSON lines: the rewrite ---- */

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The event id of a line, 0 when it has none ("eventid":N, as
 * sink_format.c writes it: a number). */
static uint64_t line_id(const char *line)
{
	const char *p = strstr(line, "\"eventid\":");

	return p ? strtoull(p + 10, NULL, 10) : 0;
}

/* Copies the lines of in the plan keeps to out. */
static int copy_kept(FILE *in, int out, const struct purge_plan *pl)
{
	char *line = NULL;
	size_t cap = 0, cursor = 0;
	ssize_t n;
	int rc = 0;

	while (rc == 0 && (n = getline(&line, &cap, in)) > 0) {
		uint64_t id = line_id(line);

		if (id && purge_plan_removes(pl, id, &cursor))
			continue;
		rc = write_all(out, line, (size_t)n);
	}
	if (ferror(in))
		rc = -1;
	free(line);
	return rc;
}

static void sync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int retain_jsonl_rewrite(const char *path, const struct purge_plan *pl, const uint8_t *tail,
			 size_t tail_len, int *fd, uint64_t *size, char *err, size_t err_size)
{
	char tmp[4096];
	struct stat st;
	FILE *in;
	int out, e = 0, nfd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.retention", path) >= sizeof(tmp))
		return fail(err, err_size, ENAMETOOLONG, "", path);
	in = fopen(path, "re");
	if (!in || fstat(fileno(in), &st) < 0) {
		e = errno;
		if (in)
			fclose(in);
		return fail(err, err_size, e, "jsonl retention", path);
	}
	unlink(tmp); /* a crash's leftover */
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 0777);
	if (out < 0) {
		e = errno;
		fclose(in);
		return fail(err, err_size, e, "jsonl", tmp);
	}
	if (copy_kept(in, out, pl) < 0 || write_all(out, tail, tail_len) < 0 || fdatasync(out) < 0)
		e = errno ? errno : EIO;
	if (!e && fchown(out, st.st_uid, st.st_gid) < 0 && errno != EPERM)
		e = errno;
	fclose(in);
	close(out);
	if (!e && rename(tmp, path) < 0)
		e = errno;
	if (e) {
		unlink(tmp);
		return fail(err, err_size, e, "jsonl retention", path);
	}
	sync_dir_of(path);
	nfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (nfd < 0 || fstat(nfd, &st) < 0) {
		e = errno;
		if (nfd >= 0)
			close(nfd);
		return fail(err, err_size, e, "jsonl reopening", path);
	}
	*fd = nfd;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* ---- files logrotate left beside a JSON lines file ---- */

struct held_scan {
	const struct purge_hold *hold;
	bool held;
};

static int find_held(void *arg, const struct verify_row *r)
{
	struct held_scan *h = arg;

	if (purge_hold_matches(h->hold, r->f.local)) {
		h->held = true;
		return 1;
	}
	return 0;
}

static bool is_rotated_name(const char *name, const char *base)
{
	size_t n = strlen(base);

	return strncmp(name, base, n) == 0 && (name[n] == '.' || name[n] == '-') && name[n + 1] &&
	       strcmp(name + n, ".retention") != 0;
}

static bool has_gz(const char *name)
{
	size_t n = strlen(name);

	return n > 3 && strcmp(name + n - 3, ".gz") == 0;
}

int retain_rotated(const char *path, const struct purge_request *req, unsigned *gzipped,
		   unsigned *removed, char *err, size_t err_size)
{
	char *dcopy = strdup(path), *bcopy = strdup(path), full[4096];
	const char *dir, *base;
	struct purge_hold hold;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (!dcopy || !bcopy || !purge_hold_parse(&hold, req->hold)) {
		free(dcopy);
		free(bcopy);
		return fail(err, err_size, ENOMEM, "", path);
	}
	dir = dirname(dcopy);
	base = basename(bcopy);
	d = opendir(dir);
	if (!d)
		rc = fail(err, err_size, errno, "", dir);
	while (d && rc == 0 && (de = readdir(d))) {
		struct stat st;
		int64_t mtime_us;

		if (!is_rotated_name(de->d_name, base) ||
		    (size_t)snprintf(full, sizeof(full), "%s/%s", dir, de->d_name) >= sizeof(full) ||
		    lstat(full, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		mtime_us = (int64_t)st.st_mtime * 1000000;
		if (mtime_us < req->before_us) {
			struct held_scan h = { &hold, false };

			if (each_row(full, find_held, &h, err, err_size) < 0)
				rc = -1;
			else if (!h.held && unlink(full) == 0)
				(*removed)++;
			continue;
		}
		if (req->compress_us && mtime_us < req->compress_us && !has_gz(de->d_name)) {
			if (retain_gzip(full, err, err_size) < 0)
				rc = -1;
			else
				(*gzipped)++;
		}
	}
	if (d)
		closedir(d);
	purge_hold_free(&hold);
	free(dcopy);
	free(bcopy);
	return rc;
}

/* ---- IMSpector's layout ---- */

/* The end of day "YYYY-MM-DD" (local time, as the sink names files) in
 * microseconds; false when name is not a day (or a day's .gz). */
static bool day_end_us(const char *name, int64_t *end)
{
	struct tm tm;
	int y, m, dd, n = 0;
	time_t t;

	if (sscanf(name, "%4d-%2d-%2d%n", &y, &m, &dd, &n) != 3 || n != 10 ||
	    (name[10] && strcmp(name + 10, ".gz") != 0))
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = dd + 1;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1)
		return false;
	*end = (int64_t)t * 1000000;
	return true;
}

struct tree_walk {
	const struct purge_request *req;
	struct purge_hold hold;
	unsigned *gzipped, *removed;
	char *err;
	size_t err_size;
	int rc;
};

/* One REMOTE directory's day files. */
static void walk_days(struct tree_walk *w, const char *path, bool held)
{
	char full[4096];
	struct dirent *de;
	DIR *d = opendir(path);
	int64_t end;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!day_end_us(de->d_name, &end) ||
		    (size_t)snprintf(full, sizeof(full), "%s/%s", path, de->d_name) >= sizeof(full))
			continue;
		if (end <= w->req->before_us && !held) {
			if (unlink(full) == 0)
				(*w->removed)++;
			else
				w->rc = fail(w->err, w->err_size, errno, "imspector unlink", full);
		} else if (w->req->compress_us && end <= w->req->compress_us && !has_gz(de->d_name)) {
			if (retain_gzip(full, w->err, w->err_size) == 0)
				(*w->gzipped)++;
			else
				w->rc = -1;
		}
	}
	closedir(d);
}

/* depth 0: DIR (protocols), 1: PROTO (locals), 2: LOCAL (remotes). */
static void walk(struct tree_walk *w, const char *path, int depth, bool held)
{
	char full[4096];
	struct dirent *de;
	DIR *d = opendir(path);

	if (!d) {
		if (depth == 0)
			w->rc = fail(w->err, w->err_size, errno, "imspector", path);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.' ||
		    (size_t)snprintf(full, sizeof(full), "%s/%s", path, de->d_name) >= sizeof(full) ||
		    lstat(full, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (depth == 1)
			held = purge_hold_matches_component(&w->hold, de->d_name);
		if (depth < 2)
			walk(w, full, depth + 1, held);
		else
			walk_days(w, full, held);
		if (depth > 0)
			rmdir(full); /* only when it is empty now */
	}
	closedir(d);
}

int retain_imspector(const char *dir, const struct purge_request *req, unsigned *gzipped,
		     unsigned *removed, char *err, size_t err_size)
{
	struct tree_walk w = { req, { NULL, 0 }, gzipped, removed, err, err_size, 0 };

	if (!purge_hold_parse(&w.hold, req->hold))
		return fail(err, err_size, ENOMEM, "", dir);
	walk(&w, dir, 0, false);
	purge_hold_free(&w.hold);
	return w.rc;
}
