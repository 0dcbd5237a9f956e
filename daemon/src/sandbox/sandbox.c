/* The sandbox's two layers in order (Landlock first: its rules are added
 * with calls seccomp would refuse), and the count of what they refused. */
#include "sandbox/sandbox_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "util/fs_owned.h"

/* Set once by the thread that enters it, before any other exists. */
static bool active;
static int landlock_on;
static atomic_uint_fast64_t refusals;

int sandbox_enter(const struct sandbox_rule *rules, size_t n, struct sandbox_state *st,
		  char *err, size_t err_size)
{
	memset(st, 0, sizeof(*st));
	if (sandbox_landlock(rules, n, st, err, err_size) < 0)
		return -1;
	landlock_on = st->landlock_abi;
	active = true;
	return sandbox_seccomp(st, err, err_size);
}

bool sandbox_active(void)
{
	return active;
}

bool sandbox_refused(const char *path, int e, int amode)
{
	char dir[4096];

	if (!active || !landlock_on || e != EACCES || !path)
		return false;
	/* access(2) goes by owner and mode alone: Landlock does not look at
	 * it. Allowed there, refused by open: the sandbox. */
	if (faccessat(AT_FDCWD, path, amode, AT_EACCESS) < 0) {
		if (errno != ENOENT || !fs_dirname(path, dir, sizeof(dir)) ||
		    faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0)
			return false;
	}
	atomic_fetch_add(&refusals, 1);
	return true;
}

void sandbox_count_refusal(void)
{
	atomic_fetch_add(&refusals, 1);
}

int sandbox_landlock_abi(void)
{
	return landlock_on;
}

uint64_t sandbox_refusals(void)
{
	return atomic_load(&refusals);
}
