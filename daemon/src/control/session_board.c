#include "control/session_board.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"

struct session_board {
	pthread_mutex_t lock;
	pthread_cond_t answered_cond;
	atomic_uint request;   /* bumped per request; 0: none yet */
	unsigned *served;      /* per worker: the request it last answered */
	unsigned n_workers;
	unsigned answered;
	bool busy;
	struct control_session_list list;
};

struct session_board *session_board_new(unsigned n_workers)
{
	struct session_board *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->served = calloc(n_workers ? n_workers : 1, sizeof(*b->served));
	if (!b->served) {
		free(b);
		return NULL;
	}
	b->n_workers = n_workers;
	atomic_init(&b->request, 0);
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->answered_cond, NULL);
	return b;
}

void session_board_free(struct session_board *b)
{
	if (!b)
		return;
	control_session_list_free(&b->list);
	pthread_cond_destroy(&b->answered_cond);
	pthread_mutex_destroy(&b->lock);
	free(b->served);
	free(b);
}

/* "ip:port" of a flow's server end ("[v6]:port" for IPv6). */
static void peer_of(const struct flow *f, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (f->ip_version == 4) {
		inet_ntop(AF_INET, f->addr[IM_DIR_IN], ip, sizeof(ip));
		snprintf(out, size, "%s:%u", ip, f->port[IM_DIR_IN]);
	} else {
		inet_ntop(AF_INET6, f->addr[IM_DIR_IN], ip, sizeof(ip));
		snprintf(out, size, "[%s]:%u", ip, f->port[IM_DIR_IN]);
	}
}

void session_board_add_flows(struct control_session_list *out, const struct flow_table *t)
{
	const struct flow *f;
	char peer[INET6_ADDRSTRLEN + 8];
	size_t i;

	for (i = 0; i < t->n_buckets; i++) {
		for (f = t->buckets[i]; f; f = f->hash_next) {
			const struct app_flow *af = f->app;

			if (!af || af->state != APP_DECODING || !af->session.module)
				continue;
			peer_of(f, peer, sizeof(peer));
			if (!control_session_add(out, event_proto_name(af->session.module->id),
						 af->session.local_id ? af->session.local_id : "", peer,
						 af->session.client ? af->session.client : "",
						 f->first_ts, f->id))
				return; /* out of memory: what fits */
		}
	}
}

void session_board_serve(struct session_board *b, unsigned worker, const struct flow_table *t)
{
	unsigned want = atomic_load_explicit(&b->request, memory_order_acquire);

	if (worker >= b->n_workers || want == b->served[worker])
		return;
	pthread_mutex_lock(&b->lock);
	if (b->busy) {
		session_board_add_flows(&b->list, t);
		b->answered++;
		pthread_cond_broadcast(&b->answered_cond);
	}
	b->served[worker] = want;
	pthread_mutex_unlock(&b->lock);
}

int session_board_collect(struct session_board *b, struct control_session_list *out,
			  int timeout_ms)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&b->lock);
	if (b->busy) {
		pthread_mutex_unlock(&b->lock);
		return -1;
	}
	b->busy = true;
	b->answered = 0;
	memset(&b->list, 0, sizeof(b->list));
	atomic_fetch_add_explicit(&b->request, 1, memory_order_release);
	while (b->answered < b->n_workers && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&b->answered_cond, &b->lock, &until);
	*out = b->list;
	out->partial = b->answered < b->n_workers;
	memset(&b->list, 0, sizeof(b->list));
	b->busy = false;
	pthread_mutex_unlock(&b->lock);
	return 0;
}
