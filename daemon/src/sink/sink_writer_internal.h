/* The writer's parts (sink_writer.h), shared by its three files only:
 * the in-memory queue of frames (sink_queue.c), a sink's thread
 * (sink_lane.c), and the writer that ties them, with the hand-over and
 * the maintenance of the log (sink_writer.c). Everything here is under
 * the writer's lock unless a field says otherwise. */
#ifndef IMW_SINK_WRITER_INTERNAL_H
#define IMW_SINK_WRITER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "archive/chain.h"
#include "archive/checkpoint.h"
#include "sink/sink_cursor.h"
#include "sink/sink_wal.h"
#include "sink/sink_writer.h"

#define FRAME_SOFT_MAX (16u * 1024 * 1024) /* a producer's batch is handed over past this */
#define IDLE_WAIT_MS 100
/* A sink that keeps nothing (the event tap), once caught up, lets events
 * gather this long before its next batch instead of being woken by every
 * hand-over. */
#define GATHER_MS 10
#define SPARE_FRAMES 8
/* At a stop a sink that still makes progress goes on; after this long
 * only events the log does not hold keep it going (the rest wait in the
 * log for the next start: nothing is lost either way). */
#define STOP_DRAIN_S 60

/* One hand-over in memory: the very bytes appended to the log, or, once
 * the memory bound made a frame the log did not take go, a tombstone
 * that tells each sink how many events it lost and why. */
struct frame {
	struct frame *next;
	struct bytebuf buf; /* [40-byte frame header][records]; empty in a tombstone */
	uint32_t *rec;      /* offset of each record in buf */
	size_t n_rec, cap_rec;
	uint64_t first_seq;
	uint64_t time_us;
	bool durable; /* in the log */
	bool tombstone;
	enum sink_loss lost_cause; /* a tombstone's */
	struct wal_pos pos;        /* in the log, when durable */
	unsigned in_use;           /* sinks writing from it now */
};

struct sink_writer_batch {
	struct writer *w;
	struct frame *f;
	int rc; /* of a hand-over made inside add() */
};

struct writer;

struct lane {
	struct writer *w;
	struct sink sink;
	pthread_t thread;
	bool thread_started;
	bool has_cursor;
	struct sink_cursor cursor;
	/* Under the writer's lock. */
	uint64_t seq_next; /* the first event it has not written */
	uint64_t pending;  /* events it has yet to write */
	struct wal_pos pos; /* the log frame holding seq_next, or the first after it */
	uint64_t disk_time_us; /* hand-over time of seq_next's frame, when read from disk */
	bool down;
	bool needs_restore; /* a batch failed after its files were grown */
	double retry_at;
	uint64_t attempts;
	bool stop_tried;
	bool done; /* the thread has ended */
	bool busy; /* writing a batch, outside the lock */
	/* Reloads (sink_reload.c). A configured sink (sink_writer_add_configured)
	 * may be given a fresh copy of itself (has_next: taken by its thread
	 * between two batches), or retired: it writes what was handed over
	 * before retire_seq and ends, and is then gone, its slot free. */
	bool configured;
	bool has_next;
	struct sink next;
	bool retired;
	uint64_t retire_seq;
	bool gone;   /* retired and ended: counts for nothing */
	bool closed; /* gone and closed: the slot may be reused */
	uint64_t rejected_seen;
	struct sink_writer_sink_stats st;
	/* The thread's own. */
	struct sink_undo undo;      /* of the batch being written */
	struct sink_undo committed; /* stored with the cursor at the last commit */
	const struct im_event **evs;
	struct im_event *views;
	uint64_t *ids;
	struct frame **taken;
	size_t n_taken;
	struct wal_reader reader;
	double last_sync;
	/* The chain of a chained sink (sink_chain.c), the thread's own. */
	bool chain_known;     /* chain_tail is the hash of its last stored event */
	uint8_t chain_tail[CHAIN_HASH_LEN];
	struct chain_hasher hasher;
	uint64_t chain_last_id; /* 0: nothing chained this run */
	bool chain_unsigned;    /* events since the last checkpoint */
	double last_checkpoint;
	struct bytebuf purge_text; /* the text of a purge record being written */
	bool bad_request_logged;
};

