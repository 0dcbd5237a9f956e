/* Applying one stream edit to a direction: replace input [start, end)
 * with n new bytes (a deletion has none, an insertion an empty range).
 * The edit goes into the direction's sequence map, cut at the boundaries
 * of the packets that carry [start, end) and are still held, so that no
 * packet grows past what its path takes; bytes already released are
 * committed and only a same-length change of the rest is possible
 * (DESIGN, Holding). */
#ifndef IMW_INLINE_EDITS_H
#define IMW_INLINE_EDITS_H

#include <stddef.h>
#include <stdint.h>

#include "inline/flow_state.h"

enum edit_result {
	EDIT_APPLIED,
	EDIT_REFUSED_COMMITTED, /* the bytes had already gone out */
	EDIT_REFUSED_SIZE,      /* would not fit the held packets' path */
	EDIT_FAILED,            /* out of memory */
};

enum edit_result edit_apply(struct flow_dir_state *d, uint64_t start, uint64_t end,
			    const uint8_t *bytes, size_t n);

#endif
