/* Who was told what, when: notices go once per conversation and period,
 * blocked-notices at most once per pair and interval. */
#include <stdlib.h>
#include <string.h>

#include "policy/filters.h"

#define NOTICE_BOOK_MAX 8192

static struct notice_entry *find(struct notice_book *b, const char *key)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->v[i].key, key) == 0)
			return &b->v[i];
	return NULL;
}

static struct notice_entry *add(struct notice_book *b, const char *key)
{
	struct notice_entry *e;
	char *copy = strdup(key);
	size_t i, stalest = 0;

	if (!copy)
		return NULL;
	if (b->n == NOTICE_BOOK_MAX) {
		for (i = 1; i < b->n; i++)
			if (b->v[i].last < b->v[stalest].last)
				stalest = i;
		free(b->v[stalest].key);
		b->v[stalest].key = copy;
		return &b->v[stalest];
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct notice_entry *g = realloc(b->v, cap * sizeof(*g));

		if (!g) {
			free(copy);
			return NULL;
		}
		b->v = g;
		b->cap = cap;
	}
	e = &b->v[b->n++];
	e->key = copy;
	return e;
}

bool notice_book_recent(struct notice_book *b, const char *key, double now, double period)
{
	struct notice_entry *e = find(b, key);

	/* A clock that went back makes an entry stale, not eternal. */
	return e && now - e->last < period && now >= e->last;
}

bool notice_book_mark(struct notice_book *b, const char *key, double when)
{
	struct notice_entry *e = find(b, key);

	if (!e)
		e = add(b, key);
	if (!e)
		return false;
	e->last = when;
	return true;
}

bool notice_book_due(struct notice_book *b, const char *key, double now, double period)
{
	if (notice_book_recent(b, key, now, period))
		return false;
	/* Out of memory: better silent than repeating. */
	return notice_book_mark(b, key, now);
}

void notice_book_free(struct notice_book *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->v[i].key);
	free(b->v);
	memset(b, 0, sizeof(*b));
}

void notice_book_take(struct notice_book *to, struct notice_book *from)
{
	notice_book_free(to);
	*to = *from;
	memset(from, 0, sizeof(*from));
}