struct writer {
	struct sink_writer_config cfg;
	char *spool_dir;
	pthread_mutex_t lock;
	pthread_cond_t work;  /* sinks wait for events */
	pthread_cond_t room;  /* producers and flush wait for the sinks */
	pthread_cond_t maint; /* the maintenance thread waits */
	bool has_wal;
	struct wal wal;
	uint64_t next_seq; /* without a log */
	struct frame *head, *tail;
	size_t mem_bytes;
	struct frame *spare;
	size_t n_spare;
	struct lane lanes[SINK_WRITER_MAX_SINKS];
	size_t n_lanes;
	bool started, stopping, maint_stop;
	double stop_deadline;
	pthread_t maint_thread;
	bool maint_started;
	atomic_bool pressure;
	uint64_t synced_seq; /* events below it are fdatasync'd in the log */
	int wal_errno;       /* of the failing appends, 0 while they work */
	double last_wal_sync;
	struct sink_writer_stats st; /* the hand-over part, under lock */
	uint64_t failures_seen;      /* losses, by the last flush */
	pthread_mutex_t own_lock;    /* writer_write's batch */
	struct sink_writer_batch *own;
	/* The archive: set at open, read-only afterwards. */
	char *sensor;
	bool has_key;
	struct checkpoint_key key;
	char *checkpoint_log;
	/* the legal hold, canonical ("a,b"), with retention_days: replaced
	 * by a reload (sink_writer_set_legal_hold) under hook_lock */
	char *hold;
	double next_retention; /* monotonic time of the next retention request */
	/* sink_writer_set_retention_hook: a pass holds hook_lock throughout */
	pthread_mutex_t hook_lock;
	bool hook_lock_ready;
	sink_writer_retention_fn hook;
	void *hook_arg;
};

#define LOG(w, level, ...)                                \
	do {                                              \
		if ((w)->cfg.log)                         \
			(w)->cfg.log(level, __VA_ARGS__); \
	} while (0)

static inline uint64_t frame_end(const struct frame *f)
{
	return f->first_seq + f->n_rec;
}

/* The number the next event handed over gets. */
static inline uint64_t end_seq(const struct writer *w)
{
	return w->has_wal ? w->wal.next_seq : w->next_seq;
}

double writer_monotonic(void);
uint64_t writer_now_us(void);
uint64_t writer_now_ns(void);
void writer_timed_wait(pthread_cond_t *c, pthread_mutex_t *m, double seconds);

/* sink_queue.c: frames in memory */
size_t queue_frame_cost(const struct frame *f);
void queue_frame_free(struct frame *f);
struct frame *queue_frame_new(void);
bool queue_frame_begin(struct frame *f);
void queue_recycle(struct writer *w, struct frame *f);
/* The frame (or tombstone) holding seq, or NULL. */
struct frame *queue_at(struct writer *w, uint64_t seq);
/* The first frame starting at or after seq. */
struct frame *queue_from(struct writer *w, uint64_t seq);
void queue_free_consumed(struct writer *w);
void queue_evict(struct writer *w);
void writer_update_pressure(struct writer *w);

/* sink_chain.c: the archive's part of a lane. Before a batch of k events
 * (l->views[0..k)) of a chained sink: their ids, the sensor, "forwarded"
 * for an undecided action, and the chain (its tail asked of the sink when
 * not known). -1 with the sink's err set when the tail cannot be read. */
int lane_chain_batch(struct lane *l, size_t k);
/* After it: done events stored (the chain moves on), or a failure (the
 * tail is asked again). */
void lane_chain_done(struct lane *l, size_t done, bool failed);
/* A signed checkpoint of the sink's chain when one is due (or force, at
 * the stop) and events came since the last. */
void lane_checkpoint(struct lane *l, bool force);
/* Retention requests (archive/purge.h) in a lane's batch: whether ev is
 * one; n cut so that a batch is one request or holds none. */
bool lane_is_request(const struct im_event *ev);
size_t lane_request_cut(const struct lane *l, size_t n);
/* Before a batch that is a request (l->views[0]): the sink's purge. 1: the
 * view is now the purge's record, to be written; 0: nothing to write;
 * -1: the sink failed (err set). */
int lane_purge_prepare(struct lane *l);
/* Hands a retention request over (outside the lock) when retention is on
 * and one is due (force: now, at the start). */
void writer_retention_tick(struct writer *w, bool force);
bool writer_retention_due(const struct writer *w);
/* Loads the key and copies the archive settings; -1 with err. */
int writer_archive_open(struct writer *w, char *err, size_t err_size);
void writer_archive_free(struct writer *w);

/* sink_lane.c: the thread of one sink (arg: its struct lane). */
void *sink_lane_main(void *arg);

/* sink_writer.c, for sink_reload.c: a lane in slot l (zeroed or reused)
 * for inner, resumed at its cursor; its thread started when the writer
 * runs. Under the lock for a running writer. 0, or -1 with err. */
int writer_lane_add(struct writer *w, struct lane *l, struct sink *inner, char *err,
		    size_t err_size);
/* A stopped lane's last accounting and its end (under the lock, or with
 * no other thread left). */
void writer_lane_close(struct writer *w, struct lane *l);

#endif
