#include "stats/stats_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "event/event.h"
#include "sandbox/sandbox.h"
#include "util/version.h"

struct counter {
	const char *name;
	size_t offset;
};

#define C(type, field) { #field, offsetof(struct type, field) }

static const struct counter flow_counters[] = {
	C(flow_stats, packets),          C(flow_stats, tcp_packets),
	C(flow_stats, bytes),            C(flow_stats, flows_created),
	C(flow_stats, flows_midstream),  C(flow_stats, flows_expired),
	C(flow_stats, flows_evicted),    C(flow_stats, evicted_halfopen),
	C(flow_stats, evicted_anonymous), C(flow_stats, evicted_identified),
	C(flow_stats, expired_halfopen), C(flow_stats, flows_closed),
	C(flow_stats, truncated_payloads), C(flow_stats, alloc_failures),
	C(flow_stats, buffered_bytes),   C(flow_stats, buffered_peak),
	C(flow_stats, pressure_sheds),
};

static const struct counter reasm_counters[] = {
	C(reasm_stats, segments),      C(reasm_stats, bytes_delivered),
	C(reasm_stats, retransmitted), C(reasm_stats, overlaps),
	C(reasm_stats, out_of_order),  C(reasm_stats, gaps),
	C(reasm_stats, gap_bytes),     C(reasm_stats, bound_hits),
	C(reasm_stats, after_close),   C(reasm_stats, out_of_window),
	C(reasm_stats, alloc_failures),
};

static const struct counter app_counters[] = {
	C(app_stats, flows_ignored),   C(app_stats, pdus),
	C(app_stats, malformed_pdus),  C(app_stats, garbage_resyncs),
	C(app_stats, gap_resyncs),     C(app_stats, bytes_skipped),
	C(app_stats, bytes_opaque),    C(app_stats, alloc_failures),
	C(app_stats, shed_flows),
};

static const struct counter engine_counters[] = {
	C(engine_stats, packets),           C(engine_stats, accepted),
	C(engine_stats, modified),          C(engine_stats, dropped),
	C(engine_stats, held),              C(engine_stats, deadline_releases),
	C(engine_stats, bound_releases),    C(engine_stats, global_bound_releases),
	C(engine_stats, hole_bound_releases),
	C(engine_stats, policy_fallbacks),  C(engine_stats, policy_unenforced),
	C(engine_stats, edits),
	C(engine_stats, edits_refused_committed), C(engine_stats, edits_refused_size),
	C(engine_stats, edits_refused_encode),    C(engine_stats, policy_blocked),
	C(engine_stats, policy_blanked),    C(engine_stats, notices_injected),
	C(engine_stats, routed_local), C(engine_stats, routed_bot), C(engine_stats, route_fallbacks),
	C(engine_stats, deliveries), C(engine_stats, deliveries_delayed),
	C(engine_stats, deliveries_lost), C(engine_stats, receipts_synthesised),
	C(engine_stats, deletions_acked),
	C(engine_stats, segments_originated), C(engine_stats, origin_retransmits),
	C(engine_stats, origin_given_up),
	C(engine_stats, notices_dropped),   C(engine_stats, retransmissions_rebuilt),
	C(engine_stats, segments_capped),   C(engine_stats, segments_split),
	C(engine_stats, duplicates_of_held),
	C(engine_stats, out_of_order_held), C(engine_stats, mss_clamped),
	C(engine_stats, handed_held_dropped),
	C(engine_stats, not_tcp),           C(engine_stats, malformed),
	C(engine_stats, alloc_failures),
	C(engine_stats, scan_releases),     C(engine_stats, scan_cuts),
	C(engine_stats, scan_resets),       C(engine_stats, scan_dropped),
	C(engine_stats, scan_held_bytes_peak), C(engine_stats, scan_yields),
	C(engine_stats, offsets_published), C(engine_stats, publish_failures),
	C(engine_stats, records_written),   C(engine_stats, records_unsaved),
	C(engine_stats, flows_adopted),     C(engine_stats, edits_adopted),
	C(engine_stats, adopted_blanked),   C(engine_stats, origins_adopted),
};

