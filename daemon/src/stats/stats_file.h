/* Counters as a JSON file, for `imwire stats`.
 *
 * imwired's workers each publish a snapshot of their counters; the main
 * thread writes them, with their sum, to the stats file (config key
 * stats_file=, default STATS_DEFAULT_PATH) about once a second, replacing
 * it atomically so a reader never sees half a file. `imwire read --stats
 * FILE` writes the same layout once at the end. */
#ifndef IMW_STATS_FILE_H
#define IMW_STATS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flow/flow.h"
#include "inline/engine.h"
#include "nfq/nfq.h"
#include "nfq/nfq_proc.h"
#include "sink/sink_writer.h"

#define STATS_DEFAULT_PATH "/run/imwire/stats.json"
#define STATS_RUN_DIR "/run/imwire"

struct imw_config;
/* The stats file of a configuration: its stats_file=, else
 * STATS_DEFAULT_PATH for the default instance (imwire.conf, or no file),
 * else STATS_RUN_DIR/INSTANCE.stats.json. */
void stats_path_of(const struct imw_config *cfg, char *out, size_t size);

struct stats_snapshot {
	char name[32]; /* "queue 0", "tap", "read" */
	struct flow_stats flow;
	size_t flows_now;
	size_t max_flows;
	size_t max_buffered_total;
	bool has_engine;
	struct engine_stats engine;
	size_t held_packets_now;
	size_t held_bytes_now;
	size_t max_held_bytes_total;
	bool has_files;           /* file transfers followed (#20) */
	struct files_stats files;
	bool has_queue;           /* an NFQUEUE worker: its socket's counts */
	struct nfqueue_stats queue;
	/* and the kernel's for its queue (nfq_proc.h): what it could not
	 * queue to us (with queue_overflow=drop: dropped, resent) */
	struct nfqueue_kernel_counts kernel;
};

void stats_snapshot_of_flows(struct stats_snapshot *s, const char *name,
			     const struct flow_table *t);
void stats_snapshot_of_engine(struct stats_snapshot *s, const char *name, const struct engine *e);
/* After stats_snapshot_of_engine: the queue's counts beside the engine's. */
void stats_snapshot_add_queue(struct stats_snapshot *s, const struct nfqueue_stats *q,
			      const struct nfqueue_kernel_counts *kernel);

/* Every counter of a snapshot, as the JSON document has it: group ("flow",
 * "reasm", "app", "engine", "queue", "" for the top-level gauges, "sessions" by
 * protocol name), name, value. The metrics exposition is built from it, so
 * a counter added to the tables here shows in both. */
typedef void (*stats_counter_fn)(void *arg, const char *group, const char *name, uint64_t value);
void stats_foreach_counter(const struct stats_snapshot *s, stats_counter_fn fn, void *arg);
/* The sum of n snapshots, named "total". */
void stats_sum(struct stats_snapshot *total, const struct stats_snapshot *s, size_t n);

/* The JSON document: {"time", "workers": [...], "total": {...}}, and
 * with writer (else NULL) "writer": the hand-over's counters and, under
 * "sinks", each sink's queued, written, replayed, spooled, failed, lost
 * (by cause), lag (seconds) and down. */
int stats_write_json(FILE *out, const struct stats_snapshot *s, size_t n,
		     const struct sink_writer_stats *writer, double now);
/* Write to path + ".tmp", then rename over path. 0, or -1 with errno. */
int stats_write_file(const char *path, const struct stats_snapshot *s, size_t n,
		     const struct sink_writer_stats *writer, double now);

/* Print a stats document as indented "name: value" lines. 0, or -1 when
 * the text is not the JSON this module writes. */
int stats_pretty_print(const char *text, size_t len, FILE *out);

#endif
