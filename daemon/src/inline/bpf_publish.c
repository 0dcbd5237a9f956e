#include "inline/bpf_publish.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

int bpf_publish_open(struct bpf_publish *p, const char *pin_dir)
{
	char path[512];

	memset(p, 0, sizeof(*p));
	snprintf(path, sizeof(path), "%s/xlate", pin_dir);
	p->xlate_fd = bpf_obj_get(path);
	return p->xlate_fd < 0 ? -1 : 0;
}

void bpf_publish_use_fd(struct bpf_publish *p, int xlate_fd)
{
	memset(p, 0, sizeof(*p));
	p->xlate_fd = xlate_fd;
}

void bpf_publish_close(struct bpf_publish *p)
{
	if (p->xlate_fd >= 0)
		close(p->xlate_fd);
	p->xlate_fd = -1;
}

static void count(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* CLOCK_MONOTONIC in ns, as bpf_ktime_get_ns. */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* As the classifier sees it: IPv4 v4-mapped into 16 bytes. */
static void mapped_addr(const struct flow *f, enum im_dir side, uint8_t out[16])
{
	if (f->ip_version == 4) {
		memset(out, 0, 10);
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, f->addr[side], 4);
	} else {
		memcpy(out, f->addr[side], 16);
	}
}

void bpf_publish_key(const struct flow *f, struct imw_flow_key *key, unsigned *client_side)
{
	uint8_t client[16], server[16];
	uint16_t cport = f->port[IM_DIR_OUT], sport = f->port[IM_DIR_IN];
	int cmp;

	mapped_addr(f, IM_DIR_OUT, client);
	mapped_addr(f, IM_DIR_IN, server);
	cmp = memcmp(client, server, 16);
	if (cmp == 0)
		cmp = cport < sport ? -1 : (cport > sport ? 1 : 0);
	memset(key, 0, sizeof(*key));
	if (cmp <= 0) {
		memcpy(key->addr_a, client, 16);
		memcpy(key->addr_b, server, 16);
		key->port_a = cport;
		key->port_b = sport;
		*client_side = 0;
	} else {
		memcpy(key->addr_a, server, 16);
		memcpy(key->addr_b, client, 16);
		key->port_a = sport;
		key->port_b = cport;
		*client_side = 1;
	}
}

/* The xlate key of the direction of f that dir sends. */
static void dir_key(const struct flow *f, enum im_dir dir, struct imw_xlate_key *k)
{
	unsigned client_side;

	memset(k, 0, sizeof(*k));
	bpf_publish_key(f, &k->flow, &client_side);
	k->side = dir == IM_DIR_OUT ? client_side : client_side ^ 1u;
}

static bool fits_u32(uint64_t v)
{
	return v <= UINT32_MAX;
}

static int publish_failed(struct bpf_publish *p, int err)
{
	count(err == E2BIG ? &p->full : &p->errors);
	errno = err;
	return -1;
}

int bpf_publish_flow(struct bpf_publish *p, const struct flow *f, enum im_dir dir,
		     uint32_t base_seq, int64_t base_delta, const struct bpf_publish_edit *edits,
		     size_t n_edits, enum imw_proto proto)
{
	struct imw_xlate v;
	struct imw_xlate_key k;
	uint64_t prev_end = 0;
	size_t i, n;

	if (!p || p->xlate_fd < 0)
		return 0;
	if (base_delta > INT32_MAX || base_delta < INT32_MIN)
		return publish_failed(p, ERANGE);
	memset(&v, 0, sizeof(v));
	v.d.base_delta = (int32_t)base_delta;
	v.d.proto = (uint8_t)proto;
	n = n_edits < IMW_XLATE_EDITS ? n_edits : IMW_XLATE_EDITS;
	for (i = 0; i < n_edits; i++) {
		const struct bpf_publish_edit *e = &edits[i];

		/* in stream order, each within 32 bits of the sequence space */
		if (e->in_start < prev_end || !fits_u32(e->in_len) || !fits_u32(e->out_len))
			return publish_failed(p, ERANGE);
		prev_end = e->in_start + e->in_len;
		if (i == n) {
			/* the first edit left out: from its input on, only a daemon knows */
			v.d.flags |= IMW_XLATE_OVERFLOW;
			v.d.limit_seq = base_seq + (uint32_t)e->in_start;
			break;
		}
		v.d.edits[i].in_seq = base_seq + (uint32_t)e->in_start;
		v.d.edits[i].in_len = (uint32_t)e->in_len;
		v.d.edits[i].out_len = (uint32_t)e->out_len;
		/* seqmap: an ack inside an insertion at offset 0 has no byte
		 * before it to fall back to */
		if (!e->in_len && (e->ack_at_start || e->in_start == 0))
			v.d.edits[i].flags = IMW_XLATE_ACK_AT_START;
	}
	v.d.n_edits = (uint16_t)n;
	v.stamp_ns = mono_ns();
	dir_key(f, dir, &k);
	/* BPF_F_LOCK: written under the entry's lock, in place when it
	 * exists, so the classifier never reads half of it */
	if (bpf_map_update_elem(p->xlate_fd, &k, &v, BPF_ANY | BPF_F_LOCK) < 0)
		return publish_failed(p, errno);
	count(&p->published);
	if (v.d.flags & IMW_XLATE_OVERFLOW)
		count(&p->overflowed);
	return 0;
}