static const struct counter files_counters[] = {
	C(files_stats, transfers),        C(files_stats, completed),
	C(files_stats, incomplete),       C(files_stats, bytes),
	C(files_stats, gap_bytes),        C(files_stats, stored),
	C(files_stats, store_duplicates), C(files_stats, store_refused),
	C(files_stats, scanned),          C(files_stats, infected),
	C(files_stats, scan_errors),      C(files_stats, scan_timeouts),
	C(files_stats, scan_skipped),     C(files_stats, late_verdicts),
	C(files_stats, spool_failures),   C(files_stats, alloc_failures),
	C(files_stats, conns_claimed),    C(files_stats, fronts_unmatched),
	C(files_stats, pending_scans),    C(files_stats, holds),
	C(files_stats, holds_released),   C(files_stats, holds_cut),
	C(files_stats, hold_overflows),
	C(files_stats, store_expired),    C(files_stats, store_expired_bytes),
	C(files_stats, store_held),       C(files_stats, store_retain_failures),
	C(files_stats, store_ref_failures),
};

/* The queue socket's counts and the kernel's, one group: what reached
 * us and what the kernel dropped before it could. */
static const struct counter queue_counters[] = {
	C(nfqueue_stats, received),       C(nfqueue_stats, verdicts),
	C(nfqueue_stats, batch_verdicts), C(nfqueue_stats, truncated),
	C(nfqueue_stats, enobufs),        C(nfqueue_stats, receive_errors),
	C(nfqueue_stats, send_errors),
};

static const struct counter kernel_counters[] = {
	{ "kernel_waiting", offsetof(struct nfqueue_kernel_counts, waiting) },
	{ "kernel_queue_dropped", offsetof(struct nfqueue_kernel_counts, queue_dropped) },
	{ "kernel_user_dropped", offsetof(struct nfqueue_kernel_counts, user_dropped) },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t at(const void *base, size_t offset)
{
	uint64_t v;

	memcpy(&v, (const char *)base + offset, sizeof(v));
	return v;
}

static void add_at(void *base, size_t offset, uint64_t v)
{
	uint64_t *p = (uint64_t *)(void *)((char *)base + offset);

	*p += v;
}

void stats_snapshot_of_flows(struct stats_snapshot *s, const char *name,
			     const struct flow_table *t)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->flow = t->stats;
	s->flows_now = t->n_flows;
	s->max_flows = t->cfg.max_flows;
	s->max_buffered_total = t->cfg.max_buffered_total;
	if (t->cfg.files) {
		s->has_files = true;
		files_stats_get(t->cfg.files, &s->files);
	}
}

void stats_snapshot_of_engine(struct stats_snapshot *s, const char *name, const struct engine *e)
{
	stats_snapshot_of_flows(s, name, &e->flows);
	s->has_engine = true;
	s->engine = e->stats;
	s->held_packets_now = e->held.packets;
	s->held_bytes_now = e->held.bytes;
	s->max_held_bytes_total = e->cfg.max_held_bytes_total;
}

void stats_snapshot_add_queue(struct stats_snapshot *s, const struct nfqueue_stats *q,
			      const struct nfqueue_kernel_counts *kernel)
{
	s->has_queue = true;
	s->queue = *q;
	s->kernel = *kernel;
}

static void write_counters(FILE *out, const void *base, const struct counter *c, size_t n,
			   bool first)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(out, "%s\"%s\": %llu", i || !first ? ", " : "", c[i].name,
			(unsigned long long)at(base, c[i].offset));
}

static void write_group(FILE *out, const char *name, const void *base, const struct counter *c,
			size_t n, const char *indent)
{
	fprintf(out, "%s\"%s\": {", indent, name);
	write_counters(out, base, c, n, true);
	fprintf(out, "}");
}

/* "queue": the socket's counts, then the kernel's. */
static void write_queue(FILE *out, const struct stats_snapshot *s, const char *indent)
{
	fprintf(out, "%s\"queue\": {", indent);
	write_counters(out, &s->queue, queue_counters, N(queue_counters), true);
	write_counters(out, &s->kernel, kernel_counters, N(kernel_counters), false);
	fprintf(out, "}");
}

