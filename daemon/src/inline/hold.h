/* Held packets of one direction: segments that carry part of a PDU policy
 * may still change by length wait here without a verdict, in stream
 * order, until the caller lets them go. This unit only keeps them; it
 * never sends: hold_pop hands the next one that may go to the caller,
 * which translates it and gives its verdict.
 *
 * The packet being processed joins the queue borrowed (its bytes are the
 * caller's); if it is still held when the caller is done with it,
 * hold_own copies it. totals counts the owned copies over all flows of an
 * engine, for its global bound. */
#ifndef IMW_INLINE_HOLD_H
#define IMW_INLINE_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inline/flow_state.h"

struct hold_totals {
	size_t packets;
	size_t bytes;
};

/* A borrowed entry for the packet in hand (data stays the caller's);
 * NULL when out of memory. */
struct held_packet *hold_new(uint32_t id, const uint8_t *data, size_t len, bool gso,
			     const struct packet *pkt, uint64_t in_start, uint64_t in_end,
			     double now);
/* The same in a record of the caller's (the engine's one for the packet
 * in hand): no allocation. hold_own moves it to the heap if it is still
 * queued when the caller is done with the packet. */
void hold_in_hand(struct held_packet *h, uint32_t id, const uint8_t *data, size_t len, bool gso,
		  const struct packet *pkt, uint64_t in_start, uint64_t in_end, double now);
void hold_insert(struct hold_queue *q, struct held_packet *h);

/* The oldest packet, taken off the queue, if its bytes end at or before
 * upto and before decoded_end (UINT64_MAX: also those still waiting behind
 * a hole); else NULL. The caller gives its verdict and frees it. */
struct held_packet *hold_pop(struct hold_queue *q, struct hold_totals *t, uint64_t upto,
			     uint64_t decoded_end);
void hold_free(struct held_packet *h);

/* Copy every borrowed packet still held, so the caller may reuse its
 * buffer (and its record, for one in hand). Returns how many were copied, or -1 when out of memory (the
 * caller then lets the direction go rather than lose a packet). */
int hold_own(struct hold_queue *q, struct hold_totals *t);

/* The packet in hand arrived after a hole in its direction's stream: the
 * deadline does not run for it until the hole fills (hold_prefix_complete). */
void hold_mark_behind_hole(struct held_packet *h);

/* The bytes of the direction before decoded_end (the next byte its
 * reassembly waits for) are complete: packets that waited behind a hole
 * and now have none before them start their deadline at now. */
void hold_prefix_complete(struct hold_queue *q, uint64_t decoded_end, double now);

/* What the deadlines let go at now: the end of the last packet whose time
 * is up, 0 when none. A packet with complete bytes before it may wait
 * deadline seconds from then (DESIGN, Holding); one still behind a hole
 * costs its receiver nothing (it cannot deliver past the hole) and may
 * wait hole_bound seconds from its arrival: *past_hole says that bound
 * was hit. */
uint64_t hold_expired_end(const struct hold_queue *q, double now, double deadline,
			  double hole_bound, bool *past_hole);

/* The lowest queue id held; false when the queue is empty. */
bool hold_lowest_id(const struct hold_queue *q, bool have, uint32_t *id);

/* Forget every packet without a verdict (teardown with nowhere to send). */
void hold_drop_all(struct hold_queue *q, struct hold_totals *t);

#endif
