#include "expect/expect.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct expect_entry {
	uint64_t id; /* 0: a free slot; else the order entries came in */
	enum imw_proto proto;
	struct im_xfer x;
	/* The local client's address on the wire when it is the listener:
	 * what a client behind NAT announces is not what the bridge sees. */
	bool has_alt;
	uint8_t alt[16];
	struct im_event offer;
	double expires;
};

struct expect_table {
	pthread_mutex_t lock;
	struct expect_entry *slots;
	size_t cap;
	double timeout;
	uint64_t next_id;
	expect_watch_fn watch;
	void *watch_arg;
	struct expect_stats stats;
};

struct expect_table *expect_table_new(size_t max_entries, double timeout)
{
	struct expect_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cap = max_entries ? max_entries : EXPECT_DEFAULT_MAX;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	if (!t->slots || pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t->slots);
		free(t);
		return NULL;
	}
	t->timeout = timeout > 0 ? timeout : EXPECT_DEFAULT_TIMEOUT;
	t->next_id = 1;
	return t;
}

void expect_table_watch(struct expect_table *t, expect_watch_fn fn, void *arg)
{
	pthread_mutex_lock(&t->lock);
	t->watch = fn;
	t->watch_arg = arg;
	pthread_mutex_unlock(&t->lock);
}

static size_t addr_len(uint8_t v)
{
	return v == 6 ? 16 : 4;
}

static bool is_tuple_path(enum im_xfer_path p)
{
	return p == IM_XFER_TCP || p == IM_XFER_FRAMED || p == IM_XFER_SOCKS5 || p == IM_XFER_HTTP;
}

/* An entry a connection can match: a tuple path with an address. */
static bool has_tuple(const struct expect_entry *e)
{
	return is_tuple_path(e->x.path) && e->x.ip_version && e->x.port;
}

static void tell(struct expect_table *t, const struct expect_entry *e, bool added)
{
	struct expect_tuple tu;

	if (!t->watch || !has_tuple(e))
		return;
	memset(&tu, 0, sizeof(tu));
	tu.id = e->id;
	tu.proto = e->proto;
	tu.ip_version = e->x.ip_version;
	tu.listen_port = e->x.port;
	tu.expires = e->expires;
	tu.ttl = t->timeout;
	memcpy(tu.listen_addr, e->x.addr, addr_len(e->x.ip_version));
	t->watch(t->watch_arg, &tu, added);
	if (e->has_alt && memcmp(e->alt, e->x.addr, addr_len(e->x.ip_version)) != 0) {
		memcpy(tu.listen_addr, e->alt, addr_len(e->x.ip_version));
		t->watch(t->watch_arg, &tu, added);
	}
}

static void drop(struct expect_table *t, struct expect_entry *e)
{
	tell(t, e, false);
	event_free(&e->offer);
	memset(e, 0, sizeof(*e));
	t->stats.now--;
}

/* Hand e over to the caller and free its slot. */
static void take(struct expect_table *t, struct expect_entry *e, struct expect_match *m)
{
	m->id = e->id;
	m->proto = e->proto;
	m->xfer = e->x;
	m->offer = e->offer; /* ownership moves */
	event_init(&e->offer);
	t->stats.matched++;
	drop(t, e);
}

static bool copy_out(struct expect_table *t, const struct expect_entry *e, struct expect_match *m)
{
	m->id = e->id;
	m->proto = e->proto;
	m->xfer = e->x;
	if (!event_copy(&m->offer, &e->offer)) {
		t->stats.alloc_failures++;
		return false;
	}
	t->stats.matched++;
	return true;
}

void expect_table_free(struct expect_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->cap; i++)
		if (t->slots[i].id)
			event_free(&t->slots[i].offer);
	pthread_mutex_destroy(&t->lock);
	free(t->slots);
	free(t);
}

static void expire_locked(struct expect_table *t, double now)
{
	size_t i;

	for (i = 0; i < t->cap; i++) {
		if (t->slots[i].id && t->slots[i].expires <= now) {
			t->stats.expired++;
			drop(t, &t->slots[i]);
		}
	}
}

