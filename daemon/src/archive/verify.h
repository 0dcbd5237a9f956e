/* imwire verify: checks a store's chain (chain.h) and its signed
 * checkpoints (checkpoint.h), and names the first event that was altered,
 * removed, inserted or moved.
 *
 * The store's rows are read twice, in the store's order (a database by
 * eventid, a JSON lines file line by line): once for its purge records,
 * then to check every row:
 *  - its hash is SHA-256(prev_hash || canonical fields): else "altered";
 *  - ids only grow: else "out of order";
 *  - its prev_hash is the hash of the row before it (the first row's is
 *    zero), or, after a purge, the hash the purge record names: else,
 *    when the next row links to the row before instead, this one was
 *    "inserted", otherwise events are "missing" before it;
 *  - rows a purge kept (legal hold, newer than its cutoff) digest to what
 *    the record says (the latest purge's record, for rows in the range of
 *    several);
 *  - each checkpoint of this sensor and kind of store is signed by the key
 *    and names a row the store has, with that hash; the chain ending
 *    before the last checkpoint is a truncation.
 * Rows without a hash that come before the first chained one (an
 * IMSpector table from before the chain) are counted, not judged. */
#ifndef IMW_ARCHIVE_VERIFY_H
#define IMW_ARCHIVE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive/chain.h"
#include "archive/checkpoint.h"

/* One stored row, as verify reads it (strings owned by the reader, valid
 * during the call). has_hash: prev and hash were stored. */
struct verify_row {
	struct chain_fields f;
	bool has_hash;
	uint8_t prev[CHAIN_HASH_LEN];
	uint8_t hash[CHAIN_HASH_LEN];
	unsigned long line; /* JSON lines: its line number; 0 for a database */
};

/* A store as a source of rows: each() calls fn for every row in order
 * (stopping when fn returns non-zero). 0, or -1 with err set. */
struct verify_source {
	const char *kind; /* "jsonl", "sqlite", "pgsql", "mysql": checkpoint sink= */
	int (*each)(void *ctx, int (*fn)(void *arg, const struct verify_row *r), void *arg,
		    char *err, size_t err_size);
	void *ctx;
};

struct verify_options {
	const char *sensor;          /* whose chain; NULL: the first row's */
	const struct checkpoint_key *key; /* NULL: checkpoints are not checked */
	const char *checkpoint_log;  /* NULL: none */
};

struct verify_result {
	uint64_t rows, unchained, purges, kept, checkpoints;
	uint64_t problems;
	char first[512]; /* the first problem, "" when none */
	bool truncated;
	uint64_t last_checkpoint_id; /* 0: none */
	uint64_t after_checkpoint;   /* rows after it (not yet signed) */
	uint64_t last_id;
	/* Where the chain ends: the hash of the last row linked (zero when no
	 * row is chained), and whose chain was checked. */
	uint8_t last_hash[CHAIN_HASH_LEN];
	char sensor[128];
};

/* 0 when the store verifies, 1 when it does not (r says why), -1 when it
 * could not be read (err). */
int verify_store(const struct verify_source *src, const struct verify_options *o,
		 struct verify_result *r, char *err, size_t err_size);

/* Sources. The JSON lines reader parses each line (a flat object); a line
 * that is not one is a problem of its own ("line N: not an event"). */
int verify_source_jsonl(struct verify_source *src, const char *path, char *err, size_t err_size);
/* kind: "sqlite" (spec a path), "pgsql" (a conninfo) or "mysql"
 * ("[user[:password]@]host[:port]/database"). */
int verify_source_db(struct verify_source *src, const char *kind, const char *spec,
		     const char *sensor, char *err, size_t err_size);
void verify_source_close(struct verify_source *src);

#endif