int bpf_publish_seqmap(struct bpf_publish *p, const struct flow *f, enum im_dir dir,
		       const struct seqmap *m, enum imw_proto proto)
{
	struct bpf_publish_edit e[IMW_XLATE_EDITS + 1];
	size_t i, n;

	/* never edited: nothing to publish (once edited, an identity map is
	 * published too: it replaces the edits the classifier still has) */
	if (!p || p->xlate_fd < 0 || (seqmap_is_identity(m) && !m->edits_total))
		return 0;
	/* one past the list is enough to mark where it was cut off */
	n = m->n_edits < IMW_XLATE_EDITS + 1 ? m->n_edits : IMW_XLATE_EDITS + 1;
	for (i = 0; i < n; i++) {
		e[i].in_start = m->edits[i].in_start;
		e[i].in_len = m->edits[i].in_len;
		e[i].out_len = m->edits[i].out_len;
		e[i].ack_at_start = m->edits[i].own;
	}
	return bpf_publish_flow(p, f, dir, m->base_seq, m->base_delta, e, n, proto);
}

int bpf_publish_delta(struct bpf_publish *p, const struct flow *f, enum im_dir dir,
		      int64_t delta, enum imw_proto proto)
{
	return bpf_publish_flow(p, f, dir, 0, delta, NULL, 0, proto);
}

int bpf_publish_fetch(struct bpf_publish *p, const struct flow *f, enum im_dir dir,
		      struct bpf_publish_state *out)
{
	struct imw_xlate v;
	struct imw_xlate_key k;
	size_t n;

	if (!p || p->xlate_fd < 0)
		return 0;
	dir_key(f, dir, &k);
	if (bpf_map_lookup_elem_flags(p->xlate_fd, &k, &v, BPF_F_LOCK) < 0)
		return errno == ENOENT ? 0 : -1;
	memset(out, 0, sizeof(*out));
	n = v.d.n_edits < IMW_XLATE_EDITS ? v.d.n_edits : IMW_XLATE_EDITS;
	out->base_delta = v.d.base_delta;
	out->n_edits = n;
	memcpy(out->edits, v.d.edits, n * sizeof(out->edits[0]));
	out->overflow = v.d.flags & IMW_XLATE_OVERFLOW;
	out->limit_seq = v.d.limit_seq;
	out->passed = v.d.flags & IMW_XLATE_PASSED;
	out->passed_end = v.d.passed_end;
	out->proto = (enum imw_proto)v.d.proto;
	return 1;
}

/* Output minus input after every edit of a fetched direction. */
static int32_t delta_after_all(const struct bpf_publish_state *s)
{
	uint32_t delta = (uint32_t)s->base_delta;
	size_t i;

	for (i = 0; i < s->n_edits; i++)
		delta += s->edits[i].out_len - s->edits[i].in_len;
	return (int32_t)delta;
}

int bpf_publish_lookup(struct bpf_publish *p, const struct flow *f, int32_t delta[2])
{
	struct bpf_publish_state s;
	int found = 0, rc, d;

	for (d = 0; d < 2; d++) {
		rc = bpf_publish_fetch(p, f, (enum im_dir)d, &s);
		if (rc < 0)
			return -1;
		delta[d] = rc ? delta_after_all(&s) : 0;
		found |= rc;
	}
	return found;
}

bool bpf_publish_has_packet(struct bpf_publish *p, const struct packet *pkt)
{
	struct imw_xlate_key k;
	struct imw_xlate v;
	struct flow f;
	size_t n = pkt->ip_version == 4 ? 4 : 16;
	int d;

	if (!p || p->xlate_fd < 0)
		return false;
	/* Which side is the client does not matter: both sides are asked. */
	memset(&f, 0, sizeof(f));
	f.ip_version = pkt->ip_version;
	memcpy(f.addr[IM_DIR_OUT], pkt->src, n);
	memcpy(f.addr[IM_DIR_IN], pkt->dst, n);
	f.port[IM_DIR_OUT] = pkt->sport;
	f.port[IM_DIR_IN] = pkt->dport;
	for (d = 0; d < 2; d++) {
		dir_key(&f, (enum im_dir)d, &k);
		if (bpf_map_lookup_elem(p->xlate_fd, &k, &v) == 0)
			return true;
	}
	return false;
}

int bpf_publish_forget(struct bpf_publish *p, const struct flow *f)
{
	struct imw_xlate_key k;
	int d;

	if (!p || p->xlate_fd < 0)
		return 0;
	for (d = 0; d < 2; d++) {
		dir_key(f, (enum im_dir)d, &k);
		if (bpf_map_delete_elem(p->xlate_fd, &k) < 0 && errno != ENOENT)
			return -1;
	}
	return 0;
}

#define REAP_BATCH 256

long bpf_publish_reap(struct bpf_publish *p, uint64_t max_idle_ns)
{
	struct imw_xlate_key batch[REAP_BATCH], k, next;
	struct imw_xlate v;
	uint64_t now = mono_ns();
	long reaped = 0, steps;
	size_t n, i;
	int pass;
	bool have;

	if (!p || p->xlate_fd < 0)
		return 0;
	/* Keys are collected, then deleted: deleting the key a walk stands on
	 * sends it back to the start. Every loop is bounded (the map changes
	 * under the walk). */
	for (pass = 0; pass <= IMW_MAX_XLATE / REAP_BATCH; pass++) {
		n = 0;
		have = false;
		for (steps = 0; n < REAP_BATCH && steps < 2L * IMW_MAX_XLATE; steps++) {
			if (bpf_map_get_next_key(p->xlate_fd, have ? &k : NULL, &next) < 0)
				break;
			k = next;
			have = true;
			if (bpf_map_lookup_elem(p->xlate_fd, &k, &v) == 0 && now > v.stamp_ns &&
			    now - v.stamp_ns > max_idle_ns)
				batch[n++] = k;
		}
		for (i = 0; i < n; i++) {
			if (bpf_map_delete_elem(p->xlate_fd, &batch[i]) == 0) {
				reaped++;
				count(&p->reaped);
			}
		}
		if (n < REAP_BATCH)
			break;
	}
	return reaped;
}
