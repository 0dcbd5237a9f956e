/* The inline engine's counters: one set per engine (per worker), written
 * only by its thread, published as a copy (stats/). */
#ifndef IMW_INLINE_COUNTERS_H
#define IMW_INLINE_COUNTERS_H

#include <stdint.h>

struct engine_stats {
	uint64_t packets;
	uint64_t accepted;     /* unchanged */
	uint64_t modified;     /* sent with new bytes */
	uint64_t dropped;
	uint64_t held;         /* packets that waited for a PDU to complete */
	uint64_t deadline_releases;
	uint64_t hole_bound_releases; /* waited hold_hole_ms behind a hole: released before decoding */
	uint64_t bound_releases; /* held too many packets or bytes: released early */
	uint64_t global_bound_releases; /* the engine-wide byte cap released a direction */
	uint64_t edits;        /* stream edits applied */
	uint64_t edits_refused_committed; /* the bytes had already been released */
	uint64_t edits_refused_size;      /* would not fit the path MTU */
	uint64_t edits_refused_encode;    /* the module could not encode the change */
	uint64_t policy_blocked;  /* PDUs policy deleted (or blanked, below) */
	uint64_t policy_blanked;  /* blocked after part was sent: blanked, same length */
	uint64_t policy_fallbacks;  /* a policy's edit refused: its same-length fallback went */
	uint64_t policy_unenforced; /* a policy's edit refused and no fallback possible */
	uint64_t notices_injected;
	uint64_t notices_dropped; /* no later PDU to go after before the flow ended */
	uint64_t retransmissions_rebuilt;
	uint64_t segments_capped; /* rebuilt segments cut to fit the path MTU: the sender resends the rest */
	uint64_t segments_split;  /* the same, the rest sent at once as segments of ours */
	uint64_t duplicates_of_held;
	uint64_t out_of_order_held; /* waited for the hole before them to fill */
	uint64_t handed_held_dropped; /* held, undecided, at a planned stop: their senders resend them */
	uint64_t mss_clamped;
	uint64_t offsets_published; /* directions published to the classifier (bpf_publish.h) */
	uint64_t publish_failures;  /* a publish the classifier refused (map full, error) */
	uint64_t records_written;   /* flows' records written to the state file (handover.h) */
	uint64_t records_unsaved;   /* a record the state file had no room for */
	uint64_t flows_adopted;     /* taken over from a predecessor (adopt.h) */
	uint64_t edits_adopted;     /* live edits taken over with them */
	uint64_t adopted_blanked;   /* of them, whose bytes nobody had: sent as spaces */
	uint64_t origins_adopted;   /* our predecessor's insertions we resend */
	uint64_t routed_local;        /* messages taken off the wire for a local recipient */
	uint64_t routed_bot;
	uint64_t route_fallbacks;     /* part had gone out already: forwarded instead */
	uint64_t deliveries;          /* messages injected for a local recipient */
	uint64_t deliveries_delayed;  /* waited for the recipient's stream to be free */
	uint64_t deliveries_lost;     /* the recipient's session was gone or could not encode */
	uint64_t receipts_synthesised;
	uint64_t deletions_acked;     /* deleted bytes we acknowledged in the receiver's name */
	uint64_t segments_originated;
	uint64_t origin_retransmits;
	uint64_t origin_given_up;     /* never acknowledged after every retry */
	uint64_t scan_releases;       /* file ends held for a verdict, then let go (#20) */
	uint64_t scan_cuts;           /* transfers cut: infected, or scan_fail=closed */
	uint64_t scan_resets;         /* resets sent to the ends of cut transfers */
	uint64_t scan_dropped;        /* packets of cut transfers dropped */
	uint64_t scan_held_bytes_peak; /* most bytes held at once for verdicts */
	uint64_t scan_yields;         /* file ends decided by scan_fail: a bound or the flow's end */
	uint64_t not_tcp;
	uint64_t malformed;
	uint64_t alloc_failures;
};

#endif
