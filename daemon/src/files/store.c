/* files_dir: transferred files kept by content, dir/hh/<sha256> (hh the
 * hash's first two digits, so no directory grows past 256 names per
 * level... of the first one). A file is written into dir/.partial while
 * it arrives and renamed into place once its hash is known; content
 * already there is not written twice. Two caps: one file's size, and the
 * whole store's, counted at start from what is there and shared by every
 * worker (under a lock).
 *
 * Retention: a stored file's mtime is the time of the last event that
 * referred to it, and dir/hh/<sha256>.refs beside it the local ids of
 * those events, so that a purge can ask the legal hold of the day. The
 * lock that guards the size also orders a reference against a removal:
 * both happen under it, and a removal looks at the mtime again right
 * before it unlinks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "archive/purge.h"
#include "files/files_internal.h"

#define REFS_SUFFIX ".refs"
#define CONTENT_NAME_LEN 64

struct store {
	char *dir;
	char *partial;
	uint64_t max_file;
	uint64_t max_total;
	pthread_mutex_t lock;
	uint64_t total; /* bytes in the store */
	uint64_t next;  /* names in .partial */
	struct files_retention retained; /* every pass so far */
	uint64_t ref_failures;

};

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);

	if (!p)
		return NULL;
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

static int make_dir(const char *path)
{
	return mkdir(path, 0750) == 0 || errno == EEXIST ? 0 : -1;
}

static bool is_hex_digit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* A stored file's name: 64 lowercase hex digits (not a .refs sidecar). */
static bool is_content_name(const char *name)
{
	size_t i;

	for (i = 0; i < CONTENT_NAME_LEN; i++)
		if (!is_hex_digit(name[i]))
			return false;
	return name[CONTENT_NAME_LEN] == '\0';
}

/* Stored files directly in dir/hh: the store's size (sidecars are not
 * content and count against no cap). */
static uint64_t sum_dir(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t sum = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct stat sb;

		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(sb.st_mode) && depth == 1 && is_content_name(e->d_name)) {
			sum += (uint64_t)sb.st_size;
		} else if (S_ISDIR(sb.st_mode) && depth == 0) {
			char *sub = join(dir, e->d_name);

			if (sub)
				sum += sum_dir(sub, 1);
			free(sub);
		}
	}
	closedir(d);
	return sum;
}

static void clear_partial(const char *partial)
{
	DIR *d = opendir(partial);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

struct store *store_open(const char *dir, uint64_t max_file, uint64_t max_total, char *err,
			 size_t err_size)
{
	struct store *st = calloc(1, sizeof(*st));

	if (!st || !(st->dir = strdup(dir)) || !(st->partial = join(dir, ".partial"))) {
		snprintf(err, err_size, "files_dir: out of memory");
		goto fail;
	}
	if (make_dir(dir) < 0 || make_dir(st->partial) < 0) {
		snprintf(err, err_size, "files_dir %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (pthread_mutex_init(&st->lock, NULL) != 0) {
		snprintf(err, err_size, "files_dir: cannot make a lock");
		goto fail;
	}
	clear_partial(st->partial);
	st->total = sum_dir(dir, 0);
	st->max_file = max_file;
	st->max_total = max_total;
	return st;
fail:
	if (st) {
		free(st->dir);
		free(st->partial);
		free(st);
	}
	return NULL;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	pthread_mutex_destroy(&st->lock);
	free(st->dir);
	free(st->partial);
	free(st);
}

uint64_t store_max_file(const struct store *st)
{
	return st->max_file;
}

int store_spool(struct store *st, char **path)
{
	char name[64];
	uint64_t n;
	int fd;

	pthread_mutex_lock(&st->lock);
	n = st->next++;
	pthread_mutex_unlock(&st->lock);
	snprintf(name, sizeof(name), "%ld-%llu", (long)getpid(), (unsigned long long)n);
	*path = join(st->partial, name);
	if (!*path)
		return -1;
	fd = open(*path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		free(*path);
		*path = NULL;
	}
	return fd;
}

int spool_tmpfile(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* A file system without O_TMPFILE: a named file, unlinked now. */
		char *path = join(dir, "imwire-scan-XXXXXX");

		if (!path)
			return -1;
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
		free(path);
	}
	return fd;
}

/* Whether the sidecar open at fd lists id (len bytes) on a line of its
 * own: compared as it is read, so a sidecar of any length costs one
 * fixed buffer. 1, 0, or -1 on a read error. */
static int refs_find(int fd, const char *id, size_t len)
{
	char buf[4096];
	size_t pos = 0, i;
	bool same = true;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (i = 0; i < (size_t)n; i++) {
			if (buf[i] == '\n') {
				if (same && pos == len)
					return 1;
				pos = 0;
				same = true;
			} else if (same && pos < len && buf[i] == id[pos]) {
				pos++;
			} else {
				same = false;
			}
		}
	}
	return 0;
}

