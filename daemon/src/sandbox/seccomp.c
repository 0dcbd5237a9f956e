/* The system calls the running daemon makes, and nothing else: found with
 * strace over every daemon run of the test suite (queues, tap, every sink
 * the suite uses, reloads, the control socket, metrics, stops), plus what
 * glibc, libpq, libmariadb, SQLite, libmicrohttpd and libsystemd make on
 * paths the suite does not walk (reconnecting, resolving a name). Set-up
 * calls (setuid, capset, mount, execve, ...) are not on the list: they are
 * done before the filter goes on. Anything else fails with EPERM, logged
 * by the kernel (SECCOMP_FILTER_FLAG_LOG); nothing is killed. */
#include "sandbox/sandbox_internal.h"

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

/* Allowed with any arguments. */
static const int allowed[] = {
	/* memory, threads, time, signals: glibc and the threads it starts */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect),
	SCMP_SYS(madvise), SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list),
	SCMP_SYS(rseq), SCMP_SYS(set_tid_address), SCMP_SYS(clone), SCMP_SYS(clone3),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(gettid), SCMP_SYS(getpid),
	SCMP_SYS(getppid), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(getrandom), SCMP_SYS(prlimit64),
	SCMP_SYS(getrlimit), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(getgroups), SCMP_SYS(uname), SCMP_SYS(sysinfo),
	SCMP_SYS(membarrier),
	/* files: the sinks, the spool, statistics, lists on reload (where is
	 * Landlock's business), SQLite's locks and journals */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
	SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(lseek),
	SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(stat),
	SCMP_SYS(lstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(access),
	SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
	SCMP_SYS(getcwd), SCMP_SYS(getdents), SCMP_SYS(getdents64), SCMP_SYS(fcntl), SCMP_SYS(flock),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(truncate),
	SCMP_SYS(fallocate), SCMP_SYS(utimensat), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rename),
	SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(mkdir), SCMP_SYS(mkdirat),
	SCMP_SYS(fchmod), SCMP_SYS(fchown), SCMP_SYS(umask), SCMP_SYS(dup), SCMP_SYS(dup2),
	SCMP_SYS(dup3), SCMP_SYS(pipe), SCMP_SYS(pipe2), SCMP_SYS(eventfd2),
	/* waiting: workers, the writer, the control socket, libmicrohttpd */
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait),
	/* sockets: NFQUEUE (netlink), raw and packet sockets for originated
	 * segments, databases, syslog, sd_notify, metrics and control clients */
	SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(accept), SCMP_SYS(accept4),
	SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg), SCMP_SYS(recvfrom),
	SCMP_SYS(recvmsg), SCMP_SYS(recvmmsg), SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	/* the classifier's maps: offsets published and reaped */
	SCMP_SYS(bpf),
	/* threads name themselves; a thread asks its own state */
	SCMP_SYS(prctl),
#if defined(__SANITIZE_ADDRESS__)
	/* AddressSanitizer's leak check at exit stops the world: a tracer
	 * thread attaches to every other (the test build only) */
	SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(sched_getparam), SCMP_SYS(getpgid),
	SCMP_SYS(process_vm_readv), SCMP_SYS(mincore),
#endif
};

/* socket(2): only the families the daemon uses. */
static const int families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET };

/* ioctl(2): the requests made at run time (isatty on a log stream;
 * FIONREAD on sockets; libpcap's and the tap's are made at set-up). */
static const unsigned long ioctls[] = { TCGETS, FIONREAD, FIONBIO, SIOCGIFINDEX };

/* libseccomp's SCMP_An() macros leave datum_b to a compound literal's
 * zero fill, which clang's -Wmissing-field-initializers rejects; name
 * every field instead. */
static struct scmp_arg_cmp arg_equals(unsigned int arg, scmp_datum_t value)
{
	struct scmp_arg_cmp cmp = {
		.arg = arg, .op = SCMP_CMP_EQ, .datum_a = value, .datum_b = 0,
	};
	return cmp;
}

static int add_rules(scmp_filter_ctx ctx, unsigned *n)
{
	size_t i;
	int rc;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
		if (rc < 0)
			return rc;
		(*n)++;
	}
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      arg_equals(0, (scmp_datum_t)families[i]));
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      arg_equals(1, (scmp_datum_t)ioctls[i]));
		if (rc < 0)
			return rc;
	}
	/* A signal to ourselves (raise, abort, a reload asked of ourselves)
	 * and to our own threads; no other process. */
	rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
			      arg_equals(0, (scmp_datum_t)getpid()));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				      arg_equals(0, (scmp_datum_t)getpid()));
	*n += 3;
	return rc;
}

int sandbox_seccomp(struct sandbox_state *st, char *err, size_t err_size)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	unsigned n = 0;
	int rc;

	if (!ctx) {
		snprintf(err, err_size, "seccomp: out of memory");
		return -1;
	}
	/* Every thread, refusals logged by the kernel, never a kill (not even
	 * for a call of another architecture). */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
	if (rc == 0)
		rc = add_rules(ctx, &n);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		snprintf(err, err_size, "seccomp: %s", strerror(-rc));
		return -1;
	}
	st->seccomp = true;
	st->syscalls = n;
	return 0;
}
