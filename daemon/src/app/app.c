#include "app/app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/http_tunnel.h"
#include "app/tls_hello.h"
#include "util/text.h"

#define DEFAULT_DETECT_WINDOW 4096
/* A direction with this many bytes that every module rejects decides
 * the flow even if the other direction never speaks. */
#define ONE_SIDED_DECISION_BYTES 512

void app_config_defaults(struct app_config *cfg)
{
	int i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->modules = proto_modules(&cfg->n_modules);
	for (i = 1; i < IMW_PROTO_MAX; i++)
		cfg->enabled[i] = true;
	cfg->log_typing = true;
	cfg->detect_window = DEFAULT_DETECT_WINDOW;
}

int app_config_set_modules(struct app_config *cfg, const struct proto_module *const *mods,
			   size_t n, char *err, size_t err_size)
{
	size_t i;

	if (n == 0) {
		snprintf(err, err_size, "no module to register");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (proto_module_check(mods[i], err, err_size) < 0)
			return -1;
	cfg->modules = mods;
	cfg->n_modules = n;
	return 0;
}

struct app_flow *app_flow_new(const struct app_config *cfg, struct app_stats *stats,
			      struct proto_directory *directory, uint64_t flow_id,
			      const char *client, uint16_t server_port, proto_emit_fn emit,
			      void *emit_arg)
{
	struct app_flow *af = calloc(1, sizeof(*af));

	if (!af)
		return NULL;
	af->client = text_dup(client, strlen(client));
	if (!af->client) {
		free(af);
		return NULL;
	}
	af->cfg = cfg;
	af->stats = stats;
	af->directory = directory;
	af->flow_id = flow_id;
	af->server_port = server_port;
	af->emit = emit;
	af->emit_arg = emit_arg;
	af->state = APP_DETECTING;
	return af;
}

void app_flow_set_file(struct app_flow *af, proto_file_fn file, void *arg)
{
	af->file = file;
	af->file_arg = arg;
	if (af->state == APP_DECODING) {
		af->session.file = file;
		af->session.file_arg = arg;
	}
}

static void dir_release(struct app_dir *d)
{
	free(d->data);
	d->data = NULL;
	d->head = d->len = d->cap = 0;
}

void app_flow_free(struct app_flow *af)
{
	if (!af)
		return;
	if (af->state == APP_DECODING)
		proto_session_free(&af->session);
	dir_release(&af->dir[0]);
	dir_release(&af->dir[1]);
	free(af->client);
	free(af);
}

static size_t dir_pending(const struct app_dir *d)
{
	return d->len - d->head;
}

static void dir_consume(struct app_dir *d, size_t n)
{
	d->head += n;
	d->offset += n;
	if (d->head == d->len)
		d->head = d->len = 0;
}

static bool dir_append(struct app_dir *d, const uint8_t *data, size_t len)
{
	size_t pending = dir_pending(d), cap;
	uint8_t *p;

	if (d->head && (d->head > d->cap / 2 || d->len + len > d->cap)) {
		memmove(d->data, d->data + d->head, pending);
		d->head = 0;
		d->len = pending;
	}
	if (d->len + len > d->cap) {
		if (len > SIZE_MAX / 2 - d->len)
			return false;
		cap = d->cap ? d->cap : 1024;
		while (cap < d->len + len)
			cap *= 2;
		p = realloc(d->data, cap);
		if (!p)
			return false;
		d->data = p;
		d->cap = cap;
	}
	memcpy(d->data + d->len, data, len);
	d->len += len;
	return true;
}

static bool port_hinted(const struct proto_module *m, uint16_t port)
{
	size_t i;

	for (i = 0; i < m->info->n_ports; i++)
		if (m->info->ports[i] == port)
			return true;
	return false;
}

bool app_server_port(const struct app_config *cfg, uint16_t port)
{
	size_t i;

	for (i = 0; i < cfg->n_modules; i++)
		if (port_hinted(cfg->modules[i], port))
			return true;
	return false;
}

static void emit_through(void *arg, const struct im_event *ev)
{
	struct app_flow *af = arg;

	af->emit(af->emit_arg, ev);
}

static bool start_session(struct app_flow *af, const struct proto_module *m)
{
	if (proto_session_init(&af->session, m, af->flow_id, af->client, emit_through, af) < 0) {
		af->stats->alloc_failures++;
		return false;
	}
	af->session.log_typing = af->cfg->log_typing;
	af->session.strip_tls = af->cfg->strip_tls[m->id];
	af->session.directory = af->directory;
	af->session.file = af->file;
	af->session.file_arg = af->file_arg;
	af->state = APP_DECODING;
	af->stats->sessions[m->id]++;
	return true;
}

static void become_ignored(struct app_flow *af)
{
	af->state = APP_IGNORED;
	af->stats->flows_ignored++;
	dir_release(&af->dir[0]);
	dir_release(&af->dir[1]);
}

/* An HTTP proxy's CONNECT tunnel comes before any protocol: the request
 * and the proxy's 2xx answer are skipped, and what follows is detected as
 * if the flow went to the target's port (IMSpector beside Squid; a client
 * told to use a proxy). A proxy never speaks first, so bytes from the
 * server before any from the client mean no tunnel. Returns false while
 * detection must wait for the rest of the request or of the answer. */
static bool tunnel_step(struct app_flow *af)
{
	struct app_dir *out = &af->dir[IM_DIR_OUT], *in = &af->dir[IM_DIR_IN];
	size_t head = 0;
	uint16_t port = 0;
	unsigned status = 0;

	switch (af->tunnel) {
	case APP_TUNNEL_UNKNOWN:
		if (!dir_pending(out)) {
			if (dir_pending(in))
				af->tunnel = APP_TUNNEL_NONE;
			return af->tunnel == APP_TUNNEL_NONE;
		}
		switch (http_tunnel_request(out->data + out->head, dir_pending(out), &head, &port)) {
		case HTTP_TUNNEL_NEED_MORE:
			return false;
		case HTTP_TUNNEL_NO:
			af->tunnel = APP_TUNNEL_NONE;
			return true;
		case HTTP_TUNNEL_YES:
			break;
		}
		dir_consume(out, head);
		af->server_port = port;
		af->tunnel = APP_TUNNEL_ASKED;
		/* the answer may be here already */
		__attribute__((fallthrough));
	case APP_TUNNEL_ASKED:
		if (!dir_pending(in))
			return false;
		switch (http_tunnel_reply(in->data + in->head, dir_pending(in), &head, &status)) {
		case HTTP_TUNNEL_NEED_MORE:
			return false;
		case HTTP_TUNNEL_NO:
			become_ignored(af);
			return false;
		case HTTP_TUNNEL_YES:
			break;
		}
		if (status < 200 || status > 299) {
			af->stats->tunnels_refused++;
			become_ignored(af);
			return false;
		}
		dir_consume(in, head);
		af->tunnel = APP_TUNNEL_OPEN;
		af->stats->tunnels++;
		return true;
	case APP_TUNNEL_NONE:
	case APP_TUNNEL_OPEN:
		break;
	}
	return true;
}

/* Ports where IM runs in TLS from the first byte, and the protocol each
 * stands for. On 443 only a hello naming AOL's or ICQ's servers is OSCAR:
 * everything else there is the web. */
static const struct {
	uint16_t port;
	enum imw_proto proto;
	bool sni_must_name_aim;
} direct_tls_ports[] = {
	{ 5223, IMW_PROTO_XMPP, false },
	{ 6697, IMW_PROTO_IRC, false },
	{ 5190, IMW_PROTO_OSCAR, false },
	{ 443, IMW_PROTO_OSCAR, true },
};

static bool names_aim(const uint8_t *sni, size_t n)
{
	static const char *const hosts[] = { "aol.com", "icq.com", "oscar." };
	size_t i, j, k;

	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		k = strlen(hosts[i]);
		for (j = 0; j + k <= n; j++)
			if (text_has_prefix_ci((const char *)sni + j, n - j, hosts[i]))
				return true;
	}
	return false;
}

