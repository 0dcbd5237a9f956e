/* The write-ahead log in front of every sink (sink_writer.h): what the
 * packet path handed over, on disk before the hand-over returns, until
 * every sink has written it.
 *
 * Layout, in the instance's spool directory DIR:
 *   DIR/lock       flock'd by the one process that uses DIR; holds its pid
 *   DIR/wal/S.wal  segments; S is the first event sequence number in it,
 *                  16 hex digits, so names sort in log order
 * A segment is a 32-byte header (magic "IMWWAL01", first sequence number)
 * and then frames. A frame is what one hand-over appended, in one write():
 *   [u32 magic "IMWF"][u32 body length][u64 first seq][u32 count]
 *   [u32 crc32 of the body][u64 hand-over time, us][u32 crc32 of the 32
 *   header bytes before it][u32 0]  -- 40 bytes, little-endian --
 *   then count records (sink_record.h).
 * Sequence numbers are the events' ids (databases store them): they only
 * grow, across frames, segments and restarts; a fresh log starts above
 * the clock's microseconds and above anything a caller says is taken. A
 * frame the disk refused leaves a gap in the numbers.
 *
 * At open every segment is read back: a torn frame at the end (a crash
 * during an append) is cut off; a damaged frame elsewhere ends its
 * segment there (counted). Nothing here is thread-safe: the writer calls
 * everything but wal_sync_run and wal_read under its lock. */
#ifndef IMW_SINK_WAL_H
#define IMW_SINK_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/bytebuf.h"

#define WAL_SEGMENT_HEADER 32
#define WAL_FRAME_HEADER 40
#define WAL_FRAME_BODY_MAX (64u * 1024 * 1024)
#define WAL_DEFAULT_SEGMENT_BYTES (64ull * 1024 * 1024)

struct wal_segment {
	uint64_t first_seq;
	uint64_t bytes;  /* its size: complete frames only */
	uint64_t events; /* in its frames */
};

/* A frame boundary: the frame at off in the segment named seg. */
struct wal_pos {
	uint64_t seg;
	uint64_t off;
};

/* Who gets what the log creates (a daemon that drops root with user=):
 * directories it makes and its files. -1: leave them as they are. */
struct wal_owner {
	int uid, gid;
};

struct wal {
	struct wal_owner owner;
	char *dir;     /* DIR */
	char *wal_dir; /* DIR/wal */
	int lock_fd;
	struct wal_segment *segs;
	size_t n_segs, cap_segs;
	int tail_fd; /* the last segment, appended to; -1 until one is made */
	uint64_t next_seq;
	uint64_t total_bytes; /* of every segment */
	uint64_t segment_max;
	/* Segments rolled over and not yet fdatasync'd. */
	int *unsynced;
	size_t n_unsynced, cap_unsynced;
	bool dir_unsynced; /* a segment was created or removed */
	/* Found at open. */
	uint64_t torn_bytes;
	uint64_t damaged_frames;
	uint64_t events_at_open;
	uint64_t first_seq_at_open;
};

/* Opens (or creates) DIR's log. The lock first: a second process on DIR
 * fails with "DIR is in use by another process (pid N)". min_next_seq:
 * sequence numbers the caller knows are taken (the cursors). owner: NULL,
 * or who gets the directories and files made here (never a directory
 * that existed). 0, or -1 with a one-line reason in err. */
int wal_open(struct wal *w, const char *dir, uint64_t min_next_seq, uint64_t segment_max,
	     const struct wal_owner *owner, char *err, size_t err_size);
/* Write our pid into the lock file again: a daemon that forked after
 * opening the log (the lock goes with the file across fork). 0 or -1. */
int wal_note_pid(const struct wal *w);
/* Give path to the log's owner (for the writer's other files). */
void wal_own(const struct wal *w, const char *path);
/* fdatasyncs and closes everything, and releases the lock. */
void wal_close(struct wal *w);

/* The first sequence number still in the log (next_seq when empty). */
uint64_t wal_first_seq(const struct wal *w);

/* Fill in a frame's header (the 40 bytes at frame[0], body after them)
 * apart from what wal_append sets: magic, length, count, body crc. Costs
 * a crc32 of the body: call it outside the writer's lock. */
void wal_frame_seal(uint8_t *frame, size_t len, uint32_t count);

/* Number the frame's events (next_seq on), stamp it and append it with
 * one write(). 0, with *first_seq and *pos; or -1 with errno when the
 * disk refused it (nothing of it stays in the log), the events numbered
 * all the same (*first_seq). */
int wal_append(struct wal *w, uint8_t *frame, size_t len, uint32_t count, uint64_t time_us,
	       uint64_t *first_seq, struct wal_pos *pos);

/* Where the frame holding seq is (or the first frame after it: seq in a
 * gap, or beyond the end). Reads frame headers from disk. */
int wal_locate(const struct wal *w, uint64_t seq, struct wal_pos *pos);

/* Events of segment seg from from_seq on (frame headers are read when
 * from_seq falls inside it). */
uint64_t wal_count_events(const struct wal *w, uint64_t seg, uint64_t from_seq);

/* Remove the segments (never the last) whose events are all below seq;
 * returns how many bytes went. */
uint64_t wal_trim(struct wal *w, uint64_t seq);
/* Remove the oldest segment (not the last) whatever it holds; its events
 * are [first, *end). false when only one segment is left. */
bool wal_drop_oldest(struct wal *w, uint64_t *first, uint64_t *end);

/* fdatasync of what was appended, in two halves: begin (under the lock)
 * takes the files to sync; run (outside it) syncs and closes them. */
struct wal_sync_work {
	int *fds;
	size_t n;
	int dir_fd;
};
int wal_sync_begin(struct wal *w, struct wal_sync_work *work);
/* 0, or -1 with errno (every fd is closed either way). */
int wal_sync_run(struct wal_sync_work *work);

/* Reading, for one sink's thread: frames in log order from a position,
 * up to an end known under the lock (wal_read_limit), never a frame an
 * append is still writing. */
struct wal_read_limit {
	uint64_t seg;      /* the segment of the position */
	uint64_t seg_end;  /* readable bytes of it */
	uint64_t next_seg; /* the segment after it; 0: none yet */
};
void wal_read_limit_of(const struct wal *w, uint64_t seg, struct wal_read_limit *lim);

struct wal_frame {
	uint64_t first_seq;
	uint32_t count;
	uint64_t time_us;
	size_t body; /* offset of the records in the reader's buffer */
	size_t body_len;
	struct wal_pos pos; /* of this frame */
};

struct wal_reader {
	int fd;
	uint64_t seg; /* the segment fd is */
	struct bytebuf buf;
	struct wal_frame *frames;
	size_t n_frames, cap_frames;
};

void wal_reader_init(struct wal_reader *r);
void wal_reader_free(struct wal_reader *r);
/* Read whole frames from *pos while they hold fewer than max_events
 * events from min_seq on, moving *pos past them (to the next segment at
 * a segment's end when lim names one). Frames wholly below min_seq are
 * skipped. 0 (r->frames, possibly none), or -1: I/O error (errno), or a
 * damaged frame (errno EBADMSG; *pos then names it). */
int wal_read(struct wal_reader *r, const struct wal *w_paths, const struct wal_read_limit *lim,
	     struct wal_pos *pos, uint64_t min_seq, size_t max_events);

#endif
