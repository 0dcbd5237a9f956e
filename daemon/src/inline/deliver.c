/* Messages other workers (or this one) routed to our sessions, and PDUs
 * for a client in segments of our own: sent at once when the direction
 * towards the client is idle at a PDU boundary (origin.h), else queued to
 * follow its next PDU (notices.h). */
#include "inline/deliver.h"

#include <stdlib.h>

#include "inline/commit.h"
#include "inline/origin.h"
#include "inline/release.h"
#include "route/router.h"

/* PDUs for fs's client in segments of our own (origin.h): 1 sent, 0 they
 * wait for the next PDU towards the client (notices.h), -1 lost. */
int deliver_to_client(struct engine *e, struct flow_state *fs, const uint8_t *bytes,
			  size_t len, int pdus, double now, struct engine_outq *out)
{
	struct origin_io io = engine_origin_io(e, out);

	switch (origin_send(fs, IM_DIR_IN, bytes, len, now, &io)) {
	case ORIGIN_SENT:
		if (len) {
			commit_mark_map(e, fs, IM_DIR_IN);
			flow_state_pdus_changed(fs, IM_DIR_IN, pdus);
			sessions_track(&e->sessions, fs);
		}
		return 1;
	case ORIGIN_BUSY:
		notices_defer(&e->notices, fs->flow->id, bytes, len, pdus, &e->stats);
		return 0;
	case ORIGIN_LOST:
		break;
	}
	return -1;
}

/* A message for one of our sessions, encoded by its module and sent
 * towards its client; logged with what became of it. */
static void deliver(struct engine *e, struct route_delivery *dv, double now,
		    struct engine_outq *out)
{
	struct flow_state *fs = sessions_find(&e->sessions, dv->flow_id);
	struct im_event *ev = &dv->ev;
	struct proto_session *s;
	struct bytebuf pdu;
	int rc = -1;

	bytebuf_init(&pdu);
	if (fs && fs->flow->app) {
		s = &fs->flow->app->session;
		ev->flow_id = fs->flow->id;
		ev->proto = s->module->id;
		/* The archive: the recipient's connection carried it. */
		if (!event_set_str(&ev->client, s->client) ||
		    (s->server && !event_set_str(&ev->server, s->server)) ||
		    (s->session_id && !event_set_str(&ev->session, s->session_id)) ||
		    (s->community_id && !event_set_str(&ev->community_id, s->community_id)))
			e->stats.alloc_failures++;
		if (s->module->encode && s->module->encode(s, IM_DIR_IN, ev, NULL, 0, &pdu) == 0 &&
		    pdu.len)
			rc = deliver_to_client(e, fs, pdu.data, pdu.len, 1, now, out);
	}
	if (rc < 0) {
		e->stats.deliveries_lost++;
		ev->route = route_outcome_name(ROUTE_DROPPED);
		ev->filtered = true;
	} else {
		e->stats.deliveries++;
		if (rc == 0) {
			e->stats.deliveries_delayed++;
			if (ev->route == route_outcome_name(ROUTE_LOCAL))
				ev->route = route_outcome_name(ROUTE_DELAYED);
		}
	}
	bytebuf_free(&pdu);
	if (e->log)
		e->log(e->log_arg, ev);
}

void engine_take_mail(struct engine *e, double now, struct engine_outq *out)
{
	struct route_delivery *v;
	size_t n, i;

	if (!e->decide.routing)
		return;
	v = router_take(e->cfg.router, e->cfg.worker, &n);
	for (i = 0; i < n; i++) {
		deliver(e, &v[i], now, out);
		event_free(&v[i].ev);
	}
	free(v);
	engine_commit(e, now);
}