/* Direct-TLS IM: a ClientHello on one of those ports. The session is
 * opaque from its first byte; one encrypted event names the service the
 * client asked for (SNI). Returns true when it took the flow, false to
 * go on with detection (or, with *wait, to wait for the whole hello). */
static bool direct_tls(struct app_flow *af, bool *wait)
{
	struct app_dir *out = &af->dir[IM_DIR_OUT];
	const uint8_t *sni = NULL;
	size_t sni_len = 0, i, k;
	const struct proto_module *m = NULL;
	struct im_event ev;
	enum tls_hello_parse r;

	*wait = false;
	for (i = 0; i < sizeof(direct_tls_ports) / sizeof(direct_tls_ports[0]); i++)
		if (direct_tls_ports[i].port == af->server_port)
			break;
	if (i == sizeof(direct_tls_ports) / sizeof(direct_tls_ports[0]) || !dir_pending(out))
		return false;
	r = tls_hello_sni(out->data + out->head, dir_pending(out), &sni, &sni_len);
	if (r == TLS_HELLO_NEED_MORE && dir_pending(out) < af->cfg->detect_window)
		*wait = true;
	if (r != TLS_HELLO_YES ||
	    (direct_tls_ports[i].sni_must_name_aim && !names_aim(sni, sni_len)))
		return false;
	for (k = 0; k < af->cfg->n_modules; k++)
		if (af->cfg->modules[k]->id == direct_tls_ports[i].proto)
			m = af->cfg->modules[k];
	if (!m || !af->cfg->enabled[m->id] || !start_session(af, m))
		return false;
	af->session.opaque[IM_DIR_OUT] = af->session.opaque[IM_DIR_IN] = true;
	af->session.ts = out->last_ts;
	af->session.pdu_offset = out->offset;
	af->session.pdu_len = 0;
	proto_event_begin(&af->session, &ev, IM_DIR_OUT, IM_KIND_ENCRYPTED);
	if (!event_set(&ev.remote, sni ? (const char *)sni : "", sni_len) ||
	    !event_set_str(&ev.text, "TLS")) {
		event_free(&ev);
		af->stats->alloc_failures++;
		return true;
	}
	proto_event_emit(&af->session, &ev);
	return true;
}

