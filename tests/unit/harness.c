#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void collect(void *arg, const struct im_event *ev)
{
	struct harness_events *c = arg;

	if (c->n < HARNESS_MAX_EVENTS && event_copy(&c->ev[c->n], ev))
		c->n++;
	else
		c->dropped++;
}

static void remember_pdu(void *arg, struct app_flow *af, enum im_dir dir, uint64_t offset,
			 const uint8_t *pdu, size_t len)
{
	struct harness *h = arg;
	struct harness_dir *d = &h->dir[dir];
	uint8_t *copy = malloc(len ? len : 1);

	(void)af;
	(void)offset;
	if (!copy) {
		fprintf(stderr, "harness: out of memory\n");
		exit(2);
	}
	memcpy(copy, pdu, len);
	free(d->last_pdu);
	d->last_pdu = copy;
	d->last_len = len;
}

static void collect_piece(void *arg, const struct proto_session *s,
			  const struct proto_file_piece *p)
{
	struct harness_files *f = arg;
	size_t n = p->token_len < IM_XFER_TOKEN_MAX ? p->token_len : IM_XFER_TOKEN_MAX;
	uint8_t *grown;

	(void)s;
	f->dir = p->dir;
	memcpy(f->token, p->token, n);
	f->token[n] = '\0';
	switch (p->op) {
	case PROTO_FILE_OPEN:
		f->opens++;
		snprintf(f->name, sizeof(f->name), "%s", p->name ? p->name : "");
		f->has_size = p->has_size;
		f->size = p->size;
		break;
	case PROTO_FILE_DATA:
		if (!f->datas++) {
			f->has_stream_offset = p->has_stream_offset;
			f->stream_offset = p->stream_offset;
		}
		grown = realloc(f->data, f->len + p->len + 1);
		if (!grown) {
			fprintf(stderr, "harness: out of memory\n");
			exit(2);
		}
		f->data = grown;
		memcpy(f->data + f->len, p->data, p->len);
		f->len += p->len;
		break;
	case PROTO_FILE_GAP:
		f->gaps++;
		f->gap_bytes += p->len;
		break;
	case PROTO_FILE_CLOSE:
		f->closes++;
		f->complete = p->complete;
		break;
	}
}

void harness_init(struct harness *h, const struct proto_module *m, uint64_t flow_id,
		  const char *client)
{
	char err[256];

	memset(h, 0, sizeof(*h));
	app_config_defaults(&h->cfg);
	h->cfg.pdu_seen = remember_pdu;
	h->cfg.pdu_seen_arg = h;
	h->modules[0] = m;
	if (app_config_set_modules(&h->cfg, h->modules, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "harness: %s\n", err);
		exit(2);
	}
	h->cfg.enabled[m->id] = true; /* also a module without a table row (id 0) */
	h->ctx = (struct app_context){ &h->cfg, &h->stats,
				       { NULL, collect, &h->c, collect_piece, &h->files } };
	h->af = app_flow_new(&h->ctx, flow_id, client, m->info->n_ports ? m->info->ports[0] : 0);
	if (!h->af || !app_flow_decode_as(h->af, m)) {
		fprintf(stderr, "harness: cannot start a %s flow\n", m->info->name);
		exit(2);
	}
	h->s = &h->af->session;
}

void harness_clear_events(struct harness *h)
{
	size_t i;

	for (i = 0; i < h->c.n; i++)
		event_free(&h->c.ev[i]);
	h->c.n = 0;
}

void harness_free(struct harness *h)
{
	harness_clear_events(h);
	app_flow_free(h->af);
	h->af = NULL;
	h->s = NULL;
	free(h->dir[0].last_pdu);
	free(h->dir[1].last_pdu);
	free(h->files.data);
	memset(&h->files, 0, sizeof(h->files));
	h->dir[0].last_pdu = h->dir[1].last_pdu = NULL;
}

int harness_feed(struct harness *h, enum im_dir dir, const void *data, size_t len)
{
	struct harness_dir *d = &h->dir[dir];
	uint64_t malformed = h->stats.malformed_pdus, garbage = h->stats.garbage_resyncs;
	uint64_t pdus = h->stats.pdus;

	app_flow_data(h->af, dir, data, len, d->offset, 1000.0 + (double)h->feeds++);
	d->offset += len;
	d->pdus += h->stats.pdus - pdus;
	d->garbage += h->stats.garbage_resyncs - garbage;
	d->decode_errors += h->stats.malformed_pdus - malformed;
	return h->stats.malformed_pdus != malformed ? -1 : 0;
}

int harness_feed_str(struct harness *h, enum im_dir dir, const char *s)
{
	return harness_feed(h, dir, s, strlen(s));
}

void harness_gap(struct harness *h, enum im_dir dir, uint64_t len)
{
	app_flow_gap(h->af, dir, h->dir[dir].offset, len);
	h->dir[dir].offset += len;
}

size_t harness_buffered(const struct harness *h, enum im_dir dir)
{
	return app_flow_pending(h->af, dir);
}

const struct im_event *harness_event_or_fail(struct harness *h, size_t i, int *failures)
{
	static struct im_event empty;

	if (i >= h->c.n) {
		fprintf(stderr, "  no event %zu (only %zu)\n", i, h->c.n);
		(*failures)++;
		return &empty;
	}
	return &h->c.ev[i];
}
