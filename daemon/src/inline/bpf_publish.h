/* Publishing what the tc classifier needs to translate an edited flow
 * without the daemon.
 *
 * Per direction of an edited flow the classifier's pinned xlate map (a
 * plain hash: a SYN flood cannot evict it) holds the base offset and the
 * edits the receiver has not acknowledged yet: input start, input length
 * and output length of each, no bytes (include/imwire/bpf_maps.h). While
 * the daemon holds the liveness entry (classifier_claim()) the classifier
 * only steers; from the first packet after the daemon is gone, or with
 * the protocol switched off, it maps seq, ack and SACK blocks exactly as
 * seqmap does, folds edits into the base offset as the receiver
 * acknowledges them, and drops (counting held_for_successor) a segment
 * that carries bytes of a live edit: it has no replacement bytes, the
 * sender retransmits with backoff, and a successor daemon rebuilds it.
 *
 * The daemon's part (the inline engine's):
 *
 *  - bpf_publish_seqmap(p, f, dir, &map, proto) for a direction whose
 *    seqmap changed (an edit added, edits acknowledged), BEFORE the
 *    verdict that sends bytes of the new edit goes out: a crash after the
 *    verdict must find the edit published. One map update (a syscall,
 *    BPF_F_LOCK) per call; nothing to do for a verdict that changed no
 *    map. Acknowledgements need not be published at once (the classifier
 *    folds them itself from the acks it sees).
 *  - bpf_publish_fetch(p, f, dir, &state) when adopting a flow met
 *    mid-stream: the direction as the classifier last knew it (its folds
 *    included), in sequence numbers: a seqmap rebuilt from it takes a
 *    base_seq at or before the first live edit's in_seq (in_start =
 *    in_seq - base_seq, mod 2^32). The replacement bytes are not there: a
 *    successor that must resend a live edit takes them from its own state.
 *    bpf_publish_lookup() is the old, offsets-only form.
 *  - Liveness is classifier_claim()/classifier_release() (classifier.h):
 *    at a planned stop, publish every direction first, release the claim
 *    (the classifier translates from the next packet on), then verdict
 *    what is held and exit.
 *  - bpf_publish_forget(p, f) when the connection is really over (not at
 *    a planned stop: the classifier and a successor still need it).
 *
 * Every call is a no-op returning 0 when no classifier is attached or p
 * is NULL. One struct bpf_publish may be shared by all workers: its
 * counters are updated atomically. */
#ifndef IMW_BPF_PUBLISH_H
#define IMW_BPF_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include "event/event.h"
#include "flow/flow.h"
#include "imwire/bpf_maps.h"
#include "seqmap/seqmap.h"

struct bpf_publish {
	int xlate_fd; /* the pinned xlate map, or -1: publishing is off */
	/* Counters (atomic: workers share this struct). */
	uint64_t published;  /* directions written */
	uint64_t full;       /* refused: IMW_MAX_XLATE directions are published */
	uint64_t overflowed; /* published with more live edits than IMW_XLATE_EDITS */
	uint64_t errors;     /* any other failure (ERANGE, the map's error) */
	uint64_t reaped;     /* directions bpf_publish_reap dropped */
};

/* Open pin_dir/xlate. Returns 0, or -1 (no classifier: p stays usable,
 * every call a no-op). */
int bpf_publish_open(struct bpf_publish *p, const char *pin_dir);
/* Use an already open xlate map (tests, benchmarks). */
void bpf_publish_use_fd(struct bpf_publish *p, int xlate_fd);
void bpf_publish_close(struct bpf_publish *p);

/* The classifier's key for f, and which of its two sides (0 = a, 1 = b)
 * the client is. */
void bpf_publish_key(const struct flow *f, struct imw_flow_key *key, unsigned *client_side);

/* One live edit, in stream offsets of its direction (offset 0 is
 * base_seq): input [in_start, in_start + in_len) became out_len bytes.
 * ack_at_start: an insertion an ack inside which maps to in_start (the
 * daemon originated and resends it) rather than to the byte before. */
struct bpf_publish_edit {
	uint64_t in_start;
	uint64_t in_len;
	uint64_t out_len;
	bool ack_at_start;
};

/* Publish the direction of f that dir sends: base_seq is the seq of
 * stream offset 0, base_delta the output-minus-input offset before the
 * first edit, edits the live ones in stream order. Past IMW_XLATE_EDITS
 * edits the rest is cut off and marked (counted in `overflowed`): the
 * classifier then holds every segment from the first edit left out on.
 * Returns 0, or -1 (errno: ERANGE for an offset or length beyond 32 bits
 * or edits out of order, E2BIG when the map is full, or the map's). */
int bpf_publish_flow(struct bpf_publish *p, const struct flow *f, enum im_dir dir,
		     uint32_t base_seq, int64_t base_delta, const struct bpf_publish_edit *edits,
		     size_t n_edits, enum imw_proto proto);

/* The same from the engine's seqmap of that direction. A map that never
 * changed the stream publishes nothing (and costs nothing). */
int bpf_publish_seqmap(struct bpf_publish *p, const struct flow *f, enum im_dir dir,
		       const struct seqmap *m, enum imw_proto proto);

/* Publish only an offset (no live edit) for f's dir. */
int bpf_publish_delta(struct bpf_publish *p, const struct flow *f, enum im_dir dir,
		      int64_t delta, enum imw_proto proto);

/* One direction as the classifier has it, in sequence numbers. */
struct bpf_publish_state {
	int32_t base_delta;
	size_t n_edits;
	struct imw_xlate_edit edits[IMW_XLATE_EDITS];
	bool overflow; /* input from limit_seq on is beyond the list */
	uint32_t limit_seq;
	bool passed;   /* the classifier let data through itself, up to passed_end */
	uint32_t passed_end;
	enum imw_proto proto;
};

/* Direction dir of f: 1 and *out filled when published, 0 when not, -1
 * on error. */
int bpf_publish_fetch(struct bpf_publish *p, const struct flow *f, enum im_dir dir,
		      struct bpf_publish_state *out);

/* The offset new data of each direction of travel gets (after every live
 * edit): 1 when either direction is published, 0 when none, -1 on
 * error. */
int bpf_publish_lookup(struct bpf_publish *p, const struct flow *f, int32_t delta[2]);

/* True when either direction of pkt's connection is published (a packet
 * of a connection the caller does not track, such as a bare ACK met
 * after a restart: a predecessor may have edited it). */
bool bpf_publish_has_packet(struct bpf_publish *p, const struct packet *pkt);

/* The flow ended: drop both directions. */
int bpf_publish_forget(struct bpf_publish *p, const struct flow *f);

/* Drop every direction whose flow the classifier has not seen a packet
 * of (nor the daemon published) for max_idle_ns: what a daemon that died
 * left of connections that ended while none ran (a new connection's SYN
 * clears only its own addresses'). Returns how many went, or -1. */
long bpf_publish_reap(struct bpf_publish *p, uint64_t max_idle_ns);

#endif
