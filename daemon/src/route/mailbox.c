/* A worker's mailbox: deliveries other workers (or its own) post for its
 * sessions, taken whole after every packet and tick. Posting is two
 * steps: a place is reserved when the message is decided (the sender's
 * copy is only deleted from its stream if the box had room), and filled
 * after the sender's packet was fed, which cannot fail: the array always
 * has room for every reserved place. */
#include "route/router_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAX_MAILBOX 4096
#define FIRST_CAP 8

void mailbox_init(struct mailbox *b)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	atomic_init(&b->waiting, 0);
	/* Without an eventfd the worker still drains on every tick. */
	b->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

void mailbox_destroy(struct mailbox *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		event_free(&b->v[i].ev);
	free(b->v);
	if (b->efd >= 0)
		close(b->efd);
	pthread_mutex_destroy(&b->lock);
}

/* Room for `want` entries; false when out of memory. */
static bool ensure(struct mailbox *b, size_t want)
{
	size_t cap = b->cap ? b->cap : FIRST_CAP;
	struct route_delivery *g;

	if (want <= b->cap)
		return true;
	while (cap < want)
		cap *= 2;
	g = realloc(b->v, cap * sizeof(*g));
	if (!g)
		return false;
	b->v = g;
	b->cap = cap;
	return true;
}

int mailbox_reserve(struct mailbox *b)
{
	int rc = -1;

	pthread_mutex_lock(&b->lock);
	if (b->n + b->reserved < MAX_MAILBOX && ensure(b, b->n + b->reserved + 1)) {
		b->reserved++;
		rc = 0;
	}
	pthread_mutex_unlock(&b->lock);
	return rc;
}

void mailbox_put_reserved(struct mailbox *b, unsigned worker, uint64_t flow_id,
			  struct im_event *ev)
{
	struct route_delivery *d;
	uint64_t one = 1;

	pthread_mutex_lock(&b->lock);
	b->reserved--;
	d = &b->v[b->n++];
	d->worker = worker;
	d->flow_id = flow_id;
	d->ev = *ev;
	event_init(ev);
	atomic_store(&b->waiting, b->n);
	if (b->efd >= 0) {
		ssize_t w = write(b->efd, &one, sizeof(one));

		(void)w; /* a failed wake is no loss: the worker drains on its tick too */
	}
	pthread_mutex_unlock(&b->lock);
}

void mailbox_unreserve(struct mailbox *b)
{
	pthread_mutex_lock(&b->lock);
	b->reserved--;
	pthread_mutex_unlock(&b->lock);
}

/* One read resets an eventfd; EAGAIN means it was clear already. */
static void clear_wake(int efd)
{
	uint64_t count;
	ssize_t got;

	if (efd < 0)
		return;
	got = read(efd, &count, sizeof(count));
	(void)got;
}

struct route_delivery *mailbox_take(struct mailbox *b, size_t *n)
{
	struct route_delivery *v = NULL, *fresh = NULL;
	size_t fresh_cap = 0;

	*n = 0;
	/* Called after every packet: an empty box costs no lock. */
	if (atomic_load(&b->waiting) == 0)
		return NULL;
	pthread_mutex_lock(&b->lock);
	/* Places reserved but not filled yet keep their room. */
	if (b->n && b->reserved) {
		fresh_cap = b->reserved > FIRST_CAP ? b->reserved : FIRST_CAP;
		fresh = malloc(fresh_cap * sizeof(*fresh));
	}
	if (b->n && (!b->reserved || fresh)) {
		v = b->v;
		*n = b->n;
		b->v = fresh;
		b->n = 0;
		b->cap = fresh_cap;
		atomic_store(&b->waiting, 0);
		/* Under the lock a post cannot slip between emptying and clearing. */
		clear_wake(b->efd);
	}
	pthread_mutex_unlock(&b->lock);
	return v;
}

void mailbox_wake_clear(struct mailbox *b)
{
	clear_wake(b->efd);
}
