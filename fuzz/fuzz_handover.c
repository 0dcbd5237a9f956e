/* A record of the state file (inline/handover_record.h) as a successor
 * daemon reads it: the file outlives crashes and may hold a record torn or
 * written by another version, so any bytes must parse or be refused,
 * never read past the record.
 *
 * The checks: a record that parses has every edit's replacement bytes
 * inside the input, and their lengths add up to no more than the input;
 * identity strings are NUL-terminated copies; a record that parses parses
 * again to the same thing from a copy; every shorter prefix of it is
 * refused (its length is exactly what it holds). */
#include <stdlib.h>
#include <string.h>

#include "inline/handover_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(const struct handover_record *r, const uint8_t *data, size_t size)
{
	size_t d, i, total = 0;

	for (d = 0; d < 2; d++)
		for (i = 0; i < r->dir[d].n_edits; i++) {
			const struct handover_edit *e = &r->dir[d].edits[i];

			if (e->out_len && (e->bytes < data || e->bytes + e->out_len > data + size))
				abort();
			total += e->out_len;
		}
	if (total > size)
		abort();
	if ((r->local && strlen(r->local) > size) || (r->address && strlen(r->address) > size) ||
	    (r->service && strlen(r->service) > size))
		abort();
}

static bool same(const struct handover_record *a, const struct handover_record *b)
{
	size_t d, i;

	if (memcmp(&a->key, &b->key, sizeof(a->key)) != 0 || a->proto != b->proto ||
	    a->client_side != b->client_side)
		return false;
	for (d = 0; d < 2; d++) {
		if (a->dir[d].n_edits != b->dir[d].n_edits ||
		    a->dir[d].base_seq != b->dir[d].base_seq ||
		    a->dir[d].base_delta != b->dir[d].base_delta)
			return false;
		for (i = 0; i < a->dir[d].n_edits; i++) {
			const struct handover_edit *x = &a->dir[d].edits[i], *y = &b->dir[d].edits[i];

			if (x->in_seq != y->in_seq || x->in_len != y->in_len ||
			    x->out_len != y->out_len || x->own != y->own ||
			    (x->out_len && memcmp(x->bytes, y->bytes, x->out_len) != 0))
				return false;
		}
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct handover_record r, again;
	uint8_t *copy;
	size_t n;

	if (handover_parse(data, size, &r) < 0)
		return 0;
	check_inside(&r, data, size);
	copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	if (handover_parse(copy, size, &again) < 0 || !same(&r, &again))
		abort();
	handover_record_free(&again);
	for (n = 0; n < size; n += 1 + n / 8)
		if (handover_parse(copy, n, &again) == 0)
			abort();
	free(copy);
	handover_record_free(&r);
	return 0;
}
