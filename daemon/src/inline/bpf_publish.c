#include "inline/bpf_publish.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

int bpf_publish_open(struct bpf_publish *p, const char *pin_dir)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/flows", pin_dir);
	p->flows_fd = bpf_obj_get(path);
	return p->flows_fd < 0 ? -1 : 0;
}

void bpf_publish_use_fd(struct bpf_publish *p, int flows_fd)
{
	p->flows_fd = flows_fd;
}

void bpf_publish_close(struct bpf_publish *p)
{
	if (p->flows_fd >= 0)
		close(p->flows_fd);
	p->flows_fd = -1;
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

/* The classifier's side index of the host that sends dir. */
static unsigned side_of(unsigned client_side, enum im_dir dir)
{
	return dir == IM_DIR_OUT ? client_side : client_side ^ 1u;
}

int bpf_publish_delta(struct bpf_publish *p, const struct flow *f, enum im_dir dir,
		      int64_t delta, enum imw_proto proto)
{
	struct imw_flow_state st;
	struct imw_flow_key key;
	unsigned client_side;

	if (!p || p->flows_fd < 0)
		return 0;
	if (delta > INT32_MAX || delta < INT32_MIN) {
		errno = ERANGE;
		return -1;
	}
	bpf_publish_key(f, &key, &client_side);
	if (bpf_map_lookup_elem(p->flows_fd, &key, &st) < 0) {
		memset(&st, 0, sizeof(st));
		st.verdict = IMW_FLOW_STEER;
		st.proto = (uint8_t)proto;
	}
	st.seq_delta[side_of(client_side, dir)] = (int32_t)delta;
	st.flags |= IMW_FLOW_HAS_DELTA;
	return bpf_map_update_elem(p->flows_fd, &key, &st, BPF_ANY) < 0 ? -1 : 0;
}

int bpf_publish_seqmap(struct bpf_publish *p, const struct flow *f, enum im_dir dir,
		       const struct seqmap *m, enum imw_proto proto)
{
	if (m->n_edits || m->base_delta == 0)
		return 0;
	return bpf_publish_delta(p, f, dir, m->base_delta, proto);
}

int bpf_publish_lookup(struct bpf_publish *p, const struct flow *f, int32_t delta[2])
{
	struct imw_flow_state st;
	struct imw_flow_key key;
	unsigned client_side;

	if (!p || p->flows_fd < 0)
		return 0;
	bpf_publish_key(f, &key, &client_side);
	if (bpf_map_lookup_elem(p->flows_fd, &key, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!(st.flags & IMW_FLOW_HAS_DELTA))
		return 0;
	delta[IM_DIR_OUT] = st.seq_delta[side_of(client_side, IM_DIR_OUT)];
	delta[IM_DIR_IN] = st.seq_delta[side_of(client_side, IM_DIR_IN)];
	return 1;
}

int bpf_publish_forget(struct bpf_publish *p, const struct flow *f)
{
	struct imw_flow_key key;
	unsigned client_side;

	if (!p || p->flows_fd < 0)
		return 0;
	bpf_publish_key(f, &key, &client_side);
	if (bpf_map_delete_elem(p->flows_fd, &key) < 0 && errno != ENOENT)
		return -1;
	return 0;
}
