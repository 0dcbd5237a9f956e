#include "inline/edits.h"

/* The packets an edit may touch: the engine holds at most 64 per
 * direction by default; a larger configured bound refuses larger edits. */
#define MAX_CUTS 256

/* One held packet's part of an edit. */
struct cut {
	struct held_packet *h;
	size_t portion; /* replacement bytes it carries */
	size_t room;    /* replacement bytes it could carry */
	size_t base;    /* its output bytes besides the portion */
	size_t limit;   /* payload bytes one segment of its path takes */
};

static bool touches(const struct held_packet *h, uint64_t start, uint64_t end)
{
	if (start == end) /* an insertion goes with the packet it ends */
		return h->in_start < start && start <= h->in_end;
	return h->in_start < end && h->in_end > start;
}

/* The held packets [start, end) touches, with their room; -1 when there
 * are more than we can cut. */
static int find_cuts(const struct flow_dir_state *d, uint64_t start, uint64_t end,
		     struct cut *cuts, size_t *total_room)
{
	struct held_packet *h;
	int count = 0;

	*total_room = 0;
	for (h = d->held.head; h; h = h->next) {
		size_t lo, hi, base, limit;
		struct cut *c;

		if (!touches(h, start, end))
			continue;
		if (count == MAX_CUTS)
			return -1;
		c = &cuts[count];
		lo = (size_t)((start > h->in_start ? start : h->in_start) - h->in_start);
		hi = (size_t)((end < h->in_end ? end : h->in_end) - h->in_start);
		c->h = h;
		c->portion = hi - lo;
		/* what it carries now: earlier edits of the same packet grew it */
		base = seqmap_output_len(&d->map, h->in_start, (size_t)(h->in_end - h->in_start));
		base = base > c->portion ? base - c->portion : 0;
		limit = flow_dir_segment_limit(d, &h->pkt, h->gso);
		c->base = base;
		c->limit = limit;
		c->room = limit > base ? limit - base : 0;
		if (c->room < c->portion)
			c->room = c->portion; /* same length always fits */
		*total_room += c->room;
		count++;
	}
	return count;
}

/* Each packet keeps its share of the replacement; growth goes to the last
 * packets first, as far as each one's room allows. */
static void share_out(struct cut *cuts, int count, size_t n)
{
	size_t assigned = 0, take;
	int k;

	for (k = 0; k < count; k++) {
		take = cuts[k].portion < n - assigned ? cuts[k].portion : n - assigned;
		cuts[k].room -= take;
		cuts[k].portion = take;
		assigned += take;
	}
	for (k = count; k-- > 0 && assigned < n;) {
		take = cuts[k].room < n - assigned ? cuts[k].room : n - assigned;
		cuts[k].portion += take;
		assigned += take;
	}
}

/* Plain data: a packet that can leave as several segments. */
static bool splittable(const struct held_packet *h)
{
	return !h->gso && !(h->pkt.tcp_flags & TCP_FLAGS_UNSPLITTABLE);
}

/* The growth past every cut's room (excess bytes) goes to the last
 * splittable packet, within `segments` segments of its path. */
static bool split_room(struct cut *cuts, int count, size_t excess, size_t segments)
{
	int k;

	for (k = count; k-- > 0;) {
		struct cut *c = &cuts[k];
		size_t cap = c->limit * segments, now = c->base + c->room;

		if (!splittable(c->h))
			continue;
		if (now >= cap || cap - now < excess)
			return false;
		c->room += excess;
		return true;
	}
	return false;
}

enum edit_result edit_apply(struct flow_dir_state *d, uint64_t start, uint64_t end,
			    const uint8_t *bytes, size_t n, size_t segments)
{
	struct cut cuts[MAX_CUTS];
	size_t total_room, assigned = 0;
	int count, k;

	if (start < d->released_end) {
		/* Part of the PDU already went out: it is committed. Only a
		 * same-length change of the rest is still possible. */
		size_t skip = (size_t)(d->released_end - start);

		if (n != end - start || end <= d->released_end)
			return EDIT_REFUSED_COMMITTED;
		start += skip;
		bytes += skip;
		n -= skip;
	}
	count = find_cuts(d, start, end, cuts, &total_room);
	if (count < 0)
		return EDIT_REFUSED_SIZE;
	if (!count)
		return EDIT_REFUSED_COMMITTED;
	if (n > total_room && !(segments > 1 && split_room(cuts, count, n - total_room, segments)))
		return EDIT_REFUSED_SIZE;
	share_out(cuts, count, n);
	for (k = 0; k < count; k++) {
		const struct held_packet *h = cuts[k].h;
		uint64_t lo = start > h->in_start ? start : h->in_start;
		uint64_t hi = end < h->in_end ? end : h->in_end;

		if (start == end)
			lo = hi = start;
		if (seqmap_add_edit(&d->map, lo, hi - lo, cuts[k].portion ? bytes + assigned : NULL,
				    cuts[k].portion) < 0)
			return EDIT_FAILED;
		assigned += cuts[k].portion;
	}
	return EDIT_APPLIED;
}
