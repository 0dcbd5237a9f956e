#include "pipeline/pipeline.h"

#include <string.h>

#include "route/route.h"

/* Expire idle flows every this many packets, not on each one. */
#define EXPIRY_INTERVAL_PACKETS 4096

/* Each sink in turn; how many of them failed. The writer thread's
 * consume function when there is one (pipeline_start_writer). */
static unsigned write_sinks(void *arg, const struct im_event *ev)
{
	struct pipeline *pl = arg;
	unsigned failed = 0;
	size_t i;

	for (i = 0; i < pl->n_sinks; i++)
		if (sink_write(&pl->sinks[i], ev) < 0)
			failed++;
	return failed;
}

static void write_event(struct pipeline *pl, const struct im_event *ev)
{
	if ((unsigned)ev->proto < IMW_PROTO_MAX && (unsigned)ev->kind < IM_KIND_COUNT)
		pl->events[ev->proto][ev->kind]++;
	pl->events_total++;
	if (pl->ring) {
		if (event_ring_put(pl->ring, ev))
			return;
		/* No memory to copy it: written here, after every event put
		 * before it, so the order stays. */
		pl->sink_failures += event_ring_drain(pl->ring);
	}
	pl->sink_failures += write_sinks(pl, ev);
}

/* With a policy (read --config), each event as it decided it, then the
 * notices it would send, each an injected event of its own. */
static void deliver_event(void *arg, const struct im_event *ev)
{
	struct pipeline *pl = arg;
	struct im_event judged, notice;
	struct route_ctx ctx;
	size_t i;

	if (!pl->table) {
		write_event(pl, ev);
		return;
	}
	route_table_run(pl->table, 0, ev, &ctx);
	judged = *ev;
	policy_decision_mark(&ctx.decision, &judged);
	write_event(pl, &judged);
	for (i = 0; i < ctx.decision.n_notices; i++) {
		policy_notice_event(&ctx.decision, ev, i, false, &notice);
		write_event(pl, &notice);
	}
	for (i = 0; ev->dir == IM_DIR_OUT && i < ctx.decision.n_remote_notices; i++) {
		policy_notice_event(&ctx.decision, ev, i, true, &notice);
		write_event(pl, &notice);
	}
	route_ctx_free(&ctx);
}

int pipeline_init(struct pipeline *pl, const struct flow_config *cfg)
{
	memset(pl, 0, sizeof(*pl));
	return flow_table_init(&pl->flows, cfg, deliver_event, pl);
}

int pipeline_add_sink(struct pipeline *pl, struct sink *s)
{
	if (pl->n_sinks >= PIPELINE_MAX_SINKS)
		return -1;
	pl->sinks[pl->n_sinks++] = *s;
	return 0;
}

int pipeline_follow_files(struct pipeline *pl, struct files_shared *sh, char *err,
			  size_t err_size)
{
	pl->files = files_new(sh, deliver_event, pl, err, err_size);
	if (!pl->files)
		return -1;
	pl->flows.cfg.files = pl->files;
	return 0;
}

int pipeline_start_writer(struct pipeline *pl)
{
	struct event_ring_config cfg;

	if (pl->ring || !pl->n_sinks)
		return 0;
	event_ring_config_defaults(&cfg);
	pl->ring = event_ring_start(&cfg, write_sinks, pl);
	return pl->ring ? 0 : -1;
}

void pipeline_sync(struct pipeline *pl)
{
	if (pl->ring)
		pl->sink_failures += event_ring_drain(pl->ring);
}

/* The writer thread's last events written and the thread ended: from
 * here on events are written on the caller's thread. */
static void stop_writer(struct pipeline *pl)
{
	event_ring_stop(pl->ring, &pl->sink_failures);
	pl->ring = NULL;
}

void pipeline_packet(struct pipeline *pl, const struct packet *pkt)
{
	flow_table_packet(&pl->flows, pkt);
	if (pl->files)
		files_poll(pl->files);
	if (++pl->packets_since_expiry >= EXPIRY_INTERVAL_PACKETS) {
		pl->packets_since_expiry = 0;
		flow_table_expire(&pl->flows, pkt->ts);
	}
}

void pipeline_finish(struct pipeline *pl)
{
	size_t i;

	flow_table_flush_all(&pl->flows);
	if (pl->files)
		files_drain(pl->files);
	stop_writer(pl);
	for (i = 0; i < pl->n_sinks; i++)
		if (pl->sinks[i].ops->flush(&pl->sinks[i]) < 0)
			pl->sink_failures++;
}

