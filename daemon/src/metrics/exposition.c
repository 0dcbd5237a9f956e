/* The text exposition: one family per counter, with HELP and TYPE lines,
 * every sample of the family together, as the format requires. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics/metrics.h"

#define PREFIX "imwire_"

/* Levels among the stats document's counters; everything else counts. */
static bool is_gauge(const char *group, const char *name)
{
	static const char *const gauges[] = { "flows_now", "max_flows", "max_buffered_bytes",
					      "held_packets_now", "held_bytes_now",
					      "max_held_bytes_total", "buffered_bytes",
					      "buffered_peak", "scan_held_bytes_peak",
					      "pending_scans", "kernel_waiting" };
	size_t i;

	(void)group;
	for (i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		if (strcmp(name, gauges[i]) == 0)
			return true;
	return false;
}

/* A label value: backslash, quote and newline escaped. */
static void put_label(FILE *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', out);
		if (*v == '\n') {
			fputs("\\n", out);
			continue;
		}
		fputc(*v, out);
	}
}

/* The metric name of a stats counter: imwire_GROUP_NAME[_total]. */
static void family_name(char *out, size_t size, const char *group, const char *name)
{
	bool gauge = is_gauge(group, name);

	if (strcmp(group, "sessions") == 0)
		snprintf(out, size, PREFIX "sessions_detected_total");
	else
		snprintf(out, size, PREFIX "%s%s%s%s", group, *group ? "_" : "", name,
			 gauge ? "" : "_total");
}

struct family_walk {
	FILE *out;
	const char *want; /* the family being written */
	const char *worker;
	bool found;
	/* first pass: the families in order, once each */
	char (*names)[96];
	size_t n, cap;
	char (*types)[8];
	bool listing;
};

static void on_counter(void *arg, const char *group, const char *name, uint64_t value)
{
	struct family_walk *w = arg;
	char fam[96];
	size_t i;

	family_name(fam, sizeof(fam), group, name);
	if (w->listing) {
		for (i = 0; i < w->n; i++)
			if (strcmp(w->names[i], fam) == 0)
				return;
		if (w->n == w->cap) {
			size_t cap = w->cap ? w->cap * 2 : 128;
			void *g1 = realloc(w->names, cap * sizeof(*w->names));

			if (!g1)
				return;
			w->names = g1;
			g1 = realloc(w->types, cap * sizeof(*w->types));
			if (!g1)
				return;
			w->types = g1;
			w->cap = cap;
		}
		snprintf(w->names[w->n], sizeof(w->names[0]), "%s", fam);
		snprintf(w->types[w->n], sizeof(w->types[0]), "%s",
			 strcmp(group, "sessions") == 0 || !is_gauge(group, name) ? "counter" : "gauge");
		w->n++;
		return;
	}
	if (strcmp(fam, w->want) != 0)
		return;
	fprintf(w->out, "%s{worker=\"", fam);
	put_label(w->out, w->worker);
	if (strcmp(group, "sessions") == 0) {
		fputs("\",proto=\"", w->out);
		put_label(w->out, name);
	}
	fprintf(w->out, "\"} %llu\n", (unsigned long long)value);
}

static void render_workers(FILE *out, const struct metrics_view *v)
{
	struct family_walk w;
	size_t f, i;

	memset(&w, 0, sizeof(w));
	w.out = out;
	w.listing = true;
	for (i = 0; i < v->n_workers; i++)
		stats_foreach_counter(&v->workers[i], on_counter, &w);
	w.listing = false;
	for (f = 0; f < w.n; f++) {
		fprintf(out, "# HELP %s imwired statistics: %s (imwire stats)\n# TYPE %s %s\n",
			w.names[f], w.names[f] + strlen(PREFIX), w.names[f], w.types[f]);
		w.want = w.names[f];
		for (i = 0; i < v->n_workers; i++) {
			w.worker = v->workers[i].name;
			stats_foreach_counter(&v->workers[i], on_counter, &w);
		}
	}
	free(w.names);
	free(w.types);
}

