/* What the three SQL backends share: the SELECT a review query becomes in
 * each dialect, with its parameters, and the row a result line becomes.
 * Every value goes to the server as a bound parameter, never in the text. */
#ifndef IMW_REVIEW_ARCHIVE_SQL_H
#define IMW_REVIEW_ARCHIVE_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "review/query.h"
#include "util/bytebuf.h"

enum sql_dialect {
	SQL_SQLITE,
	SQL_PGSQL,
	SQL_MYSQL,
};

#define SQL_MAX_PARAMS 32

struct sql_param {
	bool is_int;
	int64_t i;
	char *s; /* owned */
};

struct sql_stmt {
	struct bytebuf sql; /* NUL-terminated once built */
	struct sql_param params[SQL_MAX_PARAMS];
	size_t n_params;
	/* Columns of each result line, in order (sql_row_decode). */
	unsigned cols;
};

void sql_stmt_free(struct sql_stmt *st);

/* The SELECT of a query over `messages` on an archive with columns cols;
 * false on allocation failure. */
bool sql_build_select(struct sql_stmt *st, enum sql_dialect d, unsigned cols,
		      const struct review_query *q);
/* Events per day and protocol since a time (day, protocolname, events, hits). */
bool sql_build_daily(struct sql_stmt *st, enum sql_dialect d, int64_t since);
/* Hits by rule (or action) since a time (label, n). */
bool sql_build_hit_counts(struct sql_stmt *st, enum sql_dialect d, unsigned cols, int64_t since);

/* A result line (text values, NULL for SQL NULL) into a row; text is
 * made valid UTF-8 (invalid bytes taken as Latin-1). false on allocation
 * failure. */
bool sql_row_decode(struct review_row *r, unsigned cols, const char *const *vals, const size_t *lens,
		    size_t n);

#endif
