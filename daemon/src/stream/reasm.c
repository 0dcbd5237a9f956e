/* TCP reassembly of one direction; see reasm.h for the contract.
 *
 * Held out-of-order data is keyed by 64-bit stream offset rather than by
 * sequence number: once a segment is known to lie within REASM_MAX_AHEAD
 * of the delivery point its offset is unambiguous, and every later
 * comparison between held segments is plain integer arithmetic with no
 * wrap to think about. Sequence numbers are only compared against
 * next_seq, on the way in.
 *
 * Choices the header leaves open:
 * - A pure FIN (or any empty segment) on a stream that has not started is
 *   ignored: with no data and no SYN there is no offset to anchor it to.
 * - A SYN with another ISN after data was delivered is ignored; before
 *   any delivery it re-bases the stream and drops held data and FIN, which
 *   belonged to the abandoned attempt.
 * - A segment wholly covered by held (not yet delivered) data counts as an
 *   overlap, not a retransmission: retransmitted means "behind the
 *   delivery point".
 * - A second FIN at another sequence number is ignored (first copy wins),
 *   and so is a FIN ending before bytes already delivered.
 * - Flush and reset also report the hole between the last byte held and
 *   a FIN already seen: those bytes were sent and will never be seen. */
#include "stream/reasm.h"

#include <stdlib.h>
#include <string.h>

struct reasm_segment {
	struct reasm_segment *next;
	uint64_t offset; /* stream offset of data[0] */
	size_t len;
	double ts;
	uint8_t data[];
};

/* Out-of-order data: made with the first segment held, freed with the
 * last one delivered or dropped (an in-order stream never has one). */
struct reasm_held {
	struct reasm_segment *first; /* sorted by offset, non-overlapping */
	size_t bytes;
	size_t segments;
};

/* What a call brings that the reassembler does not keep (reasm.h). */
struct io {
	const struct reasm_context *ctx;
	void *arg; /* the callbacks' */
};

void reasm_init(struct reasm *r)
{
	memset(r, 0, sizeof(*r));
}

/* The first held segment, NULL when none. */
static struct reasm_segment *first_held(const struct reasm *r)
{
	return r->held ? r->held->first : NULL;
}

/* Forget the held block once it holds nothing. */
static void held_trim(struct reasm *r)
{
	if (r->held && !r->held->first) {
		free(r->held);
		r->held = NULL;
	}
}

static void drop_pending(struct reasm *r)
{
	struct reasm_segment *seg, *next;

	for (seg = first_held(r); seg; seg = next) {
		next = seg->next;
		free(seg);
	}
	free(r->held);
	r->held = NULL;
}

void reasm_free(struct reasm *r)
{
	drop_pending(r);
}

size_t reasm_held_bytes(const struct reasm *r)
{
	return r->held ? r->held->bytes : 0;
}

size_t reasm_held_segments(const struct reasm *r)
{
	return r->held ? r->held->segments : 0;
}

/* Signed distance from the delivery point to seq; meaningful only while
 * both lie within 2^31 of each other, which the window check ensures. */
static int64_t seq_distance(const struct reasm *r, uint32_t seq)
{
	return (int32_t)(seq - r->next_seq);
}

/* Stream offset where delivery must stop: the FIN, or here once closed.
 * UINT64_MAX when no end is known. */
static uint64_t stream_end(const struct reasm *r)
{
	if (r->closed)
		return r->offset;
	if (r->fin_seen)
		return r->offset + (uint64_t)seq_distance(r, r->fin_seq);
	return UINT64_MAX;
}

static void advance(struct reasm *r, uint64_t n)
{
	r->offset += n;
	r->next_seq += (uint32_t)n;
	if (r->fin_seen && r->next_seq == r->fin_seq)
		r->closed = true;
}

static void deliver(struct reasm *r, const struct io *io, const uint8_t *data, size_t len,
		    double ts)
{
	if (len == 0)
		return;
	if (io->ctx->cb.deliver)
		io->ctx->cb.deliver(io->arg, data, len, r->offset, ts);
	io->ctx->stats->bytes_delivered += len;
	advance(r, len);
}

static void report_gap(struct reasm *r, const struct io *io, uint64_t len)
{
	if (len == 0)
		return;
	if (io->ctx->cb.gap)
		io->ctx->cb.gap(io->arg, r->offset, len);
	io->ctx->stats->gaps++;
	io->ctx->stats->gap_bytes += len;
	advance(r, len);
}

/* Deliver held segments that now start at the delivery point. Held data
 * never starts behind it: everything before was delivered or skipped. */
