/* Database sinks: IMSpector's `messages` table in SQLite, PostgreSQL or
 * MariaDB/MySQL, each behind a backend's connect / begin / insert /
 * commit, and made a sink (sink.h) by sink_db_open: a batch is one
 * transaction. A database can go away and come back: a failed batch is
 * given again by the writer (sink_writer.h), whose write-ahead log keeps
 * the events meanwhile.
 *
 * Every row carries the sensor name and an event id unique per sensor;
 * (sensor, eventid) has a unique index and inserts ignore a row already
 * there, which makes replaying a batch whose commit went unanswered
 * harmless: each event is stored exactly once. */
#ifndef IMW_SINK_DB_H
#define IMW_SINK_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

/* The archive's columns (README, "The archive"), after IMSpector's and
 * sensor/eventid: ts_us (bigint, microseconds) and these text columns, in
 * this order; NULL when the event has nothing for one. The one list every
 * backend creates, adds to an older table and inserts. */
enum db_archive_column {
	DB_COL_KIND,
	DB_COL_SERVER,
	DB_COL_SESSION,
	DB_COL_COMMUNITY_ID,
	DB_COL_ACTION,
	DB_COL_RULE,
	DB_COL_CATEGORIES,
	DB_COL_DELIVERED_TEXT,
	DB_COL_ROUTE_TO,
	DB_COL_CONTENT_TYPE,
	DB_COL_PREV_HASH,
	DB_COL_HASH,
	DB_ARCHIVE_TEXT_COLUMNS
};
extern const char *const db_archive_columns[DB_ARCHIVE_TEXT_COLUMNS];

/* imwire's columns after the archive's: what a file transfer carried
 * (#20), all text, '' on every other event (a file result's categories,
 * malware or unscanned, are the archive's categories column). Backends
 * add them to an existing table and insert them after the archive's, in
 * this order (db_file_columns names them). */
#define DB_FILE_COLUMNS 9
extern const char *const db_file_columns[DB_FILE_COLUMNS];

/* One row of `messages`, IMSpector's columns plus sensor and eventid,
 * the archive's and the file's. Strings are borrowed from the event or
 * the spool record. */
struct db_row {
	uint64_t eventid;
	int64_t timestamp; /* seconds since the epoch */
	const char *clientaddress;
	const char *protocolname; /* IMSpector's name: "IRC", "MSN", "ICQ-AIM" */
	int outgoing;
	int type; /* enum imspector_type */
	const char *localid;
	const char *remoteid;
	int filtered;
	const char *eventdata;
	int64_t ts_us;
	/* Use db_row_text(): the hashes live in the row itself (rows move). */
	const char *archive[DB_ARCHIVE_TEXT_COLUMNS];
	bool chained;
	char prev_hex[65], hash_hex[65];
	const char *file[DB_FILE_COLUMNS];
	char file_bytes[24];     /* file[1]'s text, when made from an event */
	char file_gap_bytes[24]; /* file[6]'s */
	char data_flow[24];      /* file[8]'s */
};

/* SQL pieces for the archive's columns, the same in every backend: q
 * quotes a name ("`" for MySQL, "" elsewhere). ", ts_us, kind, ..."; the
 * placeholders ", ?, ?..." (first_dollar 0) or ", $12, $13..."; and
 * "ALTER TABLE messages ADD COLUMN IF NOT EXISTS ts_us bigint, ..." with
 * text_type for the text columns. false on allocation failure. */
struct bytebuf;
bool db_sql_archive_names(struct bytebuf *b, const char *q);
bool db_sql_archive_params(struct bytebuf *b, int first_dollar);
bool db_sql_archive_add(struct bytebuf *b, const char *q, const char *text_type);
#define DB_ARCHIVE_PARAMS (1 + DB_ARCHIVE_TEXT_COLUMNS)
/* The same for the file columns, inserted after the archive's:
 * ", filestate, ..." and their placeholders. */
bool db_sql_file_names(struct bytebuf *b, const char *q);
bool db_sql_file_params(struct bytebuf *b, int first_dollar);

/* An archive column's value, NULL for none. */
const char *db_row_text(const struct db_row *row, enum db_archive_column col);

void db_row_from_event(struct db_row *row, const struct im_event *ev, uint64_t eventid);

struct sink_db;

