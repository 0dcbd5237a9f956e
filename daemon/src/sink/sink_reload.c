/* The writer's sinks across reloads (sink_writer.h): the configured ones
 * given fresh copies, added or retired, by id, while events flow. A lane
 * keeps its slot while its thread may run; a retired lane's slot is
 * reused once its thread has ended and it is closed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/sink_writer_internal.h"

int sink_writer_add_configured(struct sink *ws, const struct imw_config *cfg, size_t *added,
			       char *err, size_t err_size)
{
	struct writer *w = ws->ctx;
	struct sink_set set;
	size_t i;

	*added = 0;
	if (sink_configured_open(cfg, &set, err, err_size) < 0)
		return -1;
	for (i = 0; i < set.n; i++) {
		if (sink_writer_add_sink(ws, &set.s[i], err, err_size) < 0) {
			for (; i < set.n; i++)
				sink_close(&set.s[i]);
			return -1;
		}
		w->lanes[w->n_lanes - 1].configured = true;
		(*added)++;
	}
	return 0;
}

/* Retired lanes whose thread has ended: joined and closed, slot free. */
static void reap(struct writer *w)
{
	size_t i;

	for (i = 0; i < w->n_lanes; i++) {
		struct lane *l = &w->lanes[i];

		if (!l->gone || l->closed)
			continue;
		if (l->thread_started)
			pthread_join(l->thread, NULL); /* it has released the lock and is ending */
		l->thread_started = false;
		writer_lane_close(w, l);
	}
}

/* A configured lane still in use, by its sink's id. */
static struct lane *find(struct writer *w, const char *id)
{
	size_t i;

	for (i = 0; id && i < w->n_lanes; i++) {
		struct lane *l = &w->lanes[i];

		if (l->configured && !l->gone && !l->closed && l->sink.id &&
		    strcmp(l->sink.id, id) == 0)
			return l;
	}
	return NULL;
}

static size_t free_slots(const struct writer *w)
{
	size_t i, n = SINK_WRITER_MAX_SINKS - w->n_lanes;

	for (i = 0; i < w->n_lanes; i++)
		if (w->lanes[i].closed)
			n++;
	return n;
}

/* A free slot (a closed lane's, or a new one), NULL when none. *fresh: a
 * new one, to count in n_lanes once it holds a lane. */
static struct lane *slot(struct writer *w, bool *fresh)
{
	size_t i;

	for (i = 0; i < w->n_lanes; i++) {
		if (w->lanes[i].closed) {
			*fresh = false;
			return &w->lanes[i];
		}
	}
	*fresh = true;
	return w->n_lanes < SINK_WRITER_MAX_SINKS ? &w->lanes[w->n_lanes] : NULL;
}

/* Kept or retired: the lanes that were configured before the call. */
static void update_lanes(struct writer *w, struct sink_set *set, bool files_only, bool *taken,
			 struct sink_writer_changes *ch)
{
	size_t i, j;

	for (i = 0; i < w->n_lanes; i++) {
		struct lane *l = &w->lanes[i];

		if (!l->configured || l->gone || l->closed)
			continue;
		for (j = 0; j < set->n; j++)
			if (!taken[j] && set->s[j].id && l->sink.id && strcmp(set->s[j].id, l->sink.id) == 0)
				break;
		if (j < set->n && (!files_only || l->sink.ops->undo)) {
			if (l->has_next)
				sink_close(&l->next);
			l->next = set->s[j];
			l->has_next = true;
			taken[j] = true;
			if (l->retired)
				LOG(w, LOG_NOTICE, "writer: %s: named again by a reload: goes on", l->st.name);
			l->retired = false;
			ch->kept++;
		} else if (j == set->n && !files_only && !l->retired) {
			l->retired = true;
			l->retire_seq = end_seq(w);
			ch->retired++;
			LOG(w, LOG_NOTICE,
			    "writer: %s: no longer named by the configuration: writes the %llu events "
			    "handed over before the reload, then stops",
			    l->st.name, (unsigned long long)l->pending);
		}
	}
}

static size_t new_ones(struct writer *w, const struct sink_set *set)
{
	size_t j, n = 0;

	for (j = 0; j < set->n; j++)
		if (!find(w, set->s[j].id))
			n++;
	return n;
}

int sink_writer_reconfigure(struct sink *ws, struct sink_set *set, bool files_only,
			    struct sink_writer_changes *ch, char *err, size_t err_size)
{
	struct writer *w = ws->ctx;
	bool taken[SINK_WRITER_MAX_SINKS] = { false };
	char why[384];
	size_t j;

	memset(ch, 0, sizeof(*ch));
	pthread_mutex_lock(&w->lock);
	reap(w);
	if (!files_only && new_ones(w, set) > free_slots(w)) {
		pthread_mutex_unlock(&w->lock);
		snprintf(err, err_size, "too many sinks (at most %d, retired ones included until they "
					"have written what they hold)",
			 SINK_WRITER_MAX_SINKS);
		return -1;
	}
	update_lanes(w, set, files_only, taken, ch);
	for (j = 0; j < set->n; j++) {
		struct lane *l;
		bool fresh;

		if (taken[j])
			continue;
		if (files_only || !(l = slot(w, &fresh))) {
			sink_close(&set->s[j]);
			continue;
		}
		if (writer_lane_add(w, l, &set->s[j], why, sizeof(why)) < 0) {
			LOG(w, LOG_ERR, "writer: a sink the reload named: %s", why);
			sink_close(&set->s[j]);
			if (!fresh)
				l->closed = true; /* still free */
			ch->failed++;
			continue;
		}
		l->configured = true;
		if (fresh)
			w->n_lanes++;
		ch->added++;
		LOG(w, LOG_NOTICE, "writer: %s: named by the reload: writes from the next event on",
		    l->st.name);
	}
	set->n = 0;
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

size_t sink_writer_configured(struct sink *ws)
{
	struct writer *w = ws->ctx;
	size_t i, n = 0;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->n_lanes; i++)
		if (w->lanes[i].configured && !w->lanes[i].retired && !w->lanes[i].gone &&
		    !w->lanes[i].closed)
			n++;
	pthread_mutex_unlock(&w->lock);
	return n;
}
