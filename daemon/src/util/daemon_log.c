#include "util/daemon_log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LINE_GUESS 512

/* Set up by the main thread at start; the file's descriptor changes
 * under the lock (a reopen). */
static struct {
	pthread_mutex_t lock;
	const char *ident;
	bool to_stderr;
	bool to_syslog;
	int fd;
	char *path;
} dl = { PTHREAD_MUTEX_INITIALIZER, "imwired", true, false, -1, NULL };

void daemon_log_init(const char *ident)
{
	dl.ident = ident;
	/* The zone is read now, while every file can still be read. */
	tzset();
}

void daemon_log_to_stderr(bool on)
{
	dl.to_stderr = on;
}

bool daemon_log_to_syslog(bool on)
{
	struct stat st;

	if (on && (stat("/dev/log", &st) < 0 || !S_ISSOCK(st.st_mode)))
		return false;
	if (on && !dl.to_syslog)
		openlog(dl.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!on && dl.to_syslog)
		closelog();
	dl.to_syslog = on;
	return true;
}

static int open_file(const char *path, char *err, size_t err_size)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);

	if (fd < 0)
		snprintf(err, err_size, "log_file %s: %s", path, strerror(errno));
	return fd;
}

int daemon_log_open_file(const char *path, char *err, size_t err_size)
{
	char *copy = strdup(path);
	int fd, old;

	if (!copy) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	fd = open_file(path, err, err_size);
	if (fd < 0) {
		free(copy);
		return -1;
	}
	pthread_mutex_lock(&dl.lock);
	old = dl.fd;
	free(dl.path);
	dl.fd = fd;
	dl.path = copy;
	pthread_mutex_unlock(&dl.lock);
	if (old >= 0)
		close(old);
	return 0;
}

int daemon_log_reopen(char *err, size_t err_size)
{
	int fd, old;

	pthread_mutex_lock(&dl.lock);
	if (!dl.path) {
		pthread_mutex_unlock(&dl.lock);
		return 0;
	}
	fd = open_file(dl.path, err, err_size);
	if (fd < 0) {
		pthread_mutex_unlock(&dl.lock);
		return -1;
	}
	old = dl.fd;
	dl.fd = fd;
	pthread_mutex_unlock(&dl.lock);
	if (old >= 0)
		close(old);
	return 0;
}

bool daemon_log_has_destination(void)
{
	return dl.to_syslog || dl.path;
}

const char *daemon_log_file(void)
{
	return dl.path;
}

void daemon_log_close(void)
{
	pthread_mutex_lock(&dl.lock);
	if (dl.fd >= 0)
		close(dl.fd);
	dl.fd = -1;
	free(dl.path);
	dl.path = NULL;
	pthread_mutex_unlock(&dl.lock);
	if (dl.to_syslog)
		closelog();
	dl.to_syslog = false;
}

/* All of buf, or as much as the descriptor takes: a log line is never
 * worth waiting on or failing over. */
static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* "PREFIX" + the message + "\n", in stack when it fits, else on the heap:
 * never cut short. NULL when out of memory. prefix is shorter than stack. */
static char *format_line(char *stack, size_t stack_size, const char *prefix, const char *fmt,
			 va_list ap, size_t *len)
{
	size_t plen = strlen(prefix);
	char *buf = stack;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(stack + plen, stack_size - plen, fmt, ap);
	if (n >= 0 && plen + (size_t)n + 1 >= stack_size) {
		buf = malloc(plen + (size_t)n + 2);
		if (buf)
			n = vsnprintf(buf + plen, (size_t)n + 1, fmt, again);
	}
	va_end(again);
	if (n < 0 || !buf) {
		if (buf != stack)
			free(buf);
		return NULL;
	}
	memcpy(buf, prefix, plen);
	buf[plen + (size_t)n] = '\n';
	*len = plen + (size_t)n + 1;
	return buf;
}

void daemon_log(int level, const char *fmt, ...)
{
	char stack[LINE_GUESS], prefix[96], *line;
	struct tm tm;
	time_t now;
	size_t len;
	va_list ap;

	if (dl.to_syslog) {
		va_start(ap, fmt);
		vsyslog(level, fmt, ap);
		va_end(ap);
	}
	if (dl.to_stderr) {
		va_start(ap, fmt);
		snprintf(prefix, sizeof(prefix), "%s: ", dl.ident);
		line = format_line(stack, sizeof(stack), prefix, fmt, ap, &len);
		va_end(ap);
		if (line)
			write_all(STDERR_FILENO, line, len);
		if (line != stack)
			free(line);
	}
	if (dl.path) {
		now = time(NULL);
		localtime_r(&now, &tm);
		len = strftime(prefix, sizeof(prefix), "%Y-%m-%dT%H:%M:%S%z ", &tm);
		snprintf(prefix + len, sizeof(prefix) - len, "%s[%ld]: ", dl.ident, (long)getpid());
		va_start(ap, fmt);
		line = format_line(stack, sizeof(stack), prefix, fmt, ap, &len);
		va_end(ap);
		pthread_mutex_lock(&dl.lock);
		if (line && dl.fd >= 0)
			write_all(dl.fd, line, len);
		pthread_mutex_unlock(&dl.lock);
		if (line != stack)
			free(line);
	}
}
