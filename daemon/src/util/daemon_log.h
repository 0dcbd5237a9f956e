/* The daemon's own messages (start, stop, failures; never events, which go
 * to the sinks): to standard error in the foreground (-d), to syslog when
 * daemonized, and to log_file= in either case when it is set, for hosts
 * without syslog. One process-wide destination, set up once at start; a
 * message is formatted once and written with one write() per destination,
 * so lines of several threads never interleave. The file is reopened on
 * request (SIGUSR1, SIGHUP) so that logrotate's mv + signal works. */
#ifndef IMW_UTIL_DAEMON_LOG_H
#define IMW_UTIL_DAEMON_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* "imwired: " prefixes each line on standard error; ident names the
 * process in syslog and in the file. Standard error only, until told. */
void daemon_log_init(const char *ident);
void daemon_log_to_stderr(bool on);
/* syslog (LOG_DAEMON, with the pid); false when there is no /dev/log. */
bool daemon_log_to_syslog(bool on);
/* Also to path, appended (made if absent, mode 0640). 0, or -1 with a
 * one-line reason in err (nothing changes then). */
int daemon_log_open_file(const char *path, char *err, size_t err_size);
/* Reopen the file by its name (a no-op without one): a rotated file is
 * left to logrotate and a new one begins. 0, or -1 with the reason in err;
 * the old file is kept then. */
int daemon_log_reopen(char *err, size_t err_size);
/* Whether some destination a daemonized process can reach is set (syslog
 * or a file). */
bool daemon_log_has_destination(void);
/* The file's path (NULL without one). */
const char *daemon_log_file(void);
void daemon_log_close(void);

/* The message, with a syslog level (LOG_ERR ...): runtime_log_fn. */
void daemon_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
