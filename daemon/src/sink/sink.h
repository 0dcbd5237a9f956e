/* Event sinks: where decoded events are written. Several may be active
 * at once; a sink that fails reports it and counts the event as failed,
 * it never stops the others.
 *
 * The contract, which the writer (sink_writer.h) relies on to write every
 * event exactly once:
 *  - write() takes one event into the current batch. A file or database
 *    sink only buffers it (the event and its strings stay valid until the
 *    next flush() returns); a sink that sends at once (syslog) sends it.
 *    -1: this event was not taken (the events before it were).
 *  - flush() ends the batch: one write() per file, one transaction per
 *    database. -1: nothing of the batch counts (a partial file write is
 *    cut back first), and the writer gives the same events again.
 *  - The optional undo() and restore() let a file sink be written again
 *    after a crash or a failed flush without repeating a line: undo()
 *    names the files the next batch may grow and their sizes now, the
 *    writer stores that (sink_cursor.h) before the batch, and restore()
 *    cuts each file back to that size when the batch did not complete.
 * On every failure the sink leaves a one-line reason (what, where, the
 * errno's name) in err and the errno in err_no. */
#ifndef IMW_SINK_H
#define IMW_SINK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "archive/chain.h"
#include "archive/purge.h"
#include "event/event.h"
#include "util/bytebuf.h"

struct sink;

/* Files a batch may grow, each with its size before the batch, encoded
 * in buf (sink_cursor.c reads and writes it). Bounded: a sink stops
 * taking events into a batch when one more file would not fit. */
#define SINK_UNDO_MAX_BYTES 16384
struct sink_undo {
	struct bytebuf buf;
	size_t n;
};

struct sink_ops {
	const char *name;
	/* 0, or -1 when the event could not be taken. eventid is unique per
	 * sensor and the same when the writer gives the event again (0 when
	 * the caller has none): databases store it to ignore repeats. */
	int (*write)(struct sink *s, const struct im_event *ev, uint64_t eventid);
	int (*flush)(struct sink *s);
	void (*close)(struct sink *s);
	/* Optional: make what flush() wrote durable (fdatasync). */
	int (*sync)(struct sink *s);
	/* Optional: how many of evs[0..n) (at least one unless n is 0) the next
	 * batch takes, with the files they may grow and their sizes now
	 * appended to u; with n == 0, the files as they are now (stored when a
	 * batch is committed). 0 taken with n > 0: an error (err set). */
	size_t (*undo)(struct sink *s, const struct im_event *const *evs, size_t n,
		       struct sink_undo *u);
	/* Optional: cut every file u lists back to its size there (a file
	 * replaced meanwhile, by logrotate say, is left alone). 0 or -1. */
	int (*restore)(struct sink *s, const struct sink_undo *u);
	/* Optional, for a chained sink: the hash of the last event it stores
	 * with an id below `before` (*found false: none, the chain starts
	 * over). 0, or -1 with err set. Without it, the chain starts at each
	 * open (a stream). */
	int (*chain_tail)(struct sink *s, uint64_t before, uint8_t hash[32], bool *found);
	/* Optional: retention (archive/purge.h). The writer's retention
	 * request req, whose id is id, reached this sink. A store of the chain
	 * plans its purge and answers 1 with *rec filled (all but hold) when
	 * there is something to remove: the writer then gives the record (an
	 * audit event, action purge, rec's text, the request's id) as a batch
	 * of one, whose flush() stores it and then removes what the plan
	 * said. 0: nothing to record (nothing expired, or a purge whose record
	 * is stored already was finished now). A sink outside the chain (the
	 * file layout) does its work here and answers 0. -1 with err set.
	 * A sink without it never sees retention requests. */
	int (*purge)(struct sink *s, const struct purge_request *req, uint64_t id,
		     struct chain_purge *rec);
};