static void write_one(FILE *out, const struct stats_snapshot *s, const char *indent)
{
	char inner[16];
	int p;
	bool any = false;

	snprintf(inner, sizeof(inner), "%s  ", indent);
	fprintf(out, "{\n%s\"name\": \"%s\",\n", inner, s->name);
	fprintf(out, "%s\"flows_now\": %zu, \"max_flows\": %zu, \"max_buffered_bytes\": %zu,\n", inner,
		s->flows_now, s->max_flows, s->max_buffered_total);
	write_group(out, "flow", &s->flow, flow_counters, N(flow_counters), inner);
	fprintf(out, ",\n");
	write_group(out, "reasm", &s->flow.reasm, reasm_counters, N(reasm_counters), inner);
	fprintf(out, ",\n");
	write_group(out, "app", &s->flow.app, app_counters, N(app_counters), inner);
	fprintf(out, ",\n%s\"sessions\": {", inner);
	for (p = 1; p < IMW_PROTO_MAX; p++) {
		if (!s->flow.app.sessions[p])
			continue;
		fprintf(out, "%s\"%s\": %llu", any ? ", " : "", event_proto_name((enum imw_proto)p),
			(unsigned long long)s->flow.app.sessions[p]);
		any = true;
	}
	fprintf(out, "}");
	if (s->has_engine) {
		fprintf(out, ",\n%s\"held_packets_now\": %zu, \"held_bytes_now\": %zu, "
			"\"max_held_bytes_total\": %zu,\n", inner, s->held_packets_now, s->held_bytes_now,
			s->max_held_bytes_total);
		write_group(out, "engine", &s->engine, engine_counters, N(engine_counters), inner);
	}
	if (s->has_files) {
		fprintf(out, ",\n");
		write_group(out, "files", &s->files, files_counters, N(files_counters), inner);
	}
	if (s->has_queue) {
		fprintf(out, ",\n");
		write_queue(out, s, inner);
	}
	fprintf(out, "\n%s}", indent);
}

static void sum_into(struct stats_snapshot *total, const struct stats_snapshot *s)
{
	size_t i;
	int p;

	for (i = 0; i < N(flow_counters); i++)
		add_at(&total->flow, flow_counters[i].offset, at(&s->flow, flow_counters[i].offset));
	for (i = 0; i < N(reasm_counters); i++)
		add_at(&total->flow.reasm, reasm_counters[i].offset,
		       at(&s->flow.reasm, reasm_counters[i].offset));
	for (i = 0; i < N(app_counters); i++)
		add_at(&total->flow.app, app_counters[i].offset,
		       at(&s->flow.app, app_counters[i].offset));
	for (p = 0; p < IMW_PROTO_MAX; p++)
		total->flow.app.sessions[p] += s->flow.app.sessions[p];
	for (i = 0; i < N(engine_counters); i++)
		add_at(&total->engine, engine_counters[i].offset,
		       at(&s->engine, engine_counters[i].offset));
	total->flows_now += s->flows_now;
	total->max_flows += s->max_flows;
	total->max_buffered_total += s->max_buffered_total;
	total->held_packets_now += s->held_packets_now;
	total->held_bytes_now += s->held_bytes_now;
	total->max_held_bytes_total += s->max_held_bytes_total;
	total->has_engine |= s->has_engine;
	for (i = 0; i < N(files_counters); i++)
		add_at(&total->files, files_counters[i].offset, at(&s->files, files_counters[i].offset));
	total->has_files |= s->has_files;
	for (i = 0; i < N(queue_counters); i++)
		add_at(&total->queue, queue_counters[i].offset, at(&s->queue, queue_counters[i].offset));
	for (i = 0; i < N(kernel_counters); i++)
		add_at(&total->kernel, kernel_counters[i].offset,
		       at(&s->kernel, kernel_counters[i].offset));
	total->has_queue |= s->has_queue;
}

void stats_path_of(const struct imw_config *cfg, char *out, size_t size)
{
	const char *v = config_get(cfg, "stats_file");
	char inst[256];

	if (v) {
		snprintf(out, size, "%s", v);
		return;
	}
	config_instance(cfg->path, inst, sizeof(inst));
	if (strcmp(inst, "imwire") == 0)
		snprintf(out, size, "%s", STATS_DEFAULT_PATH);
	else
		snprintf(out, size, STATS_RUN_DIR "/%s.stats.json", inst);
}

static void foreach_group(const char *group, const void *base, const struct counter *c, size_t n,
			  stats_counter_fn fn, void *arg)
{
	size_t i;

	for (i = 0; i < n; i++)
		fn(arg, group, c[i].name, at(base, c[i].offset));
}

