/* The writer: one thread that owns every sink behind it, fed through a
 * bounded in-memory queue. write() only copies the event into the queue
 * (the packet path never waits on a database or a disk); the thread
 * writes batches, each database batch in one transaction with prepared
 * statements. A database that fails, or falls behind (the queue more
 * than half full), gets its rows appended to its on-disk spool instead;
 * the spool is replayed in order, exactly once, when the database is
 * back and the queue has room, and on the next start when the daemon
 * stopped first. */
#ifndef IMW_SINK_WRITER_H
#define IMW_SINK_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sink/sink.h"
#include "sink/sink_db.h"

#define SINK_WRITER_DEFAULT_QUEUE 65536
#define SINK_WRITER_DEFAULT_BATCH 500
#define SINK_WRITER_DEFAULT_RETRY_MS 1000
#define SINK_WRITER_DEFAULT_SPOOL_MAX (1024ULL * 1024 * 1024)
/* At shutdown, spooled rows are replayed for at most this long; the rest
 * waits for the next start. */
#define SINK_WRITER_DRAIN_S 10

typedef void (*sink_writer_log_fn)(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct sink_writer_config {
	size_t queue_max; /* events */
	size_t batch_max; /* events per transaction */
	const char *spool_dir; /* NULL: no spool, rows a database misses are lost */
	uint64_t spool_max_bytes; /* per database */
	unsigned retry_ms;  /* between reconnection attempts */
	/* Offline use: write() waits for room instead of dropping. */
	bool wait_when_full;
	sink_writer_log_fn log; /* syslog levels; NULL: quiet */
};

struct sink_writer_stats {
	uint64_t queued;
	uint64_t dropped; /* queue full (an alarm is logged) */
	uint64_t db_written;  /* rows committed straight from the queue */
	uint64_t db_spooled;  /* rows appended to a spool */
	uint64_t db_replayed; /* rows committed from a spool */
	uint64_t db_lost;     /* rows no database or spool took */
	uint64_t db_rejected; /* rows a server refused as bad data */
	uint64_t spool_pending; /* rows still in the spools */
};

void sink_writer_config_defaults(struct sink_writer_config *cfg);
/* s becomes the writer sink; its thread starts with sink_writer_start
 * (after any fork). */
int sink_writer_open(struct sink *s, const struct sink_writer_config *cfg);
/* Takes ownership of an opened sink (written by the thread, flushed
 * after every batch). */
int sink_writer_add_sink(struct sink *w, struct sink *inner);
/* Takes ownership of a database (db is copied and cleared) and opens its
 * spool; -1 with a reason in err. */
int sink_writer_add_db(struct sink *w, struct sink_db *db, char *err, size_t err_size);
int sink_writer_start(struct sink *w);
void sink_writer_get_stats(struct sink *w, struct sink_writer_stats *st);

/* Adds the databases and syslog a configuration names (sqlite_file,
 * mysql_server/_database/_username/_password, pgsql_connect, sensor_name,
 * db_timeout, syslog_events, syslog_socket) to writer w, counted in
 * *added. 0, or -1 with a one-line reason in err. */
struct imw_config;
int sink_writer_add_configured(struct sink *w, const struct imw_config *cfg, size_t *added,
			       char *err, size_t err_size);
/* The writer settings of a configuration (spool_dir, spool_max_bytes),
 * with default_spool_dir when it names none (NULL: no spool). */
void sink_writer_config_from(struct sink_writer_config *wc, const struct imw_config *cfg,
			     const char *default_spool_dir);

#endif
