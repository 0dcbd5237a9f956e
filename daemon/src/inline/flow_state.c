#include "inline/flow_state.h"

#include <stdlib.h>

#define MIN_SEGMENT_PAYLOAD 536
#define GSO_PAYLOAD_LIMIT 65000

struct flow_state *flow_state_new(struct flow *f)
{
	struct flow_state *fs = calloc(1, sizeof(*fs));

	if (fs)
		fs->flow = f;
	return fs;
}

static void free_origins(struct flow_dir_state *d)
{
	struct origin_seg *o;

	while ((o = d->origins)) {
		d->origins = o->next;
		free(o->bytes);
		free(o);
	}
}

void flow_state_free(struct flow_state *fs)
{
	int d;

	if (!fs)
		return;
	for (d = 0; d < 2; d++) {
		seqmap_free(&fs->dir[d].map);
		free_origins(&fs->dir[d]);
	}
	if (fs->told) {
		struct flow_told *t = fs->told;

		free(t->reg.local);
		free(t->reg.address);
		free(t->reg.service);
		free(t->hov.local);
		free(t->hov.address);
		free(t->hov.service);
		free(t->hov.adopt_local);
		free(t->hov.adopt_address);
		free(t->hov.adopt_service);
		free(t);
	}
	free(fs);
}

struct flow_told *flow_state_told(struct flow_state *fs)
{
	if (!fs->told)
		fs->told = calloc(1, sizeof(*fs->told));
	return fs->told;
}

void flow_list_add(struct flow_list *l, struct flow_state *fs, enum flow_list_kind k)
{
	struct flow_link *n = &fs->link[k];

	if (flow_list_has(fs, k))
		return;
	n->prev = NULL;
	n->next = l->head;
	if (l->head)
		l->head->link[k].prev = fs;
	l->head = fs;
	fs->on_lists |= (uint8_t)(1u << k);
}

void flow_list_remove(struct flow_list *l, struct flow_state *fs, enum flow_list_kind k)
{
	struct flow_link *n = &fs->link[k];

	if (!flow_list_has(fs, k))
		return;
	if (n->prev)
		n->prev->link[k].next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->link[k].prev = n->prev;
	n->prev = n->next = NULL;
	fs->on_lists &= (uint8_t)~(1u << k);
}

void flow_dir_start(struct flow_dir_state *d, uint32_t first_data_seq)
{
	if (d->started)
		return;
	seqmap_init(&d->map, first_data_seq);
	d->started = true;
}

size_t flow_dir_segment_limit(const struct flow_dir_state *d, const struct packet *pkt, bool gso)
{
	size_t opts = pkt->l4_header_len - 20, mss;

	if (gso)
		return GSO_PAYLOAD_LIMIT;
	mss = d->peer_mss ? d->peer_mss : (d->max_payload_seen > MIN_SEGMENT_PAYLOAD
						   ? d->max_payload_seen
						   : MIN_SEGMENT_PAYLOAD);
	return mss > opts ? mss - opts : 0;
}

void flow_state_pdus_changed(struct flow_state *fs, enum im_dir dir, int delta)
{
	struct app_flow *app = fs->flow->app;

	if (delta && app && app->session.module->pdu_count_changed)
		app->session.module->pdu_count_changed(&app->session, dir, delta);
}
