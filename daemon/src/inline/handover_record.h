/* One edited flow's record in the state file (handover.h): what a
 * successor daemon needs of the flow beyond the classifier's xlate entry,
 * as bytes (encoding) and back (parsing with a bounded cursor: an overrun
 * is a malformed record, never a read past the record).
 *
 * Layout (version 2, in the host's byte order: a record is read only by
 * a successor on the same host, from a file in /run): version u32, the
 * classifier's flow key, the client side u8, the protocol u8, u16 0, the
 * stamp (double), the lengths of local id, address and service (u16
 * each) and u16 0, their bytes, then per direction (out, in): started u8,
 * flags u8 (1: the decided mark is set), the path's MSS u16, the base
 * sequence number u32 and offset (s64), the decided mark u32 (input
 * sequence number before which the stream was decided: past the newest
 * edit ever made, every byte sent on, and what was adopted or passed),
 * the count of live
 * edits u32, and each edit: in_seq, in_len, out_len, own (u32 each),
 * then out_len replacement bytes.
 *
 * The decided mark: the classifier folds acknowledged edits away, and a
 * successor that decoded again a retransmission of bytes its receiver
 * already has (its sender missed the ack) would edit them a second time
 * and shift every later byte; it starts decoding past the mark
 * (adopt.h). Version 1 (no mark, flags 0) is still read. */
#ifndef IMW_INLINE_HANDOVER_RECORD_H
#define IMW_INLINE_HANDOVER_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imwire/bpf_maps.h"
#include "imwire/protocols.h"
#include "inline/flow_state.h"
#include "util/bytebuf.h"

struct handover_edit {
	uint32_t in_seq;
	uint32_t in_len;
	uint32_t out_len;
	bool own;             /* an insertion we originated: resent by us */
	const uint8_t *bytes; /* out_len bytes, inside the record's buffer */
};

struct handover_dir {
	bool started;
	bool has_decided;
	uint32_t decided_seq; /* with has_decided: input before it was decided */
	uint16_t peer_mss;
	uint32_t base_seq;
	int64_t base_delta;
	size_t n_edits;
	struct handover_edit *edits;
};

struct handover_record {
	struct imw_flow_key key;
	unsigned client_side; /* which side of the key is the client */
	enum imw_proto proto;
	double stamp;         /* when it was written (CLOCK_REALTIME) */
	char *local;          /* NULL when unknown */
	char *address;
	char *service;
	struct handover_dir dir[2]; /* by direction of travel, as flow.h */
};

/* The record of fs as it is now (proto: its protocol), appended to out. */
bool handover_encode(struct bytebuf *out, const struct flow_state *fs, enum imw_proto proto,
		     double stamp);
/* Parse a record's payload; its edits point into p. -1 when malformed. */
int handover_parse(const uint8_t *p, size_t len, struct handover_record *r);
void handover_record_free(struct handover_record *r);

#endif
