#include "setup/setup_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void setup_print_cmd(FILE *log, char *const argv[])
{
	int i;

	for (i = 0; argv[i]; i++)
		fprintf(log, "%s%s", i ? " " : "", argv[i]);
	fputc('\n', log);
}

bool setup_have_tool(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, full[PATH_MAX];
	bool found = false;

	copy = strdup(path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	if (!copy)
		return false;
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save))
		found = (size_t)snprintf(full, sizeof(full), "%s/%s", dir, name) < sizeof(full) &&
			access(full, X_OK) == 0;
	free(copy);
	return found;
}

/* Feed input to fd, then close it; a child that stops reading early gets
 * the rest refused (EPIPE, SIGPIPE ignored for the duration). */
static void feed(int fd, const char *input, size_t len)
{
	struct sigaction ign, old;
	ssize_t n;

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old);
	while (len) {
		n = write(fd, input, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		input += n;
		len -= (size_t)n;
	}
	close(fd);
	sigaction(SIGPIPE, &old, NULL);
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int setup_run(char *const argv[], const char *input, size_t input_len, bool quiet)
{
	int in[2] = { -1, -1 }, devnull;
	pid_t pid;

	fflush(NULL); /* the child must not repeat our buffered output */
	if (input && pipe2(in, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		if (input) {
			close(in[0]);
			close(in[1]);
		}
		return -1;
	}
	if (pid == 0) {
		if (input)
			dup2(in[0], STDIN_FILENO);
		if (quiet && (devnull = open("/dev/null", O_WRONLY)) >= 0) {
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (input) {
		close(in[0]);
		feed(in[1], input, input_len);
	}
	return wait_child(pid);
}

int setup_run_capture(char *const argv[], char **out)
{
	int p[2], devnull;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *grown, scratch[4096];
	bool full = false;
	ssize_t n;
	pid_t pid;

	*out = NULL;
	if (!buf)
		return -1;
	fflush(NULL);
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(buf);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		free(buf);
		return -1;
	}
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		if ((devnull = open("/dev/null", O_WRONLY)) >= 0)
			dup2(devnull, STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		if (!full && len + 1 >= cap) {
			grown = realloc(buf, cap * 2);
			if (grown) {
				buf = grown;
				cap *= 2;
			} else {
				full = true; /* keep what fits, read the rest away */
			}
		}
		n = full ? read(p[0], scratch, sizeof(scratch)) : read(p[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (!full)
			len += (size_t)n;
	}
	close(p[0]);
	buf[len] = '\0';
	*out = buf;
	return wait_child(pid);
}