/* Ask every enabled module about the bytes held so far. Modules whose
 * port hint matches go first, so a well-known port breaks ties. */
static void detect(struct app_flow *af)
{
	size_t n = af->cfg->n_modules, i, pass, d;
	const struct proto_module *const *mods = af->cfg->modules;
	bool maybe[2] = { false, false };

	bool wait;

	if (!tunnel_step(af) || direct_tls(af, &wait) || wait)
		return;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			const struct proto_module *m = mods[i];

			if (!af->cfg->enabled[m->id] || port_hinted(m, af->server_port) != (pass == 0))
				continue;
			for (d = 0; d < 2; d++) {
				struct app_dir *ad = &af->dir[d];
				enum proto_detect r;

				if (!dir_pending(ad))
					continue;
				r = m->detect(ad->data + ad->head, dir_pending(ad), (enum im_dir)d);
				if (r == PROTO_DETECT_YES) {
					start_session(af, m);
					return;
				}
				if (r == PROTO_DETECT_MAYBE)
					maybe[d] = true;
			}
		}
	}
	for (d = 0; d < 2; d++) {
		struct app_dir *ad = &af->dir[d];

		if (dir_pending(ad) && (!maybe[d] || dir_pending(ad) >= af->cfg->detect_window))
			ad->said_no = true;
	}
	if ((af->dir[0].said_no && af->dir[1].said_no) ||
	    (af->dir[0].said_no && !af->dir[1].seen_data &&
	     dir_pending(&af->dir[0]) >= ONE_SIDED_DECISION_BYTES) ||
	    (af->dir[1].said_no && !af->dir[0].seen_data &&
	     dir_pending(&af->dir[1]) >= ONE_SIDED_DECISION_BYTES))
		become_ignored(af);
}

static void decode_dir(struct app_flow *af, enum im_dir dir)
{
	struct app_dir *d = &af->dir[dir];
	struct proto_session *s = &af->session;
	const struct proto_module *m = s->module;
	size_t pending, skip, pdu_len;
	enum proto_frame fr;

	while ((pending = dir_pending(d)) > 0) {
		const uint8_t *p = d->data + d->head;

		if (s->opaque[dir]) {
			af->stats->bytes_opaque += pending;
			dir_consume(d, pending);
			return;
		}
		if (d->need_resync) {
			skip = m->resync(s, dir, p, pending);
			if (skip > pending)
				skip = pending;
			af->stats->bytes_skipped += skip;
			dir_consume(d, skip);
			if (skip == pending)
				return; /* no boundary yet: wait for more bytes */
			d->need_resync = false;
			continue;
		}
		pdu_len = 0;
		fr = m->frame(s, dir, p, pending, &pdu_len);
		if (fr == PROTO_FRAME_PDU && (pdu_len == 0 || pdu_len > pending))
			fr = PROTO_FRAME_GARBAGE; /* a framer bug must not stall or overrun */
		if (fr == PROTO_FRAME_NEED_MORE) {
			if (pending <= m->max_pdu)
				return;
			fr = PROTO_FRAME_GARBAGE;
		}
		if (fr == PROTO_FRAME_GARBAGE) {
			/* Skip at least one byte so resync always makes progress. */
			af->stats->garbage_resyncs++;
			af->stats->bytes_skipped++;
			dir_consume(d, 1);
			d->need_resync = true;
			continue;
		}
		s->ts = d->last_ts;
		s->pdu_offset = d->offset;
		s->pdu_len = pdu_len;
		s->pdu_data = p;
		af->stats->pdus++;
		s->stats.pdus++;
		if (m->decode(s, dir, p, pdu_len) < 0)
			af->stats->malformed_pdus++;
		s->pdu_data = NULL;
		if (af->cfg->pdu_seen)
			af->cfg->pdu_seen(af->cfg->pdu_seen_arg, af, dir, d->offset, p, pdu_len);
		dir_consume(d, pdu_len);
	}
}