/* dest's sidecar lists local, once. An empty id has nothing to hold; an
 * id with a line break is left out: legal_hold names ids on one line or
 * one a line, so it could never hold it. 0, or -1. */
static int refs_add(const char *dest, const char *local)
{
	size_t len = local ? strlen(local) : 0, dlen = strlen(dest);
	struct iovec iov[2];
	char *path;
	int fd, found, rc;

	if (!len || memchr(local, '\n', len))
		return 0;
	path = malloc(dlen + sizeof(REFS_SUFFIX));
	if (!path)
		return -1;
	memcpy(path, dest, dlen);
	memcpy(path + dlen, REFS_SUFFIX, sizeof(REFS_SUFFIX));
	/* O_APPEND: each line lands whole at the end, whoever else appends */
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	free(path);
	if (fd < 0)
		return -1;
	found = refs_find(fd, local, len);
	rc = found < 0 ? -1 : 0;
	if (found == 0) {
		iov[0].iov_base = (void *)local;
		iov[0].iov_len = len;
		iov[1].iov_base = (void *)"\n";
		iov[1].iov_len = 1;
		if (writev(fd, iov, 2) != (ssize_t)(len + 1))
			rc = -1;
	}
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

/* An event of local referred to dest: its mtime becomes now (the age
 * retention measures) and its sidecar gains the id. Under st->lock. */
static int store_reference(const char *dest, const char *local)
{
	const struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_NOW } };
	int rc = utimensat(AT_FDCWD, dest, times, 0);

	return refs_add(dest, local) < 0 ? -1 : rc;
}

int store_keep(struct store *st, const char *path, uint64_t bytes, const char *hex,
	       const char *local, char **final)
{
	char sub[3] = { hex[0], hex[1], '\0' };
	char *dir = join(st->dir, sub), *dest = dir ? join(dir, hex) : NULL;
	struct stat sb;
	int rc = -1;

	*final = NULL;
	if (!dest || make_dir(dir) < 0)
		goto out;
	pthread_mutex_lock(&st->lock);
	if (stat(dest, &sb) == 0) {
		rc = 0;
	} else if (bytes <= st->max_file && st->total + bytes <= st->max_total &&
		   rename(path, dest) == 0) {
		st->total += bytes;
		rc = 1;
	}
	/* Under the lock: a retention pass cannot remove it in between. */
	if (rc >= 0 && store_reference(dest, local) < 0)
		st->ref_failures++;
	pthread_mutex_unlock(&st->lock);
	if (rc >= 0) {
		*final = dest;
		dest = NULL;
	}
out:
	if (rc != 1)
		unlink(path);
	free(dir);
	free(dest);
	return rc;
}

/* ---- retention ---- */

static bool is_hash_dir_name(const char *name)
{
	return is_hex_digit(name[0]) && is_hex_digit(name[1]) && name[2] == '\0';
}

/* "<sha256>.refs": whether name is a sidecar; its file's name in file. */
static bool is_refs_name(const char *name, char file[CONTENT_NAME_LEN + 1])
{
	if (strlen(name) != CONTENT_NAME_LEN + sizeof(REFS_SUFFIX) - 1 ||
	    strcmp(name + CONTENT_NAME_LEN, REFS_SUFFIX) != 0)
		return false;
	memcpy(file, name, CONTENT_NAME_LEN);
	file[CONTENT_NAME_LEN] = '\0';
	return is_content_name(file);
}

static void refs_name(const char *file, char refs[CONTENT_NAME_LEN + sizeof(REFS_SUFFIX)])
{
	memcpy(refs, file, CONTENT_NAME_LEN);
	memcpy(refs + CONTENT_NAME_LEN, REFS_SUFFIX, sizeof(REFS_SUFFIX));
}

static bool is_expired(const struct stat *sb, int64_t before_us)
{
	return S_ISREG(sb->st_mode) &&
	       (int64_t)sb->st_mtim.tv_sec * 1000000 + sb->st_mtim.tv_nsec / 1000 < before_us;
}

