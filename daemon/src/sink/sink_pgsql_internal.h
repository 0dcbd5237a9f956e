/* The PostgreSQL backend's parts (sink_pgsql.c, sink_pgsql_part.c). */
#ifndef IMW_SINK_PGSQL_INTERNAL_H
#define IMW_SINK_PGSQL_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "sink/sink_db.h"

enum pgsql_part_unit {
	PART_NONE,
	PART_DAY,
	PART_WEEK,
	PART_MONTH,
};

struct pgsql_ctx {
	char *conninfo;
	PGconn *conn;
	/* Time partitions (sink_pgsql_part.c). */
	enum pgsql_part_unit unit; /* asked for; PART_NONE: not asked */
	unsigned ahead;
	bool partitioned;   /* the table is: this sensor writes to its partition */
	enum pgsql_part_unit used; /* the unit of this sensor's partitions */
	char tag[40];       /* this sensor's partition: "messages_<name>_<hash>" */
	int64_t until;      /* end of the last range partition made, seconds */
	bool warned;        /* a partition could not be made (logged in err once) */
};

/* sink_pgsql.c: one statement outside any batch; err set on failure. */
int pgsql_exec(struct sink_db *db, const char *sql);
int pgsql_fail(struct sink_db *db, const char *what);

/* sink_pgsql_part.c. At set-up, under the set-up lock: a partitioned
 * `messages` when pgsql_partition= asks for one and there is no table
 * yet (before the plain CREATE TABLE IF NOT EXISTS, which then finds it);
 * then, whatever was asked, when the table is partitioned: this sensor's
 * partition, its default and its range partitions ahead. */
int pgsql_part_create(struct sink_db *db);
int pgsql_part_setup(struct sink_db *db);
/* Range partitions up to `ahead` units after now (seconds), when due. */
int pgsql_part_ensure(struct sink_db *db, int64_t now);
int pgsql_part_expired(struct sink_db *db, uint64_t to, int64_t before_us, const char *hold,
		       int64_t *lo_us, int64_t *hi_us, uint64_t *rows);
int pgsql_part_drop(struct sink_db *db, int64_t lo_us, int64_t hi_us);

#endif
