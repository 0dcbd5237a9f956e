/* Retention: what a purge of one store removes and keeps, and the record
 * it leaves in the store's chain (chain.h, struct chain_purge).
 *
 * The writer asks for a purge by handing over a retention request, an
 * event of its own (kind audit, action "retention", its text made by
 * purge_request_format) that takes its place in the write-ahead log like
 * any event. Each store meets it in order and purges itself:
 *
 *  - a purge covers the whole store up to `to` (from is 0): so a row an
 *    earlier purge kept (a legal hold since lifted, a row older than its
 *    cutoff by time but not by id) expires with a later one, whose
 *    record then speaks for every row up to its `to` (verify.h);
 *  - to is the highest id below the request's with a time before the
 *    cutoff, or the last purge's `to` if that is higher (nothing: no
 *    purge, no record);
 *  - every row up to `to` older than the cutoff goes, unless it is one
 *    of the archive's own records (kind audit) or its local id is on
 *    legal hold; the rows that stay are digested (chain_digest) in id
 *    order, and the hash of row `to` is the chain's continuation; when
 *    nothing goes, there is no record;
 *  - the record (kind audit, action purge, the request's id and time) is
 *    stored first, then the rows go, in batches: a purge cut short (a
 *    crash, a database gone) is finished by the next attempt, which finds
 *    its record and removes what the record says is removed.
 *
 * A row a purge considers, in the store's (id) order, goes to
 * purge_plan_row; the plan collects the runs of ids to delete (each run a
 * range of ids with no kept row between, at most PURGE_RUN_ROWS rows). */
#ifndef IMW_ARCHIVE_PURGE_H
#define IMW_ARCHIVE_PURGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive/chain.h"
#include "util/bytebuf.h"

#define EVENT_ACTION_RETENTION "retention" /* a retention request (never stored) */
#define PURGE_RUN_ROWS 5000                  /* rows one delete removes at most */
#define PURGE_HOLD_MAX_IDS 4096

/* The request: its text is "retention before=US compress=US hold=ID,ID"
 * (times in microseconds since the epoch; compress 0: compress nothing). */
struct purge_request {
	int64_t before_us;   /* events older than this expire */
	int64_t compress_us; /* files of the file layout older than this are gzipped */
	const char *hold;    /* parsed: points into the text; "" for none */
};
bool purge_request_format(struct bytebuf *out, const struct purge_request *r);
bool purge_request_parse(const char *text, struct purge_request *r);

/* The legal hold: local ids, comma-separated in requests and records. An
 * id is held when it equals a listed one (ASCII case aside), or is a
 * listed one followed by '/' (an XMPP resource of a held account). */
struct purge_hold {
	char **ids;
	size_t n;
};
bool purge_hold_parse(struct purge_hold *h, const char *list);
void purge_hold_free(struct purge_hold *h);
bool purge_hold_matches(const struct purge_hold *h, const char *local);
/* The same for a component of IMSpector's file layout, where '/' became
 * '_' ("alice@example.org_laptop"). */
bool purge_hold_matches_component(const struct purge_hold *h, const char *component);
/* legal_hold=: "ID,ID" or the path of a file of ids, one a line ('#'
 * comments). The canonical list in *out (malloc'd, "" for none); -1 with
 * err (a comma inside a file's id, too many, unreadable). */
int purge_hold_load(const char *value, char **out, char *err, size_t err_size);

struct purge_run {
	uint64_t first, last; /* ids, inclusive */
};

struct purge_plan {
	struct chain_purge p; /* from, to, before_us, hold: the caller's; the rest made here */
	struct purge_hold hold;
	struct chain_digest kept;
	struct purge_run *runs;
	size_t n_runs, cap_runs;
	size_t run_rows; /* rows in the last run */
	bool open_run;   /* the last row seen was removed: the run goes on */
	uint64_t last_id;
	bool oom;
};

/* from, to (ids), the cutoff and the hold list (parsed; pl->p.hold
 * points to hold, which must outlive the plan). false when out of
 * memory. */
bool purge_plan_begin(struct purge_plan *pl, uint64_t from, uint64_t to, int64_t before_us,
		      const char *hold);
/* One row of the store with from < id <= to, in id order: true when it
 * is to be removed. hash NULL: a row without one (from before the chain),
 * never digested. */
bool purge_plan_row(struct purge_plan *pl, uint64_t id, int64_t ts_us, const char *local,
		    const char *kind, const uint8_t *hash);
/* Ends the plan: kept, kept_digest, removed, continue. false when a
 * row could not be recorded (out of memory): the plan is void. */
bool purge_plan_end(struct purge_plan *pl);
void purge_plan_free(struct purge_plan *pl);
/* Whether id is in one of the plan's runs (ids asked in rising order:
 * *cursor starts at 0). */
bool purge_plan_removes(const struct purge_plan *pl, uint64_t id, size_t *cursor);

#endif