void stats_foreach_counter(const struct stats_snapshot *s, stats_counter_fn fn, void *arg)
{
	int p;

	fn(arg, "", "flows_now", s->flows_now);
	fn(arg, "", "max_flows", s->max_flows);
	fn(arg, "", "max_buffered_bytes", s->max_buffered_total);
	foreach_group("flow", &s->flow, flow_counters, N(flow_counters), fn, arg);
	foreach_group("reasm", &s->flow.reasm, reasm_counters, N(reasm_counters), fn, arg);
	foreach_group("app", &s->flow.app, app_counters, N(app_counters), fn, arg);
	for (p = 1; p < IMW_PROTO_MAX; p++)
		fn(arg, "sessions", event_proto_name((enum imw_proto)p), s->flow.app.sessions[p]);
	if (s->has_files)
		foreach_group("files", &s->files, files_counters, N(files_counters), fn, arg);
	if (s->has_queue) {
		foreach_group("queue", &s->queue, queue_counters, N(queue_counters), fn, arg);
		foreach_group("queue", &s->kernel, kernel_counters, N(kernel_counters), fn, arg);
	}
	if (!s->has_engine)
		return;
	fn(arg, "", "held_packets_now", s->held_packets_now);
	fn(arg, "", "held_bytes_now", s->held_bytes_now);
	fn(arg, "", "max_held_bytes_total", s->max_held_bytes_total);
	foreach_group("engine", &s->engine, engine_counters, N(engine_counters), fn, arg);
}

void stats_sum(struct stats_snapshot *total, const struct stats_snapshot *s, size_t n)
{
	size_t i;

	memset(total, 0, sizeof(*total));
	snprintf(total->name, sizeof(total->name), "total");
	for (i = 0; i < n; i++)
		sum_into(total, &s[i]);
}

static const struct counter writer_counters[] = {
	C(sink_writer_stats, submits),      C(sink_writer_stats, events),
	C(sink_writer_stats, bytes),        C(sink_writer_stats, append_ns),
	C(sink_writer_stats, append_max_ns), C(sink_writer_stats, not_durable),
	C(sink_writer_stats, slow_downs),   C(sink_writer_stats, waits),
	C(sink_writer_stats, memory_bytes), C(sink_writer_stats, log_bytes),
	C(sink_writer_stats, log_segments), C(sink_writer_stats, fsyncs),
};

static const struct counter sink_counters[] = {
	C(sink_writer_sink_stats, queued),   C(sink_writer_sink_stats, written),
	C(sink_writer_sink_stats, replayed), C(sink_writer_sink_stats, spooled),
	C(sink_writer_sink_stats, failed),
};

/* A JSON string: sink names are paths, which may hold anything. */
static void write_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7F)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void write_writer(FILE *out, const struct sink_writer_stats *w)
{
	size_t i, c;

	fprintf(out, ",\n  \"writer\": {");
	for (i = 0; i < N(writer_counters); i++)
		fprintf(out, "\"%s\": %llu, ", writer_counters[i].name,
			(unsigned long long)at(w, writer_counters[i].offset));
	fprintf(out, "\"pressure\": %d,\n    \"sinks\": [", w->pressure ? 1 : 0);
	for (i = 0; i < w->n_sinks; i++) {
		const struct sink_writer_sink_stats *k = &w->sinks[i];

		fprintf(out, "%s\n      {\"name\": ", i ? "," : "");
		write_string(out, k->name);
		for (c = 0; c < N(sink_counters); c++)
			fprintf(out, ", \"%s\": %llu", sink_counters[c].name,
				(unsigned long long)at(k, sink_counters[c].offset));
		fprintf(out, ", \"lag\": %.3f, \"down\": %d, \"lost\": {", k->lag, k->down ? 1 : 0);
		for (c = 0; c < SINK_LOSS_COUNT; c++)
			fprintf(out, "%s\"%s\": %llu", c ? ", " : "", sink_loss_name((enum sink_loss)c),
				(unsigned long long)k->lost[c]);
		fprintf(out, "}}");
	}
	fprintf(out, "\n    ]\n  }");
}

