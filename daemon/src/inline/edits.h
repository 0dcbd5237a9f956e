/* Applying one stream edit to a direction: replace input [start, end)
 * with n new bytes (a deletion has none, an insertion an empty range).
 * The edit goes into the direction's sequence map, cut at the boundaries
 * of the packets that carry [start, end) and are still held, so that no
 * packet grows past what its path takes (counting what earlier edits
 * made of it); bytes already released are committed and only a
 * same-length change of the rest is possible (DESIGN, Holding).
 *
 * When the held packets cannot carry the growth, the last of them that is
 * plain data (no SYN, FIN, RST or URG) may grow to `segments` segments of
 * its path: it leaves cut to the path (translate.h, capped) and the rest
 * follows as segments of ours (origin_send_rest) or, when we cannot send
 * any on the flow, in its sender's retransmission (an ack inside an edit
 * leaves the sender a byte outstanding: seqmap.h). segments is 1 when
 * nothing may grow past one segment. Past that the edit is refused as too
 * big (the caller's fallback and policy_failure event take over). */
#ifndef IMW_INLINE_EDITS_H
#define IMW_INLINE_EDITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inline/flow_state.h"

enum edit_result {
	EDIT_APPLIED,
	EDIT_REFUSED_COMMITTED, /* the bytes had already gone out */
	EDIT_REFUSED_SIZE,      /* would not fit the held packets' path */
	EDIT_FAILED,            /* out of memory */
};

/* The most segments one held packet may leave as when we can send segments
 * on its flow; without, the sender's retransmissions carry the rest, one
 * segment a round trip of its timer, so only one more is allowed. */
#define EDIT_SPLIT_SEGMENTS 8
#define EDIT_SPLIT_BY_SENDER 2

enum edit_result edit_apply(struct flow_dir_state *d, uint64_t start, uint64_t end,
			    const uint8_t *bytes, size_t n, size_t segments);

#endif
