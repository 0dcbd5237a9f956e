/* A memory-mapped file of records that outlive the process that wrote
 * them: what a successor daemon needs of the flows we edited (their live
 * edits' replacement bytes, the sessions' identities), written before the
 * verdict that makes them needed (inline/handover.h says what goes in).
 *
 * Why a mapped file and no msync: a store into a MAP_SHARED mapping is a
 * store into the page cache, which belongs to the kernel, not to the
 * process. A crash, kill -9 or exit of the writer loses nothing it has
 * stored; only a crash of the whole machine would, and that ends every
 * TCP connection through it anyway. So a record costs a memcpy and a
 * checksum, no system call.
 *
 * Layout: a header page (magic, geometry, a random key), then blocks of
 * STATE_FILE_BLOCK bytes. A record starts on a block boundary with a
 * header (magic, its length in blocks, a serial number, the payload
 * length, a keyed checksum over all of it) and is written payload first,
 * header last. A record torn by a crash mid-write fails its checksum and
 * is free space to the next reader; a record is freed by one aligned
 * store to its magic. Two valid records of one key (a crash between
 * writing the new one and freeing the old) are told apart by their
 * serials: the caller keeps the higher.
 *
 * Thread-safe: the workers of one daemon share one file; allocation and
 * freeing take a mutex, copying the bytes does not. */
#ifndef IMW_INLINE_STATE_FILE_H
#define IMW_INLINE_STATE_FILE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATE_FILE_BLOCK 64
#define STATE_FILE_DEFAULT_SIZE (16u << 20)

/* A record: its first block's index plus one; 0 is no record. */
typedef uint32_t state_ref;

struct state_file_stats {
	uint64_t written;  /* records written */
	uint64_t freed;
	uint64_t full;     /* a record found no room: not written */
	uint64_t loaded;   /* valid records found at open */
	uint64_t torn;     /* blocks that began a record whose checksum failed (at open) */
	uint64_t used_blocks;
};

struct state_file {
	int fd;
	uint8_t *map;
	size_t size;
	uint32_t n_blocks;
	uint64_t key;      /* the checksum's key, from the file's header */
	uint64_t *used;    /* a bit per block: allocated */
	uint32_t cursor;   /* next-fit: where the last allocation ended */
	uint64_t serial;   /* the next record's */
	pthread_mutex_t lock;
	struct state_file_stats stats;
};

/* Open path (made 0600 when missing, its directory too, 0700), size
 * bytes when new (a file of the right format keeps its own size), and
 * find the valid records a predecessor left. -1 with err set. */
int state_file_open(struct state_file *sf, const char *path, size_t size, char *err,
		    size_t err_size);
/* Unmap and close: the records stay in the file for a successor. */
void state_file_close(struct state_file *sf);

/* Every valid record, in file order (at open, before any write). */
typedef void (*state_file_each_fn)(void *arg, state_ref ref, uint64_t serial, const uint8_t *payload,
				   size_t len);
void state_file_each(struct state_file *sf, state_file_each_fn fn, void *arg);

/* A new record holding payload: 0 when the file has no room (counted).
 * The caller frees the record it replaces only after this returned. */
state_ref state_file_write(struct state_file *sf, const void *payload, size_t len);
/* Free a record (0: nothing). */
void state_file_free(struct state_file *sf, state_ref ref);
/* A record's payload, checked again; NULL when ref is not a valid record. */
const uint8_t *state_file_read(struct state_file *sf, state_ref ref, size_t *len);

/* A copy of the counters. */
void state_file_stats(struct state_file *sf, struct state_file_stats *out);

#endif