/* Whether an id in the sidecar of file (in the directory dfd) is on
 * hold: 1, 0, or -1 when it cannot be read (then the file stays: a hold
 * not known is not a hold lifted). No sidecar (a file stored before
 * there were sidecars): nobody known referred to it, so nobody holds it. */
static int refs_held(int dfd, const char *file, const struct purge_hold *hold)
{
	char refs[CONTENT_NAME_LEN + sizeof(REFS_SUFFIX)], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int fd, rc = 0;

	if (!hold->n)
		return 0;
	refs_name(file, refs);
	fd = openat(dfd, refs, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -1;
	}
	errno = 0;
	while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n && purge_hold_matches(hold, line))
			rc = 1;
	}
	if (rc == 0 && (ferror(f) || errno == ENOMEM))
		rc = -1;
	free(line);
	fclose(f);
	return rc;
}

/* One stored file: removed with its sidecar when its last reference is
 * older than before_us and no id that referred to it is held. */
static void retain_file(struct store *st, int dfd, const char *file, int64_t before_us,
			const struct purge_hold *hold, struct files_retention *pass)
{
	char refs[CONTENT_NAME_LEN + sizeof(REFS_SUFFIX)];
	struct stat sb;
	int held;

	if (fstatat(dfd, file, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !is_expired(&sb, before_us))
		return;
	held = refs_held(dfd, file, hold);
	if (held) {
		if (held > 0)
			pass->held++;
		else
			pass->failed++;
		return;
	}
	pthread_mutex_lock(&st->lock);
	/* Look again: an event that referred to it since (the same content
	 * sent again, maybe by a held id) made it young, and it stays. */
	if (fstatat(dfd, file, &sb, AT_SYMLINK_NOFOLLOW) == 0 && is_expired(&sb, before_us)) {
		if (unlinkat(dfd, file, 0) == 0) {
			uint64_t size = (uint64_t)sb.st_size;

			st->total -= size < st->total ? size : st->total;
			pass->removed++;
			pass->removed_bytes += size;
			refs_name(file, refs);
			if (unlinkat(dfd, refs, 0) < 0 && errno != ENOENT)
				pass->failed++; /* an orphan sidecar: the next pass takes it */
		} else {
			pass->failed++;
		}
	}
	pthread_mutex_unlock(&st->lock);
}

/* A sidecar whose file is gone (a pass cut short between the two
 * unlinks) speaks for nothing: it goes, or it would hold the next copy
 * of that content for ids that never sent it. */
static void retain_orphan(struct store *st, int dfd, const char *refs, const char *file)
{
	struct stat sb;

	pthread_mutex_lock(&st->lock);
	if (fstatat(dfd, file, &sb, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
		unlinkat(dfd, refs, 0); /* a failure: tried again next pass */
	pthread_mutex_unlock(&st->lock);
}

static void retain_subdir(struct store *st, int dfd, int64_t before_us,
			  const struct purge_hold *hold, struct files_retention *pass)
{
	char file[CONTENT_NAME_LEN + 1];
	DIR *d = fdopendir(dfd);
	struct dirent *e;

	if (!d) {
		close(dfd);
		pass->failed++;
		return;
	}
	while ((e = readdir(d))) {
		if (is_content_name(e->d_name))
			retain_file(st, dirfd(d), e->d_name, before_us, hold, pass);
		else if (is_refs_name(e->d_name, file))
			retain_orphan(st, dirfd(d), e->d_name, file);
	}
	closedir(d);
}

int store_retain(struct store *st, int64_t before_us, const struct purge_hold *hold,
		 struct files_retention *pass)
{
	DIR *top = opendir(st->dir);
	struct dirent *e;

	memset(pass, 0, sizeof(*pass));
	if (!top)
		return -1;
	while ((e = readdir(top))) {
		int dfd;

		if (!is_hash_dir_name(e->d_name))
			continue;
		dfd = openat(dirfd(top), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			pass->failed++;
			continue;
		}
		retain_subdir(st, dfd, before_us, hold, pass);
	}
	closedir(top);
	pthread_mutex_lock(&st->lock);
	st->retained.removed += pass->removed;
	st->retained.removed_bytes += pass->removed_bytes;
	st->retained.held += pass->held;
	st->retained.failed += pass->failed;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

void store_counts_get(struct store *st, struct files_retention *retained, uint64_t *ref_failures,
		      uint64_t *total)
{
	pthread_mutex_lock(&st->lock);
	*retained = st->retained;
	*ref_failures = st->ref_failures;
	*total = st->total;
	pthread_mutex_unlock(&st->lock);
}
