#include "control/tap.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define FLOW_SLOTS (TAP_FLOWS_MAX * 2) /* open addressing, at most half full */

struct tap_sub {
	struct tap_sub *next;
	enum imw_proto proto;
	int kind;
	char *user;
	struct bytebuf lines;
	uint64_t lost;
	int fd; /* eventfd */
};

struct flow_slot {
	uint64_t flow_id;
	uint32_t client_hash;
	bool used;
	uint64_t events;
	uint64_t seen; /* the tap's event number when last counted: age */
};

struct event_tap {
	atomic_int refs;
	pthread_mutex_t lock;
	uint64_t counts[IMW_PROTO_MAX][IM_KIND_COUNT][2];
	uint64_t total;
	struct flow_slot *flows; /* FLOW_SLOTS */
	size_t n_flows;
	struct tap_sub *subs;
	struct bytebuf line; /* the event being copied, formatted once */
};

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; s && *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static size_t slot_of(uint64_t flow_id, uint32_t ch)
{
	uint64_t h = (flow_id ^ ((uint64_t)ch << 32 | ch)) * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 40) % FLOW_SLOTS;
}

static struct flow_slot *flow_find(struct event_tap *t, uint64_t flow_id, uint32_t ch, bool add)
{
	size_t i = slot_of(flow_id, ch), n;

	for (n = 0; n < FLOW_SLOTS; n++, i = (i + 1) % FLOW_SLOTS) {
		struct flow_slot *s = &t->flows[i];

		if (!s->used) {
			if (!add)
				return NULL;
			s->used = true;
			s->flow_id = flow_id;
			s->client_hash = ch;
			s->events = 0;
			t->n_flows++;
			return s;
		}
		if (s->flow_id == flow_id && s->client_hash == ch)
			return s;
	}
	return NULL;
}

/* Full: keep the flows that had an event among the last TAP_FLOWS_MAX/2
 * events (at most half the table), rehashed. A session quiet while that
 * many events of others went by starts counting afresh: the count is for
 * `imwire sessions`, not an audit. */
static void flows_age(struct event_tap *t)
{
	struct flow_slot *old = t->flows, *s;
	uint64_t cut = t->total > TAP_FLOWS_MAX / 2 ? t->total - TAP_FLOWS_MAX / 2 : 0;
	size_t i;

	t->flows = calloc(FLOW_SLOTS, sizeof(*t->flows));
	if (!t->flows) {
		t->flows = old; /* keep counting what is there */
		memset(t->flows, 0, FLOW_SLOTS * sizeof(*t->flows));
		t->n_flows = 0;
		return;
	}
	t->n_flows = 0;
	for (i = 0; i < FLOW_SLOTS; i++) {
		if (!old[i].used || old[i].seen < cut)
			continue;
		s = flow_find(t, old[i].flow_id, old[i].client_hash, true);
		if (s) {
			s->events = old[i].events;
			s->seen = old[i].seen;
		}
	}
	free(old);
}

static bool passes(const struct tap_sub *s, const struct im_event *ev)
{
	if (s->proto != IMW_PROTO_NONE && ev->proto != s->proto)
		return false;
	if (s->kind >= 0 && (int)ev->kind != s->kind)
		return false;
	if (s->user && !(ev->local && strcasecmp(ev->local, s->user) == 0) &&
	    !(ev->remote && strcasecmp(ev->remote, s->user) == 0))
		return false;
	return true;
}

static void wake(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* the counter is at its maximum: the reader is woken anyway */
	}
}

static void copy_to_subscribers(struct event_tap *t, const struct im_event *ev)
{
	struct tap_sub *s;
	bool formatted = false;

	for (s = t->subs; s; s = s->next) {
		if (!passes(s, ev))
			continue;
		if (!formatted) {
			bytebuf_clear(&t->line);
			if (!sink_format_json(&t->line, ev) || !bytebuf_append_byte(&t->line, '\n')) {
				s->lost++; /* out of memory: this one is lost to everyone */
				continue;
			}
			formatted = true;
		}
		if (s->lines.len + t->line.len > TAP_SUB_MAX ||
		    !bytebuf_append(&s->lines, t->line.data, t->line.len)) {
			s->lost++;
			continue;
		}
		wake(s->fd);
	}
}