void pipeline_end_capture(struct pipeline *pl)
{
	flow_table_forget(&pl->flows);
	if (pl->files)
		files_forget(pl->files);
	pl->packets_since_expiry = 0;
}

void pipeline_destroy(struct pipeline *pl)
{
	size_t i;

	flow_table_destroy(&pl->flows);
	/* After the flows: their transfers end into the sinks. */
	files_free(pl->files);
	pl->files = NULL;
	stop_writer(pl); /* before the sinks it writes to close */
	for (i = 0; i < pl->n_sinks; i++)
		sink_close(&pl->sinks[i]);
	pl->n_sinks = 0;
}

static void print_bytes(FILE *out, uint64_t n)
{
	if (n >= 10ULL * 1024 * 1024)
		fprintf(out, "%.1f MiB", (double)n / (1024.0 * 1024.0));
	else if (n >= 10ULL * 1024)
		fprintf(out, "%.1f KiB", (double)n / 1024.0);
	else
		fprintf(out, "%llu bytes", (unsigned long long)n);
}

void pipeline_print_summary(const struct pipeline *pl, FILE *out)
{
	const struct flow_stats *fs = &pl->flows.stats;
	const struct app_stats *as = &fs->app;
	uint64_t kinds[IM_KIND_COUNT] = { 0 };
	bool any = false;
	int p, k;

	fprintf(out, "flows: %llu TCP (%llu picked up mid-stream), %llu TCP packets, ",
		(unsigned long long)fs->flows_created, (unsigned long long)fs->flows_midstream,
		(unsigned long long)fs->tcp_packets);
	print_bytes(out, fs->bytes);
	fprintf(out, " of payload\n");

	fprintf(out, "IM sessions:");
	for (p = 1; p < IMW_PROTO_MAX; p++) {
		if (as->sessions[p]) {
			fprintf(out, " %s %llu", event_proto_name((enum imw_proto)p),
				(unsigned long long)as->sessions[p]);
			any = true;
		}
	}
	fprintf(out, "%s\n", any ? "" : " none");

	for (p = 0; p < IMW_PROTO_MAX; p++)
		for (k = 0; k < IM_KIND_COUNT; k++)
			kinds[k] += pl->events[p][k];
	fprintf(out, "events: %llu", (unsigned long long)pl->events_total);
	any = false;
	for (k = 0; k < IM_KIND_COUNT; k++) {
		if (!kinds[k])
			continue;
		fprintf(out, "%s%s %llu", any ? ", " : " (", event_kind_name((enum im_kind)k),
			(unsigned long long)kinds[k]);
		any = true;
	}
	fprintf(out, "%s\n", any ? ")" : "");

	if (fs->reasm.gaps || as->malformed_pdus || as->garbage_resyncs || fs->truncated_payloads ||
	    fs->flows_evicted || fs->reasm.bound_hits || fs->alloc_failures || as->alloc_failures ||
	    pl->sink_failures) {
		fprintf(out, "warnings:");
		if (fs->reasm.gaps)
			fprintf(out, " %llu gaps (%llu bytes lost);", (unsigned long long)fs->reasm.gaps,
				(unsigned long long)fs->reasm.gap_bytes);
		if (as->malformed_pdus)
			fprintf(out, " %llu malformed PDUs;", (unsigned long long)as->malformed_pdus);
		if (as->garbage_resyncs)
			fprintf(out, " %llu resyncs after garbage (%llu bytes skipped);",
				(unsigned long long)as->garbage_resyncs,
				(unsigned long long)as->bytes_skipped);
		if (fs->truncated_payloads)
			fprintf(out, " %llu segments cut by the capture's snaplen;",
				(unsigned long long)fs->truncated_payloads);
		if (fs->reasm.bound_hits)
			fprintf(out, " %llu reassembly buffer limit hits;",
				(unsigned long long)fs->reasm.bound_hits);
		if (fs->flows_evicted)
			fprintf(out, " %llu flows evicted at the flow cap;",
				(unsigned long long)fs->flows_evicted);
		if (fs->alloc_failures || as->alloc_failures)
			fprintf(out, " %llu allocation failures;",
				(unsigned long long)(fs->alloc_failures + as->alloc_failures));
		if (pl->sink_failures)
			fprintf(out, " %llu events not written by a sink;",
				(unsigned long long)pl->sink_failures);
		fprintf(out, "\n");
	}
}