static void render_writer(FILE *out, const struct metrics_view *v)
{
	size_t i, j, k;

	for (i = 0; i < v->n_writer; i++) {
		const struct metrics_value *m = &v->writer[i];
		const char *suffix = m->gauge ? "" : "_total";

		fprintf(out, "# HELP " PREFIX "writer_%s%s the event writer: %s\n", m->name, suffix,
			m->name);
		fprintf(out, "# TYPE " PREFIX "writer_%s%s %s\n", m->name, suffix,
			m->gauge ? "gauge" : "counter");
		fprintf(out, PREFIX "writer_%s%s %llu\n", m->name, suffix,
			(unsigned long long)m->value);
	}
	if (!v->n_sinks)
		return;
	/* one family per value name, over every sink that has it */
	for (i = 0; i < v->n_sinks; i++) {
		for (j = 0; j < v->sinks[i].n_values; j++) {
			const struct metrics_value *m = &v->sinks[i].values[j];
			const char *suffix = m->gauge ? "" : "_total";
			bool seen = false;

			for (k = 0; k < i && !seen; k++) {
				size_t l;

				for (l = 0; l < v->sinks[k].n_values; l++)
					seen |= strcmp(v->sinks[k].values[l].name, m->name) == 0;
			}
			for (k = 0; k < j; k++)
				seen |= strcmp(v->sinks[i].values[k].name, m->name) == 0;
			if (seen)
				continue;
			fprintf(out, "# HELP " PREFIX "sink_%s%s per sink: %s\n", m->name, suffix,
				m->name);
			fprintf(out, "# TYPE " PREFIX "sink_%s%s %s\n", m->name, suffix,
				m->gauge ? "gauge" : "counter");
			for (k = i; k < v->n_sinks; k++) {
				size_t l;

				for (l = 0; l < v->sinks[k].n_values; l++) {
					if (strcmp(v->sinks[k].values[l].name, m->name) != 0)
						continue;
					fprintf(out, PREFIX "sink_%s%s{sink=\"", m->name, suffix);
					put_label(out, v->sinks[k].name);
					fprintf(out, "\"} %llu\n",
						(unsigned long long)v->sinks[k].values[l].value);
				}
			}
		}
	}
	fputs("# HELP " PREFIX "sink_lag_seconds age of the oldest event a sink has not "
	      "written yet\n# TYPE " PREFIX "sink_lag_seconds gauge\n", out);
	for (i = 0; i < v->n_sinks; i++) {
		fputs(PREFIX "sink_lag_seconds{sink=\"", out);
		put_label(out, v->sinks[i].name);
		fprintf(out, "\"} %.3f\n", v->sinks[i].lag_seconds);
	}
}

static void render_events(FILE *out, const struct metrics_view *v)
{
	int p, k, d;

	if (!v->events)
		return;
	fputs("# HELP " PREFIX "events_total events logged, by protocol, kind and direction\n"
	      "# TYPE " PREFIX "events_total counter\n", out);
	for (p = 1; p < IMW_PROTO_MAX; p++)
		for (k = 0; k < IM_KIND_COUNT; k++)
			for (d = 0; d < 2; d++)
				if (v->events[p][k][d])
					fprintf(out,
						PREFIX "events_total{proto=\"%s\",kind=\"%s\",dir=\"%s\"} %llu\n",
						event_proto_name((enum imw_proto)p),
						event_kind_name((enum im_kind)k), d ? "in" : "out",
						(unsigned long long)v->events[p][k][d]);
}

int metrics_render(FILE *out, const struct metrics_view *v)
{
	fputs("# HELP " PREFIX "build_info the running version\n"
	      "# TYPE " PREFIX "build_info gauge\n" PREFIX "build_info{version=\"", out);
	put_label(out, v->version ? v->version : "");
	fputs("\"} 1\n", out);
	fprintf(out, "# HELP " PREFIX "start_time_seconds when imwired started\n"
		     "# TYPE " PREFIX "start_time_seconds gauge\n" PREFIX "start_time_seconds %.3f\n",
		v->start_time);
	render_workers(out, v);
	render_writer(out, v);
	render_events(out, v);
	return ferror(out) ? -1 : 0;
}

int metrics_write_textfile(const char *path, const struct metrics_view *v)
{
	char tmp[4096];
	FILE *f;
	int rc, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	rc = metrics_render(f, v);
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) == 0)
		return 0;
	saved = errno;
	unlink(tmp);
	errno = saved;
	return -1;
}
