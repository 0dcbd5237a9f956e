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

/* imwire's columns after IMSpector's (and sensor, eventid): what a file
 * transfer carried (#20), all text, '' on every other event. Backends add
 * them to an existing table and insert them after eventid, in this order
 * (db_file_columns names them). */
#define DB_FILE_COLUMNS 10
extern const char *const db_file_columns[DB_FILE_COLUMNS];

/* One row of `messages`, IMSpector's columns plus sensor and eventid.
 * Strings are borrowed from the event or the spool record. */
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
	const char *file[DB_FILE_COLUMNS];
	char file_bytes[24]; /* file[1]'s text, when made from an event */
	char categories[64]; /* file[6]'s */
	char file_gap_bytes[24]; /* file[7]'s */
	char data_flow[24];      /* file[9]'s */
};

/* The row an event becomes (strings point into ev). */
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
	int (*commit)(struct sink_db *db);
	int (*rollback)(struct sink_db *db);
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
	char err[256]; /* last error, one line */
};

#define SINK_DB_ROW_REJECTED (-2)
#define SINK_DB_DEFAULT_TIMEOUT_S 5
#define SINK_DB_SENSOR_MAX 64

/* Each stores its parameters only; nothing is contacted before connect. */
int sink_db_sqlite_init(struct sink_db *db, const char *path, const char *sensor);
/* conninfo as libpq takes it ("host=/tmp/x dbname=imwire user=u"). */
int sink_db_pgsql_init(struct sink_db *db, const char *conninfo, const char *sensor);
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

/* The database as a sink (taking db over: copied and cleared): write()
 * adds a row with the event's id, flush() inserts the batch in one
 * transaction (connecting first when needed). id names the sink in the
 * writer's log and cursor ("sqlite /var/lib/imwire/imwire.db"). Rows the
 * server refuses are counted in s->rejected. */
struct sink;
int sink_db_open(struct sink *s, struct sink_db *db, const char *id);

#endif