void expect_clear(struct expect_table *t)
{
	size_t i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->cap; i++)
		if (t->slots[i].id)
			drop(t, &t->slots[i]);
	pthread_mutex_unlock(&t->lock);
}

void expect_expire(struct expect_table *t, double now)
{
	pthread_mutex_lock(&t->lock);
	if (t->stats.now)
		expire_locked(t, now);
	pthread_mutex_unlock(&t->lock);
}

static bool same_token(const struct im_xfer *a, const uint8_t *tok, size_t len)
{
	return a->token_len && a->token_len == len && memcmp(a->token, tok, len) == 0;
}

/* The entry ev announces again, if there is one. */
static struct expect_entry *find_same(struct expect_table *t, const struct im_event *ev)
{
	const struct im_xfer *x = &ev->xfer;
	size_t i;

	for (i = 0; i < t->cap; i++) {
		struct expect_entry *e = &t->slots[i];

		if (!e->id || e->proto != ev->proto || e->x.path != x->path)
			continue;
		if (x->token_len && same_token(&e->x, x->token, x->token_len))
			return e;
		if (!x->token_len && x->ip_version && e->x.ip_version == x->ip_version &&
		    e->x.port == x->port && memcmp(e->x.addr, x->addr, addr_len(x->ip_version)) == 0)
			return e;
	}
	return NULL;
}

/* A free slot; past the bound, the oldest entry's. */
static struct expect_entry *free_slot(struct expect_table *t)
{
	struct expect_entry *oldest = NULL;
	size_t i;

	for (i = 0; i < t->cap; i++) {
		if (!t->slots[i].id)
			return &t->slots[i];
		if (!oldest || t->slots[i].id < oldest->id)
			oldest = &t->slots[i];
	}
	t->stats.pushed_out++;
	drop(t, oldest);
	return oldest;
}

/* The offer an event completes (XMPP: the SI offer its streamhost is for). */
static const struct expect_entry *offer_of(const struct expect_table *t, const struct im_event *ev)
{
	const struct im_xfer *x = &ev->xfer;
	size_t i;

	if (!x->offer_id_len)
		return NULL;
	for (i = 0; i < t->cap; i++) {
		const struct expect_entry *e = &t->slots[i];

		if (e->id && e->proto == ev->proto && e->offer.kind == IM_KIND_FILE &&
		    same_token(&e->x, x->offer_id, x->offer_id_len))
			return e;
	}
	return NULL;
}

static void set_alt(struct expect_entry *e, const struct im_event *ev)
{
	uint8_t v, addr[16];
	uint16_t port;

	/* The local client sent the offer and listens itself. */
	if (ev->dir != IM_DIR_OUT || !e->x.from_listener || !ev->client ||
	    !expect_parse_endpoint(ev->client, &v, addr, &port) || v != e->x.ip_version)
		return;
	e->has_alt = true;
	memcpy(e->alt, addr, sizeof(e->alt));
}

int expect_offer(struct expect_table *t, const struct im_event *ev, double now)
{
	const struct expect_entry *base;
	struct expect_entry *e;
	struct im_event copy;

	if (ev->xfer.path == IM_XFER_NONE)
		return 0;
	/* Without an address, only a token lets a later event (the answer to
	 * a reverse DCC, a GG DCC7 info) find this offer. */
	if (is_tuple_path(ev->xfer.path) && (!ev->xfer.ip_version || !ev->xfer.port) &&
	    !ev->xfer.token_len)
		return 0;
	pthread_mutex_lock(&t->lock);
	t->stats.offered++;
	base = offer_of(t, ev);
	if (!event_copy(&copy, base ? &base->offer : ev)) {
		t->stats.alloc_failures++;
		pthread_mutex_unlock(&t->lock);
		return -1;
	}
	/* The result of a completing event reads as its offer, flow and all;
	 * the path is its own. */
	copy.xfer = ev->xfer;
	e = find_same(t, ev);
	if (e)
		drop(t, e);
	else
		e = free_slot(t);
	e->proto = ev->proto;
	e->x = ev->xfer;
	e->offer = copy;
	set_alt(e, ev);
	e->id = t->next_id++;
	e->expires = now + t->timeout;
	t->stats.now++;
	tell(t, e, true);
	pthread_mutex_unlock(&t->lock);
	return 1;
}

