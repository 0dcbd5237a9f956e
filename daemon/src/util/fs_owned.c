#include "util/fs_owned.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_owner_of(struct fs_owner *o, const char *user, const char *group, char *err,
		size_t err_size)
{
	struct passwd *pw;
	struct group *gr;

	o->uid = o->gid = -1;
	if (!user)
		return 0;
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, err_size, "user \"%s\" does not exist", user);
		return -1;
	}
	o->uid = (int)pw->pw_uid;
	o->gid = (int)pw->pw_gid;
	if (group) {
		gr = getgrnam(group);
		if (!gr) {
			snprintf(err, err_size, "group \"%s\" does not exist", group);
			return -1;
		}
		o->gid = (int)gr->gr_gid;
	}
	return 0;
}

bool fs_dirname(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (!slash)
		n = snprintf(out, size, ".");
	else if (slash == path)
		n = snprintf(out, size, "/");
	else
		n = snprintf(out, size, "%.*s", (int)(slash - path), path);
	return n >= 0 && (size_t)n < size;
}

/* One directory: made and handed over, or there already (and a directory). */
static int make_one(const char *dir, mode_t mode, const struct fs_owner *o, bool *made, char *err,
		    size_t err_size)
{
	struct stat st;

	*made = false;
	if (mkdir(dir, mode) == 0) {
		*made = true;
		if (o && o->uid >= 0 && chown(dir, (uid_t)o->uid, (gid_t)o->gid) < 0) {
			snprintf(err, err_size, "%s: cannot hand to uid %d: %s", dir, o->uid,
				 strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != EEXIST) {
		snprintf(err, err_size, "%s: cannot create: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) < 0) {
		snprintf(err, err_size, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, err_size, "%s: not a directory", dir);
		return -1;
	}
	return 0;
}

int fs_make_dirs(const char *dir, mode_t mode, const struct fs_owner *o, bool *made, char *err,
		 size_t err_size)
{
	size_t len = strlen(dir);
	char *path, *p;
	bool last_made = false;
	int rc = 0;

	if (made)
		*made = false;
	if (len == 0)
		return 0;
	path = strdup(dir);
	if (!path) {
		snprintf(err, err_size, "%s: out of memory", dir);
		return -1;
	}
	/* Each component in turn, so the ones made here are known. */
	for (p = path + 1; rc == 0; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (p > path && p[-1] != '/')
			rc = make_one(path, mode, o, &last_made, err, err_size);
		*p = c;
		if (!c)
			break;
	}
	free(path);
	if (made)
		*made = last_made;
	return rc;
}

int fs_make_parent(const char *path, mode_t mode, const struct fs_owner *o, char *err,
		   size_t err_size)
{
	char dir[4096];

	if (!strchr(path, '/'))
		return 0;
	if (!fs_dirname(path, dir, sizeof(dir))) {
		snprintf(err, err_size, "%s: path too long", path);
		return -1;
	}
	if (strcmp(dir, "/") == 0)
		return 0;
	return fs_make_dirs(dir, mode, o, NULL, err, err_size);
}

int fs_make_file(const char *path, mode_t mode, const struct fs_owner *o, char *err,
		 size_t err_size)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd >= 0) {
		int rc = 0;

		if (o && o->uid >= 0 && fchown(fd, (uid_t)o->uid, (gid_t)o->gid) < 0) {
			snprintf(err, err_size, "%s: cannot hand to uid %d: %s", path, o->uid,
				 strerror(errno));
			rc = -1;
		}
		close(fd);
		return rc;
	}
	if (errno != EEXIST) {
		snprintf(err, err_size, "%s: cannot create: %s", path, strerror(errno));
		return -1;
	}
	if (stat(path, &st) < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, err_size, "%s: not a regular file", path);
		return -1;
	}
	return 0;
}
