/* A flow's record as bytes and back (handover_record.h). */
#include "inline/handover_record.h"

#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "inline/bpf_publish.h"

#define RECORD_VERSION 2u
#define RECORD_VERSION_1 1u /* without the decided mark: still read */
#define DIR_HAS_DECIDED 1u

/* ---- encoding ------------------------------------------------------------ */

static bool put(struct bytebuf *b, const void *p, size_t n)
{
	return bytebuf_append(b, p, n);
}

static bool put_u8(struct bytebuf *b, uint8_t v)
{
	return put(b, &v, 1);
}

static bool put_u16(struct bytebuf *b, uint16_t v)
{
	return put(b, &v, 2);
}

static bool put_u32(struct bytebuf *b, uint32_t v)
{
	return put(b, &v, 4);
}

static bool put_str_len(struct bytebuf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return put_u16(b, n > UINT16_MAX ? 0 : (uint16_t)n);
}

static bool put_str(struct bytebuf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > UINT16_MAX || put(b, s, n);
}

/* Past every edit and every byte sent on: a successor decodes none of it
 * again. A PDU let go unfinished (at its deadline, a bound, the flow's
 * end) went out as its sender wrote it; decided anew, it could be
 * lengthened under the receiver's feet. */
static uint64_t decided_end(const struct flow_dir_state *d)
{
	uint64_t end = d->map.edited_end;

	if (d->adopted_until > end)
		end = d->adopted_until;
	if (d->released_end > end)
		end = d->released_end;
	return end;
}

static bool put_dir(struct bytebuf *b, const struct flow_dir_state *d)
{
	const struct seqmap *m = &d->map;
	uint64_t decided = decided_end(d);
	bool has_decided = d->started && decided > 0;
	size_t i;

	if (!put_u8(b, d->started) || !put_u8(b, has_decided ? DIR_HAS_DECIDED : 0) ||
	    !put_u16(b, d->peer_mss) || !put_u32(b, m->base_seq) || !put(b, &m->base_delta, 8) ||
	    !put_u32(b, has_decided ? seqmap_seq_of(m, decided) : 0) ||
	    !put_u32(b, d->started ? (uint32_t)m->n_edits : 0))
		return false;
	for (i = 0; d->started && i < m->n_edits; i++) {
		const struct seqmap_edit *e = &m->edits[i];

		if (e->in_len > UINT32_MAX || e->out_len > UINT32_MAX ||
		    !put_u32(b, seqmap_seq_of(m, e->in_start)) || !put_u32(b, (uint32_t)e->in_len) ||
		    !put_u32(b, (uint32_t)e->out_len) || !put_u32(b, e->own ? 1u : 0u) ||
		    !put(b, e->out, e->out_len))
			return false;
	}
	return true;
}

bool handover_encode(struct bytebuf *out, const struct flow_state *fs, enum imw_proto proto,
		     double stamp)
{
	const struct app_flow *app = fs->flow->app;
	const struct proto_session *s =
		app && app->state == APP_DECODING ? &app->session : NULL;
	const char *local = s ? s->local_id : NULL, *address = s ? s->local_address : NULL,
		   *service = s ? s->service : NULL;
	struct imw_flow_key key;
	unsigned client_side;

	bpf_publish_key(fs->flow, &key, &client_side);
	return put_u32(out, RECORD_VERSION) && put(out, &key, sizeof(key)) &&
	       put_u8(out, (uint8_t)client_side) && put_u8(out, (uint8_t)proto) &&
	       put_u16(out, 0) && put(out, &stamp, sizeof(stamp)) && put_str_len(out, local) &&
	       put_str_len(out, address) && put_str_len(out, service) && put_u16(out, 0) &&
	       put_str(out, local) && put_str(out, address) && put_str(out, service) &&
	       put_dir(out, &fs->dir[IM_DIR_OUT]) && put_dir(out, &fs->dir[IM_DIR_IN]);
}

/* ---- parsing (a bounded cursor: an overrun is a malformed record) ------- */

