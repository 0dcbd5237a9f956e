/* The on-disk spool of one database sink: rows that could not be written
 * yet, in order, fsync'd before they count as kept, bounded in size.
 *
 * One file per database, DIR/NAME.spool: a 32-byte header (magic, and the
 * offset of the first row not yet delivered), then records
 * [u32 length][u32 crc32][row]. The head offset moves only after the rows
 * before it were committed to the database; a crash between the commit
 * and the move replays those rows, which the database's unique
 * (sensor, eventid) index then ignores. A torn record at the end (a crash
 * during an append) is cut off on open. */
#ifndef IMW_SINK_SPOOL_H
#define IMW_SINK_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sink/sink_db.h"
#include "util/bytebuf.h"

#define SPOOL_HEADER_SIZE 32
#define SPOOL_RECORD_MAX (16u * 1024 * 1024)

struct spool {
	int fd;
	char *path;
	uint64_t head; /* first record not yet delivered */
	uint64_t tail; /* end of the last complete record */
	uint64_t max_bytes;
	uint64_t pending; /* records between head and tail */
	uint64_t max_eventid; /* highest event id between head and tail */
	uint64_t torn_bytes;  /* cut off at open */
};

/* Rows read from the spool; their strings point into buf. */
struct spool_batch {
	struct db_row *rows;
	size_t n;
	size_t cap;
	uint64_t end; /* offset after the last row read */
	struct bytebuf buf;
};

/* Opens or creates DIR/NAME.spool (DIR is created when missing). 0, or -1
 * with a one-line reason in err. */
int spool_open(struct spool *sp, const char *dir, const char *name, uint64_t max_bytes,
	       char *err, size_t err_size);
void spool_close(struct spool *sp);

static inline bool spool_empty(const struct spool *sp)
{
	return sp->pending == 0;
}

/* Append rows in order and fsync. Returns how many were kept: fewer than
 * n when the size bound (errno ENOSPC) or the disk stopped it. */
size_t spool_append(struct spool *sp, const struct db_row *rows, size_t n);

void spool_batch_init(struct spool_batch *b);
void spool_batch_free(struct spool_batch *b);
/* Read up to max rows from the head without consuming them. 0, or -1
 * (I/O error or a damaged record). */
int spool_peek(struct spool *sp, struct spool_batch *b, size_t max);
/* The rows of b are in the database: move the head past them (fsync'd);
 * an emptied spool is truncated. */
int spool_consume(struct spool *sp, const struct spool_batch *b);

#endif
