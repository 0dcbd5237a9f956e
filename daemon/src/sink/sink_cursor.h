/* Where one sink stands in the write-ahead log, kept across restarts:
 * the sequence number of the first event it has not written, and the
 * files a batch in progress may have grown with their sizes before it
 * (sink.h, undo), so a batch a crash cut short is cut back and written
 * again whole.
 *
 * DIR/H.cursor, H a hash of the sink's id (sink.h: "jsonl /path"). Two
 * slots, written in turn, each [magic "IMWCUR01"][u64 generation][u64 seq]
 * [u32 id length][u32 undo length][u32 undo entries][u32 crc32][id][undo];
 * the valid slot of the highest generation counts, so a write torn by a
 * power failure leaves the one before. The file is made full-size at
 * creation: storing never needs a new block, even on a full disk. */
#ifndef IMW_SINK_CURSOR_H
#define IMW_SINK_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sink/sink.h"

struct sink_cursor {
	int fd;
	char *path;
	char *id;
	uint64_t gen;
};

/* Opens or creates the cursor of the sink named id in dir. *found: it
 * existed, with *seq and undo read from it. 0, or -1 with a reason. */
int sink_cursor_open(struct sink_cursor *c, const char *dir, const char *id, bool *found,
		     uint64_t *seq, struct sink_undo *undo, char *err, size_t err_size);
/* Store seq and undo (NULL: none); fdatasync when sync. 0, or -1 with errno. */
int sink_cursor_store(struct sink_cursor *c, uint64_t seq, const struct sink_undo *undo, bool sync);
void sink_cursor_close(struct sink_cursor *c);

/* The highest seq any cursor in dir holds (0: none); event numbers at or
 * below it are taken. */
uint64_t sink_cursor_max_seq(const char *dir);

#endif
