/* files_dir: transferred files kept by content, dir/hh/<sha256> (hh the
 * hash's first two digits, so no directory grows past 256 names per
 * level... of the first one). A file is written into dir/.partial while
 * it arrives and renamed into place once its hash is known; content
 * already there is not written twice. Two caps: one file's size, and the
 * whole store's, counted at start from what is there and shared by every
 * worker (under a lock). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files/files_internal.h"

struct store {
	char *dir;
	char *partial;
	uint64_t max_file;
	uint64_t max_total;
	pthread_mutex_t lock;
	uint64_t total; /* bytes in the store */
	uint64_t next;  /* names in .partial */
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

/* Regular files directly in dir/hh: the store's size. */
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
		if (S_ISREG(sb.st_mode) && depth == 1) {
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

int store_keep(struct store *st, const char *path, uint64_t bytes, const char *hex, char **final)
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
