/* Notices for a local user that wait for the next whole PDU towards its
 * client: the event that caused them travelled the other way, and we
 * could not send them at once in segments of our own. At most 256 wait,
 * over all flows of an engine; past that, the oldest is dropped (it
 * waited longest for a PDU that never came). Each is counted in st when
 * it is dropped. */
#ifndef IMW_INLINE_NOTICES_H
#define IMW_INLINE_NOTICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inline/counters.h"

struct deferred_notice {
	uint64_t flow_id;
	uint8_t *bytes; /* encoded PDUs towards the local client */
	size_t len;
	int pdus;
};

struct notice_queue {
	struct deferred_notice *v;
	size_t n;
};

void notices_defer(struct notice_queue *q, uint64_t flow_id, const uint8_t *bytes, size_t len,
		   int pdus, struct engine_stats *st);
/* The oldest notice waiting for flow_id, or NULL; notices_remove it once used. */
const struct deferred_notice *notices_first(const struct notice_queue *q, uint64_t flow_id);
void notices_remove(struct notice_queue *q, const struct deferred_notice *dn);
/* The flow ended: its notices are dropped, and counted. */
void notices_forget(struct notice_queue *q, uint64_t flow_id, struct engine_stats *st);
void notices_free(struct notice_queue *q);

#endif
