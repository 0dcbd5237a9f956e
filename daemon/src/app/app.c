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

/* The flow's context: the one whose host the session refers to
 * (app_flow_init sets it, start_session keeps it). */
static const struct app_context *ctx_of(const struct app_flow *af)
{
	return (const struct app_context *)(const void *)((const char *)af->session.host -
							  offsetof(struct app_context, host));
}

static size_t str_size(const char *v)
{
	return (v ? strlen(v) : 0) + 1;
}

size_t app_flow_size(const char *client, const struct app_ends *ends)
{
	size_t n = sizeof(struct app_flow) + str_size(client);

	if (ends)
		n += str_size(ends->session_id) + str_size(ends->community_id);
	else
		n += 2;
	return n;
}

/* Copies v ("" for NULL) to p; returns the byte after its NUL. */
static char *put_str(char *p, const char *v)
{
	size_t n = str_size(v);

	if (v)
		memcpy(p, v, n);
	else
		*p = '\0';
	return p + n;
}

void app_flow_init(struct app_flow *af, const struct app_context *ctx, uint64_t flow_id,
		   const char *client, const struct app_ends *ends, uint16_t server_port)
{
	char *copy = (char *)(af + 1), *p;

	memset(af, 0, sizeof(*af));
	p = put_str(copy, client);
	p = put_str(p, ends ? ends->session_id : NULL);
	put_str(p, ends ? ends->community_id : NULL);
	af->client = copy;
	af->session.host = &ctx->host; /* ctx_of */
	af->session.flow_id = flow_id;
	/* kept in the session before it starts, like the flow's id */
	if (ends && ends->server && ends->server[0] &&
	    !(af->session.server = proto_session_share(&af->session, ends->server,
						       strlen(ends->server))))
		ctx->stats->alloc_failures++;
	af->server_port = server_port;
	af->state = APP_DETECTING;
}

struct app_flow *app_flow_new(const struct app_context *ctx, uint64_t flow_id,
			      const char *client, uint16_t server_port)
{
	struct app_flow *af = malloc(app_flow_size(client, NULL));

	if (af)
		app_flow_init(af, ctx, flow_id, client, NULL, server_port);
	return af;
}

/* A direction's unconsumed bytes, [head, len) of data: made when bytes
 * must wait for more, freed when none are left (an idle session holds no
 * buffer, nor its bookkeeping). last_ts is the time of the direction's
 * latest bytes (every app_flow_data call sets it while the buffer
 * exists): the time of a PDU decoded from here. */
struct app_buf {
	size_t head;
	size_t len;
	size_t cap;
	double last_ts;
	uint8_t data[];
};

static void dir_release(struct app_dir *d)
{
	free(d->buf);
	d->buf = NULL;
}

void app_flow_release(struct app_flow *af)
{
	if (!af)
		return;
	if (af->state == APP_DECODING)
		proto_session_free(&af->session); /* with its server */
	else
		proto_session_unshare(&af->session, af->session.server);
	dir_release(&af->dir[0]);
	dir_release(&af->dir[1]);
}

void app_flow_free(struct app_flow *af)
{
	app_flow_release(af);
	free(af);
}

static bool dir_has(const struct app_flow *af, int dir, unsigned flag)
{
	return af->dir_flags[dir] & flag;
}

static size_t dir_pending(const struct app_dir *d)
{
	return d->buf ? d->buf->len - d->buf->head : 0;
}

/* The first unconsumed byte (only when dir_pending). */
static const uint8_t *dir_data(const struct app_dir *d)
{
	return d->buf->data + d->buf->head;
}

static void dir_consume(struct app_dir *d, size_t n)
{
	if (!n)
		return;
	d->buf->head += n;
	d->offset += n;
	if (d->buf->head == d->buf->len)
		d->buf->head = d->buf->len = 0;
}

