/* Inside the engine: what must be where a successor finds it before a
 * verdict goes out (DESIGN, "Never break a connection").
 *
 * A direction whose sequence map changed (an edit applied, an insertion
 * of ours) is published to the classifier's xlate map, and the flow's
 * record in the state file (its live edits' bytes, its session) is
 * written again, before any verdict that sends bytes of the change: the
 * record first, then the map entry, so that whatever the classifier holds
 * for a successor, the successor has the bytes for. The units mark what
 * changed while a packet is processed; engine_commit writes and publishes
 * it all at the end of each of the engine's entry points, before its
 * caller sends the verdicts: a packet whose events made several edits
 * costs one record and one publish per direction.
 *
 * When the flow table lets a flow go, only a connection that ended is
 * forgotten (its xlate entries and its record); a flow evicted or flushed
 * at a planned stop keeps both for whoever meets it next. */
#ifndef IMW_INLINE_COMMIT_H
#define IMW_INLINE_COMMIT_H

#include "inline/engine.h"

/* Direction dir's map of fs changed. */
void commit_mark_map(struct engine *e, struct flow_state *fs, enum im_dir dir);
/* fs's record must be written again (its session changed). */
void commit_mark_record(struct engine *e, struct flow_state *fs);
/* After a feed: mark the record when the session's identity changed. */
void commit_check_session(struct engine *e, struct flow_state *fs);
/* fs (or its flow) is going, for why: written now if it was due, then
 * forgotten or given back (see above). */
void commit_flow_ends(struct engine *e, struct flow_state *fs, enum flow_end why, double now);
/* fs is on the lists of flows a successor needs (a map taken over). */
void commit_keep(struct engine *e, struct flow_state *fs);

#endif