static void run(struct app_flow *af, enum im_dir first)
{
	if (af->state == APP_DETECTING)
		detect(af);
	if (af->state != APP_DECODING)
		return;
	/* The direction that just spoke first, then anything the other
	 * direction buffered during detection. */
	decode_dir(af, first);
	decode_dir(af, first == IM_DIR_OUT ? IM_DIR_IN : IM_DIR_OUT);
	/* An idle session keeps no buffer: most of a tracked flow's memory
	 * would otherwise be two empty ones (bench/README.md, flow memory). */
	if (!dir_pending(&af->dir[IM_DIR_OUT]))
		dir_release(&af->dir[IM_DIR_OUT]);
	if (!dir_pending(&af->dir[IM_DIR_IN]))
		dir_release(&af->dir[IM_DIR_IN]);
}

bool app_flow_decode_as(struct app_flow *af, const struct proto_module *m)
{
	size_t i;

	if (af->state != APP_DETECTING)
		return false;
	for (i = 0; i < af->cfg->n_modules && af->cfg->modules[i] != m; i++)
		;
	if (i == af->cfg->n_modules || !af->cfg->enabled[m->id] || !start_session(af, m))
		return false;
	run(af, IM_DIR_OUT);
	return true;
}

void app_flow_data(struct app_flow *af, enum im_dir dir, const uint8_t *data, size_t len,
		   uint64_t offset, double ts)
{
	struct app_dir *d = &af->dir[dir];

	if (af->state == APP_IGNORED || len == 0)
		return;
	if (!d->seen_data) {
		d->seen_data = true;
		d->offset = offset;
	}
	d->last_ts = ts;
	if (af->state == APP_DECODING && af->session.opaque[dir]) {
		af->stats->bytes_opaque += len;
		d->offset = offset + len;
		return;
	}
	if (af->state == APP_DETECTING && dir_pending(d) + len > af->cfg->detect_window) {
		/* Keep detection bounded: look at the first window only. */
		if (dir_pending(d) >= af->cfg->detect_window) {
			d->said_no = true;
			detect(af);
			return;
		}
		len = af->cfg->detect_window - dir_pending(d);
	}
	if (!dir_append(d, data, len)) {
		af->stats->alloc_failures++;
		app_flow_gap(af, dir, offset, len);
		return;
	}
	run(af, dir);
}

void app_flow_gap(struct app_flow *af, enum im_dir dir, uint64_t offset, uint64_t len)
{
	struct app_dir *d = &af->dir[dir];

	if (af->state == APP_IGNORED)
		return;
	/* A partial PDU before the hole can never complete. */
	af->stats->bytes_skipped += dir_pending(d);
	d->head = d->len = 0;
	d->offset = offset + len;
	if (af->state == APP_DECODING) {
		af->stats->gap_resyncs++;
		d->need_resync = true;
	}
}

size_t app_flow_buffered(const struct app_flow *af)
{
	return af->dir[0].cap + af->dir[1].cap;
}

void app_flow_shed(struct app_flow *af)
{
	int i;

	if (af->state == APP_IGNORED)
		return;
	af->stats->shed_flows++;
	for (i = 0; i < 2; i++) {
		struct app_dir *d = &af->dir[i];

		af->stats->bytes_skipped += dir_pending(d);
		d->offset += dir_pending(d);
		dir_release(d);
		if (af->state == APP_DECODING)
			d->need_resync = true;
	}
	if (af->state == APP_DETECTING) {
		af->state = APP_IGNORED;
		af->stats->flows_ignored++;
	}
}

bool app_flow_done(const struct app_flow *af)
{
	return af->state == APP_IGNORED ||
	       (af->state == APP_DECODING && af->session.opaque[0] && af->session.opaque[1]);
}

bool app_flow_partial_pdu(const struct app_flow *af, enum im_dir dir, uint64_t *start)
{
	const struct app_dir *d = &af->dir[dir];

	if (!dir_pending(d))
		return false;
	/* Still deciding what the flow is: its first PDU may be a message. */
	if (af->state == APP_DETECTING && !d->said_no) {
		*start = d->offset;
		return true;
	}
	if (af->state != APP_DECODING || af->session.opaque[dir] || d->need_resync)
		return false;
	if (af->session.module->partial_may_edit &&
	    !af->session.module->partial_may_edit((struct proto_session *)&af->session, dir,
						  d->data + d->head, dir_pending(d)))
		return false;
	*start = d->offset;
	return true;
}

bool app_flow_mid_pdu(const struct app_flow *af, enum im_dir dir)
{
	return dir_pending(&af->dir[dir]) > 0;
}
