/* imwired --tap: a mirror port decoded passively through the offline
 * pipeline (pipeline/): events are logged, nothing is held or edited. */
#include "runtime/runtime.h"
#include "runtime/runtime_internal.h"

#include <pcap/pcap.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config/config_flow.h"
#include "pipeline/pipeline.h"

#define TICK_SECONDS 1.0 /* the service's tick */

struct tap_ctx {
	struct pipeline pl;
	int dlt;
	unsigned generation;          /* of the configuration the flow table has */
	struct net_prefix *local_nets; /* the flow table's, owned */
};

static void tap_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct tap_ctx *t = (struct tap_ctx *)(void *)arg;
	struct packet pkt;
	const char *why;

	memset(&pkt, 0, sizeof(pkt));
	pkt.ts = (double)h->ts.tv_sec + (double)h->ts.tv_usec / 1e6;
	if (packet_parse(t->dlt, bytes, h->caplen, h->len, &pkt, &why) == PACKET_OK)
		pipeline_packet(&t->pl, &pkt);
}

/* The capture, active; NULL (logged) when the interface cannot be read. */
static pcap_t *open_capture(struct runtime *rt, const char *iface, int *dlt)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_create(iface, errbuf);

	if (!p) {
		rt->log(LOG_ERR, "%s: %s", iface, errbuf);
		return NULL;
	}
	pcap_set_snaplen(p, 65535);
	pcap_set_promisc(p, 1);
	pcap_set_immediate_mode(p, 1);
	pcap_set_timeout(p, 100);
	pcap_set_buffer_size(p, 16 * 1024 * 1024);
	if (pcap_activate(p) < 0) {
		rt->log(LOG_ERR, "%s: %s", iface, pcap_geterr(p));
		pcap_close(p);
		return NULL;
	}
	*dlt = pcap_datalink(p);
	if (!packet_linktype_supported(*dlt)) {
		rt->log(LOG_ERR, "%s: unsupported link type %d", iface, *dlt);
		pcap_close(p);
		return NULL;
	}
	/* Immediate mode may ignore the read timeout: the caller waits in
	 * poll so a stop request is seen on a quiet link too. */
	if (pcap_setnonblock(p, 1, errbuf) < 0)
		rt->log(LOG_WARNING, "%s: %s", iface, errbuf);
	return p;
}

int runtime_tap_open(struct runtime *rt)
{
	rt->capture = open_capture(rt, rt->tap, &rt->capture_dlt);
	return rt->capture ? 0 : -1;
}

/* A reload took (SIGHUP here, or `imwire reload` on the control thread):
 * the flow table's settings (protocols, local_nets, limits) from the next
 * packet on, with a copy of local_nets of our own. */
static void tap_reconfigure(struct runtime *rt, struct tap_ctx *t)
{
	struct flow_config fc;
	struct net_prefix *nets = NULL;

	pthread_mutex_lock(&rt->lock);
	t->generation = rt->generation;
	flow_config_defaults(&fc);
	config_apply_flow(&rt->cfg, &fc);
	if (fc.n_local_nets) {
		nets = malloc(fc.n_local_nets * sizeof(*nets));
		if (nets)
			memcpy(nets, fc.local_nets, fc.n_local_nets * sizeof(*nets));
	}
	pthread_mutex_unlock(&rt->lock);
	if (fc.n_local_nets && !nets) {
		rt->log(LOG_ERR, "tap: out of memory: the old flow settings stay");
		return;
	}
	fc.local_nets = nets;
	flow_table_reconfigure(&t->pl.flows, &fc);
	free(t->local_nets);
	t->local_nets = nets;
}

/* Between two captures: signals, reloads, the service's tick. */
static void tap_housekeeping(struct runtime *rt, struct tap_ctx *t, double *last_tick)
{
	char msg[1024];

	service_worker_loop(rt->svc, 0, &t->pl.flows);
	if (runtime_now() - *last_tick >= TICK_SECONDS) {
		service_tick(rt->svc);
		*last_tick = runtime_now();
	}
	if (*rt->reload) {
		*rt->reload = 0;
		runtime_reload(rt, msg, sizeof(msg));
	}
	if (*rt->reopen) {
		*rt->reopen = 0;
		runtime_reopen(rt);
	}
	if (t->generation != rt->generation)
		tap_reconfigure(rt, t);
}

int runtime_run_tap(struct runtime *rt, struct sink *sinks, size_t *n_sinks)
{
	const char *iface = rt->tap;
	double last_tick = 0;
	struct pollfd pfd;
	struct tap_ctx t;
	struct flow_config fc;
	pcap_t *p = rt->capture;
	char err[512];
	size_t i;

	if (service_serve(rt->svc, &rt->cfg, err, sizeof(err)) < 0) {
		rt->log(LOG_ERR, "%s", err);
		return 1;
	}
	flow_config_defaults(&fc);
	fc.n_local_nets = 0; /* tap_reconfigure gives the table its own copy */
	t.dlt = rt->capture_dlt;
	t.local_nets = NULL;
	if (pipeline_init(&t.pl, &fc) < 0)
		return 1;
	tap_reconfigure(rt, &t);
	if (rt->files) {
		if (pipeline_follow_files(&t.pl, rt->files, err, sizeof(err)) < 0)
			rt->log(LOG_ERR, "tap: file transfers not followed: %s", err);
	}
	/* The pipeline writes to the daemon's sinks (moved in, closed with it). */
	for (i = 0; i < *n_sinks; i++)
		pipeline_add_sink(&t.pl, &sinks[i]);
	*n_sinks = 0;
	rt->log(LOG_INFO, "tap on %s: passive, no verdicts", iface);
	service_worker_ready(rt->svc);
	pfd.fd = pcap_get_selectable_fd(p);
	pfd.events = POLLIN;
	while (!*rt->stop) {
		tap_housekeeping(rt, &t, &last_tick);
		if (pfd.fd >= 0 && poll(&pfd, 1, 100) == 0)
			continue;
		if (pcap_dispatch(p, -1, tap_packet, (u_char *)(void *)&t) < 0) {
			rt->log(LOG_ERR, "%s: %s", iface, pcap_geterr(p));
			break;
		}
	}
	service_stop(rt->svc);
	pipeline_finish(&t.pl);
	/* The writer goes with the pipeline: no retention pass reaches the
	 * file stage after this, and nothing after us may use it. */
	if (rt->writer && rt->files)
		sink_writer_set_retention_hook(rt->writer, NULL, NULL);
	pipeline_destroy(&t.pl);
	rt->writer = NULL;
	free(t.local_nets);
	return 0;
}
