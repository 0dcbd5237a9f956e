/* One daemon per configuration: its pid file, locked (flock) from before
 * the daemon forks until it exits. A second imwired on the same file finds
 * the lock held and is refused with the pid of the first; a pid file a
 * crashed daemon left is unlocked and simply taken over. The lock is the
 * truth, not the file's existence: systemd, kill -9 and stale files all
 * behave. */
#ifndef IMW_RUNTIME_PIDFILE_H
#define IMW_RUNTIME_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "config/config.h"
#include "util/fs_owned.h"

struct pidfile {
	int fd;
	char *path;
};

/* Where the pid file of cfg's instance is: given (--pidfile), else
 * pidfilename=, else /run/imwire/imwired.pid for the default instance and
 * /run/imwire/NAME.pid for NAME.conf (config_instance). */
void pidfile_path_of(const struct imw_config *cfg, const char *given, char *out, size_t size);

/* Makes the file's directory (handed to o when made here), opens the file
 * and locks it, writing our pid. -1 with a one-line reason in err: held by
 * a live daemon (naming its pid), or not possible. */
int pidfile_lock(struct pidfile *pf, const char *path, const struct fs_owner *o, char *err,
		 size_t err_size);
/* The pid again, after a fork (the lock went with the descriptor). */
int pidfile_write(struct pidfile *pf, pid_t pid);
/* At exit: the file is removed where the directory lets us (else emptied),
 * then the lock goes with the descriptor. Safe when never locked. */
void pidfile_release(struct pidfile *pf);

#endif
