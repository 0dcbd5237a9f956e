/* The sandbox (sandbox/sandbox.h) as the daemon enters it, each test in a
 * child process of its own (a sandbox is for life): what the running
 * daemon does still works; a system call it never makes fails with EPERM
 * and the process goes on (never killed); a path outside the rules is
 * refused with EACCES, sandbox_refused() says the sandbox did it (the
 * file's mode would allow it) and counts it, and says nothing of a file
 * whose mode refuses. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "testlib.h"

static char dir[] = "/tmp/imwire-sandbox-XXXXXX";
static char outside[] = "/tmp/imwire-sandbox-out-XXXXXX";

/* Runs fn in a child; the child's failed checks are its exit status. */
static int in_child(int (*fn)(void))
{
	int st;
	pid_t p = fork();

	if (p < 0)
		return -1;
	if (p == 0) {
		fflush(stderr);
		_exit(fn()); /* _exit: no sanitizer's exit work in a sandboxed child */
	}
	if (waitpid(p, &st, 0) < 0)
		return -1;
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "  the sandboxed child was killed by signal %d\n", WTERMSIG(st));
		return -1;
	}
	return WEXITSTATUS(st);
}

#define EXPECT(cond)                                                                       \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "  %s:%d: in the sandbox: %s (errno %s)\n", __FILE__, \
				__LINE__, #cond, strerror(errno));                         \
			bad++;                                                             \
		}                                                                          \
	} while (0)

static int enter(struct sandbox_state *st)
{
	struct sandbox_rule r = { dir, SANDBOX_READ | SANDBOX_WRITE | SANDBOX_CREATE | SANDBOX_REMOVE |
					       SANDBOX_MKDIR | SANDBOX_LIST };
	char err[512];

	if (sandbox_enter(&r, 1, st, err, sizeof(err)) < 0) {
		fprintf(stderr, "  sandbox_enter: %s\n", err);
		return -1;
	}
	return 0;
}

static int child_syscalls(void)
{
	struct sandbox_state st;
	int bad = 0, fds[2], s;
	char c = 'x';

	if (enter(&st) < 0)
		return 100;
	EXPECT(st.seccomp && st.syscalls > 50);
	EXPECT(sandbox_active());
	/* what the daemon does goes on */
	EXPECT(pipe(fds) == 0);
	EXPECT(write(fds[1], &c, 1) == 1 && read(fds[0], &c, 1) == 1);
	EXPECT(getpid() > 0);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	EXPECT(s >= 0);
	if (s >= 0)
		close(s);
	EXPECT(kill(getpid(), 0) == 0);
	/* what it never does fails with EPERM, and this process goes on */
	errno = 0;
	EXPECT(syscall(SYS_setuid, getuid()) < 0 && errno == EPERM);
	errno = 0;
	EXPECT(syscall(SYS_chroot, "/") < 0 && errno == EPERM);
	errno = 0;
	/* (paths that do not exist: without the filter these would fail
	 * with ENOENT, never do anything) */
	EXPECT(syscall(SYS_mount, "none", "/nonexistent-imwire", "tmpfs", 0, NULL) < 0 &&
	       errno == EPERM);
	errno = 0;
	EXPECT(syscall(SYS_execve, "/nonexistent-imwire", NULL, NULL) < 0 && errno == EPERM);
	errno = 0;
	EXPECT(socket(AF_BLUETOOTH, SOCK_STREAM, 0) < 0 && errno == EPERM);
	errno = 0;
	EXPECT(kill(1, 0) < 0 && errno == EPERM); /* no other process */
	EXPECT(write(fds[1], &c, 1) == 1); /* still running, still allowed */
	return bad;
}

static void test_seccomp_refuses_with_eperm_and_the_process_goes_on(void)
{
	CHECK_INT_EQ(in_child(child_syscalls), 0);
}

static int child_paths(void)
{
	struct sandbox_state st;
	char in[256], out[256], locked[256], fresh[256];
	int bad = 0, fd;
	uint64_t before;

	snprintf(in, sizeof(in), "%s/inside", dir);
	snprintf(out, sizeof(out), "%s/file", outside);
	snprintf(locked, sizeof(locked), "%s/locked", outside);
	snprintf(fresh, sizeof(fresh), "%s/new", outside);
	if (enter(&st) < 0)
		return 100;
	if (!st.landlock_abi) {
		fprintf(stderr, "  this kernel has no Landlock\n");
		return 101;
	}
	fd = open(in, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	EXPECT(fd >= 0);
	EXPECT(fd < 0 || write(fd, "ok", 2) == 2);
	if (fd >= 0)
		close(fd);
	EXPECT(unlink(in) == 0);
	fd = open("/etc/passwd", O_RDONLY); /* the library's own reads */
	EXPECT(fd >= 0);
	if (fd >= 0)
		close(fd);
	before = sandbox_refusals();
	/* outside: refused although the mode allows, and said so */
	errno = 0;
	fd = open(out, O_WRONLY | O_APPEND);
	EXPECT(fd < 0 && errno == EACCES);
	EXPECT(sandbox_refused(out, EACCES, W_OK));
	errno = 0;
	fd = open(in, O_WRONLY | O_CREAT, 0600);
	EXPECT(fd >= 0);
	if (fd >= 0)
		close(fd);
	errno = 0;
	EXPECT(open(fresh, O_WRONLY | O_CREAT, 0600) < 0 && errno == EACCES);
	EXPECT(sandbox_refusals() == before + 1);
	/* a file whose own mode refuses is not the sandbox's doing (as root,
	 * access(2) allows anything: only when not root) */
	if (geteuid() != 0)
		EXPECT(!sandbox_refused(locked, EACCES, W_OK));
	return bad;
}

static void test_landlock_refuses_paths_outside_and_counts(void)
{
	int rc = in_child(child_paths);

	if (rc == 101) /* said: a kernel without Landlock fails here, never skipped */
		CHECK(!"Landlock available");
	else
		CHECK_INT_EQ(rc, 0);
}

static int child_off(void)
{
	int bad = 0;

	/* no sandbox: nothing is refused, nothing counted */
	EXPECT(!sandbox_active());
	EXPECT(!sandbox_refused("/etc/passwd", EACCES, R_OK));
	EXPECT(sandbox_refusals() == 0);
	return bad;
}

static void test_without_sandbox_nothing_is_blamed_on_it(void)
{
	CHECK_INT_EQ(in_child(child_off), 0);
}

int main(void)
{
	char path[256];
	int fd;

	if (!mkdtemp(dir) || !mkdtemp(outside)) {
		perror("mkdtemp");
		return 1;
	}
	chmod(outside, 0777);
	snprintf(path, sizeof(path), "%s/file", outside);
	fd = open(path, O_WRONLY | O_CREAT, 0666);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/locked", outside);
	fd = open(path, O_WRONLY | O_CREAT, 0400);
	if (fd >= 0)
		close(fd);
	RUN_TEST(test_seccomp_refuses_with_eperm_and_the_process_goes_on);
	RUN_TEST(test_landlock_refuses_paths_outside_and_counts);
	RUN_TEST(test_without_sandbox_nothing_is_blamed_on_it);
	snprintf(path, sizeof(path), "%s/file", outside);
	unlink(path);
	snprintf(path, sizeof(path), "%s/locked", outside);
	unlink(path);
	snprintf(path, sizeof(path), "%s/new", outside);
	unlink(path);
	snprintf(path, sizeof(path), "%s/inside", dir);
	unlink(path);
	rmdir(outside);
	rmdir(dir);
	TEST_MAIN_END();
}