struct cursor {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static const uint8_t *take(struct cursor *c, size_t n)
{
	const uint8_t *at = c->p;

	if (c->bad || n > c->left) {
		c->bad = true;
		return NULL;
	}
	c->p += n;
	c->left -= n;
	return at;
}

static void get(struct cursor *c, void *dst, size_t n)
{
	const uint8_t *at = take(c, n);

	if (at)
		memcpy(dst, at, n);
	else
		memset(dst, 0, n);
}

static uint32_t get_u32(struct cursor *c)
{
	uint32_t v;

	get(c, &v, 4);
	return v;
}

static uint16_t get_u16(struct cursor *c)
{
	uint16_t v;

	get(c, &v, 2);
	return v;
}

static uint8_t get_u8(struct cursor *c)
{
	uint8_t v;

	get(c, &v, 1);
	return v;
}

/* A string of n bytes, copied; NULL for none (or on failure: c->bad). */
static char *get_str(struct cursor *c, uint16_t n)
{
	const uint8_t *at = take(c, n);
	char *s;

	if (!at || !n)
		return NULL;
	s = malloc((size_t)n + 1);
	if (!s) {
		c->bad = true;
		return NULL;
	}
	memcpy(s, at, n);
	s[n] = '\0';
	return s;
}

static void get_dir(struct cursor *c, struct handover_dir *d, uint32_t version)
{
	uint32_t i, n, decided;
	uint8_t flags;

	d->started = get_u8(c) != 0;
	flags = get_u8(c);
	d->peer_mss = get_u16(c);
	d->base_seq = get_u32(c);
	get(c, &d->base_delta, 8);
	if (version != RECORD_VERSION_1) {
		decided = get_u32(c);
		d->has_decided = (flags & DIR_HAS_DECIDED) != 0;
		d->decided_seq = d->has_decided ? decided : 0;
	}
	n = get_u32(c);
	/* every edit takes 16 bytes at least: a count beyond that is a lie */
	if (c->bad || n > c->left / 16) {
		c->bad = true;
		return;
	}
	d->edits = n ? calloc(n, sizeof(*d->edits)) : NULL;
	if (n && !d->edits) {
		c->bad = true;
		return;
	}
	d->n_edits = n;
	for (i = 0; i < n && !c->bad; i++) {
		struct handover_edit *e = &d->edits[i];

		e->in_seq = get_u32(c);
		e->in_len = get_u32(c);
		e->out_len = get_u32(c);
		e->own = get_u32(c) & 1u;
		e->bytes = take(c, e->out_len);
	}
}

int handover_parse(const uint8_t *p, size_t len, struct handover_record *r)
{
	struct cursor c = { p, len, false };
	uint16_t n_local, n_address, n_service;
	uint32_t version;

	memset(r, 0, sizeof(*r));
	version = get_u32(&c);
	if (version != RECORD_VERSION && version != RECORD_VERSION_1)
		return -1;
	get(&c, &r->key, sizeof(r->key));
	r->client_side = get_u8(&c) & 1u;
	r->proto = (enum imw_proto)get_u8(&c);
	get_u16(&c);
	get(&c, &r->stamp, sizeof(r->stamp));
	n_local = get_u16(&c);
	n_address = get_u16(&c);
	n_service = get_u16(&c);
	get_u16(&c);
	r->local = get_str(&c, n_local);
	r->address = get_str(&c, n_address);
	r->service = get_str(&c, n_service);
	get_dir(&c, &r->dir[IM_DIR_OUT], version);
	get_dir(&c, &r->dir[IM_DIR_IN], version);
	if (c.bad || c.left || r->proto >= IMW_PROTO_MAX) {
		handover_record_free(r);
		return -1;
	}
	return 0;
}

void handover_record_free(struct handover_record *r)
{
	free(r->local);
	free(r->address);
	free(r->service);
	free(r->dir[0].edits);
	free(r->dir[1].edits);
	memset(r, 0, sizeof(*r));
}
