#include "runtime/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define PIDFILE_RUN_DIR "/run/imwire"

void pidfile_path_of(const struct imw_config *cfg, const char *given, char *out, size_t size)
{
	const char *v = given ? given : config_get(cfg, "pidfilename");
	char inst[256];

	if (v) {
		snprintf(out, size, "%s", v);
		return;
	}
	config_instance(cfg->path, inst, sizeof(inst));
	if (strcmp(inst, "imwire") == 0)
		snprintf(out, size, PIDFILE_RUN_DIR "/imwired.pid");
	else
		snprintf(out, size, PIDFILE_RUN_DIR "/%s.pid", inst);
}

/* "1234" from a held file, or a word saying why there is none. */
static void holder_of(int fd, char *out, size_t size)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;
	long pid;

	if (n <= 0) {
		snprintf(out, size, "pid not written yet");
		return;
	}
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	if (pid <= 0 || (*end && *end != '\n'))
		snprintf(out, size, "pid unreadable");
	else
		snprintf(out, size, "pid %ld", pid);
}

int pidfile_lock(struct pidfile *pf, const char *path, const struct fs_owner *o, char *err,
		 size_t err_size)
{
	char holder[32];

	pf->fd = -1;
	pf->path = NULL;
	if (fs_make_parent(path, 0755, o, err, err_size) < 0)
		return -1;
	pf->fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (pf->fd < 0) {
		snprintf(err, err_size, "%s: cannot open the pid file: %s", path, strerror(errno));
		return -1;
	}
	if (flock(pf->fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		if (e == EWOULDBLOCK) {
			holder_of(pf->fd, holder, sizeof(holder));
			snprintf(err, err_size,
				 "another imwired runs with this configuration (%s, pid file %s locked): "
				 "one daemon per configuration; stop it first, or give this one a "
				 "pidfilename= of its own",
				 holder, path);
		} else {
			snprintf(err, err_size, "%s: cannot lock the pid file: %s", path, strerror(e));
		}
		close(pf->fd);
		pf->fd = -1;
		return -1;
	}
	pf->path = strdup(path);
	if (!pf->path || pidfile_write(pf, getpid()) < 0) {
		snprintf(err, err_size, "%s: cannot write the pid file: %s", path,
			 pf->path ? strerror(errno) : "out of memory");
		pidfile_release(pf);
		return -1;
	}
	return 0;
}

int pidfile_write(struct pidfile *pf, pid_t pid)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)pid);

	if (ftruncate(pf->fd, 0) < 0 || pwrite(pf->fd, buf, (size_t)n, 0) != n)
		return -1;
	return 0;
}

/* A stale pid in an unlocked file would be harmless too: nothing to add
 * when even this fails. */
static void empty(int fd)
{
	if (ftruncate(fd, 0) < 0)
		return;
}

void pidfile_release(struct pidfile *pf)
{
	if (pf->fd < 0)
		return;
	/* After a drop of privileges the directory may not let us remove it:
	 * an empty, unlocked file is as good as none. */
	if (!pf->path || unlink(pf->path) < 0)
		empty(pf->fd);
	close(pf->fd);
	pf->fd = -1;
	free(pf->path);
	pf->path = NULL;
}