struct sink {
	const struct sink_ops *ops;
	void *ctx;
	/* Names this sink's position in the write-ahead log across restarts
	 * ("jsonl /var/log/imwire/events.jsonl"); NULL for a sink that only
	 * takes the events of the current run (standard output). Owned. */
	char *id;
	uint64_t written;
	uint64_t failed;
	uint64_t rejected; /* events a database refused as bad data (left out) */
	/* A store of the archive (JSON lines files, databases): the writer
	 * gives its events an id, the sensor and the chain (archive/chain.h). */
	bool chained;
	int err_no;
	char err[384];
};

/* JSON lines on an open stream (not closed by the sink) or to a file
 * opened for appending. Buffered until flush(), or until flush_at bytes
 * are pending (0: only at flush(), as behind the writer). */
int sink_jsonl_open_stream(struct sink *s, FILE *out, size_t flush_at);
int sink_jsonl_open_path(struct sink *s, const char *path, size_t flush_at);

/* IMSpector's file layout under dir: {PROTO}/{local}/{remote}/{YYYY-MM-DD},
 * lines "ip:port,unixtime,outgoing,type,filtered,eventdata". Directories
 * and files are made when an event needs them; a failure there (a file
 * in the way, no permission, a full disk) fails that flush with its
 * reason, and the next flush tries again. flush_at as for JSON lines. */
int sink_imspector_open_dir(struct sink *s, const char *dir, size_t flush_at);
/* The same lines on a stream, each prefixed by its would-be path and ": ". */
int sink_imspector_open_stream(struct sink *s, FILE *out);

/* Events to syslog (LOG_DAEMON, LOG_INFO; with alerts, the level its
 * categories raise an event to, sink_alert.h), one JSON object a message,
 * as datagrams to socket_path (NULL: /dev/log). A socket that is absent
 * or refuses fails the write, which the writer retries. */
struct sink_alerts;
int sink_syslog_open(struct sink *s, const char *socket_path, const struct sink_alerts *alerts);

int sink_write(struct sink *s, const struct im_event *ev);
void sink_close(struct sink *s);

/* Set s->err from a printf format followed by ": <strerror> (<ENAME>)"
 * of e, and s->err_no; returns -1. */
int sink_fail(struct sink *s, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "No space left on device (ENOSPC)" for e. */
const char *sink_errno_text(int e, char *buf, size_t size);

/* Append ev as one JSON object (no newline) to a buffer; shared with any
 * sink that stores JSON. */
bool sink_format_json(struct bytebuf *out, const struct im_event *ev);
/* IMSpector's line (no newline). */
bool sink_format_imspector_line(struct bytebuf *out, const struct im_event *ev);
/* The date of the last event formatted, valid for its minute. */
struct sink_date_cache {
	bool valid;
	int64_t minute_start;
	int year, month, day;
};
/* IMSpector's relative path of ev's file, "IRC/alice/#chan/2024-01-31". */
bool sink_format_imspector_path(struct bytebuf *out, const struct im_event *ev,
				struct sink_date_cache *dc);

/* The undo list (see struct sink_undo). */
void sink_undo_init(struct sink_undo *u);
void sink_undo_free(struct sink_undo *u);
void sink_undo_clear(struct sink_undo *u);
/* false when it would pass SINK_UNDO_MAX_BYTES (or out of memory). */
bool sink_undo_add(struct sink_undo *u, const char *path, uint64_t dev, uint64_t ino,
		   uint64_t size);
/* The i-th entry (i < u->n); path points into u. */
struct sink_undo_entry {
	const char *path;
	uint64_t dev, ino, size;
};
bool sink_undo_get(const struct sink_undo *u, size_t i, struct sink_undo_entry *e);
/* Whether a file path names is still the one an entry recorded, and
 * longer than it was: then cut it back. dev/ino 0: the file did not
 * exist. 0, or -1 with errno. */
int sink_undo_restore_file(const char *path, const struct sink_undo_entry *e);

#endif
