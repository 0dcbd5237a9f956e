/* imwired's counters in the Prometheus text exposition format (0.0.4):
 * every counter of the stats document, per worker (stats_foreach_counter,
 * so a counter added there shows here), the writer's counters and each
 * sink's, with its lag, the events per protocol, kind and direction (the
 * event tap's), and the build. Served over HTTP by libmicrohttpd
 * (metrics_listen=) on its own thread, and/or written to a file for
 * node_exporter's textfile collector (metrics_textfile=).
 *
 * The module knows no daemon: what it shows comes from a collect callback
 * that fills a metrics_view (a copy, taken under the daemon's own locks),
 * and a release callback that frees it. */
#ifndef IMW_METRICS_H
#define IMW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "event/event.h"
#include "stats/stats_file.h"

/* A named value of the writer (queued, dropped, ...). */
struct metrics_value {
	const char *name;
	uint64_t value;
	bool gauge; /* a level, not a count */
};

/* One sink behind the writer. */
struct metrics_sink {
	const char *name; /* "sqlite", "jsonl:/var/log/imwire/events.jsonl", ... */
	const struct metrics_value *values;
	size_t n_values;
	double lag_seconds; /* age of its oldest unwritten event; 0 when none waits */
};

struct metrics_view {
	const char *version;
	double start_time; /* seconds since the epoch */
	const struct stats_snapshot *workers;
	size_t n_workers;
	const struct metrics_value *writer;
	size_t n_writer;
	const struct metrics_sink *sinks;
	size_t n_sinks;
	/* events[proto][kind][dir], or NULL when no tap counts them */
	const uint64_t (*events)[IM_KIND_COUNT][2];
	void *owner; /* the collector's storage, for its release */
};

/* Fill *view for one exposition (0), or -1 when nothing can be shown;
 * release undoes what collect allocated. Called on the server's thread. */
typedef int (*metrics_collect_fn)(void *arg, struct metrics_view *view);
typedef void (*metrics_release_fn)(void *arg, struct metrics_view *view);

/* The exposition of view. 0, or -1 on a write error. */
int metrics_render(FILE *out, const struct metrics_view *view);
/* The same to path, replaced atomically (path.PID.tmp, then rename), as
 * node_exporter's textfile collector wants. 0, or -1 with errno. */
int metrics_write_textfile(const char *path, const struct metrics_view *view);

/* "ADDRESS:PORT" ("127.0.0.1:9477", "[::1]:9477", ":9477" for every
 * address). false with a reason in err. */
struct sockaddr_storage;
bool metrics_parse_listen(const char *text, struct sockaddr_storage *ss, char *err,
			  size_t err_size);

/* GET /metrics on listen; anything else is 404 (405 for another method).
 * NULL with a reason in err. */
struct metrics_server;
struct metrics_server *metrics_server_start(const char *listen, metrics_collect_fn collect,
					    metrics_release_fn release, void *arg, char *err,
					    size_t err_size);
void metrics_server_stop(struct metrics_server *s);

#endif
