/* The TCP reassembler on random segment sequences, model-checked.
 *
 * Every byte's value is a function of its sequence number, so whatever
 * order, overlap or duplication the input makes, a delivered byte must
 * equal pattern(seq). Deliveries and gaps must tile the stream without
 * holes or overlaps, and the out-of-order buffer must stay within its
 * limits after every call.
 *
 * Input: 2 bytes of limits, then operations of 8 bytes: kind, then
 * arguments (a sequence offset relative to the ISN, a length, flags). */
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "stream/reasm.h"

struct model {
	struct reasm *r;
	uint64_t next_offset; /* where the next delivery or gap must start */
	uint64_t delivered;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pattern(uint32_t seq)
{
	return (uint8_t)((seq * 2654435761u) >> 24);
}

static void on_deliver(void *arg, const uint8_t *data, size_t len, uint64_t offset, double ts)
{
	struct model *m = arg;
	size_t i;

	(void)ts;
	if (len == 0 || offset != m->next_offset || offset != m->r->offset)
		abort();
	for (i = 0; i < len; i++)
		if (data[i] != pattern(m->r->next_seq + (uint32_t)i))
			abort();
	m->next_offset += len;
	m->delivered += len;
}

static void on_gap(void *arg, uint64_t offset, uint64_t len)
{
	struct model *m = arg;

	if (len == 0 || offset != m->next_offset)
		abort();
	m->next_offset += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reasm r;
	struct model m = { &r, 0, 0 };
	struct reasm_stats counters = { 0 };
	struct reasm_context ctx = { .cb = { on_deliver, on_gap }, .stats = &counters };
	uint8_t buf[4096];
	uint32_t isn;
	size_t pos;
	double ts = 1.0;

	if (size < 6)
		return 0;
	ctx.limits.max_buffered_bytes = 1 + (size_t)data[0] * 64;
	ctx.limits.max_buffered_segments = 1 + (size_t)(data[1] & 0x3F);
	isn = imw_load_be32(data + 2);
	reasm_init(&r);
	for (pos = 6; pos + 8 <= size; pos += 8) {
		const uint8_t *op = data + pos;
		uint32_t rel = imw_load_be32(op + 1);
		size_t len = imw_load_be16(op + 5) % sizeof(buf), i;
		uint32_t seq;

		/* small distances are the interesting ones; keep a few large */
		if (!(op[7] & 0x80))
			rel %= 8192;
		seq = isn + 1 + rel;
		ts += 0.001;
		switch (op[0] % 8) {
		case 0:
			reasm_syn(&r, isn);
			break;
		case 1: case 2: case 3: case 4:
			for (i = 0; i < len; i++)
				buf[i] = pattern(seq + (uint32_t)i);
			(void)reasm_segment(&r, &ctx, &m, seq, buf, len, op[7] & 1, ts);
			break;
		case 5:
			reasm_peer_ack(&r, &ctx, &m, seq, ts);
			break;
		case 6:
			if (op[7] & 2)
				reasm_reset(&r, &ctx, &m);
			else
				reasm_flush(&r, &ctx, &m);
			break;
		case 7:
			(void)reasm_segment(&r, &ctx, &m, seq, NULL, 0, true, ts);
			break;
		}
		if (reasm_held_bytes(&r) > ctx.limits.max_buffered_bytes ||
		    reasm_held_segments(&r) > ctx.limits.max_buffered_segments)
			abort();
		if (r.started && r.offset != m.next_offset)
			abort();
	}
	reasm_flush(&r, &ctx, &m);
	if (reasm_held_bytes(&r) || reasm_held_segments(&r) || r.held)
		abort();
	reasm_free(&r);
	return 0;
}