/* Appends and stamps the buffer with ts, the time of these bytes. */
static bool dir_append(struct app_dir *d, const uint8_t *data, size_t len, double ts)
{
	struct app_buf *b = d->buf, *nb;
	size_t pending = dir_pending(d), used = b ? b->len : 0, cap = b ? b->cap : 0, ncap;

	if (b && b->head && (b->head > b->cap / 2 || b->len + len > b->cap)) {
		memmove(b->data, b->data + b->head, pending);
		b->head = 0;
		b->len = used = pending;
	}
	if (used + len > cap) {
		if (len > SIZE_MAX / 2 - used)
			return false;
		ncap = cap ? cap : 1024;
		while (ncap < used + len)
			ncap *= 2;
		nb = realloc(b, sizeof(*nb) + ncap);
		if (!nb)
			return false;
		if (!b)
			nb->head = nb->len = 0;
		nb->cap = ncap;
		d->buf = b = nb;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->last_ts = ts;
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

/* The strings after the client in the flow's block (app_flow_init), lent
 * to the session: "" stays NULL. */
static void start_session_ends(struct app_flow *af)
{
	const char *p = af->client;
	const char **dst[2] = { &af->session.session_id, &af->session.community_id };

	for (size_t i = 0; i < 2; i++) {
		p += strlen(p) + 1;
		*dst[i] = *p ? p : NULL;
	}
}

static bool start_session(struct app_flow *af, const struct proto_module *m)
{
	const struct app_context *ctx = ctx_of(af);
	uint64_t flow_id = af->session.flow_id;
	const char *server = af->session.server;

	/* init clears the session: the flow's id, context and server are
	 * kept there */
	if (proto_session_init(&af->session, m, flow_id, af->client, &ctx->host) < 0) {
		af->session.flow_id = flow_id;
		af->session.host = &ctx->host;
		af->session.server = server;
		ctx->stats->alloc_failures++;
		return false;
	}
	af->session.server = server;
	af->session.log_typing = ctx->cfg->log_typing;
	af->session.strip_tls = ctx->cfg->strip_tls[m->id];
	start_session_ends(af);
	af->state = APP_DECODING;
	/* the session refers to the flow's copy now, and no other session
	 * comes */
	af->client = NULL;
	ctx->stats->sessions[m->id]++;
	return true;
}

static void become_ignored(struct app_flow *af)
{
	af->state = APP_IGNORED;
	ctx_of(af)->stats->flows_ignored++;
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

	switch ((enum app_tunnel)af->tunnel) {
	case APP_TUNNEL_UNKNOWN:
		if (!dir_pending(out)) {
			if (dir_pending(in))
				af->tunnel = APP_TUNNEL_NONE;
			return af->tunnel == APP_TUNNEL_NONE;
		}
		switch (http_tunnel_request(dir_data(out), dir_pending(out), &head, &port)) {
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
		switch (http_tunnel_reply(dir_data(in), dir_pending(in), &head, &status)) {
		case HTTP_TUNNEL_NEED_MORE:
			return false;
		case HTTP_TUNNEL_NO:
			become_ignored(af);
			return false;
		case HTTP_TUNNEL_YES:
			break;
		}
		if (status < 200 || status > 299) {
			ctx_of(af)->stats->tunnels_refused++;
			become_ignored(af);
			return false;
		}
		dir_consume(in, head);
		af->tunnel = APP_TUNNEL_OPEN;
		ctx_of(af)->stats->tunnels++;
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
	const struct app_context *ctx = ctx_of(af);
	struct app_dir *out = &af->dir[IM_DIR_OUT];
	const uint8_t *sni = NULL;
	size_t sni_len = 0, i, k;
	const struct proto_module *m = NULL;
	struct im_event ev;
	struct proto_pdu pdu;
	enum tls_hello_parse r;

	*wait = false;
	for (i = 0; i < sizeof(direct_tls_ports) / sizeof(direct_tls_ports[0]); i++)
		if (direct_tls_ports[i].port == af->server_port)
			break;
	if (i == sizeof(direct_tls_ports) / sizeof(direct_tls_ports[0]) || !dir_pending(out))
		return false;
	r = tls_hello_sni(dir_data(out), dir_pending(out), &sni, &sni_len);
	if (r == TLS_HELLO_NEED_MORE && dir_pending(out) < ctx->cfg->detect_window)
		*wait = true;
	if (r != TLS_HELLO_YES ||
	    (direct_tls_ports[i].sni_must_name_aim && !names_aim(sni, sni_len)))
		return false;
	for (k = 0; k < ctx->cfg->n_modules; k++)
		if (ctx->cfg->modules[k]->id == direct_tls_ports[i].proto)
			m = ctx->cfg->modules[k];
	if (!m || !ctx->cfg->enabled[m->id] || !start_session(af, m))
		return false;
	af->session.opaque[IM_DIR_OUT] = af->session.opaque[IM_DIR_IN] = true;
	/* dir_pending(out): it has a buffer */
	pdu = (struct proto_pdu){ .ts = out->buf->last_ts, .offset = out->offset };
	af->session.pdu = &pdu;
	proto_event_begin(&af->session, &ev, IM_DIR_OUT, IM_KIND_ENCRYPTED);
	af->session.pdu = NULL; /* the session starts here: nothing outer */
	if (!event_set(&ev.remote, sni ? (const char *)sni : "", sni_len) ||
	    !event_set_str(&ev.text, "TLS")) {
		event_free(&ev);
		ctx->stats->alloc_failures++;
		return true;
	}
	proto_event_emit(&af->session, &ev);
	return true;
}

/* Ask every enabled module about the bytes held so far. Modules whose
 * port hint matches go first, so a well-known port breaks ties. */
static void detect(struct app_flow *af)
{
	const struct app_config *cfg = ctx_of(af)->cfg;
	size_t n = cfg->n_modules, i, pass, d;
	const struct proto_module *const *mods = cfg->modules;
	bool maybe[2] = { false, false };

	bool wait;

	if (!tunnel_step(af) || direct_tls(af, &wait) || wait)
		return;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			const struct proto_module *m = mods[i];

			if (!cfg->enabled[m->id] || port_hinted(m, af->server_port) != (pass == 0))
				continue;
			for (d = 0; d < 2; d++) {
				struct app_dir *ad = &af->dir[d];
				enum proto_detect r;

				if (!dir_pending(ad))
					continue;
				r = m->detect(dir_data(ad), dir_pending(ad), (enum im_dir)d);
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

		if (dir_pending(ad) && (!maybe[d] || dir_pending(ad) >= cfg->detect_window))
			af->dir_flags[d] |= APP_DIR_SAID_NO;
	}
	if ((dir_has(af, 0, APP_DIR_SAID_NO) && dir_has(af, 1, APP_DIR_SAID_NO)) ||
	    (dir_has(af, 0, APP_DIR_SAID_NO) && !dir_has(af, 1, APP_DIR_SEEN) &&
	     dir_pending(&af->dir[0]) >= ONE_SIDED_DECISION_BYTES) ||
	    (dir_has(af, 1, APP_DIR_SAID_NO) && !dir_has(af, 0, APP_DIR_SEEN) &&
	     dir_pending(&af->dir[1]) >= ONE_SIDED_DECISION_BYTES))
		become_ignored(af);
}

/* Decode the PDUs at the start of p[0, n), the direction's unconsumed
 * bytes (its buffer, or the caller's bytes when it buffers nothing),
 * which arrived by ts, and return how many were consumed; d->offset
 * follows them. */
static size_t decode_bytes(struct app_flow *af, enum im_dir dir, const uint8_t *p, size_t n,
			   double ts)
{
	const struct app_context *ctx = ctx_of(af);
	const struct app_config *cfg = ctx->cfg;
	struct app_dir *d = &af->dir[dir];
	struct proto_session *s = &af->session;
	const struct proto_module *m = s->module;
	size_t used = 0, pending, skip, pdu_len;
	struct proto_pdu pdu;
	const struct proto_pdu *outer;
	enum proto_frame fr;

	while ((pending = n - used) > 0) {
		const uint8_t *q = p + used;

		if (s->opaque[dir]) {
			ctx->stats->bytes_opaque += pending;
			d->offset += pending;
			return n;
		}
		if (dir_has(af, dir, APP_DIR_RESYNC)) {
			skip = m->resync(s, dir, q, pending);
			if (skip > pending)
				skip = pending;
			ctx->stats->bytes_skipped += skip;
			used += skip;
			d->offset += skip;
			if (skip == pending)
				return used; /* no boundary yet: wait for more bytes */
			af->dir_flags[dir] &= (uint8_t)~APP_DIR_RESYNC;
			continue;
		}
		pdu_len = 0;
		fr = m->frame(s, dir, q, pending, &pdu_len);
		if (fr == PROTO_FRAME_PDU && (pdu_len == 0 || pdu_len > pending))
			fr = PROTO_FRAME_GARBAGE; /* a framer bug must not stall or overrun */
		if (fr == PROTO_FRAME_NEED_MORE) {
			if (pending <= m->max_pdu)
				return used;
			fr = PROTO_FRAME_GARBAGE;
		}
		if (fr == PROTO_FRAME_GARBAGE) {
			/* Skip at least one byte so resync always makes progress. */
			ctx->stats->garbage_resyncs++;
			ctx->stats->bytes_skipped++;
			used++;
			d->offset++;
			af->dir_flags[dir] |= APP_DIR_RESYNC;
			continue;
		}
		pdu = (struct proto_pdu){ ts, d->offset, pdu_len, q };
		outer = s->pdu; /* NULL unless an event's callee fed this flow */
		s->pdu = &pdu;
		ctx->stats->pdus++;
		s->stats.pdus++;
		if (m->decode(s, dir, q, pdu_len) < 0)
			ctx->stats->malformed_pdus++;
		s->pdu = outer;
		if (cfg->pdu_seen)
			cfg->pdu_seen(cfg->pdu_seen_arg, af, dir, d->offset, q, pdu_len);
		used += pdu_len;
		d->offset += pdu_len;
	}
	return used;
}

/* Decode what the direction's buffer holds. */
static void decode_dir(struct app_flow *af, enum im_dir dir)
{
	struct app_dir *d = &af->dir[dir];
	size_t used;

	if (!dir_pending(d))
		return;
	used = decode_bytes(af, dir, dir_data(d), dir_pending(d), d->buf->last_ts);
	/* decode_bytes moved the offset already */
	d->buf->head += used;
	if (d->buf->head == d->buf->len)
		d->buf->head = d->buf->len = 0;
}

/* An idle session keeps no buffer: most of a tracked flow's memory would
 * otherwise be two empty ones (bench/README.md, flow memory). */
static void release_empty(struct app_flow *af)
{
	if (!dir_pending(&af->dir[IM_DIR_OUT]))
		dir_release(&af->dir[IM_DIR_OUT]);
	if (!dir_pending(&af->dir[IM_DIR_IN]))
		dir_release(&af->dir[IM_DIR_IN]);
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
	release_empty(af);
}

/* A decoding direction that buffers nothing decodes straight from the
 * caller's bytes (one segment is usually one or more whole PDUs) and
 * buffers only what is left of a PDU still arriving: no copy and no
 * allocation for the common packet. The same steps as appending and run(). */
static void run_direct(struct app_flow *af, enum im_dir dir, const uint8_t *data, size_t len,
		       double ts)
{
	struct app_dir *d = &af->dir[dir];
	size_t used = decode_bytes(af, dir, data, len, ts);

	if (used < len && !dir_append(d, data + used, len - used, ts)) {
		ctx_of(af)->stats->alloc_failures++;
		app_flow_gap(af, dir, d->offset, len - used);
	}
	decode_dir(af, dir == IM_DIR_OUT ? IM_DIR_IN : IM_DIR_OUT);
	release_empty(af);
}

bool app_flow_decode_as(struct app_flow *af, const struct proto_module *m)
{
	const struct app_config *cfg = ctx_of(af)->cfg;
	size_t i;

	if (af->state != APP_DETECTING)
		return false;
	for (i = 0; i < cfg->n_modules && cfg->modules[i] != m; i++)
		;
	if (i == cfg->n_modules || !cfg->enabled[m->id] || !start_session(af, m))
		return false;
	run(af, IM_DIR_OUT);
	return true;
}

void app_flow_data(struct app_flow *af, enum im_dir dir, const uint8_t *data, size_t len,
		   uint64_t offset, double ts)
{
	const struct app_context *ctx = ctx_of(af);
	struct app_dir *d = &af->dir[dir];

	if (af->state == APP_IGNORED || len == 0)
		return;
	if (!dir_has(af, dir, APP_DIR_SEEN)) {
		af->dir_flags[dir] |= APP_DIR_SEEN;
		d->offset = offset;
	}
	if (d->buf)
		d->buf->last_ts = ts;
	if (af->state == APP_DECODING && af->session.opaque[dir]) {
		ctx->stats->bytes_opaque += len;
		d->offset = offset + len;
		return;
	}
	if (af->state == APP_DETECTING && dir_pending(d) + len > ctx->cfg->detect_window) {
		/* Keep detection bounded: look at the first window only. */
		if (dir_pending(d) >= ctx->cfg->detect_window) {
			af->dir_flags[dir] |= APP_DIR_SAID_NO;
			detect(af);
			return;
		}
		len = ctx->cfg->detect_window - dir_pending(d);
	}
	if (af->state == APP_DECODING && !dir_pending(d)) {
		run_direct(af, dir, data, len, ts);
		return;
	}
	if (!dir_append(d, data, len, ts)) {
		ctx->stats->alloc_failures++;
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
	ctx_of(af)->stats->bytes_skipped += dir_pending(d);
	if (d->buf)
		d->buf->head = d->buf->len = 0;
	d->offset = offset + len;
	if (af->state == APP_DECODING) {
		ctx_of(af)->stats->gap_resyncs++;
		af->dir_flags[dir] |= APP_DIR_RESYNC;
	}
}

size_t app_flow_buffered(const struct app_flow *af)
{
	const struct app_buf *out = af->dir[IM_DIR_OUT].buf, *in = af->dir[IM_DIR_IN].buf;

	return (out ? out->cap : 0) + (in ? in->cap : 0);
}

size_t app_flow_pending(const struct app_flow *af, enum im_dir dir)
{
	return dir_pending(&af->dir[dir]);
}

void app_flow_shed(struct app_flow *af)
{
	const struct app_context *ctx = ctx_of(af);
	int i;

	if (af->state == APP_IGNORED)
		return;
	ctx->stats->shed_flows++;
	for (i = 0; i < 2; i++) {
		struct app_dir *d = &af->dir[i];

		ctx->stats->bytes_skipped += dir_pending(d);
		d->offset += dir_pending(d);
		dir_release(d);
		if (af->state == APP_DECODING)
			af->dir_flags[i] |= APP_DIR_RESYNC;
	}
	if (af->state == APP_DETECTING) {
		af->state = APP_IGNORED;
		ctx->stats->flows_ignored++;
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
	if (af->state == APP_DETECTING && !dir_has(af, dir, APP_DIR_SAID_NO)) {
		*start = d->offset;
		return true;
	}
	if (af->state != APP_DECODING || af->session.opaque[dir] || dir_has(af, dir, APP_DIR_RESYNC))
		return false;
	if (af->session.module->partial_may_edit &&
	    !af->session.module->partial_may_edit((struct proto_session *)&af->session, dir,
						  dir_data(d), dir_pending(d)))
		return false;
	*start = d->offset;
	return true;
}

bool app_flow_mid_pdu(const struct app_flow *af, enum im_dir dir)
{
	return dir_pending(&af->dir[dir]) > 0;
}