int stats_write_json(FILE *out, const struct stats_snapshot *s, size_t n,
		     const struct sink_writer_stats *writer, double now)
{
	struct stats_snapshot total;
	size_t i;

	memset(&total, 0, sizeof(total));
	snprintf(total.name, sizeof(total.name), "total");
	fprintf(out, "{\n  \"version\": \"%s\",\n  \"time\": %.3f,\n  \"workers\": [",
		imw_version(), now);
	for (i = 0; i < n; i++) {
		fprintf(out, "%s\n    ", i ? "," : "");
		write_one(out, &s[i], "    ");
		sum_into(&total, &s[i]);
	}
	fprintf(out, "\n  ],\n  \"total\": ");
	write_one(out, &total, "  ");
	if (writer)
		write_writer(out, writer);
	/* The daemon's sandbox (sandbox.h): what it refused is counted here. */
	if (sandbox_active())
		fprintf(out, ",\n  \"sandbox\": {\"seccomp\": 1, \"landlock_abi\": %d, \"refused\": %llu}",
			sandbox_landlock_abi(), (unsigned long long)sandbox_refusals());
	fprintf(out, "\n}\n");
	return ferror(out) ? -1 : 0;
}

int stats_write_file(const char *path, const struct stats_snapshot *s, size_t n,
		     const struct sink_writer_stats *writer, double now)
{
	char tmp[4096];
	FILE *f;
	int rc, saved;

	/* per process: two daemons given one path must not share a temporary */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	rc = stats_write_json(f, s, n, writer, now);
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) == 0)
		return 0;
	saved = errno;
	unlink(tmp);
	errno = saved;
	return -1;
}

/* A small reader for the documents above: objects, arrays, strings
 * (escapes shown as written), numbers. Nested objects become indented
 * lines. */
struct reader {
	const char *p, *end;
	FILE *out;
	unsigned depth;
};

static void skip_space(struct reader *r)
{
	while (r->p < r->end && strchr(" \t\r\n", *r->p))
		r->p++;
}

static int read_value(struct reader *r, const char *key, size_t key_len);

static int read_string(struct reader *r, const char **s, size_t *len)
{
	skip_space(r);
	if (r->p >= r->end || *r->p != '"')
		return -1;
	*s = ++r->p;
	while (r->p < r->end && *r->p != '"') {
		/* An escape is shown as it is written. */
		if (*r->p == '\\' && ++r->p >= r->end)
			return -1;
		r->p++;
	}
	if (r->p >= r->end)
		return -1;
	*len = (size_t)(r->p - *s);
	r->p++;
	return 0;
}

static void indent(struct reader *r)
{
	unsigned i;

	for (i = 1; i < r->depth; i++) /* top-level keys start the line */
		fputs("  ", r->out);
}

static int read_container(struct reader *r, char close, const char *key, size_t key_len)
{
	unsigned index = 0;

	if (key) {
		indent(r);
		fprintf(r->out, "%.*s:\n", (int)key_len, key);
	}
	if (r->depth++ > 8)
		return -1;
	for (;;) {
		const char *k = NULL;
		size_t kl = 0;
		char label[24];

		skip_space(r);
		if (r->p < r->end && *r->p == close) {
			r->p++;
			break;
		}
		if (index && (r->p >= r->end || *r->p++ != ','))
			return -1;
		if (close == '}') {
			if (read_string(r, &k, &kl) < 0)
				return -1;
			skip_space(r);
			if (r->p >= r->end || *r->p++ != ':')
				return -1;
		} else {
			snprintf(label, sizeof(label), "[%u]", index);
			k = label;
			kl = strlen(label);
		}
		if (read_value(r, k, kl) < 0)
			return -1;
		index++;
	}
	r->depth--;
	return 0;
}

static int read_value(struct reader *r, const char *key, size_t key_len)
{
	const char *s;
	size_t len;

	skip_space(r);
	if (r->p >= r->end)
		return -1;
	if (*r->p == '{' || *r->p == '[') {
		char close = *r->p == '{' ? '}' : ']';

		r->p++;
		return read_container(r, close, key, key_len);
	}
	if (*r->p == '"') {
		if (read_string(r, &s, &len) < 0)
			return -1;
	} else {
		s = r->p;
		while (r->p < r->end && (strchr("+-.eE", *r->p) || (*r->p >= '0' && *r->p <= '9')))
			r->p++;
		len = (size_t)(r->p - s);
		if (!len)
			return -1;
	}
	indent(r);
	fprintf(r->out, "%.*s: %.*s\n", (int)key_len, key, (int)len, s);
	return 0;
}

int stats_pretty_print(const char *text, size_t len, FILE *out)
{
	struct reader r = { text, text + len, out, 0 };

	skip_space(&r);
	if (r.p >= r.end || *r.p != '{')
		return -1;
	r.p++;
	if (read_container(&r, '}', NULL, 0) < 0)
		return -1;
	skip_space(&r);
	return r.p == r.end ? 0 : -1;
}
