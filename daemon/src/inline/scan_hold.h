/* Holding a file's end until the virus scanner judged it (scan_hold=on,
 * #20): the engine's half; the file stage's is files/hold.c.
 *
 * The file stage marks where the bytes of a transfer's end begin in its
 * flow's input stream once the transfer went to the scanner. This unit
 * keeps those bytes from going on: it is a limit on what the release of
 * held packets may let go, for the PDU release and the deadline alike. It
 * counts what is held for verdicts against the worker's budget
 * (scan_hold_max_bytes: past it, scan_fail decides at once, so a flood of
 * transfers cannot exhaust memory), and carries out the decisions: let
 * what waited go, or cut the transfer: drop the held packets and every
 * later copy of their bytes, reset both ends, and tell the user of the
 * session that offered the file. Nothing here runs without a file stage
 * that holds (files_holding). */
#ifndef IMW_INLINE_SCAN_HOLD_H
#define IMW_INLINE_SCAN_HOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "inline/engine.h"

/* How far (input offset) dir's held packets may go: upto, or less where
 * a transfer's end waits for its verdict. */
uint64_t scan_hold_limit(const struct engine *e, const struct flow_state *fs, enum im_dir dir,
			 uint64_t upto);

/* A packet of dir with input bytes [start, end) that a cut transfer
 * withholds: its verdict is a drop. */
bool scan_hold_withheld(const struct engine *e, const struct flow_state *fs, enum im_dir dir,
			uint64_t start, uint64_t end);

/* After dir's held packets were settled: count what waits for verdicts;
 * past the budget, this transfer is decided now. Then carry out every
 * decision made so far. */
void scan_hold_settle(struct engine *e, struct flow_state *fs, enum im_dir dir, double now,
		      struct engine_outq *out);

/* The engine must let dir's held packets go up to upto whatever else
 * keeps them (a bound on held packets, the flow's end): a transfer's end
 * waiting there for its verdict is decided now, by scan_fail, and the
 * bytes of a cut transfer are dropped instead: held bytes never pass
 * without a verdict or scan_fail's word. */
void scan_hold_yield(struct engine *e, struct flow_state *fs, enum im_dir dir, uint64_t upto,
		     struct engine_outq *out);

/* Take the scanner's verdicts (files_poll) and carry out the decisions:
 * every tick. */
void scan_hold_tick(struct engine *e, double now, struct engine_outq *out);

#endif
