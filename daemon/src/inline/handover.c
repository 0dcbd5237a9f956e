#include "inline/handover.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inline/bpf_publish.h"

#define RECORD_VERSION 2u
#define RECORD_VERSION_1 1u /* without the decided mark: still read */
#define DIR_HAS_DECIDED 1u
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

/* ---- encoding ------------------------------------------------------------ */

static bool put(struct bytebuf *b, const void *p, size_t n)
{
	return bytebuf_append(b, p, n);
}

static bool put_u8(struct bytebuf *b, uint8_t v)
{
	return put(b, &v, 1);
}

static bool put_u16(struct bytebuf *b, uint16_t v)
{
	return put(b, &v, 2);
}

static bool put_u32(struct bytebuf *b, uint32_t v)
{
	return put(b, &v, 4);
}

static bool put_str_len(struct bytebuf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return put_u16(b, n > UINT16_MAX ? 0 : (uint16_t)n);
}

static bool put_str(struct bytebuf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > UINT16_MAX || put(b, s, n);
}

static bool put_dir(struct bytebuf *b, const struct flow_dir_state *d)
{
	const struct seqmap *m = &d->map;
	uint64_t decided = m->edited_end > d->adopted_until ? m->edited_end : d->adopted_until;
	bool has_decided = d->started && decided > 0;
	size_t i;

	if (!put_u8(b, d->started) || !put_u8(b, has_decided ? DIR_HAS_DECIDED : 0) ||
	    !put_u16(b, d->peer_mss) || !put_u32(b, m->base_seq) || !put(b, &m->base_delta, 8) ||
	    !put_u32(b, has_decided ? seqmap_seq_of(m, decided) : 0) ||
	    !put_u32(b, d->started ? (uint32_t)m->n_edits : 0))
		return false;
	for (i = 0; d->started && i < m->n_edits; i++) {
		const struct seqmap_edit *e = &m->edits[i];

		if (e->in_len > UINT32_MAX || e->out_len > UINT32_MAX ||
		    !put_u32(b, seqmap_seq_of(m, e->in_start)) || !put_u32(b, (uint32_t)e->in_len) ||
		    !put_u32(b, (uint32_t)e->out_len) || !put_u32(b, e->own ? 1u : 0u) ||
		    !put(b, e->out, e->out_len))
			return false;
	}
	return true;
}

bool handover_encode(struct bytebuf *out, const struct flow_state *fs, enum imw_proto proto,
		     double stamp)
{
	const struct app_flow *app = fs->flow->app;
	const struct proto_session *s =
		app && app->state == APP_DECODING ? &app->session : NULL;
	const char *local = s ? s->local_id : NULL, *address = s ? s->local_address : NULL,
		   *service = s ? s->service : NULL;
	struct imw_flow_key key;
	unsigned client_side;

	bpf_publish_key(fs->flow, &key, &client_side);
	return put_u32(out, RECORD_VERSION) && put(out, &key, sizeof(key)) &&
	       put_u8(out, (uint8_t)client_side) && put_u8(out, (uint8_t)proto) &&
	       put_u16(out, 0) && put(out, &stamp, sizeof(stamp)) && put_str_len(out, local) &&
	       put_str_len(out, address) && put_str_len(out, service) && put_u16(out, 0) &&
	       put_str(out, local) && put_str(out, address) && put_str(out, service) &&
	       put_dir(out, &fs->dir[IM_DIR_OUT]) && put_dir(out, &fs->dir[IM_DIR_IN]);
}

/* ---- parsing (a bounded cursor: an overrun is a malformed record) ------- */

struct cursor {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static const uint8_t *take(struct cursor *c, size_t n)
{
	const uint8_t *at = c->p;

	if (c->bad || n > c->left) {
		c->bad = true;
		return NULL;
	}
	c->p += n;
	c->left -= n;
	return at;
}

static void get(struct cursor *c, void *dst, size_t n)
{
	const uint8_t *at = take(c, n);

	if (at)
		memcpy(dst, at, n);
	else
		memset(dst, 0, n);
}

static uint32_t get_u32(struct cursor *c)
{
	uint32_t v;

	get(c, &v, 4);
	return v;
}

static uint16_t get_u16(struct cursor *c)
{
	uint16_t v;

	get(c, &v, 2);
	return v;
}

static uint8_t get_u8(struct cursor *c)
{
	uint8_t v;

	get(c, &v, 1);
	return v;
}

/* A string of n bytes, copied; NULL for none (or on failure: c->bad). */
static char *get_str(struct cursor *c, uint16_t n)
{
	const uint8_t *at = take(c, n);
	char *s;

	if (!at || !n)
		return NULL;
	s = malloc((size_t)n + 1);
	if (!s) {
		c->bad = true;
		return NULL;
	}
	memcpy(s, at, n);
	s[n] = '\0';
	return s;
}

static void get_dir(struct cursor *c, struct handover_dir *d, uint32_t version)
{
	uint32_t i, n, decided;
	uint8_t flags;

	d->started = get_u8(c) != 0;
	flags = get_u8(c);
	d->peer_mss = get_u16(c);
	d->base_seq = get_u32(c);
	get(c, &d->base_delta, 8);
	if (version != RECORD_VERSION_1) {
		decided = get_u32(c);
		d->has_decided = (flags & DIR_HAS_DECIDED) != 0;
		d->decided_seq = d->has_decided ? decided : 0;
	}
	n = get_u32(c);
	/* every edit takes 16 bytes at least: a count beyond that is a lie */
	if (c->bad || n > c->left / 16) {
		c->bad = true;
		return;
	}
	d->edits = n ? calloc(n, sizeof(*d->edits)) : NULL;
	if (n && !d->edits) {
		c->bad = true;
		return;
	}
	d->n_edits = n;
	for (i = 0; i < n && !c->bad; i++) {
		struct handover_edit *e = &d->edits[i];

		e->in_seq = get_u32(c);
		e->in_len = get_u32(c);
		e->out_len = get_u32(c);
		e->own = get_u32(c) & 1u;
		e->bytes = take(c, e->out_len);
	}
}

int handover_parse(const uint8_t *p, size_t len, struct handover_record *r)
{
	struct cursor c = { p, len, false };
	uint16_t n_local, n_address, n_service;
	uint32_t version;

	memset(r, 0, sizeof(*r));
	version = get_u32(&c);
	if (version != RECORD_VERSION && version != RECORD_VERSION_1)
		return -1;
	get(&c, &r->key, sizeof(r->key));
	r->client_side = get_u8(&c) & 1u;
	r->proto = (enum imw_proto)get_u8(&c);
	get_u16(&c);
	get(&c, &r->stamp, sizeof(r->stamp));
	n_local = get_u16(&c);
	n_address = get_u16(&c);
	n_service = get_u16(&c);
	get_u16(&c);
	r->local = get_str(&c, n_local);
	r->address = get_str(&c, n_address);
	r->service = get_str(&c, n_service);
	get_dir(&c, &r->dir[IM_DIR_OUT], version);
	get_dir(&c, &r->dir[IM_DIR_IN], version);
	if (c.bad || c.left || r->proto >= IMW_PROTO_MAX) {
		handover_record_free(r);
		return -1;
	}
	return 0;
}

void handover_record_free(struct handover_record *r)
{
	free(r->local);
	free(r->address);
	free(r->service);
	free(r->dir[0].edits);
	free(r->dir[1].edits);
	memset(r, 0, sizeof(*r));
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
