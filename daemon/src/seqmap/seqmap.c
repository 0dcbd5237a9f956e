#include "seqmap/seqmap.h"

#include <stdlib.h>
#include <string.h>

void seqmap_init(struct seqmap *m, uint32_t base_seq)
{
	memset(m, 0, sizeof(*m));
	m->base_seq = base_seq;
}

void seqmap_free(struct seqmap *m)
{
	size_t i;

	for (i = 0; i < m->n_edits; i++)
		free(m->edits[i].out);
	free(m->edits);
	m->edits = NULL;
	m->n_edits = m->cap_edits = 0;
	m->held_bytes = 0;
}

/* Extend a 32-bit distance from a reference offset to 64 bits: the
 * closest offset with those low 32 bits. Offsets never go below 0. */
static uint64_t extend(uint64_t ref, uint32_t base_seq, uint32_t seq)
{
	uint32_t ref_seq = (uint32_t)(base_seq + (uint32_t)ref);
	int32_t d = (int32_t)(seq - ref_seq);

	if (d < 0 && (uint64_t)(-(int64_t)d) > ref)
		return 0;
	return (uint64_t)((int64_t)ref + d);
}

uint64_t seqmap_in_offset(struct seqmap *m, uint32_t seq)
{
	uint64_t off = extend(m->ref_in, m->base_seq, seq);

	if (off > m->ref_in)
		m->ref_in = off;
	return off;
}

uint64_t seqmap_out_offset(struct seqmap *m, uint32_t seq)
{
	uint64_t off = extend(m->ref_out, m->base_seq, seq);

	if (off > m->ref_out)
		m->ref_out = off;
	return off;
}

uint32_t seqmap_seq_of(const struct seqmap *m, uint64_t offset)
{
	return (uint32_t)(m->base_seq + (uint32_t)offset);
}

static uint64_t in_end(const struct seqmap_edit *e)
{
	return e->in_start + e->in_len;
}

static uint64_t out_end(const struct seqmap_edit *e)
{
	return e->out_start + e->out_len;
}

static uint64_t apply_delta(uint64_t pos, int64_t delta)
{
	int64_t r = (int64_t)pos + delta;

	return r < 0 ? 0 : (uint64_t)r;
}

/* Output minus input for positions after edit i (i == -1: before all). */
static int64_t delta_after(const struct seqmap *m, size_t count)
{
	if (count == 0)
		return m->base_delta;
	return (int64_t)out_end(&m->edits[count - 1]) - (int64_t)in_end(&m->edits[count - 1]);
}

int seqmap_add_edit(struct seqmap *m, uint64_t in_start, uint64_t in_len, const uint8_t *out,
		    size_t out_len)
{
	struct seqmap_edit *e;
	uint8_t *copy = NULL;

	if (m->n_edits && in_start < in_end(&m->edits[m->n_edits - 1]))
		return -1;
	if (in_len == 0 && out_len == 0)
		return 0;
	if (m->n_edits == m->cap_edits) {
		size_t cap = m->cap_edits ? m->cap_edits * 2 : 4;
		struct seqmap_edit *g = realloc(m->edits, cap * sizeof(*g));

		if (!g)
			return -1;
		m->edits = g;
		m->cap_edits = cap;
	}
	if (out_len) {
		copy = malloc(out_len);
		if (!copy)
			return -1;
		memcpy(copy, out, out_len);
	}
	e = &m->edits[m->n_edits];
	e->in_start = in_start;
	e->in_len = in_len;
	e->out_start = apply_delta(in_start, delta_after(m, m->n_edits));
	e->out_len = out_len;
	e->out = copy;
	e->own = false;
	m->n_edits++;
	m->edits_total++;
	if (in_start + in_len > m->edited_end)
		m->edited_end = in_start + in_len;
	m->held_bytes += out_len;
	return 0;
}

int seqmap_add_own_insertion(struct seqmap *m, uint64_t at, const uint8_t *bytes, size_t len)
{
	size_t before = m->n_edits;

	if (seqmap_add_edit(m, at, 0, bytes, len) < 0)
		return -1;
	if (m->n_edits > before)
		m->edits[m->n_edits - 1].own = true;
	return 0;
}

uint64_t seqmap_out_of_in(const struct seqmap *m, uint64_t in)
{
	size_t i;

	for (i = 0; i < m->n_edits; i++) {
		const struct seqmap_edit *e = &m->edits[i];

		if (in < e->in_start)
			return apply_delta(in, delta_after(m, i));
		/* An insertion at p precedes byte p: the deltas after it count it
		 * (and any further insertion at the same place). */
		if (e->in_len == 0)
			continue;
		if (in < in_end(e))
			return e->out_start; /* replaced bytes have no output of their own */
	}
	return apply_delta(in, delta_after(m, m->n_edits));
}

/* Where an output position lies inside edit e's replacement, the input
 * position to report: proportional for a replacement (the sender sees
 * progress and never believes the whole edit arrived before it did), the
 * byte before an insertion (so the segment carrying it is sent again). */
