#include "review/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "review/query.h"

int audit_open(struct audit_log *log, const char *path, char *err, size_t err_size)
{
	log->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (log->fd < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (pthread_mutex_init(&log->lock, NULL) != 0) {
		close(log->fd);
		snprintf(err, err_size, "%s: mutex", path);
		return -1;
	}
	return 0;
}

static json_t *str(const char *s)
{
	json_t *v = json_string(s ? s : "");

	return v ? v : json_string("(not UTF-8)");
}

int audit_write(struct audit_log *log, const struct audit_entry *e)
{
	char t[32], *line;
	json_t *o;
	size_t n;
	ssize_t w;
	int rc = -1;

	review_format_time((int64_t)time(NULL), t, sizeof(t));
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:o}", "time", t, "user",
		      str(e->user), "role", str(e->role), "addr", str(e->addr), "method",
		      str(e->method), "path", str(e->path), "query", str(e->query), "status", e->status,
		      "what", str(e->what));
	line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!line)
		return -1;
	n = strlen(line);
	line[n] = '\n'; /* json_dumps leaves the NUL: replaced, the length kept */
	pthread_mutex_lock(&log->lock);
	w = write(log->fd, line, n + 1);
	if (w == (ssize_t)(n + 1) && fdatasync(log->fd) == 0)
		rc = 0;
	pthread_mutex_unlock(&log->lock);
	free(line);
	return rc;
}

void audit_close(struct audit_log *log)
{
	if (log->fd >= 0)
		close(log->fd);
	log->fd = -1;
	pthread_mutex_destroy(&log->lock);
}
