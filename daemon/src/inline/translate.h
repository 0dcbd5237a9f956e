/* Sequence translation of one packet, after the kernel's
 * nf_ct_seq_adjust (net/netfilter/nf_conntrack_seqadj.c): the packet's
 * seq goes through its own direction's map, its ack and SACK blocks
 * through the other direction's, and its payload is rebuilt from the edit
 * list so that a retransmission carries exactly the bytes sent the first
 * time. Unlike seqadj, which keeps one correction point, each map is an
 * ordered edit list (seqmap/seqmap.h).
 *
 * Two steps, so the caller may look at the outcome before any packet is
 * built (the origin unit learns the numbers a direction sent):
 *
 *	struct translation t;
 *	if (translate_segment(d, o, pkt, gso, &payload, &t) < 0) ...
 *	if (t.changed && !t.emptied) translate_build(&t, ip, pkt, &packet);
 *
 * It changes nothing but the maps' caches of recent offsets. */
#ifndef IMW_INLINE_TRANSLATE_H
#define IMW_INLINE_TRANSLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inline/flow_state.h"
#include "util/bytebuf.h"

struct translation {
	uint32_t seq;            /* as the packet leaves */
	uint32_t ack;
	const uint8_t *payload;  /* the packet's own, or bytes in the caller's buffer */
	size_t payload_len;
	bool changed;            /* anything differs from the packet as it came */
	bool emptied;            /* every payload byte was deleted: drop it */
	bool capped;             /* the rebuilt payload was cut to fit the path */
	/* The rebuilt payload's length before the cut: its bytes past
	 * payload_len follow at payload (origin_send_rest may send them). */
	size_t full_len;
	size_t segment_limit;    /* payload bytes one segment of the path takes */
	/* SACK edges are mapped through this map when set */
	struct seqmap *sack_map;
	uint32_t sack_ack;        /* the packet's ack, output space */
	uint32_t sack_mapped_ack; /* the same ack, input space */
};

/* Translate pkt, travelling in direction d (the other direction is o).
 * force_modified: the caller changed the packet already (a clamped MSS).
 * payload is scratch space for a rebuilt payload. Returns 0, or -1 when
 * out of memory (the packet should then go on unchanged). */
int translate_segment(struct flow_dir_state *d, struct flow_dir_state *o, const struct packet *pkt,
		      bool gso, bool force_modified, struct bytebuf *payload,
		      struct translation *t);

/* The whole translated IP packet into out (headers of ip, checksums
 * fixed). Returns 0, or -1 when out of memory. */
int translate_build(const struct translation *t, const uint8_t *ip, const struct packet *pkt,
		    struct bytebuf *out);
/* The same written straight to p (into the verdict's own bytes), which
 * holds translate_len bytes; translate_len is 0 when the packet would not
 * fit an IP packet. */
size_t translate_len(const struct translation *t, const struct packet *pkt);
void translate_build_at(const struct translation *t, const uint8_t *ip, const struct packet *pkt,
			uint8_t *p);

/* An ack of o's receiver (output seq) as o's sender counts it (input
 * seq): what reassembly of o must see, or an edit that grew the stream
 * would look like lost data. */
uint32_t translate_ack_to_input(struct flow_dir_state *o, uint32_t ack);

/* o's receiver acknowledged ack (output seq): forget what it has. True
 * when o's last live edit went with it, so its map is one offset now. */
bool translate_acknowledge(struct flow_dir_state *o, uint32_t ack);

#endif