struct sink_db_ops {
	/* Also names the spool file: "sqlite", "pgsql", "mysql". */
	const char *name;
	/* Connect, create the table (and add sensor/eventid to an older
	 * IMSpector table) when missing, prepare the insert. 0 or -1. */
	int (*connect)(struct sink_db *db);
	int (*begin)(struct sink_db *db);
	/* 0; -1 when the connection failed; SINK_DB_ROW_REJECTED when the
	 * server refused this row (bad data) and the connection still works:
	 * the transaction is then to be rolled back. */
	int (*insert)(struct sink_db *db, const struct db_row *row);
	/* Optional: rows[0..n) in order, a few statements rather than one
	 * each, for a backend whose cost is per statement (SQLite: the FTS5
	 * index behind the table's trigger writes a segment at every
	 * statement). *stored: how many of the first rows are in, each
	 * statement all or nothing. 0 (all stored); -1 when the connection
	 * failed; SINK_DB_ROW_REJECTED when one of the rows after *stored
	 * was refused and the connection still works: the caller finds
	 * which with insert(), one by one. */
	int (*insert_rows)(struct sink_db *db, const struct db_row *rows, size_t n,
			   size_t *stored);
	int (*commit)(struct sink_db *db);
	int (*rollback)(struct sink_db *db);
	/* Runs sql, its placeholders "?" (PostgreSQL's backend numbers them),
	 * with text parameters (NULL: SQL NULL), outside any batch; fn (may
	 * be NULL) gets each result row's columns as text, NULL for SQL NULL,
	 * and stops the rows by returning non-zero. *changed (may be NULL):
	 * rows a DELETE or UPDATE changed. 0, or -1 with err set. */
	int (*query)(struct sink_db *db, const char *sql, const char *const *params,
		     size_t n_params, int (*fn)(void *arg, const char *const *cols, size_t n),
		     void *arg, uint64_t *changed);
	/* Optional (PostgreSQL's partitioned table, sink_pgsql_part.c): the
	 * sensor's oldest time partitions a purge may drop whole (each row
	 * older than before_us, with an id at most to, no audit record, no
	 * user hold holds), one span of time [*lo_us, *hi_us) with *rows
	 * rows (0 rows: none). Outside any batch. 0, or -1 with err set. */
	int (*purge_parts)(struct sink_db *db, uint64_t to, int64_t before_us, const char *hold,
			   int64_t *lo_us, int64_t *hi_us, uint64_t *rows);
	/* Drops the sensor's partitions inside [lo_us, hi_us). 0, or -1. */
	int (*drop_parts)(struct sink_db *db, int64_t lo_us, int64_t hi_us);
	/* Rolls back whatever is open and drops the connection. */
	void (*disconnect)(struct sink_db *db);
	/* Frees the backend's parameters (after disconnect). */
	void (*destroy)(struct sink_db *db);
};

struct sink_db {
	const struct sink_db_ops *ops;
	void *ctx;
	char *sensor;
	unsigned timeout_s; /* bound on connecting and on one statement */
	bool connected;
	/* Only reads (imwire verify): connecting makes no partition. */
	bool reader;
	char err[256]; /* last error, one line */
};

#define SINK_DB_ROW_REJECTED (-2)
#define SINK_DB_DEFAULT_TIMEOUT_S 5
#define SINK_DB_SENSOR_MAX 64

/* Each stores its parameters only; nothing is contacted before connect. */
int sink_db_sqlite_init(struct sink_db *db, const char *path, const char *sensor);
/* conninfo as libpq takes it ("host=/tmp/x dbname=imwire user=u"). */
int sink_db_pgsql_init(struct sink_db *db, const char *conninfo, const char *sensor);
/* pgsql_partition=: "day", "week", "month" or "none"; ahead: partitions
 * made ahead of time (pgsql_partitions_ahead=, 0: 3). -1 with err for
 * another unit. */
int sink_db_pgsql_partition(struct sink_db *db, const char *unit, unsigned ahead, char *err,
			    size_t err_size);
/* server: host name, "host:port", or the path of a Unix socket. */
int sink_db_mysql_init(struct sink_db *db, const char *server, const char *database,
		       const char *user, const char *password, const char *sensor);

/* Common helpers for the backends. */
int sink_db_common_init(struct sink_db *db, const struct sink_db_ops *ops, void *ctx,
			const char *sensor);
void sink_db_set_error(struct sink_db *db, const char *what, const char *detail);
/* Frees everything (disconnecting first). */
void sink_db_free(struct sink_db *db);

/* Insert rows[0..n) in one transaction (connecting first when needed).
 * Rows the server refuses are left out, counted in *rejected and
 * reported in db->err, so one bad row can never block the rest forever.
 * 0, or -1 with db->err set and the connection dropped: then nothing of
 * this batch is known to be stored. */
int sink_db_insert_batch(struct sink_db *db, const struct db_row *rows, size_t n,
			 size_t *rejected);

/* sql with parameters, connecting first when needed (see ops.query). */
typedef int (*db_row_fn)(void *arg, const char *const *cols, size_t n);
int sink_db_query(struct sink_db *db, const char *sql, const char *const *params, size_t n_params,
		  db_row_fn fn, void *arg, uint64_t *changed);

/* The chain's tail in this database: the hash of the sensor's stored event
 * with the highest id below `before` (*found false: none, a new chain).
 * 0, or -1 with err set. */
int sink_db_chain_tail(struct sink_db *db, uint64_t before, uint8_t hash[32], bool *found);

/* Retention (archive/purge.h, sink_db_purge.c). A purge's plan: its
 * rows, and the time partitions it drops whole first (PostgreSQL's;
 * [drop_lo_us, drop_hi_us), empty for none, holding `dropped` rows). */
#include "archive/purge.h"
struct db_purge {
	struct purge_plan pl;
	char *hold; /* pl.p.hold points to it */
	int64_t drop_lo_us, drop_hi_us;
	uint64_t dropped;
};
/* The plan for request id: 1 with dp made; 0 when there is nothing to
 * record (nothing expired, all of it held, or the record of id is stored
 * already: then what it removes has been removed now); -1 with err. */
struct purge_request;
int sink_db_purge_plan(struct sink_db *db, const struct purge_request *req, uint64_t id,
		       struct db_purge *dp);
/* The plan's partitions dropped, then its runs deleted, one statement
 * each. 0, or -1 with err set. */
int sink_db_purge_delete(struct sink_db *db, const struct db_purge *dp);
void sink_db_purge_free(struct db_purge *dp);

/* The database as a sink (taking db over: copied and cleared): write()
 * adds a row with the event's id, flush() inserts the batch in one
 * transaction (connecting first when needed). id names the sink in the
 * writer's log and cursor ("sqlite /var/lib/imwire/imwire.db"). Rows the
 * server refuses are counted in s->rejected. */
struct sink;
int sink_db_open(struct sink *s, struct sink_db *db, const char *id);

#endif
