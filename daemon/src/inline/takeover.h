/* Inside the engine: a flow met in mid-stream may be one a predecessor
 * edited (a daemon before a restart or a crash, or this worker before its
 * flow table evicted the flow). On the flow's first packet, takeover_check
 * asks the classifier's xlate map (bpf_publish.h) and the state file
 * (handover.h) for it and has adopt.h rebuild its translation and session
 * from what it finds, counting what was taken over; a new connection's
 * SYN drops a record left for an old one on the same addresses. Then each
 * direction's reassembly starts where the adopted map says
 * (takeover_start_stream), never before what the predecessor decided. */
#ifndef IMW_INLINE_TAKEOVER_H
#define IMW_INLINE_TAKEOVER_H

#include <stdint.h>

#include "inline/engine.h"
#include "packet/packet.h"

/* On fs's first packet pkt of direction dir (its first data seq:
 * data_seq), at time now; marks fs as checked. */
void takeover_check(struct engine *e, struct flow_state *fs, enum im_dir dir,
		    const struct packet *pkt, uint32_t data_seq, double now);
/* The first data of a direction taken over: start its reassembly. */
void takeover_start_stream(struct engine *e, struct flow_state *fs, enum im_dir dir,
			   const struct packet *pkt, uint32_t data_seq);

#endif
