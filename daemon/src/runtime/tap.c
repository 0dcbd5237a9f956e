/* imwired --tap: a mirror port decoded passively through the offline
 * pipeline (pipeline/): events are logged, nothing is held or edited. */
#include "runtime/runtime.h"
#include "runtime/runtime_internal.h"

#include <pcap/pcap.h>
#include <poll.h>
#include <string.h>
#include <syslog.h>

#include "config/config_flow.h"
#include "pipeline/pipeline.h"

#define TICK_SECONDS 1.0 /* the service's tick */

struct tap_ctx {
	struct pipeline pl;
	int dlt;
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

int runtime_run_tap(struct runtime *rt, struct sink *sinks, size_t *n_sinks)
{
	const char *iface = rt->tap;
	double last_tick = 0;
	struct pollfd pfd;
	struct tap_ctx t;
	struct flow_config fc;
	pcap_t *p;
	size_t i;

	flow_config_defaults(&fc);
	config_apply_flow(&rt->cfg, &fc);
	p = open_capture(rt, iface, &t.dlt);
	if (!p)
		return 1;
	if (pipeline_init(&t.pl, &fc) < 0) {
		pcap_close(p);
		return 1;
	}
	if (rt->files) {
		char err[256];

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
		service_worker_loop(rt->svc, 0, &t.pl.flows);
		if (runtime_now() - last_tick >= TICK_SECONDS) {
			service_tick(rt->svc);
			last_tick = runtime_now();
		}
		if (pfd.fd >= 0 && poll(&pfd, 1, 100) == 0)
			continue;
		if (pcap_dispatch(p, -1, tap_packet, (u_char *)(void *)&t) < 0) {
			rt->log(LOG_ERR, "%s: %s", iface, pcap_geterr(p));
			break;
		}
	}
	service_stop(rt->svc);
	pipeline_finish(&t.pl);
	pipeline_destroy(&t.pl);
	pcap_close(p);
	return 0;
}
