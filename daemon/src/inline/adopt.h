/* Taking over a flow a predecessor edited: a daemon that restarted (or a
 * worker whose flow table had evicted the flow) meets it mid-stream and
 * rebuilds its translation from what survived the predecessor:
 *
 *   - the classifier's xlate entries (bpf_publish_fetch): per direction
 *     the base offset and the live edits, as the classifier last knew
 *     them (it folds acknowledged edits while no daemon runs);
 *   - the predecessor's record in the state file (handover.h): the
 *     replacement bytes of those edits, the edits past a list the
 *     classifier could not hold whole, the path's MSS, the session.
 *
 * Each direction's sequence map is rebuilt with its base sequence number
 * ADOPT_BIAS bytes before the first live edit (or before the packet), so
 * every live edit has a stream offset, and the flow's reassembly later
 * starts at the offset its first packet has in that map: offsets of
 * edits, events and held packets agree as they do for a flow seen from
 * its SYN. Input before the end of the last live edit was decided by the
 * predecessor and is never decoded again (adopted_until); a segment of it
 * the sender retransmits is rebuilt from the map with exactly the bytes
 * first sent. A live edit whose bytes the record does not have (the file
 * was full, or gone) becomes spaces of the same length: the original
 * never goes out, and the loss is counted. */
#ifndef IMW_INLINE_ADOPT_H
#define IMW_INLINE_ADOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inline/bpf_publish.h"
#include "inline/flow_state.h"
#include "inline/handover.h"

#define ADOPT_BIAS (1u << 30)

struct adopt_counts {
	size_t directions; /* directions whose map was rebuilt */
	size_t edits;      /* live edits taken over */
	size_t blanked;    /* of them, without bytes: sent as spaces */
	size_t origins;    /* our own insertions to resend */
};

/* Rebuild fs's maps from xl (found[d]: direction d has an entry) and rec
 * (may be NULL), on the flow's first packet pkt of direction dir (its
 * first data seq: data_seq), at time now. Returns -1 when out of memory
 * (fs is then as it was: the flow is picked up mid-stream as any). */
int adopt_flow(struct flow_state *fs, enum im_dir dir, const struct packet *pkt, uint32_t data_seq,
	       const struct bpf_publish_state xl[2], const bool found[2],
	       const struct handover_record *rec, double now, struct adopt_counts *c);

/* The record's session (and the protocol) for the application layer,
 * kept in fs until its streams exist (adopt_apply_session). */
bool adopt_keep_session(struct flow_state *fs, enum imw_proto proto,
			const struct handover_record *rec);
/* Once fs's flow has its application layer: decode it as the kept
 * protocol and give its session the kept identity. */
void adopt_apply_session(struct flow_state *fs);

#endif
