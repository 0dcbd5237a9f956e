/* Every path the running daemon writes or reads again, from its
 * configuration: made while still root (what is made here goes to the
 * daemon user, what exists is left alone: util/fs_owned.h), and the whole
 * of what the sandbox lets it touch afterwards (sandbox/sandbox.h). A
 * reload that names a path outside this list is refused by the sandbox:
 * the list is fixed at start. */
#ifndef IMW_RUNTIME_PATHS_H
#define IMW_RUNTIME_PATHS_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "util/fs_owned.h"

enum runtime_path_use {
	/* A file appended to and reopened by its name (jsonl_file=,
	 * log_file=): after a rotation a new one is made beside it. */
	PATH_APPEND,
	/* An SQLite database: its journal, -wal and -shm live beside it. */
	PATH_DATABASE,
	/* A log retention rewrites beside itself and renames over, whose
	 * rotated siblings it lists, gzips and removes (jsonl_file=). */
	PATH_RETAINED,
	/* A directory the daemon fills (file_logging_dir=, the spool). */
	PATH_TREE,
	/* A file replaced whole by a rename (stats_file=, metrics_textfile=). */
	PATH_REPLACED,
	/* A file removed at the stop (the pid file, the control socket). */
	PATH_REMOVED,
	/* A file read again on a reload (the configuration, its lists). */
	PATH_READ,
};

struct runtime_path {
	char *key; /* the configuration key, or what it is ("pid file") */
	char *path;
	enum runtime_path_use use;
};

struct runtime_paths {
	struct runtime_path *p;
	size_t n, cap;
};

void runtime_paths_init(struct runtime_paths *ps);
void runtime_paths_free(struct runtime_paths *ps);
/* One more (copied). false when out of memory. */
bool runtime_paths_add(struct runtime_paths *ps, const char *key, const char *path,
		       enum runtime_path_use use);
/* The paths cfg names (files, lists, sinks, statistics, metrics, the
 * control socket), the configuration file itself and pidfile. false when
 * out of memory. */
bool runtime_paths_of(struct runtime_paths *ps, const struct imw_config *cfg, const char *pidfile);
/* Makes, while root, what the daemon user will need: each directory
 * holding a path, each tree, and each file appended to or a database when
 * absent (so that its journal files get its owner). Existing ones are left
 * alone. What cannot be made is a warning to r ("KEY: reason"), not an
 * error: the sink or file concerned says so again, and is retried, when
 * it is used. */
void runtime_paths_prepare(const struct runtime_paths *ps, const struct fs_owner *o,
			   struct config_report *r);

#endif
