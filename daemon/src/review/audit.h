/* The access-audit log: reviewing is itself supervised. One JSON object
 * a line, appended with one write(2) under a mutex and flushed to disk
 * (fdatasync) before the response goes out:
 *   {"time","user","role","addr","method","path","query","status","what"}
 * A request that cannot be audited is refused (500), never served. */
#ifndef IMW_REVIEW_AUDIT_H
#define IMW_REVIEW_AUDIT_H

#include <pthread.h>

struct audit_log {
	int fd;
	pthread_mutex_t lock;
};

struct audit_entry {
	const char *user; /* "" before login */
	const char *role;
	const char *addr;
	const char *method;
	const char *path;
	const char *query;
	int status;
	const char *what;
};

int audit_open(struct audit_log *log, const char *path, char *err, size_t err_size);
/* 0, or -1 when the line could not be written. */
int audit_write(struct audit_log *log, const struct audit_entry *e);
void audit_close(struct audit_log *log);

#endif
