/* TCP reassembly of one direction of one flow.
 *
 * Turns segments (in any order, duplicated, overlapping, with holes) into
 * an in-order byte stream delivered through callbacks, with stream offsets
 * counted from the first byte after the SYN (or from the first byte seen
 * when the flow was picked up mid-stream). Sequence numbers wrap; offsets
 * are 64-bit and never do.
 *
 * Policy: the first copy of a byte wins (later overlapping data is
 * ignored and counted). Out-of-order data is buffered up to a byte and
 * segment bound; when the bound is hit, or the peer acknowledges data the
 * capture never showed, or the stream ends, the hole is skipped and
 * reported as a gap so the protocol layer can resync. */
#ifndef IMW_STREAM_REASM_H
#define IMW_STREAM_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reasm_callbacks {
	/* In-order bytes at stream offset `offset`; ts of the segment. */
	void (*deliver)(void *arg, const uint8_t *data, size_t len, uint64_t offset, double ts);
	/* `len` bytes starting at stream offset `offset` will never arrive. */
	void (*gap)(void *arg, uint64_t offset, uint64_t len);
};

struct reasm_limits {
	size_t max_buffered_bytes;    /* out-of-order bytes held per direction */
	size_t max_buffered_segments; /* out-of-order segments held per direction */
};

/* The limits a context is usually given. */
#define REASM_DEFAULT_MAX_BYTES    (1024 * 1024)
#define REASM_DEFAULT_MAX_SEGMENTS 1024

/* Segments ending, and acks landing, more than this many bytes past the
 * delivery point are not believed: a corrupt or forged sequence number
 * must not make us skip a gigabyte of stream. Well below the 2^31 limit of
 * sequence comparisons, well above any real receive window. */
#define REASM_MAX_AHEAD (1u << 30)

struct reasm_stats {
	uint64_t segments;       /* segments with payload given to reasm_segment */
	uint64_t bytes_delivered;
	uint64_t retransmitted;  /* segments wholly before the delivery point */
	uint64_t overlaps;       /* segments partly overlapping data already held or delivered */
	uint64_t out_of_order;   /* segments buffered ahead of a hole */
	uint64_t gaps;           /* holes skipped */
	uint64_t gap_bytes;
	uint64_t bound_hits;     /* times a limit forced a hole to be skipped */
	uint64_t after_close;    /* segments with data past the FIN or after close, cut off */
	uint64_t out_of_window;  /* segments ending more than REASM_MAX_AHEAD ahead, dropped */
	uint64_t alloc_failures; /* out-of-order data that could not be copied, treated as lost */
};

/* What reassemblers share (a flow table has one per direction): the
 * limits, the callbacks (either may be NULL) and the counters they all
 * add to (not NULL). */
struct reasm_context {
	struct reasm_limits limits;
	struct reasm_callbacks cb;
	struct reasm_stats *stats;
};

/* The limits a context gets by default. */
#define REASM_CONTEXT_LIMITS { REASM_DEFAULT_MAX_BYTES, REASM_DEFAULT_MAX_SEGMENTS }

struct reasm_held; /* buffered out-of-order data, private */

/* Kept small (32 bytes, two a flow; issue 23: 512 bytes an idle flow):
 * what every reassembler of a flow table shares (the context) and whom
 * it delivers to (the callbacks' argument) are not kept but given with
 * each call that may deliver (the table knows both), and out-of-order
 * data and its accounting exist only while some is held. */
struct reasm {
	uint64_t offset;   /* stream offset of next_seq */
	struct reasm_held *held; /* NULL while nothing is held */
	uint32_t next_seq; /* sequence number of the next byte to deliver */
	uint32_t fin_seq;
	bool started;      /* next_seq is valid */
	bool fin_seen;
	bool closed;       /* FIN delivered or RST: nothing more is accepted */
};

/* The calls that may deliver, drop or count take ctx, the context (its
 * limits, callbacks and counters), and arg, the callbacks' argument:
 * the same for one reassembler every time. The callbacks must not call
 * back into the same reasm. */
void reasm_init(struct reasm *r);
void reasm_free(struct reasm *r);

/* Out-of-order bytes and segments held now (memory accounting). */
size_t reasm_held_bytes(const struct reasm *r);
size_t reasm_held_segments(const struct reasm *r);

/* The SYN of this direction was seen: data starts at isn + 1. */
void reasm_syn(struct reasm *r, uint32_t isn);

/* Start a direction that has not started: its next byte is seq, at
 * stream offset `offset` (a connection taken over in mid-stream whose
 * offsets were counted by someone else). False when it has started. */
bool reasm_start(struct reasm *r, uint32_t seq, uint64_t offset);

/* A segment of this direction. Data may be empty (pure FIN). Returns 0, or
 * -1 on allocation failure (the segment is then treated as lost: a gap is
 * reported later, nothing crashes). */
int reasm_segment(struct reasm *r, const struct reasm_context *ctx, void *arg, uint32_t seq,
		  const uint8_t *data, size_t len, bool fin, double ts);

/* RST in either direction: deliver what is contiguous, report any held
 * data after holes (holes as gaps), then close. */
void reasm_reset(struct reasm *r, const struct reasm_context *ctx, void *arg);

/* The other direction acknowledged up to `ack`: bytes before it were
 * received by the peer even if the capture missed them, so a hole before
 * `ack` will never be filled. */
void reasm_peer_ack(struct reasm *r, const struct reasm_context *ctx, void *arg, uint32_t ack,
		    double ts);

/* End of input (capture end, flow expiry): deliver everything held,
 * reporting holes as gaps. */
void reasm_flush(struct reasm *r, const struct reasm_context *ctx, void *arg);

/* Wrap-safe sequence comparisons (RFC 1982 style, as the kernel's before()). */
static inline bool seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool seq_after(uint32_t a, uint32_t b)
{
	return seq_before(b, a);
}

#endif