static void deliver_contiguous(struct reasm *r, const struct io *io)
{
	struct reasm_segment *seg;

	while ((seg = first_held(r)) && seg->offset == r->offset) {
		r->held->first = seg->next;
		r->held->bytes -= seg->len;
		r->held->segments--;
		/* The callback may look at what is held: this segment is not. */
		held_trim(r);
		deliver(r, io, seg->data, seg->len, seg->ts);
		free(seg);
	}
}

/* Give up on the hole before the first held segment. */
static void skip_first_hole(struct reasm *r, const struct io *io)
{
	if (!first_held(r))
		return;
	report_gap(r, io, first_held(r)->offset - r->offset);
	deliver_contiguous(r, io);
}

static void enforce_limits(struct reasm *r, const struct io *io)
{
	while (r->held && (r->held->bytes > io->ctx->limits.max_buffered_bytes ||
			   r->held->segments > io->ctx->limits.max_buffered_segments)) {
		io->ctx->stats->bound_hits++;
		skip_first_hole(r, io);
	}
}

/* Everything held goes out, holes become gaps, and so does the tail
 * before a FIN we saw but whose data we did not. */
static void skip_all_holes(struct reasm *r, const struct io *io)
{
	uint64_t end;

	while (first_held(r))
		skip_first_hole(r, io);
	end = stream_end(r);
	if (end != UINT64_MAX && end > r->offset)
		report_gap(r, io, end - r->offset);
}

/* Forget held data at or past `end` (a FIN that arrived after it). */
static void cut_pending_at(struct reasm *r, const struct io *io, uint64_t end)
{
	struct reasm_segment **link, *seg;

	if (!r->held)
		return;
	link = &r->held->first;
	while ((seg = *link)) {
		if (seg->offset >= end) {
			*link = seg->next;
			r->held->bytes -= seg->len;
			r->held->segments--;
			io->ctx->stats->after_close++;
			free(seg);
		} else if (seg->offset + seg->len > end) {
			/* Shrinking in place keeps the allocation; only the
			 * accounting needs to know. */
			r->held->bytes -= (size_t)(seg->offset + seg->len - end);
			seg->len = (size_t)(end - seg->offset);
			io->ctx->stats->after_close++;
			link = &seg->next;
		} else {
			link = &seg->next;
		}
	}
	held_trim(r);
}

static void note_fin(struct reasm *r, const struct io *io, uint32_t fin_seq)
{
	int64_t dist;

	if (r->fin_seen || r->closed)
		return;
	dist = seq_distance(r, fin_seq);
	if (dist < 0 || dist > (int64_t)REASM_MAX_AHEAD)
		return;
	r->fin_seen = true;
	r->fin_seq = fin_seq;
	cut_pending_at(r, io, r->offset + (uint64_t)dist);
	if (dist == 0)
		r->closed = true;
}

/* Copy the parts of [offset, offset + len) that no held segment already
 * covers into the sorted list. The whole range lies ahead of the delivery
 * point. */
static int hold_out_of_order(struct reasm *r, const struct io *io, uint64_t offset,
			     const uint8_t *data, size_t len, double ts, bool *overlapped, bool *held)
{
	struct reasm_segment **link, *seg, *piece;
	uint64_t end = offset + len;
	uint64_t cursor = offset;
	uint64_t piece_end;
	size_t piece_len;
	int rc = 0;

	if (!r->held) {
		r->held = calloc(1, sizeof(*r->held));
		if (!r->held) {
			io->ctx->stats->alloc_failures++;
			return -1;
		}
	}
	link = &r->held->first;
	while (cursor < end) {
		seg = *link;
		if (seg && seg->offset + seg->len <= cursor) {
			link = &seg->next;
			continue;
		}
		if (seg && seg->offset <= cursor) {
			/* First copy wins: keep the held bytes, skip ours. */
			*overlapped = true;
			cursor = seg->offset + seg->len;
			link = &seg->next;
			continue;
		}
		piece_end = seg && seg->offset < end ? seg->offset : end;
		piece_len = (size_t)(piece_end - cursor);
		piece = malloc(sizeof(*piece) + piece_len);
		if (!piece) {
			io->ctx->stats->alloc_failures++;
			rc = -1;
			break;
		}
		piece->offset = cursor;
		piece->len = piece_len;
		piece->ts = ts;
		memcpy(piece->data, data + (cursor - offset), piece_len);
		piece->next = seg;
		*link = piece;
		link = &piece->next;
		r->held->bytes += piece_len;
		r->held->segments++;
		*held = true;
		cursor = piece_end;
	}
	held_trim(r);
	return rc;
}

/* Data starting exactly at the delivery point goes straight to the
 * callback without a copy, except where held data already covers it. */
