/* Event sinks: where decoded events are written. Several may be active
 * at once; a sink that fails reports it and counts the event as failed,
 * it never stops the others. */
#ifndef IMW_SINK_H
#define IMW_SINK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "event/event.h"

struct sink;

struct sink_ops {
	const char *name;
	/* 0, or -1 when the event could not be written. */
	int (*write)(struct sink *s, const struct im_event *ev);
	int (*flush)(struct sink *s);
	void (*close)(struct sink *s);
};

struct sink {
	const struct sink_ops *ops;
	void *ctx;
	uint64_t written;
	uint64_t failed;
};

/* JSON lines on an open stream (not closed by the sink) or to a file
 * opened for appending. flush_each: flush after every event (live use). */
int sink_jsonl_open_stream(struct sink *s, FILE *out, bool flush_each);
int sink_jsonl_open_path(struct sink *s, const char *path, bool flush_each);

/* IMSpector's file layout under dir: {PROTO}/{local}/{remote}/{YYYY-MM-DD},
 * lines "ip:port,unixtime,outgoing,type,filtered,eventdata". */
int sink_imspector_open_dir(struct sink *s, const char *dir);
/* The same lines on a stream, each prefixed by its would-be path and ": ". */
int sink_imspector_open_stream(struct sink *s, FILE *out);

/* Events to syslog (LOG_DAEMON, LOG_INFO), one JSON object a message;
 * socket_path NULL: through syslog(3), else datagrams to that socket. */
int sink_syslog_open(struct sink *s, const char *socket_path);

int sink_write(struct sink *s, const struct im_event *ev);
void sink_close(struct sink *s);

/* Append ev as one JSON object (no newline) to a buffer; shared with any
 * sink that stores JSON. */
struct bytebuf;
bool sink_format_json(struct bytebuf *out, const struct im_event *ev);
/* IMSpector's line (no newline). */
bool sink_format_imspector_line(struct bytebuf *out, const struct im_event *ev);

#endif
