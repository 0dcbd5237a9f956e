/* An archive the review console reads: IMSpector's `messages` table in
 * SQLite, PostgreSQL or MariaDB/MySQL, or a JSON-lines file. Read only:
 * the reader never creates or changes a table or an index (the writer
 * keeps those, review/review_index.h). One archive handle is used by one
 * thread at a time. */
#ifndef IMW_REVIEW_ARCHIVE_H
#define IMW_REVIEW_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "review/query.h"

struct imw_config;

enum archive_kind {
	ARCHIVE_NONE,
	ARCHIVE_SQLITE,
	ARCHIVE_PGSQL,
	ARCHIVE_MYSQL,
	ARCHIVE_JSONL,
};

/* Where the archive is: one kind and its parameters (borrowed strings). */
struct archive_spec {
	enum archive_kind kind;
	const char *path;     /* SQLite file, JSON-lines file */
	const char *conninfo; /* PostgreSQL */
	const char *server;   /* MariaDB: host[:port] or socket path */
	const char *database;
	const char *user;
	const char *password;
};

/* The first archive a configuration writes to, in the order sqlite_file,
 * pgsql_connect, mysql_server, jsonl_file; false when it names none. */
bool archive_spec_from_config(struct archive_spec *spec, const struct imw_config *cfg);

/* Called for each row; the row is the callee's to keep (review_row_copy)
 * only by copying. Return 0 to go on, 1 to stop, -1 on an error. */
typedef int (*archive_row_fn)(const struct review_row *row, void *arg);
/* Events per UTC day (days since the epoch) and protocol, and how many of
 * them were policy hits. */
typedef int (*archive_day_fn)(int64_t day, const char *proto, int64_t events, int64_t hits,
			      void *arg);
/* A label (a rule, an action) and how many events had it. */
typedef int (*archive_count_fn)(const char *label, int64_t n, void *arg);

struct archive;

struct archive_ops {
	const char *name;
	int (*scan)(struct archive *a, const struct review_query *q, archive_row_fn fn, void *arg);
	int (*daily)(struct archive *a, int64_t since, archive_day_fn fn, void *arg);
	/* Policy hits by rule (or by action without a rule column). */
	int (*hit_counts)(struct archive *a, int64_t since, archive_count_fn fn, void *arg);
	void (*close)(struct archive *a);
};

struct archive {
	const struct archive_ops *ops;
	void *ctx;
	unsigned cols; /* review_column bits present */
	char err[256];
};

/* 0, or -1 with a.err saying why. */
int archive_open(struct archive *a, const struct archive_spec *spec);
void archive_close(struct archive *a);

/* Rows matching q, in the order q asks; -1 with a->err on an error. A
 * query on a column the archive lacks is an error naming it. */
int archive_scan(struct archive *a, const struct review_query *q, archive_row_fn fn, void *arg);
/* One row by id: 0, 1 when there is none, -1 on an error. */
int archive_get(struct archive *a, int64_t id, struct review_row *out);
/* The highest row id (0 when empty), -1 on an error. */
int64_t archive_max_id(struct archive *a);
int archive_daily(struct archive *a, int64_t since, archive_day_fn fn, void *arg);
int archive_hit_counts(struct archive *a, int64_t since, archive_count_fn fn, void *arg);

/* Rows into an array (for threading and exports). */
struct row_list {
	struct review_row *rows;
	size_t n;
	size_t cap;
};

int archive_collect(struct archive *a, const struct review_query *q, struct row_list *out);
void row_list_free(struct row_list *l);

/* Backends (archive_*.c). */
int archive_sqlite_open(struct archive *a, const char *path);
int archive_pgsql_open(struct archive *a, const char *conninfo);
int archive_mysql_open(struct archive *a, const struct archive_spec *spec);
int archive_jsonl_open(struct archive *a, const char *path);
void archive_set_error(struct archive *a, const char *what, const char *detail);

#endif
