/* The sandbox imwired enters once its set-up is done (queues bound, pins
 * held, sockets open, privileges dropped) and before any thread but the
 * caller's exists, so that every thread is in it:
 *  - seccomp (libseccomp): only the system calls the running daemon
 *    makes are allowed (seccomp.c lists them, with why); any other fails
 *    with EPERM, never a kill, and the kernel logs it (audit, or the
 *    kernel log: SECCOMP_FILTER_FLAG_LOG);
 *  - Landlock (raw system calls, any ABI the kernel has): the file system
 *    shrinks to the paths of the configuration (runtime/paths.h) and what
 *    the C library and the database clients read (landlock.c); opening
 *    anything else fails with EACCES.
 * A path a reload names that the sandbox does not allow is refused by the
 * call that opens it; the caller names the sandbox in its message when
 * sandbox_refused() says it was the cause, and that is counted. */
#ifndef IMW_SANDBOX_H
#define IMW_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a rule allows beneath its path (a directory) or on it (a file). */
#define SANDBOX_READ (1u << 0)   /* read files */
#define SANDBOX_WRITE (1u << 1)  /* write and truncate files */
#define SANDBOX_CREATE (1u << 2) /* make files */
#define SANDBOX_REMOVE (1u << 3) /* remove files, rename one over another */
#define SANDBOX_MKDIR (1u << 4)  /* make directories */
#define SANDBOX_LIST (1u << 5)   /* list directories */

struct sandbox_rule {
	const char *path;
	unsigned access;
};

/* What sandbox_enter did. */
struct sandbox_state {
	bool seccomp;        /* the filter is on (every thread) */
	int landlock_abi;    /* the kernel's Landlock ABI in use, 0: none */
	unsigned rules;      /* Landlock rules added */
	unsigned skipped;    /* rules whose path does not exist (said in err_skipped) */
	char skipped_path[256]; /* the first such path */
	unsigned syscalls;   /* system calls the filter allows */
};

/* Enters the sandbox: Landlock with rules (plus the library's own reads),
 * then seccomp. Each layer the kernel lacks is left out and said in st (a
 * kernel without Landlock still gets seccomp). -1 with a reason in err
 * when a layer the kernel has could not be put on (nothing is half-on:
 * the daemon must not start then). */
int sandbox_enter(const struct sandbox_rule *rules, size_t n, struct sandbox_state *st,
		  char *err, size_t err_size);

/* Whether the sandbox is on (in this process), and Landlock's ABI in it
 * (0: none). */
bool sandbox_active(void);
int sandbox_landlock_abi(void);

/* After a call on path failed with e: true (and counted) when the
 * sandbox, not the file's owner or mode, refused it (EACCES although the
 * file's permissions would allow amode, R_OK/W_OK; for a file that does
 * not exist yet, its directory's). */
bool sandbox_refused(const char *path, int e, int amode);

/* One refusal more: a caller that refused a path itself because the
 * sandbox would (a reload naming a path the start did not). */
void sandbox_count_refusal(void);

/* Refusals counted so far. */
uint64_t sandbox_refusals(void);

/* Appended to a message when sandbox_refused() said so. */
#define SANDBOX_HINT                                                                        \
	" (refused by the sandbox: it allows only the paths the configuration named at "    \
	"start; restart imwired to use a new one, or set sandbox=off)"

#endif