static void deliver_in_order(struct reasm *r, const struct io *io, const uint8_t *data,
			     size_t len, double ts, bool *overlapped)
{
	uint64_t data_offset = r->offset;
	uint64_t behind;
	size_t direct;

	while (len > 0) {
		direct = len;
		if (first_held(r) && first_held(r)->offset - r->offset < direct) {
			direct = (size_t)(first_held(r)->offset - r->offset);
			*overlapped = true;
		}
		deliver(r, io, data, direct, ts);
		data += direct;
		len -= direct;
		data_offset += direct;
		deliver_contiguous(r, io);
		/* What the held data just delivered, we drop from ours. */
		behind = r->offset - data_offset;
		if (behind > len)
			behind = len;
		data += behind;
		len -= (size_t)behind;
		data_offset += behind;
	}
}

int reasm_segment(struct reasm *r, const struct reasm_context *ctx, void *arg, uint32_t seq,
		  const uint8_t *data, size_t len, bool fin, double ts)
{
	const struct io call = { ctx, arg }, *io = &call;
	bool overlapped = false, held = false;
	int64_t start, end;
	uint64_t limit, offset;
	int ret = 0;

	if (len > 0)
		io->ctx->stats->segments++;
	if (!r->started) {
		if (len == 0)
			return 0;
		r->started = true;
		r->next_seq = seq;
		r->offset = 0;
	}
	if (len > REASM_MAX_AHEAD) {
		io->ctx->stats->out_of_window++;
		return 0;
	}
	start = seq_distance(r, seq);
	end = start + (int64_t)len;
	if (end > (int64_t)REASM_MAX_AHEAD) {
		/* An absurd FIN is as untrustworthy as absurd data. */
		io->ctx->stats->out_of_window++;
		return 0;
	}
	if (fin)
		note_fin(r, io, seq + (uint32_t)len);
	if (len == 0)
		return 0;

	limit = stream_end(r);
	if (limit != UINT64_MAX && end > (int64_t)(limit - r->offset)) {
		io->ctx->stats->after_close++;
		end = (int64_t)(limit - r->offset);
		if (end <= start)
			return 0;
	}
	if (end <= 0) {
		io->ctx->stats->retransmitted++;
		return 0;
	}
	if (start < 0) {
		data += -start;
		start = 0;
		overlapped = true;
	}
	len = (size_t)(end - start);
	offset = r->offset + (uint64_t)start;

	if (start == 0) {
		deliver_in_order(r, io, data, len, ts, &overlapped);
	} else {
		ret = hold_out_of_order(r, io, offset, data, len, ts, &overlapped, &held);
		if (held)
			io->ctx->stats->out_of_order++;
		enforce_limits(r, io);
	}
	if (overlapped)
		io->ctx->stats->overlaps++;
	return ret;
}

void reasm_syn(struct reasm *r, uint32_t isn)
{
	if (r->closed)
		return;
	if (r->started && (r->next_seq == isn + 1 || r->offset > 0))
		return;
	drop_pending(r);
	r->fin_seen = false;
	r->fin_seq = 0;
	r->started = true;
	r->next_seq = isn + 1;
	r->offset = 0;
}

bool reasm_start(struct reasm *r, uint32_t seq, uint64_t offset)
{
	if (r->started || r->closed)
		return false;
	r->started = true;
	r->next_seq = seq;
	r->offset = offset;
	return true;
}

void reasm_peer_ack(struct reasm *r, const struct reasm_context *ctx, void *arg, uint32_t ack,
		    double ts)
{
	const struct io call = { ctx, arg }, *io = &call;
	uint64_t target, end, hole_end;
	int64_t dist;

	(void)ts; /* gaps carry no time; kept for symmetry with segments */
	if (!r->started || r->closed)
		return;
	dist = seq_distance(r, ack);
	if (dist <= 0 || dist > (int64_t)REASM_MAX_AHEAD)
		return;
	target = r->offset + (uint64_t)dist;
	/* The ack of a FIN counts the FIN itself, which is not a byte. */
	end = stream_end(r);
	if (target > end)
		target = end;
	while (r->offset < target) {
		hole_end = target;
		if (first_held(r) && first_held(r)->offset < hole_end)
			hole_end = first_held(r)->offset;
		report_gap(r, io, hole_end - r->offset);
		deliver_contiguous(r, io);
	}
}

void reasm_reset(struct reasm *r, const struct reasm_context *ctx, void *arg)
{
	const struct io call = { ctx, arg }, *io = &call;
	skip_all_holes(r, io);
	r->closed = true;
}

void reasm_flush(struct reasm *r, const struct reasm_context *ctx, void *arg)
{
	const struct io call = { ctx, arg }, *io = &call;
	skip_all_holes(r, io);
}
