/* The engine's output: verdicts on queued packets, in the order they were
 * decided, and packets the engine originates (local deliveries, bot
 * replies, receipts, acks of deleted bytes) with the link each leaves by.
 * The caller sends both (nfq/, egress/) and clears the queue. New packet
 * bytes of both kinds live in one buffer. */
#ifndef IMW_INLINE_OUTQ_H
#define IMW_INLINE_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "egress/egress.h"
#include "inline/counters.h"
#include "packet/verdict.h"
#include "util/bytebuf.h"

/* A packet the engine made up: bytes [offset, offset + len) of
 * engine_outq.bytes, sent through link. */
struct engine_origin {
	size_t offset;
	size_t len;
	struct egress_link link;
};

struct engine_outq {
	struct verdict *v;
	size_t n;
	size_t cap;
	struct engine_origin *orig;
	size_t n_orig;
	size_t cap_orig;
	struct bytebuf bytes;
};

/* What the queue says about a packet besides its bytes: where it leaves
 * and which MAC sent it, so the engine can send towards a client itself. */
struct engine_packet_link {
	uint32_t outdev;
	uint32_t physoutdev; /* bridge port, 0 when not bridged */
	bool has_mac;
	uint8_t src_mac[6];
};

void engine_outq_init(struct engine_outq *q);
void engine_outq_clear(struct engine_outq *q);
void engine_outq_free(struct engine_outq *q);

/* Append a verdict (data: the new packet, for VERDICT_ACCEPT_MODIFIED),
 * counted in st. False when out of memory: the queue's fail-open and the
 * kernel's own timeout are all that is left for that packet. */
bool outq_verdict(struct engine_outq *q, struct engine_stats *st, uint32_t id,
		  enum verdict_kind kind, const uint8_t *data, size_t len);
/* Append a VERDICT_ACCEPT_MODIFIED for a packet of len bytes the caller
 * then writes to the place returned, in the queue's own buffer (no copy
 * through another); NULL when out of memory (counted, nothing appended).
 * Valid until the queue next grows. */
uint8_t *outq_verdict_space(struct engine_outq *q, struct engine_stats *st, uint32_t id,
			    size_t len);
/* Append a packet of our own, counted in st. */
bool outq_origin(struct engine_outq *q, struct engine_stats *st, const uint8_t *data, size_t len,
		 const struct egress_link *link);
/* Move everything of src to the end of dst (counted when it entered src);
 * src is left empty. */
void outq_move(struct engine_outq *dst, struct engine_outq *src, struct engine_stats *st);

#endif