static int tap_write(struct sink *sk, const struct im_event *ev, uint64_t eventid)
{
	struct event_tap *t = sk->ctx;
	struct flow_slot *f;
	unsigned p = ev->proto < IMW_PROTO_MAX ? ev->proto : IMW_PROTO_NONE;
	unsigned k = ev->kind < IM_KIND_COUNT ? ev->kind : IM_KIND_ERROR;

	(void)eventid;
	pthread_mutex_lock(&t->lock);
	t->counts[p][k][ev->dir == IM_DIR_IN]++;
	t->total++;
	if (t->n_flows >= TAP_FLOWS_MAX)
		flows_age(t);
	f = flow_find(t, ev->flow_id, hash_str(ev->client), true);
	if (f) {
		f->events++;
		f->seen = t->total;
	}
	if (t->subs)
		copy_to_subscribers(t, ev);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int tap_flush(struct sink *sk)
{
	(void)sk;
	return 0;
}

static void tap_close(struct sink *sk)
{
	event_tap_unref(sk->ctx);
	sk->ctx = NULL;
}

static const struct sink_ops tap_ops = {
	.name = "tap",
	.write = tap_write,
	.flush = tap_flush,
	.close = tap_close,
};

struct event_tap *event_tap_new(void)
{
	struct event_tap *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->flows = calloc(FLOW_SLOTS, sizeof(*t->flows));
	if (!t->flows) {
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	bytebuf_init(&t->line);
	atomic_init(&t->refs, 1);
	return t;
}

void event_tap_sink(struct event_tap *t, struct sink *s)
{
	event_tap_ref(t);
	memset(s, 0, sizeof(*s));
	s->ops = &tap_ops;
	s->ctx = t;
}

void event_tap_ref(struct event_tap *t)
{
	atomic_fetch_add(&t->refs, 1);
}

void event_tap_unref(struct event_tap *t)
{
	struct tap_sub *s, *next;

	if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	for (s = t->subs; s; s = next) {
		next = s->next;
		close(s->fd);
		free(s->user);
		bytebuf_free(&s->lines);
		free(s);
	}
	bytebuf_free(&t->line);
	free(t->flows);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void event_tap_counts(struct event_tap *t, uint64_t out[IMW_PROTO_MAX][IM_KIND_COUNT][2])
{
	pthread_mutex_lock(&t->lock);
	memcpy(out, t->counts, sizeof(t->counts));
	pthread_mutex_unlock(&t->lock);
}

uint64_t event_tap_flow_events(struct event_tap *t, uint64_t flow_id, const char *client)
{
	struct flow_slot *f;
	uint64_t n;

	pthread_mutex_lock(&t->lock);
	f = flow_find(t, flow_id, hash_str(client), false);
	n = f ? f->events : 0;
	pthread_mutex_unlock(&t->lock);
	return n;
}

struct tap_sub *event_tap_subscribe(struct event_tap *t, const struct tap_filter *f)
{
	struct tap_sub *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->proto = f->proto;
	s->kind = f->kind;
	s->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->fd < 0 || (f->user && !(s->user = strdup(f->user)))) {
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return NULL;
	}
	bytebuf_init(&s->lines);
	pthread_mutex_lock(&t->lock);
	s->next = t->subs;
	t->subs = s;
	pthread_mutex_unlock(&t->lock);
	return s;
}

void event_tap_unsubscribe(struct event_tap *t, struct tap_sub *sub)
{
	struct tap_sub **p;

	pthread_mutex_lock(&t->lock);
	for (p = &t->subs; *p; p = &(*p)->next) {
		if (*p == sub) {
			*p = sub->next;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	close(sub->fd);
	free(sub->user);
	bytebuf_free(&sub->lines);
	free(sub);
}

int tap_sub_fd(const struct tap_sub *sub)
{
	return sub->fd;
}

uint64_t tap_sub_take(struct event_tap *t, struct tap_sub *sub, struct bytebuf *out)
{
	uint64_t lost, v;

	if (read(sub->fd, &v, sizeof(v)) < 0) {
		/* nothing signalled: take what is there all the same */
	}
	pthread_mutex_lock(&t->lock);
	if (sub->lines.len && bytebuf_append(out, sub->lines.data, sub->lines.len))
		bytebuf_clear(&sub->lines);
	lost = sub->lost;
	sub->lost = 0;
	pthread_mutex_unlock(&t->lock);
	return lost;
}
