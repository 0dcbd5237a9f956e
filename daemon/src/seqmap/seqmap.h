/* The sequence map of one direction of one TCP connection.
 *
 * Stream edits (replace input [a,b) by new bytes; a deletion has no new
 * bytes, an insertion an empty input range) shift every later byte. The
 * map translates input positions (what the sender sent) to output
 * positions (what the receiver sees) for seq numbers, and output
 * positions back to input ones for the reverse direction's ack and SACK.
 *
 * Unlike the kernel's nf_conntrack_seqadj, which keeps one correction
 * point per direction and so breaks when a second edit comes before the
 * first is acknowledged, this is an ordered edit list. Each edit keeps its
 * replacement bytes until the receiver acknowledges them, so a
 * retransmission carries exactly the bytes sent the first time; then the
 * edit collapses into a base offset.
 *
 * Positions are 64-bit stream offsets; seq numbers are converted at the
 * edges with wrap-safe arithmetic. */
#ifndef IMW_SEQMAP_H
#define IMW_SEQMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/bytebuf.h"

struct seqmap_edit {
	uint64_t in_start;
	uint64_t in_len;
	uint64_t out_start; /* output offset where the replacement begins */
	size_t out_len;
	uint8_t *out; /* replacement bytes (NULL when out_len is 0) */
	bool own; /* an insertion the engine sends and resends itself */
};

struct seqmap {
	uint32_t base_seq;  /* input seq of input offset 0; output seq of output offset 0 */
	uint64_t ref_in;    /* a recent input offset, for extending 32-bit seq numbers */
	uint64_t ref_out;   /* a recent output offset, likewise */
	int64_t base_delta; /* output minus input after all collapsed edits */
	struct seqmap_edit *edits; /* sorted, non-overlapping, live (unacknowledged) */
	size_t n_edits;
	size_t cap_edits;
	uint64_t edits_total;  /* ever added */
	uint64_t edited_end;   /* input offset past the newest edit ever added (0: none) */
	size_t held_bytes;     /* replacement bytes kept */
};

/* base_seq: the sequence number of the first data byte (ISN + 1). */
void seqmap_init(struct seqmap *m, uint32_t base_seq);
void seqmap_free(struct seqmap *m);

/* True when no edit ever changed the stream: seq numbers pass unchanged. */
static inline bool seqmap_is_identity(const struct seqmap *m)
{
	return m->n_edits == 0 && m->base_delta == 0;
}

/* Input seq <-> input offset, and output seq <-> output offset. */
uint64_t seqmap_in_offset(struct seqmap *m, uint32_t seq);
uint64_t seqmap_out_offset(struct seqmap *m, uint32_t seq);
uint32_t seqmap_seq_of(const struct seqmap *m, uint64_t offset);

/* Record an edit. Edits must come in stream order: in_start must not be
 * before the end of the last live edit. Returns 0, or -1 (order violated,
 * or allocation failure). */
int seqmap_add_edit(struct seqmap *m, uint64_t in_start, uint64_t in_len, const uint8_t *out,
		    size_t out_len);

/* An insertion at `at` that the engine originates and retransmits by
 * itself: an ack inside it maps to `at`, not to the byte before (no real
 * segment needs sending again for it). Same order rule and result. */
int seqmap_add_own_insertion(struct seqmap *m, uint64_t at, const uint8_t *bytes, size_t len);

/* Output offset of input offset in. Inside an edit's input range (which
 * has no output of its own), the output offset where the edit begins. */
uint64_t seqmap_out_of_in(const struct seqmap *m, uint64_t in);

/* Input offset acknowledged by an ack of output offset out: everything
 * before out was received. Inside a replacement that is only partly
 * received, a position proportionally inside the edit's input, never its
 * end (the sender sees progress, and keeps an unacknowledged byte whose
 * retransmission carries the rest); inside an insertion, the byte before
 * it; at a deletion, past the deleted bytes (they will never be sent). */
uint64_t seqmap_in_of_out(const struct seqmap *m, uint64_t out);

/* The same for a SACK block's right edge, conservatively: inside a
 * replacement, the edit's input start. */
uint64_t seqmap_in_of_out_right(const struct seqmap *m, uint64_t out);

/* For a SACK block's left edge: the first input offset whose output is
 * wholly at or after out. */
uint64_t seqmap_in_of_out_left(const struct seqmap *m, uint64_t out);

/* Build the output bytes for a segment carrying input [in, in + len)
 * (data points at those bytes): unedited bytes are copied, an edit that
 * the segment touches contributes its whole replacement (so a
 * retransmission sends exactly what was sent first), an insertion at p is
 * carried by the segment that ends at or after p and starts before it.
 * *out_start receives the output offset of the first byte. Returns 0, or
 * -1 on allocation failure. */
int seqmap_build_output(const struct seqmap *m, uint64_t in, const uint8_t *data, size_t len,
			uint64_t *out_start, struct bytebuf *out);

/* The length seqmap_build_output would give for the same segment. */
size_t seqmap_output_len(const struct seqmap *m, uint64_t in, size_t len);

/* Does an edit contribute to the output of a segment carrying input
 * [in, in + len), by seqmap_build_output's rules? When not, the output is
 * the input bytes as they are (only their place moved). */
bool seqmap_touches(const struct seqmap *m, uint64_t in, size_t len);

/* The receiver acknowledged output up to out_acked: drop the edits it has
 * wholly received, folding their length change into the base offset. */
void seqmap_acknowledge(struct seqmap *m, uint64_t out_acked);

#endif
