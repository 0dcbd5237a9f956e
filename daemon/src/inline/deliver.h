/* Inside the engine: PDUs of our own for a client (deliver.c). */
#ifndef IMW_INLINE_DELIVER_H
#define IMW_INLINE_DELIVER_H

#include "inline/engine.h"

/* len bytes (pdus whole PDUs) for fs's client: 1 sent in segments of our
 * own, 0 they wait for the next PDU towards the client, -1 lost (the
 * direction ended, or no memory). */
int deliver_to_client(struct engine *e, struct flow_state *fs, const uint8_t *bytes, size_t len,
		      int pdus, double now, struct engine_outq *out);

#endif