static bool listens_at(const struct expect_entry *e, uint8_t v, const uint8_t *addr, uint16_t port)
{
	size_t n = addr_len(v);

	if (e->x.ip_version != v || e->x.port != port)
		return false;
	return memcmp(e->x.addr, addr, n) == 0 || (e->has_alt && memcmp(e->alt, addr, n) == 0);
}

enum expect_hit expect_connection(struct expect_table *t, uint8_t ip_version, const uint8_t *a,
				  uint16_t a_port, const uint8_t *b, uint16_t b_port, double now,
				  struct expect_match *m)
{
	enum expect_hit hit = EXPECT_NONE;
	size_t i;
	int side;

	pthread_mutex_lock(&t->lock);
	if (!t->stats.now)
		goto out;
	expire_locked(t, now);
	for (side = 1; side >= 0 && hit == EXPECT_NONE; side--) {
		const uint8_t *addr = side ? b : a;
		uint16_t port = side ? b_port : a_port;

		for (i = 0; i < t->cap; i++) {
			struct expect_entry *e = &t->slots[i];

			if (!e->id || !has_tuple(e) || !listens_at(e, ip_version, addr, port))
				continue;
			if (e->x.path == IM_XFER_SOCKS5 || e->x.path == IM_XFER_HTTP) {
				/* Its handshake names which: a TCP one for the same place wins */
				hit = e->x.path == IM_XFER_SOCKS5 ? EXPECT_SOCKS5 : EXPECT_HTTP;
				continue;
			}
			take(t, e, m);
			m->listener = side;
			hit = EXPECT_TAKEN;
			break;
		}
	}
out:
	pthread_mutex_unlock(&t->lock);
	return hit;
}

bool expect_token(struct expect_table *t, enum imw_proto proto, enum im_xfer_path path,
		  const uint8_t *token, size_t token_len, bool take_it, double now,
		  struct expect_match *m)
{
	bool found = false;
	size_t i;

	if (!token_len)
		return false;
	pthread_mutex_lock(&t->lock);
	if (!t->stats.now)
		goto out;
	expire_locked(t, now);
	for (i = 0; i < t->cap; i++) {
		struct expect_entry *e = &t->slots[i];

		if (!e->id || e->x.path != path || (proto != IMW_PROTO_NONE && e->proto != proto) ||
		    !same_token(&e->x, token, token_len))
			continue;
		if (take_it) {
			take(t, e, m);
			found = true;
		} else {
			found = copy_out(t, e, m);
		}
		break;
	}
out:
	pthread_mutex_unlock(&t->lock);
	return found;
}

void expect_stats_get(struct expect_table *t, struct expect_stats *out)
{
	pthread_mutex_lock(&t->lock);
	*out = t->stats;
	pthread_mutex_unlock(&t->lock);
}

bool expect_parse_endpoint(const char *s, uint8_t *ip_version, uint8_t addr[16], uint16_t *port)
{
	char host[64];
	const char *colon, *start = s, *end;
	unsigned long p;
	char *stop;

	memset(addr, 0, 16);
	if (s[0] == '[') {
		start = s + 1;
		end = strchr(start, ']');
		if (!end || end[1] != ':')
			return false;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return false;
		end = colon;
	}
	if ((size_t)(end - start) >= sizeof(host))
		return false;
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	p = strtoul(colon + 1, &stop, 10);
	if (*stop || p > 65535 || stop == colon + 1)
		return false;
	*port = (uint16_t)p;
	if (inet_pton(AF_INET, host, addr) == 1) {
		*ip_version = 4;
		return true;
	}
	if (inet_pton(AF_INET6, host, addr) == 1) {
		*ip_version = 6;
		return true;
	}
	return false;
}
