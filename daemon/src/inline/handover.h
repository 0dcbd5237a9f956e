/* What a successor daemon needs of an edited flow beyond what the
 * classifier keeps, in the state file (state_file.h), and the records a
 * predecessor left there until a worker takes its flow over.
 *
 * The classifier's xlate map (bpf_publish.h) holds each edited
 * direction's offsets and live edits, without bytes. A live edit is one
 * whose output the receiver has not acknowledged: the sender may still
 * retransmit its input, and only its replacement bytes let anyone send
 * the right bytes then. So each flow a successor needs has one record
 * here, keyed by the classifier's canonical flow key:
 *
 *   - per direction: the sequence map's live edits with their
 *     replacement bytes (an insertion we originated marked as ours, so
 *     the successor resends it), the path's MSS, and how far the stream
 *     was decided (handover_record.h);
 *   - the protocol and the session's identity (local id, full address,
 *     service), so the successor's events carry the same local ids.
 *
 * A record is written whole, before the verdict that makes it needed (a
 * new edit, a changed identity), replacing the flow's previous one; an
 * acknowledged edit simply drops out of the next. The xlate entry is the
 * truth about which edits are live and about the offsets (the classifier
 * folds edits while no daemon runs); the record supplies the bytes.
 *
 * The inheritance: at start the records found in the file belong to
 * nobody; the first packet of a flow met mid-stream takes its record
 * (handover_take), a new connection's SYN drops a stale one, and records
 * nobody took for max_age go (handover_sweep). A flow the flow table
 * evicts gives its record back. Thread-safe: one handover serves every
 * worker. */
#ifndef IMW_INLINE_HANDOVER_H
#define IMW_INLINE_HANDOVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imwire/bpf_maps.h"
#include "inline/flow_state.h"
#include "inline/handover_record.h"
#include "inline/state_file.h"
#include "util/bytebuf.h"

struct handover_stats {
	uint64_t written;   /* records written */
	uint64_t full;      /* records the file had no room for */
	uint64_t inherited; /* records found at start */
	uint64_t taken;     /* of them (or of evicted flows) taken over by a worker */
	uint64_t stale;     /* dropped: a new connection on the same addresses */
	uint64_t expired;   /* dropped: nobody took them within max_age */
	uint64_t malformed; /* records that did not parse */
};

struct inherited;

struct handover {
	struct state_file file;
	bool open;
	double max_age;
	pthread_mutex_t lock; /* the inheritance */
	struct inherited **buckets;
	size_t n_buckets;
	size_t n_inherited; /* read without the lock as a hint */
	struct handover_stats stats; /* updated atomically */
};

/* Open the state file at path (size bytes when new) and take in the
 * records a predecessor left: the newest of each flow, younger than
 * max_age seconds. -1 with err set (the daemon then goes on without). */
int handover_open(struct handover *h, const char *path, size_t size, double max_age, char *err,
		  size_t err_size);
/* The records stay in the file. */
void handover_close(struct handover *h);

/* ---- a flow's record ------------------------------------------------------ */

/* Write fs's record (buf: scratch), replacing the one it had; fs->told->hov.ref
 * names the new one. False when the file had no room (the old record
 * stays: better than none). */
bool handover_save(struct handover *h, struct flow_state *fs, enum imw_proto proto,
		   struct bytebuf *buf, double now);
/* The flow ended: its record goes. */
void handover_forget(struct handover *h, struct flow_state *fs);
/* The flow left this worker but not the wire (evicted): its record goes
 * back to the inheritance, for whoever meets the flow next. */
void handover_give_back(struct handover *h, struct flow_state *fs, double now);

/* ---- the inheritance -------------------------------------------------------- */

/* The record of the flow with this key, taken out of the inheritance and
 * parsed into r (its ref in *ref: the caller owns it now). 1 when there
 * was one, 0 when not, -1 when it did not parse (it is dropped). */
int handover_take(struct handover *h, const struct imw_flow_key *key, struct handover_record *r,
		  state_ref *ref);
/* A new connection on these addresses: a record left for an old one goes. */
void handover_drop(struct handover *h, const struct imw_flow_key *key);
/* Drop what nobody took within max_age of now. Returns how many went. */
size_t handover_sweep(struct handover *h, double now);

void handover_get_stats(struct handover *h, struct handover_stats *out,
			struct state_file_stats *file);

#endif
