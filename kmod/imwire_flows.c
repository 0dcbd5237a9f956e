// SPDX-License-Identifier: GPL-2.0
/* Per-flow verdicts, so a flow is classified once. */
#include <linux/jhash.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "imwire.h"

#define IMW_FLOW_SLOTS 4096 /* a power of two */

struct imw_flow_slot {
	struct imw_flow_tuple tuple;
	struct imw_kflow state;
	bool used;
};

static struct imw_flow_slot *slots;
static DEFINE_SPINLOCK(slots_lock);
static u32 slots_seed;

static struct imw_flow_slot *slot_of(const struct imw_flow_tuple *t)
{
	u32 h = jhash(t, sizeof(*t), slots_seed);

	return &slots[h & (IMW_FLOW_SLOTS - 1)];
}

void imw_flows_get(const struct imw_flow_tuple *t, struct imw_kflow *found)
{
	struct imw_flow_slot *s;

	spin_lock_bh(&slots_lock);
	s = slot_of(t);
	if (!s->used || memcmp(&s->tuple, t, sizeof(*t)) != 0) {
		/* empty, or another flow: this one starts afresh */
		s->tuple = *t;
		memset(&s->state, 0, sizeof(s->state));
		s->used = true;
	}
	*found = s->state;
	spin_unlock_bh(&slots_lock);
}

static bool same_state(const struct imw_kflow *a, const struct imw_kflow *b)
{
	return a->verdict == b->verdict && a->proto == b->proto &&
	       a->data_packets == b->data_packets;
}

bool imw_flows_update(const struct imw_flow_tuple *t, const struct imw_kflow *seen,
		      struct imw_kflow *state)
{
	struct imw_flow_slot *s;
	bool stored = false;

	spin_lock_bh(&slots_lock);
	s = slot_of(t);
	if (s->used && memcmp(&s->tuple, t, sizeof(*t)) == 0) {
		if (same_state(&s->state, seen)) {
			s->state = *state;
			stored = true;
		} else {
			*state = s->state;
		}
	}
	spin_unlock_bh(&slots_lock);
	return stored;
}

int imw_flows_init(void)
{
	slots = vzalloc(sizeof(*slots) * IMW_FLOW_SLOTS);
	if (!slots)
		return -ENOMEM;
	slots_seed = get_random_u32();
	return 0;
}

void imw_flows_exit(void)
{
	vfree(slots);
	slots = NULL;
}
