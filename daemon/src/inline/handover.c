#include "inline/handover.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inline/bpf_publish.h"

#define MIN_BUCKETS 256

/* A record nobody took yet. */
struct inherited {
	struct inherited *next;
	struct imw_flow_key key;
	state_ref ref;
	uint64_t serial;
	double stamp;
};

static void count(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* ---- the inheritance ----------------------------------------------------- */

static size_t bucket_of(const struct handover *h, const struct imw_flow_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t v = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		v = (v ^ p[i]) * 0x100000001b3ull;
	return (size_t)(v ^ (v >> 32)) & (h->n_buckets - 1);
}

static struct inherited **find(struct handover *h, const struct imw_flow_key *k)
{
	struct inherited **pp;

	for (pp = &h->buckets[bucket_of(h, k)]; *pp; pp = &(*pp)->next)
		if (memcmp(&(*pp)->key, k, sizeof(*k)) == 0)
			return pp;
	return NULL;
}

static void resize(struct handover *h, size_t n)
{
	struct inherited **nb = calloc(n, sizeof(*nb)), **old = h->buckets, *e, *next;
	size_t i, old_n = h->n_buckets;

	if (!nb)
		return; /* longer chains */
	h->buckets = nb;
	h->n_buckets = n;
	for (i = 0; i < old_n; i++) {
		for (e = old[i]; e; e = next) {
			size_t b = bucket_of(h, &e->key);

			next = e->next;
			e->next = nb[b];
			nb[b] = e;
		}
	}
	free(old);
}

/* Under the lock. Another record of the same flow: the newer stays, the
 * older's record is returned for freeing (0: none). */
static state_ref insert(struct handover *h, struct inherited *n)
{
	struct inherited **pp = find(h, &n->key), *e;
	state_ref loser;

	if (pp) {
		e = *pp;
		if (e->serial > n->serial) {
			loser = n->ref;
			free(n);
			return loser;
		}
		loser = e->ref;
		n->next = e->next;
		*pp = n;
		free(e);
		return loser;
	}
	if (h->n_inherited >= h->n_buckets * 2)
		resize(h, h->n_buckets * 2);
	n->next = h->buckets[bucket_of(h, &n->key)];
	h->buckets[bucket_of(h, &n->key)] = n;
	h->n_inherited++;
	return 0;
}

struct load {
	struct handover *h;
	double now;
};

static void load_one(void *arg, state_ref ref, uint64_t serial, const uint8_t *p, size_t len)
{
	struct load *l = arg;
	struct handover *h = l->h;
	struct handover_record r;
	struct inherited *n;

	if (handover_parse(p, len, &r) < 0) {
		h->stats.malformed++;
		state_file_free(&h->file, ref);
		return;
	}
	if (l->now - r.stamp > h->max_age) {
		h->stats.expired++;
		state_file_free(&h->file, ref);
		handover_record_free(&r);
		return;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		handover_record_free(&r);
		return; /* stays in the file, unreachable until it is overwritten */
	}
	n->key = r.key;
	n->ref = ref;
	n->serial = serial;
	n->stamp = r.stamp;
	handover_record_free(&r);
	h->stats.inherited++;
	state_file_free(&h->file, insert(h, n));
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int handover_open(struct handover *h, const char *path, size_t size, double max_age, char *err,
		  size_t err_size)
{
	struct load l = { h, wall_now() };

	memset(h, 0, sizeof(*h));
	h->max_age = max_age;
	h->n_buckets = MIN_BUCKETS;
	h->buckets = calloc(h->n_buckets, sizeof(*h->buckets));
	if (!h->buckets) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	if (state_file_open(&h->file, path, size, err, err_size) < 0) {
		free(h->buckets);
		h->buckets = NULL;
		return -1;
	}
	pthread_mutex_init(&h->lock, NULL);
	state_file_each(&h->file, load_one, &l);
	h->open = true;
	return 0;
}

void handover_close(struct handover *h)
{
	struct inherited *e, *next;
	size_t i;

	if (!h->open)
		return;
	for (i = 0; i < h->n_buckets; i++)
		for (e = h->buckets[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	free(h->buckets);
	state_file_close(&h->file);
	pthread_mutex_destroy(&h->lock);
	h->open = false;
}

/* ---- a flow's record ----------------------------------------------------- */

bool handover_save(struct handover *h, struct flow_state *fs, enum imw_proto proto,
		   struct bytebuf *buf, double now)
{
	state_ref ref, old = fs->hov.ref;

	if (!h || !h->open)
		return false;
	bytebuf_clear(buf);
	if (!handover_encode(buf, fs, proto, now))
		return false;
	ref = state_file_write(&h->file, buf->data, buf->len);
	if (!ref) {
		count(&h->stats.full, 1);
		return false;
	}
	fs->hov.ref = ref;
	state_file_free(&h->file, old);
	count(&h->stats.written, 1);
	return true;
}

void handover_forget(struct handover *h, struct flow_state *fs)
{
	if (h && h->open)
		state_file_free(&h->file, fs->hov.ref);
	fs->hov.ref = 0;
}

void handover_give_back(struct handover *h, struct flow_state *fs, double now)
{
	struct inherited *n;
	unsigned client_side;
	state_ref loser;

	if (!h || !h->open || !fs->hov.ref)
		return;
	n = calloc(1, sizeof(*n));
	if (!n) {
		handover_forget(h, fs);
		return;
	}
	bpf_publish_key(fs->flow, &n->key, &client_side);
	n->ref = fs->hov.ref;
	n->serial = UINT64_MAX; /* newer than anything a predecessor left */
	n->stamp = now;
	fs->hov.ref = 0;
	pthread_mutex_lock(&h->lock);
	loser = insert(h, n);
	pthread_mutex_unlock(&h->lock);
	state_file_free(&h->file, loser);
}

/* ---- the inheritance, seen from the workers -------------------------------- */

static struct inherited *unlink_key(struct handover *h, const struct imw_flow_key *key)
{
	struct inherited **pp, *e = NULL;

	if (!h || !h->open || !__atomic_load_n(&h->n_inherited, __ATOMIC_RELAXED))
		return NULL;
	pthread_mutex_lock(&h->lock);
	pp = find(h, key);
	if (pp) {
		e = *pp;
		*pp = e->next;
		h->n_inherited--;
	}
	pthread_mutex_unlock(&h->lock);
	return e;
}

int handover_take(struct handover *h, const struct imw_flow_key *key, struct handover_record *r,
		  state_ref *ref)
{
	struct inherited *e = unlink_key(h, key);
	const uint8_t *p;
	size_t len;

	*ref = 0;
	if (!e)
		return 0;
	*ref = e->ref;
	free(e);
	p = state_file_read(&h->file, *ref, &len);
	if (!p || handover_parse(p, len, r) < 0) {
		count(&h->stats.malformed, 1);
		state_file_free(&h->file, *ref);
		*ref = 0;
		return -1;
	}
	count(&h->stats.taken, 1);
	return 1;
}

void handover_drop(struct handover *h, const struct imw_flow_key *key)
{
	struct inherited *e = unlink_key(h, key);

	if (!e)
		return;
	state_file_free(&h->file, e->ref);
	free(e);
	count(&h->stats.stale, 1);
}

size_t handover_sweep(struct handover *h, double now)
{
	struct inherited **pp, *e, *gone = NULL;
	size_t i, n = 0;

	if (!h || !h->open || !__atomic_load_n(&h->n_inherited, __ATOMIC_RELAXED))
		return 0;
	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->n_buckets; i++) {
		for (pp = &h->buckets[i]; (e = *pp);) {
			if (now - e->stamp <= h->max_age) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			e->next = gone;
			gone = e;
			h->n_inherited--;
			n++;
		}
	}
	pthread_mutex_unlock(&h->lock);
	while ((e = gone)) {
		gone = e->next;
		state_file_free(&h->file, e->ref);
		free(e);
	}
	count(&h->stats.expired, n);
	return n;
}

void handover_get_stats(struct handover *h, struct handover_stats *out,
			struct state_file_stats *file)
{
	memset(out, 0, sizeof(*out));
	memset(file, 0, sizeof(*file));
	if (!h || !h->open)
		return;
	out->written = __atomic_load_n(&h->stats.written, __ATOMIC_RELAXED);
	out->full = __atomic_load_n(&h->stats.full, __ATOMIC_RELAXED);
	out->inherited = __atomic_load_n(&h->stats.inherited, __ATOMIC_RELAXED);
	out->taken = __atomic_load_n(&h->stats.taken, __ATOMIC_RELAXED);
	out->stale = __atomic_load_n(&h->stats.stale, __ATOMIC_RELAXED);
	out->expired = __atomic_load_n(&h->stats.expired, __ATOMIC_RELAXED);
	out->malformed = __atomic_load_n(&h->stats.malformed, __ATOMIC_RELAXED);
	state_file_stats(&h->file, file);
}
