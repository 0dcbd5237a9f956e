/* The writer: every sink behind one write-ahead log (sink_wal.h), so that
 * no event handed over is ever dropped.
 *
 * Hand-over (the packet path). A producer copies events into a batch of
 * its own (sink_writer_batch_add: one flat record each, sink_record.h; no
 * lock, no system call) and hands the batch over once per burst
 * (sink_writer_submit): under the writer's lock, one write() appends it
 * to the log and the same bytes join the in-memory queue; the sinks are
 * woken once. When submit returns, the events are in the kernel's page
 * cache: a kill -9 cannot lose them. The producer never waits on a disk
 * but for that one append (timed and counted in the stats). The sink's
 * own write (sink_write on the writer) is a batch of one.
 *
 * Sinks. Each sink has a thread of its own and its own position (cursor,
 * sink_cursor.h) in the log, stored in the spool directory after each of
 * its batches: sinks are written and replayed independently, and a
 * database that is down holds back no file. A sink takes the events after
 * its cursor from memory, or from the log on disk when they left memory
 * (the memory bound, a restart), writes them as one batch (one write()
 * per file, one transaction per database) and moves its cursor. Every
 * sink ends with every event exactly once: databases ignore an event id
 * they have (the log's sequence number, unique per sensor); a file sink
 * stores, before a batch, the size of every file the batch may grow and,
 * when a batch did not complete (a crash, a failed write), cuts the
 * files back and writes the batch again whole. Syslog cannot take back a
 * datagram: after a crash it may repeat the last batch.
 *
 * Failures are events, never crashes. A sink whose batch fails is "down":
 * its reason (what, where, the errno's name) is logged once, each failed
 * attempt is counted, and the batch is tried again every retry_ms while
 * its events wait in the log. When the log passes spool_max_bytes and
 * only down sinks keep its oldest segment, those sinks lose that
 * segment's events (counted, cause "limit"). A full disk: an append the
 * disk refuses leaves the batch in memory only (counted "not durable"),
 * the sinks still get it from there; when memory is full as well, the
 * oldest such batch goes, and each sink that had not written it counts
 * its events lost with the cause (ENOSPC, EROFS, EIO...).
 *
 * Back-pressure. When the events sinks that are writing have yet to write
 * pass three quarters of spool_max_bytes (without a log: of memory_max),
 * the writer is too slow for the traffic: submit answers
 * SINK_WRITER_SLOW_DOWN and sink_writer_pressure() holds until the
 * backlog is under half. The events are taken all the same. The inline
 * engine then delays the verdicts of the flows producing events, as TCP
 * flow control would, rather than ever dropping a record.
 *
 * fsync policy (sink_writer_config.fsync, config key fsync=):
 *  - batch (the default): a sink's thread fdatasyncs the log before it
 *    writes events anywhere, and its data and its cursor after each
 *    batch. A power failure loses no event a sink has, and no sink has
 *    an event the log lost; it may lose events handed over in the last
 *    few milliseconds. A sink with neither an id nor a sync operation
 *    (the event tap: counters and `imwire tail`) keeps nothing to lose
 *    and syncs nothing.
 *  - interval: the log, the sinks' files and the cursors every
 *    fsync_interval_ms. A power failure may lose, or repeat, up to that
 *    much.
 *  - off: only at a clean stop.
 * kill -9 loses nothing under any policy.
 *
 * Stop (close): every sink writes everything queued before the writer
 * returns, as long as it makes progress; a sink that is down gets one
 * more attempt, and its events stay in the log for the next start. */
#ifndef IMW_SINK_WRITER_H
#define IMW_SINK_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sink/sink.h"
#include "sink/sink_db.h"

#define SINK_WRITER_MAX_SINKS 8
#define SINK_WRITER_DEFAULT_MEMORY (64u * 1024 * 1024)
#define SINK_WRITER_DEFAULT_BATCH 1024
#define SINK_WRITER_DEFAULT_RETRY_MS 1000
#define SINK_WRITER_DEFAULT_SPOOL_MAX (1024ULL * 1024 * 1024)
#define SINK_WRITER_DEFAULT_FSYNC_INTERVAL_MS 1000

/* submit's answers */
#define SINK_WRITER_OK 0
#define SINK_WRITER_SLOW_DOWN 1 /* taken; the producer should slow down */

