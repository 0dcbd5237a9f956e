/* Inside the engine: letting packets go (release.c). */
#ifndef IMW_INLINE_RELEASE_H
#define IMW_INLINE_RELEASE_H

#include "inline/engine.h"
#include "inline/origin.h"

/* Where packets built for a flow go, and the buffer to build them in. */
struct origin_io engine_origin_io(struct engine *e, struct engine_outq *out);

/* One packet of fs's direction dir on, translated; the origin unit learns
 * from it when the queue told us its link (link may be NULL). */
void release_forward(struct engine *e, struct flow_state *fs, enum im_dir dir, uint32_t id,
		     const uint8_t *ip, const struct packet *pkt, bool gso, bool force_modified,
		     const struct engine_packet_link *link, struct engine_outq *out);

/* Held packets of a direction, oldest first, while their bytes end at or
 * before upto and have been decoded; with past_holes, also those still
 * waiting behind a hole. release_dir: all of them. */
void release_upto(struct engine *e, struct flow_state *fs, enum im_dir dir, uint64_t upto,
		  bool past_holes, const struct engine_packet_link *link, struct engine_outq *out);
void release_dir(struct engine *e, struct flow_state *fs, enum im_dir dir,
		 const struct engine_packet_link *link, struct engine_outq *out);

/* Every held packet of a direction dropped (its sender resends it):
 * returns how many, for the caller's counter. */
size_t release_drop_dir(struct engine *e, struct flow_state *fs, enum im_dir dir,
			struct engine_outq *out);

/* fs on the engine's list of flows with held packets exactly while it
 * holds some. */
void hold_list_update(struct engine *e, struct flow_state *fs);

#endif
