/* Publishing a flow's collapsed sequence offsets to the tc classifier.
 *
 * Once a direction's edits are all acknowledged, its sequence map is one
 * base offset (seqmap.base_delta). Published into the classifier's pinned
 * flow map, that offset lets the classifier fix seq and ack numbers by
 * itself when the daemon is gone (heartbeat stopped) or the protocol was
 * switched off, so an edited connection survives a daemon restart or
 * kill -9. A restarted daemon looks the offsets up to re-adopt the flow.
 *
 * The engine's part, where a direction's map collapses:
 *
 *	size_t live = m->n_edits;
 *	seqmap_acknowledge(m, out_acked);
 *	if (live && !m->n_edits)
 *		bpf_publish_seqmap(e->cfg.publish, f, dir, m, proto);
 *
 * and bpf_publish_forget(e->cfg.publish, f) when the flow is released.
 * Every call is a no-op returning 0 when no classifier is attached or p
 * is NULL. */
#ifndef IMW_BPF_PUBLISH_H
#define IMW_BPF_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include "event/event.h"
#include "flow/flow.h"
#include "imwire/bpf_maps.h"
#include "seqmap/seqmap.h"

struct bpf_publish {
	int flows_fd; /* the pinned flow map, or -1: publishing is off */
};

/* Open pin_dir/flows. Returns 0, or -1 (no classifier: p stays usable,
 * every call a no-op). */
int bpf_publish_open(struct bpf_publish *p, const char *pin_dir);
/* Use an already open flow map (tests). */
void bpf_publish_use_fd(struct bpf_publish *p, int flows_fd);
void bpf_publish_close(struct bpf_publish *p);

/* The classifier's key for f, and which of its two sides (0 = a, 1 = b)
 * the client is. */
void bpf_publish_key(const struct flow *f, struct imw_flow_key *key, unsigned *client_side);

/* Publish the offset (output minus input) of the bytes f's dir sends.
 * A flow the classifier has not seen yet is entered as steered with
 * proto. Returns 0, or -1 (errno: ERANGE for an offset beyond 32 bits,
 * or the map's error). */
int bpf_publish_delta(struct bpf_publish *p, const struct flow *f, enum im_dir dir,
		      int64_t delta, enum imw_proto proto);

/* Publish m's base offset when m has collapsed (no live edit); 0 and
 * nothing done while edits are live or m never changed the stream. */
int bpf_publish_seqmap(struct bpf_publish *p, const struct flow *f, enum im_dir dir,
		       const struct seqmap *m, enum imw_proto proto);

/* Offsets published for f, by direction of travel: 1 when found, 0 when
 * none, -1 on error. */
int bpf_publish_lookup(struct bpf_publish *p, const struct flow *f, int32_t delta[2]);

/* The flow ended: drop its entry. */
int bpf_publish_forget(struct bpf_publish *p, const struct flow *f);

#endif