static uint64_t inside_replacement(const struct seqmap_edit *e, uint64_t out, bool proportional)
{
	if (e->in_len == 0 && e->own)
		return e->in_start; /* we resend it ourselves: nothing to ask back */
	if (e->in_len == 0)
		return e->in_start ? e->in_start - 1 : 0;
	if (!proportional || out == e->out_start)
		return e->in_start;
	return e->in_start + (out - e->out_start) * e->in_len / e->out_len;
}

static uint64_t in_of_out(const struct seqmap *m, uint64_t out, bool proportional)
{
	size_t i;

	for (i = 0; i < m->n_edits; i++) {
		const struct seqmap_edit *e = &m->edits[i];

		if (out < e->out_start)
			return apply_delta(out, -delta_after(m, i));
		if (out < out_end(e))
			return inside_replacement(e, out, proportional);
		/* Past the replacement, or at a deletion: the edit's input is
		 * accounted for (deleted bytes will never be sent). */
	}
	return apply_delta(out, -delta_after(m, m->n_edits));
}

uint64_t seqmap_in_of_out(const struct seqmap *m, uint64_t out)
{
	return in_of_out(m, out, true);
}

uint64_t seqmap_in_of_out_right(const struct seqmap *m, uint64_t out)
{
	return in_of_out(m, out, false);
}

uint64_t seqmap_in_of_out_left(const struct seqmap *m, uint64_t out)
{
	size_t i;

	for (i = 0; i < m->n_edits; i++) {
		const struct seqmap_edit *e = &m->edits[i];

		if (out <= e->out_start)
			return apply_delta(out, -delta_after(m, i));
		if (out < out_end(e))
			return in_end(e); /* starts inside a replacement: claim only after it */
	}
	return apply_delta(out, -delta_after(m, m->n_edits));
}

/* Appends data[from - in, to - in) to out, or only counts it (out NULL). */
static int emit_input(struct bytebuf *out, size_t *n, const uint8_t *data, uint64_t in,
		      uint64_t from, uint64_t to)
{
	*n += (size_t)(to - from);
	return !out || bytebuf_append(out, data + (from - in), (size_t)(to - from)) ? 0 : -1;
}

/* The output of a segment carrying input [in, in + len): appended to out
 * with data, or only its length counted in *n when out is NULL (data may
 * then be NULL). One walk for both, so the two can never disagree. */
static int walk_output(const struct seqmap *m, uint64_t in, const uint8_t *data, size_t len,
		       struct bytebuf *out, size_t *n)
{
	uint64_t pos = in, end = in + len;
	size_t i;

	*n = 0;
	for (i = 0; i < m->n_edits; i++) {
		const struct seqmap_edit *e = &m->edits[i];

		if (e->in_len > 0) {
			if (in_end(e) <= pos)
				continue;
			if (e->in_start >= end)
				break;
		} else {
			/* An insertion at p rides on the segment (x, p]. */
			if (e->in_start <= in)
				continue;
			if (e->in_start > end)
				break;
		}
		if (e->in_start > pos && emit_input(out, n, data, in, pos, e->in_start) < 0)
			return -1;
		*n += e->out_len;
		if (out && e->out_len && !bytebuf_append(out, e->out, e->out_len))
			return -1;
		if (in_end(e) > pos)
			pos = in_end(e);
	}
	if (pos < end && emit_input(out, n, data, in, pos, end) < 0)
		return -1;
	return 0;
}

int seqmap_build_output(const struct seqmap *m, uint64_t in, const uint8_t *data, size_t len,
			uint64_t *out_start, struct bytebuf *out)
{
	size_t n;

	*out_start = seqmap_out_of_in(m, in);
	return walk_output(m, in, data, len, out, &n);
}

size_t seqmap_output_len(const struct seqmap *m, uint64_t in, size_t len)
{
	size_t n;

	walk_output(m, in, NULL, len, NULL, &n); /* counting cannot fail */
	return n;
}

bool seqmap_touches(const struct seqmap *m, uint64_t in, size_t len)
{
	uint64_t end = in + len;
	size_t i;

	for (i = 0; i < m->n_edits; i++) {
		const struct seqmap_edit *e = &m->edits[i];

		if (e->in_len > 0) {
			if (in_end(e) <= in)
				continue;
			return e->in_start < end;
		}
		/* An insertion at p rides on the segment (x, p]. */
		if (e->in_start <= in)
			continue;
		return e->in_start <= end;
	}
	return false;
}

void seqmap_acknowledge(struct seqmap *m, uint64_t out_acked)
{
	size_t done = 0, i;

	while (done < m->n_edits && out_end(&m->edits[done]) <= out_acked &&
	       m->edits[done].out_start < out_acked)
		done++;
	/* An edit whose replacement ends exactly at the ack (a deletion there)
	 * is received too, but only once something after it was acked does
	 * the sender stop retransmitting its input: keep it until then. */
	if (!done)
		return;
	m->base_delta = delta_after(m, done);
	for (i = 0; i < done; i++) {
		m->held_bytes -= m->edits[i].out_len;
		free(m->edits[i].out);
	}
	memmove(m->edits, m->edits + done, (m->n_edits - done) * sizeof(*m->edits));
	m->n_edits -= done;
}
