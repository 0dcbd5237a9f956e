/* Landlock through its three system calls (no library in Debian 12): a
 * ruleset handling every file-system right the kernel's ABI knows, one
 * rule per path, restrict_self. Rights on a file (not a directory) are
 * cut to those a file can have. The C library's and the database clients'
 * own reads (time zone, name service, users, certificates, their plugins)
 * are allowed read-only. */
#include "sandbox/sandbox_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Debian 12's header knows ABI 1 and 2; the kernel may know more. */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif

#define FS_ABI1 ((1ULL << 13) - 1) /* EXECUTE .. MAKE_SYM */

/* What a file (not a directory) can be granted. */
#define FS_FILE_RIGHTS                                                                     \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                      \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                      \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)

/* Only the first field: every kernel with Landlock takes this size. */
struct ruleset_attr {
	uint64_t handled_access_fs;
};

struct path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

/* Read-only, for the libraries: opened after the sandbox is on (a
 * database client reconnecting resolves a name, looks up its user, loads
 * a name-service module; syslog(3) and localtime_r look at the zone). */
static const char *const library_reads[] = {
	"/etc/localtime", "/usr/share/zoneinfo", "/etc/nsswitch.conf", "/etc/hosts",
	"/etc/host.conf", "/etc/resolv.conf", "/etc/gai.conf", "/etc/services",
	"/etc/protocols", "/etc/passwd", "/etc/group", "/etc/ld.so.cache",
	"/usr/lib",        /* name-service modules, gconv, client plugins */
	"/etc/ssl",        /* certificates for a database over TLS */
	"/usr/share/ca-certificates",
	"/etc/mysql", "/etc/postgresql-common",
	"/proc/self",      /* the C library and the sanitizers read their own process */
	"/sys/devices/system/cpu", /* sysconf(_SC_NPROCESSORS_ONLN) */
	"/dev/null", "/dev/urandom",
};

static long ll_create(const struct ruleset_attr *a, size_t size, uint32_t flags)
{
	return syscall(__NR_landlock_create_ruleset, a, size, flags);
}

static long ll_add(int ruleset, const struct path_beneath *pb)
{
	return syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, pb, 0);
}

static uint64_t handled_for(int abi)
{
	uint64_t h = FS_ABI1;

	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		h |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return h;
}

static uint64_t rights_of(unsigned access)
{
	uint64_t r = 0;

	if (access & SANDBOX_READ)
		r |= LANDLOCK_ACCESS_FS_READ_FILE;
	if (access & SANDBOX_WRITE)
		r |= LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
	if (access & SANDBOX_CREATE)
		r |= LANDLOCK_ACCESS_FS_MAKE_REG;
	if (access & SANDBOX_REMOVE)
		r |= LANDLOCK_ACCESS_FS_REMOVE_FILE;
	/* a tree the daemon files into (files_dir: written at its top, then
	 * renamed into a subdirectory by hash) moves files between its own
	 * directories */
	if (access & SANDBOX_MKDIR)
		r |= LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_REFER;
	if (access & SANDBOX_LIST)
		r |= LANDLOCK_ACCESS_FS_READ_DIR;
	return r;
}

/* One rule; 1 when added, 0 when the path does not exist (skipped), -1. */
static int add_path(int ruleset, const char *path, uint64_t rights, uint64_t handled, char *err,
		    size_t err_size)
{
	struct path_beneath pb;
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		rights &= FS_FILE_RIGHTS;
	pb.allowed_access = rights & handled;
	pb.parent_fd = fd;
	if (pb.allowed_access && ll_add(ruleset, &pb) < 0) {
		snprintf(err, err_size, "landlock: rule for %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 1;
}

int sandbox_landlock(const struct sandbox_rule *rules, size_t n, struct sandbox_state *st,
		     char *err, size_t err_size)
{
	struct ruleset_attr attr;
	long abi = ll_create(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	int ruleset, rc;
	size_t i;

	if (abi < 1)
		return 0; /* no Landlock in this kernel (or switched off): seccomp only */
	attr.handled_access_fs = handled_for((int)abi);
	ruleset = (int)ll_create(&attr, sizeof(attr), 0);
	if (ruleset < 0) {
		snprintf(err, err_size, "landlock: create ruleset: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(library_reads) / sizeof(library_reads[0]); i++) {
		rc = add_path(ruleset, library_reads[i], rights_of(SANDBOX_READ | SANDBOX_LIST),
			      attr.handled_access_fs, err, err_size);
		if (rc < 0)
			goto fail;
	}
	for (i = 0; i < n; i++) {
		rc = add_path(ruleset, rules[i].path, rights_of(rules[i].access),
			      attr.handled_access_fs, err, err_size);
		if (rc < 0)
			goto fail;
		if (rc == 0 && st->skipped++ == 0)
			snprintf(st->skipped_path, sizeof(st->skipped_path), "%s", rules[i].path);
		st->rules += (unsigned)rc;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(__NR_landlock_restrict_self, ruleset, 0) < 0) {
		snprintf(err, err_size, "landlock: restrict: %s", strerror(errno));
		goto fail;
	}
	close(ruleset);
	st->landlock_abi = (int)abi;
	return 0;
fail:
	close(ruleset);
	return -1;
}