typedef void (*sink_writer_log_fn)(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

enum sink_fsync {
	SINK_FSYNC_BATCH,
	SINK_FSYNC_INTERVAL,
	SINK_FSYNC_OFF,
};

struct sink_writer_config {
	size_t memory_max; /* bytes of queued events kept in memory */
	size_t batch_max;  /* events per sink batch (one transaction) */
	/* The write-ahead log and the cursors (sink_wal.h); NULL: memory
	 * only, where what memory cannot hold is lost (or, with
	 * wait_when_full, waited for). */
	const char *spool_dir;
	uint64_t spool_max_bytes; /* the log's bound (see above) */
	uint64_t segment_bytes;   /* 0: WAL_DEFAULT_SEGMENT_BYTES, at most a quarter of the bound */
	unsigned retry_ms;        /* between attempts of a sink that is down */
	enum sink_fsync fsync;
	unsigned fsync_interval_ms;
	/* Memory only, offline: submit waits for room while the sinks are
	 * writing, instead of losing events. */
	bool wait_when_full;
	/* A daemon that will drop root (user=/group=): who gets the spool
	 * directories the writer makes and its files. -1: nobody. */
	int owner_uid, owner_gid;
	/* The writer's own write() (sink_write on it) hands events over in
	 * batches of this many (the rest at flush and close) instead of one
	 * by one: for an offline reader, where no verdict waits on the
	 * hand-over. 0 or 1: each at once. */
	size_t coalesce;
	sink_writer_log_fn log; /* syslog levels; NULL: quiet */
	/* The archive (README, "The archive"). sensor: sensor_name, the
	 * chained stores' sensor column. With a key (checkpoint_key=), each
	 * chained store's chain is signed every checkpoint_interval_s and at
	 * the stop, to checkpoint_log (and syslog). */
	const char *sensor;
	const char *checkpoint_key;
	const char *checkpoint_log;
	unsigned checkpoint_interval_s;
	/* Retention (README, "Retention and legal hold"): with retention_days,
	 * a retention request is handed over at the start and every
	 * retention_interval_s (default 3600) after, and each store that keeps
	 * events removes those older than retention_days days whose local id
	 * legal_hold (ids, comma-separated, or a file of them) does not hold.
	 * compress_after_days: IMSpector day files (and JSON lines files
	 * logrotate left) are gzipped once that many days old (0: never). */
	unsigned retention_days;
	unsigned retention_interval_s;
	const char *legal_hold;
	unsigned compress_after_days;
};

/* Why a sink lost events. */
enum sink_loss {
	SINK_LOSS_ENOSPC,   /* the disk was full (ENOSPC, EDQUOT) */
	SINK_LOSS_EROFS,    /* the log's file system went read-only */
	SINK_LOSS_EIO,      /* any other error of the log's disk */
	SINK_LOSS_LIMIT,    /* the sink was down past spool_max_bytes */
	SINK_LOSS_REJECTED, /* the database refused the row as bad data */
	SINK_LOSS_NO_SPOOL, /* no log (spool_dir) and memory was full, or the sink was down at the stop */
	SINK_LOSS_COUNT
};

/* "enospc", "erofs", "eio", "limit", "rejected", "no_spool" */
const char *sink_loss_name(enum sink_loss cause);

struct sink_writer_sink_stats {
	char name[96]; /* the sink's id, or its kind */
	uint64_t queued;   /* events it has yet to write, now */
	uint64_t written;  /* events it wrote from memory */
	uint64_t replayed; /* events it wrote from the log on disk */
	uint64_t spooled;  /* events that left memory before it wrote them */
	uint64_t failed;   /* failed attempts (batches) */
	uint64_t lost[SINK_LOSS_COUNT];
	double lag;        /* seconds since the oldest event it has yet to write was handed over */
	bool down;
};

struct sink_writer_stats {
	/* The hand-over. */
	uint64_t submits;       /* hand-overs (batches) */
	uint64_t events;        /* events handed over */
	uint64_t bytes;         /* appended to the log */
	uint64_t append_ns;     /* time producers spent in the append */
	uint64_t append_max_ns; /* the longest one */
	uint64_t not_durable;   /* events the log's disk refused (kept in memory) */
	uint64_t slow_downs;    /* submits answered SINK_WRITER_SLOW_DOWN */
	uint64_t waits;         /* submits that waited for room (wait_when_full) */
	bool pressure;          /* now */
	uint64_t memory_bytes;  /* queued in memory, now */
	uint64_t log_bytes;     /* the log's size on disk, now */
	uint64_t log_segments;
	uint64_t fsyncs;
	size_t n_sinks;
	struct sink_writer_sink_stats sinks[SINK_WRITER_MAX_SINKS];
};

void sink_writer_config_defaults(struct sink_writer_config *cfg);
/* s becomes the writer sink; its threads start with sink_writer_start
 * (after any fork). With spool_dir, the log is opened (and locked: a
 * second process on the same spool_dir fails here, err saying which).
 * 0, or -1 with a one-line reason in err. */
int sink_writer_open(struct sink *s, const struct sink_writer_config *cfg, char *err,
		     size_t err_size);
/* Takes ownership of an opened sink (inner is cleared). A sink with an
 * id resumes at its cursor: what a crash left half-written is cut back
 * and what it had not written yet is written again; a sink without one
 * starts with the next event handed over. 0, or -1 with a reason. */
int sink_writer_add_sink(struct sink *w, struct sink *inner, char *err, size_t err_size);
int sink_writer_start(struct sink *w);
void sink_writer_get_stats(struct sink *w, struct sink_writer_stats *st);

/* Back-pressure (see above): true while the sinks that are writing are
 * further behind than the log should hold. Cheap: one atomic load, for
 * the packet path to ask before it releases a verdict. */
bool sink_writer_pressure(const struct sink *w);

/* A producer's batch: one per producing thread. */
struct sink_writer_batch;
struct sink_writer_batch *sink_writer_batch_new(struct sink *w);
void sink_writer_batch_free(struct sink_writer_batch *b);
/* Copies ev into the batch. false only when out of memory (counted, and
 * the event is then lost: nothing else can hold it). A batch grown past
 * 16 MiB is handed over from here. */
bool sink_writer_batch_add(struct sink_writer_batch *b, const struct im_event *ev);
/* Events in the batch, not yet handed over. */
size_t sink_writer_batch_count(const struct sink_writer_batch *b);
/* Hands the batch over (see above) and empties it: SINK_WRITER_OK, or
 * SINK_WRITER_SLOW_DOWN (taken; slow the flows that produce events). */
int sink_writer_submit(struct sink_writer_batch *b);

/* The sinks a configuration names (file_logging_dir, jsonl_file,
 * sqlite_file, mysql_server/_database/_username/_password, pgsql_connect,
 * sensor_name, db_timeout, syslog_events, syslog_socket), opened (files
 * are opened, databases connect on their first batch). */
struct sink_set {
	struct sink s[SINK_WRITER_MAX_SINKS];
	size_t n;
};
struct imw_config;
/* 0, or -1 with a one-line reason in err (then set is empty). */
int sink_configured_open(const struct imw_config *cfg, struct sink_set *set, char *err,
			 size_t err_size);
void sink_set_close(struct sink_set *set);

/* Adds the sinks a configuration names to writer w (before it starts),
 * counted in *added; a reload may replace or retire them
 * (sink_writer_reconfigure). 0, or -1 with a one-line reason in err. */
int sink_writer_add_configured(struct sink *w, const struct imw_config *cfg, size_t *added,
			       char *err, size_t err_size);

/* A reload, or SIGUSR1, while events flow: set (taken over, emptied) is
 * what the configuration names now, opened afresh. By id: a sink still
 * named takes its fresh copy between two of its batches, keeping its
 * place in the log (a file is so reopened by its name, for logrotate's mv
 * + signal; a database gets its new settings); a sink named for the
 * first time starts with the next event (or at its cursor, if it was one
 * before); a sink no longer named writes what was handed over before the
 * call, then stops. With files_only (SIGUSR1), only sinks that write
 * files (they have undo) take their copy; nothing is added or retired.
 * Sinks the configuration does not name (standard output, the default
 * database, the event tap) are left alone. Each change is logged. -1
 * with a reason in err when the sinks would not fit (nothing changed). */
struct sink_writer_changes {
	unsigned kept, added, retired, failed;
};
int sink_writer_reconfigure(struct sink *w, struct sink_set *set, bool files_only,
			    struct sink_writer_changes *ch, char *err, size_t err_size);
/* How many sinks the configuration named are in use (not retired). */
size_t sink_writer_configured(struct sink *w);

/* A store outside the sinks that the archive's retention also applies to
 * (files_dir, files/files.h): with retention_days, fn gets each
 * retention request the writer makes (its cutoff and the legal hold of
 * the moment: at the start, then every retention_interval_s), on the
 * thread that makes it; and once when set if the writer has started
 * already (the store's start: the writer's first request came before the
 * store was there). fn writes one line for the log in msg (nothing: no
 * line). The writer owns when; the store owns what and how, so neither
 * reaches into the other. Setting NULL waits for a pass under way: after
 * it, arg may be freed. */
struct purge_request;
typedef void (*sink_writer_retention_fn)(void *arg, const struct purge_request *req, char *msg,
					 size_t msg_size);
void sink_writer_set_retention_hook(struct sink *w, sink_writer_retention_fn fn, void *arg);

/* A reload's legal hold, canonical as purge_hold_load makes it (read
 * again at each reload even when the key did not change: a hold is added
 * by editing the file of ids): every retention request from the next on
 * holds by it, in every sink and in files_dir. The writer owns hold now. */
void sink_writer_take_legal_hold(struct sink *w, char *hold);
/* The writer settings of a configuration (spool_dir, spool_max_bytes,
 * fsync, fsync_interval_ms), with default_spool_dir when it names none
 * (NULL: no log). */
void sink_writer_config_from(struct sink_writer_config *wc, const struct imw_config *cfg,
			     const char *default_spool_dir);
/* An instance's own spool directory under base: base/INSTANCE, the
 * instance named by its configuration file (config_instance: "imwire" for
 * /etc/imwire/imwire.conf, "bridge2" for /etc/imwire/bridge2.conf), as its
 * pid file and statistics are; the log's lock refuses a second process on
 * it. 0, or -1 (too long). */
int sink_writer_instance_dir(char *out, size_t size, const char *base, const char *config_path);

#endif
