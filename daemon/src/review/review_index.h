/* The indexes the review console reads through, created and kept by the
 * writer: each SQL sink calls its function once, where it creates the
 * `messages` table. All are idempotent (IF NOT EXISTS) and leave the
 * table's columns and IMSpector's queries as they were.
 *  - SQLite: an external-content FTS5 table `messages_fts` over
 *    eventdata, kept by triggers, filled once from existing rows;
 *  - PostgreSQL: a GIN index on to_tsvector('simple', eventdata);
 *  - MariaDB: a stored generated column `eventtext` (eventdata as utf8mb4
 *    text: FULLTEXT needs text, IMSpector's column is a blob) with a
 *    FULLTEXT index;
 * and on each, b-tree indexes on timestamp, localid and remoteid. */
#ifndef IMW_REVIEW_INDEX_H
#define IMW_REVIEW_INDEX_H

#include <stddef.h>

typedef struct sqlite3 sqlite3;
typedef struct pg_conn PGconn;
typedef struct st_mysql MYSQL;

/* 0, or -1 with a one-line reason in err. */
int review_index_sqlite(sqlite3 *db, char *err, size_t err_size);
int review_index_pgsql(PGconn *conn, char *err, size_t err_size);
int review_index_mysql(MYSQL *conn, char *err, size_t err_size);

#endif
